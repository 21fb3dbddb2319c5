//! The controlled vocabularies the credential points into, written the way the European
//! Commission's own ELM v3 samples write them (`Credentials/JSON-LD Examples (ELM v3)/`):
//! Publications Office authority concepts (`country`, `language`, `file-type`, `human-sex`) carry
//! the table name as `notation` and the English label; Europass (`data.europa.eu/snb`) concepts
//! carry their scheme and label only.
//!
//! Only concepts whose URI we can derive from the code (ISO tables, EQF levels, ISCED-F codes) or
//! that appear in the EC samples or DC4EU's output are emitted; for anything else the caller gets
//! `None` and reports the field as not mapped rather than inventing a URI.

use crate::iso::{COUNTRIES, LANGUAGES};
use crate::model::{Concept, ConceptScheme, LangMap};

const AUTHORITY: &str = "http://publications.europa.eu/resource/authority/";
const SNB: &str = "http://data.europa.eu/snb/";
/// The identifier the Europass vocabularies give their concept schemes.
const SNB_SCHEME: &str = "25831c2";

fn concept(id: String, scheme: String, notation: Option<&str>, label_en: &str) -> Concept {
    Concept {
        id,
        kind: "Concept".into(),
        in_scheme: Some(ConceptScheme {
            id: scheme,
            kind: "ConceptScheme".into(),
        }),
        notation: notation.map(str::to_owned),
        pref_label: if label_en.is_empty() {
            LangMap::default()
        } else {
            LangMap::one("en", label_en)
        },
    }
}

fn authority(table: &str, code: &str, label_en: &str) -> Concept {
    concept(
        format!("{AUTHORITY}{table}/{code}"),
        format!("{AUTHORITY}{table}"),
        Some(table),
        label_en,
    )
}

fn snb(vocabulary: &str, code: &str, label_en: &str) -> Concept {
    concept(
        format!("{SNB}{vocabulary}/{code}"),
        format!("{SNB}{vocabulary}/{SNB_SCHEME}"),
        None,
        label_en,
    )
}

/// A country from ELMO: an ISO 3166-1 alpha-2 code (any case), or (2.1 `type="URI"`) an
/// authority URI, which is kept when it is a Publications Office country URI.
pub fn country(value: &str) -> Option<Concept> {
    let value = value.trim();
    let prefix = format!("{AUTHORITY}country/");
    if let Some(code) = value.strip_prefix(&prefix) {
        let name = COUNTRIES
            .iter()
            .find(|(_, a3, _)| *a3 == code)
            .map_or("", |(_, _, n)| n);
        return (!code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .then(|| authority("country", code, name));
    }
    let upper = value.to_ascii_uppercase();
    COUNTRIES
        .binary_search_by(|(a2, _, _)| (*a2).cmp(upper.as_str()))
        .ok()
        .map(|i| {
            let (_, a3, name) = COUNTRIES[i];
            authority("country", a3, name)
        })
}

/// A language from an ISO 639-1 code or a BCP 47 tag whose primary subtag is one (`nb-NO`).
pub fn language(tag: &str) -> Option<Concept> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    LANGUAGES
        .binary_search_by(|(a2, _, _)| (*a2).cmp(primary.as_str()))
        .ok()
        .map(|i| {
            let (_, a3, name) = LANGUAGES[i];
            authority("language", &a3.to_ascii_uppercase(), name)
        })
}

/// ISO/IEC 5218 `1` (male) and `2` (female). `0` (not known) and `9` (not applicable) have no
/// concept we could verify in the `human-sex` table, so they are not mapped.
pub fn gender(code: &str) -> Option<Concept> {
    match code.trim() {
        "1" => Some(authority("human-sex", "MALE", "male")),
        "2" => Some(authority("human-sex", "FEMALE", "female")),
        _ => None,
    }
}

/// The `file-type` concept of an attachment's media type.
pub fn file_type(media_type: &str) -> Option<Concept> {
    let (code, label) = match media_type {
        "application/pdf" => ("PDF", "PDF"),
        "image/png" => ("PNG", "PNG"),
        "image/jpeg" => ("JPEG", "JPEG"),
        "application/xml" | "text/xml" => ("XML", "XML"),
        "text/plain" => ("TXT", "TXT"),
        _ => return None,
    };
    Some(authority("file-type", code, label))
}

/// Base64 content encoding.
pub fn base64_encoding() -> Concept {
    snb("encoding", "6146cde7dd", "base64")
}

/// ECTS (the only ELMO credit scheme with a Europass concept).
pub fn ects() -> Concept {
    snb(
        "education-credit",
        "6fcec5c5af",
        "European Credit Transfer System",
    )
}

/// An EQF level `1`–`8`.
pub fn eqf(level: &str) -> Option<Concept> {
    let level = level.trim();
    matches!(level, "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8")
        .then(|| snb("eqf", level, &format!("Level {level}")))
}

/// An ISCED-F 2013 code: 2 (broad), 3 (narrow) or 4 (detailed) digits.
pub fn isced_f(code: &str) -> Option<Concept> {
    let code = code.trim();
    let ok = (2..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| {
        let mut c = snb("isced-f", code, "");
        c.notation = Some(code.to_owned());
        c
    })
}

/// The `pass` grade status (the one status DC4EU's output uses; see the module docs).
pub fn grade_pass() -> Concept {
    snb("grade-status", "c_60a1cf9a", "pass")
}

/// The `Generic` credential profile (what the EC samples and DC4EU use).
pub fn generic_profile() -> Concept {
    snb("credential", "e34929035b", "Generic")
}

/// A concept without a published vocabulary (an Erasmus subject code, an NQF level, a custom credit
/// scheme): a local `urn:epass:concept:<n>` id, the value as `notation`, an optional label.
pub fn local(id: String, notation: Option<&str>, label: LangMap) -> Concept {
    Concept {
        id,
        kind: "Concept".into(),
        in_scheme: None,
        notation: notation.map(str::to_owned),
        pref_label: label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_and_languages_map_to_authority_codes() {
        assert_eq!(
            country("no").map(|c| c.id).as_deref(),
            Some("http://publications.europa.eu/resource/authority/country/NOR")
        );
        assert_eq!(
            country("GB").and_then(|c| c.pref_label.pick("en").map(str::to_owned)),
            Some("United Kingdom".to_owned())
        );
        assert_eq!(country("XX"), None);
        assert_eq!(
            country("http://publications.europa.eu/resource/authority/country/FIN")
                .map(|c| c.notation),
            Some(Some("country".to_owned()))
        );
        assert_eq!(
            country("http://publications.europa.eu/resource/authority/country/"),
            None
        );
        assert_eq!(
            language("nb-NO").map(|c| c.id).as_deref(),
            Some("http://publications.europa.eu/resource/authority/language/NOB")
        );
        assert_eq!(
            language("de").map(|c| c.id).as_deref(),
            Some("http://publications.europa.eu/resource/authority/language/DEU")
        );
        assert_eq!(language("zz"), None);
    }

    #[test]
    fn codes_outside_the_vocabularies_are_refused() {
        assert!(eqf("9").is_none() && eqf("").is_none() && eqf("7").is_some());
        assert!(isced_f("0613").is_some() && isced_f("06a").is_none() && isced_f("1").is_none());
        assert!(gender("0").is_none() && gender("9").is_none() && gender("2").is_some());
        assert!(file_type("text/html").is_none() && file_type("application/pdf").is_some());
    }
}
