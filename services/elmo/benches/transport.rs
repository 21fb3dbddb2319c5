//! The `elmo` form parameter (gzip + base64) on the official v1.7 example (18 KB) and on the large
//! test ELMO (474 KB, mostly an embedded PDF's base64), beside a same-run baseline: SHA-256 of the
//! same bytes (the digest every signature pays anyway).
//!
//! `encode` is what the NCP sends; `gzip/N` is the compression alone at level N, to choose the
//! level by measurement (docs/benchmarks.md, "NCP provider exchanges"); `decode` is what the SMP
//! does on receipt (base64 + inflate within the default budget). The compressed sizes per level
//! are printed before the timings, since the choice trades bytes on the wire for CPU.

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emrex_elmo::{Budget, transport};
use flate2::{Compression, write::GzEncoder};

const LEVELS: [u32; 5] = [1, 2, 3, 6, 9];

fn gzip(xml: &[u8], level: u32) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::with_capacity(xml.len() / 2), Compression::new(level));
    gz.write_all(xml).expect("write to Vec");
    gz.finish().expect("finish into Vec")
}

fn bench(c: &mut Criterion) {
    for (name, xml) in [
        (
            "example-v1.7",
            emrex_tests::documents::example_v17_unsigned(),
        ),
        ("large-150los-300kb", emrex_tests::documents::large_elmo()),
    ] {
        for level in LEVELS {
            eprintln!(
                "transport {name}: {} bytes, gzip level {level}: {} bytes",
                xml.len(),
                gzip(&xml, level).len()
            );
        }
        let encoded = transport::encode(&xml);
        assert_eq!(
            transport::decode(&encoded, &Budget::default()).expect("round trip"),
            xml
        );
        let mut g = c.benchmark_group(format!("transport/{name}"));
        g.throughput(Throughput::Bytes(xml.len() as u64));
        g.bench_function("baseline_sha256", |b| {
            b.iter(|| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &xml))
        });
        g.bench_function("encode", |b| b.iter(|| transport::encode(&xml)));
        for level in LEVELS {
            g.bench_function(format!("gzip/{level}"), |b| b.iter(|| gzip(&xml, level)));
        }
        g.bench_function("decode", |b| {
            b.iter(|| transport::decode(&encoded, &Budget::default()).expect("decode"))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
