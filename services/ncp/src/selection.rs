//! What the student may send, and the ELMO document for what they chose (pure functions).
//!
//! Every learning opportunity of every report gets a stable key (`r{report}-{n}`, `n` counting
//! depth first through `hasPart`). The selection page lists the *offered* ones:
//!
//! * with `allowNotPassedCourses=false`, only results whose effective status is `passed`; a
//!   result that is not offered but holds offered ones (a degree programme in progress with
//!   passed courses) is listed as their heading, without a checkbox, so the hierarchy stays
//!   readable; the others are counted ([`Offers::hidden`]) so the page can say what is missing
//!   and why;
//! * with `allowToPickCourses=false`, everything offered is sent (no checkboxes).
//!
//! Building the response keeps the tree where it can: a selected node keeps its selected
//! descendants as `hasPart`; a selected node whose ancestors were not selected is lifted to the
//! top level of its report (a degree programme the student did not choose is not sent just
//! because two of its courses were). Reports left empty are dropped.

use std::collections::BTreeSet;

use emrex_elmo::model::{
    Elmo, LangText, LearningOpportunitySpecification, LoiStatus, Report, pick_lang,
};

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
    /// The title's language when the document names one that differs from the page's (for
    /// `lang=` on the title, so a screen reader pronounces it right).
    #[serde(default)]
    pub title_lang: Option<String>,
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
    /// Whether the student may send it (false: listed only as the heading of offered results).
    #[serde(default = "yes")]
    pub offered: bool,
}

fn yes() -> bool {
    true
}

/// The results of one student as offered to them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offers {
    /// Every offered result, report by report, depth first.
    pub items: Vec<Offer>,
    /// Report titles (issuer names) in the page's language, by report index.
    pub reports: Vec<String>,
    /// Results not offered and not listed (failed or in progress, when the client asked for
    /// passed results only).
    #[serde(default)]
    pub hidden: usize,
}

impl Offers {
    /// All offered keys.
    pub fn keys(&self) -> BTreeSet<String> {
        self.items
            .iter()
            .filter(|o| o.offered)
            .map(|o| o.key.clone())
            .collect()
    }

    /// Whether anything may be sent.
    pub fn any_offered(&self) -> bool {
        self.items.iter().any(|o| o.offered)
    }
}

/// Lists what may be sent from `elmo` under the `allow_not_passed` rule, titles in `lang`.
pub fn offers(elmo: &Elmo, allow_not_passed: bool, lang: &str) -> Offers {
    let mut items = Vec::new();
    let mut reports = Vec::new();
    let mut hidden = 0;
    for (r, report) in elmo.reports.iter().enumerate() {
        reports.push(
            pick_lang(&report.issuer.titles, lang)
                .unwrap_or("(unnamed institution)")
                .to_string(),
        );
        let mut walk = Walk {
            report: r,
            n: 0,
            allow_not_passed,
            lang,
            hidden: 0,
        };
        for los in &report.learning_opportunities {
            items.extend(walk.subtree(los, 0));
        }
        hidden += walk.hidden;
    }
    Offers {
        items,
        reports,
        hidden,
    }
}

/// Depth-first numbering of one report's learning opportunities (the same order as
/// [`select`]'s), collecting what is listed.
struct Walk<'a> {
    report: usize,
    n: usize,
    allow_not_passed: bool,
    lang: &'a str,
    hidden: usize,
}

impl Walk<'_> {
    /// The listed rows of `los`'s subtree: itself when offered or when it heads offered rows,
    /// then its descendants'.
    fn subtree(&mut self, los: &LearningOpportunitySpecification, depth: usize) -> Vec<Offer> {
        let key = format!("r{}-{}", self.report, self.n);
        self.n += 1;
        let loi = los.specifies.as_ref();
        let status = loi
            .map(|i| i.effective_status())
            .unwrap_or(LoiStatus::Passed);
        let offered = self.allow_not_passed || status == LoiStatus::Passed;
        let below: Vec<Offer> = los
            .has_part
            .iter()
            .flat_map(|c| self.subtree(c, depth + 1))
            .collect();
        if !offered && below.is_empty() {
            self.hidden += 1;
            return Vec::new();
        }
        let title = pick_title(&los.titles, self.lang);
        let mut rows = vec![Offer {
            key,
            report: self.report,
            depth,
            title: title.map_or("(untitled)", |t| t.text.as_str()).to_string(),
            title_lang: title
                .and_then(|t| t.lang.as_deref())
                .filter(|l| !same_language(l, self.lang))
                .map(str::to_string),
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
            offered,
        }];
        rows.extend(below);
        rows
    }
}

/// The title [`pick_lang`] would choose, with its language.
fn pick_title<'a>(texts: &'a [LangText], lang: &str) -> Option<&'a LangText> {
    let by = |l: &str| {
        texts
            .iter()
            .find(|t| t.lang.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(l)))
    };
    by(lang).or_else(|| by("en")).or_else(|| texts.first())
}

/// Whether two language tags share their primary language (`de-AT` is `de`).
fn same_language(a: &str, b: &str) -> bool {
    let primary = |t: &str| {
        t.split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    primary(a) == primary(b)
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
        // Failed Analysis and in-progress Physics are counted, not silently dropped.
        assert_eq!(passed.hidden, 2);
        assert_eq!(all.hidden, 0);
    }

    #[test]
    fn a_programme_that_is_not_offered_still_heads_its_offered_courses() {
        let issuer = Issuer::new(LangText::new("U"), Identifier::new("schac", "u"), "");
        let programme = LearningOpportunitySpecification::new(
            LangText::new("Bachelor"),
            LearningOpportunityInstance::default().with_status(LoiStatus::InProgress),
        )
        .with_part(course("c1", "Algebra", LoiStatus::Passed))
        .with_part(course("c2", "Analysis", LoiStatus::Failed));
        let e = Elmo::new(Learner::new("A", "B"), "2026-01-01T00:00:00Z").with_report(
            Report::new(issuer, "2026-01-01T00:00:00Z")
                .with_learning_opportunity(programme)
                .with_learning_opportunity(course("c3", "Physics", LoiStatus::InProgress)),
        );
        let o = offers(&e, false, "en");
        let rows: Vec<_> = o
            .items
            .iter()
            .map(|i| (i.title.as_str(), i.depth, i.offered))
            .collect();
        assert_eq!(rows, [("Bachelor", 0, false), ("Algebra", 1, true)]);
        assert_eq!(o.hidden, 2, "Analysis and Physics");
        assert_eq!(o.keys(), BTreeSet::from(["r0-1".to_string()]));
        assert!(o.any_offered());
        // The heading cannot be chosen.
        let sel: BTreeSet<String> = ["r0-0".to_string()].into();
        assert_eq!(select(&e, &o.keys(), &sel), Err(SelectionError::NotOffered));
    }

    #[test]
    fn a_title_in_another_language_says_which() {
        let issuer = Issuer::new(LangText::new("U"), Identifier::new("schac", "u"), "");
        let los = |t: LangText| {
            LearningOpportunitySpecification::course(
                "x",
                t,
                LearningOpportunityInstance::default().with_status(LoiStatus::Passed),
            )
        };
        let e = Elmo::new(Learner::new("A", "B"), "2026-01-01T00:00:00Z").with_report(
            Report::new(issuer, "2026-01-01T00:00:00Z")
                .with_learning_opportunity(los(LangText::with_lang("sv", "Svenska")))
                .with_learning_opportunity(los(LangText::with_lang("de-AT", "Deutsch")))
                .with_learning_opportunity(los(LangText::new("Unmarked"))),
        );
        let o = offers(&e, false, "de");
        let langs: Vec<_> = o.items.iter().map(|i| i.title_lang.as_deref()).collect();
        assert_eq!(langs, [Some("sv"), None, None]);
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
