//! Structural checks of our own — no XSD engine.
//!
//! The parser is lenient so real (schema-invalid) documents can be read; this module says what
//! is wrong with a document in terms a person can act on, for the ELMO version it is to be
//! written as ([`validate_for`]; [`validate`] is 1.7, what EMREX 1.x peers read). `Error`s are
//! things that version's schema or EMREX semantics forbid (and, for documents we write, things
//! that would make [`crate::to_xml`] output schema-invalid); `Warning`s are deviations real
//! peers tolerate, values the writer drops (including everything the target version cannot
//! carry), or EMREX expectations beyond the schema (the `EMREX transcript` attachment that
//! fi-smp requires).

use std::collections::HashSet;

use serde::Serialize;

use crate::codes::{
    ALLOWED_ATTACHMENT_MEDIA_TYPES, COUNTRY_TYPES, CREDIT_LEVELS, DOCUMENT_TYPES, GENDERS,
    LOS_TYPES, RECOGNITION_STATUSES, REPORT_STATUS_CODES, implied_country_type, is_attachment_type,
    is_country_code, is_decimal, is_duration, is_europass_country, is_language_tag,
    is_non_negative_decimal, is_non_negative_integer,
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

/// Checks a document for writing as ELMO 1.7 ([`validate_for`]); an empty result means nothing
/// to report.
pub fn validate(elmo: &Elmo) -> Vec<Issue> {
    validate_for(elmo, ElmoVersion::V1_7)
}

/// Checks a document for writing as `version`: errors are what would make that version's output
/// schema-invalid or is forbidden by EMREX, warnings include every value the version cannot
/// carry (the writer drops it). An empty result means nothing to report.
pub fn validate_for(elmo: &Elmo, version: ElmoVersion) -> Vec<Issue> {
    let mut v = V {
        issues: Vec::new(),
        attachment_ids: HashSet::new(),
        groups: HashSet::new(),
        group_types: HashSet::new(),
        version,
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
    version: ElmoVersion,
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
        fn recognition_attachments<'a>(r: &'a ResultOfRecognition, out: &mut Vec<&'a Attachment>) {
            for b in &r.recognition_basis {
                out.extend(&b.attachments);
                for inner in &b.results_of_recognition {
                    recognition_attachments(inner, out);
                }
            }
        }
        for r in &elmo.reports {
            for rr in &r.results_of_recognition {
                recognition_attachments(rr, &mut targets);
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
        self.extension("/elmo/extension", &e.extension);
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

    fn v21(&self) -> bool {
        self.version == ElmoVersion::V2_1
    }

    /// A value the target version has no place for (the writer drops it).
    fn only_v21(&mut self, path: &str, present: bool, what: &str) {
        if present && !self.v21() {
            self.warn(
                path,
                format!("{what} is ELMO 2.1 only; it is not written to ELMO 1.7"),
            );
        }
    }

    fn country(&mut self, path: &str, c: &Option<String>, kind: &Option<String>) {
        let Some(c) = c else {
            return;
        };
        if !self.v21() {
            if !is_europass_country(c) {
                self.warn(
                    path,
                    format!(
                        "{c:?} is not in the Europass country list of the v1.7 schema; \
                         it is omitted when writing"
                    ),
                );
            }
            return;
        }
        let kind = kind.as_deref().unwrap_or_else(|| implied_country_type(c));
        match kind {
            "ISO" if !is_country_code(c) => self.warn(
                path,
                format!("{c:?} is not an ISO 3166-1 alpha-2 code (type ISO)"),
            ),
            "URI" if !(c.starts_with("http://") || c.starts_with("https://")) => self.warn(
                path,
                format!("{c:?} is not a country authority URI (type URI)"),
            ),
            "ISO" | "URI" => {}
            other => self.warn(
                &format!("{path}/@type"),
                format!("{other:?} is not a country code type ({COUNTRY_TYPES:?})"),
            ),
        }
    }

    fn issuer(&mut self, ip: &str, issuer: &Issuer) {
        if issuer.identifiers.is_empty() {
            self.err(
                &format!("{ip}/identifier"),
                "missing: at least one issuer identifier is required",
            );
        }
        self.identifiers(&format!("{ip}/identifier"), &issuer.identifiers);
        self.titles(&format!("{ip}/title"), &issuer.titles, true);
        self.country(
            &format!("{ip}/country"),
            &issuer.country,
            &issuer.country_type,
        );
        if issuer.url.is_none() {
            self.warn(
                &format!("{ip}/url"),
                "missing (required by the schema; written empty)",
            );
        }
    }

    fn grading_schemes<'a>(
        &mut self,
        path: &str,
        schemes: &'a [GradingScheme],
    ) -> HashSet<&'a str> {
        let mut scheme_ids = HashSet::new();
        for (i, g) in schemes.iter().enumerate() {
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
        scheme_ids
    }

    fn address(&mut self, path: &str, a: &Address) {
        if a.address_lines.len() > 4 {
            self.err(
                &format!("{path}/addressLine"),
                format!(
                    "{} address lines; the schema allows at most 4",
                    a.address_lines.len()
                ),
            );
        }
        if !a.address_lines.is_empty() && a.has_structured_fields() {
            self.err(
                path,
                "both addressLine and structured fields (street, building, …): the schema \
                 allows one of the two (only the lines are written)",
            );
        }
        if let Some(c) = &a.country
            && !is_country_code(c)
        {
            self.warn(
                &format!("{path}/country"),
                format!("{c:?} is not an ISO 3166-1 alpha-2 code; it is omitted when writing"),
            );
        }
    }

    fn extension(&mut self, path: &str, x: &Option<Extension>) {
        let Some(x) = x else {
            return;
        };
        for a in &x.attributes {
            if a.namespace.as_deref() != Some(emrex_xmldsig::dom::NS_XML) {
                self.warn(
                    &format!("{path}/@{}", a.name),
                    "only xml:* attributes are allowed on extension (the schema's anyAttribute \
                     is strict); it is omitted when writing",
                );
            }
        }
        let target = self.version.namespace();
        for (i, f) in x.elements.iter().enumerate() {
            let el = f.element();
            if el.namespace.as_deref() == Some(target) {
                self.err(
                    &format!("{path}/*[{}]", i + 1),
                    format!(
                        "<{}> is in the ELMO namespace; extension content must come from another one",
                        el.name.local
                    ),
                );
            }
            if el
                .descendants()
                .any(|d| d.namespace.as_deref() == Some(crate::parse::NS_DSIG))
            {
                self.err(
                    &format!("{path}/*[{}]", i + 1),
                    "an XML-Signature element inside an extension: verifiers refuse documents \
                     with XML-Signature elements outside the one root signature",
                );
            }
        }
    }

    fn learner(&mut self, path: &str, l: &Learner) {
        self.country(
            &format!("{path}/citizenship"),
            &l.citizenship,
            &l.citizenship_type,
        );
        self.only_v21(
            &format!("{path}/alternativeName"),
            l.alternative_name.is_some(),
            "alternativeName",
        );
        if let Some(a) = &l.alternative_name {
            self.lang(&format!("{path}/alternativeName/@xml:lang"), &a.lang);
        }
        self.only_v21(
            &format!("{path}/countryOfBirth"),
            l.country_of_birth.is_some(),
            "countryOfBirth",
        );
        if self.v21() {
            self.country(
                &format!("{path}/countryOfBirth"),
                &l.country_of_birth,
                &l.country_of_birth_type,
            );
        }
        if let Some(a) = &l.current_address {
            self.address(&format!("{path}/currentAddress"), a);
        }
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
        self.issuer(&format!("{path}/issuer"), &r.issuer);
        self.date_time(&format!("{path}/issueDate"), &r.issue_date);
        let scheme_ids = self.grading_schemes(path, &r.grading_schemes);
        self.only_v21(
            &format!("{path}/resultOfRecognition"),
            !r.results_of_recognition.is_empty(),
            "resultOfRecognition",
        );
        if self.v21() {
            for (i, rr) in r.results_of_recognition.iter().enumerate() {
                self.result_of_recognition(&format!("{path}/resultOfRecognition[{}]", i + 1), rr);
            }
        }
        if let Some(s) = &r.status {
            let sp = format!("{path}/status");
            self.only_v21(&sp, true, "the report status");
            if self.v21() {
                if !REPORT_STATUS_CODES.contains(&s.code.as_str()) {
                    self.err(
                        &format!("{sp}/code"),
                        format!("{:?} is not one of {REPORT_STATUS_CODES:?}", s.code),
                    );
                }
                self.texts(&format!("{sp}/message"), &s.messages);
            }
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

    fn result_of_recognition(&mut self, path: &str, r: &ResultOfRecognition) {
        self.identifiers(&format!("{path}/identifier"), &r.identifiers);
        self.titles(&format!("{path}/title"), &r.titles, false);
        self.texts(&format!("{path}/description"), &r.descriptions);
        if !RECOGNITION_STATUSES.contains(&r.status.as_str()) {
            self.err(
                &format!("{path}/status"),
                format!("{:?} is not one of {RECOGNITION_STATUSES:?}", r.status),
            );
        }
        self.opt_date(&format!("{path}/decisionDate"), &r.decision_date);
        for (i, b) in r.recognition_basis.iter().enumerate() {
            let bp = format!("{path}/recognitionBasis[{}]/recognitionReport", i + 1);
            self.issuer(&format!("{bp}/issuer"), &b.issuer);
            self.date_time(&format!("{bp}/issueDate"), &b.issue_date);
            let schemes = self.grading_schemes(&bp, &b.grading_schemes);
            for (j, los) in b.learning_opportunities.iter().enumerate() {
                self.los(
                    &format!("{bp}/learningOpportunitySpecification[{}]", j + 1),
                    los,
                    &schemes,
                );
            }
            for (j, inner) in b.results_of_recognition.iter().enumerate() {
                self.result_of_recognition(&format!("{bp}/resultOfRecognition[{}]", j + 1), inner);
            }
            for (j, a) in b.attachments.iter().enumerate() {
                self.attachment(&format!("{bp}/attachment[{}]", j + 1), a);
            }
        }
        let none = HashSet::new();
        for (i, los) in r.recognition_results.iter().enumerate() {
            self.los(
                &format!(
                    "{path}/recognitionResult[{}]/learningOpportunitySpecification",
                    i + 1
                ),
                los,
                &none,
            );
        }
        self.attachment_refs(&format!("{path}/attachments"), &r.attachment_refs);
    }

    fn attachment_refs(&mut self, path: &str, refs: &[String]) {
        for (i, r) in refs.iter().enumerate() {
            if !self.attachment_ids.contains(r) {
                self.err(
                    &format!("{path}/ref[{}]", i + 1),
                    format!("{r:?} does not refer to any attachment identifier of this document"),
                );
            }
        }
    }

    fn los(&mut self, path: &str, los: &LearningOpportunitySpecification, schemes: &HashSet<&str>) {
        if self.v21() && los.identifiers.is_empty() {
            self.err(
                &format!("{path}/identifier"),
                "missing: ELMO 2.1 requires at least one identifier per learning opportunity",
            );
        }
        self.identifiers(&format!("{path}/identifier"), &los.identifiers);
        if let Some(d) = &los.document_type {
            let dp = format!("{path}/documentType");
            self.only_v21(&dp, true, "documentType");
            if self.v21() && !DOCUMENT_TYPES.contains(&d.as_str()) {
                self.warn(
                    &dp,
                    format!("{d:?} is not one of {DOCUMENT_TYPES:?}; it is omitted when writing"),
                );
            }
        }
        self.extension(
            &format!("{path}/specifies/extension"),
            &los.specifies_extension,
        );
        self.extension(&format!("{path}/extension"), &los.extension);
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
        if let Some(e) = &loi.enrolment {
            let ep = format!("{path}/enrolment");
            self.only_v21(&ep, true, "enrolment");
            if self.v21() {
                self.issuer(&format!("{ep}/enrolmentInstitution"), &e.institution);
                self.date(&format!("{ep}/enrolmentDate"), &e.date);
                self.date(&format!("{ep}/academicYear/start"), &e.academic_year_start);
                self.date(&format!("{ep}/academicYear/end"), &e.academic_year_end);
            }
        }
        if let Some(d) = &loi.duration {
            let dp = format!("{path}/duration");
            self.only_v21(&dp, true, "duration");
            if self.v21() && !is_duration(d) {
                self.err(&dp, format!("{d:?} is not an xs:duration (e.g. P1Y6M)"));
            }
        }
        self.only_v21(
            &format!("{path}/gradingSchemeExternalId"),
            loi.grading_scheme_external_id.is_some(),
            "gradingSchemeExternalId",
        );
        self.extension(&format!("{path}/extension"), &loi.extension);
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
            if self.v21() && c.level.is_some() {
                self.warn(
                    &format!("{cp}/level"),
                    "the credit level was removed in ELMO 2.x; it is not written to 2.1",
                );
            } else if let Some(l) = &c.level
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
        self.attachment_refs(&format!("{path}/attachments"), &loi.attachment_refs);
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
            && !is_attachment_type(t, self.version)
        {
            self.warn(
                &format!("{path}/type"),
                format!(
                    "{t:?} is not an attachment type of the ELMO {} schema; written as \"Other\"",
                    self.version
                ),
            );
        }
        self.extension(&format!("{path}/extension"), &a.extension);
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

    #[test]
    fn v21_targets_check_what_2_1_adds() {
        let v21 = |e: &Elmo| validate_for(e, ElmoVersion::V2_1);
        assert!(!has_errors(&v21(&good())), "{:#?}", v21(&good()));

        let mut e = good();
        e.learner.citizenship =
            Some("https://publications.europa.eu/resource/authority/country/XKX".into());
        e.learner.country_of_birth = Some("Greece".into());
        e.learner.country_of_birth_type = Some("ISO".into());
        e.reports[0].status = Some(ReportStatus::new("PARTIAL"));
        e.reports[0]
            .results_of_recognition
            .push(ResultOfRecognition {
                status: "Maybe".into(),
                attachment_refs: vec!["nowhere".into()],
                ..ResultOfRecognition::default()
            });
        let loi = e.reports[0].learning_opportunities[0]
            .specifies
            .as_mut()
            .expect("loi");
        loi.duration = Some("1 year".into());
        loi.credits[0].level = Some("Master".into());
        let issues = v21(&e);
        let at = |p: &str| find(&issues, p).map(|i| i.severity);
        let r = "/elmo/report[1]";
        let l = "/elmo/report[1]/learningOpportunitySpecification[1]/specifies/learningOpportunityInstance";
        assert_eq!(
            at("/elmo/learner/citizenship"),
            None,
            "a URI is a valid 2.1 citizenship"
        );
        assert_eq!(at("/elmo/learner/countryOfBirth"), Some(Severity::Warning));
        assert_eq!(at(&format!("{r}/status/code")), Some(Severity::Error));
        assert_eq!(
            at(&format!("{r}/resultOfRecognition[1]/status")),
            Some(Severity::Error)
        );
        assert_eq!(
            at(&format!("{r}/resultOfRecognition[1]/attachments/ref[1]")),
            Some(Severity::Error)
        );
        assert_eq!(at(&format!("{l}/duration")), Some(Severity::Error));
        assert_eq!(at(&format!("{l}/credit[1]/level")), Some(Severity::Warning));
        // The same document for 1.7: the 2.1-only parts are dropped (warnings), not errors.
        let issues = validate_for(&e, ElmoVersion::V1_7);
        assert!(!has_errors(&issues), "{issues:#?}");
        assert_eq!(
            find(&issues, &format!("{r}/status")).map(|i| i.severity),
            Some(Severity::Warning)
        );
        assert_eq!(
            find(&issues, "/elmo/learner/citizenship").map(|i| i.severity),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn extension_content_from_the_elmo_or_signature_namespace_is_an_error() {
        let fragment = |xml: &str| XmlFragment::parse(xml).expect("fragment");
        let mut e = good();
        e.extension = Some(Extension {
            attributes: vec![ExtensionAttribute {
                namespace: None,
                name: "type".into(),
                value: "meta".into(),
            }],
            elements: vec![
                fragment(r#"<learner xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v2"/>"#),
                fragment(
                    r#"<m:x xmlns:m="urn:m"><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/></m:x>"#,
                ),
                fragment(r#"<m:ok xmlns:m="urn:m"/>"#),
            ],
        });
        let issues = validate_for(&e, ElmoVersion::V2_1);
        assert_eq!(
            find(&issues, "/elmo/extension/*[1]").map(|i| i.severity),
            Some(Severity::Error)
        );
        assert_eq!(
            find(&issues, "/elmo/extension/*[2]").map(|i| i.severity),
            Some(Severity::Error)
        );
        assert_eq!(find(&issues, "/elmo/extension/*[3]"), None);
        assert_eq!(
            find(&issues, "/elmo/extension/@type").map(|i| i.severity),
            Some(Severity::Warning)
        );
        // A v2-namespace element is "other" for a 1.7 document.
        let issues = validate_for(&e, ElmoVersion::V1_7);
        assert_eq!(find(&issues, "/elmo/extension/*[1]"), None);
    }
}
