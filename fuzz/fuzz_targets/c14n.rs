//! Parse arbitrary bytes with the strict parser; whatever it accepts must canonicalize without
//! panicking, and canonical output must be a fixed point (canonicalizing it again changes nothing).
#![no_main]

use emrex_xmldsig::c14n::{self, Mode};
use emrex_xmldsig::dom::{Limits, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 1 << 20,
        ..Limits::default()
    };
    let Ok(doc) = parse(data, &limits) else { return };
    for mode in [Mode::Inclusive, Mode::Exclusive] {
        let once = c14n::document(&doc, mode, None);
        let again = parse(&once, &limits).expect("canonical output must parse");
        assert_eq!(c14n::document(&again, mode, None), once, "C14N is not idempotent ({mode:?})");
        let _ = c14n::subtree(&doc, &[0], mode);
    }
});
