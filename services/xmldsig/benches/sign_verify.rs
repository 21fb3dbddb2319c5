//! Sign and verify the official ELMO v1.7 example and a large ELMO (150 learning opportunities and
//! a 300 KB PDF attachment), each beside a same-run baseline of the bare crypto on the same bytes:
//! SHA-256 of the document plus one RSA-2048 operation (a signature for `sign`, a verification for
//! `verify`). The ratio of the two is the cost of our XML handling; scripts/bench-report.py turns
//! criterion's output into the table in docs/benchmarks.md.
//!
//! With `EMREX_BENCH_PEER_DIR` set (scripts/bench.sh sets it), the bench also writes the key
//! (`key.pem`, PKCS#8), its certificate (`cert.pem`) and each document unsigned
//! (`small.xml`, `large.xml`) and signed by us (`small-signed.xml`, `large-signed.xml`), so the
//! peers' harnesses (libxmlsec1, Santuario) time the very same bytes with the very same key.

use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emrex_xmldsig::{C14nMethod, Policy, SignOptions, SigningKey, sign, verify};

fn bench(c: &mut Criterion) {
    let rcgen_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("keygen");
    let cert = rcgen::CertificateParams::new(vec!["bench.emp.invalid".into()])
        .expect("params")
        .self_signed(&rcgen_key)
        .expect("cert");
    let key = SigningKey::from_pem(rcgen_key.serialize_pem().as_bytes(), cert.pem().as_bytes())
        .expect("key");
    let pinned = [key.certificate().clone()];
    let raw = RsaKeyPair::from_pkcs8(&rcgen_key.serialize_der()).expect("raw key");
    let public = raw.public_key().as_ref().to_vec();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let peer_dir = std::env::var_os("EMREX_BENCH_PEER_DIR").map(std::path::PathBuf::from);
    if let Some(dir) = &peer_dir {
        std::fs::create_dir_all(dir).expect("peer dir");
        std::fs::write(dir.join("key.pem"), rcgen_key.serialize_pem()).expect("key.pem");
        std::fs::write(dir.join("cert.pem"), cert.pem()).expect("cert.pem");
    }

    for (name, peer_name, doc) in [
        (
            "example-v1.7",
            "small",
            emrex_tests::documents::example_v17_unsigned(),
        ),
        (
            "large-150los-300kb",
            "large",
            emrex_tests::documents::large_elmo(),
        ),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(doc.len() as u64));
        g.sample_size(30);
        let signed = sign(&doc, &key, &SignOptions::default()).expect("sign");
        let signed_exc = sign(
            &doc,
            &key,
            &SignOptions {
                c14n: C14nMethod::Exclusive,
                ..SignOptions::default()
            },
        )
        .expect("sign exc");
        // The same bytes and key for the peers' in-process harnesses (scripts/bench.sh runs them
        // after this bench and divides by this run's medians).
        if let Some(dir) = &peer_dir {
            std::fs::write(dir.join(format!("{peer_name}.xml")), &doc).expect("unsigned");
            std::fs::write(dir.join(format!("{peer_name}-signed.xml")), &signed).expect("signed");
        }

        g.bench_function("baseline-sign (sha256 + rsa2048 sign)", |b| {
            b.iter(|| {
                let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &doc);
                let mut sig = vec![0u8; raw.public_modulus_len()];
                raw.sign(&signature::RSA_PKCS1_SHA256, &rng, d.as_ref(), &mut sig)
                    .expect("sign");
                sig
            })
        });
        let signed_digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &signed);
        let baseline_sig = {
            let mut sig = vec![0u8; raw.public_modulus_len()];
            raw.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                signed_digest.as_ref(),
                &mut sig,
            )
            .expect("sign");
            sig
        };
        g.bench_function("baseline-verify (sha256 + rsa2048 verify)", |b| {
            b.iter(|| {
                let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &signed);
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &public)
                    .verify(d.as_ref(), &baseline_sig)
                    .expect("verify")
            })
        });
        // Where the time goes: the tokenizer alone (quick-xml events over the signed bytes, no
        // tree, no checks: the floor of any verifier that reads the XML, e.g. one that
        // canonicalized and hashed while tokenizing), the parser alone, and C14N + digest.
        g.bench_function("part: tokenize (quick-xml events, no tree)", |b| {
            b.iter(|| {
                let text = std::str::from_utf8(&signed).expect("utf-8");
                let mut reader = quick_xml::Reader::from_str(text);
                let mut events = 0usize;
                loop {
                    match reader.read_event().expect("well-formed") {
                        quick_xml::events::Event::Eof => break events,
                        _ => events += 1,
                    }
                }
            })
        });
        g.bench_function("part: parse", |b| {
            b.iter(|| {
                emrex_xmldsig::dom::parse(&signed, &emrex_xmldsig::dom::Limits::default())
                    .expect("parse")
            })
        });
        let parsed = emrex_xmldsig::dom::parse(&signed, &emrex_xmldsig::dom::Limits::default())
            .expect("parse");
        g.bench_function("part: c14n + sha256 of the parsed document", |b| {
            b.iter(|| {
                let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
                emrex_xmldsig::c14n::document_into(&parsed, C14nMethod::Inclusive, None, &mut ctx);
                ctx.finish()
            })
        });
        g.bench_function("sign (inclusive c14n)", |b| {
            b.iter(|| sign(&doc, &key, &SignOptions::default()).expect("sign"))
        });
        g.bench_function("verify (inclusive c14n)", |b| {
            b.iter(|| verify(&signed, &pinned, &Policy::default()).expect("verify"))
        });
        g.bench_function("verify (exclusive c14n)", |b| {
            b.iter(|| verify(&signed_exc, &pinned, &Policy::default()).expect("verify"))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
