//! The Signer's JWS operation over real loopback gRPC: `SignJws` with RSA and P-256 keys checked
//! by an independent verifier (npm `jose`, through the published JWKS and through the `x5c`
//! certificate), its refusals, the chain in `x5c`, and key rotation (`GetJwks` lists the next key
//! before the swap; after it the new `kid` signs).

use std::path::Path;

use base64::Engine;
use emrex_proto::signer::v1::{
    CertificateRole, GetCertificatesRequest, GetJwksRequest, JwsType, SignJwsRequest,
    SignJwsResponse,
};
use emrex_signer::{KeyFiles, SignerConfig};
use serde_json::{Value, json};
use tonic::Code;

mod common;
use common::{Running, start, write_key};

fn files(key: &Path, cert: &Path, next: Option<&Path>) -> KeyFiles {
    KeyFiles {
        key_file: key.to_path_buf(),
        cert_file: cert.to_path_buf(),
        next_cert_file: next.map(Path::to_path_buf),
    }
}

async fn sign(r: &mut Running, typ: JwsType, payload: &Value) -> SignJwsResponse {
    r.client
        .sign_jws(SignJwsRequest {
            typ: typ as i32,
            payload: payload.to_string().into_bytes(),
        })
        .await
        .expect("SignJws")
        .into_inner()
}

async fn jwks(r: &mut Running) -> (Value, Vec<(String, String, i32)>) {
    let resp = r
        .client
        .get_jwks(GetJwksRequest {})
        .await
        .expect("GetJwks")
        .into_inner();
    let set: Value = serde_json::from_str(&resp.jwks_json).expect("jwks json");
    let keys = resp
        .keys
        .iter()
        .map(|k| (k.kid.clone(), k.alg.clone(), k.role))
        .collect();
    (set, keys)
}

fn jose_verify(jws: &str, jwks: &Value, typ: &str) -> Value {
    emrex_tests::sdjwt::oracle(&json!({"mode": "jws", "jws": jws, "jwks": jwks, "typ": typ}))
}

fn header_of(jws: &str) -> Value {
    let h = jws.split('.').next().expect("header");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .expect("b64"),
    )
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jose_verifies_rsa_and_ecdsa_jws_via_jwks_and_x5c() {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, alg, expected_alg) in [
        ("rsa", &rcgen::PKCS_RSA_SHA256, "RS256"),
        ("ec", &rcgen::PKCS_ECDSA_P256_SHA256, "ES256"),
    ] {
        let (key, cert, pinned) = write_key(dir.path(), name, alg);
        let mut r = start(files(&key, &cert, None), SignerConfig::default()).await;
        let (set, keys) = jwks(&mut r).await;
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].1, expected_alg);
        assert_eq!(keys[0].2, CertificateRole::Active as i32);
        let payload = json!({"iss": "https://ncp.test.invalid", "vct": "urn:eudi:elm:1", "iat": 1_764_000_000, "name": "Ånström"});
        for (typ, typ_name) in [
            (JwsType::DcSdJwt, "dc+sd-jwt"),
            (JwsType::VcSdJwt, "vc+sd-jwt"),
        ] {
            let resp = sign(&mut r, typ, &payload).await;
            assert_eq!(resp.alg, expected_alg, "{name}");
            assert_eq!(resp.kid, keys[0].0, "{name}: kid as published");
            assert_eq!(resp.certificate_sha256, pinned.sha256_hex());
            let verdict = jose_verify(&resp.compact_jws, &set, typ_name);
            assert_eq!(verdict["ok"], true, "{name} {typ_name}: {verdict}");
            assert_eq!(verdict["viaX5c"], true, "{verdict}");
            assert_eq!(verdict["payload"], payload);
            let header = &verdict["header"];
            assert_eq!(header["alg"], expected_alg);
            assert_eq!(header["typ"], typ_name);
            assert_eq!(header["kid"], resp.kid);
            let x5c0 = base64::engine::general_purpose::STANDARD
                .decode(header["x5c"][0].as_str().expect("x5c"))
                .expect("b64");
            assert_eq!(x5c0, pinned.der(), "x5c is the certificate EMREG lists");
            // The verifier can fail: a changed payload does not verify.
            let mut parts: Vec<&str> = resp.compact_jws.split('.').collect();
            let other = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(json!({"iss": "https://evil.invalid"}).to_string());
            parts[1] = &other;
            let verdict = jose_verify(&parts.join("."), &set, typ_name);
            assert_eq!(verdict["ok"], false, "{verdict}");
        }
        // The JWKS entry carries the certificate and its thumbprint.
        let k = &set["keys"][0];
        assert_eq!(k["use"], "sig");
        assert_eq!(
            k["x5t#S256"],
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pinned.sha256_fingerprint())
        );
        assert!(k.get("d").is_none(), "no private key material");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_what_is_not_a_bounded_json_object_or_has_no_type() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert, _) = write_key(dir.path(), "a", &rcgen::PKCS_ECDSA_P256_SHA256);
    let mut r = start(
        files(&key, &cert, None),
        SignerConfig {
            max_jws_payload_bytes: 1024,
            ..SignerConfig::default()
        },
    )
    .await;
    let mut deep = String::new();
    for _ in 0..40 {
        deep.push_str("{\"a\":");
    }
    deep.push('1');
    for _ in 0..40 {
        deep.push('}');
    }
    let cases: Vec<(JwsType, Vec<u8>, Code)> = vec![
        (JwsType::Unspecified, b"{}".to_vec(), Code::InvalidArgument),
        (
            JwsType::DcSdJwt,
            format!("{{\"a\":\"{}\"}}", "x".repeat(2000)).into_bytes(),
            Code::ResourceExhausted,
        ),
        (
            JwsType::DcSdJwt,
            b"not json".to_vec(),
            Code::InvalidArgument,
        ),
        (JwsType::DcSdJwt, b"[1,2]".to_vec(), Code::InvalidArgument),
        (
            JwsType::DcSdJwt,
            b"\"text\"".to_vec(),
            Code::InvalidArgument,
        ),
        (
            JwsType::DcSdJwt,
            br#"{"iss":"a","iss":"b"}"#.to_vec(),
            Code::InvalidArgument,
        ),
        (JwsType::DcSdJwt, deep.into_bytes(), Code::InvalidArgument),
        (JwsType::DcSdJwt, b"{} {}".to_vec(), Code::InvalidArgument),
    ];
    for (typ, payload, code) in cases {
        let err = r
            .client
            .sign_jws(SignJwsRequest {
                typ: typ as i32,
                payload: payload.clone(),
            })
            .await
            .expect_err("refused");
        assert_eq!(
            err.code(),
            code,
            "{}: {}",
            String::from_utf8_lossy(&payload[..payload.len().min(40)]),
            err.message()
        );
    }
    // An unknown enum number is refused too.
    let err = r
        .client
        .sign_jws(SignJwsRequest {
            typ: 99,
            payload: b"{}".to_vec(),
        })
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Code::InvalidArgument);
    let ok = sign(&mut r, JwsType::DcSdJwt, &json!({"a": 1})).await;
    assert_eq!(ok.alg, "ES256");
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &r.registry).expect("encode");
    assert!(
        text.contains("emrex_signer_jws_signatures_total 1"),
        "{text}"
    );
    assert!(text.contains("reason=\"not_json\""), "{text}");
    assert!(text.contains("reason=\"jws_bad_type\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_publishes_the_next_key_first_and_the_new_kid_signs_after_the_swap() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert, first) = write_key(dir.path(), "first", &rcgen::PKCS_RSA_SHA256);
    let (next_key, next_cert, second) =
        write_key(dir.path(), "second", &rcgen::PKCS_ECDSA_P256_SHA256);
    let mut r = start(
        files(&key, &cert, Some(&next_cert)),
        SignerConfig::default(),
    )
    .await;
    let (set_during_rotation, keys) = jwks(&mut r).await;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].2, CertificateRole::Active as i32);
    assert_eq!(keys[1].2, CertificateRole::Next as i32);
    assert_ne!(keys[0].0, keys[1].0);
    let certs = r
        .client
        .get_certificates(GetCertificatesRequest {})
        .await
        .expect("certs")
        .into_inner();
    assert_eq!(certs.certificates[0].sha256_fingerprint, first.sha256_hex());
    let payload = json!({"iss": "https://ncp.test.invalid", "n": 1});

    let before = sign(&mut r, JwsType::DcSdJwt, &payload).await;
    assert_eq!(before.kid, keys[0].0);
    assert_eq!(before.alg, "RS256");
    assert_eq!(before.certificate_sha256, first.sha256_hex());

    // The swap: the Secret's active key is now the former next one.
    std::fs::copy(&next_key, &key).expect("copy key");
    std::fs::copy(&next_cert, &cert).expect("copy cert");
    let after = sign(&mut r, JwsType::DcSdJwt, &payload).await;
    assert_eq!(after.kid, keys[1].0, "the new kid signs after the swap");
    assert_eq!(after.alg, "ES256");
    assert_eq!(after.certificate_sha256, second.sha256_hex());

    // A verifier that fetched the JWKS during the rotation (both keys) accepts both signatures.
    for jws in [&before.compact_jws, &after.compact_jws] {
        let verdict = jose_verify(jws, &set_during_rotation, "dc+sd-jwt");
        assert_eq!(verdict["ok"], true, "{verdict}");
    }
    // After the rotation only the new key is published; the old JWS no longer verifies against it.
    std::fs::remove_file(&next_cert).expect("remove next");
    let (set_after, keys_after) = jwks(&mut r).await;
    assert_eq!(keys_after.len(), 1);
    assert_eq!(keys_after[0].0, keys[1].0);
    assert_eq!(
        jose_verify(&before.compact_jws, &set_after, "dc+sd-jwt")["ok"],
        false
    );
    assert_eq!(
        jose_verify(&after.compact_jws, &set_after, "dc+sd-jwt")["ok"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x5c_carries_the_chain_from_the_certificate_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Test issuing CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["ncp.test.invalid".into()]).expect("params");
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "NCP issuer");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
    let kp = dir.path().join("tls.key");
    let cp = dir.path().join("tls.crt");
    std::fs::write(&kp, leaf_key.serialize_pem()).expect("write");
    std::fs::write(&cp, format!("{}{}", leaf.pem(), ca_cert.pem())).expect("write");
    let mut r = start(files(&kp, &cp, None), SignerConfig::default()).await;
    let resp = sign(&mut r, JwsType::DcSdJwt, &json!({"a": 1})).await;
    let header = header_of(&resp.compact_jws);
    let x5c: Vec<Vec<u8>> = header["x5c"]
        .as_array()
        .expect("x5c")
        .iter()
        .map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c.as_str().expect("string"))
                .expect("b64")
        })
        .collect();
    assert_eq!(x5c, vec![leaf.der().to_vec(), ca_cert.der().to_vec()]);
    let (set, _) = jwks(&mut r).await;
    assert_eq!(set["keys"][0]["x5c"].as_array().map(Vec::len), Some(2));
    let verdict = jose_verify(&resp.compact_jws, &set, "dc+sd-jwt");
    assert_eq!(verdict["ok"], true, "{verdict}");
}
