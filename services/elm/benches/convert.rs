//! ELMO → ELM v3 on a large transcript (150 courses, a 300 KB PDF), beside a same-run baseline:
//! parsing the same ELMO with `emrex-elmo` (what any consumer of the document does anyway). The
//! ratios say what the conversion and the JSON serialization add to reading the document.
//!
//! `cargo bench -p emrex-elm --bench convert` (a plain bench binary: medians of timed runs, no
//! assertion on wall-clock time).

use std::time::{Duration, Instant};

use emrex_elm::{Options, convert};

/// 150 courses in one report and a 300 KB (base64: 400 KB) attachment.
fn large_elmo() -> Vec<u8> {
    use std::fmt::Write;
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\">\n  <generatedDate>2026-11-29T10:00:00Z</generatedDate>\n  <learner><citizenship>FI</citizenship><identifier type=\"nationalIdentifier\">170501A123B</identifier><givenNames>Aino Maria</givenNames><familyName>Järvinen</familyName><bday>2001-05-17</bday></learner>\n  <report>\n    <issuer><country>FI</country><identifier type=\"schac\">helsinki.fi</identifier><title xml:lang=\"en\">University of Helsinki</title><url>https://www.helsinki.fi</url></issuer>\n",
    );
    for i in 0..150 {
        let _ = writeln!(
            s,
            "    <learningOpportunitySpecification><identifier type=\"local\">C{i:04}</identifier><title xml:lang=\"en\">Course number {i}</title><type>Course</type><iscedCode>0613</iscedCode><specifies><learningOpportunityInstance><start>2024-09-01</start><date>2024-12-20</date><status>passed</status><gradingSchemeLocalId>1</gradingSchemeLocalId><resultLabel>{}</resultLabel><credit><scheme>ects</scheme><value>5</value></credit><level><type>EQF</type><value>6</value></level><languageOfInstruction>en</languageOfInstruction></learningOpportunityInstance></specifies></learningOpportunitySpecification>",
            i % 5 + 1
        );
    }
    s.push_str("    <issueDate>2026-11-29T10:00:00Z</issueDate>\n    <gradingScheme localId=\"1\"><description xml:lang=\"en\">1 to 5, 5 best</description></gradingScheme>\n  </report>\n  <attachment><title xml:lang=\"en\">Transcript</title><type>EMREX transcript</type><content>data:application/pdf;base64,");
    // 300 KB of deterministic bytes; 3-byte groups of letters so the base64 is valid.
    s.push_str(&"QUJD".repeat(100 * 1024));
    s.push_str("</content></attachment>\n</elmo>\n");
    s.into_bytes()
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn main() {
    let xml = large_elmo();
    let limits = emrex_elmo::Limits::default();
    let elmo = emrex_elmo::parse(&xml, &limits).expect("parse");
    let options = Options::default();
    let runs = 31;
    // Warm-up.
    for _ in 0..3 {
        let _ = convert(&elmo, &options).expect("convert");
    }
    let parse = median(
        || {
            std::hint::black_box(emrex_elmo::parse(&xml, &limits).expect("parse"));
        },
        runs,
    );
    let conv = median(
        || {
            std::hint::black_box(convert(&elmo, &options).expect("convert"));
        },
        runs,
    );
    let both = median(
        || {
            let c = convert(&elmo, &options).expect("convert");
            std::hint::black_box(serde_json::to_vec(&c.credential).expect("json"));
        },
        runs,
    );
    let json =
        serde_json::to_vec(&convert(&elmo, &options).expect("convert").credential).expect("json");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "ELMO {} bytes, 150 courses → credential {} bytes (median of {runs})",
        xml.len(),
        json.len()
    );
    println!("| step | median ms | ratio to parse |");
    println!("| --- | ---: | ---: |");
    println!("| parse ELMO (baseline) | {:.2} | 1.00 |", ms(parse));
    println!(
        "| convert | {:.2} | {:.2} |",
        ms(conv),
        ms(conv) / ms(parse)
    );
    println!(
        "| convert + serialize JSON | {:.2} | {:.2} |",
        ms(both),
        ms(both) / ms(parse)
    );
}
