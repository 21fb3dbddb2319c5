//! Documents benchmarks and tests share, built one way so their figures and cases compare: the
//! official ELMO v1.7 example without its signature, and a large synthetic ELMO.

/// The v1.7 example without its illustrative (invalid) signature.
pub fn example_v17_unsigned() -> Vec<u8> {
    let s = std::fs::read_to_string(
        crate::fixtures_dir().join("xml/elmo-schemas-examples/example-v1.7.0.xml"),
    )
    .expect("example");
    let a = s.find("    <Signature xmlns=").expect("sig");
    let b = s.find("</Signature>\n").expect("sig end") + "</Signature>\n".len();
    format!("{}{}", &s[..a], &s[b..]).into_bytes()
}

/// A synthetic large transcript: 150 courses in one report and a 300 KB PDF attachment.
pub fn large_elmo() -> Vec<u8> {
    use std::fmt::Write;
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\">\n  <generatedDate>2026-11-29T10:00:00Z</generatedDate>\n  <learner><citizenship>FI</citizenship><givenNames>Aino Maria</givenNames><familyName>Järvinen</familyName><bday>2001-05-17</bday></learner>\n  <report>\n    <issuer><country>FI</country><identifier type=\"schac\">helsinki.fi</identifier><title xml:lang=\"en\">University of Helsinki</title><url>https://www.helsinki.fi</url></issuer>\n",
    );
    for i in 0..150 {
        let _ = writeln!(
            s,
            "    <learningOpportunitySpecification><identifier type=\"local\">C{i:04}</identifier><title xml:lang=\"en\">Course number {i} — Øresund &amp; Ærø studies</title><type>Course</type><specifies><learningOpportunityInstance><start>2024-09-01</start><date>2024-12-20</date><status>passed</status><resultLabel>{}</resultLabel><credit><scheme>ects</scheme><value>5</value></credit><languageOfInstruction>en</languageOfInstruction></learningOpportunityInstance></specifies></learningOpportunitySpecification>",
            i % 5 + 1
        );
    }
    s.push_str("    <issueDate>2026-11-29T10:00:00Z</issueDate>\n  </report>\n  <attachment><title xml:lang=\"en\">Transcript</title><type>EMREX transcript</type><content>data:application/pdf;base64,");
    // 300 KB of deterministic pseudo-random "PDF" bytes, base64-encoded.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..300 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    use base64::Engine;
    s.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
    s.push_str("</content></attachment>\n</elmo>\n");
    s.into_bytes()
}
