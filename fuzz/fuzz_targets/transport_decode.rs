//! The `elmo` form-parameter decoder on arbitrary text: bounded, and never panics.
#![no_main]

use emrex_elmo::transport::{Budget, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let budget = Budget { max_decoded_bytes: 1 << 20, ..Budget::default() };
    if let Ok(out) = decode(text, &budget) {
        assert!(out.len() <= 1 << 20);
    }
});
