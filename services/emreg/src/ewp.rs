//! Publishing into the EWP network: the registry's entries as an EWP Discovery manifest
//! (`/ewp/manifest.xml`).
//!
//! The EWP registry harvests manifests and builds `catalogue-v1.xml`, which the EMREX
//! implementation guide names as the successor of the JSON EMP list. Our manifest describes one
//! host (Discovery API v6) whose `apis-implemented` lists the manifest itself (`discovery`) and
//! one `emrex-data-access-point` entry per NCP (namespace
//! `…/ewp-specs-api-emrex-data-access-point/blob/stable-v1/manifest-entry.xsd`): `url`, `name`
//! (the acronym: EWP clients, ours included, key NCPs by it), `country-code`, `institution*` and
//! every certificate that has not expired (all of them if every one has), as base64 DER. So a
//! rotation published in EMREG (next certificate listed before the switch, the old one kept for
//! the grace period) reaches EWP clients the same way.
//!
//! An entry the manifest-entry schema cannot carry is left out: one whose URL is not `https://`
//! (development entries on `http://` loopback) or that has no certificate. Rendering is a pure
//! function of the snapshot, the settings and the time, with a strong ETag like the JSON lists.

use emrex_xmldsig::PinnedCert;
use serde::{Deserialize, Serialize};

use crate::jsonlist::{RenderedList, strong_etag};
use crate::model::{Entry, Snapshot};

/// Namespace of the Discovery manifest (v6).
pub const NS_DISCOVERY_MANIFEST: &str =
    "https://github.com/erasmus-without-paper/ewp-specs-api-discovery/tree/stable-v6";
/// Namespace of the Discovery API's own manifest entry (v6).
pub const NS_DISCOVERY_ENTRY: &str = "https://github.com/erasmus-without-paper/ewp-specs-api-discovery/blob/stable-v6/manifest-entry.xsd";
/// Namespace of the EWP common types (`admin-email`, …).
pub const NS_EWP_COMMON: &str = "https://github.com/erasmus-without-paper/ewp-specs-architecture/blob/stable-v1/common-types.xsd";
/// Namespace of the registry catalogue (`apis-implemented`).
pub const NS_REGISTRY: &str =
    "https://github.com/erasmus-without-paper/ewp-specs-api-registry/tree/stable-v1";
/// Namespace of the `emrex-data-access-point` manifest entry.
pub const NS_EMREX_DATA_ACCESS_POINT: &str = "https://github.com/erasmus-without-paper/ewp-specs-api-emrex-data-access-point/blob/stable-v1/manifest-entry.xsd";

/// `[ewp]`: what the manifest says about the host. Without it EMREG serves no manifest (the
/// Discovery API requires an administrator address and provider name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EwpConfig {
    /// Contact addresses for the EWP registry's maintainers (required; a role alias, never a
    /// person's address: the Discovery API forbids that for GDPR reasons).
    pub admin_emails: Vec<String>,
    /// Who runs this host, in English, e.g. `"Sikt (EMREX NCP registry)"` (required).
    pub admin_provider: String,
    /// Optional notes for the registry's maintainers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_notes: Option<String>,
    /// The public `https://` URL of this manifest, as the EWP registry fetches it (listed in the
    /// manifest's own `discovery` entry).
    pub manifest_url: String,
}

/// Why the `[ewp]` section is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EwpConfigError {
    #[error("ewp.admin_emails must list at least one address")]
    NoAdminEmail,
    #[error("ewp.admin_emails: {0:?} is not an e-mail address")]
    BadEmail(String),
    #[error("ewp.admin_provider must not be empty")]
    NoProvider,
    #[error("ewp.manifest_url must be an https:// URL (the EWP registry fetches it), not {0:?}")]
    ManifestUrl(String),
}

impl EwpConfig {
    /// Checks what the manifest schema requires of these values.
    pub fn check(&self) -> Result<(), EwpConfigError> {
        if self.admin_emails.is_empty() {
            return Err(EwpConfigError::NoAdminEmail);
        }
        for e in &self.admin_emails {
            // ewp:Email's pattern: something@something, no whitespace.
            let ok = e
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('@'))
                && !e.chars().any(char::is_whitespace);
            if !ok {
                return Err(EwpConfigError::BadEmail(e.clone()));
            }
        }
        if self.admin_provider.trim().is_empty() {
            return Err(EwpConfigError::NoProvider);
        }
        match url::Url::parse(&self.manifest_url) {
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() => Ok(()),
            _ => Err(EwpConfigError::ManifestUrl(self.manifest_url.clone())),
        }
    }
}

/// The manifest for `snapshot` as of `now_unix`.
pub fn render_manifest(snapshot: &Snapshot, config: &EwpConfig, now_unix: i64) -> RenderedList {
    let mut out = String::with_capacity(4096 + snapshot.entries.len() * 2048);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<manifest xmlns=\"{NS_DISCOVERY_MANIFEST}\" xmlns:ewp=\"{NS_EWP_COMMON}\" xmlns:r=\"{NS_REGISTRY}\">\n  <host>\n"
    ));
    for e in &config.admin_emails {
        leaf(&mut out, 4, "ewp:admin-email", e);
    }
    leaf(&mut out, 4, "ewp:admin-provider", &config.admin_provider);
    if let Some(n) = config.admin_notes.as_deref().filter(|n| !n.is_empty()) {
        leaf(&mut out, 4, "ewp:admin-notes", n);
    }
    out.push_str("    <r:apis-implemented>\n");
    out.push_str(&format!(
        "      <discovery xmlns=\"{NS_DISCOVERY_ENTRY}\" version=\"6.0.0\">\n"
    ));
    leaf(&mut out, 8, "url", &config.manifest_url);
    out.push_str("      </discovery>\n");
    let mut entries: Vec<&Entry> = snapshot.entries.iter().collect();
    entries.sort_by(|a, b| a.acronym.cmp(&b.acronym));
    for e in entries {
        let certificates = publishable_certificates(&e.certificates, now_unix);
        if !e.url.starts_with("https://") || certificates.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "      <emrex-data-access-point xmlns=\"{NS_EMREX_DATA_ACCESS_POINT}\" version=\"1.0.0\">\n"
        ));
        leaf(&mut out, 8, "url", &e.url);
        leaf(&mut out, 8, "name", &e.acronym);
        leaf(&mut out, 8, "country-code", &e.country_code);
        for i in &e.institutions {
            leaf(&mut out, 8, "institution", i);
        }
        for c in certificates {
            leaf(&mut out, 8, "certificate", &c);
        }
        out.push_str("      </emrex-data-access-point>\n");
    }
    out.push_str("    </r:apis-implemented>\n  </host>\n</manifest>\n");
    let body = out.into_bytes();
    RenderedList {
        etag: strong_etag(&body),
        body,
        last_modified_unix: (snapshot.updated_unix > 0).then_some(snapshot.updated_unix),
    }
}

/// The certificates to publish, as base64 DER: those not expired at `now_unix` (current and
/// next, during a rotation), or all of them when every one has expired (an entry needs one).
/// Certificates that do not parse (the store validates, so not expected) are left out.
fn publishable_certificates(pems: &[String], now_unix: i64) -> Vec<String> {
    use base64::Engine as _;
    let parsed: Vec<PinnedCert> = pems
        .iter()
        .filter_map(|p| PinnedCert::from_pem_or_der(p.as_bytes()).ok())
        .collect();
    let live: Vec<&PinnedCert> = parsed
        .iter()
        .filter(|c| c.validity().1 >= now_unix)
        .collect();
    let chosen: Vec<&PinnedCert> = if live.is_empty() {
        parsed.iter().collect()
    } else {
        live
    };
    chosen
        .into_iter()
        .map(|c| base64::engine::general_purpose::STANDARD.encode(c.der()))
        .collect()
}

fn leaf(out: &mut String, indent: usize, name: &str, text: &str) {
    for _ in 0..indent {
        out.push(' ');
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            // Characters XML 1.0 cannot carry (the store refuses them; keep the output well-formed).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EwpConfig {
        EwpConfig {
            admin_emails: vec!["emrex-admin@registry.example".into()],
            admin_provider: "Example (EMREG)".into(),
            admin_notes: None,
            manifest_url: "https://emreg.example/ewp/manifest.xml".into(),
        }
    }

    #[test]
    fn config_checks() {
        assert_eq!(config().check(), Ok(()));
        let with = |f: fn(&mut EwpConfig)| {
            let mut c = config();
            f(&mut c);
            c.check()
        };
        assert_eq!(
            with(|c| c.admin_emails.clear()),
            Err(EwpConfigError::NoAdminEmail)
        );
        assert!(matches!(
            with(|c| c.admin_emails[0] = "nobody".into()),
            Err(EwpConfigError::BadEmail(_))
        ));
        assert_eq!(
            with(|c| c.admin_provider = " ".into()),
            Err(EwpConfigError::NoProvider)
        );
        assert!(matches!(
            with(|c| c.manifest_url = "http://emreg.example/m.xml".into()),
            Err(EwpConfigError::ManifestUrl(_))
        ));
    }

    #[test]
    fn escapes_and_leaves_out_what_ewp_cannot_carry() {
        let snapshot = Snapshot {
            entries: vec![
                Entry {
                    acronym: "DEV".into(),
                    country_code: "NO".into(),
                    url: "http://127.0.0.1:8090/".into(),
                    certificates: vec!["x".into()],
                    ..Entry::default()
                },
                Entry {
                    acronym: "NOCERT".into(),
                    country_code: "NO".into(),
                    url: "https://n.example/".into(),
                    ..Entry::default()
                },
            ],
            ..Snapshot::default()
        };
        let mut c = config();
        c.admin_notes = Some("a <b> & c".into());
        let m = String::from_utf8(render_manifest(&snapshot, &c, 0).body).expect("utf8");
        assert!(m.contains("<ewp:admin-notes>a &lt;b&gt; &amp; c</ewp:admin-notes>"));
        assert!(!m.contains("emrex-data-access-point"), "{m}");
    }
}
