//! The NCP's Signer client as the SD-JWT VC issuer's signer: an SD-JWT VC issued by `emrex-sdjwt`
//! through the NCP's client and a real Signer over gRPC (the NCP holds no key) verifies with npm
//! `@sd-jwt/sd-jwt-vc` against the key the Signer publishes in its JWKS.

mod support;

use std::time::Duration;

use emrex_ncp::clients::{Signer, channel};
use emrex_runtime::config::GrpcClientConfig;
use emrex_sdjwt::{CredentialSpec, IssueLimits, JwtType, LocalSigner, issue};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sd_jwt_vc_signed_by_the_signer_verifies_with_the_published_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let (addr, cert, _, _task) = support::start_signer(dir.path()).await;
    let config = GrpcClientConfig {
        endpoint: format!("http://{addr}"),
        ..Default::default()
    };
    let signer = Signer::new(
        channel(&config, None).expect("channel"),
        Duration::from_secs(20),
    );

    let holder = LocalSigner::generate_es256().expect("holder key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let spec = CredentialSpec {
        issuer: "https://ncp.test.invalid/wallet".into(),
        vct: "urn:eudi:elm:1".into(),
        issued_at: now,
        expires_at: Some(now + 600),
        not_before: None,
        subject: None,
        holder: holder.jwk().clone(),
        claims: json!({"credentialSubject": {"givenName": "Anna", "familyName": "Ånström"}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        disclosable: vec!["/credentialSubject/givenName".parse().expect("path")],
        decoys: 1,
        typ: JwtType::DcSdJwt,
    };
    let vc = issue(&spec, &IssueLimits::default(), &signer)
        .await
        .expect("issued through the Signer");

    let jwks = signer.jwks().await.expect("jwks");
    let set: Value = serde_json::from_str(&jwks.jwks_json).expect("json");
    let header: Value = serde_json::from_slice(
        &emrex_sdjwt::jose::b64url_decode(vc.issuer_jwt.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("json");
    let key = set["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the JWS's kid is published")
        .clone();
    assert_eq!(jwks.keys[0].certificate_sha256, cert.sha256_hex());
    let verdict = emrex_tests::sdjwt::oracle(&json!({
        "mode": "verify", "credential": vc.to_string(), "issuerJwk": key,
    }));
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["payload"]["credentialSubject"]["givenName"], "Anna");
    assert_eq!(verdict["payload"]["cnf"]["jwk"], holder.jwk().to_json());
    assert_eq!(verdict["header"]["typ"], "dc+sd-jwt");

    // A payload the Signer refuses comes back as a refusal, not as an outage.
    let refused = signer
        .sign_jws(emrex_proto::signer::v1::JwsType::DcSdJwt, b"[1]".to_vec())
        .await
        .expect_err("refused");
    assert!(
        matches!(refused, emrex_ncp::clients::SignError::Refused(_)),
        "{refused}"
    );
}

/// A Signer that takes connections and never answers: the first caller waits out its timeout,
/// and the callers queued behind it get that failure at once (`JWKS_FAILURE_TTL`) instead of
/// each waiting out a timeout of their own, one after the other, on an endpoint anyone can call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_queued_behind_a_silent_signer_get_its_failure_at_once() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let config = GrpcClientConfig {
        endpoint: format!("http://{addr}"),
        ..Default::default()
    };
    let timeout = Duration::from_secs(1);
    let signer = Signer::new(channel(&config, None).expect("channel"), timeout);
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let signer = signer.clone();
            tokio::spawn(async move { signer.jwks().await })
        })
        .collect();
    for call in calls {
        assert!(call.await.expect("task").is_err());
    }
    // One timeout, not four in a row.
    let took = started.elapsed();
    assert!(took < timeout * 3, "{took:?}");
    held.abort();
}
