//! Writer output must validate against the official ELMO v1.7 XSD (checked with xmllint,
//! offline through the fixtures' XML catalog).
//!
//! This test never skips: without `xmllint` (Debian package `libxml2-utils`) it fails, in CI
//! and locally, because a silently skipped schema check is worse than none.

use std::io::Write;
use std::process::{Command, Stdio};

use emrex_elmo::{
    Attachment, Credit, Elmo, GradingScheme, Group, GroupType, Grouping, Groups, Identifier,
    Issuer, LangText, Learner, LearningOpportunityInstance, LearningOpportunitySpecification,
    Limits, LoiStatus, Report, Severity, parse, to_xml_v17, transport, validate,
};
use emrex_tests::{fixtures_dir, read_fixture as fixture};

/// Validates `xml` against the v1.7 schema; panics with xmllint's output on failure.
fn assert_valid_v17(name: &str, xml: &str) {
    let dir = fixtures_dir();
    let mut child = match Command::new("xmllint")
        .env("XML_CATALOG_FILES", dir.join("xsd/catalog.xml"))
        .arg("--nonet")
        .arg("--noout")
        .arg("--schema")
        .arg(dir.join("xsd/elmo/v1.7.0/schema.xsd"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "xmllint is required for the XSD tests (apt-get install -y libxml2-utils){}: {e}",
            if std::env::var_os("CI").is_some() {
                " — CI is set"
            } else {
                ""
            }
        ),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(xml.as_bytes())
        .expect("write to xmllint");
    let out = child.wait_with_output().expect("xmllint runs");
    assert!(
        out.status.success(),
        "{name}: writer output does not validate against ELMO v1.7:\n{}\n--- document (first 3000 bytes) ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        &xml[..xml.len().min(3000)]
    );
}

fn round_trip(rel: &str) -> String {
    let elmo = parse(&fixture(rel), &Limits::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
    to_xml_v17(&elmo)
}

#[test]
fn v17_example_round_trip_validates() {
    assert_valid_v17(
        "example-v1.7.0",
        &round_trip("xml/elmo-schemas-examples/example-v1.7.0.xml"),
    );
}

#[test]
fn fi_my_elmo_round_trip_validates() {
    assert_valid_v17(
        "fi-my_elmo-2020",
        &round_trip("xml/unsigned/fi-my_elmo-2020.xml"),
    );
}

#[test]
fn real_documents_round_trip_validate() {
    // Schema-invalid inputs (missing issuer/url, credit level "-", whitespace in dates,
    // out-of-order elements, an empty report/learner) come out schema-valid — the writer's
    // contract is "valid whenever validate() reports no error".
    for (rel, has_errors) in [
        ("xml/signed/dk-weblogic-fixed-ns0-prefixed.xml", false),
        ("xml/signed/dk-elmo-tomcat-signed.xml", false),
        ("xml/negative/no-emrex-1.0-signature-broken.xml", false),
        (
            "xml/negative/no-vitnemalsportalen-2023-pretty-printed-signature-broken.xml",
            false,
        ),
        // issueDate is a bare date ("2015-12-17"); the writer does not invent a time.
        ("xml/negative/se-elmo-1.0-signature-broken.xml", true),
    ] {
        let elmo =
            parse(&fixture(rel), &Limits::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let errors: Vec<_> = validate(&elmo)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert_eq!(!errors.is_empty(), has_errors, "{rel}: {errors:#?}");
        if !has_errors {
            assert_valid_v17(rel, &to_xml_v17(&elmo));
        }
    }
}

#[test]
fn xmllint_actually_rejects_invalid_output() {
    // Guards against a validation setup that accepts everything.
    let mut xml = round_trip("xml/unsigned/fi-my_elmo-2020.xml");
    xml = xml.replace("<issueDate>2014-11-28T00:00:00.000+02:00</issueDate>", "");
    let result = std::panic::catch_unwind(|| assert_valid_v17("broken", &xml));
    assert!(
        result.is_err(),
        "xmllint accepted a document without issueDate"
    );
}

fn synthetic_large() -> Elmo {
    let pdf = fixture("pdf/fi-emrex-transcript-sample.pdf");
    let mut report = Report::new(
        Issuer::new(
            LangText::with_lang("en", "University of Testing"),
            Identifier::new("schac", "test.example"),
            "https://test.example/",
        )
        .with_country("FI")
        .with_identifier("pic", "999999999")
        .with_title(LangText::with_lang("fi", "Testausyliopisto & <Co>")),
        "2024-05-01T12:00:00+03:00",
    )
    .with_grading_scheme(GradingScheme {
        local_id: "0-5".into(),
        descriptions: vec![LangText::with_lang(
            "en",
            "0 (fail) to 5 (excellent)\nmulti-line",
        )],
    })
    .with_attachment(
        Attachment::new(
            "Transcript of Records",
            LangText::with_lang("en", "Transcript of Records"),
            "application/pdf",
            &pdf,
        )
        .with_identifier("tor-1"),
    );
    let mut degree = LearningOpportunitySpecification::new(
        LangText::with_lang("en", "Bachelor of Science"),
        LearningOpportunityInstance::default()
            .with_date("2024-04-30")
            .with_credit(Credit::ects("180")),
    )
    .with_type("Degree Programme")
    .with_identifier("local", "BSC");
    for m in 0..20 {
        let mut module = LearningOpportunitySpecification::new(
            LangText::with_lang("en", format!("Module {m}")),
            LearningOpportunityInstance::default(),
        )
        .with_type("Module")
        .with_identifier("local", format!("M{m}"));
        for c in 0..25 {
            let mut loi = LearningOpportunityInstance::default()
                .with_date(format!("20{:02}-{:02}-15", 10 + c % 12, 1 + c % 12))
                .with_result(format!("{}", c % 6))
                .with_credit(Credit::ects(format!("{}.5", c % 10)))
                .with_language(if c % 2 == 0 { "fi" } else { "en" })
                .with_status(if c % 7 == 0 {
                    LoiStatus::Failed
                } else {
                    LoiStatus::Passed
                });
            loi.grading_scheme_local_id = Some("0-5".into());
            loi.grouping = Some(Grouping {
                typeref: Some("1".into()),
                idref: Some(format!("{}", 1 + c % 2)),
            });
            if c == 0 {
                loi.attachment_refs.push("tor-1".into());
            }
            let mut course = LearningOpportunitySpecification::course(
                format!("C{m}-{c}"),
                LangText::with_lang(
                    "en",
                    format!("Course {m}.{c}: \"Topics\" in <XML> & friends"),
                ),
                loi,
            )
            .with_title(LangText::with_lang("fi", format!("Kurssi {m}.{c} — äöå")));
            course.descriptions.push(LangText::with_lang(
                "en",
                format!("Line one of {m}.{c}\n\n  Line two, indented\r\nend"),
            ));
            module = module.with_part(course);
        }
        degree = degree.with_part(module);
    }
    report = report.with_learning_opportunity(degree);
    let mut elmo = Elmo::new(
        Learner::new("Γιώργος Łukasz", "O'Brien-Ä")
            .with_bday("1999-12-31")
            .with_citizenship("GR")
            .with_identifier("nationalIdentifier", "123"),
        "2024-05-01T12:00:00Z",
    )
    .with_report(report)
    .with_attachment(Attachment::new(
        "EMREX transcript",
        LangText::with_lang("en", "EMREX transcript"),
        "application/pdf",
        &pdf,
    ));
    elmo.groups = Some(Groups {
        group_types: vec![GroupType {
            id: Some("1".into()),
            titles: vec![LangText::with_lang("en", "By category")],
            groups: vec![
                Group {
                    id: Some("1".into()),
                    sorting_key: Some("1".into()),
                    titles: vec![LangText::with_lang("en", "Mandatory")],
                },
                Group {
                    id: Some("2".into()),
                    sorting_key: Some("2".into()),
                    titles: vec![LangText::with_lang("en", "Optional")],
                },
            ],
        }],
    });
    elmo
}

#[test]
fn synthetic_large_document_validates_and_round_trips() {
    let elmo = synthetic_large();
    let issues = validate(&elmo);
    assert!(
        issues.iter().all(|i| i.severity != Severity::Error),
        "{issues:#?}"
    );
    let xml = to_xml_v17(&elmo);
    assert!(xml.len() > 300_000, "{}", xml.len());
    assert_valid_v17("synthetic", &xml);
    let back = parse(xml.as_bytes(), &Limits::default()).expect("reparse");
    // Descriptions are xs:string and survive byte for byte (CR included).
    assert_eq!(back, elmo);
    // And the transport layer carries it within the default budget.
    let param = transport::encode(xml.as_bytes());
    let decoded = transport::decode(&param, &transport::Budget::default()).expect("decode");
    assert_eq!(decoded, xml.as_bytes());
}
