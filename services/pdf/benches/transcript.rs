//! The transcript PDF the NCP attaches to every exchange, for the official v1.7 example and for
//! the large test ELMO (150 learning opportunities), beside same-run baselines: deflating the
//! embedded XML at level 6 (krilla compresses every stream at its fixed level 6, so a PDF that
//! carries the document cannot cost less than this) and at level 1 (what a configurable level
//! could bring). The ratio `transcript_pdf ÷ baseline` is the cost of laying out the pages, the
//! fonts and the PDF structure; docs/benchmarks.md ("NCP provider exchanges") keeps the table.

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emrex_elmo::{Limits, parse};
use emrex_pdf::{TranscriptOptions, transcript_pdf};
use flate2::{Compression, write::ZlibEncoder};

fn deflate(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::with_capacity(bytes.len() / 2), Compression::new(level));
    z.write_all(bytes).expect("write to Vec");
    z.finish().expect("finish into Vec")
}

fn bench(c: &mut Criterion) {
    let opts = TranscriptOptions {
        lang: "en".into(),
        provider_name: "EMREX NCP (benchmark)".into(),
        generated_at: "2026-12-04 12:00 UTC".into(),
    };
    for (name, xml) in [
        (
            "example-v1.7",
            emrex_tests::documents::example_v17_unsigned(),
        ),
        ("large-150los-300kb", emrex_tests::documents::large_elmo()),
    ] {
        let elmo = parse(&xml, &Limits::default()).expect("parse");
        let pdf = transcript_pdf(&elmo, &xml, &opts).expect("pdf");
        eprintln!(
            "transcript {name}: {} bytes of XML, PDF {} bytes",
            xml.len(),
            pdf.len()
        );
        let mut g = c.benchmark_group(format!("transcript/{name}"));
        g.throughput(Throughput::Bytes(xml.len() as u64));
        g.bench_function("baseline_deflate6", |b| b.iter(|| deflate(&xml, 6)));
        g.bench_function("baseline_deflate1", |b| b.iter(|| deflate(&xml, 1)));
        g.bench_function("transcript_pdf", |b| {
            b.iter(|| transcript_pdf(&elmo, &xml, &opts).expect("pdf"))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
