//! Our XML-signature code against independent oracles (xmlsec1, signxml, xmllint):
//!
//! * what we sign (inclusive and exclusive C14N, RSA and ECDSA) verifies with xmlsec1 and signxml;
//! * what xmlsec1 and signxml sign verifies with us;
//! * our canonical bytes equal xmlsec1's pre-digest and pre-signed dumps on every fixture document;
//! * every document our ELMO writer produces validates against the official ELMO v1.7 XSD.

use std::path::PathBuf;

use emrex_tests::{
    C14n, DigestAlg, KeyAlg, SigAlg, Subject, TestKey, append_template_to_root, fixture,
    fixtures_dir, output_dir, read_fixture, signature_template, signature_template_unprefixed,
    signxml_sign, signxml_verify, xmllint_validate_elmo_v17, xmlsec1_debug, xmlsec1_sign,
    xmlsec1_verify,
};
use emrex_xmldsig::c14n::{self, Mode};
use emrex_xmldsig::dom::{self, Limits};
use emrex_xmldsig::{C14nMethod, NS_DSIG, PinnedCert, Policy, SignOptions, SigningKey};

const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

fn our_key(k: &TestKey) -> SigningKey {
    SigningKey::from_pem(k.key_pem.as_bytes(), k.cert_pem.as_bytes())
        .expect("our key loader reads the openssl key")
}

fn pinned(k: &TestKey) -> PinnedCert {
    PinnedCert::from_pem_or_der(k.cert_pem.as_bytes()).expect("cert")
}

fn unsigned_documents() -> Vec<(String, Vec<u8>)> {
    [
        "xml/unsigned/fi-my_elmo-2020.xml",
        "xml/unsigned/dk-elmo-tomcat-unsigned.xml",
        "xml/legacy-purl/Example-elmo-Norway-purl.xml",
    ]
    .into_iter()
    .map(|r| (r.to_string(), read_fixture(r)))
    // A short head and one 8-16 KB text node (an attachment): the shape in which our buffered
    // C14N once wrote the text ahead of the head (found by the c14n fuzz target).
    .chain([9 * 1024, 12 * 1024].map(|len| {
        (
            format!("generated/attachment-{len}.xml"),
            format!(
                "<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\"><learner><givenNames>Aino</givenNames></learner><attachment><content>data:application/pdf;base64,{}</content></attachment></elmo>",
                "QUJD".repeat(len / 4)
            )
            .into_bytes(),
        )
    }))
    .collect()
}

#[test]
fn what_we_sign_verifies_with_xmlsec1_and_signxml() {
    let out = output_dir("what_we_sign");
    for alg in [KeyAlg::Rsa(2048), KeyAlg::EcP256] {
        let key = TestKey::generate(alg, &Subject::default());
        let ours = our_key(&key);
        for (name, doc) in unsigned_documents() {
            for mode in [C14nMethod::Inclusive, C14nMethod::Exclusive] {
                let signed = emrex_xmldsig::sign(
                    &doc,
                    &ours,
                    &SignOptions {
                        c14n: mode,
                        ..SignOptions::default()
                    },
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                let file = out.join(format!(
                    "{}-{alg:?}-{mode:?}.xml",
                    name.replace('/', "_").trim_end_matches(".xml")
                ));
                std::fs::write(&file, &signed).expect("write");
                xmlsec1_verify(&signed, &key.cert_path)
                    .unwrap_or_else(|e| panic!("xmlsec1 {name} {alg:?} {mode:?}: {e}"));
                signxml_verify(&signed, &key.cert_path, false)
                    .unwrap_or_else(|e| panic!("signxml {name} {alg:?} {mode:?}: {e}"));
                // And both refuse it with another key pinned: the oracles are really checking.
                let other = TestKey::generate(KeyAlg::Rsa(2048), &Subject::default());
                assert!(xmlsec1_verify(&signed, &other.cert_path).is_err(), "{name}");
            }
        }
    }
}

#[test]
fn what_xmlsec1_signs_verifies_with_us() {
    let out = output_dir("what_xmlsec1_signs");
    let rsa = TestKey::generate(KeyAlg::Rsa(2048), &Subject::default());
    let ec = TestKey::generate(KeyAlg::EcP256, &Subject::default());
    let mut n = 0;
    for (name, doc) in unsigned_documents() {
        for (key, sig) in [(&rsa, SigAlg::RsaSha256), (&ec, SigAlg::EcdsaSha256)] {
            for c14n in [C14n::Incl, C14n::Excl] {
                for explicit in [false, true] {
                    for unprefixed in [false, true] {
                        let tmpl = if unprefixed {
                            signature_template_unprefixed(c14n, sig, DigestAlg::Sha256, explicit)
                        } else {
                            signature_template(c14n, sig, DigestAlg::Sha256, explicit)
                        };
                        let signed = xmlsec1_sign(&append_template_to_root(&doc, &tmpl), key);
                        n += 1;
                        std::fs::write(out.join(format!("{n}.xml")), &signed).expect("write");
                        let v = emrex_xmldsig::verify(&signed, &[pinned(key)], &Policy::default()).unwrap_or_else(|e| {
                            panic!("{name} {sig:?} {c14n:?} explicit={explicit} unprefixed={unprefixed}: {e}")
                        });
                        let expected = match (c14n, explicit) {
                            (C14n::Excl, true) => Mode::Exclusive,
                            _ => Mode::Inclusive,
                        };
                        assert_eq!(v.algorithms().reference_c14n, expected);
                        assert_eq!(v.keyinfo_matches_signer(), Some(true));
                    }
                }
            }
        }
        // Legacy SHA-1 from xmlsec1: only with the flag.
        let tmpl =
            signature_template_unprefixed(C14n::Incl, SigAlg::RsaSha1, DigestAlg::Sha1, false);
        let signed = xmlsec1_sign(&append_template_to_root(&doc, &tmpl), &rsa);
        assert!(emrex_xmldsig::verify(&signed, &[pinned(&rsa)], &Policy::default()).is_err());
        emrex_xmldsig::verify(
            &signed,
            &[pinned(&rsa)],
            &Policy {
                allow_legacy: true,
                ..Policy::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name} sha1: {e}"));
    }
    assert!(n >= 24);
}

#[test]
fn what_signxml_signs_verifies_with_us() {
    for alg in [KeyAlg::Rsa(2048), KeyAlg::EcP256] {
        let key = TestKey::generate(alg, &Subject::default());
        for (name, doc) in unsigned_documents() {
            for c14n in [C14n::Incl, C14n::Excl] {
                let signed = signxml_sign(&doc, &key, c14n);
                emrex_xmldsig::verify(&signed, &[pinned(&key)], &Policy::default())
                    .unwrap_or_else(|e| panic!("{name} {alg:?} {c14n:?}: {e}"));
                // Tampering is caught by us as well.
                let text = String::from_utf8(signed).expect("utf8");
                let tampered = text.replacen("</familyName>", "x</familyName>", 1);
                if tampered != text {
                    assert!(
                        emrex_xmldsig::verify(
                            tampered.as_bytes(),
                            &[pinned(&key)],
                            &Policy::default()
                        )
                        .is_err()
                    );
                }
            }
        }
    }
}

/// Which certificate xmlsec1 should be given for a fixture (it dumps its buffers even when the
/// signature does not verify, so for broken documents any certificate will do).
fn cert_for(rel: &str) -> PathBuf {
    if rel.contains("dk-") {
        fixture("certs/dk-emrex-test.cer")
    } else if rel.contains("fi-csc") {
        fixture("certs/fi-csc-test-2015.crt")
    } else if rel.contains("vitnemalsportalen") {
        fixture("certs/no-emrex-test-vitnemalsportalen-2022.pem")
    } else {
        fixture("generated/GENERATED-TEST-ONLY-emp.crt")
    }
}

/// Our canonical forms of a signed document: (reference bytes, SignedInfo bytes).
fn our_canonical_forms(doc: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let d = dom::parse(doc, &Limits::default()).expect("parse");
    let (idx, sig) = d
        .root
        .child_elements()
        .enumerate()
        .find(|(_, e)| e.is(NS_DSIG, "Signature"))
        .expect("a Signature child of the root");
    let alg_of = |e: &dom::Element| e.attr("Algorithm").unwrap_or_default().to_string();
    let signed_info = sig.first_child(NS_DSIG, "SignedInfo").expect("SignedInfo");
    let si_mode = match signed_info
        .first_child(NS_DSIG, "CanonicalizationMethod")
        .map(alg_of)
        .as_deref()
    {
        Some(EXC) => Mode::Exclusive,
        _ => Mode::Inclusive,
    };
    let reference = signed_info
        .first_child(NS_DSIG, "Reference")
        .expect("Reference");
    let ref_mode = match reference.first_child(NS_DSIG, "Transforms") {
        Some(t)
            if t.children_named(NS_DSIG, "Transform")
                .any(|x| alg_of(x) == EXC) =>
        {
            Mode::Exclusive
        }
        _ => Mode::Inclusive,
    };
    let reference_bytes = c14n::document(&d, ref_mode, Some(sig));
    let si = c14n::subtree(&d, &[idx, 0], si_mode).expect("SignedInfo path");
    (reference_bytes, si)
}

#[test]
fn our_canonical_form_equals_xmlsec1_on_every_signed_fixture() {
    let mut files: Vec<String> = Vec::new();
    for dir in [
        "xml/signed",
        "xml/negative",
        "xml/legacy-purl",
        "xml/elmo-schemas-examples",
        "generated",
    ] {
        for e in std::fs::read_dir(fixtures_dir().join(dir)).expect("dir") {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            if name.ends_with(".xml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    let mut compared = 0;
    let mut presigned_compared = 0;
    for rel in &files {
        let doc = read_fixture(rel);
        if dom::parse(&doc, &Limits::default()).is_err() {
            // Only the Latin-1 document; the parser refuses it, and xmlsec1 has nothing to dump.
            assert!(rel.contains("latin1"), "{rel} does not parse");
            continue;
        }
        let d = dom::parse(&doc, &Limits::default()).expect("parse");
        if !d.root.child_elements().any(|e| e.is(NS_DSIG, "Signature")) {
            continue; // unsigned: covered below
        }
        let dump =
            xmlsec1_debug(&doc, &cert_for(rel)).unwrap_or_else(|e| panic!("{rel}: xmlsec1: {e}"));
        assert_eq!(dump.pre_digest.len(), 1, "{rel}: one reference");
        let (ours, our_si) = our_canonical_forms(&doc);
        assert!(
            ours == dump.pre_digest[0],
            "{rel}: canonical form differs from xmlsec1 (ours {} bytes, xmlsec1 {} bytes; first difference at {:?})",
            ours.len(),
            dump.pre_digest[0].len(),
            ours.iter()
                .zip(&dump.pre_digest[0])
                .position(|(a, b)| a != b)
        );
        compared += 1;
        if let Some(si) = &dump.pre_signed {
            assert_eq!(
                String::from_utf8_lossy(&our_si),
                String::from_utf8_lossy(si),
                "{rel}: SignedInfo canonical form differs"
            );
            presigned_compared += 1;
        }
    }
    assert!(compared >= 15, "compared {compared} of {files:?}");
    assert!(presigned_compared >= 8, "{presigned_compared}");
}

#[test]
fn our_canonical_form_equals_xmlsec1_on_unsigned_fixtures_signed_by_xmlsec1() {
    let key = TestKey::generate(KeyAlg::Rsa(2048), &Subject::default());
    for (name, doc) in unsigned_documents() {
        for c14n in [C14n::Incl, C14n::Excl] {
            let tmpl = signature_template(c14n, SigAlg::RsaSha256, DigestAlg::Sha256, true);
            let signed = xmlsec1_sign(&append_template_to_root(&doc, &tmpl), &key);
            let dump = xmlsec1_debug(&signed, &key.cert_path).expect("dump");
            let (ours, our_si) = our_canonical_forms(&signed);
            assert!(
                ours == dump.pre_digest[0],
                "{name} {c14n:?}: reference canonical form differs"
            );
            assert_eq!(
                Some(our_si),
                dump.pre_signed,
                "{name} {c14n:?}: SignedInfo differs"
            );
        }
    }
}

#[test]
fn every_document_our_writer_produces_validates_against_the_v17_xsd() {
    let mut checked = 0;
    for dir in [
        "xml/signed",
        "xml/unsigned",
        "xml/elmo-schemas-examples",
        "xml/negative",
        "generated",
    ] {
        for e in std::fs::read_dir(fixtures_dir().join(dir)).expect("dir") {
            let path = e.expect("entry").path();
            if path.extension().and_then(|x| x.to_str()) != Some("xml") {
                continue;
            }
            let Ok(elmo) =
                emrex_elmo::parse(&std::fs::read(&path).expect("read"), &Limits::default())
            else {
                continue;
            };
            if emrex_elmo::validate::has_errors(&emrex_elmo::validate(&elmo)) {
                continue; // the writer's contract holds for documents that validate
            }
            let xml = emrex_elmo::to_xml_v17(&elmo);
            xmllint_validate_elmo_v17(xml.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // And signed by us, it still validates (the signature is schema-valid too).
            let key = TestKey::generate(KeyAlg::Rsa(2048), &Subject::default());
            let signed =
                emrex_xmldsig::sign(xml.as_bytes(), &our_key(&key), &SignOptions::default())
                    .expect("sign");
            xmllint_validate_elmo_v17(&signed)
                .unwrap_or_else(|e| panic!("signed {}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(
        checked >= 6,
        "only {checked} fixture documents were writer-checked"
    );
}

/// Our one PEM reader (`rustls-pki-types`) reads every unencrypted key flavour `openssl` writes
/// — PKCS#8, PKCS#1 (`RSA PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) — and refuses encrypted keys
/// (PKCS#8 `ENCRYPTED PRIVATE KEY`, and legacy `Proc-Type: 4,ENCRYPTED` headers) instead of
/// misreading them.
#[test]
fn keys_in_every_pem_flavour_openssl_writes_load_and_encrypted_ones_are_refused() {
    use emrex_tests::tools::{DEFAULT_TIMEOUT, run};
    use emrex_xmldsig::KeyError;
    let openssl = emrex_tests::require_tool("openssl");
    let convert = |k: &TestKey, name: &str, args: &[&str]| -> String {
        let out_path = k.dir.path().join(name);
        let out = run(
            std::process::Command::new(&openssl)
                .args(args)
                .arg("-in")
                .arg(&k.key_path)
                .arg("-out")
                .arg(&out_path),
            DEFAULT_TIMEOUT,
        );
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            out.stderr_text()
        );
        std::fs::read_to_string(&out_path).expect("converted key")
    };
    let rsa = TestKey::rsa(2048);
    let ec = TestKey::ec_p256();
    let flavours = [
        (
            &rsa,
            "pkcs1.pem",
            vec!["rsa", "-traditional"],
            "-----BEGIN RSA PRIVATE KEY-----",
        ),
        (
            &ec,
            "sec1.pem",
            vec!["ec"],
            "-----BEGIN EC PRIVATE KEY-----",
        ),
    ];
    for (k, name, args, begin) in flavours {
        let pem = convert(k, name, &args);
        assert!(pem.starts_with(begin), "{name}: {pem}");
        let key = SigningKey::from_pem(pem.as_bytes(), k.cert_pem.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let signed = emrex_xmldsig::sign(
            b"<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\"><x>1</x></elmo>",
            &key,
            &SignOptions::default(),
        )
        .expect("sign");
        emrex_xmldsig::verify(&signed, &[pinned(k)], &Policy::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let encrypted = convert(
        &rsa,
        "pkcs8-encrypted.pem",
        &["pkcs8", "-topk8", "-passout", "pass:test-only"],
    );
    assert!(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(
        SigningKey::from_pem(encrypted.as_bytes(), rsa.cert_pem.as_bytes()).map(|_| ()),
        Err(KeyError::NoPem("PRIVATE KEY"))
    );
    let legacy = convert(
        &rsa,
        "legacy-encrypted.pem",
        &[
            "rsa",
            "-traditional",
            "-aes128",
            "-passout",
            "pass:test-only",
        ],
    );
    assert!(legacy.contains("Proc-Type: 4,ENCRYPTED"), "{legacy}");
    assert!(matches!(
        SigningKey::from_pem(legacy.as_bytes(), rsa.cert_pem.as_bytes()),
        Err(KeyError::BadPem(_))
    ));
}
