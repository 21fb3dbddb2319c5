//! The whole issuance path against independent code: a wallet made by npm `jose` sends its key
//! proof, `verify_key_proof` takes the holder key from it, `issue` makes an SD-JWT VC bound to that
//! key, and npm `@sd-jwt/sd-jwt-vc` (with `@sd-jwt/crypto-nodejs`) verifies it — the signature,
//! every disclosure, `vct`, that a dropped disclosure leaves its claim hidden — then presents it
//! with a key-binding JWT signed by the wallet's key and verifies that against `cnf`.

use emrex_sdjwt::{
    ClaimPath, CredentialSpec, IssueLimits, Jwk, JwtType, LocalSigner, ProofPolicy, SdJwtVc, issue,
    verify_key_proof,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://ncp.test.invalid/wallet";
const VCT: &str = "urn:eudi:elm:1";

fn oracle(request: Value) -> Value {
    emrex_tests::sdjwt::oracle(&request)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn claims() -> Value {
    json!({
        "credentialSubject": {
            "givenName": "Anna",
            "familyName": "Ånström",
            "dateOfBirth": "1999-02-28",
            "achievements": [
                {"title": "Linear Algebra", "credits": 7.5, "grade": "A"},
                {"title": "Logic", "credits": 5, "grade": "B"}
            ]
        },
        "issuerName": "Uppsala universitet"
    })
}

fn disclosable() -> Vec<ClaimPath> {
    [
        "/credentialSubject/givenName",
        "/credentialSubject/familyName",
        "/credentialSubject/dateOfBirth",
        "/credentialSubject/achievements/*",
        "/credentialSubject/achievements/*/grade",
    ]
    .iter()
    .map(|p| p.parse().expect("path"))
    .collect()
}

fn rsa_issuer() -> LocalSigner {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa key");
    LocalSigner::from_pkcs8(&key.serialize_der()).expect("pkcs8")
}

/// A wallet from jose: its proof, checked by us, gives the holder key.
fn wallet(alg: &str, nonce: &str) -> (Jwk, Value) {
    let w = oracle(json!({"mode": "wallet", "alg": alg, "aud": ISSUER, "nonce": nonce}));
    assert_eq!(w["ok"], true, "{w}");
    let proof = w["proof"].as_str().expect("proof");
    let verified = verify_key_proof(
        proof,
        &ProofPolicy::new(ISSUER, Some(nonce.to_string()), now()),
    )
    .expect("jose's proof verifies");
    assert_eq!(
        verified.holder_jwk,
        Jwk::from_json(&w["publicJwk"]).expect("jwk"),
        "the holder key is the wallet's"
    );
    assert_eq!(verified.alg.as_str(), alg);
    (verified.holder_jwk, w["privateJwk"].clone())
}

async fn issue_to(holder: Jwk, issuer: &LocalSigner, typ: JwtType) -> SdJwtVc {
    let spec = CredentialSpec {
        issuer: ISSUER.into(),
        vct: VCT.into(),
        issued_at: now(),
        expires_at: Some(now() + 3600),
        not_before: None,
        subject: None,
        holder,
        claims: claims().as_object().cloned().unwrap_or_default(),
        disclosable: disclosable(),
        decoys: 2,
        typ,
    };
    issue(&spec, &IssueLimits::default(), issuer)
        .await
        .expect("issued")
}

fn without_disclosure(credential: &str, encoded: &str) -> String {
    let dropped = credential.replacen(&format!("~{encoded}~"), "~", 1);
    assert_ne!(dropped, credential);
    dropped
}

async fn full_round(issuer: LocalSigner, holder_alg: &str, typ: JwtType) {
    let nonce = "c_nonce-Zm9vYmFy";
    let (holder, holder_private) = wallet(holder_alg, nonce);
    let vc = issue_to(holder.clone(), &issuer, typ).await;
    let credential = vc.to_string();
    let issuer_jwk = issuer.jwk().to_json();

    // Everything disclosed: the claims come back exactly, vct and cnf as issued.
    let v = oracle(json!({"mode": "verify", "credential": credential, "issuerJwk": issuer_jwk}));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["header"]["typ"], typ.as_str());
    assert_eq!(v["header"]["alg"], issuer.jwk().alg().as_str());
    assert_eq!(v["payload"]["vct"], VCT);
    assert_eq!(v["payload"]["iss"], ISSUER);
    assert_eq!(v["payload"]["cnf"]["jwk"], holder.to_json());
    assert_eq!(
        v["payload"]["credentialSubject"],
        claims()["credentialSubject"]
    );
    assert_eq!(v["payload"]["issuerName"], claims()["issuerName"]);
    // Every disclosure of ours is one the verifier decoded, with our salt, name and value.
    let theirs = v["disclosures"].as_array().expect("disclosures");
    assert_eq!(theirs.len(), vc.disclosures.len());
    assert_eq!(vc.disclosures.len(), 7);
    for d in &vc.disclosures {
        let found = theirs
            .iter()
            .find(|t| t["salt"] == d.salt)
            .unwrap_or_else(|| panic!("disclosure {:?} not seen by the verifier", d.name));
        assert_eq!(found["key"], json!(d.name));
        assert_eq!(found["value"], d.value);
    }

    // A dropped disclosure: still valid, and its claim stays hidden.
    let given = vc
        .disclosures
        .iter()
        .find(|d| d.name.as_deref() == Some("givenName"))
        .expect("givenName");
    let v = oracle(
        json!({"mode": "verify", "credential": without_disclosure(&credential, &given.encoded), "issuerJwk": issuer_jwk}),
    );
    assert_eq!(v["ok"], true, "{v}");
    assert!(
        v["payload"]["credentialSubject"].get("givenName").is_none(),
        "{v}"
    );
    assert_eq!(v["payload"]["credentialSubject"]["familyName"], "Ånström");
    assert!(!v.to_string().contains("Anna"), "the name leaks: {v}");
    let first_course = vc
        .disclosures
        .iter()
        .find(|d| d.name.is_none() && d.value["title"] == "Linear Algebra")
        .expect("course");
    let v = oracle(
        json!({"mode": "verify", "credential": without_disclosure(&credential, &first_course.encoded), "issuerJwk": issuer_jwk}),
    );
    assert_eq!(v["ok"], true, "{v}");
    let courses = v["payload"]["credentialSubject"]["achievements"]
        .as_array()
        .expect("achievements");
    assert_eq!(courses.len(), 1, "{v}");
    assert_eq!(courses[0]["title"], "Logic");

    // Another issuer key: refused.
    let stranger = LocalSigner::generate_es256().expect("key");
    let v = oracle(
        json!({"mode": "verify", "credential": credential, "issuerJwk": stranger.jwk().to_json()}),
    );
    assert_eq!(v["ok"], false, "{v}");

    // Presentation of a few claims with key binding by the wallet's key.
    let frame = json!({"credentialSubject": {"givenName": true, "achievements": {"1": true}}});
    let p = oracle(json!({
        "mode": "present", "credential": credential, "issuerJwk": issuer_jwk, "frame": frame,
        "holderPrivateJwk": holder_private, "aud": "https://verifier.test.invalid", "nonce": "n-123"
    }));
    assert_eq!(p["ok"], true, "{p}");
    let subject = &p["payload"]["credentialSubject"];
    assert_eq!(subject["givenName"], "Anna");
    assert!(subject.get("familyName").is_none(), "{p}");
    assert!(subject.get("dateOfBirth").is_none(), "{p}");
    let shown = subject["achievements"].as_array().expect("achievements");
    assert_eq!(shown.len(), 1, "{p}");
    assert_eq!(shown[0]["title"], "Logic");
    assert!(shown[0].get("grade").is_none(), "grade not selected: {p}");
    assert_eq!(p["kb"]["payload"]["nonce"], "n-123");
    assert_eq!(p["kb"]["header"]["typ"], "kb+jwt");

    // Key binding with a key the credential is not bound to: refused.
    let (_, other_private) = wallet(holder_alg, nonce);
    let p = oracle(json!({
        "mode": "present", "credential": credential, "issuerJwk": issuer_jwk, "frame": frame,
        "holderPrivateJwk": other_private, "aud": "https://verifier.test.invalid", "nonce": "n-123"
    }));
    assert_eq!(p["ok"], false, "{p}");
}

#[tokio::test]
async fn es256_issuer_es256_wallet() {
    full_round(
        LocalSigner::generate_es256().expect("key"),
        "ES256",
        JwtType::DcSdJwt,
    )
    .await;
}

#[tokio::test]
async fn rs256_issuer_rs256_wallet_with_the_older_media_type() {
    full_round(rsa_issuer(), "RS256", JwtType::VcSdJwt).await;
}

#[tokio::test]
async fn a_changed_disclosure_value_or_payload_is_refused() {
    let issuer = LocalSigner::generate_es256().expect("key");
    let (holder, _) = wallet("ES256", "n");
    let vc = issue_to(holder, &issuer, JwtType::DcSdJwt).await;
    let credential = vc.to_string();
    let issuer_jwk = issuer.jwk().to_json();
    // A disclosure whose value was changed no longer matches its digest.
    let given = vc
        .disclosures
        .iter()
        .find(|d| d.name.as_deref() == Some("givenName"))
        .expect("givenName");
    let forged = emrex_sdjwt::jose::b64url(json!([given.salt, "givenName", "Eve"]).to_string());
    let tampered = credential.replacen(&given.encoded, &forged, 1);
    let v = oracle(json!({"mode": "verify", "credential": tampered, "issuerJwk": issuer_jwk}));
    // RFC 9901 §7.1 says to reject a presentation with an unreferenced disclosure;
    // @sd-jwt/sd-jwt-vc 0.19 accepts it but leaves it out of the claims. Either way the forged
    // value must not become a claim.
    if v["ok"] == true {
        let subject = &v["payload"]["credentialSubject"];
        assert!(
            subject.get("givenName").is_none(),
            "forged value accepted: {v}"
        );
        assert!(!v["payload"].to_string().contains("Eve"), "{v}");
        assert_eq!(subject["familyName"], "Ånström");
    }
    // A changed issuer JWT payload breaks the signature.
    let mut parts: Vec<String> = vc.issuer_jwt.split('.').map(str::to_owned).collect();
    let mut payload = vc.payload.clone();
    payload["issuerName"] = json!("Evil U");
    parts[1] = emrex_sdjwt::jose::b64url(payload.to_string());
    let forged_jwt = parts.join(".");
    let tampered = credential.replacen(&vc.issuer_jwt, &forged_jwt, 1);
    let v = oracle(json!({"mode": "verify", "credential": tampered, "issuerJwk": issuer_jwk}));
    assert_eq!(v["ok"], false, "{v}");
}
