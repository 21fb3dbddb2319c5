//! The ELMO reader on arbitrary bytes: errors are fine, panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(elmo) = emrex_elmo::parse(data, &Default::default()) {
        let _ = emrex_elmo::validate(&elmo);
        let _ = emrex_elmo::summarize(&elmo);
    }
});
