//! The ELMO v1.7 data model.
//!
//! One model for every dialect we read (v1.x, the Croatian `tree/v1.3.0` namespace, `tree/v2`,
//! the 2015 purl pilot) and the one we write (v1.7). Conventions, chosen so nothing the issuer
//! wrote is silently reinterpreted:
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
    /// The root carries an `extension` element (its content is not modelled).
    pub has_extension: bool,
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
    /// ISO 3166-1 alpha-2 code (v2 may carry an EU authority URI instead).
    pub citizenship: Option<String>,
    pub identifiers: Vec<Identifier>,
    /// Required by the schema; empty when unknown.
    pub given_names: String,
    /// Required by the schema; empty when unknown.
    pub family_name: String,
    /// Birth date as written (`xs:date`, possibly with a zone). v2 `dateOfBirth` lands here too;
    /// pilot `bday@dtf` values are converted to `YYYY-MM-DD` when the pattern is understood.
    pub bday: Option<String>,
    pub place_of_birth: Option<String>,
    pub birth_name: Option<String>,
    /// ISO/IEC 5218 code: `0`, `1`, `2` or `9`.
    pub gender: Option<String>,
    /// v2 `alternativeName`: the full name in a non-Latin script. Not written to v1.7.
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
    /// The instance (the student's attempt). Required by the schema; `None` only for
    /// schema-invalid input.
    pub specifies: Option<LearningOpportunityInstance>,
    /// Children (`hasPart/learningOpportunitySpecification`).
    pub has_part: Vec<LearningOpportunitySpecification>,
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
    /// `xs:date`.
    pub start: Option<String>,
    /// Completion date, `xs:date`.
    pub date: Option<String>,
    pub academic_term: Option<AcademicTerm>,
    /// As written; `None` means the element was absent, which the schema defines as passed —
    /// use [`LearningOpportunityInstance::effective_status`].
    pub status: Option<LoiStatus>,
    pub grading_scheme_local_id: Option<String>,
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
    /// Deprecated `Bachelor`/`Master`/`PhD`; real documents also carry `-`.
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
    /// `Learning Agreement`, `Other`.
    #[serde(rename = "type")]
    pub attachment_type: Option<String>,
    pub descriptions: Vec<LangText>,
    pub contents: Vec<AttachmentContent>,
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
