//! What the credential issuer says and issues, as pure functions: the claims of the credential
//! (the ELM v3 conversion of the consented ELMO), which of them are selectively disclosable, the
//! credential offer and its URI, and the metadata documents (OpenID4VCI 1.0 §12.2, RFC 8414,
//! SD-JWT VC `jwt-vc-issuer`).

use emrex_elmo::Elmo;
use emrex_sdjwt::ClaimPath;
use serde_json::{Value, json};

use crate::config::WalletFormat;

/// The credential type (DC4EU's type metadata, shared fixtures `elm/vctm_elm.json`).
pub const VCT: &str = "urn:eudi:elm:1";

/// The OpenID4VCI grant type of the pre-authorized code flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// Length of the transaction code.
pub const TX_CODE_LENGTH: usize = 6;

/// The credential configuration id of a format.
pub fn configuration_id(format: WalletFormat) -> &'static str {
    match format {
        WalletFormat::DcSdJwt => "elm_dc_sd_jwt",
        WalletFormat::VcSdJwt => "elm_vc_sd_jwt",
    }
}

/// The format a configuration id names, among `formats`.
pub fn format_of(id: &str, formats: &[WalletFormat]) -> Option<WalletFormat> {
    formats.iter().copied().find(|f| configuration_id(*f) == id)
}

/// Why no claims could be made.
pub type ClaimsError = emrex_elm::ElmError;

/// The credential's claims: `{"elm": <EuropeanDigitalCredential>}` converted from `selected`, the
/// consented ELMO (the same document the SMP receives). The transcript PDF is left out: the
/// SMP gets it; in a wallet it would be most of the credential's size (hundreds of KB) for
/// nothing a verifier reads. The `elm` wrapper is where DC4EU's type metadata puts the claims.
pub fn claims(selected: &Elmo) -> Result<Value, ClaimsError> {
    let options = emrex_elm::Options {
        attachments: false,
        ..emrex_elm::Options::default()
    };
    let conv = emrex_elm::convert(selected, &options)?;
    // Plain structs with string keys serialize without error.
    let elm = serde_json::to_value(&conv.credential).unwrap_or(Value::Null);
    Ok(json!({ "elm": elm }))
}

/// The selectively disclosable claims: every fact about the learner (names, birth date and
/// place, identifiers, citizenship, gender, address) on its own, and each achievement (each
/// top-level claim with everything under it) on its own, so the student can show one course
/// without the others. What stays always visible is the credential frame (`@context`, `type`,
/// dates, the issuer organisation): nothing personal.
pub fn disclosable(claims: &Value) -> Vec<ClaimPath> {
    let mut paths = Vec::new();
    let Some(subject) = claims
        .pointer("/elm/credentialSubject")
        .and_then(Value::as_object)
    else {
        return paths;
    };
    for key in subject.keys() {
        match key.as_str() {
            "id" | "type" => {}
            "hasClaim" => {
                if subject[key].as_array().is_some_and(|a| !a.is_empty()) {
                    paths.push(ClaimPath::new([
                        "elm",
                        "credentialSubject",
                        "hasClaim",
                        "*",
                    ]));
                }
            }
            other => paths.push(ClaimPath::new(["elm", "credentialSubject", other])),
        }
    }
    paths
}

/// The credential offer (OpenID4VCI 1.0 §4.1.1), pre-authorized code with a numeric
/// transaction code.
pub fn offer(
    issuer: &str,
    formats: &[WalletFormat],
    pre_authorized_code: &str,
    tx_description: &str,
) -> Value {
    let ids: Vec<&str> = formats.iter().map(|f| configuration_id(*f)).collect();
    json!({
        "credential_issuer": issuer,
        "credential_configuration_ids": ids,
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": pre_authorized_code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": TX_CODE_LENGTH,
                    "description": tx_description,
                }
            }
        }
    })
}

/// `openid-credential-offer://?credential_offer=…` (the offer by value).
pub fn offer_uri(offer: &Value) -> String {
    let encoded: String =
        url::form_urlencoded::byte_serialize(offer.to_string().as_bytes()).collect();
    format!("openid-credential-offer://?credential_offer={encoded}")
}

/// The well-known paths of `public_url` for the metadata `name`: at the root of the host, with
/// the issuer's path appended (OpenID4VCI 1.0 §12.2.2, RFC 8414 §3.1). `https://ncp.example/uio`
/// gives `/.well-known/openid-credential-issuer/uio`.
pub fn well_known_path(public_url: &str, name: &str) -> String {
    let path = url::Url::parse(public_url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    format!("/.well-known/{name}{path}")
}

/// The credential issuer metadata (OpenID4VCI 1.0 §12.2.4).
pub fn issuer_metadata(issuer: &str, formats: &[WalletFormat], signing_algs: &[&str]) -> Value {
    let mut configurations = serde_json::Map::new();
    for f in formats {
        configurations.insert(
            configuration_id(*f).to_string(),
            json!({
                "format": f.as_str(),
                "vct": VCT,
                "scope": configuration_id(*f),
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": signing_algs,
                "proof_types_supported": {
                    "jwt": { "proof_signing_alg_values_supported": ["ES256", "RS256"] }
                },
                "credential_metadata": {
                    "display": display(),
                    "claims": [
                        {"path": ["elm", "credentialSubject", "givenName"], "display": [{"name": "Given name", "locale": "en"}, {"name": "Vorname", "locale": "de"}, {"name": "Prénom", "locale": "fr"}]},
                        {"path": ["elm", "credentialSubject", "familyName"], "display": [{"name": "Family name", "locale": "en"}, {"name": "Familienname", "locale": "de"}, {"name": "Nom", "locale": "fr"}]},
                        {"path": ["elm", "credentialSubject", "dateOfBirth"], "display": [{"name": "Date of birth", "locale": "en"}, {"name": "Geburtsdatum", "locale": "de"}, {"name": "Date de naissance", "locale": "fr"}]},
                        {"path": ["elm", "credentialSubject", "hasClaim", null], "display": [{"name": "Results", "locale": "en"}, {"name": "Ergebnisse", "locale": "de"}, {"name": "Résultats", "locale": "fr"}]}
                    ]
                },
                // Pre-1.0 wallets read the display here.
                "display": display(),
            }),
        );
    }
    json!({
        "credential_issuer": issuer,
        "credential_endpoint": format!("{issuer}/wallet/credential"),
        "nonce_endpoint": format!("{issuer}/wallet/nonce"),
        "display": [
            {"name": "EMREX", "locale": "en"},
            {"name": "EMREX", "locale": "de"},
            {"name": "EMREX", "locale": "fr"}
        ],
        "credential_configurations_supported": configurations,
    })
}

fn display() -> Value {
    json!([
        {"name": "Transcript of Records (EMREX)", "locale": "en", "description": "Your results, as sent with EMREX, in the European Learning Model"},
        {"name": "Leistungsnachweis (EMREX)", "locale": "de", "description": "Ihre Ergebnisse, wie mit EMREX gesendet, im European Learning Model"},
        {"name": "Relevé de notes (EMREX)", "locale": "fr", "description": "Vos résultats, tels qu'envoyés avec EMREX, dans le European Learning Model"}
    ])
}

/// The authorization server metadata (RFC 8414): the issuer is its own authorization server,
/// for the pre-authorized code grant only (no client authentication: the anonymous access of
/// OpenID4VCI 1.0 §12.2.4's `pre-authorized_grant_anonymous_access_supported`).
pub fn authorization_server_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/wallet/token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": true,
    })
}

/// The SD-JWT VC issuer metadata (`/.well-known/jwt-vc-issuer`): the Signer's JWK Set inline.
pub fn jwt_vc_issuer_metadata(issuer: &str, jwks: Value) -> Value {
    json!({ "issuer": issuer, "jwks": jwks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_paths_insert_before_the_issuer_path() {
        assert_eq!(
            well_known_path("https://ncp.example", "openid-credential-issuer"),
            "/.well-known/openid-credential-issuer"
        );
        assert_eq!(
            well_known_path("https://ncp.example/uio/", "jwt-vc-issuer"),
            "/.well-known/jwt-vc-issuer/uio"
        );
    }

    #[test]
    fn the_offer_uri_carries_the_offer_by_value() {
        let o = offer(
            "https://ncp.example",
            &[WalletFormat::DcSdJwt],
            "code&=",
            "the code",
        );
        let uri = offer_uri(&o);
        let q = uri
            .strip_prefix("openid-credential-offer://?")
            .expect("scheme");
        let (k, v) = url::form_urlencoded::parse(q.as_bytes())
            .next()
            .expect("param");
        assert_eq!(k, "credential_offer");
        let back: Value = serde_json::from_str(&v).expect("json");
        assert_eq!(back, o);
        assert_eq!(back["grants"][PRE_AUTHORIZED_GRANT]["tx_code"]["length"], 6);
        assert_eq!(back["credential_configuration_ids"][0], "elm_dc_sd_jwt");
    }

    #[test]
    fn names_and_each_achievement_are_disclosable_the_frame_is_not() {
        let c = json!({"elm": {"type": ["VerifiableCredential"], "credentialSubject": {
            "id": "urn:x", "type": "Person", "givenName": {"und": ["A"]},
            "dateOfBirth": "2000-01-01", "hasClaim": [{"id": "c1"}, {"id": "c2"}]
        }}});
        let paths: Vec<String> = disclosable(&c).iter().map(ToString::to_string).collect();
        assert_eq!(
            paths,
            [
                "/elm/credentialSubject/dateOfBirth",
                "/elm/credentialSubject/givenName",
                "/elm/credentialSubject/hasClaim/*"
            ]
        );
        assert!(disclosable(&json!({})).is_empty());
    }

    #[test]
    fn configuration_ids_map_back_only_to_configured_formats() {
        assert_eq!(
            format_of("elm_dc_sd_jwt", &[WalletFormat::DcSdJwt]),
            Some(WalletFormat::DcSdJwt)
        );
        assert_eq!(format_of("elm_vc_sd_jwt", &[WalletFormat::DcSdJwt]), None);
        let m = issuer_metadata("https://i", &[WalletFormat::VcSdJwt], &["RS256"]);
        assert_eq!(
            m["credential_configurations_supported"]["elm_vc_sd_jwt"]["format"],
            "vc+sd-jwt"
        );
        assert_eq!(m["nonce_endpoint"], "https://i/wallet/nonce");
    }
}
