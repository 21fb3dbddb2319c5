//! Structural checks of our own — no XSD engine.
//!
//! The parser is lenient so real (schema-invalid) documents can be read; this module says what
//! is wrong with a document in terms a person can act on. `Error`s are things the v1.7 schema
//! or EMREX semantics forbid (and, for documents we write, things that would make
//! [`crate::writer::to_xml_v17`] output schema-invalid); `Warning`s are deviations real peers
//! tolerate, values the writer drops, or EMREX expectations beyond the schema (the
//! `EMREX transcript` attachment that fi-smp requires).

use std::collections::HashSet;

use serde::Serialize;

use crate::codes::{
    ALLOWED_ATTACHMENT_MEDIA_TYPES, ATTACHMENT_TYPES, CREDIT_LEVELS, GENDERS, LOS_TYPES,
    is_decimal, is_europass_country, is_language_tag, is_non_negative_decimal,
    is_non_negative_integer,
};
use crate::dates::{date_time_has_zone, is_date, is_date_time};
use crate::model::*;

/// Largest attachment payload accepted by validation (decoded bytes).
pub const MAX_ATTACHMENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding. `path` is XPath-like with 1-based indexes, e.g.
/// `/elmo/report[1]/learningOpportunitySpecification[2]/specifies/learningOpportunityInstance/credit[1]/value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{s}: {}: {}", self.path, self.message)
    }
}

/// Checks a document; an empty result means nothing to report.
pub fn validate(elmo: &Elmo) -> Vec<Issue> {
    let mut v = V {
        issues: Vec::new(),
        attachment_ids: HashSet::new(),
        groups: HashSet::new(),
        group_types: HashSet::new(),
    };
    v.collect_targets(elmo);
    v.document(elmo);
    v.issues
}

/// True when `issues` contains an error.
pub fn has_errors(issues: &[Issue]) -> bool {
    issues.iter().any(|i| i.severity == Severity::Error)
}

struct V {
    issues: Vec<Issue>,
    attachment_ids: HashSet<String>,
    /// (groupType id, group id)
    groups: HashSet<(String, String)>,
    group_types: HashSet<String>,
}

impl V {
    fn err(&mut self, path: &str, msg: impl Into<String>) {
        self.issues.push(Issue {
            severity: Severity::Error,
            path: path.to_string(),
            message: msg.into(),
        });
    }

    fn warn(&mut self, path: &str, msg: impl Into<String>) {
        self.issues.push(Issue {
            severity: Severity::Warning,
            path: path.to_string(),
            message: msg.into(),
        });
    }

    fn collect_targets(&mut self, elmo: &Elmo) {
        fn ds_attachments<'a>(s: &'a DsSection, out: &mut Vec<&'a Attachment>) {
            out.extend(&s.attachments);
            for sub in &s.sections {
                ds_attachments(sub, out);
            }
        }
        let mut targets: Vec<&Attachment> = elmo.all_attachments().map(|(_, a)| a).collect();
        for r in &elmo.reports {
            for los in r.all_learning_opportunities() {
                let ds = los
                    .specifies
                    .as_ref()
                    .and_then(|l| l.diploma_supplement.as_ref());
                for s in ds.iter().flat_map(|d| &d.sections) {
                    ds_attachments(s, &mut targets);
                }
            }
        }
        for a in targets {
            for id in &a.identifiers {
                self.attachment_ids.insert(id.value.clone());
            }
        }
        if let Some(g) = &elmo.groups {
            for t in &g.group_types {
                let tid = t.id.clone().unwrap_or_default();
                self.group_types.insert(tid.clone());
                for gr in &t.groups {
                    self.groups
                        .insert((tid.clone(), gr.id.clone().unwrap_or_default()));
                }
            }
        }
    }

    fn document(&mut self, e: &Elmo) {
        match &e.format {
            ElmoFormat::V1 => {}
            ElmoFormat::V1OffSpecNamespace(ns) => self.warn(
                "/elmo",
                format!("off-spec namespace {ns}; the v1 namespace is {NS_ELMO_V1}"),
            ),
            ElmoFormat::V2 => {}
            ElmoFormat::LegacyPurl => self.warn(
                "/elmo",
                "legacy 2015 pilot format (http://purl.org/net/elmo); read on a best-effort basis",
            ),
        }
        self.date_time("/elmo/generatedDate", &e.generated_date);
        self.learner("/elmo/learner", &e.learner);
        if e.reports.is_empty() {
            self.err(
                "/elmo",
                "no report: a document must contain at least one report",
            );
        }
        for (i, r) in e.reports.iter().enumerate() {
            self.report(&format!("/elmo/report[{}]", i + 1), r, &e.learner);
        }
        for (i, a) in e.attachments.iter().enumerate() {
            self.attachment(&format!("/elmo/attachment[{}]", i + 1), a);
        }
        if !e
            .attachments
            .iter()
            .any(|a| a.attachment_type.as_deref() == Some("EMREX transcript"))
        {
            self.warn(
                "/elmo",
                "no top-level attachment of type \"EMREX transcript\" (a human-readable PDF); \
                 some clients (fi-smp) refuse documents without it",
            );
        }
        if let Some(g) = &e.groups {
            self.groups("/elmo/groups", g);
        }
        let mut seen = HashSet::new();
        for (_, a) in e.all_attachments() {
            for id in &a.identifiers {
                if !seen.insert(id.value.as_str()) {
                    self.err(
                        "/elmo",
                        format!(
                            "attachment identifier {:?} is used more than once",
                            id.value
                        ),
                    );
                }
            }
        }
    }

    fn date_time(&mut self, path: &str, value: &str) {
        if value.is_empty() {
            self.err(path, "missing (required xs:dateTime)");
        } else if !is_date_time(value) {
            self.err(path, format!("{value:?} is not a valid xs:dateTime"));
        } else if !date_time_has_zone(value) {
            self.warn(
                path,
                format!("{value:?} has no time zone (it SHOULD have one)"),
            );
        }
    }

    fn date(&mut self, path: &str, value: &str) {
        if value.is_empty() {
            self.err(path, "missing (required xs:date)");
        } else if !is_date(value) {
            self.err(
                path,
                format!("{value:?} is not a valid xs:date (YYYY-MM-DD)"),
            );
        }
    }

    fn opt_date(&mut self, path: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.date(path, v);
        }
    }

    fn lang(&mut self, path: &str, lang: &Option<String>) {
        if let Some(l) = lang
            && !is_language_tag(l)
        {
            self.warn(
                path,
                format!("xml:lang {l:?} is not a valid language tag; it is omitted when writing"),
            );
        }
    }

    fn titles(&mut self, path: &str, titles: &[LangText], required: bool) {
        if required && titles.iter().all(|t| t.text.is_empty()) {
            self.err(path, "missing: at least one non-empty title is required");
        }
        for (i, t) in titles.iter().enumerate() {
            self.lang(&format!("{path}[{}]/@xml:lang", i + 1), &t.lang);
        }
    }

    fn texts(&mut self, path: &str, texts: &[LangText]) {
        for (i, t) in texts.iter().enumerate() {
            self.lang(&format!("{path}[{}]/@xml:lang", i + 1), &t.lang);
        }
    }

    fn identifiers(&mut self, path: &str, ids: &[Identifier]) {
        for (i, id) in ids.iter().enumerate() {
            if id.id_type.is_empty() {
                self.err(
                    &format!("{path}[{}]/@type", i + 1),
                    "identifier type is missing",
                );
            }
            if id.value.is_empty() {
                self.warn(&format!("{path}[{}]", i + 1), "identifier value is empty");
            }
        }
    }

    fn country(&mut self, path: &str, c: &Option<String>) {
        if let Some(c) = c
            && !is_europass_country(c)
        {
            self.warn(
                path,
                format!(
                    "{c:?} is not in the Europass country list of the v1.7 schema; \
                     it is omitted when writing"
                ),
            );
        }
    }

    fn learner(&mut self, path: &str, l: &Learner) {
        self.country(&format!("{path}/citizenship"), &l.citizenship);
        self.identifiers(&format!("{path}/identifier"), &l.identifiers);
        match (l.given_names.is_empty(), l.family_name.is_empty()) {
            (true, true) => self.err(path, "both givenNames and familyName are empty"),
            (true, false) => self.warn(&format!("{path}/givenNames"), "empty"),
            (false, true) => self.warn(&format!("{path}/familyName"), "empty"),
            (false, false) => {}
        }
        match &l.bday {
            None => self.warn(
                &format!("{path}/bday"),
                "missing; the birth date is what clients match the student on",
            ),
            Some(d) => self.date(&format!("{path}/bday"), d),
        }
        if let Some(g) = &l.gender
            && !GENDERS.contains(&g.as_str())
        {
            self.warn(
                &format!("{path}/gender"),
                format!(
                    "{g:?} is not an ISO/IEC 5218 code (0, 1, 2, 9); it is omitted when writing"
                ),
            );
        }
    }

    fn report(&mut self, path: &str, r: &Report, doc_learner: &Learner) {
        let ip = format!("{path}/issuer");
        if r.issuer.identifiers.is_empty() {
            self.err(
                &format!("{ip}/identifier"),
                "missing: at least one issuer identifier is required",
            );
        }
        self.identifiers(&format!("{ip}/identifier"), &r.issuer.identifiers);
        self.titles(&format!("{ip}/title"), &r.issuer.titles, true);
        self.country(&format!("{ip}/country"), &r.issuer.country);
        if r.issuer.url.is_none() {
            self.warn(
                &format!("{ip}/url"),
                "missing (required by the schema; written empty)",
            );
        }
        self.date_time(&format!("{path}/issueDate"), &r.issue_date);
        let mut scheme_ids = HashSet::new();
        for (i, g) in r.grading_schemes.iter().enumerate() {
            let gp = format!("{path}/gradingScheme[{}]", i + 1);
            if g.local_id.is_empty() {
                self.err(&format!("{gp}/@localId"), "missing");
            } else if !scheme_ids.insert(g.local_id.as_str()) {
                self.err(
                    &format!("{gp}/@localId"),
                    format!("{:?} is defined twice", g.local_id),
                );
            }
            self.texts(&format!("{gp}/description"), &g.descriptions);
        }
        if r.learning_opportunities.is_empty() {
            self.warn(
                path,
                "no learning opportunities (legal: the student deselected everything)",
            );
        }
        for (i, los) in r.learning_opportunities.iter().enumerate() {
            self.los(
                &format!("{path}/learningOpportunitySpecification[{}]", i + 1),
                los,
                &scheme_ids,
            );
        }
        for (i, a) in r.attachments.iter().enumerate() {
            self.attachment(&format!("{path}/attachment[{}]", i + 1), a);
        }
        if let Some(l) = &r.legacy_learner {
            let same = l.given_names == doc_learner.given_names
                && l.family_name == doc_learner.family_name
                && l.bday == doc_learner.bday;
            if !same {
                self.warn(
                    &format!("{path}/learner"),
                    "this report's learner differs from the document's first learner; \
                     match identity against every learner",
                );
            }
        }
    }

    fn los(&mut self, path: &str, los: &LearningOpportunitySpecification, schemes: &HashSet<&str>) {
        self.identifiers(&format!("{path}/identifier"), &los.identifiers);
        self.titles(&format!("{path}/title"), &los.titles, true);
        if let Some(t) = &los.los_type
            && !LOS_TYPES.contains(&t.as_str())
        {
            self.warn(
                &format!("{path}/type"),
                format!("{t:?} is not one of {LOS_TYPES:?}; it is omitted when writing"),
            );
        }
        self.texts(&format!("{path}/description"), &los.descriptions);
        self.texts(&format!("{path}/descriptionHtml"), &los.descriptions_html);
        match &los.specifies {
            None => self.err(
                &format!("{path}/specifies"),
                "missing: every learning opportunity needs its instance",
            ),
            Some(loi) => self.loi(
                &format!("{path}/specifies/learningOpportunityInstance"),
                loi,
                schemes,
            ),
        }
        for (i, child) in los.has_part.iter().enumerate() {
            self.los(
                &format!("{path}/hasPart[{}]/learningOpportunitySpecification", i + 1),
                child,
                schemes,
            );
        }
    }

    fn decimal(&mut self, path: &str, value: &str, non_negative: bool) {
        if !is_decimal(value) {
            self.err(path, format!("{value:?} is not a decimal number"));
        } else if non_negative && !is_non_negative_decimal(value) {
            self.err(path, format!("{value:?} is negative"));
        }
    }

    fn loi(&mut self, path: &str, loi: &LearningOpportunityInstance, schemes: &HashSet<&str>) {
        self.identifiers(&format!("{path}/identifier"), &loi.identifiers);
        self.opt_date(&format!("{path}/start"), &loi.start);
        self.opt_date(&format!("{path}/date"), &loi.date);
        if let Some(t) = &loi.academic_term {
            let tp = format!("{path}/academicTerm");
            self.titles(&format!("{tp}/title"), &t.titles, true);
            self.date(&format!("{tp}/start"), &t.start);
            self.date(&format!("{tp}/end"), &t.end);
        }
        if let Some(LoiStatus::Other(s)) = &loi.status {
            self.err(
                &format!("{path}/status"),
                format!("{s:?} is not a status (passed, failed, in-progress)"),
            );
        }
        if let Some(id) = &loi.grading_scheme_local_id
            && !schemes.contains(id.as_str())
        {
            self.warn(
                &format!("{path}/gradingSchemeLocalId"),
                format!("{id:?} does not match any gradingScheme of this report"),
            );
        }
        if let Some(s) = &loi.shortened_grading {
            let sp = format!("{path}/shortenedGrading");
            self.decimal(&format!("{sp}/percentageLower"), &s.percentage_lower, true);
            self.decimal(&format!("{sp}/percentageEqual"), &s.percentage_equal, true);
            self.decimal(
                &format!("{sp}/percentageHigher"),
                &s.percentage_higher,
                true,
            );
        }
        if let Some(d) = &loi.result_distribution {
            let dp = format!("{path}/resultDistribution");
            if d.categories.is_empty() {
                self.err(&dp, "no category (at least one is required)");
            }
            for (i, c) in d.categories.iter().enumerate() {
                let cp = format!("{dp}/category[{}]", i + 1);
                if c.label.is_empty() {
                    self.err(&format!("{cp}/@label"), "missing");
                }
                if !is_non_negative_integer(&c.count) {
                    self.err(
                        &format!("{cp}/@count"),
                        format!("{:?} is not a non-negative integer", c.count),
                    );
                }
            }
            self.texts(&format!("{dp}/description"), &d.descriptions);
        }
        for (i, c) in loi.credits.iter().enumerate() {
            let cp = format!("{path}/credit[{}]", i + 1);
            if c.scheme.is_empty() {
                self.err(&format!("{cp}/scheme"), "missing");
            }
            if let Some(l) = &c.level
                && !CREDIT_LEVELS.contains(&l.as_str())
            {
                self.warn(
                    &format!("{cp}/level"),
                    format!("{l:?} is not Bachelor/Master/PhD (deprecated element); omitted when writing"),
                );
            }
            match &c.value {
                Some(v) => self.decimal(&format!("{cp}/value"), v, true),
                None => self.warn(&format!("{cp}/value"), "credit without a value"),
            }
        }
        for (i, l) in loi.levels.iter().enumerate() {
            let lp = format!("{path}/level[{}]", i + 1);
            if l.level_type.is_empty() {
                self.err(&format!("{lp}/type"), "missing");
            }
            if let Some(d) = &l.description {
                self.lang(&format!("{lp}/description/@xml:lang"), &d.lang);
            }
        }
        if let Some(h) = &loi.engagement_hours {
            self.decimal(&format!("{path}/engagementHours"), h, true);
        }
        for (i, r) in loi.attachment_refs.iter().enumerate() {
            if !self.attachment_ids.contains(r) {
                self.err(
                    &format!("{path}/attachments/ref[{}]", i + 1),
                    format!("{r:?} does not refer to any attachment identifier of this document"),
                );
            }
        }
        if let Some(g) = &loi.grouping {
            let gp = format!("{path}/grouping");
            match (&g.typeref, &g.idref) {
                (Some(t), Some(id)) => {
                    if !self.group_types.contains(t) {
                        self.err(&gp, format!("typeref {t:?} does not refer to a groupType"));
                    } else if !self.groups.contains(&(t.clone(), id.clone())) {
                        self.err(
                            &gp,
                            format!("idref {id:?} is not a group of groupType {t:?}"),
                        );
                    }
                }
                (Some(t), None) => {
                    if !self.group_types.contains(t) {
                        self.err(&gp, format!("typeref {t:?} does not refer to a groupType"));
                    }
                }
                (None, _) => self.warn(&gp, "grouping without typeref"),
            }
        }
        if let Some(ds) = &loi.diploma_supplement {
            self.diploma_supplement(&format!("{path}/diplomaSupplement"), ds);
        }
    }

    fn diploma_supplement(&mut self, path: &str, ds: &DiplomaSupplement) {
        self.lang(&format!("{path}/@xml:lang"), &ds.lang);
        if ds.version.is_empty() {
            self.err(&format!("{path}/version"), "missing");
        }
        self.date(&format!("{path}/issueDate"), &ds.issue_date);
        if ds.sections.is_empty() {
            self.err(path, "no section (at least one is required)");
        }
        for (i, s) in ds.sections.iter().enumerate() {
            self.ds_section(&format!("{path}/section[{}]", i + 1), s);
        }
    }

    fn ds_section(&mut self, path: &str, s: &DsSection) {
        if s.number.is_empty() || !s.number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            self.err(
                &format!("{path}/@number"),
                format!("{:?} is not a section number like 4.2", s.number),
            );
        }
        if s.title.is_empty() {
            self.err(&format!("{path}/title"), "missing");
        }
        for (i, a) in s.attachments.iter().enumerate() {
            self.attachment(&format!("{path}/attachment[{}]", i + 1), a);
        }
        for (i, sub) in s.sections.iter().enumerate() {
            self.ds_section(&format!("{path}/section[{}]", i + 1), sub);
        }
    }

    fn attachment(&mut self, path: &str, a: &Attachment) {
        self.identifiers(&format!("{path}/identifier"), &a.identifiers);
        self.titles(&format!("{path}/title"), &a.titles, false);
        self.texts(&format!("{path}/description"), &a.descriptions);
        if let Some(t) = &a.attachment_type
            && !ATTACHMENT_TYPES.contains(&t.as_str())
        {
            self.warn(
                &format!("{path}/type"),
                format!("{t:?} is not an attachment type of the schema; written as \"Other\""),
            );
        }
        if a.contents.is_empty() {
            self.warn(path, "attachment without content");
        }
        for (i, c) in a.contents.iter().enumerate() {
            let cp = format!("{path}/content[{}]", i + 1);
            self.lang(&format!("{cp}/@xml:lang"), &c.lang);
            match c.decode(MAX_ATTACHMENT_BYTES) {
                Err(e) => self.err(&cp, e.to_string()),
                Ok(d) => {
                    if !ALLOWED_ATTACHMENT_MEDIA_TYPES.contains(&d.media_type.as_str()) {
                        self.err(
                            &cp,
                            format!(
                                "media type {:?} is not allowed (allowed: {})",
                                d.media_type,
                                ALLOWED_ATTACHMENT_MEDIA_TYPES.join(", ")
                            ),
                        );
                    } else if d.bytes.is_empty() {
                        self.err(&cp, "empty content");
                    } else if d.media_type == "application/pdf" && !d.bytes.starts_with(b"%PDF-") {
                        self.warn(
                            &cp,
                            "declared application/pdf but does not start with %PDF-",
                        );
                    }
                }
            }
        }
    }

    fn groups(&mut self, path: &str, g: &Groups) {
        let mut type_ids = HashSet::new();
        for (i, t) in g.group_types.iter().enumerate() {
            let tp = format!("{path}/groupType[{}]", i + 1);
            self.titles(&format!("{tp}/title"), &t.titles, true);
            if let Some(id) = &t.id
                && !type_ids.insert(id.as_str())
            {
                self.err(
                    &format!("{tp}/@id"),
                    format!("groupType id {id:?} is used twice"),
                );
            }
            let mut ids = HashSet::new();
            for (j, gr) in t.groups.iter().enumerate() {
                let gp = format!("{tp}/group[{}]", j + 1);
                self.titles(&format!("{gp}/title"), &gr.titles, true);
                if let Some(id) = &gr.id
                    && !ids.insert(id.as_str())
                {
                    self.err(
                        &format!("{gp}/@id"),
                        format!("group id {id:?} is used twice"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use crate::testutil::fixture;
    use emrex_xmldsig::dom::Limits;

    fn good() -> Elmo {
        Elmo::new(
            Learner::new("Anna", "Nowak").with_bday("1990-01-02"),
            "2024-01-01T00:00:00Z",
        )
        .with_report(
            Report::new(
                Issuer::new(
                    LangText::with_lang("en", "U"),
                    Identifier::new("pic", "1"),
                    "https://u",
                ),
                "2024-01-01T00:00:00Z",
            )
            .with_learning_opportunity(LearningOpportunitySpecification::course(
                "C1",
                LangText::with_lang("en", "Course"),
                LearningOpportunityInstance::default()
                    .with_date("2023-06-01")
                    .with_credit(Credit::ects("5")),
            )),
        )
        .with_attachment(Attachment::new(
            "EMREX transcript",
            LangText::with_lang("en", "Transcript"),
            "application/pdf",
            b"%PDF-1.4\n",
        ))
    }

    fn find<'a>(issues: &'a [Issue], path: &str) -> Option<&'a Issue> {
        issues.iter().find(|i| i.path == path)
    }

    #[test]
    fn clean_document_has_no_issues() {
        assert_eq!(validate(&good()), vec![]);
    }

    #[test]
    fn finds_errors() {
        let mut e = good();
        e.generated_date = "2024-01-01 00:00".into();
        e.learner.bday = Some("01.02.1990".into());
        let r = &mut e.reports[0];
        r.issuer.titles.clear();
        r.issue_date.clear();
        let loi = r.learning_opportunities[0].specifies.as_mut().expect("loi");
        loi.credits.push(Credit::ects("-1"));
        loi.credits.push(Credit::ects("5,5"));
        loi.status = Some(LoiStatus::Other("done".into()));
        loi.attachment_refs.push("nope".into());
        loi.grouping = Some(Grouping {
            typeref: Some("1".into()),
            idref: Some("1".into()),
        });
        e.attachments[0].contents[0].data = "data:text/html;base64,PGI+".into();
        let issues = validate(&e);
        let lp = "/elmo/report[1]/learningOpportunitySpecification[1]/specifies/learningOpportunityInstance";
        for path in [
            "/elmo/generatedDate".to_string(),
            "/elmo/learner/bday".into(),
            "/elmo/report[1]/issuer/title".into(),
            "/elmo/report[1]/issueDate".into(),
            format!("{lp}/credit[2]/value"),
            format!("{lp}/credit[3]/value"),
            format!("{lp}/status"),
            format!("{lp}/attachments/ref[1]"),
            format!("{lp}/grouping"),
            "/elmo/attachment[1]/content[1]".into(),
        ] {
            let i = find(&issues, &path).unwrap_or_else(|| panic!("{path}: {issues:#?}"));
            assert_eq!(i.severity, Severity::Error, "{i}");
        }
        assert!(has_errors(&issues));
    }

    #[test]
    fn warnings() {
        let mut e = good();
        e.attachments.clear();
        e.learner.citizenship = Some("XK".into());
        e.reports[0].issuer.url = None;
        let issues = validate(&e);
        assert!(!has_errors(&issues), "{issues:#?}");
        for p in [
            "/elmo",
            "/elmo/learner/citizenship",
            "/elmo/report[1]/issuer/url",
        ] {
            assert_eq!(
                find(&issues, p).map(|i| i.severity),
                Some(Severity::Warning),
                "{p}"
            );
        }
        let mut e = good();
        e.reports.clear();
        assert!(has_errors(&validate(&e)));
    }

    #[test]
    fn example_refs_and_groups_resolve() {
        let e = parse(
            &fixture("xml/elmo-schemas-examples/example-v1.7.0.xml"),
            &Limits::default(),
        )
        .expect("parse");
        let issues = validate(&e);
        // The official example's attachment payloads are placeholders ("...") — reported.
        assert!(
            issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .all(|i| i.path.contains("/content[") && i.message.contains("base64")),
            "{issues:#?}"
        );
        assert!(
            !issues
                .iter()
                .any(|i| i.path.contains("grouping") || i.path.contains("ref["))
        );
    }

    #[test]
    fn real_documents() {
        let e = parse(
            &fixture("xml/signed/dk-elmo-tomcat-signed.xml"),
            &Limits::default(),
        )
        .expect("parse");
        let issues = validate(&e);
        assert!(issues.iter().any(|i| i.path.ends_with("issuer/url")));
        assert!(issues.iter().any(|i| i.path.ends_with("credit[1]/level")));
        let e = parse(
            &fixture("xml/unsigned/fi-my_elmo-2020.xml"),
            &Limits::default(),
        )
        .expect("parse");
        let errors: Vec<_> = validate(&e)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert_eq!(errors, vec![], "fi-my_elmo validates against the XSD");
    }
}
