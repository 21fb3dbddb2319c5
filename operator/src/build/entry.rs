//! RegistryEntry → the entry as EMREG stores it (`emrex.registry.v1.Entry`).
//!
//! Entries the operator writes carry their Kubernetes identity in the entry's metadata, so an
//! acronym already taken by something else (another namespace, a hand-made entry) is reported
//! as a conflict instead of being overwritten, and deletion only removes what we published.

use std::collections::HashMap;

use emrex_proto::registry::v1::Entry;

use super::common::{self, BuildError};
use crate::crd::RegistryEntrySpec;

/// Metadata keys on entries the operator publishes.
pub const OWNER_KEY: &str = "kubernetes.emrex.eu/owner";
pub const OWNER_UID_KEY: &str = "kubernetes.emrex.eu/owner-uid";

/// Most certificates an entry may list.
pub const MAX_CERTIFICATES: usize = 16;

/// A RegistryEntry spec that passed [`validate`]: the only input [`desired`] takes (field
/// private: only `validate` makes one).
#[derive(Debug, Clone, Copy)]
pub struct ValidatedEntry<'a> {
    spec: &'a RegistryEntrySpec,
}

impl<'a> ValidatedEntry<'a> {
    /// The checked spec.
    pub fn spec(&self) -> &'a RegistryEntrySpec {
        self.spec
    }
}

/// Checks what the schema cannot.
pub fn validate(spec: &RegistryEntrySpec) -> Result<ValidatedEntry<'_>, BuildError> {
    common::check_ref("spec.registryRef", &spec.registry_ref)?;
    common::check_acronym("spec.acronym", &spec.acronym)?;
    common::check_country("spec.countryCode", &spec.country_code)?;
    common::check_https("spec.url", &spec.url)?;
    if let Some(issuer) = &spec.credential_issuer {
        common::check_https("spec.credentialIssuer", issuer)?;
        if issuer.contains(['?', '#']) {
            return Err(BuildError::invalid(
                "spec.credentialIssuer",
                "a credential issuer identifier has no query or fragment",
            ));
        }
    }
    if spec.certificates.is_empty() || spec.certificates.len() > MAX_CERTIFICATES {
        return Err(BuildError::invalid(
            "spec.certificates",
            format!("must list 1–{MAX_CERTIFICATES} certificates"),
        ));
    }
    for (i, c) in spec.certificates.iter().enumerate() {
        match (&c.signing_certificate_ref, &c.pem) {
            (Some(r), None) => {
                common::check_ref(&format!("spec.certificates[{i}].signingCertificateRef"), r)?
            }
            (None, Some(pem)) => {
                crate::pki::cert_info(pem).map_err(|e| {
                    BuildError::invalid(format!("spec.certificates[{i}].pem"), e.to_string())
                })?;
            }
            _ => {
                return Err(BuildError::invalid(
                    format!("spec.certificates[{i}]"),
                    "set exactly one of signingCertificateRef and pem",
                ));
            }
        }
    }
    Ok(ValidatedEntry { spec })
}

/// `namespace/name` of a RegistryEntry, as recorded in the entry.
pub fn owner_id(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The entry to publish: the spec with its certificates resolved to PEM (current first).
pub fn desired(
    entry: ValidatedEntry<'_>,
    owner: &str,
    owner_uid: &str,
    certificates_pem: Vec<String>,
) -> Entry {
    let spec = entry.spec;
    Entry {
        acronym: spec.acronym.clone(),
        country_code: spec.country_code.clone(),
        institutions: spec.institutions.clone(),
        url: spec.url.clone(),
        certificates_pem,
        legacy_algorithms: spec.legacy_algorithms,
        credential_issuer: spec.credential_issuer.clone().unwrap_or_default(),
        metadata: HashMap::from([
            (OWNER_KEY.to_string(), owner.to_string()),
            (OWNER_UID_KEY.to_string(), owner_uid.to_string()),
        ]),
        revision: 0,
        updated_unix: 0,
    }
}

/// Whether what EMREG holds already says what we would write (server-set fields ignored).
pub fn up_to_date(current: &Entry, desired: &Entry) -> bool {
    current.acronym == desired.acronym
        && current.country_code == desired.country_code
        && current.institutions == desired.institutions
        && current.url == desired.url
        && current
            .certificates_pem
            .iter()
            .map(|p| p.trim())
            .eq(desired.certificates_pem.iter().map(|p| p.trim()))
        && current.legacy_algorithms == desired.legacy_algorithms
        && current.credential_issuer == desired.credential_issuer
        && current.metadata == desired.metadata
}

/// Whether an entry found in EMREG under our acronym is ours to replace or delete: written for
/// the same `namespace/name` (a re-created resource takes its entry over).
pub fn is_ours(current: &Entry, owner: &str) -> bool {
    current.metadata.get(OWNER_KEY).map(String::as_str) == Some(owner)
}
