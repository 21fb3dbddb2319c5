//! `data:` URIs (RFC 2397), the way ELMO carries attachment files.
//!
//! Attachments are untrusted, possibly large base64 blobs, so decoding is bounded: the decoded
//! size is computed from the encoded length and refused *before* any allocation.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A decoded `data:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUri {
    /// Lower-case `type/subtype` without parameters (`text/plain` when the URI names none,
    /// as RFC 2397 defines).
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Why a `data:` URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataUriError {
    #[error("not a data: URI")]
    NotDataUri,
    #[error("data: URI has no ',' separating header and data")]
    MissingComma,
    #[error("data: URI has an invalid media type {0:?}")]
    BadMediaType(String),
    #[error("data: URI payload is not valid base64: {0}")]
    Base64(String),
    #[error("data: URI payload has invalid percent-encoding")]
    BadPercentEncoding,
    #[error("data: URI payload decodes to more than {limit} bytes")]
    TooLarge { limit: usize },
}

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

struct Header<'a> {
    media_type: String,
    base64: bool,
    payload: &'a str,
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn split(uri: &str) -> Result<Header<'_>, DataUriError> {
    let uri = uri.trim_matches(|c: char| c.is_ascii_whitespace());
    let scheme = uri.get(..5).ok_or(DataUriError::NotDataUri)?;
    if !scheme.eq_ignore_ascii_case("data:") {
        return Err(DataUriError::NotDataUri);
    }
    let rest = &uri[5..];
    let (header, payload) = rest.split_once(',').ok_or(DataUriError::MissingComma)?;
    let mut parts = header.split(';').map(str::trim);
    let mt = parts.next().unwrap_or("");
    let base64 = header
        .rsplit(';')
        .next()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("base64"));
    let media_type = if mt.is_empty() {
        "text/plain".to_string()
    } else {
        match mt.split_once('/') {
            Some((t, s))
                if !t.is_empty()
                    && !s.is_empty()
                    && t.chars().all(is_tchar)
                    && s.chars().all(is_tchar) =>
            {
                mt.to_ascii_lowercase()
            }
            _ => return Err(DataUriError::BadMediaType(mt.chars().take(80).collect())),
        }
    };
    Ok(Header {
        media_type,
        base64,
        payload,
    })
}

fn percent_decode(s: &str, max_bytes: usize) -> Result<Vec<u8>, DataUriError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len().min(max_bytes));
    let mut i = 0;
    while i < b.len() {
        let byte = if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .ok_or(DataUriError::BadPercentEncoding)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return Err(DataUriError::BadPercentEncoding);
            }
            i += 3;
            u8::from_str_radix(hex, 16).map_err(|_| DataUriError::BadPercentEncoding)?
        } else {
            i += 1;
            b[i - 1]
        };
        if out.len() >= max_bytes {
            return Err(DataUriError::TooLarge { limit: max_bytes });
        }
        out.push(byte);
    }
    Ok(out)
}

impl DataUri {
    /// Parses and decodes a `data:` URI, refusing payloads that decode to more than `max_bytes`.
    /// Whitespace inside base64 payloads is ignored (ELMO `content` is an `xs:token`, so line
    /// breaks of a wrapped payload become spaces); padding is optional.
    pub fn parse(uri: &str, max_bytes: usize) -> Result<Self, DataUriError> {
        let h = split(uri)?;
        let bytes = if h.base64 {
            let mut b64: String = h
                .payload
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            if b64.contains('%') {
                let raw = percent_decode(&b64, b64.len())?;
                b64 = String::from_utf8(raw)
                    .map_err(|_| DataUriError::Base64("non-ASCII payload".into()))?;
            }
            let data_len = b64.trim_end_matches('=').len();
            let estimate = data_len / 4 * 3 + (data_len % 4).saturating_sub(1);
            if estimate > max_bytes {
                return Err(DataUriError::TooLarge { limit: max_bytes });
            }
            B64.decode(b64.as_bytes())
                .map_err(|e| DataUriError::Base64(e.to_string()))?
        } else {
            percent_decode(h.payload, max_bytes)?
        };
        Ok(Self {
            media_type: h.media_type,
            bytes,
        })
    }

    /// The media type named by a `data:` URI's header, without decoding the payload.
    pub fn media_type_of(uri: &str) -> Option<String> {
        split(uri).ok().map(|h| h.media_type)
    }

    /// Builds `data:<media_type>;base64,<payload>`.
    pub fn encode_base64(media_type: &str, bytes: &[u8]) -> String {
        format!(
            "data:{media_type};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_and_plain() {
        let u = DataUri::parse("data:application/pdf;base64,JVBERi0x", 100).expect("decode");
        assert_eq!(u.media_type, "application/pdf");
        assert_eq!(u.bytes, b"%PDF-1");
        let u = DataUri::parse("DATA:Text/Plain;charset=utf-8;BASE64,aGk", 100).expect("decode");
        assert_eq!(u.media_type, "text/plain");
        assert_eq!(u.bytes, b"hi");
        let u = DataUri::parse("data:,a%20b", 100).expect("decode");
        assert_eq!(
            (u.media_type.as_str(), u.bytes.as_slice()),
            ("text/plain", &b"a b"[..])
        );
        let u = DataUri::parse("data:image/png;base64,aGVs bG8=", 100).expect("whitespace");
        assert_eq!(u.bytes, b"hello");
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(
            DataUri::parse("http://x", 10),
            Err(DataUriError::NotDataUri)
        );
        assert_eq!(
            DataUri::parse("data:text/plain", 10),
            Err(DataUriError::MissingComma)
        );
        assert!(matches!(
            DataUri::parse("data:pdf;base64,AAAA", 10),
            Err(DataUriError::BadMediaType(_))
        ));
        assert!(matches!(
            DataUri::parse("data:application/pdf;base64,iiNhz6QfDnnDybjHLBF2...", 100),
            Err(DataUriError::Base64(_))
        ));
        assert_eq!(
            DataUri::parse("data:application/pdf;base64,AAAAAAAA", 5),
            Err(DataUriError::TooLarge { limit: 5 })
        );
        assert!(DataUri::parse("data:application/pdf;base64,AAAAAAAA", 6).is_ok());
        assert_eq!(
            DataUri::parse("data:,abcdef", 5),
            Err(DataUriError::TooLarge { limit: 5 })
        );
        assert_eq!(
            DataUri::parse("data:,%G1", 5),
            Err(DataUriError::BadPercentEncoding)
        );
    }

    #[test]
    fn round_trips() {
        let uri = DataUri::encode_base64("application/pdf", b"%PDF-1.4 \x00\xff");
        let u = DataUri::parse(&uri, 1000).expect("decode");
        assert_eq!(u.bytes, b"%PDF-1.4 \x00\xff");
        assert_eq!(
            DataUri::media_type_of(&uri).as_deref(),
            Some("application/pdf")
        );
    }
}
