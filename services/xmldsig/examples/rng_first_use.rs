//! Diagnosis for docs/benchmarks.md "RNG seeding per process": what the first and the second
//! RSA-2048 PKCS#1 v1.5 signature cost in a fresh process. The first one pays aws-lc's DRBG
//! seeding (RSA blinding draws from `RAND_bytes`); compare a build with
//! `AWS_LC_SYS_NO_JITTER_ENTROPY=1` in its own `CARGO_TARGET_DIR`:
//!
//! ```sh
//! openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt -outform DER -out /tmp/rsa.der
//! cargo run --release -p emrex-xmldsig --example rng_first_use -- /tmp/rsa.der
//! ```

use std::time::Instant;

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: rng_first_use KEY.pkcs8.der")?;
    let der = std::fs::read(path)?;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let t = Instant::now();
    let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("{e:?}"))?;
    println!("load key: {:?}", t.elapsed());
    for which in ["first", "second"] {
        let mut sig = vec![0u8; key.public_modulus_len()];
        let t = Instant::now();
        key.sign(&RSA_PKCS1_SHA256, &rng, b"message", &mut sig)
            .map_err(|e| format!("{e:?}"))?;
        println!("{which} signature: {:?}", t.elapsed());
    }
    Ok(())
}
