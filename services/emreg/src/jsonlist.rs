//! The EMREX 1.x registry documents, `ncp-list.json` and `emp-list.json`.
//!
//! Existing clients (fi-smp, the emrex-gateway, …) read a static JSON document:
//!
//! ```json
//! { "countries": [ { "countryCode": "FI", "countryName": "Finland", "singleFetch": false } ],
//!   "ncps": [ { "acronym": "CSC", "countryCode": "FI", "institutions": ["All"],
//!               "url": "https://…", "pubKey": "-----BEGIN CERTIFICATE-----\n…" } ] }
//! ```
//!
//! with the provider list under `ncps` (Technical Guide, 2015–2017 clients) or `emps` (the list the
//! 2025 gateway reads and validates with its JSON Schema). Rendering is a pure function of a
//! [`Snapshot`] and the current time, so it is tested without a server.
//!
//! * **Countries** are those that have at least one entry (a country without providers would
//!   offer students nothing to pick). Name and `singleFetch` come from `SetCountry` when set;
//!   otherwise the ISO short name, and `singleFetch` is true exactly when the country has more
//!   than one provider (with `false`, clients pick "the" provider of a country without asking).
//! * **`pubKey`** is one PEM certificate: the newest (latest notBefore) of those valid now, or, if
//!   none is, the newest of all, so clients that know only one certificate get the right one
//!   during a rollover.
//! * **All certificates** (`"pubKeys": [...]`) are added only on request
//!   ([`RenderOptions::all_certificates`]): the gateway's JSON Schema sets
//!   `additionalProperties: false` on every object, so any extra field would make the whole
//!   document invalid for it. The default output has exactly the EMREX 1.x shape.
//! * Order is deterministic (countries by code; providers by country, then acronym), so equal
//!   content gives byte-equal documents and equal ETags.

use std::collections::{BTreeMap, HashMap};

use emrex_xmldsig::PinnedCert;
use serde::Serialize;

use crate::countries;
use crate::model::{Country, Entry, Snapshot};

/// Which key the provider list goes under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKey {
    /// `ncps`: the Technical Guide's name, read by the 2015–2017 clients (`ncp-list.json`).
    Ncps,
    /// `emps`: the USOS-hosted `emp-list.json` read by the emrex-gateway.
    Emps,
}

/// Rendering switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RenderOptions {
    /// Add `"pubKeys": [...]` (every certificate of the provider) next to `pubKey`. Not valid under
    /// the gateway's JSON Schema; for clients that support key rollover.
    pub all_certificates: bool,
}

/// A rendered document with its cache validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedList {
    /// The JSON document.
    pub body: Vec<u8>,
    /// Strong ETag (quoted): a hash of `body`.
    pub etag: String,
    /// When the registry last changed (Unix seconds), if it ever did.
    pub last_modified_unix: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonCountry<'a> {
    country_code: &'a str,
    country_name: &'a str,
    single_fetch: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonProvider<'a> {
    acronym: &'a str,
    country_code: &'a str,
    institutions: &'a [String],
    url: &'a str,
    pub_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub_keys: Option<&'a [String]>,
}

#[derive(Serialize)]
struct NcpList<'a> {
    countries: Vec<JsonCountry<'a>>,
    ncps: Vec<JsonProvider<'a>>,
}

#[derive(Serialize)]
struct EmpList<'a> {
    countries: Vec<JsonCountry<'a>>,
    emps: Vec<JsonProvider<'a>>,
}

/// Renders the document for `snapshot` as of `now_unix`.
pub fn render_list(
    snapshot: &Snapshot,
    key: ListKey,
    now_unix: i64,
    opts: RenderOptions,
) -> RenderedList {
    let set: HashMap<&str, &Country> = snapshot
        .countries
        .iter()
        .map(|c| (c.code.as_str(), c))
        .collect();
    let mut per_country: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in &snapshot.entries {
        per_country.entry(&e.country_code).or_default().push(e);
    }
    let mut json_countries = Vec::with_capacity(per_country.len());
    let mut providers = Vec::with_capacity(snapshot.entries.len());
    for (code, entries) in &mut per_country {
        let (name, single_fetch) = match set.get(code) {
            Some(c) => (c.name.as_str(), c.single_fetch),
            None => (
                countries::country_name(code).unwrap_or(code),
                entries.len() > 1,
            ),
        };
        json_countries.push(JsonCountry {
            country_code: code,
            country_name: name,
            single_fetch,
        });
        entries.sort_by(|a, b| a.acronym.cmp(&b.acronym));
        for e in entries.iter() {
            providers.push(JsonProvider {
                acronym: &e.acronym,
                country_code: &e.country_code,
                institutions: &e.institutions,
                url: &e.url,
                pub_key: choose_pub_key(&e.certificates, now_unix).unwrap_or(""),
                pub_keys: opts.all_certificates.then_some(e.certificates.as_slice()),
            });
        }
    }
    let body = match key {
        ListKey::Ncps => serde_json::to_vec_pretty(&NcpList {
            countries: json_countries,
            ncps: providers,
        }),
        ListKey::Emps => serde_json::to_vec_pretty(&EmpList {
            countries: json_countries,
            emps: providers,
        }),
    }
    // Serialising strings, bools and vectors cannot fail; keep a valid document regardless.
    .unwrap_or_else(|_| b"{\"countries\":[]}".to_vec());
    let etag = strong_etag(&body);
    RenderedList {
        body,
        etag,
        last_modified_unix: (snapshot.updated_unix > 0).then_some(snapshot.updated_unix),
    }
}

/// The certificate to publish as `pubKey`: among the certificates valid at `now_unix`, the one
/// with the latest notBefore; if none is valid, the latest notBefore of all. Ties keep the earlier
/// list position. Unparseable certificates (not expected: the store validates) are skipped, and
/// only if none parses is the first string returned as-is.
pub fn choose_pub_key(certificates: &[String], now_unix: i64) -> Option<&str> {
    let parsed: Vec<(usize, (i64, i64))> = certificates
        .iter()
        .enumerate()
        .filter_map(|(i, pem)| {
            PinnedCert::from_pem_or_der(pem.as_bytes())
                .ok()
                .map(|c| (i, c.validity()))
        })
        .collect();
    let valid_now = newest(
        parsed
            .iter()
            .filter(|(_, (nb, na))| *nb <= now_unix && now_unix <= *na),
    );
    let index = valid_now
        .or_else(|| newest(parsed.iter()))
        .or((!certificates.is_empty()).then_some(0))?;
    certificates.get(index).map(String::as_str)
}

/// The first moment after `now_unix` (Unix seconds) at which any certificate of `snapshot`
/// starts to be valid (its notBefore) or stops being valid (its notAfter + 1 s: a certificate is
/// valid up to and including its notAfter second), or `None` when no such moment lies ahead.
///
/// Every document rendered from a snapshot ([`render_list`]'s `pubKey` choice, the EWP manifest's
/// certificate selection) depends on the time only through these moments, so a rendered document
/// stays right until the boundary passes; the cache in [`crate::cache`] re-renders then.
/// Certificates that do not parse are skipped (they do not depend on the time either).
pub fn next_validity_boundary(snapshot: &Snapshot, now_unix: i64) -> Option<i64> {
    snapshot
        .entries
        .iter()
        .flat_map(|e| e.certificates.iter())
        .filter_map(|pem| PinnedCert::from_pem_or_der(pem.as_bytes()).ok())
        .flat_map(|c| {
            let (not_before, not_after) = c.validity();
            [not_before, not_after.saturating_add(1)]
        })
        .filter(|t| *t > now_unix)
        .min()
}

/// The position of the latest notBefore; the first one wins a tie.
fn newest<'a>(candidates: impl Iterator<Item = &'a (usize, (i64, i64))>) -> Option<usize> {
    let mut best: Option<(usize, i64)> = None;
    for (i, (not_before, _)) in candidates {
        if best.is_none_or(|(_, b)| *not_before > b) {
            best = Some((*i, *not_before));
        }
    }
    best.map(|(i, _)| i)
}

/// `"` + 32 hex digits of SHA-256(body) + `"`.
pub fn strong_etag(body: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    let hex: String = digest
        .as_ref()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 certificate valid from `from` to `to` (years, 1 January).
    fn cert(from: i32, to: i32) -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["emp.test.invalid".into()]).expect("params");
        params.not_before = rcgen::date_time_ymd(from, 1, 1);
        params.not_after = rcgen::date_time_ymd(to, 1, 1);
        params.self_signed(&key).expect("cert").pem()
    }

    fn year(y: i64) -> i64 {
        (y - 1970) * 365 * 86_400 + 86_400 * 30
    }

    #[test]
    fn pub_key_is_the_newest_valid_certificate() {
        let old = cert(2020, 2030);
        let newer = cert(2024, 2035);
        let future = cert(2040, 2050);
        let expired = cert(2010, 2015);
        let all = vec![old.clone(), newer.clone(), future.clone(), expired.clone()];
        assert_eq!(choose_pub_key(&all, year(2025)), Some(newer.as_str()));
        assert_eq!(choose_pub_key(&all, year(2021)), Some(old.as_str()));
        assert_eq!(choose_pub_key(&all, year(2045)), Some(future.as_str()));
        // None valid: the newest of all.
        assert_eq!(choose_pub_key(&all, year(2060)), Some(future.as_str()));
        assert_eq!(
            choose_pub_key(std::slice::from_ref(&expired), year(2025)),
            Some(expired.as_str())
        );
        assert_eq!(choose_pub_key(&[], year(2025)), None);
        assert_eq!(
            choose_pub_key(&["junk".to_string()], year(2025)),
            Some("junk")
        );
    }

    fn entry(acronym: &str, country: &str, certs: Vec<String>) -> Entry {
        Entry {
            acronym: acronym.into(),
            country_code: country.into(),
            institutions: vec![format!("{acronym} University")],
            url: format!("https://{}.example/emp", acronym.to_lowercase()),
            certificates: certs,
            ..Entry::default()
        }
    }

    #[test]
    fn renders_the_emrex_shape_in_a_fixed_order() {
        let c1 = cert(2020, 2090);
        let c2 = cert(2021, 2090);
        let snapshot = Snapshot {
            entries: vec![
                entry("UIO", "NO", vec![c1.clone()]),
                entry("B", "PL", vec![c1.clone()]),
                entry("A", "PL", vec![c1.clone(), c2.clone()]),
                entry("CSC", "FI", vec![c1.clone()]),
            ],
            countries: vec![
                Country {
                    code: "FI".into(),
                    name: "Suomi".into(),
                    single_fetch: true,
                },
                Country {
                    code: "SE".into(),
                    name: "Sverige".into(),
                    single_fetch: false,
                },
            ],
            revision: 9,
            generation: 0,
            updated_unix: 1_700_000_000,
        };
        let out = render_list(
            &snapshot,
            ListKey::Ncps,
            year(2025),
            RenderOptions::default(),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.body).expect("json");
        let countries: Vec<(String, String, bool)> = v["countries"]
            .as_array()
            .expect("countries")
            .iter()
            .map(|c| {
                (
                    c["countryCode"].as_str().unwrap_or_default().to_string(),
                    c["countryName"].as_str().unwrap_or_default().to_string(),
                    c["singleFetch"].as_bool().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            countries,
            vec![
                ("FI".into(), "Suomi".into(), true),
                ("NO".into(), "Norway".into(), false),
                ("PL".into(), "Poland".into(), true),
            ],
            "SE has no entries; PL has two so singleFetch defaults to true"
        );
        let acronyms: Vec<&str> = v["ncps"]
            .as_array()
            .expect("ncps")
            .iter()
            .map(|n| n["acronym"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(acronyms, ["CSC", "UIO", "A", "B"]);
        assert!(v.get("emps").is_none());
        assert_eq!(v["ncps"][2]["pubKey"], serde_json::json!(c2));
        assert!(v["ncps"][2].get("pubKeys").is_none());
        assert_eq!(out.last_modified_unix, Some(1_700_000_000));

        // Same content, same bytes and ETag; the emps variant differs only in its key.
        let again = render_list(
            &snapshot,
            ListKey::Ncps,
            year(2025),
            RenderOptions::default(),
        );
        assert_eq!(again, out);
        let emps = render_list(
            &snapshot,
            ListKey::Emps,
            year(2025),
            RenderOptions::default(),
        );
        let e: serde_json::Value = serde_json::from_slice(&emps.body).expect("json");
        assert_eq!(e["emps"], v["ncps"]);
        assert_ne!(emps.etag, out.etag);

        let all = render_list(
            &snapshot,
            ListKey::Emps,
            year(2025),
            RenderOptions {
                all_certificates: true,
            },
        );
        let a: serde_json::Value = serde_json::from_slice(&all.body).expect("json");
        assert_eq!(a["emps"][2]["pubKeys"], serde_json::json!([c1, c2]));
    }

    #[test]
    fn next_boundary_is_the_nearest_not_before_or_not_after_ahead() {
        let early = cert(2020, 2030);
        let late = cert(2024, 2035);
        let snapshot = Snapshot {
            entries: vec![
                entry("A", "FI", vec![early.clone()]),
                entry("B", "SE", vec![late, "junk".into()]),
            ],
            ..Snapshot::default()
        };
        let (nb_early, na_early) = PinnedCert::from_pem_or_der(early.as_bytes())
            .expect("cert")
            .validity();
        // Before everything: the earliest notBefore.
        assert_eq!(
            next_validity_boundary(&snapshot, nb_early - 10),
            Some(nb_early)
        );
        // At a notBefore the next boundary lies further ahead.
        let next = next_validity_boundary(&snapshot, nb_early).expect("more ahead");
        assert!(next > nb_early);
        // Between the last notBefore and the first notAfter: that notAfter + 1 s.
        assert_eq!(
            next_validity_boundary(&snapshot, year(2029)),
            Some(na_early + 1)
        );
        assert_eq!(
            next_validity_boundary(&snapshot, na_early),
            Some(na_early + 1)
        );
        // After every certificate: none.
        assert_eq!(next_validity_boundary(&snapshot, year(2100)), None);
        assert_eq!(next_validity_boundary(&Snapshot::default(), 0), None);
    }

    #[test]
    fn etag_is_strong_and_quoted() {
        let t = strong_etag(b"{}");
        assert!(
            t.starts_with('"') && t.ends_with('"') && t.len() == 34,
            "{t}"
        );
        assert_ne!(t, strong_etag(b"{ }"));
    }
}
