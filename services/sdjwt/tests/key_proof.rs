//! Hostile key proofs: every refusal of `verify_key_proof`, each with a proof that differs from a
//! valid one in that one respect (so the refusal is the reason named, not an earlier one).

use emrex_sdjwt::jose::b64url;
use emrex_sdjwt::{LocalSigner, ProofError, ProofPolicy, verify_key_proof};
use serde_json::{Value, json};

const ISSUER: &str = "https://ncp.test.invalid/wallet";
const NOW: i64 = 1_800_000_000;
const NONCE: &str = "c-nonce-1";

fn policy() -> ProofPolicy {
    ProofPolicy::new(ISSUER, Some(NONCE.into()), NOW)
}

fn header(key: &LocalSigner, alg: &str) -> Value {
    json!({"typ": "openid4vci-proof+jwt", "alg": alg, "jwk": key.jwk().to_json()})
}

fn claims() -> Value {
    json!({"aud": ISSUER, "iat": NOW - 5, "nonce": NONCE, "iss": "wallet-client"})
}

fn signed(key: &LocalSigner, header: &Value, claims: &Value) -> String {
    key.sign_with_header(header, claims.to_string().as_bytes())
        .expect("sign")
}

/// A JWS over raw header and payload text (for JSON a `Value` cannot hold, e.g. duplicates).
fn signed_raw(key: &LocalSigner, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64url(header), b64url(payload));
    let sig = key.sign_raw(input.as_bytes()).expect("sign");
    format!("{input}.{}", b64url(sig))
}

fn es() -> LocalSigner {
    LocalSigner::generate_es256().expect("key")
}

fn rsa() -> LocalSigner {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
    LocalSigner::from_pkcs8(&key.serialize_der()).expect("pkcs8")
}

fn refused(proof: &str, policy: &ProofPolicy) -> ProofError {
    verify_key_proof(proof, policy).expect_err("must be refused")
}

#[test]
fn valid_es256_and_rs256_proofs_yield_the_holder_key() {
    for key in [es(), rsa()] {
        let alg = key.jwk().alg().as_str();
        let proof = signed(&key, &header(&key, alg), &claims());
        let ok = verify_key_proof(&proof, &policy()).expect("valid");
        assert_eq!(&ok.holder_jwk, key.jwk());
        assert_eq!(ok.client_id.as_deref(), Some("wallet-client"));
        assert_eq!(ok.issued_at, NOW - 5);
    }
    // No nonce needed when none was issued.
    let key = es();
    let mut c = claims();
    c.as_object_mut().expect("object").remove("nonce");
    let proof = signed(&key, &header(&key, "ES256"), &c);
    assert!(verify_key_proof(&proof, &ProofPolicy::new(ISSUER, None, NOW)).is_ok());
    assert_eq!(
        refused(&proof, &policy()),
        ProofError::MissingNonce,
        "but a nonce is needed when one was issued"
    );
}

#[test]
fn algorithm_refusals_none_hmac_and_others() {
    let key = es();
    // alg none, no signature.
    let mut h = header(&key, "none");
    let unsigned = format!(
        "{}.{}.",
        b64url(h.to_string()),
        b64url(claims().to_string())
    );
    assert_eq!(
        refused(&unsigned, &policy()),
        ProofError::Algorithm(Some("none".into()))
    );
    // HS256 keyed with the public key's bytes (the classic algorithm-confusion forgery).
    h["alg"] = json!("HS256");
    let input = format!("{}.{}", b64url(h.to_string()), b64url(claims().to_string()));
    let mac_key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        key.jwk().to_json().to_string().as_bytes(),
    );
    let tag = aws_lc_rs::hmac::sign(&mac_key, input.as_bytes());
    let hs = format!("{input}.{}", b64url(tag.as_ref()));
    assert_eq!(
        refused(&hs, &policy()),
        ProofError::Algorithm(Some("HS256".into()))
    );
    for alg in ["PS256", "ES384", "EdDSA", "es256"] {
        let p = signed(&key, &header(&key, alg), &claims());
        assert_eq!(
            refused(&p, &policy()),
            ProofError::Algorithm(Some(alg.into()))
        );
    }
    let mut h = header(&key, "ES256");
    h.as_object_mut().expect("object").remove("alg");
    assert_eq!(
        refused(&signed(&key, &h, &claims()), &policy()),
        ProofError::Algorithm(None)
    );
    // RS256 claimed over an EC key.
    let p = signed(&key, &header(&key, "RS256"), &claims());
    assert!(matches!(
        refused(&p, &policy()),
        ProofError::KeyAlgMismatch { .. }
    ));
}

#[test]
fn header_refusals() {
    let key = es();
    let mut h = header(&key, "ES256");
    h["typ"] = json!("JWT");
    assert_eq!(
        refused(&signed(&key, &h, &claims()), &policy()),
        ProofError::WrongType(Some("JWT".into()))
    );
    let mut h = header(&key, "ES256");
    h.as_object_mut().expect("object").remove("typ");
    assert_eq!(
        refused(&signed(&key, &h, &claims()), &policy()),
        ProofError::WrongType(None)
    );
    let mut h = header(&key, "ES256");
    h.as_object_mut().expect("object").remove("jwk");
    assert_eq!(
        refused(&signed(&key, &h, &claims()), &policy()),
        ProofError::MissingJwk
    );
    for (name, value) in [
        ("kid", json!("did:example:1#k")),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["exp"])),
        ("jku", json!("https://evil.invalid/jwks")),
        ("trust_chain", json!([])),
    ] {
        let mut h = header(&key, "ES256");
        h[name] = value;
        assert!(
            matches!(refused(&signed(&key, &h, &claims()), &policy()), ProofError::ForbiddenHeader(n) if n == name),
            "{name}"
        );
    }
    // A private key in the header.
    let mut h = header(&key, "ES256");
    h["jwk"]["d"] = json!(b64url([1u8; 32]));
    assert!(matches!(
        refused(&signed(&key, &h, &claims()), &policy()),
        ProofError::BadJwk(_)
    ));
    // A symmetric key in the header.
    let mut h = header(&key, "ES256");
    h["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"});
    assert!(matches!(
        refused(&signed(&key, &h, &claims()), &policy()),
        ProofError::BadJwk(_)
    ));
}

#[test]
fn signature_refusals_other_key_and_damaged_signature() {
    let signer = es();
    let other = es();
    // Signed by one key, naming another.
    let p = signed(&signer, &header(&other, "ES256"), &claims());
    assert_eq!(refused(&p, &policy()), ProofError::BadSignature);
    let rsa_signer = rsa();
    let rsa_other = rsa();
    let p = signed(&rsa_signer, &header(&rsa_other, "RS256"), &claims());
    assert_eq!(refused(&p, &policy()), ProofError::BadSignature);
    // A valid proof with its payload swapped.
    let p = signed(&signer, &header(&signer, "ES256"), &claims());
    let mut parts: Vec<String> = p.split('.').map(str::to_owned).collect();
    let mut c = claims();
    c["nonce"] = json!("another");
    parts[1] = b64url(c.to_string());
    assert_eq!(
        refused(&parts.join("."), &policy()),
        ProofError::BadSignature
    );
    // A truncated signature.
    let cut = &p[..p.len() - 4];
    assert!(matches!(
        refused(cut, &policy()),
        ProofError::BadSignature | ProofError::Malformed(_)
    ));
}

#[test]
fn claim_refusals_audience_time_nonce() {
    let key = es();
    let h = header(&key, "ES256");
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c[name] = value;
        signed(&key, &h, &c)
    };
    let without = |name: &str| {
        let mut c = claims();
        c.as_object_mut().expect("object").remove(name);
        signed(&key, &h, &c)
    };
    assert_eq!(
        refused(&with("aud", json!("https://other.invalid")), &policy()),
        ProofError::WrongAudience
    );
    assert_eq!(
        refused(&without("aud"), &policy()),
        ProofError::WrongAudience
    );
    assert_eq!(
        refused(&with("aud", json!(7)), &policy()),
        ProofError::WrongAudience
    );
    assert_eq!(
        refused(&with("aud", json!([ISSUER])), &policy()),
        ProofError::WrongAudience,
        "aud is a string, not a list"
    );
    assert_eq!(refused(&without("iat"), &policy()), ProofError::MissingIat);
    assert_eq!(
        refused(&with("iat", json!("1800000000")), &policy()),
        ProofError::MissingIat
    );
    assert_eq!(
        refused(&with("iat", json!(NOW - 301)), &policy()),
        ProofError::Stale { age: 301, max: 300 }
    );
    assert!(verify_key_proof(&with("iat", json!(NOW - 300)), &policy()).is_ok());
    assert_eq!(
        refused(&with("iat", json!(NOW + 61)), &policy()),
        ProofError::FromFuture { ahead: 61 }
    );
    assert!(verify_key_proof(&with("iat", json!(NOW + 60)), &policy()).is_ok());
    assert_eq!(
        refused(&without("nonce"), &policy()),
        ProofError::MissingNonce
    );
    let wrong = refused(&with("nonce", json!("c-nonce-2")), &policy());
    assert_eq!(wrong, ProofError::WrongNonce);
    assert_eq!(wrong.oid4vci_error(), "invalid_nonce");
    assert_eq!(
        refused(&with("aud", json!("x")), &policy()).oid4vci_error(),
        "invalid_proof"
    );
}

#[test]
fn structure_and_size_refusals() {
    let key = es();
    let good = signed(&key, &header(&key, "ES256"), &claims());
    let parts: Vec<&str> = good.split('.').collect();
    assert!(matches!(
        refused(&format!("{}.{}", parts[0], parts[1]), &policy()),
        ProofError::Malformed(_)
    ));
    assert!(matches!(
        refused(&format!("{good}.x"), &policy()),
        ProofError::Malformed(_)
    ));
    assert!(matches!(
        refused(
            &format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            &policy()
        ),
        ProofError::Malformed(_)
    ));
    assert!(matches!(
        refused(
            &format!("{}+.{}.{}", parts[0], parts[1], parts[2]),
            &policy()
        ),
        ProofError::Malformed(_)
    ));
    // Header not JSON, not an object; duplicate members; deep nesting.
    let p = signed_raw(&key, "not json", &claims().to_string());
    assert!(matches!(
        refused(&p, &policy()),
        ProofError::Json { part: "header", .. }
    ));
    let p = signed_raw(&key, "[1]", &claims().to_string());
    assert!(matches!(refused(&p, &policy()), ProofError::Malformed(_)));
    let jwk = key.jwk().to_json().to_string();
    let dup = format!(r#"{{"typ":"openid4vci-proof+jwt","alg":"ES256","alg":"none","jwk":{jwk}}}"#);
    let p = signed_raw(&key, &dup, &claims().to_string());
    assert!(matches!(
        refused(&p, &policy()),
        ProofError::Json { part: "header", .. }
    ));
    let deep = format!(
        r#"{{"aud":"{ISSUER}","iat":{},"nonce":"{NONCE}","x":{{"a":{{"b":{{"c":{{}}}}}}}}}}"#,
        NOW - 5
    );
    let p = signed_raw(&key, &header(&key, "ES256").to_string(), &deep);
    assert!(matches!(
        refused(&p, &policy()),
        ProofError::Json {
            part: "payload",
            ..
        }
    ));
    // Oversized, refused before anything is decoded.
    let mut c = claims();
    c["padding"] = json!("x".repeat(9000));
    let p = signed(&key, &header(&key, "ES256"), &c);
    assert!(matches!(
        refused(&p, &policy()),
        ProofError::TooLarge { .. }
    ));
    let huge = "a".repeat(10 * 1024 * 1024);
    assert!(matches!(
        refused(&huge, &policy()),
        ProofError::TooLarge { .. }
    ));
}
