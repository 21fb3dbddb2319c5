//! A compact overview of a document, for `emrex elmo inspect` and logs.

use serde::Serialize;

use crate::model::{Elmo, ElmoFormat, Identifier, Report, pick_lang};

/// Attachments larger than this are reported with an error instead of a size.
pub const SUMMARY_MAX_ATTACHMENT_BYTES: usize = 64 * 1024 * 1024;

/// Overview of one document (see [`summarize`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub format: ElmoFormat,
    pub namespace: String,
    pub generated_date: String,
    pub learner: LearnerSummary,
    pub reports: Vec<ReportSummary>,
    /// Top-level attachments first, then each report's.
    pub attachments: Vec<AttachmentSummary>,
    pub has_signature: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnerSummary {
    pub given_names: String,
    pub family_name: String,
    pub bday: Option<String>,
    pub citizenship: Option<String>,
    pub identifiers: Vec<Identifier>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportSummary {
    /// English title if there is one, else the first.
    pub issuer_title: Option<String>,
    pub issuer_identifiers: Vec<Identifier>,
    pub issuer_country: Option<String>,
    pub issue_date: String,
    /// Learning opportunities in the whole `hasPart` tree.
    pub learning_opportunities: usize,
    /// Credits summed per scheme (scheme compared case-insensitively, reported lower-case).
    pub credits: Vec<CreditTotal>,
    /// ELMO 2.1 report status code (`FULL`, `SELECTION`, `PARTIAL_*`, `ERROR_*`), if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// ELMO 2.1 recognition decisions (`resultOfRecognition`) of the report.
    #[serde(skip_serializing_if = "is_zero")]
    pub recognitions: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Sum of the credit values of one scheme over every instance of a report, each instance
/// counted once. Note that ELMO lets a degree carry its total *and* its courses carry theirs,
/// so this is a sum of what is written, not necessarily of what was earned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreditTotal {
    pub scheme: String,
    /// Exact decimal sum, trailing zeros removed (`"157.5"`).
    pub total: String,
    /// Credit entries summed.
    pub count: usize,
    /// Entries of this scheme whose value is missing or not a decimal (not summed).
    pub invalid: usize,
}

/// Where an attachment sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentLevel {
    Top,
    Report,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentSummary {
    pub level: AttachmentLevel,
    /// Index of the report (0-based) for report-level attachments.
    pub report: Option<usize>,
    #[serde(rename = "type")]
    pub attachment_type: Option<String>,
    pub title: Option<String>,
    pub contents: Vec<ContentSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentSummary {
    pub lang: Option<String>,
    pub media_type: Option<String>,
    /// Decoded size; `None` when the `data:` URI could not be decoded (see `error`).
    pub size_bytes: Option<usize>,
    pub error: Option<String>,
}

/// Builds the overview.
pub fn summarize(elmo: &Elmo) -> Summary {
    let l = &elmo.learner;
    Summary {
        format: elmo.format.clone(),
        namespace: elmo.format.namespace().to_string(),
        generated_date: elmo.generated_date.clone(),
        learner: LearnerSummary {
            given_names: l.given_names.clone(),
            family_name: l.family_name.clone(),
            bday: l.bday.clone(),
            citizenship: l.citizenship.clone(),
            identifiers: l.identifiers.clone(),
        },
        reports: elmo.reports.iter().map(report).collect(),
        attachments: elmo
            .all_attachments()
            .map(|(report, a)| AttachmentSummary {
                level: if report.is_some() {
                    AttachmentLevel::Report
                } else {
                    AttachmentLevel::Top
                },
                report,
                attachment_type: a.attachment_type.clone(),
                title: pick_lang(&a.titles, "en").map(str::to_string),
                contents: a
                    .contents
                    .iter()
                    .map(|c| {
                        let decoded = c.decode(SUMMARY_MAX_ATTACHMENT_BYTES);
                        ContentSummary {
                            lang: c.lang.clone(),
                            media_type: c.media_type(),
                            size_bytes: decoded.as_ref().ok().map(|d| d.bytes.len()),
                            error: decoded.err().map(|e| e.to_string()),
                        }
                    })
                    .collect(),
            })
            .collect(),
        has_signature: elmo.has_signature,
    }
}

fn report(r: &Report) -> ReportSummary {
    let mut totals: Vec<(String, Decimal, usize, usize)> = Vec::new();
    let mut count = 0;
    for los in r.all_learning_opportunities() {
        count += 1;
        let Some(loi) = &los.specifies else { continue };
        for c in &loi.credits {
            let scheme = c.scheme.to_lowercase();
            let idx = match totals.iter().position(|t| t.0 == scheme) {
                Some(i) => i,
                None => {
                    totals.push((scheme, Decimal::ZERO, 0, 0));
                    totals.len() - 1
                }
            };
            let entry = &mut totals[idx];
            match c.value.as_deref().and_then(Decimal::parse) {
                Some(v) => match entry.1.checked_add(v) {
                    Some(sum) => {
                        entry.1 = sum;
                        entry.2 += 1;
                    }
                    None => entry.3 += 1,
                },
                None => entry.3 += 1,
            }
        }
    }
    totals.sort_by(|a, b| a.0.cmp(&b.0));
    ReportSummary {
        issuer_title: pick_lang(&r.issuer.titles, "en").map(str::to_string),
        issuer_identifiers: r.issuer.identifiers.clone(),
        issuer_country: r.issuer.country.clone(),
        issue_date: r.issue_date.clone(),
        learning_opportunities: count,
        credits: totals
            .into_iter()
            .map(|(scheme, total, count, invalid)| CreditTotal {
                scheme,
                total: total.to_string(),
                count,
                invalid,
            })
            .collect(),
        status: r.status.as_ref().map(|s| s.code.clone()),
        recognitions: r.results_of_recognition.len(),
    }
}

/// Exact decimal arithmetic for summing credits (`10.000 + 7.5` must be `17.5`, not a float).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    const ZERO: Decimal = Decimal { units: 0, scale: 0 };
    const MAX_SCALE: u32 = 18;

    /// Parses `xs:decimal` lexical forms; `None` for anything else or absurd precision.
    fn parse(s: &str) -> Option<Decimal> {
        if !crate::codes::is_decimal(s) {
            return None;
        }
        let (neg, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let frac = frac.trim_end_matches('0');
        let scale = u32::try_from(frac.len()).ok()?;
        if scale > Self::MAX_SCALE || int.trim_start_matches('0').len() > 20 {
            return None;
        }
        let digits = format!("{int}{frac}");
        let units: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(Decimal {
            units: if neg { -units } else { units },
            scale,
        })
    }

    fn rescale(self, scale: u32) -> Option<i128> {
        self.units
            .checked_mul(10i128.checked_pow(scale - self.scale)?)
    }

    fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        Some(Decimal {
            units: self.rescale(scale)?.checked_add(other.rescale(scale)?)?,
            scale,
        })
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (mut units, mut scale) = (self.units, self.scale);
        while scale > 0 && units % 10 == 0 {
            units /= 10;
            scale -= 1;
        }
        let sign = if units < 0 { "-" } else { "" };
        let abs = units.unsigned_abs().to_string();
        if scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let scale = scale as usize;
        let padded = format!("{abs:0>width$}", width = scale + 1);
        let (i, d) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{i}.{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::parse::parse;
    use crate::testutil::fixture;
    use emrex_xmldsig::dom::Limits;

    #[test]
    fn decimals() {
        let d = |s: &str| Decimal::parse(s).expect(s);
        let sum = |xs: &[&str]| {
            xs.iter()
                .try_fold(Decimal::ZERO, |acc, x| acc.checked_add(d(x)))
                .expect("sum")
                .to_string()
        };
        assert_eq!(sum(&["10.000", "5.0000", "7.5"]), "22.5");
        assert_eq!(sum(&["0.1", "0.2"]), "0.3");
        assert_eq!(sum(&["-1.5", "1"]), "-0.5");
        assert_eq!(sum(&[".5", "5."]), "5.5");
        assert_eq!(sum(&["0.05"]), "0.05");
        assert_eq!(Decimal::parse("1,5"), None);
        assert_eq!(Decimal::parse("-"), None);
    }

    #[test]
    fn example_v17() {
        let e = parse(
            &fixture("xml/elmo-schemas-examples/example-v1.7.0.xml"),
            &Limits::default(),
        )
        .expect("parse");
        let s = summarize(&e);
        assert_eq!(s.learner.family_name, "Rygielski");
        assert_eq!(
            s.reports[0].issuer_title.as_deref(),
            Some("University of Warsaw")
        );
        assert_eq!(s.reports[0].learning_opportunities, 6);
        // ECTS 120 + 15 and ects 6 merge into one scheme.
        assert_eq!(
            s.reports[0].credits,
            vec![CreditTotal {
                scheme: "ects".into(),
                total: "141".into(),
                count: 3,
                invalid: 0
            }]
        );
        assert_eq!(s.attachments.len(), 3);
        assert_eq!(s.attachments[0].level, AttachmentLevel::Top);
        assert_eq!(
            s.attachments[0].attachment_type.as_deref(),
            Some("EMREX transcript")
        );
        assert_eq!(s.attachments[0].contents.len(), 2);
        assert_eq!(
            s.attachments[0].contents[0].media_type.as_deref(),
            Some("application/pdf")
        );
        // The example's payload is a placeholder ("...") and does not decode.
        assert!(s.attachments[0].contents[0].error.is_some());
        assert_eq!(s.attachments[1].report, Some(0));
        assert!(s.has_signature);
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["format"]["kind"], "v1");
    }

    #[test]
    fn real_attachment_sizes_and_dk_decimals() {
        let e = parse(
            &fixture("xml/negative/no-emrex-1.0-signature-broken.xml"),
            &Limits::default(),
        )
        .expect("parse");
        let s = summarize(&e);
        let c = &s.attachments[0].contents[0];
        assert_eq!(c.media_type.as_deref(), Some("application/pdf"));
        assert!(c.size_bytes.is_some_and(|n| n > 1000), "{c:?}");

        let e = parse(
            &fixture("xml/signed/dk-weblogic-fixed-ns0-prefixed.xml"),
            &Limits::default(),
        )
        .expect("parse");
        let credits = &summarize(&e).reports[0].credits;
        assert_eq!(credits.len(), 1);
        assert_eq!(credits[0].scheme, "ects");
        // 4 × "10.000" + "5.0000"
        assert_eq!(credits[0].total, "45");
        assert_eq!(credits[0].count, 5);
    }

    #[test]
    fn built_document() {
        let loi = |v: &str| LearningOpportunityInstance::default().with_credit(Credit::ects(v));
        let e = Elmo::new(Learner::new("A", "B"), "2020-01-01T00:00:00Z").with_report(
            Report::new(
                Issuer::new(LangText::new("U"), Identifier::new("pic", "1"), "u"),
                "2020-01-01T00:00:00Z",
            )
            .with_learning_opportunity(
                LearningOpportunitySpecification::course("c1", LangText::new("C1"), loi("5"))
                    .with_part(LearningOpportunitySpecification::new(
                        LangText::new("part"),
                        loi("x"),
                    )),
            )
            .with_learning_opportunity(LearningOpportunitySpecification::course(
                "c2",
                LangText::new("C2"),
                LearningOpportunityInstance::default().with_credit(Credit::new("ECTS", "2.5")),
            )),
        );
        let r = &summarize(&e).reports[0];
        assert_eq!(r.learning_opportunities, 3);
        assert_eq!(
            r.credits,
            vec![CreditTotal {
                scheme: "ects".into(),
                total: "7.5".into(),
                count: 2,
                invalid: 1
            }]
        );
    }
}
