//! Our XML signatures against Apache Santuario, the library the deployed Java peers verify with
//! (the Java SMP, the Finnish NCP, the DC4EU gateway), with secure validation on:
//!
//! * Santuario verifies every document we sign: RSA 3072 (the operator's default) and ECDSA
//!   P-256, inclusive and exclusive C14N, ELMO 1.7 and 2.1.1 (real fixtures and our writers'
//!   output) — and refuses them with another key pinned or after tampering;
//! * we verify what Santuario signs, over the same matrix, and refuse it tampered;
//! * self-tests: Santuario accepts the fixture vectors signed by xmlsec1, and its secure
//!   validation is really on (it refuses an MD5 digest that xmlsec1 accepts).

use emrex_tests::{
    C14n, KeyAlg, Santuario, Subject, TestKey, fixture, output_dir, read_fixture, workspace_dir,
    xmlsec1_sign, xmlsec1_verify,
};
use emrex_xmldsig::{C14nMethod, PinnedCert, Policy, SignOptions, SigningKey};

fn our_key(k: &TestKey) -> SigningKey {
    SigningKey::from_pem(k.key_pem.as_bytes(), k.cert_pem.as_bytes()).expect("our key loader")
}

fn pinned(k: &TestKey) -> PinnedCert {
    PinnedCert::from_pem_or_der(k.cert_pem.as_bytes()).expect("cert")
}

/// The documents of the matrix: real 1.7 fixtures, our 1.7 and 2.1.1 writers' output, and the
/// hand-written 2.1.1 document with every element (extensions, `xml:base`, address namespace).
fn documents() -> Vec<(String, Vec<u8>)> {
    let every = std::fs::read(
        workspace_dir().join("services/elmo/tests/data/elmo-2.1.1-every-element.xml"),
    )
    .expect("the 2.1.1 test document");
    let model = emrex_elmo::parse(&every, &Default::default()).expect("parse");
    vec![
        (
            "fi-my_elmo-2020 (1.7 fixture)".into(),
            read_fixture("xml/unsigned/fi-my_elmo-2020.xml"),
        ),
        (
            "dk-elmo-tomcat (1.x fixture)".into(),
            read_fixture("xml/unsigned/dk-elmo-tomcat-unsigned.xml"),
        ),
        (
            "every element, written as 1.7".into(),
            emrex_elmo::to_xml_v17(&model).into_bytes(),
        ),
        (
            "every element, written as 2.1.1".into(),
            emrex_elmo::to_xml_v21(&model).into_bytes(),
        ),
        ("every element, 2.1.1 as hand-written".into(), every),
    ]
}

fn keys() -> Vec<TestKey> {
    vec![
        TestKey::generate(KeyAlg::Rsa(3072), &Subject::default()),
        TestKey::generate(KeyAlg::EcP256, &Subject::default()),
    ]
}

/// The document with the learner's family name changed (the signature no longer covers it).
fn tampered(doc: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(doc.to_vec()).expect("utf-8");
    let t = text.replacen("</familyName>", "x</familyName>", 1);
    assert_ne!(t, text, "a familyName to tamper with");
    t.into_bytes()
}

#[test]
fn santuario_verifies_what_we_sign() {
    let mut santuario = Santuario::start();
    println!("Santuario {}", santuario.version());
    let out = output_dir("santuario_verifies_what_we_sign");
    let other = TestKey::generate(KeyAlg::Rsa(3072), &Subject::default());
    let mut n = 0;
    for key in keys() {
        for (name, doc) in documents() {
            for mode in [C14nMethod::Inclusive, C14nMethod::Exclusive] {
                let signed = emrex_xmldsig::sign(
                    &doc,
                    &our_key(&key),
                    &SignOptions {
                        c14n: mode,
                        ..SignOptions::default()
                    },
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                n += 1;
                std::fs::write(out.join(format!("{n}.xml")), &signed).expect("write");
                let what = format!("{name}, {:?}, {mode:?} (tests/output/…/{n}.xml)", key.alg);
                santuario
                    .verify(&signed, &key.cert_path)
                    .unwrap_or_else(|e| panic!("Santuario refused {what}: {e}"));
                // Pinned to another key, or tampered: refused.
                assert!(
                    santuario.verify(&signed, &other.cert_path).is_err(),
                    "{what}: accepted with another key"
                );
                assert!(
                    santuario
                        .verify(&tampered(&signed), &key.cert_path)
                        .is_err(),
                    "{what}: accepted tampered"
                );
            }
        }
    }
    assert_eq!(n, 20);
}

#[test]
fn we_verify_what_santuario_signs() {
    let mut santuario = Santuario::start();
    let out = output_dir("we_verify_what_santuario_signs");
    let mut n = 0;
    for key in keys() {
        for (name, doc) in documents() {
            for c14n in [C14n::Incl, C14n::Excl] {
                let signed = santuario.sign(&doc, &key, c14n);
                n += 1;
                std::fs::write(out.join(format!("{n}.xml")), &signed).expect("write");
                let what = format!("{name}, {:?}, {c14n:?} (tests/output/…/{n}.xml)", key.alg);
                let v = emrex_xmldsig::verify(&signed, &[pinned(&key)], &Policy::default())
                    .unwrap_or_else(|e| panic!("we refused {what}: {e}"));
                assert_eq!(v.keyinfo_matches_signer(), Some(true), "{what}");
                // What we read is the document that was signed.
                let original = emrex_elmo::parse(&doc, &Default::default()).expect("original");
                let mut read = emrex_elmo::from_verified(&v).expect("ELMO");
                read.has_signature = original.has_signature;
                assert_eq!(read, original, "{what}");
                assert!(
                    emrex_xmldsig::verify(&tampered(&signed), &[pinned(&key)], &Policy::default())
                        .is_err(),
                    "{what}: we accepted it tampered"
                );
                // And Santuario agrees with itself.
                santuario
                    .verify(&signed, &key.cert_path)
                    .unwrap_or_else(|e| panic!("Santuario refused its own {what}: {e}"));
            }
        }
    }
    assert_eq!(n, 20);
}

#[test]
fn santuario_self_test_fixture_vectors_and_secure_validation() {
    let mut santuario = Santuario::start();
    let cert = fixture("generated/GENERATED-TEST-ONLY-emp.crt");
    for profile in [
        "rsa-sha256_c14n_sha256",
        "rsa-sha256_exc-c14n_sha256",
        "rsa-sha1_c14n_sha1",
    ] {
        let doc = read_fixture(&format!("generated/elmo-v1.7-example-{profile}.xml"));
        santuario
            .verify(&doc, &cert)
            .unwrap_or_else(|e| panic!("{profile}: {e}"));
    }
    assert!(
        santuario
            .verify(
                &read_fixture("generated/NEGATIVE-tampered-familyName-rsa-sha256_c14n_sha256.xml"),
                &cert
            )
            .is_err()
    );
    // Secure validation is on: an MD5 digest (signed by xmlsec1, which accepts it) is refused.
    let key = TestKey::generate(KeyAlg::Rsa(2048), &Subject::default());
    let template = r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>"#;
    let unsigned = read_fixture("xml/unsigned/fi-my_elmo-2020.xml");
    let md5 = xmlsec1_sign(
        &emrex_tests::append_template_to_root(&unsigned, template),
        &key,
    );
    xmlsec1_verify(&md5, &key.cert_path).expect("xmlsec1 accepts the MD5 digest");
    let refused = santuario
        .verify(&md5, &key.cert_path)
        .expect_err("secure validation refuses MD5");
    assert!(refused.contains("secure validation"), "{refused}");
    // (And so do we: MD5 is not on our list.)
    assert!(emrex_xmldsig::verify(&md5, &[pinned(&key)], &Policy::default()).is_err());
}
