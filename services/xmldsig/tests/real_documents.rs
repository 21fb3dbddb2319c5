//! The verifier against real EMREX peers' documents and the generated test vectors.

use emrex_tests::{fixtures_dir, read_fixture};
use emrex_xmldsig::{PinnedCert, Policy, SignatureAlgorithm, VerifyError, verify};

fn cert(rel: &str) -> PinnedCert {
    PinnedCert::from_pem_or_der(&read_fixture(rel)).expect(rel)
}

const LEGACY: Policy = Policy {
    allow_legacy: true,
    limits: emrex_xmldsig::dom::Limits {
        max_bytes: 32 * 1024 * 1024,
        max_depth: 100,
        max_attributes: 64,
        max_nodes: 1_000_000,
        max_text_bytes: 24 * 1024 * 1024,
        max_name_bytes: 1024,
    },
};

#[test]
fn generated_vectors_verify_and_sha1_needs_the_legacy_flag() {
    let c = cert("generated/GENERATED-TEST-ONLY-emp.crt");
    for (profile, legacy) in [
        ("rsa-sha256_c14n_sha256", false),
        ("rsa-sha256_exc-c14n_sha256", false),
        ("rsa-sha1_c14n_sha1", true),
        ("rsa-sha1_c14n_sha256digest", true),
        ("rsa-sha1_exc-c14n_sha1", true),
    ] {
        let doc = read_fixture(&format!("generated/elmo-v1.7-example-{profile}.xml"));
        let v = verify(&doc, std::slice::from_ref(&c), &LEGACY)
            .unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert_eq!(v.algorithms().is_legacy(), legacy, "{profile}");
        assert_eq!(v.keyinfo_matches_signer(), Some(true));
        let strict = verify(&doc, std::slice::from_ref(&c), &Policy::default());
        if legacy {
            assert!(
                matches!(strict, Err(VerifyError::LegacyNotAllowed(_))),
                "{profile}: {strict:?}"
            );
        } else {
            strict.unwrap_or_else(|e| panic!("{profile}: {e}"));
        }
    }
    let tampered =
        read_fixture("generated/NEGATIVE-tampered-familyName-rsa-sha256_c14n_sha256.xml");
    assert_eq!(
        verify(&tampered, std::slice::from_ref(&c), &Policy::default()).map(|_| ()),
        Err(VerifyError::DigestMismatch)
    );
}

#[test]
fn danish_documents_verify_with_legacy_allowed_only() {
    let c = cert("certs/dk-emrex-test.cer");
    for f in [
        "xml/signed/dk-elmo-tomcat-signed.xml",
        "xml/signed/dk-weblogic-fixed-ns0-prefixed.xml",
    ] {
        let doc = read_fixture(f);
        let v =
            verify(&doc, std::slice::from_ref(&c), &LEGACY).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(v.algorithms().signature, SignatureAlgorithm::RsaSha1);
        let err = verify(&doc, std::slice::from_ref(&c), &Policy::default()).expect_err(f);
        assert!(err.to_string().contains("legacy"), "{f}: {err}");
    }
}

#[test]
fn finnish_legacy_document_verifies_with_its_1024_bit_certificate() {
    let c = cert("certs/fi-csc-test-2015.crt");
    let doc = read_fixture("xml/legacy-purl/fi-csc-signed-purl.xml");
    verify(&doc, std::slice::from_ref(&c), &LEGACY).expect("legacy verify");
    assert!(verify(&doc, std::slice::from_ref(&c), &Policy::default()).is_err());
}

#[test]
fn every_negative_fixture_fails_with_a_reason() {
    let dir = fixtures_dir().join("xml/negative");
    let certs = vec![
        cert("certs/dk-emrex-test.cer"),
        cert("certs/no-emrex-test-vitnemalsportalen-2022.pem"),
        cert("generated/GENERATED-TEST-ONLY-emp.crt"),
    ];
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("negative dir") {
        let path = entry.expect("entry").path();
        let doc = std::fs::read(&path).expect("read");
        let err = verify(&doc, &certs, &LEGACY).expect_err(&path.display().to_string());
        assert!(!err.to_string().is_empty());
        n += 1;
    }
    assert!(n >= 4, "expected the negative fixtures, found {n}");
}

#[test]
fn a_document_signed_by_another_provider_fails() {
    // Valid DK signature, but the session was sent to the provider with the generated cert.
    let doc = read_fixture("xml/signed/dk-elmo-tomcat-signed.xml");
    let other = cert("generated/GENERATED-TEST-ONLY-emp.crt");
    assert_eq!(
        verify(&doc, &[other], &LEGACY).map(|_| ()),
        Err(VerifyError::SignatureInvalid(1))
    );
}
