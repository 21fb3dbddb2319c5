//! Verify arbitrary bytes against a pinned certificate: must never panic and never accept.
#![no_main]

use std::sync::OnceLock;

use emrex_xmldsig::{PinnedCert, Policy, verify};
use libfuzzer_sys::fuzz_target;

fn cert() -> &'static PinnedCert {
    static C: OnceLock<PinnedCert> = OnceLock::new();
    C.get_or_init(|| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["fuzz.invalid".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        PinnedCert::from_der(cert.der()).expect("cert")
    })
}

fuzz_target!(|data: &[u8]| {
    let policy = Policy { allow_legacy: true, ..Policy::default() };
    // The key was made just now, so nothing the fuzzer writes can carry a valid signature by it.
    assert!(verify(data, std::slice::from_ref(cert()), &policy).is_err());
});
