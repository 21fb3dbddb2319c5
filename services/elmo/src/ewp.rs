//! ELMO inside Erasmus Without Paper: the Transcript of Records API v3 `get-response`.
//!
//! EWP's Incoming Mobility ToRs API v3 answers with `<imobility-tors-get-response>`, one `<tor>`
//! per mobility, each embedding an ELMO 2.1.1 document. Its schema adds rules ELMO alone does
//! not have; the ones a converter can check are enforced here: the learner MUST carry
//! `dateOfBirth` (refused when missing: the receiving institution matches the student on it),
//! `omobility-id` is an EWP identifier (1–64 printable ASCII characters) and the academic year
//! is `YYYY/YYYY` with the second year equal to or one after the first. The embedded ELMO must
//! pass [`validate_for`] for 2.1 without errors, so the response validates against the EWP XSD
//! whenever this returns `Ok`. The EWP conventions that are recommendations (the `schac` issuer
//! identifier, `ewp-los-id`/`ewp-loi-id` identifiers, the `esi` learner identifier) are left to
//! [`tor_warnings`].

use crate::model::{Elmo, ElmoVersion};
use crate::validate::{Issue, Severity, validate_for};
use crate::writer::elmo_element;

/// Namespace of the ToR v3 `get-response`.
pub const NS_EWP_TORS_V3_GET: &str = "https://github.com/erasmus-without-paper/ewp-specs-api-imobility-tors/blob/stable-v3/endpoints/get-response.xsd";

/// One `<tor>` of a response.
#[derive(Debug, Clone, Copy)]
pub struct Tor<'a> {
    /// `omobility-id`: the outgoing mobility this transcript belongs to.
    pub omobility_id: &'a str,
    /// `receiving-academic-year-id`, e.g. `2024/2025`.
    pub receiving_academic_year_id: &'a str,
    /// The transcript, written as ELMO 2.1.1.
    pub elmo: &'a Elmo,
}

/// Why a ToR response could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TorError {
    #[error("tor[{index}]: the learner has no date of birth, which the EWP ToR API v3 requires")]
    MissingDateOfBirth { index: usize },
    #[error("tor[{index}]: omobility-id {value:?} is not 1-64 printable ASCII characters")]
    OmobilityId { index: usize, value: String },
    #[error(
        "tor[{index}]: receiving-academic-year-id {value:?} is not YYYY/YYYY with the second \
         year equal to or one after the first"
    )]
    AcademicYear { index: usize, value: String },
    #[error("tor[{index}]: the ELMO cannot be written as 2.1.1: {}", first_error(.issues))]
    Elmo { index: usize, issues: Vec<Issue> },
}

fn first_error(issues: &[Issue]) -> String {
    let errors: Vec<_> = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .collect();
    match errors.as_slice() {
        [] => "no error".into(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

fn is_ewp_identifier(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn is_academic_year(s: &str) -> bool {
    let Some((a, b)) = s.split_once('/') else {
        return false;
    };
    let year = |y: &str| {
        (y.len() == 4 && y.bytes().all(|c| c.is_ascii_digit()))
            .then(|| y.parse::<u32>().ok())
            .flatten()
    };
    matches!((year(a), year(b)), (Some(x), Some(y)) if y == x || y == x + 1)
}

/// The `<imobility-tors-get-response>` document for `tors` (UTF-8, with XML declaration).
pub fn tor_get_response(tors: &[Tor<'_>]) -> Result<String, TorError> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<imobility-tors-get-response xmlns=\"");
    out.push_str(NS_EWP_TORS_V3_GET);
    out.push_str("\">\n");
    for (index, t) in tors.iter().enumerate() {
        if t.elmo.learner.bday.is_none() {
            return Err(TorError::MissingDateOfBirth { index });
        }
        if !is_ewp_identifier(t.omobility_id) {
            return Err(TorError::OmobilityId {
                index,
                value: t.omobility_id.to_string(),
            });
        }
        if !is_academic_year(t.receiving_academic_year_id) {
            return Err(TorError::AcademicYear {
                index,
                value: t.receiving_academic_year_id.to_string(),
            });
        }
        let issues = validate_for(t.elmo, ElmoVersion::V2_1);
        if crate::validate::has_errors(&issues) {
            return Err(TorError::Elmo { index, issues });
        }
        out.push_str("  <tor>\n    <omobility-id>");
        // Printable ASCII without markup characters except these three.
        push_escaped(&mut out, t.omobility_id);
        out.push_str("</omobility-id>\n    <receiving-academic-year-id>");
        out.push_str(t.receiving_academic_year_id);
        out.push_str("</receiving-academic-year-id>\n");
        out.push_str(&elmo_element(t.elmo, ElmoVersion::V2_1, 2));
        out.push_str("  </tor>\n");
    }
    out.push_str("</imobility-tors-get-response>\n");
    Ok(out)
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// The EWP ToR conventions a document does not follow (warnings: the schema does not enforce
/// them, receiving institutions use them to match records).
pub fn tor_warnings(elmo: &Elmo) -> Vec<Issue> {
    let mut out = Vec::new();
    let mut warn = |path: String, message: &str| {
        out.push(Issue {
            severity: Severity::Warning,
            path,
            message: message.to_string(),
        })
    };
    if !elmo.learner.identifiers.iter().any(|i| i.id_type == "esi") {
        warn(
            "/elmo/learner/identifier".into(),
            "EWP ToR: the learner SHOULD carry an \"esi\" identifier (European Student Identifier)",
        );
    }
    for (i, r) in elmo.reports.iter().enumerate() {
        if !r.issuer.identifiers.iter().any(|id| id.id_type == "schac") {
            warn(
                format!("/elmo/report[{}]/issuer/identifier", i + 1),
                "EWP ToR: the issuer MUST be identified by its \"schac\" identifier",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn elmo() -> Elmo {
        Elmo::new(
            Learner::new("Jan", "Kowalski").with_bday("1983-01-01"),
            "2024-01-01T00:00:00Z",
        )
        .with_report(Report::new(
            Issuer::new(
                LangText::with_lang("en", "University of Warsaw"),
                Identifier::new("schac", "uw.edu.pl"),
                "https://www.uw.edu.pl",
            ),
            "2024-01-01T00:00:00Z",
        ))
    }

    #[test]
    fn checks_what_the_ewp_rules_require() {
        let e = elmo();
        let ok = Tor {
            omobility_id: "b1ab0888-a5ce",
            receiving_academic_year_id: "2024/2025",
            elmo: &e,
        };
        let xml = tor_get_response(&[ok]).expect("valid");
        assert!(xml.contains("<omobility-id>b1ab0888-a5ce</omobility-id>"));
        assert!(xml.contains("<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v2\">"));
        assert!(xml.contains("<dateOfBirth>1983-01-01</dateOfBirth>"));

        let mut no_dob = e.clone();
        no_dob.learner.bday = None;
        assert_eq!(
            tor_get_response(&[Tor {
                elmo: &no_dob,
                ..ok
            }]),
            Err(TorError::MissingDateOfBirth { index: 0 })
        );
        for bad in ["", "has space", &"x".repeat(65)] {
            assert!(matches!(
                tor_get_response(&[Tor {
                    omobility_id: bad,
                    ..ok
                }]),
                Err(TorError::OmobilityId { .. })
            ));
        }
        for bad in ["2024", "2024/2026", "2025/2024", "24/25", "2024-2025"] {
            assert!(
                matches!(
                    tor_get_response(&[Tor {
                        receiving_academic_year_id: bad,
                        ..ok
                    }]),
                    Err(TorError::AcademicYear { .. })
                ),
                "{bad}"
            );
        }
        assert!(
            tor_get_response(&[Tor {
                receiving_academic_year_id: "2024/2024",
                ..ok
            }])
            .is_ok()
        );
        let mut bad_los = e.clone();
        bad_los.reports[0]
            .learning_opportunities
            .push(LearningOpportunitySpecification::new(
                LangText::new("No id"),
                LearningOpportunityInstance::default(),
            ));
        let err = tor_get_response(&[Tor {
            elmo: &bad_los,
            ..ok
        }])
        .expect_err("no LOS id");
        assert!(
            err.to_string().contains("requires at least one identifier"),
            "{err}"
        );
        assert_eq!(tor_warnings(&e).len(), 1, "esi missing, schac present");
    }
}
