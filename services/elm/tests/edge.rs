//! Edge and hostile input: empty documents, the bare minimum, ELMO 2.1-only data, every status,
//! pathological trees and attachments. Each case either maps to something specific or is reported
//! as not mapped (or refused) — never silently dropped, never a panic.

use emrex_elm::model::Claim;
use emrex_elm::{Conversion, ElmError, Limits, Options, convert};
use emrex_elmo::{
    Attachment, AttachmentContent, Credit, Elmo, Issuer, LangText, Learner,
    LearningOpportunityInstance, LearningOpportunitySpecification, LoiStatus, Report,
};
use serde_json::Value;

fn issuer() -> Issuer {
    Issuer::new(
        LangText::with_lang("en", "University of Test"),
        emrex_elmo::Identifier::new("schac", "test.example"),
        "https://test.example/",
    )
    .with_country("NO")
}

fn course(title: &str, status: LoiStatus) -> LearningOpportunitySpecification {
    LearningOpportunitySpecification::course(
        title.to_lowercase(),
        LangText::with_lang("en", title),
        LearningOpportunityInstance::default()
            .with_status(status)
            .with_date("2024-06-01")
            .with_result("B")
            .with_credit(Credit::ects("7.5")),
    )
}

fn elmo_with(los: Vec<LearningOpportunitySpecification>) -> Elmo {
    let mut report = Report::new(issuer(), "2024-06-02T10:00:00+02:00");
    report.learning_opportunities = los;
    Elmo::new(
        Learner::new("Kari", "Nordmann").with_bday("2000-01-31"),
        "2024-06-03T12:00:00Z",
    )
    .with_report(report)
}

fn ok(elmo: &Elmo) -> (Conversion, Value) {
    let conv = convert(elmo, &Options::default()).expect("convert");
    let json = serde_json::to_value(&conv.credential).expect("json");
    (conv, json)
}

fn reported(conv: &Conversion, path_end: &str) -> bool {
    conv.not_mapped.iter().any(|n| n.path.ends_with(path_end))
}

#[test]
fn no_report_or_no_learning_opportunity_is_refused() {
    let mut empty = elmo_with(Vec::new());
    assert_eq!(
        convert(&empty, &Options::default()).map(|_| ()),
        Err(ElmError::NoClaims)
    );
    empty.reports.clear();
    assert_eq!(
        convert(&empty, &Options::default()).map(|_| ()),
        Err(ElmError::NoReports)
    );
}

#[test]
fn the_bare_minimum_maps_without_optional_fields() {
    let mut bare = LearningOpportunitySpecification::new(
        LangText::new("Only a title"),
        LearningOpportunityInstance::default(),
    );
    // An empty `<extension/>` (real documents have them) loses nothing: not reported.
    bare.extension = Some(emrex_elmo::Extension::default());
    let mut elmo = elmo_with(vec![bare]);
    elmo.learner = Learner::new("A", "B");
    elmo.generated_date = String::new();
    elmo.reports[0].issuer = Issuer::default();
    elmo.reports[0].issue_date = String::new();
    let (conv, json) = ok(&elmo);
    assert!(conv.not_mapped.is_empty(), "{:#?}", conv.not_mapped);
    let subject = &json["credentialSubject"];
    assert_eq!(subject["givenName"]["und"], "A");
    assert!(subject.get("dateOfBirth").is_none());
    assert!(json.get("issuanceDate").is_none() && json.get("issued").is_none());
    let claim = &subject["hasClaim"][0];
    // Absent status is "passed" (ELMO's default): an achievement, graded "pass", no grade text.
    assert_eq!(claim["type"], "LearningAchievement");
    assert_eq!(claim["title"]["und"], "Only a title");
    assert!(claim.get("creditReceived").is_none() && claim.get("influencedBy").is_none());
    assert!(claim["provenBy"][0].get("grade").is_none());
    assert_eq!(
        claim["provenBy"][0]["gradeStatus"]["prefLabel"]["en"],
        "pass"
    );
    assert!(json.get("attachment").is_none());
    // The issuer has no name: the organisation is there, but without empty maps.
    assert_eq!(json["issuer"]["type"], "Organisation");
    assert!(json["issuer"].get("legalName").is_none());
}

#[test]
fn elmo_2_1_only_data_is_mapped_or_reported() {
    let xml = std::fs::read("../elmo/tests/data/elmo-2.1.1-every-element.xml").expect("fixture");
    let elmo = emrex_elmo::parse(&xml, &Default::default()).expect("parse");
    let (conv, json) = ok(&elmo);
    let subject = &json["credentialSubject"];
    // Mapped: the name in Greek script, the country of birth given as an authority URI.
    assert_eq!(subject["fullName"]["el"], "Γεώργιος Παπαδόπουλος");
    assert_eq!(
        subject["placeOfBirth"][0]["address"][0]["countryCode"]["id"],
        "http://publications.europa.eu/resource/authority/country/GRC"
    );
    // Reported: recognition, enrolment, duration, report status.
    for field in ["/resultOfRecognition", "/enrolment", "/duration", "/status"] {
        assert!(
            reported(&conv, field),
            "{field} not reported: {:#?}",
            conv.not_mapped
        );
    }
    // The PDF attachment is carried once, with its decoded size.
    let att = &json["attachment"][0];
    assert_eq!(att["content"], "JVBERi0xLjQK");
    assert_eq!(att["contentSize"], 9);
    assert_eq!(
        att["contentType"]["id"],
        "http://publications.europa.eu/resource/authority/file-type/PDF"
    );
}

fn claim_kinds(claims: &[Claim]) -> Vec<String> {
    claims
        .iter()
        .map(|c| {
            let kind = match c {
                Claim::Achievement(_) => "achievement",
                Claim::Activity(_) => "activity",
                Claim::Assessment(_) => "assessment",
            };
            format!("{kind}({})", claim_kinds(c.parts()).join(","))
        })
        .collect()
}

#[test]
fn statuses_choose_the_claim_type_and_keep_the_tree() {
    let programme = LearningOpportunitySpecification::new(
        LangText::with_lang("en", "Bachelor of Tests"),
        LearningOpportunityInstance::default().with_status(LoiStatus::InProgress),
    )
    .with_type("Degree Programme")
    .with_part(course("Passed", LoiStatus::Passed))
    .with_part(course("Failed", LoiStatus::Failed))
    .with_part(
        LearningOpportunitySpecification::new(
            LangText::with_lang("en", "Odd"),
            LearningOpportunityInstance::default().with_status(LoiStatus::Other("maybe".into())),
        )
        .with_part(course("Nested", LoiStatus::Passed)),
    );
    let (conv, json) = ok(&elmo_with(vec![programme]));
    assert_eq!(
        claim_kinds(&conv.credential.credential_subject.has_claim),
        ["activity(achievement(),assessment(),achievement())"]
    );
    // The failed course carries its grade but no pass status and no credits received.
    let failed = &json["credentialSubject"]["hasClaim"][0]["hasPart"][1];
    assert_eq!(failed["type"], "LearningAssessment");
    assert_eq!(failed["grade"]["noteLiteral"]["und"], "B");
    assert!(failed.get("gradeStatus").is_none());
    assert!(reported(
        &conv,
        "hasPart[1]/specifies/learningOpportunityInstance/credit"
    ));
    // The unknown status is reported, its child lifted into its place.
    assert!(reported(
        &conv,
        "hasPart[2]/specifies/learningOpportunityInstance/status"
    ));
    // A passed course: ECTS credits received, the date as xsd:dateTime.
    let passed = &json["credentialSubject"]["hasClaim"][0]["hasPart"][0];
    assert_eq!(passed["creditReceived"][0]["point"], "7.5");
    assert_eq!(passed["awardedBy"]["awardingDate"], "2024-06-01T00:00:00");
    assert_eq!(passed["specifiedBy"]["category"]["en"], "Course");
    // The path DC4EU's SD-JWT VC type metadata (vct urn:eudi:elm:1) names.
    assert_eq!(
        passed["awardedBy"]["awardingBody"]["legalName"]["en"],
        "University of Test"
    );
}

#[test]
fn pathological_trees_are_refused() {
    let mut deep = course("Leaf", LoiStatus::Passed);
    for i in 0..40 {
        deep = course(&format!("Level {i}"), LoiStatus::Passed).with_part(deep);
    }
    assert_eq!(
        convert(&elmo_with(vec![deep]), &Options::default()).map(|_| ()),
        Err(ElmError::TooDeep { limit: 16 })
    );
    let wide: Vec<_> = (0..30)
        .map(|i| course(&format!("C{i}"), LoiStatus::Passed))
        .collect();
    let options = Options {
        limits: Limits {
            max_claims: 25,
            ..Limits::default()
        },
        ..Options::default()
    };
    assert!(matches!(
        convert(&elmo_with(wide), &options),
        Err(ElmError::TooManyClaims { limit: 25, .. })
    ));
}

fn with_attachment(elmo: &mut Elmo, media: &str, data: &str) {
    elmo.attachments.push(Attachment {
        titles: vec![LangText::with_lang("en", "Transcript")],
        contents: vec![AttachmentContent {
            lang: None,
            data: format!("data:{media};base64,{data}"),
        }],
        ..Attachment::default()
    });
}

#[test]
fn attachments_are_copied_once_within_budget_or_reported() {
    let mut elmo = elmo_with(vec![course("Course", LoiStatus::Passed)]);
    let pdf = "JVBERi0xLjcKJcfsj6IK".repeat(50);
    with_attachment(&mut elmo, "application/pdf", &pdf);
    with_attachment(&mut elmo, "text/html", "PGI+aGk8L2I+");
    with_attachment(&mut elmo, "application/pdf", "not base64!");
    with_attachment(&mut elmo, "application/pdf", &"QUFB".repeat(1000));
    let options = Options {
        limits: Limits {
            max_attachment_bytes: 2000,
            ..Limits::default()
        },
        ..Options::default()
    };
    let conv = convert(&elmo, &options).expect("convert");
    let text = serde_json::to_string(&conv.credential).expect("json");
    assert_eq!(text.matches(&pdf).count(), 1, "the PDF once");
    assert_eq!(conv.credential.attachment.len(), 1);
    assert_eq!(conv.credential.attachment[0].content_size, 750);
    let reasons: Vec<&str> = conv
        .not_mapped
        .iter()
        .filter(|n| n.path.starts_with("attachment["))
        .map(|n| n.reason)
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("media type")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("not valid base64")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("max_attachment_bytes")),
        "{reasons:?}"
    );
    // Switched off: nothing copied, and that is said.
    let off = Options {
        attachments: false,
        ..Options::default()
    };
    let conv = convert(&elmo, &off).expect("convert");
    assert!(conv.credential.attachment.is_empty());
    assert!(conv.not_mapped.iter().any(|n| n.path == "attachment"));
}

#[test]
fn conversion_is_deterministic_and_options_apply() {
    let elmo = elmo_with(vec![course("Course", LoiStatus::Passed)]);
    let a = serde_json::to_string(&convert(&elmo, &Options::default()).expect("a").credential);
    let b = serde_json::to_string(&convert(&elmo, &Options::default()).expect("b").credential);
    assert_eq!(a.expect("a"), b.expect("b"));
    let options = Options {
        credential_id: Some("urn:uuid:00000000-0000-4000-8000-000000000000".into()),
        issuance_date: Some("2025-01-01T00:00:00Z".into()),
        ..Options::default()
    };
    let json = serde_json::to_value(convert(&elmo, &options).expect("c").credential).expect("json");
    assert_eq!(json["id"], "urn:uuid:00000000-0000-4000-8000-000000000000");
    assert_eq!(json["issuanceDate"], "2025-01-01T00:00:00Z");
    assert_eq!(json["validFrom"], "2025-01-01T00:00:00Z");
    assert_eq!(json["issued"], "2024-06-02T10:00:00+02:00");
    assert_eq!(
        json["credentialSubject"]["dateOfBirth"],
        "2000-01-31T00:00:00"
    );
}

#[test]
fn invalid_codes_and_dates_are_reported_not_invented() {
    let mut elmo = elmo_with(vec![course("Course", LoiStatus::Passed)]);
    elmo.learner.bday = Some("31.01.2000".into());
    elmo.learner.citizenship = Some("XX".into());
    elmo.learner.gender = Some("9".into());
    if let Some(inst) = elmo.reports[0].learning_opportunities[0].specifies.as_mut() {
        inst.language_of_instruction = Some("xx".into());
        inst.date = Some("yesterday".into());
    }
    elmo.reports[0].learning_opportunities[0].isced_code = Some("ISCED 6".into());
    // A grading scheme no result refers to.
    elmo.reports[0]
        .grading_schemes
        .push(emrex_elmo::GradingScheme {
            local_id: "unused".into(),
            descriptions: vec![LangText::new("never referenced")],
        });
    let mut failed = course("Failed", LoiStatus::Failed);
    failed.isced_code = Some("0613".into());
    elmo.reports[0].learning_opportunities.push(failed);
    let (conv, json) = ok(&elmo);
    assert!(
        reported(&conv, "report[0]/gradingScheme[0]"),
        "{:#?}",
        conv.not_mapped
    );
    // A failed course has no specification: its ISCED code is reported, not dropped.
    assert!(
        reported(&conv, "learningOpportunitySpecification[1]/iscedCode"),
        "{:#?}",
        conv.not_mapped
    );
    for field in [
        "learner/bday",
        "learner/citizenship",
        "learner/gender",
        "/languageOfInstruction",
        "learningOpportunityInstance/date",
        "/iscedCode",
    ] {
        assert!(reported(&conv, field), "{field}: {:#?}", conv.not_mapped);
    }
    let subject = &json["credentialSubject"];
    assert!(subject.get("dateOfBirth").is_none() && subject.get("citizenshipCountry").is_none());
    assert!(
        subject["hasClaim"][0]["awardedBy"]
            .get("awardingDate")
            .is_none()
    );
}
