//! `/wallet-issuers.json`: the NCPs that also issue the results into wallets, with the keys their
//! credentials are signed with.
//!
//! An NCP with wallet issuance signs SD-JWT VCs (`iss` = its credential issuer identifier) with
//! the key of its XML-signing certificate. A verifier that trusts EMREG for the XML documents can
//! trust the same registry for the credentials: this document maps each credential issuer to the
//! entry's certificates as a JWK Set, written exactly as the NCP's Signer writes its own
//! (`emrex_sdjwt::x509::published_jwk`: same `kid`, `x5c`, `x5t#S256`).
//!
//! ```json
//! { "issuers": [ { "acronym": "CSC", "countryCode": "FI", "institutions": ["All"],
//!                  "url": "https://…/ncp", "credentialIssuer": "https://…/ncp",
//!                  "jwks": { "keys": [ { "kty": "RSA", "kid": "…", "x5c": ["…"], … } ] } } ] }
//! ```
//!
//! Only certificates valid now are listed as keys (a credential signed with a key outside its
//! certificate's window is not to be trusted); the document therefore depends on the time only
//! through the certificates' validity boundaries, like the EMREX lists, and is cached the same
//! way. Entries without a credential issuer are left out. Order: by acronym.

use emrex_xmldsig::PinnedCert;
use serde_json::{Value, json};

use crate::jsonlist::{RenderedList, strong_etag};
use crate::model::Snapshot;

/// Renders the document for `snapshot` as of `now_unix`.
pub fn render_wallet_issuers(snapshot: &Snapshot, now_unix: i64) -> RenderedList {
    let mut entries: Vec<_> = snapshot
        .entries
        .iter()
        .filter(|e| !e.credential_issuer.is_empty())
        .collect();
    entries.sort_by(|a, b| a.acronym.cmp(&b.acronym));
    let issuers: Vec<Value> = entries
        .iter()
        .map(|e| {
            let keys: Vec<Value> = e
                .certificates
                .iter()
                .filter_map(|pem| PinnedCert::from_pem_or_der(pem.as_bytes()).ok())
                .filter(|c| {
                    let (not_before, not_after) = c.validity();
                    not_before <= now_unix && now_unix <= not_after
                })
                .filter_map(|c| emrex_sdjwt::x509::published_jwk(&c, &[&c]).ok())
                .collect();
            json!({
                "acronym": e.acronym,
                "countryCode": e.country_code,
                "institutions": e.institutions,
                "url": e.url,
                "credentialIssuer": e.credential_issuer,
                "jwks": {"keys": keys},
            })
        })
        .collect();
    let body = serde_json::to_vec_pretty(&json!({ "issuers": issuers }))
        // Serialising a Value cannot fail; keep a valid document regardless.
        .unwrap_or_else(|_| b"{\"issuers\":[]}".to_vec());
    let etag = strong_etag(&body);
    RenderedList {
        body,
        etag,
        last_modified_unix: (snapshot.updated_unix > 0).then_some(snapshot.updated_unix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;

    fn cert(not_before: (i32, u8), not_after: (i32, u8)) -> (String, i64, i64) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["ncp.example".into()]).expect("p");
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, 1);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, 1);
        let pem = params.self_signed(&key).expect("cert").pem();
        let (nb, na) = PinnedCert::from_pem_or_der(pem.as_bytes())
            .expect("pinned")
            .validity();
        (pem, nb, na)
    }

    fn entry(acronym: &str, issuer: &str, certificates: Vec<String>) -> Entry {
        Entry {
            acronym: acronym.into(),
            country_code: "FI".into(),
            institutions: vec!["All".into()],
            url: format!("https://{acronym}.example/ncp"),
            certificates,
            credential_issuer: issuer.into(),
            ..Entry::default()
        }
    }

    #[test]
    fn lists_issuers_only_with_the_keys_valid_now() {
        let (current, nb, _) = cert((2020, 1), (2040, 1));
        let (expired, _, _) = cert((2000, 1), (2010, 1));
        let (future, future_nb, _) = cert((2039, 1), (2041, 1));
        let snapshot = Snapshot {
            entries: vec![
                entry("ZED", "https://zed.example/ncp", vec![current.clone()]),
                entry("NOWALLET", "", vec![current.clone()]),
                entry(
                    "ABC",
                    "https://abc.example/ncp",
                    vec![expired, current.clone(), future],
                ),
            ],
            ..Snapshot::default()
        };
        let doc = render_wallet_issuers(&snapshot, nb + 10);
        let v: Value = serde_json::from_slice(&doc.body).expect("json");
        let issuers = v["issuers"].as_array().expect("array");
        let names: Vec<&str> = issuers
            .iter()
            .filter_map(|i| i["acronym"].as_str())
            .collect();
        assert_eq!(
            names,
            ["ABC", "ZED"],
            "sorted, entries without an issuer left out"
        );
        assert_eq!(issuers[0]["credentialIssuer"], "https://abc.example/ncp");
        let keys = issuers[0]["jwks"]["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1, "only the certificate valid now: {keys:?}");
        let pinned = PinnedCert::from_pem_or_der(current.as_bytes()).expect("pinned");
        let expected = emrex_sdjwt::x509::published_jwk(&pinned, &[&pinned]).expect("jwk");
        assert_eq!(keys[0], expected, "the same JWK the Signer publishes");

        // Once the next certificate's window opens, both keys are listed (rotation overlap).
        let later = render_wallet_issuers(&snapshot, future_nb + 1);
        let v: Value = serde_json::from_slice(&later.body).expect("json");
        assert_eq!(
            v["issuers"][0]["jwks"]["keys"].as_array().map(Vec::len),
            Some(2)
        );
        assert_ne!(later.etag, doc.etag);
    }

    #[test]
    fn empty_registry_renders_an_empty_list() {
        let doc = render_wallet_issuers(&Snapshot::default(), 0);
        let v: Value = serde_json::from_slice(&doc.body).expect("json");
        assert_eq!(v, json!({"issuers": []}));
    }
}
