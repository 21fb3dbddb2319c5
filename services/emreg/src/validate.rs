//! Validation of what administrators write into the registry.
//!
//! Every client of the federation trusts what EMREG publishes: a wrong URL sends students' data to
//! the wrong place, and a weak or garbled certificate makes forged transcripts verifiable. So the
//! store refuses bad input up front, with an error that names the offending field (in gRPC terms,
//! the proto field name, e.g. `entries[2].certificates_pem[0]`), instead of publishing it.
//!
//! All functions here are pure: no I/O, no clock.

use std::net::IpAddr;

use emrex_xmldsig::{KeyError, KeyType, PinnedCert};

use crate::countries;
use crate::model::{Country, Entry};

/// Longest acronym, in characters (all ASCII).
pub const MAX_ACRONYM_LEN: usize = 64;
/// Most institutions per entry.
pub const MAX_INSTITUTIONS: usize = 100;
/// Longest institution name, in characters.
pub const MAX_INSTITUTION_LEN: usize = 512;
/// Most metadata keys per entry.
pub const MAX_METADATA_KEYS: usize = 64;
/// Longest metadata key, in bytes (UTF-8).
pub const MAX_METADATA_KEY_BYTES: usize = 64;
/// Longest metadata value, in bytes (UTF-8).
pub const MAX_METADATA_VALUE_BYTES: usize = 1024;
/// Most certificates per entry: a rollover needs two or three; more is a mistake.
pub const MAX_CERTIFICATES: usize = 16;
/// Longest PEM text of one certificate, in bytes.
pub const MAX_CERTIFICATE_PEM_BYTES: usize = 16 * 1024;
/// Smallest accepted RSA modulus, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Longest URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest country name, in characters.
pub const MAX_COUNTRY_NAME_LEN: usize = 128;

/// Switches that change what is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationOptions {
    /// Accept `http://` URLs whose host is a loopback address (127.0.0.0/8, ::1, `localhost`),
    /// so a whole federation can run on one developer machine without TLS. Never in production.
    pub dev_mode: bool,
}

/// A rejected field: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// The field, named as in the protobuf API (`acronym`, `certificates_pem[1]`,
    /// `entries[3].url`, `metadata["owner"]`).
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl ValidationError {
    fn new(field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }

    /// The same error for a field nested in a larger request (`entries[3]` + `url` →
    /// `entries[3].url`).
    pub fn within(self, prefix: &str) -> Self {
        Self {
            field: format!("{prefix}.{}", self.field),
            problem: self.problem,
        }
    }
}

/// Why a field was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("must not be empty")]
    Empty,
    #[error("is too long ({actual} {unit}; at most {max})")]
    TooLong {
        max: usize,
        actual: usize,
        unit: &'static str,
    },
    #[error("has too many items ({actual}; at most {max})")]
    TooMany { max: usize, actual: usize },
    #[error("contains {0:?}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed")]
    BadCharacter(char),
    #[error("contains a control character")]
    ControlCharacter,
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. FI)")]
    UnknownCountry(String),
    #[error("is not a valid absolute URL: {0}")]
    BadUrl(String),
    #[error(
        "must use https (got {scheme}); http is accepted only for loopback hosts when the registry runs in dev mode"
    )]
    NotHttps { scheme: String },
    #[error("must not contain a user name or password")]
    UrlCredentials,
    #[error("at least one certificate is required")]
    NoCertificates,
    #[error("is not a PEM certificate: {0}")]
    BadCertificate(String),
    #[error("holds {0} certificates; give each one as its own list item")]
    SeveralCertificates(usize),
    #[error("key {0} is too weak: RSA keys need at least {MIN_RSA_BITS} bits")]
    WeakKey(String),
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    #[error("is the same certificate as certificates_pem[{0}]")]
    DuplicateCertificate(usize),
    #[error("is out of range (at most {0})")]
    OutOfRange(u64),
}

fn too_long(max: usize, actual: usize, unit: &'static str) -> Problem {
    Problem::TooLong { max, actual, unit }
}

/// Checks an entry and returns it as it will be stored: certificates re-encoded as canonical PEM.
/// `revision` and `updated_unix` are passed through untouched (the store sets them).
pub fn validate_entry(entry: Entry, opts: &ValidationOptions) -> Result<Entry, ValidationError> {
    validate_acronym(&entry.acronym)?;
    validate_country_code(&entry.country_code)
        .map_err(|p| ValidationError::new("country_code", p))?;
    validate_url(&entry.url, opts).map_err(|p| ValidationError::new("url", p))?;
    validate_institutions(&entry.institutions)?;
    let certificates = validate_certificates(&entry.certificates)?;
    validate_metadata(&entry.metadata)?;
    validate_credential_issuer(&entry.credential_issuer, opts)
        .map_err(|p| ValidationError::new("credential_issuer", p))?;
    Ok(Entry {
        certificates,
        ..entry
    })
}

/// Checks a country's settings.
pub fn validate_country(country: Country) -> Result<Country, ValidationError> {
    validate_country_code(&country.code).map_err(|p| ValidationError::new("country_code", p))?;
    let name = country.name.trim();
    if name.is_empty() {
        return Err(ValidationError::new("country_name", Problem::Empty));
    }
    let len = name.chars().count();
    if len > MAX_COUNTRY_NAME_LEN {
        return Err(ValidationError::new(
            "country_name",
            too_long(MAX_COUNTRY_NAME_LEN, len, "characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "country_name",
            Problem::ControlCharacter,
        ));
    }
    Ok(Country {
        name: name.to_string(),
        ..country
    })
}

/// Acronym: 1–64 characters of `[A-Za-z0-9._-]` (it appears in URLs, logs and resource names).
pub fn validate_acronym(acronym: &str) -> Result<(), ValidationError> {
    let field = "acronym";
    if acronym.is_empty() {
        return Err(ValidationError::new(field, Problem::Empty));
    }
    if let Some(c) = acronym
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(ValidationError::new(field, Problem::BadCharacter(c)));
    }
    if acronym.len() > MAX_ACRONYM_LEN {
        return Err(ValidationError::new(
            field,
            too_long(MAX_ACRONYM_LEN, acronym.len(), "characters"),
        ));
    }
    Ok(())
}

/// Country code: an assigned ISO 3166-1 alpha-2 code (or XK), see [`crate::countries`].
pub fn validate_country_code(code: &str) -> Result<(), Problem> {
    if code.is_empty() {
        return Err(Problem::Empty);
    }
    if countries::is_known_country(code) {
        Ok(())
    } else {
        Err(Problem::UnknownCountry(code.to_string()))
    }
}

/// URL: absolute, `https`, no credentials; `http` only on loopback in dev mode.
pub fn validate_url(url: &str, opts: &ValidationOptions) -> Result<(), Problem> {
    if url.is_empty() {
        return Err(Problem::Empty);
    }
    if url.len() > MAX_URL_BYTES {
        return Err(too_long(MAX_URL_BYTES, url.len(), "bytes"));
    }
    let parsed = url::Url::parse(url).map_err(|e| Problem::BadUrl(e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Problem::UrlCredentials);
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if opts.dev_mode && is_loopback(&parsed) => Ok(()),
        other => Err(Problem::NotHttps {
            scheme: other.to_string(),
        }),
    }
}

/// Credential issuer identifier (OpenID4VCI 1.0 §12.2.1): empty (the entry issues no wallet
/// credentials) or a URL as [`validate_url`] accepts it, without query or fragment — wallets
/// build the issuer's `/.well-known/` URLs from it.
pub fn validate_credential_issuer(url: &str, opts: &ValidationOptions) -> Result<(), Problem> {
    if url.is_empty() {
        return Ok(());
    }
    validate_url(url, opts)?;
    let parsed = url::Url::parse(url).map_err(|e| Problem::BadUrl(e.to_string()))?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Problem::BadUrl(
            "a credential issuer identifier has no query or fragment".into(),
        ));
    }
    Ok(())
}

/// Loopback per the brief: 127.0.0.0/8, ::1 and the name `localhost`.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn validate_institutions(institutions: &[String]) -> Result<(), ValidationError> {
    if institutions.len() > MAX_INSTITUTIONS {
        return Err(ValidationError::new(
            "institutions",
            Problem::TooMany {
                max: MAX_INSTITUTIONS,
                actual: institutions.len(),
            },
        ));
    }
    for (i, name) in institutions.iter().enumerate() {
        let field = || format!("institutions[{i}]");
        if name.trim().is_empty() {
            return Err(ValidationError::new(field(), Problem::Empty));
        }
        let len = name.chars().count();
        if len > MAX_INSTITUTION_LEN {
            return Err(ValidationError::new(
                field(),
                too_long(MAX_INSTITUTION_LEN, len, "characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(field(), Problem::ControlCharacter));
        }
    }
    Ok(())
}

/// Checks every certificate and returns them as canonical PEM.
fn validate_certificates(pems: &[String]) -> Result<Vec<String>, ValidationError> {
    if pems.is_empty() {
        return Err(ValidationError::new(
            "certificates_pem",
            Problem::NoCertificates,
        ));
    }
    if pems.len() > MAX_CERTIFICATES {
        return Err(ValidationError::new(
            "certificates_pem",
            Problem::TooMany {
                max: MAX_CERTIFICATES,
                actual: pems.len(),
            },
        ));
    }
    let mut out: Vec<PinnedCert> = Vec::with_capacity(pems.len());
    for (i, pem) in pems.iter().enumerate() {
        let cert = validate_certificate(pem)
            .map_err(|p| ValidationError::new(format!("certificates_pem[{i}]"), p))?;
        if let Some(first) = out.iter().position(|c| c.der() == cert.der()) {
            return Err(ValidationError::new(
                format!("certificates_pem[{i}]"),
                Problem::DuplicateCertificate(first),
            ));
        }
        out.push(cert);
    }
    Ok(out.iter().map(PinnedCert::to_pem).collect())
}

/// One certificate: exactly one PEM `CERTIFICATE` block, X.509-parseable, RSA ≥ 2048 bits or
/// ECDSA P-256 (the keys the EMREX signature profile verifies). Expired certificates are
/// accepted: the registry keeps history for rollovers, and the JSON list prefers valid ones.
pub fn validate_certificate(pem: &str) -> Result<PinnedCert, Problem> {
    if pem.trim().is_empty() {
        return Err(Problem::Empty);
    }
    if pem.len() > MAX_CERTIFICATE_PEM_BYTES {
        return Err(too_long(MAX_CERTIFICATE_PEM_BYTES, pem.len(), "bytes"));
    }
    let mut certs = PinnedCert::all_from_pem(pem.as_bytes()).map_err(|e| match e {
        KeyError::NoPem(_) => {
            Problem::BadCertificate("no -----BEGIN CERTIFICATE----- block".into())
        }
        KeyError::UnsupportedKey(what) => Problem::UnsupportedKey(what),
        other => Problem::BadCertificate(other.to_string()),
    })?;
    if certs.len() != 1 {
        return Err(Problem::SeveralCertificates(certs.len()));
    }
    let cert = certs.remove(0);
    match cert.key_type() {
        KeyType::Rsa(bits) if bits < MIN_RSA_BITS => {
            Err(Problem::WeakKey(cert.key_type().to_string()))
        }
        KeyType::Rsa(_) | KeyType::EcP256 => Ok(cert),
    }
}

fn validate_metadata(
    metadata: &std::collections::BTreeMap<String, String>,
) -> Result<(), ValidationError> {
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(ValidationError::new(
            "metadata",
            Problem::TooMany {
                max: MAX_METADATA_KEYS,
                actual: metadata.len(),
            },
        ));
    }
    for (key, value) in metadata {
        let field = || format!("metadata[{key:?}]");
        if key.is_empty() {
            return Err(ValidationError::new("metadata key", Problem::Empty));
        }
        if key.len() > MAX_METADATA_KEY_BYTES {
            // Do not echo an oversized key back in full.
            let short: String = key.chars().take(16).collect();
            return Err(ValidationError::new(
                format!("metadata key {short:?}…"),
                too_long(MAX_METADATA_KEY_BYTES, key.len(), "bytes"),
            ));
        }
        if value.len() > MAX_METADATA_VALUE_BYTES {
            return Err(ValidationError::new(
                field(),
                too_long(MAX_METADATA_VALUE_BYTES, value.len(), "bytes"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec_cert_pem() -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        rcgen::CertificateParams::new(vec!["emp.test.invalid".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert")
            .pem()
    }

    fn entry() -> Entry {
        Entry {
            acronym: "CSC".into(),
            country_code: "FI".into(),
            institutions: vec!["All".into()],
            url: "https://ncp.fi.example/ncp_entry".into(),
            certificates: vec![ec_cert_pem()],
            ..Entry::default()
        }
    }

    fn field_of(e: Entry, opts: &ValidationOptions) -> String {
        validate_entry(e, opts).expect_err("must be rejected").field
    }

    #[test]
    fn accepts_a_good_entry_and_canonicalises_pem() {
        let mut e = entry();
        let canonical = e.certificates[0].clone();
        e.certificates[0] = format!("  {}", canonical.replace('\n', "\r\n"));
        let out = validate_entry(e, &ValidationOptions::default()).expect("valid");
        assert_eq!(out.certificates, vec![canonical]);
    }

    #[test]
    fn acronym_rules() {
        let o = ValidationOptions::default();
        for bad in ["", "C S C", "CSC/1", "ÅBO", &"A".repeat(65)] {
            let e = Entry {
                acronym: bad.into(),
                ..entry()
            };
            assert_eq!(field_of(e, &o), "acronym", "{bad:?}");
        }
        for good in ["a", "DK-TEST", "x.y_z-1", &"A".repeat(64)] {
            validate_acronym(good).expect(good);
        }
    }

    #[test]
    fn country_rules() {
        let o = ValidationOptions::default();
        for bad in ["", "fi", "XX", "EL", "FIN"] {
            let e = Entry {
                country_code: bad.into(),
                ..entry()
            };
            assert_eq!(field_of(e, &o), "country_code", "{bad:?}");
        }
        validate_country_code("XK").expect("Kosovo is accepted");
        let c = validate_country(Country {
            code: "FI".into(),
            name: " Finland ".into(),
            single_fetch: false,
        })
        .expect("valid");
        assert_eq!(c.name, "Finland");
        let err = validate_country(Country {
            code: "FI".into(),
            name: "".into(),
            single_fetch: false,
        })
        .expect_err("empty name");
        assert_eq!(err.field, "country_name");
    }

    #[test]
    fn url_rules() {
        let prod = ValidationOptions::default();
        let dev = ValidationOptions { dev_mode: true };
        assert!(validate_url("https://emp.example/x", &prod).is_ok());
        assert!(matches!(
            validate_url("http://emp.example/x", &prod),
            Err(Problem::NotHttps { .. })
        ));
        assert!(matches!(
            validate_url("http://emp.example/x", &dev),
            Err(Problem::NotHttps { .. })
        ));
        for loopback in [
            "http://127.0.0.1:8080/emp",
            "http://127.9.9.9/",
            "http://[::1]:9000/",
            "http://localhost/emp",
            "http://LOCALHOST:1/",
        ] {
            assert!(validate_url(loopback, &dev).is_ok(), "{loopback}");
            assert!(validate_url(loopback, &prod).is_err(), "{loopback}");
        }
        assert!(validate_url("http://localhost.evil.example/", &dev).is_err());
        assert!(validate_url("http://128.0.0.1/", &dev).is_err());
        assert!(matches!(
            validate_url("https://user:pw@emp.example/", &prod),
            Err(Problem::UrlCredentials)
        ));
        assert!(matches!(
            validate_url("not a url", &prod),
            Err(Problem::BadUrl(_))
        ));
        assert!(matches!(
            validate_url("ftp://emp.example/", &prod),
            Err(Problem::NotHttps { .. })
        ));
        let e = Entry {
            url: "http://emp.example/".into(),
            ..entry()
        };
        let err = validate_entry(e, &prod).expect_err("http");
        assert_eq!(err.field, "url");
        assert!(err.to_string().contains("https"), "{err}");
    }

    #[test]
    fn credential_issuer_rules() {
        let (prod, dev) = (
            ValidationOptions::default(),
            ValidationOptions { dev_mode: true },
        );
        assert!(
            validate_entry(entry(), &prod).is_ok(),
            "empty: no wallet issuance"
        );
        let with = |issuer: &str| Entry {
            credential_issuer: issuer.into(),
            ..entry()
        };
        assert!(validate_entry(with("https://ncp.fi.example/wallet"), &prod).is_ok());
        assert!(validate_entry(with("http://127.0.0.1:8443"), &dev).is_ok());
        for bad in [
            "http://127.0.0.1:8443",
            "http://ncp.fi.example/",
            "https://ncp.fi.example/?x=1",
            "https://ncp.fi.example/#f",
            "https://u:p@ncp.fi.example/",
            "not a url",
        ] {
            assert_eq!(field_of(with(bad), &prod), "credential_issuer", "{bad}");
        }
    }

    #[test]
    fn certificate_rules() {
        let o = ValidationOptions::default();
        let e = Entry {
            certificates: vec![],
            ..entry()
        };
        assert_eq!(field_of(e, &o), "certificates_pem");
        let good = ec_cert_pem();
        let e = Entry {
            certificates: vec![good.clone(), "garbage".into()],
            ..entry()
        };
        assert_eq!(field_of(e, &o), "certificates_pem[1]");
        let e = Entry {
            certificates: vec![good.clone(), good.clone()],
            ..entry()
        };
        let err = validate_entry(e, &o).expect_err("duplicate");
        assert_eq!(err.problem, Problem::DuplicateCertificate(0));
        let bundle = format!("{good}{}", ec_cert_pem());
        assert_eq!(
            validate_certificate(&bundle).map(|_| ()),
            Err(Problem::SeveralCertificates(2))
        );
    }

    #[test]
    fn institutions_and_metadata_limits() {
        let o = ValidationOptions::default();
        let e = Entry {
            institutions: vec!["x".into(); 101],
            ..entry()
        };
        assert_eq!(field_of(e, &o), "institutions");
        let e = Entry {
            institutions: vec!["ok".into(), "y".repeat(513)],
            ..entry()
        };
        assert_eq!(field_of(e, &o), "institutions[1]");
        let mut e = entry();
        e.institutions = vec!["é".repeat(512)];
        assert!(validate_entry(e, &o).is_ok(), "512 characters, not bytes");

        let mut e = entry();
        for i in 0..65 {
            e.metadata.insert(format!("k{i}"), "v".into());
        }
        assert_eq!(field_of(e, &o), "metadata");
        let mut e = entry();
        e.metadata.insert("owner".into(), "v".repeat(1025));
        assert_eq!(field_of(e, &o), "metadata[\"owner\"]");
        let mut e = entry();
        e.metadata.insert("k".repeat(65), "v".into());
        assert!(field_of(e, &o).starts_with("metadata key"));
        let mut e = entry();
        e.metadata.insert("k".repeat(64), "v".repeat(1024));
        assert!(validate_entry(e, &o).is_ok());
    }

    #[test]
    fn nested_field_names() {
        let err = ValidationError::new("url", Problem::Empty).within("entries[3]");
        assert_eq!(err.field, "entries[3].url");
        assert_eq!(err.to_string(), "entries[3].url: must not be empty");
    }
}
