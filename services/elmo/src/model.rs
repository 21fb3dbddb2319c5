//! The ELMO data model: every element and attribute of ELMO 1.7 and 2.1.1.
//!
//! One model for every dialect we read (v1.x, the Croatian `tree/v1.3.0` namespace, `tree/v2`
//! 2.1.x, the 2015 purl pilot) and the two we write ([`ElmoVersion`]: 1.7 and 2.1.1). Fields
//! only one version can carry are documented on the field (and listed in the crate README), so
//! a converter knows what it drops. Conventions, chosen so nothing the issuer wrote is silently
//! reinterpreted:
//!
//! * Text is kept as written, with the XML Schema whitespace rule of its type applied: `xs:token`
//!   fields (names, titles, identifiers, dates, codes) are whitespace-collapsed, `xs:string`
//!   fields (descriptions) are kept verbatim.
//! * Dates, decimals and enumerations stay strings; [`crate::validate()`] checks them and
//!   [`crate::dates`] parses dates where a comparison is needed. Real documents carry values
//!   outside the enumerations (credit level `-`), so a typed field would force us to either
//!   reject the document or drop data.
//! * Elements the schema requires are plain `String`s (empty when a schema-invalid document
//!   lacked them); optional elements are `Option`s.
//!
//! Every type is `serde`-serializable so later services can store or forward it as JSON.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::datauri::{DataUri, DataUriError};
pub use crate::fragment::XmlFragment;

/// ELMO v1 namespace (all 1.x releases).
pub const NS_ELMO_V1: &str = "https://github.com/emrex-eu/elmo-schemas/tree/v1";
/// ELMO v2 namespace (2.1.x).
pub const NS_ELMO_V2: &str = "https://github.com/emrex-eu/elmo-schemas/tree/v2";
/// Namespace of the 2015 pilot format.
pub const NS_ELMO_PURL: &str = "http://purl.org/net/elmo";

/// Which dialect a document was read from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", content = "namespace", rename_all = "snake_case")]
pub enum ElmoFormat {
    /// `https://github.com/emrex-eu/elmo-schemas/tree/v1` — every 1.x release.
    #[default]
    V1,
    /// A v1 document under an off-spec namespace such as the Croatian EMP's
    /// `https://github.com/emrex-eu/elmo-schemas/tree/v1.3.0`; read exactly like [`ElmoFormat::V1`].
    V1OffSpecNamespace(String),
    /// `https://github.com/emrex-eu/elmo-schemas/tree/v2` (ELMO 2.1.x).
    V2,
    /// The 2015 pilot format `http://purl.org/net/elmo` (learner inside each report).
    LegacyPurl,
}

impl ElmoFormat {
    /// The namespace URI of this dialect.
    pub fn namespace(&self) -> &str {
        match self {
            ElmoFormat::V1 => NS_ELMO_V1,
            ElmoFormat::V1OffSpecNamespace(ns) => ns,
            ElmoFormat::V2 => NS_ELMO_V2,
            ElmoFormat::LegacyPurl => NS_ELMO_PURL,
        }
    }
}

/// The ELMO versions we write (see [`crate::to_xml`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ElmoVersion {
    /// ELMO 1.7.0 (namespace `tree/v1`): what every deployed EMREX 1.x client reads, so the
    /// default.
    #[default]
    #[serde(rename = "1.7")]
    V1_7,
    /// ELMO 2.1.1 (namespace `tree/v2`): what the EWP Transcript of Records API v3 embeds.
    #[serde(rename = "2.1")]
    V2_1,
}

impl ElmoVersion {
    /// The namespace this version is written in.
    pub fn namespace(self) -> &'static str {
        match self {
            ElmoVersion::V1_7 => NS_ELMO_V1,
            ElmoVersion::V2_1 => NS_ELMO_V2,
        }
    }

    /// `1.7` or `2.1` (as configured and shown).
    pub fn as_str(self) -> &'static str {
        match self {
            ElmoVersion::V1_7 => "1.7",
            ElmoVersion::V2_1 => "2.1",
        }
    }
}

impl std::fmt::Display for ElmoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ElmoVersion {
    type Err = String;
    /// `1.7`/`1.7.0`/`elmo-1.7` or `2.1`/`2.1.1`/`elmo-2.1`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().trim_start_matches("elmo-") {
            "1.7" | "1.7.0" => Ok(ElmoVersion::V1_7),
            "2.1" | "2.1.1" => Ok(ElmoVersion::V2_1),
            other => Err(format!("unknown ELMO version {other:?} (use 1.7 or 2.1)")),
        }
    }
}

/// A text with an optional `xml:lang` (titles, descriptions).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LangText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    pub text: String,
}

impl LangText {
    /// A text without language.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            lang: None,
            text: text.into(),
        }
    }

    /// A text in the given language (BCP 47 tag, e.g. `en`).
    pub fn with_lang(lang: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            lang: Some(lang.into()),
            text: text.into(),
        }
    }
}

/// Picks the text in `lang` (case-insensitive), else English, else the first one.
pub fn pick_lang<'a>(texts: &'a [LangText], lang: &str) -> Option<&'a str> {
    let by = |l: &str| {
        texts
            .iter()
            .find(|t| t.lang.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(l)))
    };
    by(lang)
        .or_else(|| by("en"))
        .or_else(|| texts.first())
        .map(|t| t.text.as_str())
}

/// An identifier with its `type` attribute (`nationalIdentifier`, `esi`, `pic`, `schac`,
/// `local`, `internal`, custom types, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub id_type: String,
    pub value: String,
}

impl Identifier {
    pub fn new(id_type: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            id_type: id_type.into(),
            value: value.into(),
        }
    }
}

/// A whole ELMO document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Elmo {
    /// Dialect the document was read from; [`ElmoFormat::V1`] for documents built in code.
    pub format: ElmoFormat,
    /// `generatedDate` (`xs:dateTime`); empty when absent (the pilot format has none).
    pub generated_date: String,
    /// The student. For [`ElmoFormat::LegacyPurl`] this is the learner of the first report;
    /// every report's own learner is in [`Report::legacy_learner`] (see [`Elmo::learners`]).
    pub learner: Learner,
    /// One report per issuing institution.
    pub reports: Vec<Report>,
    /// Top-level (cross-institution) attachments, e.g. the `EMREX transcript` PDF.
    pub attachments: Vec<Attachment>,
    pub groups: Option<Groups>,
    /// The root's `extension` (content from other namespaces, kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
    /// The root carries an XML-DSig `Signature` child. Its content is never read here; the
    /// signature is checked by `emrex-xmldsig`.
    pub has_signature: bool,
}

impl Elmo {
    /// A new v1 document for `learner`, generated at `generated_date` (`xs:dateTime`, see
    /// [`crate::dates::format_date_time_utc`]). Add reports with [`Elmo::with_report`].
    pub fn new(learner: Learner, generated_date: impl Into<String>) -> Self {
        Self {
            generated_date: generated_date.into(),
            learner,
            ..Self::default()
        }
    }

    /// Adds a report (builder style).
    pub fn with_report(mut self, report: Report) -> Self {
        self.reports.push(report);
        self
    }

    /// Adds a top-level attachment (builder style).
    pub fn with_attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// The root carries an `extension` element.
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }

    /// Every learner the document names: the document learner, then each report's own learner
    /// (pilot format only). Identity checks must accept the document only if *all* match.
    pub fn learners(&self) -> impl Iterator<Item = &Learner> {
        std::iter::once(&self.learner).chain(
            self.reports
                .iter()
                .filter_map(|r| r.legacy_learner.as_ref()),
        )
    }

    /// Every attachment in the document with where it sits: top-level ones (`None`), then each
    /// report's (`Some(report index)`). Diploma-supplement section attachments are not included.
    pub fn all_attachments(&self) -> impl Iterator<Item = (Option<usize>, &Attachment)> {
        self.attachments.iter().map(|a| (None, a)).chain(
            self.reports
                .iter()
                .enumerate()
                .flat_map(|(i, r)| r.attachments.iter().map(move |a| (Some(i), a))),
        )
    }
}

/// The student (`learner`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Learner {
    /// ISO 3166-1 alpha-2 code (v2 may carry an EU authority URI instead). ELMO 1.7 can carry
    /// only the codes of the Europass list.
    pub citizenship: Option<String>,
    /// v2 `citizenship/@type` as written (`ISO` or `URI`); when absent the 2.1 writer derives
    /// it from the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizenship_type: Option<String>,
    pub identifiers: Vec<Identifier>,
    /// Required by the schema; empty when unknown.
    pub given_names: String,
    /// Required by the schema; empty when unknown.
    pub family_name: String,
    /// Birth date as written (`xs:date`, possibly with a zone). v2 `dateOfBirth` lands here too;
    /// pilot `bday@dtf` values are converted to `YYYY-MM-DD` when the pattern is understood.
    pub bday: Option<String>,
    pub place_of_birth: Option<String>,
    /// v2 `countryOfBirth` (ISO code or EU authority URI). Not in ELMO 1.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_of_birth: Option<String>,
    /// v2 `countryOfBirth/@type` as written (`ISO` or `URI`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_of_birth_type: Option<String>,
    pub birth_name: Option<String>,
    /// `currentAddress` (EWP `FlexibleAddress`, ELMO ≥ 1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_address: Option<Address>,
    /// ISO/IEC 5218 code: `0`, `1`, `2` or `9`.
    pub gender: Option<String>,
    /// v2 `alternativeName`: the full name in a non-Latin script. Not in ELMO 1.7; an empty
    /// element reads as absent (2.1.1 requires the element, later fixes made it optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_name: Option<LangText>,
}

impl Learner {
    /// A learner with names only.
    pub fn new(given_names: impl Into<String>, family_name: impl Into<String>) -> Self {
        Self {
            given_names: given_names.into(),
            family_name: family_name.into(),
            ..Self::default()
        }
    }

    pub fn with_bday(mut self, bday: impl Into<String>) -> Self {
        self.bday = Some(bday.into());
        self
    }

    pub fn with_citizenship(mut self, country: impl Into<String>) -> Self {
        self.citizenship = Some(country.into());
        self
    }

    pub fn with_identifier(mut self, id_type: impl Into<String>, value: impl Into<String>) -> Self {
        self.identifiers.push(Identifier::new(id_type, value));
        self
    }
}

/// One institution's report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Report {
    pub issuer: Issuer,
    /// Top-level learning opportunities; each may have children (`has_part`).
    pub learning_opportunities: Vec<LearningOpportunitySpecification>,
    /// `issueDate` (`xs:dateTime`); empty when absent.
    pub issue_date: String,
    pub grading_schemes: Vec<GradingScheme>,
    /// Institution-specific attachments (e.g. a Transcript of Records PDF).
    pub attachments: Vec<Attachment>,
    /// v2 `resultOfRecognition`: what this institution recognised of results obtained
    /// elsewhere. Not in ELMO 1.7.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results_of_recognition: Vec<ResultOfRecognition>,
    /// v2 report `status`: complete, a selection, or (partly) failed. Not in ELMO 1.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReportStatus>,
    /// Pilot format only: the learner written inside this report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_learner: Option<Learner>,
}

impl Report {
    /// A report by `issuer`, issued at `issue_date` (`xs:dateTime`).
    pub fn new(issuer: Issuer, issue_date: impl Into<String>) -> Self {
        Self {
            issuer,
            issue_date: issue_date.into(),
            ..Self::default()
        }
    }

    pub fn with_learning_opportunity(mut self, los: LearningOpportunitySpecification) -> Self {
        self.learning_opportunities.push(los);
        self
    }

    pub fn with_grading_scheme(mut self, scheme: GradingScheme) -> Self {
        self.grading_schemes.push(scheme);
        self
    }

    pub fn with_attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Every learning opportunity of the report, depth first through `has_part`.
    pub fn all_learning_opportunities(&self) -> LosIter<'_> {
        LosIter {
            stack: self.learning_opportunities.iter().rev().collect(),
        }
    }
}

/// Depth-first iterator over a learning-opportunity tree (see
/// [`Report::all_learning_opportunities`]).
#[derive(Debug)]
pub struct LosIter<'a> {
    stack: Vec<&'a LearningOpportunitySpecification>,
}

impl<'a> Iterator for LosIter<'a> {
    type Item = &'a LearningOpportunitySpecification;
    fn next(&mut self) -> Option<Self::Item> {
        let los = self.stack.pop()?;
        self.stack.extend(los.has_part.iter().rev());
        Some(los)
    }
}

/// The issuing institution.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Issuer {
    pub country: Option<String>,
    /// v2 `country/@type` as written (`ISO` or `URI`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_type: Option<String>,
    /// `pic`, `erasmus`, `schac`, `address`, custom.
    pub identifiers: Vec<Identifier>,
    pub titles: Vec<LangText>,
    /// Required by the schema but missing in real Danish documents.
    pub url: Option<String>,
}

impl Issuer {
    /// An issuer with one title, one identifier and its web address.
    pub fn new(title: LangText, identifier: Identifier, url: impl Into<String>) -> Self {
        Self {
            country: None,
            country_type: None,
            identifiers: vec![identifier],
            titles: vec![title],
            url: Some(url.into()),
        }
    }

    pub fn with_country(mut self, country: impl Into<String>) -> Self {
        self.country = Some(country.into());
        self
    }

    pub fn with_identifier(mut self, id_type: impl Into<String>, value: impl Into<String>) -> Self {
        self.identifiers.push(Identifier::new(id_type, value));
        self
    }

    pub fn with_title(mut self, title: LangText) -> Self {
        self.titles.push(title);
        self
    }
}

/// A grading scheme of a report, referenced by [`LearningOpportunityInstance::grading_scheme_local_id`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GradingScheme {
    pub local_id: String,
    pub descriptions: Vec<LangText>,
}

/// A node of the learning-opportunity tree (degree programme, module, course, class).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LearningOpportunitySpecification {
    /// `local`, `ewp-los-id`, custom.
    pub identifiers: Vec<Identifier>,
    pub titles: Vec<LangText>,
    /// `Degree Programme`, `Module`, `Course` or `Class`.
    #[serde(rename = "type")]
    pub los_type: Option<String>,
    pub subject_area: Option<String>,
    /// ISCED-F code.
    pub isced_code: Option<String>,
    pub url: Option<String>,
    /// Plain text (multi-line formatting is meaningful).
    pub descriptions: Vec<LangText>,
    /// Untrusted HTML: sanitize before rendering.
    pub descriptions_html: Vec<LangText>,
    /// v2 `documentType`: `Diploma`, `Certificate`, `Enrolment` or `Admission`. Not in ELMO 1.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// The instance (the student's attempt). Required by the schema; `None` only for
    /// schema-invalid input.
    pub specifies: Option<LearningOpportunityInstance>,
    /// `specifies/extension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specifies_extension: Option<Extension>,
    /// Children (`hasPart/learningOpportunitySpecification`).
    pub has_part: Vec<LearningOpportunitySpecification>,
    /// The specification's own `extension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
}

impl LearningOpportunitySpecification {
    /// A node with one title and its instance.
    pub fn new(title: LangText, instance: LearningOpportunityInstance) -> Self {
        Self {
            titles: vec![title],
            specifies: Some(instance),
            ..Self::default()
        }
    }

    /// A `Course` node with a `local` identifier.
    pub fn course(
        local_id: impl Into<String>,
        title: LangText,
        instance: LearningOpportunityInstance,
    ) -> Self {
        Self::new(title, instance)
            .with_identifier("local", local_id)
            .with_type("Course")
    }

    pub fn with_identifier(mut self, id_type: impl Into<String>, value: impl Into<String>) -> Self {
        self.identifiers.push(Identifier::new(id_type, value));
        self
    }

    pub fn with_title(mut self, title: LangText) -> Self {
        self.titles.push(title);
        self
    }

    pub fn with_type(mut self, los_type: impl Into<String>) -> Self {
        self.los_type = Some(los_type.into());
        self
    }

    pub fn with_part(mut self, child: LearningOpportunitySpecification) -> Self {
        self.has_part.push(child);
        self
    }
}

/// Outcome of a learning opportunity instance (`status`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoiStatus {
    Passed,
    Failed,
    InProgress,
    /// A value outside the schema enumeration, kept as written (validation reports it).
    Other(String),
}

impl LoiStatus {
    /// Maps the schema values; anything else becomes [`LoiStatus::Other`].
    pub fn from_text(s: &str) -> Self {
        match s {
            "passed" => LoiStatus::Passed,
            "failed" => LoiStatus::Failed,
            "in-progress" => LoiStatus::InProgress,
            other => LoiStatus::Other(other.to_string()),
        }
    }

    /// The value as written in ELMO.
    pub fn as_str(&self) -> &str {
        match self {
            LoiStatus::Passed => "passed",
            LoiStatus::Failed => "failed",
            LoiStatus::InProgress => "in-progress",
            LoiStatus::Other(s) => s,
        }
    }
}

impl Serialize for LoiStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LoiStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(LoiStatus::from_text(&s))
    }
}

/// The student's attempt at a learning opportunity (`learningOpportunityInstance`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LearningOpportunityInstance {
    pub identifiers: Vec<Identifier>,
    /// v2 `enrolment` (where and when the student enrolled). Not in ELMO 1.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<Enrolment>,
    /// `xs:date`.
    pub start: Option<String>,
    /// Completion date, `xs:date`.
    pub date: Option<String>,
    pub academic_term: Option<AcademicTerm>,
    /// v2 `duration` (`xs:duration`, e.g. `P1Y6M`). Not in ELMO 1.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// As written; `None` means the element was absent, which the schema defines as passed —
    /// use [`LearningOpportunityInstance::effective_status`].
    pub status: Option<LoiStatus>,
    pub grading_scheme_local_id: Option<String>,
    /// v2 `gradingSchemeExternalId`: an externally defined grading scheme. Not in ELMO 1.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading_scheme_external_id: Option<String>,
    pub result_label: Option<String>,
    pub shortened_grading: Option<ShortenedGrading>,
    pub result_distribution: Option<ResultDistribution>,
    pub credits: Vec<Credit>,
    pub levels: Vec<Level>,
    /// ISO 639-1.
    pub language_of_instruction: Option<String>,
    /// `xs:decimal`.
    pub engagement_hours: Option<String>,
    /// `attachments/ref`: identifiers of attachments of this document.
    pub attachment_refs: Vec<String>,
    pub grouping: Option<Grouping>,
    /// The instance's `extension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
    pub diploma_supplement: Option<DiplomaSupplement>,
}

impl LearningOpportunityInstance {
    /// The status with the schema default applied (absent ⇒ passed).
    pub fn effective_status(&self) -> LoiStatus {
        self.status.clone().unwrap_or(LoiStatus::Passed)
    }

    pub fn with_status(mut self, status: LoiStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Completion date (`xs:date`).
    pub fn with_date(mut self, date: impl Into<String>) -> Self {
        self.date = Some(date.into());
        self
    }

    pub fn with_result(mut self, label: impl Into<String>) -> Self {
        self.result_label = Some(label.into());
        self
    }

    pub fn with_credit(mut self, credit: Credit) -> Self {
        self.credits.push(credit);
        self
    }

    pub fn with_language(mut self, iso639_1: impl Into<String>) -> Self {
        self.language_of_instruction = Some(iso639_1.into());
        self
    }
}

/// `academicTerm`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AcademicTerm {
    pub titles: Vec<LangText>,
    /// `xs:date`, required.
    pub start: String,
    /// `xs:date`, required.
    pub end: String,
}

/// `shortenedGrading` (percentages of students below / equal / above this result).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ShortenedGrading {
    pub percentage_lower: String,
    pub percentage_equal: String,
    pub percentage_higher: String,
}

/// `resultDistribution`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResultDistribution {
    pub categories: Vec<ResultCategory>,
    pub descriptions: Vec<LangText>,
}

/// `resultDistribution/category`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResultCategory {
    pub label: String,
    /// `xs:nonNegativeInteger`.
    pub count: String,
}

/// `credit`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Credit {
    /// `ects` is the only predefined scheme; compare case-insensitively (`ECTS` is common).
    pub scheme: String,
    /// Deprecated `Bachelor`/`Master`/`PhD`; real documents also carry `-`. Removed in ELMO
    /// 2.x (not written to 2.1).
    pub level: Option<String>,
    /// `xs:decimal`, as written (e.g. `10.000`).
    pub value: Option<String>,
}

impl Credit {
    pub fn new(scheme: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            scheme: scheme.into(),
            level: None,
            value: Some(value.into()),
        }
    }

    /// ECTS credits (scheme written `ects`, as the schema defines it).
    pub fn ects(value: impl Into<String>) -> Self {
        Self::new("ects", value)
    }

    /// True for the ECTS scheme in any letter case.
    pub fn is_ects(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("ects")
    }
}

/// `level` of an instance (EQF, NQF, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Level {
    #[serde(rename = "type")]
    pub level_type: String,
    pub description: Option<LangText>,
    pub value: Option<String>,
}

/// `grouping`: a reference into [`Groups`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Grouping {
    /// `groupType/@id`.
    pub typeref: Option<String>,
    /// `groupType/group/@id`.
    pub idref: Option<String>,
}

/// `groups`: how the issuer suggests grouping the instances for display.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Groups {
    pub group_types: Vec<GroupType>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupType {
    pub id: Option<String>,
    pub titles: Vec<LangText>,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Group {
    pub id: Option<String>,
    pub sorting_key: Option<String>,
    pub titles: Vec<LangText>,
}

/// An attachment (PDF transcript, diploma, …) carried as `data:` URIs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// `internal` identifiers, referenced from [`LearningOpportunityInstance::attachment_refs`].
    pub identifiers: Vec<Identifier>,
    pub titles: Vec<LangText>,
    /// `Diploma`, `Diploma Supplement`, `Transcript of Records`, `EMREX transcript`,
    /// `Micro Credential`, `Letter of Nomination`, `Certificate of Training`,
    /// `Learning Agreement`, `Other`; 2.1 adds `Certificate of Enrolment` (written as `Other`
    /// to 1.7).
    #[serde(rename = "type")]
    pub attachment_type: Option<String>,
    pub descriptions: Vec<LangText>,
    pub contents: Vec<AttachmentContent>,
    /// The attachment's `extension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
}

impl Attachment {
    /// An attachment with one title and one base64 `data:` URI content.
    pub fn new(
        attachment_type: impl Into<String>,
        title: LangText,
        media_type: &str,
        bytes: &[u8],
    ) -> Self {
        Self {
            titles: vec![title],
            attachment_type: Some(attachment_type.into()),
            contents: vec![AttachmentContent {
                lang: None,
                data: DataUri::encode_base64(media_type, bytes),
            }],
            ..Self::default()
        }
    }

    pub fn with_identifier(mut self, id: impl Into<String>) -> Self {
        self.identifiers.push(Identifier::new("internal", id));
        self
    }
}

/// One `content` of an attachment: a `data:` URI, optionally per language.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AttachmentContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The `data:` URI as written.
    pub data: String,
}

impl AttachmentContent {
    /// Splits the `data:` URI into media type and decoded bytes, refusing to decode more than
    /// `max_bytes` (checked before decoding).
    pub fn decode(&self, max_bytes: usize) -> Result<DataUri, DataUriError> {
        DataUri::parse(&self.data, max_bytes)
    }

    /// The media type from the URI header (lower-case, parameters dropped), without decoding.
    pub fn media_type(&self) -> Option<String> {
        DataUri::media_type_of(&self.data)
    }
}

/// `diplomaSupplement` of an instance (v1.4+).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DiplomaSupplement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Year of the DS rules (`2018` by default).
    pub version: String,
    /// `xs:date`.
    pub issue_date: String,
    pub introduction: String,
    pub sections: Vec<DsSection>,
}

/// A (possibly nested) diploma-supplement section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DsSection {
    /// `[0-9.]+`, e.g. `4.2`.
    pub number: String,
    pub title: String,
    pub content: Option<DsContent>,
    pub additional_information: Vec<String>,
    pub attachments: Vec<Attachment>,
    pub sections: Vec<DsSection>,
}

/// Section content with its media type (`text/plain` when absent; `text/html` is untrusted).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DsContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub text: String,
}

/// An `extension` element: content from other namespaces that the issuer added. The schema
/// allows any attribute on it and any element from another namespace inside; both are kept as
/// written (children as standalone XML fragments), so nothing is lost on read and a writer can
/// put them back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Extension {
    /// Attributes of the `extension` element itself (e.g. a `type` naming the extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<ExtensionAttribute>,
    /// The child elements, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<XmlFragment>,
}

/// An attribute of an `extension` element.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExtensionAttribute {
    /// Namespace URI of a prefixed attribute; `None` for an unprefixed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Local name.
    pub name: String,
    pub value: String,
}

/// `currentAddress`: the EWP `FlexibleAddress` type (namespace
/// `https://github.com/erasmus-without-paper/ewp-specs-types-address/tree/stable-v1`). Either
/// up to four free `address_lines` or the structured fields — the schema allows one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipient_names: Vec<String>,
    /// At most four lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address_lines: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_office_box: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivery_point_codes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    /// True when any of the structured (non-`addressLine`) fields is set.
    pub fn has_structured_fields(&self) -> bool {
        self.building_number.is_some()
            || self.building_name.is_some()
            || self.street_name.is_some()
            || self.unit.is_some()
            || self.floor.is_some()
            || self.post_office_box.is_some()
            || !self.delivery_point_codes.is_empty()
    }
}

/// v2 report `status`: whether the report is complete. Finer than the EMREX 1.x return codes: a
/// provider can say "this is what the student selected" or "part of the data could not be
/// fetched, try again later".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReportStatus {
    /// `FULL`, `SELECTION`, `PARTIAL_TEMPORARY`, `PARTIAL_PERMANENT`, `ERROR_TEMPORARY` or
    /// `ERROR_PERMANENT` ([`crate::codes::REPORT_STATUS_CODES`]); kept as written.
    pub code: String,
    /// Explanations, per language.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<LangText>,
}

impl ReportStatus {
    /// A status with this code and no message.
    pub fn new(code: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            messages: Vec::new(),
        }
    }
}

/// v2 `resultOfRecognition`: the issuer's decision on results obtained elsewhere (the
/// `recognitionBasis`), what they were recognised as (`recognitionResult`) and how they map.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ResultOfRecognition {
    pub identifiers: Vec<Identifier>,
    pub titles: Vec<LangText>,
    pub descriptions: Vec<LangText>,
    pub subject_area: Option<String>,
    pub isced_code: Option<String>,
    /// `Positive`, `Negative` or `Partially Positive` (required; kept as written).
    pub status: String,
    /// `xs:date`.
    pub decision_date: Option<String>,
    /// `recognitionBasis/recognitionReport`: the reports of the results that were recognised.
    pub recognition_basis: Vec<RecognitionReport>,
    /// `recognitionResult/learningOpportunitySpecification`: what they count as here.
    pub recognition_results: Vec<LearningOpportunitySpecification>,
    /// `recognitionMapping/mapping`: which basis results map to which recognised results.
    pub recognition_mappings: Vec<RecognitionMapping>,
    /// `attachments/ref`: identifiers of attachments of this document.
    pub attachment_refs: Vec<String>,
}

/// v2 `RecognitionReport`: a report (without status) inside a recognition decision.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RecognitionReport {
    pub issuer: Issuer,
    pub learning_opportunities: Vec<LearningOpportunitySpecification>,
    pub results_of_recognition: Vec<ResultOfRecognition>,
    /// `xs:dateTime`; empty when absent.
    pub issue_date: String,
    pub grading_schemes: Vec<GradingScheme>,
    pub attachments: Vec<Attachment>,
}

/// v2 `recognitionMapping/mapping`: each `fromMapping` and `toMapping` is a list of `ref`s.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RecognitionMapping {
    pub from: Vec<Vec<String>>,
    pub to: Vec<Vec<String>>,
}

/// v2 `enrolment` of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Enrolment {
    /// `enrolmentInstitution` (an `Issuer`).
    pub institution: Issuer,
    /// `enrolmentDate`, `xs:date`.
    pub date: String,
    /// `academicYear/start`, `xs:date`.
    pub academic_year_start: String,
    /// `academicYear/end`, `xs:date`.
    pub academic_year_end: String,
}
