//! `emrex elmo demo`: the ELMO core end to end on a throwaway key, so a newcomer sees every step an
//! NCP and an SMP take with a transcript, and gets the files to try the other tools on.

use std::path::Path;

use emrex_elmo::{
    Credit, Elmo, Identifier, Issuer, LangText, Learner, LearningOpportunityInstance,
    LearningOpportunitySpecification, LoiStatus, Person, Report, transport,
};
use emrex_xmldsig::{PinnedCert, Policy, SignOptions, SigningKey};

use crate::input::say;
use crate::input::{Failure, Outcome};

fn fail(step: &str) -> impl Fn(String) -> Failure + '_ {
    move |e| Failure::Invalid(format!("{step}: {e}"))
}

/// The demo transcript: one student, two universities, passed, failed and in-progress courses.
pub fn demo_elmo(now: &str) -> Elmo {
    let passed = |date: &str, grade: &str, ects: &str| {
        LearningOpportunityInstance::default()
            .with_date(date)
            .with_result(grade)
            .with_status(LoiStatus::Passed)
            .with_credit(Credit::ects(ects))
    };
    let helsinki = Report::new(
        Issuer::new(
            LangText::with_lang("en", "University of Helsinki"),
            Identifier::new("schac", "helsinki.fi"),
            "https://www.helsinki.fi",
        )
        .with_country("FI")
        .with_title(LangText::with_lang("fi", "Helsingin yliopisto")),
        now,
    )
    .with_learning_opportunity(LearningOpportunitySpecification::course(
        "MAT-101",
        LangText::with_lang("en", "Linear Algebra I"),
        passed("2025-12-18", "5", "5"),
    ))
    .with_learning_opportunity(LearningOpportunitySpecification::course(
        "TKT-202",
        LangText::with_lang("en", "Data Structures and Algorithms"),
        passed("2026-05-20", "4", "10"),
    ))
    .with_learning_opportunity(LearningOpportunitySpecification::course(
        "FIN-110",
        LangText::with_lang("fi", "Suomen kieli ja viestintä"),
        LearningOpportunityInstance::default()
            .with_date("2026-03-02")
            .with_result("Hylätty")
            .with_status(LoiStatus::Failed)
            .with_credit(Credit::ects("3")),
    ));
    let uppsala = Report::new(
        Issuer::new(
            LangText::with_lang("en", "Uppsala University"),
            Identifier::new("schac", "uu.se"),
            "https://www.uu.se",
        )
        .with_country("SE"),
        now,
    )
    .with_learning_opportunity(LearningOpportunitySpecification::course(
        "1DL210",
        LangText::with_lang("sv", "Programmeringsteknik II"),
        passed("2026-01-15", "VG", "7.5"),
    ))
    .with_learning_opportunity(LearningOpportunitySpecification::course(
        "1MA025",
        LangText::with_lang("en", "Probability and Statistics"),
        LearningOpportunityInstance::default()
            .with_status(LoiStatus::InProgress)
            .with_credit(Credit::ects("5")),
    ));
    Elmo::new(
        Learner::new("Aino Åsa", "Järvinen-Øberg")
            .with_bday("2002-04-17")
            .with_citizenship("FI"),
        now,
    )
    .with_report(helsinki)
    .with_report(uppsala)
}

pub fn run(dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let write = |name: &str, bytes: &[u8]| -> Result<String, Failure> {
        let p = dir.join(name);
        std::fs::write(&p, bytes)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", p.display())))?;
        Ok(p.display().to_string())
    };

    say!("1. A throwaway signing key and self-signed certificate for a demo NCP (RSA-2048).");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map_err(|e| fail("key generation")(e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(vec!["ncp.demo.invalid".into()])
        .map_err(|e| fail("certificate")(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "EMREX demo NCP (throwaway key)");
    let cert = params
        .self_signed(&key)
        .map_err(|e| fail("certificate")(e.to_string()))?;
    // The key is throwaway, but a key all the same: owner-only, like every key this binary writes.
    let key_path = dir.join("ncp-key.pem");
    crate::private_file::write_private(&key_path, key.serialize_pem().as_bytes())
        .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", key_path.display())))?;
    let key_path = key_path.display().to_string();
    let cert_path = write("ncp-cert.pem", cert.pem().as_bytes())?;
    say!("   {key_path}\n   {cert_path}");
    let signing_key = SigningKey::from_pem(key.serialize_pem().as_bytes(), cert.pem().as_bytes())
        .map_err(|e| fail("loading the key")(e.to_string()))?;

    say!("2. The NCP builds an ELMO v1.7 transcript of the courses the student selected.");
    let now = emrex_elmo::dates::format_date_time_utc(std::time::SystemTime::now());
    let elmo = demo_elmo(&now);
    let xml = emrex_elmo::to_xml_v17(&elmo);
    let unsigned_path = write("transcript-unsigned.xml", xml.as_bytes())?;
    let issues = emrex_elmo::validate(&elmo);
    say!(
        "   {unsigned_path} ({} bytes; {} validation warning(s), e.g. no PDF transcript yet: {})",
        xml.len(),
        issues.len(),
        issues.first().map(|i| i.message.as_str()).unwrap_or("none")
    );

    say!("3. It signs the document: an enveloped XML signature, RSA-SHA256, inclusive C14N.");
    let signed = emrex_xmldsig::sign(xml.as_bytes(), &signing_key, &SignOptions::default())
        .map_err(|e| fail("signing")(e.to_string()))?;
    say!("   {}", write("transcript-signed.xml", &signed)?);

    say!("4. It encodes it as the `elmo` form parameter (gzip + base64) for the browser to POST.");
    let param = transport::encode(&signed);
    say!(
        "   {} ({} characters for {} bytes of XML)",
        write("elmo-param.txt", param.as_bytes())?,
        param.len(),
        signed.len()
    );

    say!("5. The SMP decodes it with budgets and gets back exactly the signed bytes.");
    let decoded = transport::decode(&param, &transport::Budget::default())
        .map_err(|e| fail("decoding")(e.to_string()))?;
    if decoded != signed {
        return Err(Failure::Invalid(
            "decoded bytes differ from the signed bytes".into(),
        ));
    }
    say!("   identical: yes");

    say!("6. It verifies the signature against the certificate EMREG lists for this NCP.");
    let pinned = PinnedCert::from_pem_or_der(cert.pem().as_bytes())
        .map_err(|e| fail("certificate")(e.to_string()))?;
    let verified =
        emrex_xmldsig::verify(&decoded, std::slice::from_ref(&pinned), &Policy::default())
            .map_err(|e| fail("verification")(e.to_string()))?;
    let received =
        emrex_elmo::from_verified(&verified).map_err(|e| fail("reading ELMO")(e.to_string()))?;
    say!(
        "   valid: signed by {} ({:?}); {} report(s)",
        verified.signer().subject(),
        verified.algorithms().signature,
        received.reports.len()
    );

    say!("7. A forger changes a grade: the same check refuses it.");
    let forged = String::from_utf8_lossy(&decoded).replacen(
        "<resultLabel>4</resultLabel>",
        "<resultLabel>5</resultLabel>",
        1,
    );
    match emrex_xmldsig::verify(
        forged.as_bytes(),
        std::slice::from_ref(&pinned),
        &Policy::default(),
    ) {
        Err(e) => say!("   refused: {e}"),
        Ok(_) => return Err(Failure::Invalid("a forged document verified".into())),
    }

    say!("8. It matches the learner against the student who started the exchange.");
    let expected = Person {
        given_names: "Aino Asa".into(),
        family_name: "Jarvinen-Oberg".into(),
        birth_date: Some("2002-04-17".into()),
    };
    let m = emrex_elmo::match_elmo(&expected, &received);
    say!(
        "   {:?} (score {:.2}): {}",
        m.verdict,
        m.score,
        m.reasons
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );

    let summary = serde_json::to_string_pretty(&emrex_elmo::summarize(&received))
        .map_err(|e| fail("summary")(e.to_string()))?;
    say!("9. Summary: {}", write("summary.json", summary.as_bytes())?);
    say!(
        "\nTry the tools on these files, e.g.\n  emrex elmo verify --cert {cert_path} {}\n  emrex elmo inspect {}",
        dir.join("elmo-param.txt").display(),
        dir.join("transcript-signed.xml").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_transcript_is_valid_elmo() {
        let elmo = demo_elmo("2026-11-29T10:00:00Z");
        let issues = emrex_elmo::validate(&elmo);
        assert!(!emrex_elmo::validate::has_errors(&issues), "{issues:?}");
        let back = emrex_elmo::parse(
            emrex_elmo::to_xml_v17(&elmo).as_bytes(),
            &Default::default(),
        )
        .expect("parse");
        assert_eq!(back.reports.len(), 2);
    }
}
