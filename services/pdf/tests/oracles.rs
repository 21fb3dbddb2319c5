//! The transcript PDF checked by independent tools: qpdf (structure), poppler's pdftotext
//! (the text a reader or a search gets back), pdfdetach (the embedded ELMO XML) and pdfinfo
//! (page count). `./scripts/test.sh` installs them (Debian's `qpdf` and `poppler-utils`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emrex_elmo::{
    Credit, Elmo, Identifier, Issuer, LangText, Learner, LearningOpportunityInstance,
    LearningOpportunitySpecification, LoiStatus, Report, to_xml_v17,
};
use emrex_pdf::{
    MAX_EMBEDDED_XML_BYTES, MAX_LEARNING_OPPORTUNITIES, PdfError, TranscriptOptions, transcript_pdf,
};

fn run(tool: &str, args: &[&str]) -> Output {
    match Command::new(tool).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed; these tests need Debian's qpdf and poppler-utils \
             (./scripts/test.sh installs them: apt-get install qpdf poppler-utils)"
        ),
        Err(e) => panic!("could not run {tool}: {e}"),
    }
}

fn run_ok(tool: &str, args: &[&str]) -> String {
    let out = run(tool, args);
    assert!(
        out.status.success(),
        "{tool} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

fn opts() -> TranscriptOptions {
    TranscriptOptions {
        lang: "en".into(),
        provider_name: "EMREX NCP (development)".into(),
        generated_at: "2026-05-01 12:00 UTC".into(),
    }
}

fn course(
    i: usize,
    title: &str,
    status: LoiStatus,
    ects: &str,
) -> LearningOpportunitySpecification {
    LearningOpportunitySpecification::course(
        format!("C{i}"),
        LangText::new(title),
        LearningOpportunityInstance::default()
            .with_date("2024-06-01")
            .with_result("A")
            .with_status(status)
            .with_credit(Credit::ects(ects)),
    )
}

fn uio() -> Issuer {
    Issuer::new(
        LangText::with_lang("en", "University of Oslo"),
        Identifier::new("schac", "uio.no"),
        "https://www.uio.no",
    )
    .with_title(LangText::with_lang("no", "Universitetet i Oslo"))
    .with_country("NO")
}

fn titles(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Course {i:03} Ελληνικά and Łódź studies"))
        .collect()
}

fn elmo_with(given: &str, family: &str, titles: &[String]) -> Elmo {
    let report =
        titles
            .iter()
            .enumerate()
            .fold(Report::new(uio(), "2024-06-30T12:00:00Z"), |r, (i, t)| {
                let status = match i % 3 {
                    0 | 1 => LoiStatus::Passed,
                    _ => LoiStatus::Failed,
                };
                r.with_learning_opportunity(course(i, t, status, "7.5"))
            });
    Elmo::new(
        Learner::new(given, family)
            .with_bday("1999-12-31")
            .with_citizenship("NO")
            .with_identifier("nationalIdentifier", "01019912345"),
        "2026-05-01T12:00:00Z",
    )
    .with_report(report)
}

struct Rendered {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    pdf: PathBuf,
    xml: Vec<u8>,
}

impl Rendered {
    fn new(elmo: &Elmo) -> Self {
        Self::in_lang(elmo, "en")
    }

    fn in_lang(elmo: &Elmo, lang: &str) -> Self {
        let xml = to_xml_v17(elmo).into_bytes();
        let bytes = transcript_pdf(
            elmo,
            &xml,
            &TranscriptOptions {
                lang: lang.into(),
                ..opts()
            },
        )
        .expect("PDF");
        let dir = tempfile::tempdir().expect("temp dir");
        let pdf = dir.path().join("transcript.pdf");
        std::fs::write(&pdf, &bytes).expect("write PDF");
        Self {
            dir: dir.path().to_path_buf(),
            _dir: dir,
            pdf,
            xml,
        }
    }

    fn path(&self) -> &str {
        self.pdf.to_str().expect("UTF-8 temp path")
    }

    fn text(&self) -> String {
        run_ok("pdftotext", &["-layout", "-enc", "UTF-8", self.path(), "-"])
    }

    fn pages(&self) -> usize {
        let info = run_ok("pdfinfo", &[self.path()]);
        info.lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("pdfinfo prints Pages:")
    }
}

#[test]
fn qpdf_finds_the_structure_sound() {
    let r = Rendered::new(&elmo_with("Åsa", "Ødegård", &titles(10)));
    let out = run_ok("qpdf", &["--check", r.path()]);
    assert!(out.contains("No syntax or stream encoding errors"), "{out}");
}

#[test]
fn pdftotext_gets_names_titles_and_totals_back() {
    for (given, family) in [
        ("Åsa", "Ødegård"),
        ("Zoë", "Łukasiewicz"),
        ("Αθηνά", "Παπαδοπούλου"),
    ] {
        let ts = titles(10);
        let r = Rendered::new(&elmo_with(given, family, &ts));
        let text = r.text();
        assert!(
            text.contains(&format!("{given} {family}")),
            "name {given} {family} missing:\n{text}"
        );
        assert!(text.contains("Transcript of Records — EMREX"), "{text}");
        assert!(text.contains("University of Oslo"), "{text}");
        assert!(
            text.contains("31 Dec 1999") && text.contains("01019912345"),
            "{text}"
        );
        for t in &ts {
            assert!(text.contains(t.as_str()), "title {t} missing:\n{text}");
        }
        // 10 courses of 7.5: indices 2, 5, 8 failed, 7 passed → 52.5.
        assert!(text.contains("Total ECTS credits (passed): 52.5"), "{text}");
        assert!(text.contains("failed") && text.contains("passed"), "{text}");
        assert!(
            text.contains("EMREX NCP (development) · 2026-05-01 12:00 UTC"),
            "{text}"
        );
        assert!(text.contains("Page 1 of 1"), "{text}");
    }
}

/// The transcript in German and French, as poppler reads it back: labels, statuses, the
/// footer, numbers and dates in the language (issue #16, item 8).
#[test]
fn pdftotext_reads_german_and_french_transcripts() {
    let elmo = elmo_with("Åsa", "Ødegård", &titles(10));
    let de = Rendered::in_lang(&elmo, "de").text();
    for needle in [
        "Geburtsdatum: 31.12.1999",
        "ECTS-Punkte insgesamt (bestanden): 52,5",
        "nicht bestanden",
        "01.06.2024",
        "7,5",
        "Seite 1 von 1",
    ] {
        assert!(de.contains(needle), "{needle:?} missing:\n{de}");
    }
    assert!(
        !de.contains("Date of birth") && !de.contains("Page 1 of 1"),
        "{de}"
    );
    let fr = Rendered::in_lang(&elmo, "fr").text();
    for needle in [
        "Date de naissance: 31/12/1999",
        "non validé",
        "52,5",
        "Page 1 sur 1",
    ] {
        assert!(fr.contains(needle), "{needle:?} missing:\n{fr}");
    }
}

#[test]
fn titles_are_picked_in_the_requested_language() {
    let elmo = elmo_with("Åsa", "Ødegård", &titles(1));
    let xml = to_xml_v17(&elmo).into_bytes();
    let opts = TranscriptOptions {
        lang: "no".into(),
        ..opts()
    };
    let bytes = transcript_pdf(&elmo, &xml, &opts).expect("PDF");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no.pdf");
    std::fs::write(&path, bytes).expect("write");
    let text = run_ok("pdftotext", &["-layout", path.to_str().expect("path"), "-"]);
    assert!(text.contains("Universitetet i Oslo"), "{text}");
    assert!(!text.contains("University of Oslo"), "{text}");
}

#[test]
fn pdfdetach_returns_the_embedded_xml_byte_for_byte() {
    let r = Rendered::new(&elmo_with("Åsa", "Ødegård", &titles(10)));
    let list = run_ok("pdfdetach", &["-list", r.path()]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(
        lines.first().map(|l| l.trim()),
        Some("1 embedded files"),
        "{list}"
    );
    assert!(
        lines.get(1).is_some_and(|l| l.trim() == "1: elmo.xml"),
        "{list}"
    );

    let out = r.dir.join("detached");
    std::fs::create_dir(&out).expect("mkdir");
    run_ok(
        "pdfdetach",
        &["-saveall", "-o", out.to_str().expect("path"), r.path()],
    );
    let saved = std::fs::read(out.join("elmo.xml")).expect("pdfdetach wrote elmo.xml");
    assert_eq!(saved, r.xml);
}

#[test]
fn the_pdf_claims_pdf_a_3u() {
    let r = Rendered::new(&elmo_with("Åsa", "Ødegård", &titles(3)));
    // The XMP metadata stream is compressed; qpdf writes an uncompressed copy to search.
    let plain = r.dir.join("plain.pdf");
    run_ok(
        "qpdf",
        &[
            "--qdf",
            "--object-streams=disable",
            r.path(),
            plain.to_str().expect("path"),
        ],
    );
    let raw = String::from_utf8_lossy(&std::fs::read(&plain).expect("read")).into_owned();
    assert!(
        raw.contains("<pdfaid:part>3</pdfaid:part>"),
        "no PDF/A part 3 in XMP"
    );
    assert!(
        raw.contains("<pdfaid:conformance>U</pdfaid:conformance>"),
        "no conformance U"
    );
    assert!(
        raw.contains("/AFRelationship /Source"),
        "embedded file relationship missing"
    );
}

#[test]
fn a_long_transcript_breaks_pages_and_keeps_every_title() {
    let ts = titles(120);
    let r = Rendered::new(&elmo_with("Zoë", "Łukasiewicz", &ts));
    let pages = r.pages();
    assert!(pages > 1, "120 courses on {pages} page(s)");
    run_ok("qpdf", &["--check", r.path()]);
    let text = r.text();
    for t in &ts {
        assert!(text.contains(t.as_str()), "title {t} missing");
    }
    assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
    assert!(text.contains("University of Oslo (continued)"), "{text}");
    // 120 courses, every third failed: 80 passed × 7.5.
    assert!(text.contains("Total ECTS credits (passed): 600"), "{text}");
}

/// Word boxes from `pdftotext -bbox`: (xMin, xMax, word).
fn word_boxes(pdf: &Path) -> (f32, Vec<(f32, f32, String)>) {
    let html = run_ok("pdftotext", &["-bbox", pdf.to_str().expect("path"), "-"]);
    let attr = |tag: &str, name: &str| -> Option<f32> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        tag[start..end].parse().ok()
    };
    let mut width = 0.0;
    let mut words = Vec::new();
    for line in html.lines() {
        let line = line.trim();
        if line.starts_with("<page ") {
            width = attr(line, "width").expect("page width");
        } else if line.starts_with("<word ") {
            let text = line
                .split_once('>')
                .and_then(|(_, rest)| rest.strip_suffix("</word>"))
                .unwrap_or("")
                .to_string();
            words.push((
                attr(line, "xMin").expect("xMin"),
                attr(line, "xMax").expect("xMax"),
                text,
            ));
        }
    }
    (width, words)
}

#[test]
fn long_titles_wrap_inside_the_page() {
    let long = "Interdisciplinary perspectives on sustainable energy systems, their economics, \
                governance and the societal transition towards carbon neutrality in Europe";
    let huge_word = "Pneumonoultramicroscopicsilicovolcanoconiosis".repeat(4);
    let ts = vec![long.to_string(), huge_word.clone(), "Short".to_string()];
    let r = Rendered::new(&elmo_with("Åsa", "Ødegård", &ts));
    let (page_width, words) = word_boxes(&r.pdf);
    assert!(
        page_width > 590.0 && page_width < 600.0,
        "A4 width, got {page_width}"
    );
    assert!(!words.is_empty());
    for (x_min, x_max, w) in &words {
        assert!(
            *x_min >= 40.0 && *x_max <= page_width - 40.0,
            "word {w:?} at {x_min}..{x_max} crosses the margin"
        );
    }
    let text = r.text();
    // The long title is wrapped over lines: every word is there.
    for w in long.split_whitespace() {
        assert!(text.contains(w), "{w} missing");
    }
    assert!(text.contains("Pneumonoultramicroscopic"), "{text}");
}

#[test]
fn absurd_input_is_refused() {
    let many = titles(MAX_LEARNING_OPPORTUNITIES + 1);
    let elmo = elmo_with("Åsa", "Ødegård", &many);
    match transcript_pdf(&elmo, b"<elmo/>", &opts()) {
        Err(PdfError::TooManyLearningOpportunities { count, max }) => {
            assert_eq!(max, MAX_LEARNING_OPPORTUNITIES);
            assert!(count > max);
        }
        other => panic!("expected TooManyLearningOpportunities, got {other:?}"),
    }

    let elmo = elmo_with("Åsa", "Ødegård", &titles(1));
    let big = vec![b' '; MAX_EMBEDDED_XML_BYTES + 1];
    match transcript_pdf(&elmo, &big, &opts()) {
        Err(PdfError::EmbeddedXmlTooLarge { size, max }) => {
            assert_eq!(
                (size, max),
                (MAX_EMBEDDED_XML_BYTES + 1, MAX_EMBEDDED_XML_BYTES)
            );
        }
        other => panic!("expected EmbeddedXmlTooLarge, got {other:?}"),
    }

    // Exactly at the limits is fine (the limit counts the whole hasPart tree).
    let nested = (0..MAX_LEARNING_OPPORTUNITIES - 1).fold(
        course(0, "Degree", LoiStatus::Passed, "180"),
        |degree, i| degree.with_part(course(i + 1, "Part", LoiStatus::Passed, "1")),
    );
    let elmo = Elmo::new(Learner::new("A", "B"), "2026-05-01T12:00:00Z")
        .with_report(Report::new(uio(), "2026-05-01T12:00:00Z").with_learning_opportunity(nested));
    let elmo_over = {
        let mut e = elmo.clone();
        e.reports[0]
            .learning_opportunities
            .push(course(0, "One more", LoiStatus::Passed, "1"));
        e
    };
    assert!(matches!(
        transcript_pdf(&elmo_over, b"<elmo/>", &opts()),
        Err(PdfError::TooManyLearningOpportunities { .. })
    ));
    assert!(transcript_pdf(&elmo, b"<elmo/>", &opts()).is_ok());
}

#[test]
fn characters_the_font_lacks_do_not_break_the_pdf() {
    // CJK is outside DejaVu Sans: drawn as U+FFFD, the PDF stays valid and the rest readable.
    let ts = vec!["日本語 Japanese studies".to_string()];
    let r = Rendered::new(&elmo_with("Hanako", "山田", &ts));
    run_ok("qpdf", &["--check", r.path()]);
    let text = r.text();
    assert!(text.contains("Japanese studies"), "{text}");
    assert!(text.contains("Hanako"), "{text}");
}
