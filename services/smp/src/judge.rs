//! The verdict on an NCP's response (pure): decode within budgets, verify the signature against
//! the certificates EMREG lists for the NCP the student was sent to (SHA-1 only if that entry is
//! flagged legacy), read ELMO from the verified tree only, and match the learner against the
//! person the exchange was started for.

use emrex_elmo::Limits;
use emrex_elmo::{Budget, Elmo, Person, Verdict};
use emrex_xmldsig::{PinnedCert, Policy};

use crate::model::{Outcome, OutcomeKind};

/// Longest `returnMessage` kept.
pub const MAX_RETURN_MESSAGE: usize = 1000;

/// The form fields of a return POST.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnForm {
    pub session_id: String,
    pub return_code: String,
    pub return_message: String,
    pub elmo: String,
}

impl ReturnForm {
    /// From decoded form pairs (unknown fields ignored; the first of a repeated field wins).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut f = ReturnForm::default();
        let mut seen = [false; 4];
        for (k, v) in pairs {
            let (slot, i) = match k {
                "sessionId" => (&mut f.session_id, 0),
                "returnCode" => (&mut f.return_code, 1),
                "returnMessage" => (&mut f.return_message, 2),
                "elmo" => (&mut f.elmo, 3),
                _ => continue,
            };
            if !seen[i] {
                *slot = v.to_string();
                seen[i] = true;
            }
        }
        f
    }

    /// Whether the code says results are attached (`NCP_OK`, or the IG's `EMP_OK`).
    pub fn is_ok(&self) -> bool {
        matches!(self.return_code.trim(), "NCP_OK" | "EMP_OK")
            // The 2015 mockup sent no returnCode at all, only the document.
            || (self.return_code.trim().is_empty() && !self.elmo.trim().is_empty())
    }
}

/// The certificates and algorithm policy of the NCP the student was sent to.
#[derive(Debug, Clone)]
pub struct Trust<'a> {
    pub certificates: &'a [PinnedCert],
    pub legacy_algorithms: bool,
}

/// What [`judge`] found: the outcome, the decoded XML (kept even when it does not verify, so
/// nothing is lost) and the parsed document when it verified.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub outcome: Outcome,
    pub xml: Option<Vec<u8>>,
    pub elmo: Option<Elmo>,
}

/// Judges a return form.
pub fn judge(form: &ReturnForm, trust: &Trust<'_>, person: &Person, budget: &Budget) -> Judgement {
    let mut outcome = Outcome {
        kind: OutcomeKind::NcpReturned,
        return_code: truncate(&form.return_code, 64),
        return_message: truncate(&form.return_message, MAX_RETURN_MESSAGE),
        detail: String::new(),
        identity: None,
        signer_index: None,
    };
    if !form.is_ok() {
        outcome.detail = match form.return_code.trim() {
            "NCP_CANCEL" | "EMP_CANCEL" => "the student cancelled at the NCP".into(),
            "NCP_NO_RESULTS" | "EMP_NO_RESULTS" => "the NCP has no results for the student".into(),
            "NCP_ERROR" | "EMP_ERROR" => "the NCP reported an error".into(),
            other => format!("unknown return code {:?}", truncate(other, 64)),
        };
        return Judgement {
            outcome,
            xml: None,
            elmo: None,
        };
    }
    let xml = match emrex_elmo::transport::decode(&form.elmo, budget) {
        Ok(x) => x,
        Err(e) => {
            outcome.kind = OutcomeKind::Undecodable;
            outcome.detail = format!("the elmo parameter could not be decoded: {e}");
            return Judgement {
                outcome,
                xml: None,
                elmo: None,
            };
        }
    };
    let policy = Policy {
        allow_legacy: trust.legacy_algorithms,
        limits: Limits::default(),
    };
    let verified = match emrex_xmldsig::verify(&xml, trust.certificates, &policy) {
        Ok(v) => v,
        Err(e) => {
            outcome.kind = OutcomeKind::SignatureInvalid;
            outcome.detail = if trust.certificates.is_empty() {
                "EMREG lists no usable certificate for this NCP".into()
            } else {
                format!("the signature does not verify with the NCP's certificates: {e}")
            };
            return Judgement {
                outcome,
                xml: Some(xml),
                elmo: None,
            };
        }
    };
    outcome.signer_index = Some(verified.signer_index());
    let elmo = match emrex_elmo::from_verified(&verified) {
        Ok(e) => e,
        Err(e) => {
            outcome.kind = OutcomeKind::Undecodable;
            outcome.detail = format!("signed, but not readable as ELMO: {e}");
            return Judgement {
                outcome,
                xml: Some(xml),
                elmo: None,
            };
        }
    };
    let identity = emrex_elmo::match_elmo(person, &elmo);
    outcome.kind = match identity.verdict {
        Verdict::Match => OutcomeKind::Verified,
        Verdict::Review => OutcomeKind::IdentityReview,
        Verdict::Mismatch => OutcomeKind::IdentityMismatch,
    };
    outcome.detail = match identity.verdict {
        Verdict::Match => "signature valid; the learner is the person".into(),
        _ => {
            let reasons: Vec<String> = identity.reasons.iter().map(|r| r.message()).collect();
            format!(
                "signature valid; identity score {:.2}: {}",
                identity.score,
                reasons.join("; ")
            )
        }
    };
    outcome.identity = Some(identity);
    Judgement {
        outcome,
        xml: Some(xml),
        elmo: Some(elmo),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ok_codes_are_recorded_without_decoding() {
        for (code, needle) in [
            ("NCP_CANCEL", "cancelled"),
            ("EMP_NO_RESULTS", "no results"),
            ("NCP_ERROR", "error"),
            ("SOMETHING", "unknown return code"),
        ] {
            let j = judge(
                &ReturnForm {
                    return_code: code.into(),
                    return_message: "x".repeat(5000),
                    elmo: "garbage".into(),
                    ..Default::default()
                },
                &Trust {
                    certificates: &[],
                    legacy_algorithms: false,
                },
                &Person::default(),
                &Budget::default(),
            );
            assert_eq!(j.outcome.kind, OutcomeKind::NcpReturned);
            assert!(j.outcome.detail.contains(needle), "{code}");
            assert_eq!(j.outcome.return_message.len(), MAX_RETURN_MESSAGE);
            assert!(j.xml.is_none());
        }
    }

    #[test]
    fn form_pairs_keep_the_first_value() {
        let f = ReturnForm::from_pairs([
            ("sessionId", "a"),
            ("sessionId", "b"),
            ("returnCode", "EMP_OK"),
            ("other", "x"),
        ]);
        assert_eq!(f.session_id, "a");
        assert!(f.is_ok());
        assert!(!ReturnForm::default().is_ok());
    }

    #[test]
    fn garbage_and_unsigned_documents_are_not_verified() {
        let trust = Trust {
            certificates: &[],
            legacy_algorithms: false,
        };
        let ok = |elmo: &str| ReturnForm {
            return_code: "NCP_OK".into(),
            elmo: elmo.into(),
            ..Default::default()
        };
        let j = judge(&ok("!!!"), &trust, &Person::default(), &Budget::default());
        assert_eq!(j.outcome.kind, OutcomeKind::Undecodable);
        let unsigned = emrex_elmo::transport::encode(
            b"<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\"/>",
        );
        let j = judge(
            &ok(&unsigned),
            &trust,
            &Person::default(),
            &Budget::default(),
        );
        assert_eq!(j.outcome.kind, OutcomeKind::SignatureInvalid);
        assert!(j.xml.is_some(), "the decoded document is kept");
    }
}
