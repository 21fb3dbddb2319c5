//! JWKs for the X.509 certificates EMREX already trusts.
//!
//! An NCP signs its SD-JWT VCs with the key of its XML-signing certificate (the Signer holds one
//! key per rotation slot). Two parties publish that key as a JWK: the Signer (`GetJwks`, for the
//! NCP's `jwt-vc-issuer` metadata) and EMREG (`/wallet-issuers.json`, beside the certificates it
//! lists). Both must write the same `kid`, or a verifier that found the key in one place could not
//! match it in the other — so both use [`published_jwk`].

use emrex_xmldsig::{PinnedCert, PublicKeyParams};
use serde_json::Value;

use crate::jose::{self, Jwk, JwkError};

/// The certificate's public key as a JWK (RSA, or EC P-256).
pub fn certificate_jwk(cert: &PinnedCert) -> Result<Jwk, JwkError> {
    match cert.public_key_params() {
        PublicKeyParams::Rsa { n, e } => Ok(Jwk::rsa(n, e)),
        PublicKeyParams::EcP256 { x, y } => {
            let coord = |c: &[u8]| {
                <[u8; 32]>::try_from(c)
                    .map_err(|_| JwkError::Unsupported("P-256 coordinate is not 32 bytes".into()))
            };
            Ok(Jwk::ec_p256(coord(x)?, coord(y)?))
        }
    }
}

/// The JWK a JWKS publishes for `cert`: its key members, `kid` (the RFC 7638 thumbprint, the
/// `kid` the Signer puts in every JWS header), `alg`, `use` `sig`, `x5c` (`chain`, leaf first —
/// pass `[cert]` when the chain is not known) and `x5t#S256` (the certificate's SHA-256), so a
/// verifier can tie the key to the certificate EMREG lists.
pub fn published_jwk(cert: &PinnedCert, chain: &[&PinnedCert]) -> Result<Value, JwkError> {
    let jwk = certificate_jwk(cert)?;
    let mut value = jwk.to_json();
    if let Some(o) = value.as_object_mut() {
        o.insert("kid".into(), jwk.thumbprint().into());
        o.insert("alg".into(), jwk.alg().as_str().into());
        o.insert("use".into(), "sig".into());
        o.insert(
            "x5c".into(),
            chain
                .iter()
                .map(|c| Value::from(jose::x5c_entry(c.der())))
                .collect(),
        );
        o.insert(
            "x5t#S256".into(),
            jose::b64url(cert.sha256_fingerprint()).into(),
        );
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(alg: &'static rcgen::SignatureAlgorithm) -> PinnedCert {
        let key = rcgen::KeyPair::generate_for(alg).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["ncp.example".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        PinnedCert::from_pem_or_der(cert.pem().as_bytes()).expect("pinned")
    }

    #[test]
    fn ec_certificate_jwk_round_trips_and_names_its_thumbprint() {
        let c = cert(&rcgen::PKCS_ECDSA_P256_SHA256);
        let value = published_jwk(&c, &[&c]).expect("jwk");
        let parsed = Jwk::from_json(&value).expect("public JWK");
        assert_eq!(parsed, certificate_jwk(&c).expect("jwk"));
        assert_eq!(value["kid"], parsed.thumbprint());
        assert_eq!(value["alg"], "ES256");
        assert_eq!(value["use"], "sig");
        assert_eq!(value["x5c"][0], jose::x5c_entry(c.der()));
        assert_eq!(value["x5t#S256"], jose::b64url(c.sha256_fingerprint()));
    }

    #[test]
    fn rsa_certificate_gives_an_rs256_jwk() {
        let c = cert(&rcgen::PKCS_RSA_SHA256);
        let value = published_jwk(&c, &[&c]).expect("jwk");
        assert_eq!(value["kty"], "RSA");
        assert_eq!(value["alg"], "RS256");
        assert!(Jwk::from_json(&value).is_ok());
    }
}
