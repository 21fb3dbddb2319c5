//! Hostile documents: one or more tests per class of attack in the security model
//! (docs/security.md, after §5.3 of the project's XML-security research). Each starts from a
//! document S signed here with a fresh key, mutates it the way a forger would, and asserts the
//! verifier refuses it with the expected reason, or, for the C14N-equivalence variants, still
//! accepts it.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use emrex_xmldsig::dom::{Limits, ParseError};
use emrex_xmldsig::{
    C14nMethod, NS_DSIG, PinnedCert, Policy, SignOptions, SigningKey, VerifyError, sign, verify,
};

const ELMO_NS: &str = "https://github.com/emrex-eu/elmo-schemas/tree/v1";

fn new_key(alg: &'static rcgen::SignatureAlgorithm) -> SigningKey {
    let key = rcgen::KeyPair::generate_for(alg).expect("keygen");
    let mut params =
        rcgen::CertificateParams::new(vec!["emp.test.invalid".into()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "EMREX hostile-test EMP");
    let cert = params.self_signed(&key).expect("cert");
    SigningKey::from_pem(key.serialize_pem().as_bytes(), cert.pem().as_bytes()).expect("load")
}

struct Fixture {
    key: SigningKey,
    attacker: SigningKey,
    signed: String,
    unsigned: String,
}

/// S: the official v1.7 example without its illustrative signature, signed here.
fn fx() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let unsigned =
            String::from_utf8(emrex_tests::documents::example_v17_unsigned()).expect("utf8");
        let key = new_key(&rcgen::PKCS_RSA_SHA256);
        let attacker = new_key(&rcgen::PKCS_RSA_SHA256);
        let signed = String::from_utf8(
            sign(unsigned.as_bytes(), &key, &SignOptions::default()).expect("sign"),
        )
        .expect("utf8");
        Fixture {
            key,
            attacker,
            signed,
            unsigned,
        }
    })
}

fn pinned() -> Vec<PinnedCert> {
    vec![fx().key.certificate().clone()]
}

fn check(doc: &str) -> Result<(), VerifyError> {
    check_bytes(doc.as_bytes())
}

fn check_bytes(doc: &[u8]) -> Result<(), VerifyError> {
    let started = Instant::now();
    let r = verify(doc, &pinned(), &Policy::default()).map(|_| ());
    // A hang detector for the "bounded time" requirement, far above any real run.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "verification took {:?}",
        started.elapsed()
    );
    r
}

fn replace_once(doc: &str, from: &str, to: &str) -> String {
    assert!(doc.contains(from), "fixture does not contain {from:?}");
    doc.replacen(from, to, 1)
}

/// The signature element of S as text.
fn sig_xml() -> String {
    let s = &fx().signed;
    let start = s.find("<ds:Signature").expect("sig");
    let end = s.find("</ds:Signature>").expect("sig end") + "</ds:Signature>".len();
    s[start..end].to_string()
}

/// S with its signature removed (the exact unsigned bytes).
fn body_without_sig() -> String {
    fx().signed.replace(&sig_xml(), "")
}

/// Replaces the SignedInfo of S and re-signs it with the legitimate key, so that only the
/// structural rule under test can reject it (the forger is assumed to hold no key; this is the
/// stronger test: even a correctly signed SignedInfo of the wrong shape is refused).
fn with_signed_info_edit(edit: impl Fn(&str) -> String) -> String {
    edit(&fx().signed)
}

#[test]
fn baseline_s_verifies() {
    check(&fx().signed).expect("S verifies");
    assert_eq!(body_without_sig(), fx().unsigned);
}

// 1. Any signed value changed.
#[test]
fn changed_values_break_the_digest() {
    for (from, to) in [
        (
            "<familyName>Rygielski</familyName>",
            "<familyName>Rygielsky</familyName>",
        ),
        ("<bday>", "<bday>1"),
        ("<value>5</value>", "<value>50</value>"),
        ("<givenNames>Wojciech", "<givenNames>Wojtek"),
    ] {
        if !fx().signed.contains(from) {
            continue;
        }
        assert_eq!(
            check(&replace_once(&fx().signed, from, to)),
            Err(VerifyError::DigestMismatch),
            "{from}"
        );
    }
    // One byte of an attachment's base64 content.
    let s = &fx().signed;
    let i = s
        .find("data:application/pdf;base64,")
        .expect("pdf attachment")
        + 40;
    let mut b = s.clone().into_bytes();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    assert_eq!(check_bytes(&b), Err(VerifyError::DigestMismatch));
}

// 2. Second Signature: at the root, inside extension, inside the first Signature.
#[test]
fn a_second_signature_is_refused() {
    let sig = sig_xml();
    let twice = replace_once(&fx().signed, "</elmo>", &format!("{sig}</elmo>"));
    assert_eq!(check(&twice), Err(VerifyError::MultipleSignatures(2)));
    let in_ext = replace_once(&fx().signed, "<extension>", &format!("<extension>{sig}"));
    assert_eq!(check(&in_ext), Err(VerifyError::MultipleSignatures(2)));
    let nested = replace_once(
        &fx().signed,
        "</ds:KeyInfo>",
        &format!("</ds:KeyInfo><ds:Object>{sig}</ds:Object>"),
    );
    assert_eq!(check(&nested), Err(VerifyError::MultipleSignatures(2)));
}

// 3. Signature moved to the end of report: still cryptographically valid, refused by shape.
#[test]
fn a_moved_signature_is_refused() {
    let sig = sig_xml();
    let moved = replace_once(&body_without_sig(), "</report>", &format!("{sig}</report>"));
    assert_eq!(check(&moved), Err(VerifyError::SignatureMisplaced));
    // Followed by another element.
    let followed = replace_once(
        &fx().signed,
        "</ds:Signature></elmo>",
        "</ds:Signature><extension/></elmo>",
    );
    assert_eq!(check(&followed), Err(VerifyError::SignatureMisplaced));
}

// 4. Wrapping: a forged root holding the original document inside extension.
#[test]
fn a_wrapped_document_is_refused() {
    let original = fx().signed.clone();
    let forged = body_without_sig().replace("Rygielski", "Forger");
    let wrapped = replace_once(
        &forged,
        "</elmo>",
        &format!("<extension>{original}</extension></elmo>"),
    );
    assert!(check(&wrapped).is_err());
    assert_eq!(check(&wrapped), Err(VerifyError::SignatureMisplaced));
    // Only the original Signature moved into the forged document's extension.
    let wrapped_sig = replace_once(
        &forged,
        "</elmo>",
        &format!("<extension>{}</extension></elmo>", sig_xml()),
    );
    assert_eq!(check(&wrapped_sig), Err(VerifyError::SignatureMisplaced));
}

// 5. Reference URIs other than "".
#[test]
fn references_to_fragments_are_refused() {
    for uri in [
        "#x",
        "#xpointer(/)",
        "#xpointer(id('x'))",
        "http://evil.example/doc.xml",
    ] {
        let doc = replace_once(
            &fx().signed,
            r#"<ds:Reference URI="">"#,
            &format!(r#"<ds:Reference URI="{uri}">"#),
        );
        assert_eq!(
            check(&doc),
            Err(VerifyError::ReferenceUri(uri.into())),
            "{uri}"
        );
    }
    let no_uri = replace_once(&fx().signed, r#"<ds:Reference URI="">"#, "<ds:Reference>");
    assert!(matches!(check(&no_uri), Err(VerifyError::ReferenceUri(_))));
}

// 6. Two References; two SignedInfo elements.
#[test]
fn several_references_or_signed_infos_are_refused() {
    let s = &fx().signed;
    let start = s.find("<ds:Reference").expect("ref");
    let end = s.find("</ds:Reference>").expect("ref end") + "</ds:Reference>".len();
    let reference = &s[start..end];
    let bogus = reference.replace(r#"URI="""#, r##"URI="#bogus""##);
    let two = replace_once(s, "</ds:Reference>", &format!("</ds:Reference>{bogus}"));
    assert!(
        matches!(check(&two), Err(VerifyError::Shape(m)) if m.contains("exactly one ds:Reference"))
    );
    let si_start = s.find("<ds:SignedInfo>").expect("si");
    let si_end = s.find("</ds:SignedInfo>").expect("si end") + "</ds:SignedInfo>".len();
    let si = &s[si_start..si_end];
    let two_si = replace_once(s, "</ds:SignedInfo>", &format!("</ds:SignedInfo>{si}"));
    assert!(matches!(check(&two_si), Err(VerifyError::Shape(_))));
}

// 7. XML-Signature elements elsewhere in the document (CVE-2024-45409 shape).
#[test]
fn stray_signature_elements_are_refused() {
    let s = &fx().signed;
    for stray in [
        format!(r#"<ds:DigestValue xmlns:ds="{NS_DSIG}">AAAA</ds:DigestValue>"#),
        format!(r#"<SignatureValue xmlns="{NS_DSIG}">AAAA</SignatureValue>"#),
        format!(r#"<ds:SignedInfo xmlns:ds="{NS_DSIG}"/>"#),
    ] {
        let doc = replace_once(s, "<extension>", &format!("<extension>{stray}"));
        assert!(
            matches!(check(&doc), Err(VerifyError::StrayDsigElement(_))),
            "{stray}"
        );
    }
}

// 8. No signature; empty values.
#[test]
fn missing_or_empty_signature_parts_are_refused() {
    assert_eq!(check(&body_without_sig()), Err(VerifyError::NoSignature));
    let s = &fx().signed;
    let sv_start = s.find("<ds:SignatureValue>").expect("sv") + "<ds:SignatureValue>".len();
    let sv_end = s.find("</ds:SignatureValue>").expect("sv end");
    let empty_sv = format!("{}{}", &s[..sv_start], &s[sv_end..]);
    assert!(
        matches!(check(&empty_sv), Err(VerifyError::Shape(m)) if m.contains("SignatureValue is empty"))
    );
    let dv_start = s.find("<ds:DigestValue>").expect("dv") + "<ds:DigestValue>".len();
    let dv_end = s.find("</ds:DigestValue>").expect("dv end");
    let empty_dv = format!("{}{}", &s[..dv_start], &s[dv_end..]);
    assert!(
        matches!(check(&empty_dv), Err(VerifyError::Shape(m)) if m.contains("DigestValue is empty"))
    );
    let bad_b64 = format!("{}!!!!{}", &s[..dv_start], &s[dv_end..]);
    assert_eq!(check(&bad_b64), Err(VerifyError::BadBase64("DigestValue")));
}

// 9–10. XPath, XSLT, XPath-Filter2, base64 transforms; missing/duplicated/reordered enveloped.
#[test]
fn transforms_outside_the_profile_are_refused() {
    let env =
        r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;
    let xpath = format!(
        r#"{env}<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath xmlns:e="{ELMO_NS}">not(ancestor-or-self::e:report)</ds:XPath></ds:Transform>"#
    );
    // The XPath-filtered forgery that xmlsec1, bergshamra and xml-sec accepted: the report is
    // excluded from the digest, so its credits can be changed.
    let forged = replace_once(
        &with_signed_info_edit(|s| s.replacen(env, &xpath, 1)),
        "<value>",
        "<value>9",
    );
    assert!(matches!(check(&forged), Err(VerifyError::Shape(m)) if m.contains("must be empty")));
    for alg in [
        "http://www.w3.org/TR/1999/REC-xslt-19991116",
        "http://www.w3.org/2002/06/xmldsig-filter2",
        "http://www.w3.org/2000/09/xmldsig#base64",
        "http://www.w3.org/TR/1999/REC-xpath-19991116",
    ] {
        let doc = replace_once(
            &fx().signed,
            env,
            &format!(r#"{env}<ds:Transform Algorithm="{alg}"/>"#),
        );
        assert!(
            matches!(check(&doc), Err(VerifyError::Transforms(_))),
            "{alg}"
        );
    }
    let none = replace_once(&fx().signed, env, "");
    assert!(matches!(check(&none), Err(VerifyError::Transforms(_))));
    let twice = replace_once(&fx().signed, env, &format!("{env}{env}"));
    assert!(matches!(check(&twice), Err(VerifyError::Transforms(_))));
    let c14n = r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#;
    let reordered = replace_once(&fx().signed, env, &format!("{c14n}{env}"));
    assert!(matches!(check(&reordered), Err(VerifyError::Transforms(_))));
    let no_transforms = replace_once(
        &fx().signed,
        &format!("<ds:Transforms>{env}</ds:Transforms>"),
        "",
    );
    assert!(matches!(check(&no_transforms), Err(VerifyError::Shape(_))));
}

// 11. C14N with comments.
#[test]
fn with_comments_canonicalization_is_refused() {
    let doc = replace_once(
        &fx().signed,
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#,
        r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>"#,
    );
    assert!(matches!(
        check(&doc),
        Err(VerifyError::UnsupportedAlgorithm {
            role: "canonicalization",
            ..
        })
    ));
    let env =
        r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;
    let t = replace_once(
        &fx().signed,
        env,
        &format!(
            r#"{env}<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#
        ),
    );
    assert!(matches!(check(&t), Err(VerifyError::Transforms(_))));
}

// 12. HMAC key confusion, HMACOutputLength, DSA, RSA-MD5, ECDSA with an RSA pin.
#[test]
fn algorithm_confusion_is_refused() {
    let rsa =
        r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#;
    for alg in [
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
    ] {
        let doc = replace_once(
            &fx().signed,
            rsa,
            &format!(r#"<ds:SignatureMethod Algorithm="{alg}"/>"#),
        );
        assert!(
            matches!(
                check(&doc),
                Err(VerifyError::UnsupportedAlgorithm {
                    role: "signature",
                    ..
                })
            ),
            "{alg}"
        );
    }
    let truncated = replace_once(
        &fx().signed,
        rsa,
        r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>"#,
    );
    assert!(matches!(check(&truncated), Err(VerifyError::Shape(_))));
    let ecdsa = replace_once(
        &fx().signed,
        rsa,
        r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>"#,
    );
    assert!(matches!(
        check(&ecdsa),
        Err(VerifyError::NoAcceptableKey { .. })
    ));
}

// 13. SHA-1 from a provider not flagged legacy (the flagged case is in real_documents.rs).
#[test]
fn sha1_needs_the_legacy_flag() {
    let doc = replace_once(
        &fx().signed,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    );
    assert!(matches!(check(&doc), Err(VerifyError::LegacyNotAllowed(_))));
    let digest = replace_once(
        &fx().signed,
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2000/09/xmldsig#sha1",
    );
    assert!(matches!(
        check(&digest),
        Err(VerifyError::LegacyNotAllowed(_))
    ));
}

// 14. Algorithm URIs with whitespace, other case, unknown variants.
#[test]
fn near_miss_algorithm_uris_are_refused() {
    let uri = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    for variant in [
        " http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256 ",
        "HTTP://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#RSA-SHA256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256-mgf1",
    ] {
        let doc = replace_once(&fx().signed, uri, variant);
        assert!(
            matches!(check(&doc), Err(VerifyError::UnsupportedAlgorithm { .. })),
            "{variant:?}"
        );
    }
}

// 15. Forged and re-signed with an attacker key whose certificate is in KeyInfo.
#[test]
fn an_attacker_key_in_key_info_is_not_trusted() {
    let forged = fx().unsigned.replace("Rygielski", "Forger");
    let resigned =
        sign(forged.as_bytes(), &fx().attacker, &SignOptions::default()).expect("attacker signs");
    assert_eq!(
        check_bytes(&resigned),
        Err(VerifyError::SignatureInvalid(1))
    );
    // The same document verifies for whoever pins the attacker's certificate: the refusal above
    // comes from the pin, not from something else being broken.
    verify(
        &resigned,
        &[fx().attacker.certificate().clone()],
        &Policy::default(),
    )
    .expect("attacker pin");
    // A genuine document with the attacker's certificate swapped into KeyInfo still verifies,
    // reporting the mismatch.
    let genuine = &fx().signed;
    let ours = base64_der(fx().key.certificate());
    let theirs = base64_der(fx().attacker.certificate());
    let swapped = replace_once(genuine, &ours, &theirs);
    let v = verify(swapped.as_bytes(), &pinned(), &Policy::default())
        .expect("KeyInfo is not signed data");
    assert_eq!(v.keyinfo_matches_signer(), Some(false));
}

fn base64_der(c: &PinnedCert) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(c.der())
}

// 17. KeyInfo indirections.
#[test]
fn key_info_indirections_are_refused() {
    let doc = replace_once(
        &fx().signed,
        "<ds:KeyInfo>",
        r#"<ds:KeyInfo><ds:RetrievalMethod URI="http://evil.example/key"/>"#,
    );
    assert!(matches!(check(&doc), Err(VerifyError::Shape(m)) if m.contains("RetrievalMethod")));
    let object = replace_once(&fx().signed, "</ds:KeyInfo>", "</ds:KeyInfo><ds:Object/>");
    assert!(matches!(check(&object), Err(VerifyError::Shape(m)) if m.contains("Object")));
    let no_keyinfo = {
        let s = &fx().signed;
        let a = s.find("<ds:KeyInfo>").expect("ki");
        let b = s.find("</ds:KeyInfo>").expect("ki end") + "</ds:KeyInfo>".len();
        format!("{}{}", &s[..a], &s[b..])
    };
    let v =
        verify(no_keyinfo.as_bytes(), &pinned(), &Policy::default()).expect("KeyInfo is optional");
    assert_eq!(v.keyinfo_matches_signer(), None);
}

// 18. Weak pinned keys.
#[test]
fn small_rsa_keys_need_the_legacy_flag() {
    // The Finnish 2015 test certificate is RSA-1024.
    let weak = PinnedCert::from_pem_or_der(
        &std::fs::read(emrex_tests::fixtures_dir().join("certs/fi-csc-test-2015.crt"))
            .expect("cert"),
    )
    .expect("parse");
    let r = verify(fx().signed.as_bytes(), &[weak], &Policy::default());
    assert!(
        matches!(r, Err(VerifyError::NoAcceptableKey { reason, .. }) if reason.contains("too small"))
    );
}

// 19. Comment inside a signed text node: valid, and the text is read whole.
#[test]
fn a_comment_in_signed_text_does_not_truncate_it() {
    let doc = replace_once(
        &fx().signed,
        "<familyName>Rygielski",
        "<familyName>Ryg<!-- -->ielski",
    );
    let v = verify(doc.as_bytes(), &pinned(), &Policy::default()).expect("comments are not signed");
    let learner = v
        .document()
        .root
        .first_child(ELMO_NS, "learner")
        .expect("learner");
    assert_eq!(
        learner
            .first_child(ELMO_NS, "familyName")
            .map(|e| e.text())
            .as_deref(),
        Some("Rygielski")
    );
}

// 20. Comments or markup inside DigestValue / SignatureValue.
#[test]
fn comments_in_signature_values_are_refused() {
    let doc = replace_once(&fx().signed, "<ds:DigestValue>", "<ds:DigestValue><!--x-->");
    assert!(matches!(check(&doc), Err(VerifyError::Shape(_))));
    let doc = replace_once(
        &fx().signed,
        "<ds:SignatureValue>",
        "<ds:SignatureValue><?pi?>",
    );
    assert!(matches!(check(&doc), Err(VerifyError::Shape(_))));
}

// 21. DOCTYPE, entities, external resources, billion laughs.
#[test]
fn doctypes_are_refused_before_anything_else() {
    let body = fx().signed.clone();
    for dtd in [
        "<!DOCTYPE elmo>",
        "<!DOCTYPE elmo [<!ENTITY x \"y\">]>",
        "<!DOCTYPE elmo [<!ATTLIST learner a CDATA \"d\">]>",
        "<!DOCTYPE elmo SYSTEM \"file:///etc/hostname\">",
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>",
    ] {
        let doc = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{dtd}{body}");
        assert_eq!(
            check(&doc),
            Err(VerifyError::Parse(ParseError::Doctype)),
            "{dtd}"
        );
    }
    let entity = replace_once(&fx().signed, "Rygielski", "&xxe;");
    assert!(matches!(
        check(&entity),
        Err(VerifyError::Parse(ParseError::UndefinedEntity(_)))
    ));
}

// 22. Namespace confusion.
#[test]
fn namespace_confusion_is_refused() {
    // The signature in a foreign namespace is no signature.
    let evil = fx()
        .signed
        .replace(&format!("xmlns:ds=\"{NS_DSIG}\""), "xmlns:x=\"urn:evil\"")
        .replace("ds:", "x:");
    assert_eq!(check(&evil), Err(VerifyError::NoSignature));
    // The ds prefix rebound to another namespace.
    let rebound = replace_once(
        &fx().signed,
        &format!("xmlns:ds=\"{NS_DSIG}\""),
        "xmlns:ds=\"urn:evil\"",
    );
    assert_eq!(check(&rebound), Err(VerifyError::NoSignature));
    // The dsig namespace as default namespace on an inner element (the real DK shape) is fine:
    // that is covered by the Danish documents in real_documents.rs.
}

// 23. C14N-equivalent variants must still verify.
#[test]
fn c14n_equivalent_variants_still_verify() {
    let s = &fx().signed;
    let variants = [
        // Empty-element tag instead of start/end pair and vice versa.
        replace_once(
            s,
            "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>",
            "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></ds:DigestMethod>",
        ),
        // Single quotes and extra whitespace inside tags.
        replace_once(s, "<ds:Reference URI=\"\">", "<ds:Reference   URI = '' >"),
        // Character references for plain characters.
        replace_once(
            s,
            "<familyName>Rygielski",
            "<familyName>&#x52;yg&#105;elski",
        ),
        // CRLF line ends.
        s.replace('\n', "\r\n"),
        // A redundant namespace declaration.
        replace_once(s, "<learner>", &format!("<learner xmlns=\"{ELMO_NS}\">")),
        // An XML declaration added (it is not part of the canonical form).
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{s}"),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(v, s, "variant {i} is a real change");
        check(v).unwrap_or_else(|e| panic!("variant {i}: {e}"));
    }
    // Attribute order swapped on an element with two attributes.
    let two_attrs = replace_once(&fx().unsigned, "<learner>", "<learner a=\"1\" b=\"2\">");
    let signed = String::from_utf8(
        sign(two_attrs.as_bytes(), &fx().key, &SignOptions::default()).expect("sign"),
    )
    .expect("utf8");
    let swapped = replace_once(
        &signed,
        "<learner a=\"1\" b=\"2\">",
        "<learner b=\"2\" a=\"1\">",
    );
    check(&swapped).expect("attribute order is not significant");
    // Exclusive C14N signatures survive moving namespace declarations up or down.
    let exc = String::from_utf8(
        sign(
            fx().unsigned.as_bytes(),
            &fx().key,
            &SignOptions {
                c14n: C14nMethod::Exclusive,
                ..SignOptions::default()
            },
        )
        .expect("sign exc"),
    )
    .expect("utf8");
    check(&exc).expect("exclusive");
}

// 24. Encodings.
#[test]
fn encoding_tricks_are_refused() {
    let s = &format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        fx().signed
    );
    check(s).expect("a UTF-8 declaration is fine");
    let utf16: Vec<u8> = [0xFFu8, 0xFE]
        .into_iter()
        .chain(s.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    assert_eq!(
        check_bytes(&utf16),
        Err(VerifyError::Parse(ParseError::WideEncoding))
    );
    let latin1_decl = replace_once(s, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert!(matches!(
        check(&latin1_decl),
        Err(VerifyError::Parse(ParseError::UnsupportedEncoding(_)))
    ));
    let bom_mismatch = format!(
        "\u{feff}{}",
        replace_once(s, "encoding=\"UTF-8\"", "encoding=\"UTF-16\"")
    );
    assert!(matches!(
        check(&bom_mismatch),
        Err(VerifyError::Parse(ParseError::UnsupportedEncoding(_)))
    ));
    // "Łukasz" with Latin-2 bytes while declaring UTF-8.
    let mut latin = s.clone().into_bytes();
    let at = s.find("Łukasz").expect("name");
    latin.splice(at..at + "Ł".len(), [0xA3u8]);
    assert!(matches!(
        check_bytes(&latin),
        Err(VerifyError::Parse(ParseError::NotUtf8(_)))
    ));
    // Overlong encoding of '/'.
    let overlong = replace_once(s, "<familyName>", "<familyName>\u{1}")
        .replace('\u{1}', "")
        .into_bytes();
    let mut o = overlong;
    let at = s.find("<familyName>").expect("fn") + "<familyName>".len();
    o.splice(at..at, [0xC0u8, 0xAF]);
    assert!(matches!(
        check_bytes(&o),
        Err(VerifyError::Parse(ParseError::NotUtf8(_)))
    ));
    // The real Danish WebLogic failure.
    let dk = std::fs::read(
        emrex_tests::fixtures_dir().join("xml/negative/dk-weblogic-latin1-bytes-utf8-declared.xml"),
    )
    .expect("dk");
    assert!(matches!(
        check_bytes(&dk),
        Err(VerifyError::Parse(ParseError::NotUtf8(_)))
    ));
}

// 25. Duplicate attributes and namespace declarations; PIs around the root.
#[test]
fn duplicates_are_refused_and_pis_are_signed() {
    let dup = replace_once(&fx().signed, "<learner>", "<learner a=\"1\" a=\"2\">");
    assert!(matches!(
        check(&dup),
        Err(VerifyError::Parse(ParseError::DuplicateAttribute(_)))
    ));
    let dup_ns = replace_once(
        &fx().signed,
        "<learner>",
        "<learner xmlns:p=\"urn:a\" xmlns:p=\"urn:b\">",
    );
    assert!(matches!(check(&dup_ns), Err(VerifyError::Parse(_))));
    // A PI after the root is part of the canonical form, so adding one breaks the digest.
    let pi_after = format!("{}<?evil x?>", fx().signed);
    assert_eq!(check(&pi_after), Err(VerifyError::DigestMismatch));
    // A comment after the root is not.
    check(&format!("{}<!-- ok -->", fx().signed)).expect("comment outside root");
}

// 27. Size, depth and node-count bombs, refused by the parser's limits.
#[test]
fn bombs_are_refused_by_limits() {
    let huge = vec![b' '; 33 * 1024 * 1024];
    assert!(matches!(
        check_bytes(&huge),
        Err(VerifyError::Parse(ParseError::TooLarge { .. }))
    ));
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert!(matches!(
        check(&deep),
        Err(VerifyError::Parse(ParseError::TooDeep(_)))
    ));
    let limits = Limits {
        max_nodes: 100_000,
        ..Limits::default()
    };
    let many = format!("<elmo>{}</elmo>", "<a/>".repeat(1_000_000));
    let r = verify(
        many.as_bytes(),
        &pinned(),
        &Policy {
            allow_legacy: false,
            limits,
        },
    );
    assert!(matches!(
        r,
        Err(VerifyError::Parse(ParseError::TooManyNodes(_)))
    ));
    let limits = Limits {
        max_text_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let long_text = format!("<elmo><t>{}</t></elmo>", "x".repeat(2 * 1024 * 1024));
    let r = verify(
        long_text.as_bytes(),
        &pinned(),
        &Policy {
            allow_legacy: false,
            limits,
        },
    );
    assert!(matches!(
        r,
        Err(VerifyError::Parse(ParseError::TextTooLong(_)))
    ));
    let attrs: String = (0..100).map(|i| format!(" a{i}=\"x\"")).collect();
    let many_attrs = format!("<elmo{attrs}/>");
    assert!(matches!(
        check(&many_attrs),
        Err(VerifyError::Parse(ParseError::TooManyAttributes(_)))
    ));
}
