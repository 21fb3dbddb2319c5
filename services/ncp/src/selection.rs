//! What the student may send, and the ELMO document for what they chose (pure functions).
//!
//! Every learning opportunity of every report gets a stable key (`r{report}-{n}`, `n` counting
//! depth first through `hasPart`). The selection page lists the *offered* ones:
//!
//! * with `allowNotPassedCourses=false`, only results whose effective status is `passed`;
//! * with `allowToPickCourses=false`, everything offered is sent (no checkboxes).
//!
//! Building the response keeps the tree where it can: a selected node keeps its selected
//! descendants as `hasPart`; a selected node whose ancestors were not selected is lifted to the
//! top level of its report (a degree programme the student did not choose is not sent just
//! because two of its courses were). Reports left empty are dropped.

use std::collections::BTreeSet;

use emrex_elmo::model::{Elmo, LearningOpportunitySpecification, LoiStatus, Report, pick_lang};

/// One result the student can choose.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offer {
    /// The form value (`r0-3`).
    pub key: String,
    /// Report index.
    pub report: usize,
    /// Nesting depth (0 = top level of the report).
    pub depth: usize,
    /// Title in the page's language (falling back to any title).
    pub title: String,
    /// `Course`, `Module`, … when given.
    pub kind: Option<String>,
    /// Completion date.
    pub date: Option<String>,
    /// Grade as written.
    pub result: Option<String>,
    /// ECTS credits as written.
    pub credits: Option<String>,
    /// Effective status.
    pub status: LoiStatus,
}

/// The results of one student as offered to them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offers {
    /// Every offered result, report by report, depth first.
    pub items: Vec<Offer>,
    /// Report titles (issuer names) in the page's language, by report index.
    pub reports: Vec<String>,
}

impl Offers {
    /// All offered keys.
    pub fn keys(&self) -> BTreeSet<String> {
        self.items.iter().map(|o| o.key.clone()).collect()
    }
}

/// Lists what may be sent from `elmo` under the `allow_not_passed` rule, titles in `lang`.
pub fn offers(elmo: &Elmo, allow_not_passed: bool, lang: &str) -> Offers {
    let mut items = Vec::new();
    let mut reports = Vec::new();
    for (r, report) in elmo.reports.iter().enumerate() {
        reports.push(
            pick_lang(&report.issuer.titles, lang)
                .unwrap_or("(unnamed institution)")
                .to_string(),
        );
        let mut n = 0;
        for los in &report.learning_opportunities {
            walk(los, r, 0, &mut n, &mut |los, key, depth| {
                let status = los
                    .specifies
                    .as_ref()
                    .map(|i| i.effective_status())
                    .unwrap_or(LoiStatus::Passed);
                if !allow_not_passed && status != LoiStatus::Passed {
                    return;
                }
                let loi = los.specifies.as_ref();
                items.push(Offer {
                    key,
                    report: r,
                    depth,
                    title: pick_lang(&los.titles, lang)
                        .unwrap_or("(untitled)")
                        .to_string(),
                    kind: los.los_type.clone(),
                    date: loi.and_then(|i| i.date.clone()),
                    result: loi.and_then(|i| i.result_label.clone()),
                    credits: loi.and_then(|i| {
                        i.credits
                            .iter()
                            .find(|c| c.is_ects())
                            .and_then(|c| c.value.clone())
                    }),
                    status,
                });
            });
        }
    }
    Offers { items, reports }
}

fn walk(
    los: &LearningOpportunitySpecification,
    report: usize,
    depth: usize,
    n: &mut usize,
    f: &mut impl FnMut(&LearningOpportunitySpecification, String, usize),
) {
    let key = format!("r{report}-{n}");
    *n += 1;
    f(los, key, depth);
    for child in &los.has_part {
        walk(child, report, depth + 1, n, f);
    }
}

/// Why a selection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// A key that was never offered (tampered form).
    #[error("the selection names a result that was not offered")]
    NotOffered,
}

/// The document to send: `elmo` restricted to `selected` (keys from [`offers`]). Keys must be
/// among the offered ones; an empty selection yields a document with no reports.
pub fn select(
    elmo: &Elmo,
    offered: &BTreeSet<String>,
    selected: &BTreeSet<String>,
) -> Result<Elmo, SelectionError> {
    if !selected.is_subset(offered) {
        return Err(SelectionError::NotOffered);
    }
    let mut out = Elmo {
        reports: Vec::new(),
        ..elmo.clone()
    };
    for (r, report) in elmo.reports.iter().enumerate() {
        let mut n = 0;
        let mut kept = Vec::new();
        for los in &report.learning_opportunities {
            kept.extend(prune(los, r, &mut n, selected));
        }
        if !kept.is_empty() {
            out.reports.push(Report {
                learning_opportunities: kept,
                ..report.clone()
            });
        }
    }
    Ok(out)
}

/// The selected nodes under (and including) `los`: the node itself with its selected
/// descendants when it is selected, else its selected descendants lifted.
fn prune(
    los: &LearningOpportunitySpecification,
    report: usize,
    n: &mut usize,
    selected: &BTreeSet<String>,
) -> Vec<LearningOpportunitySpecification> {
    let key = format!("r{report}-{n}");
    *n += 1;
    let children: Vec<_> = los
        .has_part
        .iter()
        .flat_map(|c| prune(c, report, n, selected))
        .collect();
    if selected.contains(&key) {
        vec![LearningOpportunitySpecification {
            has_part: children,
            ..los.clone()
        }]
    } else {
        children
    }
}

/// Number of learning opportunities in a document (all depths).
pub fn count(elmo: &Elmo) -> usize {
    elmo.reports
        .iter()
        .map(|r| r.all_learning_opportunities().count())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use emrex_elmo::model::{
        Credit, Identifier, Issuer, LangText, Learner, LearningOpportunityInstance,
    };

    fn course(id: &str, title: &str, status: LoiStatus) -> LearningOpportunitySpecification {
        LearningOpportunitySpecification::course(
            id,
            LangText::new(title),
            LearningOpportunityInstance::default()
                .with_status(status)
                .with_credit(Credit::ects("5")),
        )
    }

    fn doc() -> Elmo {
        let issuer = |n: &str| Issuer::new(LangText::new(n), Identifier::new("schac", n), "");
        let programme = LearningOpportunitySpecification::new(
            LangText::new("Programme"),
            LearningOpportunityInstance::default(),
        )
        .with_type("Degree Programme")
        .with_part(course("c1", "Algebra", LoiStatus::Passed))
        .with_part(course("c2", "Analysis", LoiStatus::Failed));
        Elmo::new(Learner::new("A", "B"), "2026-01-01T00:00:00Z")
            .with_report(
                Report::new(issuer("one.example"), "2026-01-01T00:00:00Z")
                    .with_learning_opportunity(programme)
                    .with_learning_opportunity(course("c3", "Physics", LoiStatus::InProgress)),
            )
            .with_report(
                Report::new(issuer("two.example"), "2026-01-01T00:00:00Z")
                    .with_learning_opportunity(course("c4", "Chemistry", LoiStatus::Passed)),
            )
    }

    #[test]
    fn offers_respect_the_not_passed_flag() {
        let e = doc();
        let all = offers(&e, true, "en");
        let titles: Vec<_> = all.items.iter().map(|o| o.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Programme", "Algebra", "Analysis", "Physics", "Chemistry"]
        );
        assert_eq!(all.items[1].key, "r0-1");
        assert_eq!(all.items[1].depth, 1);
        assert_eq!(all.items[4].key, "r1-0");
        let passed = offers(&e, false, "en");
        let titles: Vec<_> = passed.items.iter().map(|o| o.title.as_str()).collect();
        assert_eq!(titles, ["Programme", "Algebra", "Chemistry"]);
        assert_eq!(passed.reports, ["one.example", "two.example"]);
    }

    #[test]
    fn selection_lifts_children_of_unselected_parents_and_drops_empty_reports() {
        let e = doc();
        let o = offers(&e, true, "en");
        let sel: BTreeSet<String> = ["r0-1", "r0-3"].iter().map(|s| s.to_string()).collect();
        let out = select(&e, &o.keys(), &sel).expect("select");
        assert_eq!(out.reports.len(), 1);
        let titles: Vec<_> = out.reports[0]
            .learning_opportunities
            .iter()
            .map(|l| l.titles[0].text.as_str())
            .collect();
        assert_eq!(titles, ["Algebra", "Physics"]);
        assert_eq!(count(&out), 2);
        assert_eq!(out.learner, e.learner);
    }

    #[test]
    fn a_selected_parent_keeps_only_selected_children() {
        let e = doc();
        let o = offers(&e, true, "en");
        let sel: BTreeSet<String> = ["r0-0", "r0-2", "r1-0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = select(&e, &o.keys(), &sel).expect("select");
        assert_eq!(out.reports.len(), 2);
        let prog = &out.reports[0].learning_opportunities[0];
        assert_eq!(prog.titles[0].text, "Programme");
        assert_eq!(prog.has_part.len(), 1);
        assert_eq!(prog.has_part[0].titles[0].text, "Analysis");
    }

    #[test]
    fn keys_that_were_not_offered_are_refused() {
        let e = doc();
        let o = offers(&e, false, "en");
        // r0-2 (failed Analysis) exists but was not offered under allowNotPassedCourses=false.
        let sel: BTreeSet<String> = ["r0-2".to_string()].into();
        assert_eq!(select(&e, &o.keys(), &sel), Err(SelectionError::NotOffered));
        let sel: BTreeSet<String> = ["r9-9".to_string()].into();
        assert_eq!(select(&e, &o.keys(), &sel), Err(SelectionError::NotOffered));
    }
}
