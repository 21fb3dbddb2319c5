//! The verdict on an NCP's response (pure): read the form strictly, decode within budgets,
//! verify the signature against the certificates EMREG lists for the NCP the student was sent
//! to (SHA-1 only if that entry is flagged legacy), read ELMO from the verified tree only, bind
//! the document to this exchange by its signed `generatedDate`, and match the learner against
//! the person the exchange was started for.
//!
//! # Binding a document to its exchange
//!
//! Nothing in EMREX 1.x signs the `sessionId` into the document, so a signed transcript from an
//! earlier exchange (the student's own, kept; or someone's, captured) would verify in any later
//! exchange with the same NCP. What the signature does cover is `generatedDate`: a document
//! generated before this exchange started cannot be its answer. So a document whose
//! `generatedDate` is earlier than the exchange's start, or later than its arrival, by more
//! than the allowed clock skew ([`Window::skew`], `exchange.clock_skew`, default 5 minutes) is
//! refused as [`OutcomeKind::Stale`]; one without a readable `generatedDate` cannot be bound and
//! is refused too (fail closed). A `generatedDate` without a time zone is read as UTC with
//! another 14 hours of tolerance (the widest zone offset), since its zone is unknown. What the
//! skew leaves open: a document made for another exchange that started within the skew.

use emrex_elmo::Limits;
use emrex_elmo::{Budget, Elmo, Person, Verdict};
use emrex_xmldsig::{PinnedCert, Policy};

use crate::model::{Outcome, OutcomeKind};

/// Longest `returnMessage` kept in the outcome (the raw body keeps the whole form).
pub const MAX_RETURN_MESSAGE: usize = 1000;

/// Longest `returnCode` accepted (the codes are a dozen characters).
pub const MAX_RETURN_CODE: usize = 64;

/// Longest `sessionId` accepted (ours are 32 characters).
pub const MAX_SESSION_ID: usize = 128;

/// The form fields of a return POST.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnForm {
    pub session_id: String,
    pub return_code: String,
    pub return_message: String,
    pub elmo: String,
}

/// Why a return POST is not a well-formed EMREX response (HTTP 400, nothing recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormProblem {
    /// A field appears twice: which value counts would be a guess (and a parser differential
    /// between us and whatever sits in front of us).
    #[error("the field {0} appears more than once")]
    Duplicate(&'static str),
    #[error("the response has no sessionId")]
    NoSessionId,
    #[error("the response has no returnCode")]
    NoReturnCode,
    #[error("the field {0} is longer than allowed")]
    TooLong(&'static str),
}

impl ReturnForm {
    /// The four EMREX fields of decoded form pairs, strictly: each at most once, `sessionId`
    /// and `returnCode` present and not empty, within their lengths. Unknown fields are ignored
    /// ("additional parameters might be added", TG §4.2).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FormProblem> {
        let mut f = ReturnForm::default();
        let mut seen = [false; 4];
        for (k, v) in pairs {
            let (slot, i, name) = match k {
                "sessionId" => (&mut f.session_id, 0, "sessionId"),
                "returnCode" => (&mut f.return_code, 1, "returnCode"),
                "returnMessage" => (&mut f.return_message, 2, "returnMessage"),
                "elmo" => (&mut f.elmo, 3, "elmo"),
                _ => continue,
            };
            if seen[i] {
                return Err(FormProblem::Duplicate(name));
            }
            seen[i] = true;
            *slot = v.to_string();
        }
        if f.session_id.is_empty() {
            return Err(FormProblem::NoSessionId);
        }
        if f.session_id.chars().count() > MAX_SESSION_ID {
            return Err(FormProblem::TooLong("sessionId"));
        }
        if f.return_code.trim().is_empty() {
            return Err(FormProblem::NoReturnCode);
        }
        if f.return_code.chars().count() > MAX_RETURN_CODE {
            return Err(FormProblem::TooLong("returnCode"));
        }
        Ok(f)
    }

    /// Whether the code says results are attached (`NCP_OK`, or the IG's `EMP_OK`).
    pub fn is_ok(&self) -> bool {
        matches!(self.return_code.trim(), "NCP_OK" | "EMP_OK")
    }
}

/// When the exchange ran, for binding the document to it (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When the exchange started (Unix seconds).
    pub started_unix: i64,
    /// When the response arrived (Unix seconds).
    pub received_unix: i64,
    /// How far the NCP's clock may be off ours (seconds).
    pub skew: i64,
}

/// Extra tolerance for a `generatedDate` without a zone: the widest zone offset (14 h).
const UNZONED_TOLERANCE: i64 = 14 * 60 * 60;

/// Whether a document generated at `generated` (`xs:dateTime`) can be the answer to the
/// exchange of `window`; `Err` says why not.
pub fn bind_to_exchange(generated: &str, window: &Window) -> Result<(), String> {
    let Some((at, zoned)) = date_time_unix(generated.trim()) else {
        return Err(format!(
            "the signed document's generatedDate {:?} is not a date and time, so it cannot be bound to this exchange",
            truncate(generated, 64)
        ));
    };
    let slack = window.skew + if zoned { 0 } else { UNZONED_TOLERANCE };
    if at < window.started_unix - slack {
        return Err(format!(
            "the signed document was generated at {} ({}), before this exchange started ({}); allowed clock skew {} s: a transcript from an earlier exchange",
            truncate(generated, 64),
            at,
            window.started_unix,
            slack
        ));
    }
    if at > window.received_unix + slack {
        return Err(format!(
            "the signed document was generated at {} ({}), after it arrived ({}); allowed clock skew {} s",
            truncate(generated, 64),
            at,
            window.received_unix,
            slack
        ));
    }
    Ok(())
}

/// Unix seconds of an `xs:dateTime` and whether it carried a zone (without one it is read as
/// UTC). `None` when it is not one.
pub fn date_time_unix(s: &str) -> Option<(i64, bool)> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let p = s.get(r)?;
        p.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| p.parse().ok())
            .flatten()
    };
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 24
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let (offset, zoned) = match rest {
        "" => (0, false),
        "Z" => (0, true),
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && &z[3..4] == ":" => {
            let hh: i64 = z[1..3].parse().ok()?;
            let mm: i64 = z[4..6].parse().ok()?;
            let off = hh * 3600 + mm * 60;
            (if z.starts_with('-') { -off } else { off }, true)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        zoned,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

/// Judges a return form received in the exchange `window` ran in.
pub fn judge(
    form: &ReturnForm,
    trust: &Trust<'_>,
    person: &Person,
    budget: &Budget,
    window: &Window,
) -> Judgement {
    let mut outcome = Outcome {
        kind: OutcomeKind::NcpReturned,
        return_code: truncate(&form.return_code, MAX_RETURN_CODE),
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
    if let Err(why) = bind_to_exchange(&elmo.generated_date, window) {
        outcome.kind = OutcomeKind::Stale;
        outcome.detail = format!("signature valid, but {why}");
        return Judgement {
            outcome,
            xml: Some(xml),
            elmo: None,
        };
    }
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

    const NOW: Window = Window {
        started_unix: 1_780_000_000,
        received_unix: 1_780_000_300,
        skew: 300,
    };

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
                &NOW,
            );
            assert_eq!(j.outcome.kind, OutcomeKind::NcpReturned);
            assert!(j.outcome.detail.contains(needle), "{code}");
            assert_eq!(j.outcome.return_message.len(), MAX_RETURN_MESSAGE);
            assert!(j.xml.is_none());
        }
    }

    #[test]
    fn the_form_is_read_strictly() {
        let f = ReturnForm::from_pairs([
            ("sessionId", "a"),
            ("returnCode", "EMP_OK"),
            ("other", "x"),
            ("other", "y"),
        ])
        .expect("well formed");
        assert_eq!(f.session_id, "a");
        assert!(f.is_ok());
        assert!(!ReturnForm::default().is_ok());
        let long = "x".repeat(MAX_SESSION_ID + 1);
        for (pairs, problem) in [
            (
                vec![
                    ("sessionId", "a"),
                    ("sessionId", "b"),
                    ("returnCode", "NCP_OK"),
                ],
                FormProblem::Duplicate("sessionId"),
            ),
            (
                vec![
                    ("sessionId", "a"),
                    ("returnCode", "NCP_OK"),
                    ("elmo", "x"),
                    ("elmo", "y"),
                ],
                FormProblem::Duplicate("elmo"),
            ),
            (
                vec![
                    ("sessionId", "a"),
                    ("returnCode", "NCP_CANCEL"),
                    ("returnCode", "NCP_OK"),
                ],
                FormProblem::Duplicate("returnCode"),
            ),
            (
                vec![("sessionId", "a"), ("elmo", "H4sI")],
                FormProblem::NoReturnCode,
            ),
            (
                vec![("sessionId", "a"), ("returnCode", " "), ("elmo", "H4sI")],
                FormProblem::NoReturnCode,
            ),
            (vec![("returnCode", "NCP_OK")], FormProblem::NoSessionId),
            (
                vec![("sessionId", long.as_str()), ("returnCode", "NCP_OK")],
                FormProblem::TooLong("sessionId"),
            ),
        ] {
            assert_eq!(
                ReturnForm::from_pairs(pairs.clone()),
                Err(problem),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn date_times_read_as_unix_seconds() {
        assert_eq!(date_time_unix("1970-01-01T00:00:00Z"), Some((0, true)));
        assert_eq!(
            date_time_unix("2016-01-08T09:58:18.908+01:00"),
            Some((1_452_243_498, true))
        );
        assert_eq!(
            date_time_unix("2026-12-03T10:00:00"),
            Some((1_796_292_000, false))
        );
        assert_eq!(
            date_time_unix("2000-02-29T12:00:00-05:30"),
            Some((951_845_400, true))
        );
        for bad in [
            "",
            "2026-12-03",
            "2026-12-03T10:00",
            "2026-13-03T10:00:00Z",
            "2026-12-03T10:00:00+1",
        ] {
            assert_eq!(date_time_unix(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_document_is_bound_to_its_exchange_by_its_generated_date() {
        // NOW started at 2026-05-28T20:26:40Z and the response arrived five minutes later.
        assert_eq!(
            date_time_unix("2026-05-28T20:26:40Z"),
            Some((NOW.started_unix, true))
        );
        assert!(
            bind_to_exchange("2026-05-28T20:26:40Z", &NOW).is_ok(),
            "at the start"
        );
        assert!(
            bind_to_exchange("2026-05-28T20:21:41Z", &NOW).is_ok(),
            "within the skew"
        );
        let stale = bind_to_exchange("2026-05-28T20:21:39Z", &NOW).expect_err("before");
        assert!(stale.contains("earlier exchange"), "{stale}");
        assert!(
            bind_to_exchange("2026-05-28T20:36:40Z", &NOW).is_ok(),
            "received + skew"
        );
        assert!(
            bind_to_exchange("2026-05-28T20:36:41Z", &NOW).is_err(),
            "from the future"
        );
        // A zone moves the instant: 22:26 at +02:00 is the start.
        assert!(bind_to_exchange("2026-05-28T22:26:40+02:00", &NOW).is_ok());
        assert!(bind_to_exchange("2026-05-28T20:26:40+02:00", &NOW).is_err());
        // No zone: 14 hours more tolerance, not less checking.
        assert!(bind_to_exchange("2026-05-28T08:00:00", &NOW).is_ok());
        assert!(bind_to_exchange("2026-05-27T20:00:00", &NOW).is_err());
        for unreadable in ["", "yesterday", "2026-05-28"] {
            let e = bind_to_exchange(unreadable, &NOW).expect_err(unreadable);
            assert!(e.contains("cannot be bound"), "{e}");
        }
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
        let j = judge(
            &ok("!!!"),
            &trust,
            &Person::default(),
            &Budget::default(),
            &NOW,
        );
        assert_eq!(j.outcome.kind, OutcomeKind::Undecodable);
        let unsigned = emrex_elmo::transport::encode(
            b"<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\"/>",
        );
        let j = judge(
            &ok(&unsigned),
            &trust,
            &Person::default(),
            &Budget::default(),
            &NOW,
        );
        assert_eq!(j.outcome.kind, OutcomeKind::SignatureInvalid);
        assert!(j.xml.is_some(), "the decoded document is kept");
    }
}
