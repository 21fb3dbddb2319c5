//! Issuing an SD-JWT VC of a 40-course transcript (every course and every grade selectively
//! disclosable: 83 disclosures) and checking a wallet's key proof, each beside a same-run baseline
//! of the bare crypto: one ES256 signature over the same payload bytes (for issuing), one ES256
//! verification (for the proof). The ratio is the cost of our SD-JWT and JOSE handling;
//! scripts/bench-report.py turns criterion's output into the table in docs/benchmarks.md.

use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use emrex_sdjwt::jose::b64url_decode;
use emrex_sdjwt::{
    ClaimPath, CredentialSpec, IssueLimits, JwtType, LocalSigner, ProofPolicy, issue, prepare,
    verify_key_proof,
};
use serde_json::json;

/// Runs a future that is ready at once (the local signer's), without an async runtime.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn spec(holder: &LocalSigner) -> CredentialSpec {
    let courses: Vec<_> = (0..40)
        .map(|i| {
            json!({"title": format!("Course number {i} — Øresund & Ærø studies"), "credits": 5,
                   "grade": format!("{}", i % 5 + 1), "date": "2024-12-20", "language": "en"})
        })
        .collect();
    let claims = json!({
        "credentialSubject": {"givenName": "Aino Maria", "familyName": "Järvinen",
                              "dateOfBirth": "2001-05-17", "achievements": courses},
        "issuerName": "University of Helsinki"
    });
    CredentialSpec {
        issuer: "https://ncp.example.org/wallet".into(),
        vct: "urn:eudi:elm:1".into(),
        issued_at: 1_800_000_000,
        expires_at: Some(1_900_000_000),
        not_before: None,
        subject: None,
        holder: holder.jwk().clone(),
        claims: claims.as_object().cloned().unwrap_or_default(),
        disclosable: [
            "/credentialSubject/givenName",
            "/credentialSubject/familyName",
            "/credentialSubject/dateOfBirth",
            "/credentialSubject/achievements/*",
            "/credentialSubject/achievements/*/grade",
        ]
        .iter()
        .map(|p| p.parse::<ClaimPath>().expect("path"))
        .collect(),
        decoys: 2,
        typ: JwtType::DcSdJwt,
    }
}

fn bench(c: &mut Criterion) {
    let issuer = LocalSigner::generate_es256().expect("key");
    let holder = LocalSigner::generate_es256().expect("key");
    let spec = spec(&holder);
    let limits = IssueLimits::default();
    let prepared = prepare(&spec, &limits).expect("prepare");
    assert_eq!(prepared.disclosures.len(), 83);
    let payload = prepared.payload_bytes.clone();

    let mut g = c.benchmark_group("sd-jwt-vc-40-courses");
    g.bench_function("baseline-sign (es256 over the payload)", |b| {
        b.iter(|| issuer.sign_raw(&payload).expect("sign"))
    });
    g.bench_function("sign: issue (83 disclosures, es256)", |b| {
        b.iter(|| ready(issue(&spec, &limits, &issuer)).expect("issue"))
    });
    g.bench_function("part: prepare (salts, digests, payload)", |b| {
        b.iter(|| prepare(&spec, &limits).expect("prepare"))
    });

    let proof = holder
        .sign_with_header(
            &json!({"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": holder.jwk().to_json()}),
            json!({"aud": spec.issuer, "iat": 1_800_000_000, "nonce": "n"})
                .to_string()
                .as_bytes(),
        )
        .expect("proof");
    let policy = ProofPolicy::new(spec.issuer.clone(), Some("n".into()), 1_800_000_000);
    let (input, sig) = proof.rsplit_once('.').expect("jws");
    let sig = b64url_decode(sig).expect("b64");
    let jwk = holder.jwk().clone();
    g.bench_function("baseline-verify (es256 verify)", |b| {
        b.iter(|| assert!(jwk.verify(emrex_sdjwt::Alg::Es256, input.as_bytes(), &sig)))
    });
    g.bench_function("verify: key proof", |b| {
        b.iter(|| verify_key_proof(&proof, &policy).expect("valid"))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
