//! ELMO 2.1.1: the reader keeps every element and attribute, the writer's output validates
//! against the official 2.1.1 XSD (xmllint, offline catalog), conversions between 1.7 and 2.1.1
//! lose exactly what the other version cannot carry (the list in the crate README), and an ELMO
//! inside an EWP ToR v3 `get-response` validates against that schema.
//!
//! Like `xsd.rs`, these never skip: without `xmllint` they fail.

use emrex_elmo::ewp::{Tor, tor_get_response};
use emrex_elmo::{
    Address, Elmo, ElmoFormat, ElmoVersion, Identifier, Limits, Severity, parse, to_xml_v17,
    to_xml_v21, validate_for,
};
use emrex_tests::{
    read_fixture, xmllint_validate_elmo_v17, xmllint_validate_elmo_v21, xmllint_validate_ewp_tor_v3,
};
use emrex_xmldsig::dom::{self, Element, Node};

const EVERY_ELEMENT: &str = include_str!("data/elmo-2.1.1-every-element.xml");

fn read(xml: &[u8]) -> Elmo {
    parse(xml, &Limits::default()).expect("parse")
}

fn errors(elmo: &Elmo, v: ElmoVersion) -> Vec<emrex_elmo::Issue> {
    validate_for(elmo, v)
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .collect()
}

/// The document's information as text: every element (namespace, local name), its attributes
/// (namespace, name, value; sorted) and its non-whitespace text, in order — prefixes, namespace
/// declarations, comments and indentation left out. Two documents with the same shape say the
/// same thing.
fn shape(xml: &[u8]) -> String {
    fn walk(e: &Element, depth: usize, out: &mut String) {
        let mut attrs: Vec<String> = e
            .attributes
            .iter()
            .map(|a| {
                format!(
                    "{{{}}}{}={:?}",
                    a.namespace.as_deref().unwrap_or(""),
                    a.name.local,
                    a.value
                )
            })
            .collect();
        attrs.sort();
        out.push_str(&format!(
            "{}{{{}}}{} {}\n",
            "  ".repeat(depth),
            e.namespace.as_deref().unwrap_or(""),
            e.name.local,
            attrs.join(" ")
        ));
        for n in &e.children {
            match n {
                Node::Element(c) => walk(c, depth + 1, out),
                Node::Text(t) if !t.trim().is_empty() => {
                    out.push_str(&format!("{}{t:?}\n", "  ".repeat(depth + 1)))
                }
                _ => {}
            }
        }
    }
    let doc = dom::parse(xml, &Limits::default()).expect("well-formed");
    let mut out = String::new();
    walk(&doc.root, 0, &mut out);
    out
}

/// Every element name the 2.1.1 XSD declares (`<xs:element name="…">`).
fn xsd_element_names() -> Vec<String> {
    let xsd = String::from_utf8(read_fixture("xsd/elmo/v2.1.1/schema.xsd")).expect("utf8");
    let mut names: Vec<String> = xsd
        .split("<xs:element")
        .skip(1)
        .filter_map(|chunk| {
            let tag = &chunk[..chunk.find('>')?];
            let start = tag.find(" name=\"")? + 7;
            let len = tag[start..].find('"')?;
            Some(tag[start..start + len].to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_every_element_document_covers_the_whole_schema_and_is_valid() {
    // The test document is the yardstick for "nothing dropped": it must use every element the
    // schema declares and be valid itself.
    let doc = dom::parse(EVERY_ELEMENT.as_bytes(), &Limits::default()).expect("parse");
    let used: std::collections::BTreeSet<&str> = doc
        .root
        .descendants()
        .map(|e| e.name.local.as_str())
        .collect();
    let names = xsd_element_names();
    assert!(names.len() > 80, "{names:?}");
    let missing: Vec<_> = names
        .iter()
        .filter(|n| !used.contains(n.as_str()))
        .collect();
    assert!(missing.is_empty(), "elements not exercised: {missing:?}");
    xmllint_validate_elmo_v21(EVERY_ELEMENT.as_bytes()).expect("the test document is valid");
}

#[test]
fn reading_and_writing_2_1_loses_nothing() {
    let elmo = read(EVERY_ELEMENT.as_bytes());
    assert_eq!(elmo.format, ElmoFormat::V2);
    assert!(
        errors(&elmo, ElmoVersion::V2_1).is_empty(),
        "{:#?}",
        validate_for(&elmo, ElmoVersion::V2_1)
    );
    let l = &elmo.learner;
    assert_eq!(l.citizenship_type.as_deref(), Some("ISO"));
    assert_eq!(
        l.country_of_birth.as_deref(),
        Some("http://publications.europa.eu/resource/authority/country/GRC")
    );
    assert_eq!(
        l.alternative_name.as_ref().map(|a| a.text.as_str()),
        Some("Γεώργιος Παπαδόπουλος")
    );
    assert_eq!(
        l.current_address.as_ref().and_then(|a| a.floor.as_deref()),
        Some("3")
    );
    let r = &elmo.reports[0];
    assert_eq!(
        r.status.as_ref().map(|s| s.code.as_str()),
        Some("PARTIAL_TEMPORARY")
    );
    assert_eq!(r.results_of_recognition[0].status, "Partially Positive");
    assert_eq!(
        r.results_of_recognition[0].recognition_mappings[0].to[0],
        ["INF205", "INF206"]
    );
    let los = &r.learning_opportunities[0];
    assert_eq!(los.document_type.as_deref(), Some("Diploma"));
    let loi = los.specifies.as_ref().expect("loi");
    assert_eq!(loi.duration.as_deref(), Some("P4Y"));
    assert_eq!(
        loi.enrolment.as_ref().map(|e| e.academic_year_end.as_str()),
        Some("2020-08-31")
    );
    assert_eq!(
        loi.extension.as_ref().map(|x| x.elements[0].as_str()),
        Some(
            r#"<u:track xmlns:u="urn:example:uoa" code="T1">Software <u:b>systems</u:b></u:track>"#
        )
    );

    let written = to_xml_v21(&elmo);
    xmllint_validate_elmo_v21(written.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{written}"));
    // The same information as the input: every element, attribute and text came through.
    assert_eq!(shape(written.as_bytes()), shape(EVERY_ELEMENT.as_bytes()));
    // And reading it again gives the same model.
    assert_eq!(read(written.as_bytes()), elmo);
}

#[test]
fn readers_accept_the_upstream_fixes_and_writers_fill_in_what_2_1_1_requires() {
    // elmo-schemas PRs #123 and #125 made country @type and alternativeName optional again.
    let relaxed = EVERY_ELEMENT
        .replace(" type=\"ISO\"", "")
        .replace(" type=\"URI\"", "");
    let start = relaxed.find("<alternativeName").expect("alt");
    let end = relaxed.find("</alternativeName>").expect("alt end") + "</alternativeName>".len();
    let relaxed = format!("{}{}", &relaxed[..start], &relaxed[end..]);
    assert!(
        xmllint_validate_elmo_v21(relaxed.as_bytes()).is_err(),
        "the 2.1.1 XSD itself still requires them"
    );
    let elmo = read(relaxed.as_bytes());
    assert_eq!(elmo.learner.alternative_name, None);
    assert_eq!(elmo.learner.citizenship_type, None);
    let written = to_xml_v21(&elmo);
    assert!(written.contains("<citizenship type=\"ISO\">GR</citizenship>"));
    assert!(written.contains("<alternativeName/>"));
    assert!(written.contains(
        "<countryOfBirth type=\"URI\">http://publications.europa.eu/resource/authority/country/GRC</countryOfBirth>"
    ));
    xmllint_validate_elmo_v21(written.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    // An empty alternativeName (what the writer emits) reads back as absent.
    assert_eq!(read(written.as_bytes()).learner.alternative_name, None);
}

/// Clears what ELMO 1.7 cannot carry: after that, a 2.1 document survives 2.1 → 1.7 → 2.1.
fn without_v21_only(mut e: Elmo) -> Elmo {
    fn los(l: &mut emrex_elmo::LearningOpportunitySpecification) {
        l.document_type = None;
        if let Some(i) = l.specifies.as_mut() {
            i.enrolment = None;
            i.duration = None;
            i.grading_scheme_external_id = None;
        }
        l.has_part.iter_mut().for_each(los);
    }
    e.learner.alternative_name = None;
    e.learner.country_of_birth = None;
    e.learner.country_of_birth_type = None;
    e.learner.citizenship_type = None;
    for r in &mut e.reports {
        r.results_of_recognition.clear();
        r.status = None;
        r.issuer.country_type = None;
        r.learning_opportunities.iter_mut().for_each(los);
        for a in &mut r.attachments {
            if a.attachment_type.as_deref() == Some("Certificate of Enrolment") {
                a.attachment_type = Some("Other".into());
            }
        }
    }
    e.format = ElmoFormat::V1;
    e
}

#[test]
fn two_one_to_one_seven_drops_exactly_the_listed_fields() {
    let elmo = read(EVERY_ELEMENT.as_bytes());
    // The citizenship and issuer country are Europass codes, so 1.7 keeps them.
    let v17 = to_xml_v17(&elmo);
    xmllint_validate_elmo_v17(v17.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{v17}"));
    let back = read(v17.as_bytes());
    assert_eq!(back, without_v21_only(elmo.clone()));
    // Validation for 1.7 names every dropped value, each once.
    let dropped: Vec<_> = validate_for(&elmo, ElmoVersion::V1_7)
        .into_iter()
        .filter(|i| {
            i.message.contains("not written to ELMO 1.7")
                || i.message.contains("written as \"Other\"")
        })
        .map(|i| i.path)
        .collect();
    assert_eq!(
        dropped,
        [
            "/elmo/learner/alternativeName",
            "/elmo/learner/countryOfBirth",
            "/elmo/report[1]/resultOfRecognition",
            "/elmo/report[1]/status",
            "/elmo/report[1]/learningOpportunitySpecification[1]/documentType",
            "/elmo/report[1]/learningOpportunitySpecification[1]/specifies/learningOpportunityInstance/enrolment",
            "/elmo/report[1]/learningOpportunitySpecification[1]/specifies/learningOpportunityInstance/duration",
            "/elmo/report[1]/learningOpportunitySpecification[1]/specifies/learningOpportunityInstance/gradingSchemeExternalId",
            "/elmo/report[1]/attachment[1]/type",
        ]
    );
}

/// Gives every learning opportunity without an identifier a `local` one: ELMO 2.1 requires one
/// and a converter cannot invent it, so these fixtures need it added to be convertible at all.
fn with_los_identifiers(mut e: Elmo) -> Elmo {
    fn walk(l: &mut emrex_elmo::LearningOpportunitySpecification, n: &mut usize) {
        if l.identifiers.is_empty() {
            *n += 1;
            l.identifiers
                .push(Identifier::new("local", format!("added-{n}")));
        }
        for c in &mut l.has_part {
            walk(c, n);
        }
    }
    let mut n = 0;
    for r in &mut e.reports {
        for l in &mut r.learning_opportunities {
            walk(l, &mut n);
        }
    }
    e
}

#[test]
fn one_seven_to_two_one_and_back_keeps_everything_both_can_carry() {
    for rel in [
        "xml/elmo-schemas-examples/example-v1.7.0.xml",
        "xml/unsigned/fi-my_elmo-2020.xml",
        "xml/signed/dk-elmo-tomcat-signed.xml",
        "xml/signed/dk-weblogic-fixed-ns0-prefixed.xml",
        "xml/negative/no-emrex-1.0-signature-broken.xml",
    ] {
        let original = read(&read_fixture(rel));
        let mut a = with_los_identifiers(original.clone());
        a.has_signature = false;
        let missing_ids = errors(&original, ElmoVersion::V2_1)
            .iter()
            .filter(|i| i.message.contains("requires at least one identifier"))
            .count();
        let added = a != {
            let mut o = original.clone();
            o.has_signature = false;
            o
        };
        assert_eq!(
            missing_ids > 0,
            added,
            "{rel}: validation names the missing identifiers"
        );
        // (Other errors are about content, such as the example's placeholder attachments,
        // not the schema: xmllint is the judge of validity below.)

        let v21 = to_xml_v21(&a);
        xmllint_validate_elmo_v21(v21.as_bytes()).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let b = read(v21.as_bytes());
        assert_eq!(b.format, ElmoFormat::V2, "{rel}");
        // 1.7 again: byte for byte what the original gives, once the deprecated credit levels
        // (which 2.1 removed) are left out of the original too.
        let mut a_no_levels = a.clone();
        for r in &mut a_no_levels.reports {
            for l in r.learning_opportunities.iter_mut() {
                strip_levels(l);
            }
        }
        assert_eq!(to_xml_v17(&b), to_xml_v17(&a_no_levels), "{rel}");
        // And as models: the same, apart from the version and the country types 2.1 adds.
        assert_eq!(without_v21_only(b), without_v21_only(a_no_levels), "{rel}");
    }
}

fn strip_levels(l: &mut emrex_elmo::LearningOpportunitySpecification) {
    if let Some(i) = l.specifies.as_mut() {
        for c in &mut i.credits {
            c.level = None;
        }
    }
    for c in &mut l.has_part {
        strip_levels(c);
    }
}

#[test]
fn an_address_with_lines_and_the_structured_form_is_an_error_not_a_silent_choice() {
    let mut elmo = read(EVERY_ELEMENT.as_bytes());
    elmo.learner.current_address = Some(Address {
        address_lines: vec!["Egnatia 12".into()],
        street_name: Some("Egnatia".into()),
        ..Address::default()
    });
    assert!(
        errors(&elmo, ElmoVersion::V2_1)
            .iter()
            .any(|i| i.path == "/elmo/learner/currentAddress")
    );
    // The lines alone are valid.
    elmo.learner.current_address = Some(Address {
        address_lines: vec!["Egnatia 12".into(), "54630 Thessaloniki".into()],
        country: Some("GR".into()),
        ..Address::default()
    });
    assert!(errors(&elmo, ElmoVersion::V2_1).is_empty());
    xmllint_validate_elmo_v21(to_xml_v21(&elmo).as_bytes()).expect("valid");
    xmllint_validate_elmo_v17(to_xml_v17(&elmo).as_bytes()).expect("valid in 1.7 too");
}

#[test]
fn an_elmo_in_an_ewp_tor_v3_response_validates() {
    let every = read(EVERY_ELEMENT.as_bytes());
    let dk = read(&read_fixture("xml/signed/dk-elmo-tomcat-signed.xml"));
    let xml = tor_get_response(&[
        Tor {
            omobility_id: "b1ab0888-a5ce-45e8-8c51-e3c6f677b58f",
            receiving_academic_year_id: "2024/2025",
            elmo: &every,
        },
        Tor {
            omobility_id: "m-2",
            receiving_academic_year_id: "2020/2021",
            elmo: &dk,
        },
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    xmllint_validate_ewp_tor_v3(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    // The oracle is really checking: the same response without receiving-academic-year-id fails.
    let broken = xml.replacen(
        "<receiving-academic-year-id>2024/2025</receiving-academic-year-id>",
        "",
        1,
    );
    assert!(xmllint_validate_ewp_tor_v3(broken.as_bytes()).is_err());
}

#[test]
fn xmllint_rejects_invalid_2_1_output() {
    let written = to_xml_v21(&read(EVERY_ELEMENT.as_bytes()));
    for (from, to) in [
        ("<code>PARTIAL_TEMPORARY</code>", "<code>PARTIAL</code>"),
        (
            "<duration>P4Y</duration>",
            "<duration>four years</duration>",
        ),
        ("<identifier type=\"local\">INF101</identifier>", ""),
    ] {
        let broken = written.replacen(from, to, 1);
        assert_ne!(broken, written, "{from}");
        assert!(
            xmllint_validate_elmo_v21(broken.as_bytes()).is_err(),
            "accepted {to:?}"
        );
    }
}
