//! The Signer over real loopback gRPC: signing, refusals, key reload without restart, rotation
//! reporting, metrics, and xmlsec1 verifying what it signs.

use std::path::PathBuf;

use emrex_proto::signer::v1::{CertificateRole, GetCertificatesRequest, SignRequest};
use emrex_signer::{KeyFiles, SignerConfig};
use emrex_xmldsig::{PinnedCert, Policy};
use tonic::Code;

fn unsigned() -> Vec<u8> {
    std::fs::read(emrex_tests::fixtures_dir().join("xml/unsigned/fi-my_elmo-2020.xml"))
        .expect("fixture")
}

mod common;
use common::{start, write_key};

fn verifies_with(signed: &[u8], cert: &PinnedCert) -> bool {
    emrex_xmldsig::verify(signed, std::slice::from_ref(cert), &Policy::default()).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_elmo_and_refuses_everything_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert, pinned) = write_key(dir.path(), "a", &rcgen::PKCS_RSA_SHA256);
    let mut r = start(
        KeyFiles {
            key_file: key,
            cert_file: cert,
            next_cert_file: None,
        },
        SignerConfig {
            max_document_bytes: 64 * 1024,
            ..SignerConfig::default()
        },
    )
    .await;
    let doc = unsigned();
    let resp = r
        .client
        .sign(SignRequest {
            elmo_xml: doc.clone(),
        })
        .await
        .expect("sign")
        .into_inner();
    assert!(verifies_with(&resp.signed_xml, &pinned));
    assert_eq!(resp.certificate_sha256, pinned.sha256_hex());
    assert!(resp.signature_algorithm.ends_with("rsa-sha256"));
    // Every byte of the input is kept; only the signature is inserted.
    let text = String::from_utf8(resp.signed_xml.clone()).expect("utf8");
    let sig_start = text.find("<ds:Signature").expect("sig");
    let sig_end = text.find("</ds:Signature>").expect("end") + "</ds:Signature>".len();
    assert_eq!(
        format!("{}{}", &text[..sig_start], &text[sig_end..]).into_bytes(),
        doc
    );

    let cases: [(&[u8], Code); 4] = [
        (b"<html><body/></html>", Code::InvalidArgument),
        (
            b"<elmo xmlns='https://github.com/emrex-eu/elmo-schemas/tree/v1'><unclosed></elmo>",
            Code::InvalidArgument,
        ),
        (&resp.signed_xml, Code::FailedPrecondition),
        (&[b' '; 70 * 1024], Code::ResourceExhausted),
    ];
    for (input, code) in cases {
        let err = r
            .client
            .sign(SignRequest {
                elmo_xml: input.to_vec(),
            })
            .await
            .expect_err("refused");
        assert_eq!(err.code(), code, "{}", err.message());
        assert!(!err.message().is_empty());
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &r.registry).expect("encode");
    assert!(text.contains("emrex_signer_signatures_total 1"), "{text}");
    assert!(text.contains("reason=\"already_signed\""), "{text}");
    assert!(
        text.contains("emrex_signer_certificate_not_after_timestamp_seconds{role=\"active\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_key_is_used_without_restart_and_rotation_is_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert, first) = write_key(dir.path(), "first", &rcgen::PKCS_RSA_SHA256);
    let (next_key, next_cert, second) =
        write_key(dir.path(), "second", &rcgen::PKCS_ECDSA_P256_SHA256);
    let mut r = start(
        KeyFiles {
            key_file: key.clone(),
            cert_file: cert.clone(),
            next_cert_file: Some(next_cert.clone()),
        },
        SignerConfig::default(),
    )
    .await;
    let certs = r
        .client
        .get_certificates(GetCertificatesRequest {})
        .await
        .expect("certs")
        .into_inner();
    assert_eq!(certs.certificates.len(), 2);
    assert_eq!(certs.certificates[0].role, CertificateRole::Active as i32);
    assert_eq!(certs.certificates[0].sha256_fingerprint, first.sha256_hex());
    assert_eq!(certs.certificates[1].role, CertificateRole::Next as i32);
    assert_eq!(
        certs.certificates[1].sha256_fingerprint,
        second.sha256_hex()
    );
    assert_eq!(certs.certificates[1].key_type, "ECDSA P-256");

    let signed = r
        .client
        .sign(SignRequest {
            elmo_xml: unsigned(),
        })
        .await
        .expect("sign")
        .into_inner();
    assert!(verifies_with(&signed.signed_xml, &first));

    // The rotation: the Secret now holds the next key as the active one.
    std::fs::copy(&next_key, &key).expect("copy key");
    std::fs::copy(&next_cert, &cert).expect("copy cert");
    let signed = r
        .client
        .sign(SignRequest {
            elmo_xml: unsigned(),
        })
        .await
        .expect("sign")
        .into_inner();
    assert!(
        verifies_with(&signed.signed_xml, &second),
        "the new key signs"
    );
    assert!(!verifies_with(&signed.signed_xml, &first));
    assert!(signed.signature_algorithm.ends_with("ecdsa-sha256"));

    // The rotation is over: `next.crt` leaves the Secret. No next certificate, still signing.
    std::fs::remove_file(&next_cert).expect("remove next");
    let signed = r
        .client
        .sign(SignRequest {
            elmo_xml: unsigned(),
        })
        .await
        .expect("signs without a next certificate")
        .into_inner();
    assert!(verifies_with(&signed.signed_xml, &second));
    let certs = r
        .client
        .get_certificates(GetCertificatesRequest {})
        .await
        .expect("certs")
        .into_inner();
    assert_eq!(certs.certificates.len(), 1, "only the active certificate");

    // A half-written Secret (garbage key) keeps the last good key.
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let signed = r
        .client
        .sign(SignRequest {
            elmo_xml: unsigned(),
        })
        .await
        .expect("still signs")
        .into_inner();
    assert!(verifies_with(&signed.signed_xml, &second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xmlsec1_verifies_what_the_signer_signs_in_both_modes() {
    let xmlsec1 = which("xmlsec1");
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert, _) = write_key(dir.path(), "x", &rcgen::PKCS_RSA_SHA256);
    for c14n in [emrex_signer::C14n::Inclusive, emrex_signer::C14n::Exclusive] {
        let mut r = start(
            KeyFiles {
                key_file: key.clone(),
                cert_file: cert.clone(),
                next_cert_file: None,
            },
            SignerConfig {
                c14n,
                ..SignerConfig::default()
            },
        )
        .await;
        let signed = r
            .client
            .sign(SignRequest {
                elmo_xml: unsigned(),
            })
            .await
            .expect("sign")
            .into_inner();
        let out = dir.path().join("signed.xml");
        std::fs::write(&out, &signed.signed_xml).expect("write");
        let status = std::process::Command::new(&xmlsec1)
            .args(["--verify", "--pubkey-cert-pem"])
            .arg(&cert)
            .arg(&out)
            .output()
            .expect("xmlsec1");
        assert!(
            status.status.success(),
            "{c14n:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
}

fn which(tool: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(tool))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{tool} is not installed; scripts/test.sh installs it (apt-get install xmlsec1)")
        })
}
