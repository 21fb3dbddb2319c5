//! Sign arbitrary bytes: must never panic, and whatever `sign` returns must be the input with one
//! `ds:Signature` element inserted before the root's end tag (every other byte unchanged) that
//! the full `verify` accepts. This is the target for `sign`'s self-check, which verifies the
//! input's own tree with the finished Signature grafted on instead of parsing the output again:
//! if the grafted tree and the output ever disagreed, `verify` here would catch it.
//! The first byte picks the canonicalization (even: inclusive, odd: exclusive).
#![no_main]

use std::sync::OnceLock;

use emrex_xmldsig::dom::{Limits, parse};
use emrex_xmldsig::{C14nMethod, PinnedCert, Policy, SignOptions, SigningKey, sign, verify};
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static (SigningKey, PinnedCert) {
    static K: OnceLock<(SigningKey, PinnedCert)> = OnceLock::new();
    K.get_or_init(|| {
        // P-256 rather than RSA: the same code paths, and key generation and signing stay cheap
        // enough for millions of executions.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["fuzz.invalid".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let signing = SigningKey::from_pem(key.serialize_pem().as_bytes(), cert.pem().as_bytes())
            .expect("signing key");
        (signing, PinnedCert::from_der(cert.der()).expect("cert"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    let options = SignOptions {
        c14n: if mode % 2 == 0 { C14nMethod::Inclusive } else { C14nMethod::Exclusive },
        limits: Limits { max_bytes: 1 << 20, ..Limits::default() },
    };
    let (key, pinned) = keys();
    let Ok(signed) = sign(input, key, &options) else { return };
    if let Err(e) = verify(&signed, std::slice::from_ref(pinned), &Policy::default()) {
        panic!("sign returned a document verify rejects: {e}");
    }
    let offset = parse(input, &options.limits)
        .expect("sign accepted it, so it parses")
        .root_end_offset
        .expect("sign needs the root's end tag");
    let inserted = signed.len() - input.len();
    assert_eq!(&signed[..offset], &input[..offset], "bytes before the Signature changed");
    assert_eq!(&signed[offset + inserted..], &input[offset..], "bytes after the Signature changed");
    let sig = &signed[offset..offset + inserted];
    assert!(sig.starts_with(b"<ds:Signature ") && sig.ends_with(b"</ds:Signature>"));
});
