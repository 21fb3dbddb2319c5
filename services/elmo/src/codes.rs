//! Code lists and enumerations of the ELMO 1.7 and 2.1.1 schemas, shared by the writers (which
//! must only emit what the XSD accepts) and the validator (which explains what will not be
//! accepted).

/// ISO 3166-1 alpha-2 codes accepted by `europass:countryCode` (EUROPASS_ISOCountries_V1.1.xsd,
/// imported by ELMO v1.x for `citizenship` and `issuer/country`). It is a filtered list: e.g.
/// `XK` (Kosovo) and `SS` (South Sudan) are missing (elmo-schemas issues #57, #86).
pub const EUROPASS_COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AL", "AM", "AO", "AR", "AT", "AU", "AZ", "BA", "BB", "BD", "BE", "BF",
    "BG", "BH", "BI", "BJ", "BN", "BO", "BR", "BS", "BT", "BW", "BY", "BZ", "CA", "CD", "CF", "CG",
    "CH", "CI", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO",
    "DZ", "EC", "EE", "EG", "ER", "ES", "ET", "FI", "FJ", "FM", "FR", "GA", "GB", "GD", "GE", "GH",
    "GL", "GM", "GN", "GQ", "GR", "GT", "GW", "GY", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IN",
    "IQ", "IR", "IS", "IT", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW",
    "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME",
    "MG", "MH", "MK", "ML", "MM", "MN", "MR", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NE",
    "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PG", "PH", "PK", "PL", "PR",
    "PS", "PT", "PW", "PY", "QA", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SI",
    "SK", "SL", "SM", "SN", "SO", "SR", "ST", "SV", "SY", "SZ", "TD", "TG", "TH", "TJ", "TL", "TM",
    "TN", "TO", "TR", "TT", "TV", "TZ", "UA", "UG", "US", "UY", "UZ", "VA", "VC", "VE", "VN", "VU",
    "WS", "YE", "ZA", "ZM", "ZW",
];

/// True when the v1.7 schema accepts `code` as a country (exact, upper-case).
pub fn is_europass_country(code: &str) -> bool {
    EUROPASS_COUNTRIES.binary_search(&code).is_ok()
}

/// `learningOpportunitySpecification/type` values.
pub const LOS_TYPES: &[&str] = &["Degree Programme", "Module", "Course", "Class"];

/// `attachment/type` values.
pub const ATTACHMENT_TYPES: &[&str] = &[
    "Diploma",
    "Diploma Supplement",
    "Transcript of Records",
    "EMREX transcript",
    "Micro Credential",
    "Letter of Nomination",
    "Certificate of Training",
    "Learning Agreement",
    "Other",
];

/// The `attachment/type` ELMO 2.1 adds to [`ATTACHMENT_TYPES`].
pub const CERTIFICATE_OF_ENROLMENT: &str = "Certificate of Enrolment";

/// True when `t` is an `attachment/type` of ELMO `version`.
pub fn is_attachment_type(t: &str, version: crate::model::ElmoVersion) -> bool {
    ATTACHMENT_TYPES.contains(&t)
        || (version == crate::model::ElmoVersion::V2_1 && t == CERTIFICATE_OF_ENROLMENT)
}

/// ELMO 2.1 report `status/code` values: the whole record (`FULL`), what the student chose
/// (`SELECTION`), part of it because of a temporary or permanent problem (`PARTIAL_*`), or
/// nothing because of one (`ERROR_*`).
pub const REPORT_STATUS_CODES: &[&str] = &[
    "FULL",
    "SELECTION",
    "PARTIAL_TEMPORARY",
    "PARTIAL_PERMANENT",
    "ERROR_TEMPORARY",
    "ERROR_PERMANENT",
];

/// ELMO 2.1 `resultOfRecognition/status` values.
pub const RECOGNITION_STATUSES: &[&str] = &["Positive", "Negative", "Partially Positive"];

/// ELMO 2.1 `learningOpportunitySpecification/documentType` values.
pub const DOCUMENT_TYPES: &[&str] = &["Diploma", "Certificate", "Enrolment", "Admission"];

/// ELMO 2.1 country `@type` values: an ISO 3166-1 alpha-2 code or an EU authority URI
/// (`http://publications.europa.eu/resource/authority/country/…`).
pub const COUNTRY_TYPES: &[&str] = &["ISO", "URI"];

/// The country `@type` a value implies when the document did not say: `URI` for an
/// `http(s)://` value, else `ISO`.
pub fn implied_country_type(value: &str) -> &'static str {
    if value.starts_with("http://") || value.starts_with("https://") {
        "URI"
    } else {
        "ISO"
    }
}

/// Two upper-case ASCII letters (`ewp:CountryCode`, and what `ISO` means in ELMO 2.1).
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Deprecated `credit/level` values.
pub const CREDIT_LEVELS: &[&str] = &["Bachelor", "Master", "PhD"];

/// ISO/IEC 5218 `gender` values.
pub const GENDERS: &[&str] = &["0", "1", "2", "9"];

/// `learningOpportunityInstance/status` values.
pub const STATUSES: &[&str] = &["passed", "failed", "in-progress"];

/// Attachment media types we accept: what the schema recommends (PDF) plus a few harmless
/// renderable types. Anything else (HTML, SVG, executables) is refused by validation because
/// clients display or store attachments.
pub const ALLOWED_ATTACHMENT_MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "application/xml",
    "text/plain",
];

/// `xs:language` lexical form (`[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`), what `xml:lang` must be.
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `xs:decimal` lexical form: optional sign, digits with an optional fraction.
pub fn is_decimal(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    all_digits(int)
        && frac.is_none_or(all_digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
}

/// A non-negative `xs:decimal` (`-0` counts as zero).
pub fn is_non_negative_decimal(s: &str) -> bool {
    is_decimal(s) && (!s.starts_with('-') || s[1..].bytes().all(|b| b == b'0' || b == b'.'))
}

/// `xs:duration` lexical form: `-?P(nY)?(nM)?(nD)?(T(nH)?(nM)?(n(.n)?S)?)?` with at least one
/// component, and a `T` only when a time component follows.
pub fn is_duration(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let Some(body) = body.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    // Components in order, each digits followed by its designator; seconds may have a fraction.
    fn components(mut part: &str, designators: &[u8], fraction_on_last: bool) -> Option<usize> {
        let mut count = 0;
        let mut next = 0;
        while !part.is_empty() {
            let end = part.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
            let (number, rest) = part.split_at(end);
            let designator = *rest.as_bytes().first()?;
            let position = designators[next..].iter().position(|d| *d == designator)? + next;
            let last = position == designators.len() - 1;
            let numeric_ok = match number.split_once('.') {
                None => !number.is_empty(),
                Some((i, f)) => {
                    fraction_on_last && last && !i.is_empty() && !f.is_empty() && !f.contains('.')
                }
            };
            if !numeric_ok {
                return None;
            }
            next = position + 1;
            count += 1;
            part = &rest[1..];
        }
        Some(count)
    }
    let Some(date_count) = components(date, b"YMD", false) else {
        return false;
    };
    match time {
        None => date_count > 0,
        Some(t) => components(t, b"HMS", true).is_some_and(|n| n > 0),
    }
}

/// `xs:nonNegativeInteger` lexical form.
pub fn is_non_negative_integer(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_list_is_sorted() {
        assert!(EUROPASS_COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(EUROPASS_COUNTRIES.len(), 197);
        assert!(is_europass_country("PL"));
        assert!(!is_europass_country("XK"));
        assert!(!is_europass_country("pl"));
    }

    #[test]
    fn lexical_checks() {
        assert!(is_language_tag("en") && is_language_tag("FI") && is_language_tag("zh-Hant-TW"));
        assert!(!is_language_tag("") && !is_language_tag("en_GB") && !is_language_tag("-en"));
        for ok in ["0", "10.000", "+1", "-0", ".5", "5.", "120"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".", "1,5", "1e3", " 1", "-", "NaN"] {
            assert!(!is_decimal(bad), "{bad}");
        }
        assert!(is_non_negative_decimal("-0.0") && !is_non_negative_decimal("-0.5"));
        assert!(is_non_negative_integer("43") && !is_non_negative_integer("-1"));
        for ok in [
            "P1Y",
            "P1Y6M",
            "PT36H",
            "P3DT4H5M6.5S",
            "-P1D",
            "P0D",
            "PT0.5S",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "", "P", "PT", "P1", "1Y", "P1M1Y", "P1.5Y", "PT1.S", "P1YT", "P-1D", "P1D2",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
        assert!(is_country_code("XK") && !is_country_code("xk") && !is_country_code("POL"));
        assert_eq!(
            implied_country_type("https://publications.europa.eu/resource/authority/country/POL"),
            "URI"
        );
        assert_eq!(implied_country_type("PL"), "ISO");
    }
}
