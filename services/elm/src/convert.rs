//! ELMO → ELM v3: the mapping itself (docs/elm.md has the table, field by field).

use std::collections::BTreeMap;

use emrex_elmo::{
    Attachment, Credit, Elmo, Issuer, LangText, Learner, LearningOpportunityInstance,
    LearningOpportunitySpecification, LoiStatus, Report,
};

use crate::model::*;
use crate::{ElmError, Limits, NotMapped, Options, vocab};

/// Builds the credential; holds the id counters and the list of what was not mapped.
pub(crate) struct Converter<'a> {
    options: &'a Options,
    ids: BTreeMap<&'static str, u32>,
    claims: usize,
    attachment_bytes: usize,
    attachments_emitted: usize,
    pub(crate) not_mapped: Vec<NotMapped>,
}

/// The organisation and grading schemes of the report being converted.
struct ReportCtx<'r> {
    org: Organisation,
    report: &'r Report,
}

fn limits_err(limits: &Limits, claims: usize) -> ElmError {
    ElmError::TooManyClaims {
        limit: limits.max_claims,
        seen: claims,
    }
}

impl<'a> Converter<'a> {
    pub(crate) fn new(options: &'a Options) -> Self {
        Self {
            options,
            ids: BTreeMap::new(),
            claims: 0,
            attachment_bytes: 0,
            attachments_emitted: 0,
            not_mapped: Vec::new(),
        }
    }

    /// `urn:epass:<kind>:<n>`, numbered per kind in document order (deterministic output).
    fn id(&mut self, kind: &'static str) -> String {
        let n = self.ids.entry(kind).or_insert(0);
        *n += 1;
        format!("urn:epass:{kind}:{n}")
    }

    fn skip(&mut self, path: impl Into<String>, reason: &'static str) {
        self.not_mapped.push(NotMapped {
            path: path.into(),
            reason,
        });
    }

    pub(crate) fn credential(
        &mut self,
        elmo: &Elmo,
    ) -> Result<EuropeanDigitalCredential, ElmError> {
        if elmo.reports.is_empty() {
            return Err(ElmError::NoReports);
        }
        let mut subject = self.person(&elmo.learner);
        let mut first_org = None;
        let mut issued = None;
        for (ri, report) in elmo.reports.iter().enumerate() {
            let rpath = format!("report[{ri}]");
            let org = self.organisation(&report.issuer, &format!("{rpath}/issuer"));
            if first_org.is_none() {
                first_org = Some(org.clone());
            }
            if issued.is_none() && !report.issue_date.is_empty() {
                issued = self.date_time(&report.issue_date, &format!("{rpath}/issueDate"));
            }
            let ctx = ReportCtx { org, report };
            for (li, los) in report.learning_opportunities.iter().enumerate() {
                let path = format!("{rpath}/learningOpportunitySpecification[{li}]");
                let claims = self.claims(los, &ctx, &path, 1)?;
                subject.has_claim.extend(claims);
            }
            self.report_leftovers(report, &rpath);
        }
        if subject.has_claim.is_empty() {
            return Err(ElmError::NoClaims);
        }
        self.document_leftovers(elmo);

        let mut attachment = Vec::new();
        if self.options.attachments {
            for (i, (report, a)) in elmo.all_attachments().enumerate() {
                let path = match report {
                    None => format!("attachment[{i}]"),
                    Some(r) => format!("report[{r}]/attachment"),
                };
                attachment.extend(self.attachment(a, &path)?);
            }
        } else if elmo.all_attachments().next().is_some() {
            self.skip(
                "attachment",
                "attachments were switched off (Options::attachments)",
            );
        }

        let generated = if elmo.generated_date.is_empty() {
            None
        } else {
            self.date_time(&elmo.generated_date, "generatedDate")
        };
        let issuance = self.options.issuance_date.clone().or(generated);
        let issuer = match &self.options.issuer {
            Some(o) => o.clone(),
            // `reports` is non-empty, so the first report made an organisation.
            None => first_org.ok_or(ElmError::NoReports)?,
        };
        let primary = vocab::language(&self.options.primary_language)
            .or_else(|| vocab::language("en"))
            .ok_or(ElmError::NoReports)?;
        let display_parameter = DisplayParameter {
            id: self.id("displayParameter"),
            kind: "DisplayParameter".into(),
            title: self.options.display_title.clone(),
            description: LangMap::default(),
            language: vec![primary.clone()],
            primary_language: primary,
        };
        Ok(EuropeanDigitalCredential {
            context: crate::context(),
            id: self.options.credential_id.clone(),
            types: vec![
                "VerifiableCredential".into(),
                "EuropeanDigitalCredential".into(),
            ],
            credential_profiles: vec![vocab::generic_profile()],
            credential_schema: vec![CredentialSchema {
                id: "http://data.europa.eu/snb/model/ap/edc-generic-full".into(),
                kind: "ShaclValidator2017".into(),
            }],
            issuer,
            issuance_date: issuance.clone(),
            issued,
            valid_from: issuance,
            credential_subject: subject,
            display_parameter,
            attachment,
        })
    }

    /// Fields of the document that ELM v3 has no place for.
    fn document_leftovers(&mut self, elmo: &Elmo) {
        if elmo.groups.is_some() {
            self.skip(
                "groups",
                "ELMO groups are a display grouping of results; ELM's Group is a group of agents",
            );
        }
        if has_content(elmo.extension.as_ref()) {
            self.skip("extension", "issuer-specific content from other namespaces");
        }
        if elmo.has_signature {
            self.skip(
                "Signature",
                "the XML signature covers the ELMO bytes; the credential gets its own proof when issued",
            );
        }
    }

    fn report_leftovers(&mut self, report: &Report, rpath: &str) {
        for (i, g) in report.grading_schemes.iter().enumerate() {
            let used = report.all_learning_opportunities().any(|l| {
                l.specifies
                    .as_ref()
                    .and_then(|x| x.grading_scheme_local_id.as_deref())
                    == Some(g.local_id.as_str())
            });
            if !used {
                self.skip(
                    format!("{rpath}/gradingScheme[{i}]"),
                    "no result refers to it (schemes are mapped where a result uses them)",
                );
            }
        }
        if !report.results_of_recognition.is_empty() {
            self.skip(
                format!("{rpath}/resultOfRecognition"),
                "ELMO 2.1 recognition decisions have no ELM v3 counterpart in a transcript credential",
            );
        }
        if report.status.is_some() {
            self.skip(
                format!("{rpath}/status"),
                "ELMO 2.1 report completeness is about the exchange, not the learner's results",
            );
        }
        if report.legacy_learner.is_some() {
            self.skip(
                format!("{rpath}/learner"),
                "the pilot format repeats the learner per report; the document learner is the subject",
            );
        }
    }

    fn langmap(texts: &[LangText]) -> LangMap {
        let mut m = LangMap::default();
        for t in texts {
            m.push(t.lang.as_deref(), &t.text);
        }
        m
    }

    fn identifiers(&mut self, ids: &[emrex_elmo::Identifier]) -> Vec<Identifier> {
        ids.iter()
            .filter(|i| !i.value.trim().is_empty())
            .map(|i| Identifier {
                id: self.id("identifier"),
                kind: "Identifier".into(),
                scheme_name: Some(i.id_type.clone()).filter(|s| !s.is_empty()),
                notation: i.value.clone(),
            })
            .collect()
    }

    /// `xs:date` or `xs:dateTime` → `xsd:dateTime` (a date gets `T00:00:00` before its zone).
    fn date_time(&mut self, value: &str, path: &str) -> Option<String> {
        let out = to_date_time(value);
        if out.is_none() {
            self.skip(path, "not an xs:date or xs:dateTime");
        }
        out
    }

    fn country(&mut self, value: &str, path: &str) -> Option<Concept> {
        let c = vocab::country(value);
        if c.is_none() {
            self.skip(
                path,
                "not an ISO 3166-1 code or Publications Office country URI",
            );
        }
        c
    }

    fn note(&mut self, lang: Option<&str>, text: &str) -> Note {
        let mut literal = LangMap::default();
        literal.push(lang, text);
        Note {
            id: self.id("note"),
            kind: "Note".into(),
            note_literal: literal,
        }
    }

    fn person(&mut self, l: &Learner) -> Person {
        let mut given = LangMap::default();
        given.push(None, &l.given_names);
        let mut family = LangMap::default();
        family.push(None, &l.family_name);
        let mut birth_name = LangMap::default();
        if let Some(b) = &l.birth_name {
            birth_name.push(None, b);
        }
        let mut full_name = LangMap::default();
        if let Some(a) = &l.alternative_name {
            full_name.push(a.lang.as_deref(), &a.text);
        }
        let date_of_birth = l
            .bday
            .as_deref()
            .and_then(|b| self.date_time(b, "learner/bday"));
        let citizenship: Vec<Concept> = l
            .citizenship
            .as_deref()
            .and_then(|c| self.country(c, "learner/citizenship"))
            .into_iter()
            .collect();
        let gender = l.gender.as_deref().and_then(|g| {
            let c = vocab::gender(g);
            if c.is_none() {
                self.skip(
                    "learner/gender",
                    "ISO/IEC 5218 0 (not known) and 9 (not applicable) have no verified human-sex concept",
                );
            }
            c
        });
        let identifier = self.identifiers(&l.identifiers);
        let national_id = l
            .identifiers
            .iter()
            .find(|i| i.id_type == "nationalIdentifier" && !i.value.trim().is_empty())
            .map(|i| LegalIdentifier {
                id: self.id("legalIdentifier"),
                kind: "LegalIdentifier".into(),
                notation: i.value.clone(),
                scheme_name: Some(i.id_type.clone()),
                spatial: citizenship.first().cloned(),
            });
        let mut place_of_birth = Vec::new();
        if l.place_of_birth.is_some() || l.country_of_birth.is_some() {
            let full_address = l.place_of_birth.as_deref().map(|p| self.note(None, p));
            let country_code = l
                .country_of_birth
                .as_deref()
                .and_then(|c| self.country(c, "learner/countryOfBirth"));
            place_of_birth.push(self.location(country_code, full_address));
        }
        let mut location = Vec::new();
        if let Some(a) = &l.current_address {
            let mut parts: Vec<&str> = a.address_lines.iter().map(String::as_str).collect();
            for p in [
                &a.street_name,
                &a.building_number,
                &a.building_name,
                &a.unit,
                &a.floor,
                &a.post_office_box,
            ]
            .into_iter()
            .flatten()
            {
                parts.push(p);
            }
            parts.extend(a.delivery_point_codes.iter().map(String::as_str));
            for p in [&a.postal_code, &a.locality, &a.region]
                .into_iter()
                .flatten()
            {
                parts.push(p);
            }
            let text = parts.join(", ");
            let full = (!text.trim().is_empty()).then(|| self.note(None, &text));
            let country = a
                .country
                .as_deref()
                .and_then(|c| self.country(c, "learner/currentAddress/country"));
            if !a.recipient_names.is_empty() {
                self.skip(
                    "learner/currentAddress/recipientName",
                    "the recipient is the learner, already named",
                );
            }
            if full.is_some() || country.is_some() {
                location.push(self.location(country, full));
            }
        }
        Person {
            id: self.id("person"),
            kind: "Person".into(),
            given_name: given,
            family_name: family,
            full_name,
            birth_name,
            date_of_birth,
            place_of_birth,
            citizenship_country: citizenship,
            gender,
            national_id,
            identifier,
            location,
            has_claim: Vec::new(),
        }
    }

    fn location(&mut self, country_code: Option<Concept>, full_address: Option<Note>) -> Location {
        let address = Address {
            id: self.id("address"),
            kind: "Address".into(),
            country_code,
            full_address,
        };
        Location {
            id: self.id("location"),
            kind: "Location".into(),
            geographic_name: LangMap::default(),
            address: vec![address],
        }
    }

    fn organisation(&mut self, issuer: &Issuer, path: &str) -> Organisation {
        let identifier = self.identifiers(&issuer.identifiers);
        let mut location = Vec::new();
        if let Some(c) = issuer.country.as_deref()
            && let Some(concept) = self.country(c, &format!("{path}/country"))
        {
            location.push(self.location(Some(concept), None));
        }
        let homepage = issuer
            .url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(|u| self.web(u))
            .into_iter()
            .collect();
        Organisation {
            id: self.id("org"),
            kind: "Organisation".into(),
            legal_name: Self::langmap(&issuer.titles),
            identifier,
            location,
            homepage,
        }
    }

    fn web(&mut self, url: &str) -> WebResource {
        WebResource {
            id: self.id("webResource"),
            kind: "WebResource".into(),
            content_url: url.trim().to_owned(),
        }
    }

    /// The claims for one node and its parts. A node without an instance, or with a status ELMO
    /// does not define, is not mapped; its parts are lifted to where it stood.
    fn claims(
        &mut self,
        los: &LearningOpportunitySpecification,
        ctx: &ReportCtx<'_>,
        path: &str,
        depth: usize,
    ) -> Result<Vec<Claim>, ElmError> {
        let limits = &self.options.limits;
        if depth > limits.max_depth {
            return Err(ElmError::TooDeep {
                limit: limits.max_depth,
            });
        }
        self.claims += 1;
        if self.claims > limits.max_claims {
            return Err(limits_err(limits, self.claims));
        }
        let mut parts = Vec::new();
        for (i, child) in los.has_part.iter().enumerate() {
            let cpath = format!("{path}/hasPart[{i}]");
            parts.extend(self.claims(child, ctx, &cpath, depth + 1)?);
        }
        self.los_leftovers(los, path);
        let Some(inst) = &los.specifies else {
            self.skip(
                format!("{path}/specifies"),
                "no learningOpportunityInstance (schema-invalid): nothing was achieved; its parts are kept",
            );
            return Ok(parts);
        };
        self.loi_leftovers(
            inst,
            &format!("{path}/specifies/learningOpportunityInstance"),
        );
        let ipath = format!("{path}/specifies/learningOpportunityInstance");
        let claim = match inst.effective_status() {
            LoiStatus::Passed => {
                Claim::Achievement(Box::new(self.achievement(los, inst, ctx, &ipath, parts)))
            }
            LoiStatus::InProgress => {
                self.credits_not_mapped(inst, &ipath, "in progress: no credits received yet");
                self.specification_not_mapped(
                    los,
                    path,
                    "in progress: no achievement to specify yet",
                );
                Claim::Activity(Box::new(self.in_progress(los, inst, ctx, &ipath, parts)))
            }
            LoiStatus::Failed => {
                self.credits_not_mapped(inst, &ipath, "failed: no credits received");
                self.specification_not_mapped(los, path, "failed: no achievement to specify");
                for (field, present) in [
                    ("level", !inst.levels.is_empty()),
                    (
                        "languageOfInstruction",
                        inst.language_of_instruction.is_some(),
                    ),
                    ("engagementHours", inst.engagement_hours.is_some()),
                    ("start", inst.start.is_some()),
                    ("academicTerm", inst.academic_term.is_some()),
                ] {
                    if present {
                        self.skip(
                            format!("{ipath}/{field}"),
                            "failed: only the assessment (grade, date, grading scheme) is claimed",
                        );
                    }
                }
                let mut a = self.assessment(los, inst, ctx, &ipath, false);
                a.has_part = parts;
                Claim::Assessment(Box::new(a))
            }
            LoiStatus::Other(_) => {
                self.skip(
                    format!("{ipath}/status"),
                    "a status outside passed/failed/in-progress: the node is not mapped, its parts are kept",
                );
                return Ok(parts);
            }
        };
        Ok(vec![claim])
    }

    /// The achievement-specification fields of a node that is not an achievement.
    fn specification_not_mapped(
        &mut self,
        los: &LearningOpportunitySpecification,
        path: &str,
        reason: &'static str,
    ) {
        for (field, present) in [
            ("iscedCode", los.isced_code.is_some()),
            ("subjectArea", los.subject_area.is_some()),
            ("url", los.url.is_some()),
        ] {
            if present {
                self.skip(format!("{path}/{field}"), reason);
            }
        }
    }

    fn credits_not_mapped(
        &mut self,
        inst: &LearningOpportunityInstance,
        ipath: &str,
        reason: &'static str,
    ) {
        if !inst.credits.is_empty() {
            self.skip(format!("{ipath}/credit"), reason);
        }
    }

    fn los_leftovers(&mut self, los: &LearningOpportunitySpecification, path: &str) {
        if !los.descriptions_html.is_empty() {
            self.skip(
                format!("{path}/descriptionHtml"),
                "untrusted HTML; the plain-text description is mapped",
            );
        }
        if has_content(los.extension.as_ref()) {
            self.skip(
                format!("{path}/extension"),
                "issuer-specific content from other namespaces",
            );
        }
        if has_content(los.specifies_extension.as_ref()) {
            self.skip(
                format!("{path}/specifies/extension"),
                "issuer-specific content from other namespaces",
            );
        }
    }

    fn loi_leftovers(&mut self, inst: &LearningOpportunityInstance, ipath: &str) {
        let items: [(bool, &str, &'static str); 6] = [
            (
                !inst.attachment_refs.is_empty(),
                "attachments",
                "ELM v3 attaches documents to the credential, not to a claim; the documents themselves are in `attachment`",
            ),
            (
                inst.grouping.is_some(),
                "grouping",
                "display grouping (see groups)",
            ),
            (
                has_content(inst.extension.as_ref()),
                "extension",
                "issuer-specific content from other namespaces",
            ),
            (
                inst.diploma_supplement.is_some(),
                "diplomaSupplement",
                "a Diploma Supplement is its own EDC type (the correspondence table: N/A)",
            ),
            (
                inst.enrolment.is_some(),
                "enrolment",
                "ELMO 2.1 enrolment is about admission, not a learning result",
            ),
            (
                inst.duration.is_some(),
                "duration",
                "ELMO 2.1 duration has no ELM property on a claim (workload/volumeOfLearning are nominal)",
            ),
        ];
        for (present, field, reason) in items {
            if present {
                self.skip(format!("{ipath}/{field}"), reason);
            }
        }
        for (i, c) in inst.credits.iter().enumerate() {
            if c.level.is_some() {
                self.skip(
                    format!("{ipath}/credit[{i}]/level"),
                    "deprecated in ELMO, removed in 2.x (the correspondence table: N/A)",
                );
            }
        }
    }

    fn achievement(
        &mut self,
        los: &LearningOpportunitySpecification,
        inst: &LearningOpportunityInstance,
        ctx: &ReportCtx<'_>,
        ipath: &str,
        parts: Vec<Claim>,
    ) -> LearningAchievement {
        let id = self.id("learningAchievement");
        let identifier = self.identifiers(&inst.identifiers);
        let awarding_date = inst
            .date
            .as_deref()
            .and_then(|d| self.date_time(d, &format!("{ipath}/date")));
        let awarded_by = AwardingProcess {
            id: self.id("awardingProcess"),
            kind: "AwardingProcess".into(),
            awarding_body: ctx.org.clone(),
            awarding_date,
        };
        let specified_by = self.specification(los, inst, ipath);
        let credit_received = self.credits(&inst.credits, ipath);
        let proven_by = vec![self.assessment(los, inst, ctx, ipath, true)];
        let influenced_by = self.activity(los, inst, ipath).into_iter().collect();
        LearningAchievement {
            id,
            kind: "LearningAchievement".into(),
            title: Self::langmap(&los.titles),
            description: Self::langmap(&los.descriptions),
            identifier,
            awarded_by,
            specified_by,
            credit_received,
            proven_by,
            influenced_by,
            has_part: parts,
        }
    }

    fn category(los: &LearningOpportunitySpecification) -> LangMap {
        let mut category = LangMap::default();
        for t in [&los.los_type, &los.document_type].into_iter().flatten() {
            category.push(Some("en"), t);
        }
        category
    }

    fn language(&mut self, inst: &LearningOpportunityInstance, ipath: &str) -> Vec<Concept> {
        let Some(tag) = inst.language_of_instruction.as_deref() else {
            return Vec::new();
        };
        let c = vocab::language(tag);
        if c.is_none() {
            self.skip(
                format!("{ipath}/languageOfInstruction"),
                "not an ISO 639-1 code",
            );
        }
        c.into_iter().collect()
    }

    fn specification(
        &mut self,
        los: &LearningOpportunitySpecification,
        inst: &LearningOpportunityInstance,
        ipath: &str,
    ) -> Specification {
        let qualification = los.los_type.as_deref() == Some("Degree Programme");
        let (kind, prefix) = if qualification {
            ("Qualification", "qualification")
        } else {
            (
                "LearningAchievementSpecification",
                "learningAchievementSpec",
            )
        };
        let id = self.id(prefix);
        let identifier = self.identifiers(&los.identifiers);
        let thematic_area = los
            .isced_code
            .as_deref()
            .and_then(|c| {
                let concept = vocab::isced_f(c);
                if concept.is_none() {
                    self.skip(
                        ipath.replace("/specifies/learningOpportunityInstance", "/iscedCode"),
                        "not an ISCED-F 2013 code (2 to 4 digits)",
                    );
                }
                concept
            })
            .into_iter()
            .collect();
        let education_subject = los
            .subject_area
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                let id = self.id("concept");
                vocab::local(id, Some(s.trim()), LangMap::default())
            })
            .into_iter()
            .collect();
        let mut education_level = Vec::new();
        let mut eqf_level = None;
        for (i, level) in inst.levels.iter().enumerate() {
            let value = level.value.as_deref().unwrap_or("").trim();
            if level.level_type.eq_ignore_ascii_case("EQF")
                && let Some(c) = vocab::eqf(value)
            {
                if qualification && eqf_level.is_none() {
                    eqf_level = Some(c.clone());
                }
                education_level.push(c);
                continue;
            }
            if value.is_empty() {
                self.skip(format!("{ipath}/level[{i}]"), "a level without a value");
                continue;
            }
            let mut label = LangMap::default();
            if let Some(d) = &level.description {
                label.push(d.lang.as_deref(), &d.text);
            }
            if label.is_empty() {
                label.push(None, &level.level_type);
            }
            let id = self.id("concept");
            education_level.push(vocab::local(id, Some(value), label));
        }
        let credit_point = self.credits(&inst.credits, ipath);
        let language = self.language(inst, ipath);
        let homepage = los
            .url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(|u| self.web(u))
            .into_iter()
            .collect();
        Specification {
            id,
            kind: kind.into(),
            title: Self::langmap(&los.titles),
            description: Self::langmap(&los.descriptions),
            identifier,
            category: Self::category(los),
            thematic_area,
            education_subject,
            education_level,
            eqf_level,
            credit_point,
            language,
            homepage,
        }
    }

    fn credits(&mut self, credits: &[Credit], ipath: &str) -> Vec<CreditPoint> {
        let mut out = Vec::new();
        for (i, c) in credits.iter().enumerate() {
            let Some(value) = c.value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
                self.skip(format!("{ipath}/credit[{i}]"), "a credit without a value");
                continue;
            };
            let framework = if c.is_ects() {
                vocab::ects()
            } else {
                let id = self.id("concept");
                let mut label = LangMap::default();
                label.push(None, &c.scheme);
                vocab::local(id, Some(c.scheme.trim()), label)
            };
            out.push(CreditPoint {
                id: self.id("creditPoint"),
                kind: "CreditPoint".into(),
                framework,
                point: value.to_owned(),
            });
        }
        out
    }

    fn assessment(
        &mut self,
        los: &LearningOpportunitySpecification,
        inst: &LearningOpportunityInstance,
        ctx: &ReportCtx<'_>,
        ipath: &str,
        passed: bool,
    ) -> LearningAssessment {
        let id = self.id("learningAssessment");
        // A failed claim is the assessment itself, so it carries the instance's identifiers.
        let identifier = if passed {
            Vec::new()
        } else {
            self.identifiers(&inst.identifiers)
        };
        let grade = inst
            .result_label
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map(|r| self.note(None, r));
        let date_issued = inst
            .date
            .as_deref()
            .and_then(|d| self.date_time(d, &format!("{ipath}/date")));
        let grading_scheme = self.grading_scheme(inst, ctx.report);
        let specified_by = Some(LearningAssessmentSpecification {
            id: self.id("learningAssessmentSpec"),
            kind: "LearningAssessmentSpecification".into(),
            title: Self::langmap(&los.titles),
            grading_scheme,
        });
        let shortened_grading = inst.shortened_grading.as_ref().and_then(|s| {
            let pct = |v: &str| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
            };
            match (
                pct(&s.percentage_lower),
                pct(&s.percentage_equal),
                pct(&s.percentage_higher),
            ) {
                (Some(l), Some(e), Some(h)) => Some(ShortenedGrading {
                    id: self.id("shortenedGrading"),
                    kind: "ShortenedGrading".into(),
                    // xsd:integer in the context: rounded (documented loss of the decimals).
                    percentage_lower: l.round() as i64,
                    percentage_equal: e.round() as i64,
                    percentage_higher: h.round() as i64,
                }),
                _ => {
                    self.skip(
                        format!("{ipath}/shortenedGrading"),
                        "percentages that are not decimals between 0 and 100",
                    );
                    None
                }
            }
        });
        let result_distribution = inst.result_distribution.as_ref().and_then(|d| {
            let mut cats = Vec::new();
            for (i, c) in d.categories.iter().enumerate() {
                match c.count.trim().parse::<u64>() {
                    Ok(count) => cats.push(ResultCategory {
                        id: self.id("resultCategory"),
                        kind: "ResultCategory".into(),
                        label: c.label.clone(),
                        count,
                    }),
                    Err(_) => self.skip(
                        format!("{ipath}/resultDistribution/category[{i}]"),
                        "a count that is not a non-negative integer",
                    ),
                }
            }
            (!cats.is_empty()).then(|| ResultDistribution {
                id: self.id("resultDistribution"),
                kind: "ResultDistribution".into(),
                result_category: cats,
                description: Self::langmap(&d.descriptions),
            })
        });
        LearningAssessment {
            id,
            kind: "LearningAssessment".into(),
            title: Self::langmap(&los.titles),
            description: if passed {
                LangMap::default()
            } else {
                Self::langmap(&los.descriptions)
            },
            identifier,
            grade,
            grade_status: passed.then(vocab::grade_pass),
            date_issued,
            assessed_by: vec![ctx.org.clone()],
            specified_by,
            shortened_grading,
            result_distribution,
            has_part: Vec::new(),
        }
    }

    fn grading_scheme(
        &mut self,
        inst: &LearningOpportunityInstance,
        report: &Report,
    ) -> Option<GradingScheme> {
        let local = inst
            .grading_scheme_local_id
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        let external = inst
            .grading_scheme_external_id
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        if local.is_none() && external.is_none() {
            return None;
        }
        let mut ids = Vec::new();
        if let Some(l) = local {
            ids.push(emrex_elmo::Identifier::new("local", l));
        }
        if let Some(e) = external {
            ids.push(emrex_elmo::Identifier::new("external", e));
        }
        let description = local
            .and_then(|l| report.grading_schemes.iter().find(|g| g.local_id == l))
            .map(|g| Self::langmap(&g.descriptions))
            .unwrap_or_default();
        Some(GradingScheme {
            id: self.id("gradingScheme"),
            kind: "GradingScheme".into(),
            identifier: self.identifiers(&ids),
            description,
        })
    }

    fn temporal(&mut self, inst: &LearningOpportunityInstance, ipath: &str) -> Vec<PeriodOfTime> {
        let mut out = Vec::new();
        if inst.start.is_some() || inst.date.is_some() {
            let start_date = inst
                .start
                .as_deref()
                .and_then(|d| self.date_time(d, &format!("{ipath}/start")));
            // `date` was reported already if invalid (awarding date).
            let end_date = inst
                .date
                .as_deref()
                .and_then(|d| self.date_time(d, &format!("{ipath}/date")));
            if start_date.is_some() || end_date.is_some() {
                out.push(PeriodOfTime {
                    id: self.id("period"),
                    kind: "PeriodOfTime".into(),
                    pref_label: LangMap::default(),
                    start_date,
                    end_date,
                });
            }
        }
        if let Some(term) = &inst.academic_term {
            let start_date = self.date_time(&term.start, &format!("{ipath}/academicTerm/start"));
            let end_date = self.date_time(&term.end, &format!("{ipath}/academicTerm/end"));
            out.push(PeriodOfTime {
                id: self.id("period"),
                kind: "PeriodOfTime".into(),
                pref_label: Self::langmap(&term.titles),
                start_date,
                end_date,
            });
        }
        out
    }

    fn contact_hours(&mut self, inst: &LearningOpportunityInstance, ipath: &str) -> Vec<String> {
        match inst.engagement_hours.as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some(h) if emrex_elmo::codes::is_non_negative_decimal(h) => vec![h.to_owned()],
            Some(_) => {
                self.skip(
                    format!("{ipath}/engagementHours"),
                    "not a non-negative decimal",
                );
                Vec::new()
            }
        }
    }

    /// The studying behind a passed claim: dates, academic term, hours (none → no activity).
    fn activity(
        &mut self,
        los: &LearningOpportunitySpecification,
        inst: &LearningOpportunityInstance,
        ipath: &str,
    ) -> Option<LearningActivity> {
        if inst.start.is_none() && inst.academic_term.is_none() && inst.engagement_hours.is_none() {
            return None;
        }
        let id = self.id("activity");
        let temporal = self.temporal(inst, ipath);
        let contact_hour = self.contact_hours(inst, ipath);
        if temporal.is_empty() && contact_hour.is_empty() {
            return None;
        }
        Some(LearningActivity {
            id,
            kind: "LearningActivity".into(),
            title: Self::langmap(&los.titles),
            description: LangMap::default(),
            identifier: Vec::new(),
            temporal,
            contact_hour,
            directed_by: Vec::new(),
            specified_by: None,
            has_part: Vec::new(),
        })
    }

    fn in_progress(
        &mut self,
        los: &LearningOpportunitySpecification,
        inst: &LearningOpportunityInstance,
        ctx: &ReportCtx<'_>,
        ipath: &str,
        parts: Vec<Claim>,
    ) -> LearningActivity {
        let id = self.id("activity");
        let identifier = self.identifiers(&inst.identifiers);
        let temporal = self.temporal(inst, ipath);
        let contact_hour = self.contact_hours(inst, ipath);
        let spec_id = self.id("learningActivitySpec");
        let spec_identifier = self.identifiers(&los.identifiers);
        let language = self.language(inst, ipath);
        for (field, present) in [
            ("resultLabel", inst.result_label.is_some()),
            ("level", !inst.levels.is_empty()),
        ] {
            if present {
                self.skip(
                    format!("{ipath}/{field}"),
                    "in progress: no result or level has been awarded yet",
                );
            }
        }
        LearningActivity {
            id,
            kind: "LearningActivity".into(),
            title: Self::langmap(&los.titles),
            description: Self::langmap(&los.descriptions),
            identifier,
            temporal,
            contact_hour,
            directed_by: vec![ctx.org.clone()],
            specified_by: Some(LearningActivitySpecification {
                id: spec_id,
                kind: "LearningActivitySpecification".into(),
                title: Self::langmap(&los.titles),
                identifier: spec_identifier,
                category: Self::category(los),
                language,
            }),
            has_part: parts,
        }
    }

    /// One attachment content as a `MediaObject`: base64 `data:` URIs of a known file type, within
    /// the byte budget. The base64 text is copied once, never decoded and re-encoded.
    fn attachment(&mut self, a: &Attachment, path: &str) -> Result<Vec<MediaObject>, ElmError> {
        let mut out = Vec::new();
        for (i, content) in a.contents.iter().enumerate() {
            let cpath = format!("{path}/content[{i}]");
            if content.lang.is_some() {
                self.skip(
                    format!("{cpath}/@xml:lang"),
                    "ELM v3 MediaObject has no language",
                );
            }
            let Some((header, data)) = content.data.split_once(',') else {
                self.skip(cpath, "not a data: URI");
                continue;
            };
            if !header.ends_with(";base64") || !header.starts_with("data:") {
                self.skip(cpath, "not a base64 data: URI");
                continue;
            }
            let media = content.media_type().unwrap_or_default();
            let Some(content_type) = vocab::file_type(&media) else {
                self.skip(
                    cpath,
                    "a media type outside PDF, PNG, JPEG, XML and plain text",
                );
                continue;
            };
            let limits = &self.options.limits;
            if self.attachments_emitted >= limits.max_attachments {
                self.skip(cpath, "more attachments than Limits::max_attachments");
                continue;
            }
            // Checked before copying: `data.len()` bounds the copy.
            if self.attachment_bytes.saturating_add(data.len()) > limits.max_attachment_bytes {
                self.skip(cpath, "the attachments exceed Limits::max_attachment_bytes");
                continue;
            }
            // Pretty-printed documents wrap the base64 text; the one copy drops the whitespace.
            let data: String = if data.bytes().any(|b| b.is_ascii_whitespace()) {
                data.chars().filter(|c| !c.is_ascii_whitespace()).collect()
            } else {
                data.to_owned()
            };
            let Some(size) = base64_decoded_len(&data) else {
                self.skip(cpath, "the base64 text is not valid base64");
                continue;
            };
            self.attachment_bytes += data.len();
            self.attachments_emitted += 1;
            out.push(MediaObject {
                id: String::new(),
                kind: "MediaObject".into(),
                content: data,
                content_encoding: vocab::base64_encoding(),
                content_type,
                content_size: size,
            });
        }
        for m in &mut out {
            m.id = self.id("mediaObject");
        }
        for (field, present) in [
            ("title", !a.titles.is_empty()),
            ("description", !a.descriptions.is_empty()),
            ("type", a.attachment_type.is_some()),
            ("identifier", !a.identifiers.is_empty()),
            ("extension", has_content(a.extension.as_ref())),
        ] {
            if present {
                self.skip(
                    format!("{path}/{field}"),
                    "ELM v3 MediaObject has only content, encoding, type and size",
                );
            }
        }
        Ok(out)
    }
}

/// An `extension` element that carries something (real documents write empty `<extension/>`s,
/// which lose nothing).
fn has_content(ext: Option<&emrex_elmo::Extension>) -> bool {
    ext.is_some_and(|e| !e.attributes.is_empty() || !e.elements.is_empty())
}

/// `xs:date` or `xs:dateTime` → `xsd:dateTime` (a date gets `T00:00:00` before its zone).
fn to_date_time(value: &str) -> Option<String> {
    let v = value.trim();
    if emrex_elmo::dates::is_date_time(v) {
        return Some(v.to_owned());
    }
    if !emrex_elmo::dates::is_date(v) {
        return None;
    }
    let b = v.as_bytes();
    let zone_len = if v.ends_with('Z') {
        1
    } else if b.len() > 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':' {
        6
    } else {
        0
    };
    let (date, zone) = v.split_at(v.len() - zone_len);
    Some(format!("{date}T00:00:00{zone}"))
}

/// The decoded length of standard base64 text (no whitespace), or `None` when it is not base64.
fn base64_decoded_len(data: &str) -> Option<u64> {
    let bytes = data.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let pad = bytes.iter().rev().take_while(|b| **b == b'=').count();
    if pad > 2 {
        return None;
    }
    let body = &bytes[..bytes.len() - pad];
    if !body
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
    {
        return None;
    }
    Some((bytes.len() / 4 * 3 - pad) as u64)
}

#[cfg(test)]
mod tests {
    use super::{base64_decoded_len, to_date_time};

    #[test]
    fn dates_become_date_times_keeping_the_zone() {
        let dt = |s: &str| to_date_time(s);
        assert_eq!(dt("2000-01-31").as_deref(), Some("2000-01-31T00:00:00"));
        assert_eq!(dt("2000-01-31Z").as_deref(), Some("2000-01-31T00:00:00Z"));
        assert_eq!(
            dt("2000-01-31+01:00").as_deref(),
            Some("2000-01-31T00:00:00+01:00")
        );
        assert_eq!(
            dt("2000-01-31-05:00").as_deref(),
            Some("2000-01-31T00:00:00-05:00")
        );
        assert_eq!(
            dt(" 2023-02-21T08:54:04.479+01:00 ").as_deref(),
            Some("2023-02-21T08:54:04.479+01:00")
        );
        assert_eq!(dt("31.01.2000"), None);
        assert_eq!(dt("2000-02-30"), None);
    }

    #[test]
    fn base64_length_without_decoding() {
        assert_eq!(base64_decoded_len("TWFu"), Some(3));
        assert_eq!(base64_decoded_len("TWE="), Some(2));
        assert_eq!(base64_decoded_len("TQ=="), Some(1));
        assert_eq!(base64_decoded_len("TQ="), None);
        assert_eq!(base64_decoded_len("T Q=="), None);
        assert_eq!(base64_decoded_len("T==="), None);
        assert_eq!(base64_decoded_len(""), None);
    }
}
