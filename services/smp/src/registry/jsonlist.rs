//! The EMREX 1.x registry lists (`ncp-list.json`, `emp-list.json`), read as leniently as the lists
//! in the wild demand:
//!
//! ```json
//! { "countries": [ { "countryCode": "FI", "countryName": "Finland", "singleFetch": false } ],
//!   "ncps": [ { "acronym": "CSC", "countryCode": "FI", "institutions": ["All"],
//!               "url": "https://…", "pubKey": "-----BEGIN CERTIFICATE-----\n…" } ] }
//! ```
//!
//! * The providers are under `ncps` (Technical Guide, 2015–2017 clients) or `emps` (the list the
//!   2025 gateway reads); both give the same [`Snapshot`]. Both keys at once is refused.
//! * `singleFetch` may be a boolean, the strings `"true"`/`"false"`, `0`/`1`, `null` or missing
//!   (⇒ false). `institutions` may be a single string. Unknown fields are ignored.
//! * `pubKey` is a PEM certificate (with `\n` escapes, literal `\\n`, `\r\n` or no line breaks
//!   at all) or bare base64 DER; it may hold several certificates. `pubKeys` (an array, which our
//!   EMREG adds with `?pubKeys=true`) adds more; duplicates are merged. An entry whose
//!   certificates do not parse is **kept with the ones that do** (possibly none) and a warning:
//!   it is listed, but nothing from it can verify.
//! * Broken documents are **repaired** when the fix is unambiguous, each with a warning: a UTF-8
//!   byte order mark is skipped; a document that is not UTF-8 is decoded as Latin-1 (every byte
//!   is a character there, so this always succeeds and never guesses inside UTF-8); commas right
//!   before `}` or `]` outside strings are dropped (replaced by a space, so error offsets stay
//!   those of the original). Anything else that is not JSON is refused with the problem, line,
//!   column and byte offset in the document as received.
//! * Entries without acronym, country code or an `http(s)://` URL are skipped with a warning; a
//!   repeated acronym keeps the first entry.
//! * Limits (hostile or broken documents): [`MAX_DOCUMENT_BYTES`], [`MAX_ENTRIES`] providers,
//!   [`MAX_COUNTRIES`] countries, [`MAX_INSTITUTIONS`] institutions and
//!   [`MAX_CERTIFICATES_PER_ENTRY`] certificates per provider; nesting is bounded by serde_json's
//!   recursion limit (128). Exceeding one refuses the whole document.
//!
//! The JSON list carries no legacy flag: every NCP gets `legacy_algorithms = false`, except the
//! acronyms named in [`ParseOptions::legacy_acronyms`].

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::marker::PhantomData;

use emrex_xmldsig::PinnedCert;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::{RegistryCountry, RegistryNcp, Snapshot};

/// Largest document accepted (bytes as received).
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// Most providers (`ncps`/`emps` items) in one document.
pub const MAX_ENTRIES: usize = 10_000;
/// Most `countries` items in one document.
pub const MAX_COUNTRIES: usize = 10_000;
/// Most certificates per provider (`pubKey` and `pubKeys` together, after merging duplicates).
pub const MAX_CERTIFICATES_PER_ENTRY: usize = 16;
/// Most institutions per provider.
pub const MAX_INSTITUTIONS: usize = 1_000;

/// Switches for [`parse_list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Acronyms of NCPs that still sign with SHA-1: they get `legacy_algorithms = true` (the JSON
    /// list itself has no such flag).
    pub legacy_acronyms: BTreeSet<String>,
}

impl ParseOptions {
    /// Options with these legacy acronyms.
    pub fn with_legacy_acronyms<I, S>(acronyms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            legacy_acronyms: acronyms.into_iter().map(Into::into).collect(),
        }
    }
}

/// Under which key the document listed its providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKey {
    /// `ncps` (Technical Guide, `ncp-list.json`).
    Ncps,
    /// `emps` (`emp-list.json`).
    Emps,
}

/// A parsed list: the snapshot and what had to be forgiven on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedList {
    /// The list in canonical form ([`Snapshot::from_parts`]).
    pub snapshot: Snapshot,
    /// The key the providers were under.
    pub key: ListKey,
    /// Repairs made and items skipped or degraded, in document order.
    pub warnings: Vec<ListWarning>,
}

/// Something in the document that was repaired, skipped or kept degraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListWarning {
    /// The document began with a UTF-8 byte order mark, which was skipped.
    ByteOrderMark,
    /// The document is not UTF-8; it was decoded as Latin-1. `offset` is the first byte that is
    /// not valid UTF-8.
    DecodedAsLatin1 { offset: usize },
    /// Commas before `}` or `]` were dropped; `first_offset` is the byte offset of the first one.
    TrailingCommas { count: usize, first_offset: usize },
    /// A `countries` item was skipped.
    CountrySkipped { index: usize, reason: String },
    /// A provider was skipped.
    EntrySkipped { index: usize, reason: String },
    /// A provider's certificate could not be read; the provider is kept without it.
    BadCertificate { acronym: String, error: String },
    /// A provider has no usable certificate: it is listed, but nothing from it can verify.
    NoCertificate { acronym: String },
    /// A provider's country is not in `countries`; defaults were used (name = code).
    UnlistedCountry { code: String },
}

impl fmt::Display for ListWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ByteOrderMark => f.write_str("skipped a UTF-8 byte order mark"),
            Self::DecodedAsLatin1 { offset } => write!(
                f,
                "not UTF-8 (invalid byte at offset {offset}); decoded as Latin-1"
            ),
            Self::TrailingCommas {
                count,
                first_offset,
            } => write!(
                f,
                "dropped {count} trailing comma(s), the first at byte offset {first_offset}"
            ),
            Self::CountrySkipped { index, reason } => {
                write!(f, "countries[{index}] skipped: {reason}")
            }
            Self::EntrySkipped { index, reason } => {
                write!(f, "providers[{index}] skipped: {reason}")
            }
            Self::BadCertificate { acronym, error } => {
                write!(f, "{acronym}: certificate ignored: {error}")
            }
            Self::NoCertificate { acronym } => write!(
                f,
                "{acronym}: no usable certificate; documents from it cannot be verified"
            ),
            Self::UnlistedCountry { code } => {
                write!(f, "country {code} has providers but is not in `countries`")
            }
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    #[error("the registry list is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    /// Not JSON (after the repairs), the wrong shape, or over a count limit.
    #[error(
        "the registry list is invalid at line {line}, column {column} (byte offset {offset}): {message}"
    )]
    Invalid {
        message: String,
        line: usize,
        column: usize,
        /// Byte offset in the document as received.
        offset: usize,
    },
    /// Neither `ncps` nor `emps`.
    #[error("the registry list has neither `ncps` nor `emps`")]
    NoProviders,
    /// Both `ncps` and `emps`: which one counts is anybody's guess.
    #[error("the registry list has both `ncps` and `emps`")]
    BothKeys,
    /// A provider lists more than [`MAX_CERTIFICATES_PER_ENTRY`] certificates.
    #[error(
        "providers[{index}] ({acronym}) has {count} certificates; at most {limit} are accepted"
    )]
    TooManyCertificates {
        index: usize,
        acronym: String,
        count: usize,
        limit: usize,
    },
}

/// Parses an EMREX 1.x JSON list (see the module documentation for what is accepted).
pub fn parse_list(bytes: &[u8], options: &ParseOptions) -> Result<ParsedList, ListError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ListError::TooLarge {
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let mut warnings = Vec::new();
    let decoded = Decoded::new(bytes, &mut warnings);
    let text = strip_trailing_commas(&decoded.text, &mut warnings);
    // serde would also read a struct from an array (fields by position): not a list.
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !c.is_whitespace())
        && c != '{'
    {
        return Err(ListError::Invalid {
            message: format!("expected a JSON object, found {c:?}"),
            line: text[..at].matches('\n').count() + 1,
            column: at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1,
            offset: decoded.original_offset(at),
        });
    }
    let raw: RawList = serde_json::from_str(&text).map_err(|e| {
        let offset = decoded.original_offset(offset_of(&text, e.line(), e.column()));
        let message = e.to_string();
        // serde_json appends " at line L column C"; we report those separately.
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_string();
        ListError::Invalid {
            message,
            line: e.line(),
            column: e.column(),
            offset,
        }
    })?;
    let (providers, key) = match (raw.ncps, raw.emps) {
        (Some(_), Some(_)) => return Err(ListError::BothKeys),
        (Some(p), None) => (p.0, ListKey::Ncps),
        (None, Some(p)) => (p.0, ListKey::Emps),
        (None, None) => return Err(ListError::NoProviders),
    };

    let mut countries = Vec::new();
    let mut seen_countries = HashSet::new();
    for (index, c) in raw
        .countries
        .map(|c| c.0)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let code = c.country_code.trim().to_ascii_uppercase();
        if code.is_empty() {
            warnings.push(ListWarning::CountrySkipped {
                index,
                reason: "no countryCode".into(),
            });
            continue;
        }
        if !seen_countries.insert(code.clone()) {
            warnings.push(ListWarning::CountrySkipped {
                index,
                reason: format!("{code} is listed again"),
            });
            continue;
        }
        let name = c.country_name.trim();
        countries.push(RegistryCountry {
            name: if name.is_empty() {
                code.clone()
            } else {
                name.to_string()
            },
            code,
            single_fetch: c.single_fetch,
        });
    }

    let mut ncps = Vec::with_capacity(providers.len());
    let mut seen = HashSet::new();
    for (index, p) in providers.into_iter().enumerate() {
        let skip = |reason: &str| ListWarning::EntrySkipped {
            index,
            reason: reason.to_string(),
        };
        let acronym = p.acronym.trim().to_string();
        let country_code = p.country_code.trim().to_ascii_uppercase();
        let url = p.url.trim().to_string();
        if acronym.is_empty() {
            warnings.push(skip("no acronym"));
            continue;
        }
        if country_code.is_empty() {
            warnings.push(skip(&format!("{acronym}: no countryCode")));
            continue;
        }
        if !is_http_url(&url) {
            warnings.push(skip(&format!("{acronym}: url is not an http(s):// URL")));
            continue;
        }
        if seen.contains(&acronym) {
            warnings.push(skip(&format!("{acronym}: acronym listed again")));
            continue;
        }
        let texts = p
            .pub_key
            .iter()
            .chain(p.pub_keys.iter())
            .map(String::as_str);
        let certificates = match certificates_from_texts(texts) {
            Ok((certs, errors)) => {
                for error in errors {
                    warnings.push(ListWarning::BadCertificate {
                        acronym: acronym.clone(),
                        error,
                    });
                }
                certs
            }
            Err(count) => {
                return Err(ListError::TooManyCertificates {
                    index,
                    acronym,
                    count,
                    limit: MAX_CERTIFICATES_PER_ENTRY,
                });
            }
        };
        if certificates.is_empty() {
            warnings.push(ListWarning::NoCertificate {
                acronym: acronym.clone(),
            });
        }
        seen.insert(acronym.clone());
        ncps.push(RegistryNcp {
            legacy_algorithms: options.legacy_acronyms.contains(&acronym),
            acronym,
            country_code,
            institutions: p
                .institutions
                .into_iter()
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect(),
            url,
            certificates,
        });
    }

    let unlisted: BTreeSet<&str> = ncps
        .iter()
        .map(|n| n.country_code.as_str())
        .filter(|c| !seen_countries.contains(*c))
        .collect();
    for code in unlisted {
        warnings.push(ListWarning::UnlistedCountry {
            code: code.to_string(),
        });
    }
    Ok(ParsedList {
        snapshot: Snapshot::from_parts(countries, ncps),
        key,
        warnings,
    })
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") && url.len() > 8)
        || (lower.starts_with("http://") && url.len() > 7)
}

/// Reads the certificates in `texts` (PEM or base64 DER, each possibly holding several),
/// merging duplicates. Returns the certificates and one message per certificate that could not
/// be read, or `Err(count)` when there are more than [`MAX_CERTIFICATES_PER_ENTRY`].
pub(crate) fn certificates_from_texts<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<(Vec<PinnedCert>, Vec<String>), usize> {
    let mut blocks: Vec<Result<String, String>> = Vec::new();
    for text in texts {
        for block in certificate_blocks(text) {
            if !blocks.contains(&block) {
                blocks.push(block);
            }
        }
    }
    if blocks.len() > MAX_CERTIFICATES_PER_ENTRY {
        return Err(blocks.len());
    }
    let mut certs: Vec<PinnedCert> = Vec::new();
    let mut errors = Vec::new();
    for block in blocks {
        let parsed = block.and_then(|b64| {
            let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
            PinnedCert::from_pem_or_der(pem.as_bytes()).map_err(|e| e.to_string())
        });
        match parsed {
            Ok(cert) if !certs.contains(&cert) => certs.push(cert),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    Ok((certs, errors))
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The base64 bodies (whitespace removed) of the certificates in `text`: every
/// `BEGIN CERTIFICATE` block, or, without any, the whole text as base64 DER. Literal `\n` / `\r`
/// escape sequences (a doubly escaped list) count as line breaks. A block that cannot be a
/// certificate gives an error message instead.
fn certificate_blocks(text: &str) -> Vec<Result<String, String>> {
    let text = if text.contains('\\') {
        Cow::Owned(text.replace("\\r", "").replace("\\n", "\n"))
    } else {
        Cow::Borrowed(text)
    };
    let body = |raw: &str| -> Result<String, String> {
        let b64: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if b64.is_empty() {
            return Err("empty certificate".into());
        }
        if let Some(bad) = b64
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
        {
            return Err(format!(
                "the certificate text contains {bad:?}, which is not base64 (truncated or elided?)"
            ));
        }
        Ok(b64)
    };
    if !text.contains(BEGIN) {
        return if text.trim().is_empty() {
            Vec::new()
        } else {
            vec![body(&text)]
        };
    }
    let mut out = Vec::new();
    let mut rest = &*text;
    while let Some(start) = rest.find(BEGIN) {
        rest = &rest[start + BEGIN.len()..];
        match rest.find(END) {
            Some(end) => {
                let inner = &rest[..end];
                // A BEGIN without its END, followed by another block.
                if inner.contains(BEGIN) {
                    out.push(Err(format!("{BEGIN} without {END}")));
                    continue;
                }
                out.push(body(inner));
                rest = &rest[end + END.len()..];
            }
            None => {
                out.push(Err(format!("{BEGIN} without {END}")));
                break;
            }
        }
    }
    out
}

/// The document as text, with what is needed to map offsets back to the bytes received.
struct Decoded<'a> {
    text: Cow<'a, str>,
    /// Bytes skipped at the start (a byte order mark).
    skipped: usize,
    /// Decoded from Latin-1: one byte per character.
    latin1: bool,
}

impl<'a> Decoded<'a> {
    fn new(bytes: &'a [u8], warnings: &mut Vec<ListWarning>) -> Self {
        let (bytes, skipped) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => {
                warnings.push(ListWarning::ByteOrderMark);
                (rest, 3)
            }
            None => (bytes, 0),
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Self {
                text: Cow::Borrowed(text),
                skipped,
                latin1: false,
            },
            Err(e) => {
                warnings.push(ListWarning::DecodedAsLatin1 {
                    offset: skipped + e.valid_up_to(),
                });
                Self {
                    text: Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
                    skipped,
                    latin1: true,
                }
            }
        }
    }

    /// The offset in the received bytes of byte `offset` of the text.
    fn original_offset(&self, offset: usize) -> usize {
        let in_text = if self.latin1 {
            self.text
                .char_indices()
                .take_while(|(i, _)| *i < offset)
                .count()
        } else {
            offset
        };
        self.skipped + in_text
    }
}

/// The byte offset of serde_json's (line, column) in `text` (lines and columns from 1; the
/// column counts bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// Replaces every comma that (after whitespace) precedes `}` or `]`, outside strings, by a space.
fn strip_trailing_commas<'a>(text: &'a str, warnings: &mut Vec<ListWarning>) -> Cow<'a, str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let (mut in_string, mut escaped, mut comma) = (false, false, None);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                comma = None;
            }
            b',' => comma = Some(i),
            b'}' | b']' => {
                if let Some(c) = comma.take() {
                    found.push(c);
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => comma = None,
        }
    }
    let Some(&first_offset) = found.first() else {
        return Cow::Borrowed(text);
    };
    let mut out = bytes.to_vec();
    for &i in &found {
        out[i] = b' ';
    }
    warnings.push(ListWarning::TrailingCommas {
        count: found.len(),
        first_offset,
    });
    // Only ASCII commas were replaced by ASCII spaces: still UTF-8.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| text.to_string()))
}

#[derive(Deserialize)]
struct RawList {
    #[serde(default)]
    countries: Option<Bounded<RawCountry, MAX_COUNTRIES>>,
    #[serde(default)]
    ncps: Option<Bounded<RawProvider, MAX_ENTRIES>>,
    #[serde(default)]
    emps: Option<Bounded<RawProvider, MAX_ENTRIES>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCountry {
    #[serde(default, deserialize_with = "string_or_null")]
    country_code: String,
    #[serde(default, deserialize_with = "string_or_null")]
    country_name: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    single_fetch: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProvider {
    #[serde(default, deserialize_with = "string_or_null")]
    acronym: String,
    #[serde(default, deserialize_with = "string_or_null")]
    country_code: String,
    #[serde(default, deserialize_with = "strings::<_, MAX_INSTITUTIONS>")]
    institutions: Vec<String>,
    #[serde(default, deserialize_with = "string_or_null")]
    url: String,
    #[serde(default)]
    pub_key: Option<String>,
    #[serde(default, deserialize_with = "strings::<_, MAX_CERTIFICATES_PER_ENTRY>")]
    pub_keys: Vec<String>,
}

/// A JSON array of at most `N` items (refused beyond, without reading the rest).
struct Bounded<T, const N: usize>(Vec<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Bounded<T, N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for V<T, N> {
            type Value = Bounded<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {N} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    if out.len() == N {
                        return Err(de::Error::custom(format!(
                            "more than {N} items in an array"
                        )));
                    }
                    out.push(item);
                }
                Ok(Bounded(out))
            }
        }
        deserializer.deserialize_seq(V::<T, N>(PhantomData))
    }
}

/// A string; `null` reads as empty.
fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// An array of at most `N` strings (`null` items skipped), a single string, or `null`.
fn strings<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<Vec<String>, D::Error> {
    struct V<const N: usize>;
    impl<'de, const N: usize> Visitor<'de> for V<N> {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a string or an array of at most {N} strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<Option<String>>()? {
                if out.len() == N {
                    return Err(de::Error::custom(format!(
                        "more than {N} items in an array"
                    )));
                }
                out.extend(item);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V::<N>)
}

/// `true`/`false`, the strings `"true"`/`"false"` (any case), `1`/`0`, or `null` (false).
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true, false, \"true\", \"false\", 0, 1 or null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" | "" => Ok(false),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_none<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<bool, D2::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ParsedList, ListError> {
        parse_list(s.as_bytes(), &ParseOptions::default())
    }

    #[test]
    fn trailing_commas_outside_strings_only() {
        let mut w = Vec::new();
        let text = r#"{"a": [1, 2, ], "b": "x,]", "c": {"d": 1 ,
        }}"#;
        let out = strip_trailing_commas(text, &mut w);
        assert_eq!(out.len(), text.len());
        let v: serde_json::Value = serde_json::from_str(&out).expect("repaired");
        assert_eq!(v["b"], "x,]");
        assert_eq!(
            w,
            vec![ListWarning::TrailingCommas {
                count: 2,
                first_offset: 11
            }]
        );
    }

    #[test]
    fn single_fetch_variants() {
        for (value, expected) in [
            ("true", true),
            ("false", false),
            ("\"true\"", true),
            ("\"False\"", false),
            ("1", true),
            ("0", false),
            ("null", false),
        ] {
            let doc = format!(
                r#"{{"countries":[{{"countryCode":"fi","countryName":"Finland","singleFetch":{value}}}],
                "ncps":[{{"acronym":"A","countryCode":"FI","url":"https://a.example/","pubKey":""}}]}}"#
            );
            let parsed = parse(&doc).expect(value);
            assert_eq!(
                parsed.snapshot.countries[0].single_fetch, expected,
                "{value}"
            );
            assert_eq!(parsed.snapshot.countries[0].code, "FI");
        }
        let err = parse(r#"{"countries":[{"countryCode":"FI","singleFetch":"maybe"}],"ncps":[]}"#)
            .expect_err("maybe");
        assert!(matches!(err, ListError::Invalid { .. }), "{err}");
    }

    #[test]
    fn certificate_block_shapes() {
        assert_eq!(certificate_blocks("  "), vec![]);
        assert_eq!(
            certificate_blocks(
                "-----BEGIN CERTIFICATE-----\\nQUJD\\nREVG\\n-----END CERTIFICATE-----"
            ),
            vec![Ok("QUJDREVG".to_string())]
        );
        assert_eq!(
            certificate_blocks(
                "-----BEGIN CERTIFICATE-----QUJD-----END CERTIFICATE----------BEGIN CERTIFICATE-----\r\nREVG\r\n-----END CERTIFICATE-----"
            ),
            vec![Ok("QUJD".to_string()), Ok("REVG".to_string())]
        );
        assert!(
            certificate_blocks(
                "-----BEGIN CERTIFICATE-----\nQUJD\n(......)\n-----END CERTIFICATE-----"
            )[0]
            .is_err()
        );
        assert!(certificate_blocks("-----BEGIN CERTIFICATE-----\nQUJD\n")[0].is_err());
        assert_eq!(certificate_blocks(" QU JD "), vec![Ok("QUJD".to_string())]);
    }

    #[test]
    fn offsets_map_back_through_latin1_and_bom() {
        let mut w = Vec::new();
        let d = Decoded::new(b"\xEF\xBB\xBF{}", &mut w);
        assert_eq!(d.original_offset(1), 4);
        let d = Decoded::new(b"[\"\xE5\xE5\"]", &mut w);
        assert_eq!(d.text, "[\"åå\"]");
        assert_eq!(d.original_offset(d.text.find(']').expect("]")), 5);
        assert_eq!(offset_of("ab\ncd\nef", 3, 2), 7);
    }
}
