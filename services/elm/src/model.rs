//! The ELM v3 classes the converter emits, as typed serde structs.
//!
//! Typed rather than `serde_json::Value` so the later SD-JWT issuance can name the claims it makes
//! selectively disclosable, and so a field cannot be misspelt in one place only. Field names are
//! the JSON-LD terms of the EDC application-profile context (`edc-ap`, copied in `context/`);
//! optional and empty fields are skipped so the output carries only what the ELMO had.
//!
//! Every node carries an `id` (`urn:epass:<kind>:<n>`, numbered per document so the conversion is
//! a pure function: the same ELMO gives the same bytes) and its `type`. Multi-valued properties are
//! always arrays, even with one value: JSON-LD reads both the same and a fixed shape is easier for
//! consumers that do not speak JSON-LD (wallets rendering SD-JWT claims).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A language map (`@container: @language` in the context): language tag → text(s).
///
/// ELMO texts without `xml:lang` get `und` (undetermined), as BCP 47 prescribes. A language with
/// one text serializes as a string, with several as an array (both valid JSON-LD).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LangMap(pub BTreeMap<String, Vec<String>>);

impl LangMap {
    /// True when no language has a text.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    /// Adds `text` under `lang` (`None` → `und`); empty texts are ignored, duplicates kept once.
    pub fn push(&mut self, lang: Option<&str>, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let lang = lang
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or("und");
        let texts = self.0.entry(lang.to_owned()).or_default();
        if !texts.iter().any(|t| t == text) {
            texts.push(text.to_owned());
        }
    }

    /// A map with one text.
    pub fn one(lang: &str, text: &str) -> Self {
        let mut m = Self::default();
        m.push(Some(lang), text);
        m
    }

    /// The text in `lang`, else English, else `und`, else the first one.
    pub fn pick(&self, lang: &str) -> Option<&str> {
        [lang, "en", "und"]
            .iter()
            .find_map(|l| self.0.get(*l).and_then(|t| t.first()))
            .or_else(|| self.0.values().find_map(|t| t.first()))
            .map(String::as_str)
    }
}

impl Serialize for LangMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (lang, texts) in &self.0 {
            match texts.as_slice() {
                [] => {}
                [one] => map.serialize_entry(lang, one)?,
                many => map.serialize_entry(lang, many)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LangMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let raw = BTreeMap::<String, OneOrMany>::deserialize(d)?;
        Ok(LangMap(
            raw.into_iter()
                .map(|(k, v)| match v {
                    OneOrMany::One(s) => (k, vec![s]),
                    OneOrMany::Many(v) => (k, v),
                })
                .collect(),
        ))
    }
}

/// The whole credential: `VerifiableCredential` + `EuropeanDigitalCredential`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EuropeanDigitalCredential {
    /// The W3C VC 1.1 context, the EDC application-profile context, and one local term (see
    /// [`crate::CONTEXT`]).
    #[serde(rename = "@context")]
    pub context: serde_json::Value,
    /// The credential's identifier, when the issuer gave one ([`crate::Options::credential_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub credential_profiles: Vec<Concept>,
    pub credential_schema: Vec<CredentialSchema>,
    /// Who issues the credential (by default the first report's institution).
    pub issuer: Organisation,
    /// When the credential was issued (VC 1.1 `issuanceDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuance_date: Option<String>,
    /// When the results were issued (ELMO `report/issueDate`, ELM `issued`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    pub credential_subject: Person,
    pub display_parameter: DisplayParameter,
    /// Documents attached to the credential (the transcript PDF), each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<MediaObject>,
}

/// `credentialSchema`: the SHACL shape the credential claims to follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSchema {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A SKOS concept (a code from a controlled vocabulary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Concept {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_scheme: Option<ConceptScheme>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notation: Option<String>,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub pref_label: LangMap,
}

/// A SKOS concept scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConceptScheme {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `Identifier`: a value in a named scheme (ELMO `identifier/@type` → `schemeName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identifier {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_name: Option<String>,
    pub notation: String,
}

/// `LegalIdentifier`: an identifier issued by a jurisdiction (`spatial`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegalIdentifier {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub notation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spatial: Option<Concept>,
}

/// `Note`: a text (`noteLiteral`, a language map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub note_literal: LangMap,
}

/// `WebResource`: a web page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebResource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "contentURL")]
    pub content_url: String,
}

/// `Location` (with its `Address`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub geographic_name: LangMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
}

/// `Address`: a country and/or a free-text address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<Concept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_address: Option<Note>,
}

/// `Organisation`: the institution of an ELMO report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub legal_name: LangMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<Location>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub homepage: Vec<WebResource>,
}

/// `Person`: the learner, holding the claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub given_name: LangMap,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub family_name: LangMap,
    /// ELMO 2.1 `alternativeName` (the name in a non-Latin script).
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub full_name: LangMap,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub birth_name: LangMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub place_of_birth: Vec<Location>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citizenship_country: Vec<Concept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Concept>,
    #[serde(
        rename = "nationalID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub national_id: Option<LegalIdentifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// ELMO `currentAddress`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<Location>,
    pub has_claim: Vec<Claim>,
}

/// A claim about the learner: what ELMO calls a learning opportunity instance, by its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Claim {
    /// A passed learning opportunity.
    Achievement(Box<LearningAchievement>),
    /// One still in progress (e.g. a degree programme whose courses are passed).
    Activity(Box<LearningActivity>),
    /// A failed one: an assessment with its grade, not an achievement.
    Assessment(Box<LearningAssessment>),
}

impl Claim {
    /// The claim's `id`.
    pub fn id(&self) -> &str {
        match self {
            Claim::Achievement(a) => &a.id,
            Claim::Activity(a) => &a.id,
            Claim::Assessment(a) => &a.id,
        }
    }

    /// The claim's parts (`hasPart`).
    pub fn parts(&self) -> &[Claim] {
        match self {
            Claim::Achievement(a) => &a.has_part,
            Claim::Activity(a) => &a.has_part,
            Claim::Assessment(a) => &a.has_part,
        }
    }
}

/// `LearningAchievement`: a passed course, module or programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningAchievement {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub title: LangMap,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
    /// The instance's identifiers (ELMO `learningOpportunityInstance/identifier`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    pub awarded_by: AwardingProcess,
    pub specified_by: Specification,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credit_received: Vec<CreditPoint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proven_by: Vec<LearningAssessment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub influenced_by: Vec<LearningActivity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_part: Vec<Claim>,
}

/// `AwardingProcess`: who awarded the claim and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwardingProcess {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// One organisation (ELMO has one issuer per report), an object rather than an array: the
    /// shape DC4EU's SD-JWT VC type metadata (`urn:eudi:elm:1`) addresses
    /// (`hasClaim[0]/awardedBy/awardingBody/legalName/en`).
    pub awarding_body: Organisation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awarding_date: Option<String>,
}

/// `LearningAchievementSpecification` (a course, module) or `Qualification` (a degree programme):
/// what the learner achieved, independent of this learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Specification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub title: LangMap,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
    /// The specification's identifiers (ELMO `learningOpportunitySpecification/identifier`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// ELMO's own type words (`Course`, `Degree Programme`; 2.1 `documentType`), in English.
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub category: LangMap,
    /// ISCED-F code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thematic_area: Vec<Concept>,
    /// ELMO `subjectArea` (Erasmus subject area code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub education_subject: Vec<Concept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub education_level: Vec<Concept>,
    /// Only on a `Qualification` (the property's domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eqf_level: Option<Concept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credit_point: Vec<CreditPoint>,
    /// Language of instruction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<Concept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub homepage: Vec<WebResource>,
}

/// `CreditPoint`: credits in a framework (ECTS or the ELMO scheme named as written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditPoint {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub framework: Concept,
    /// `xsd:string` in the context; the ELMO decimal as written.
    pub point: String,
}

/// `LearningAssessment`: the graded exam behind a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningAssessment {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub title: LangMap,
    /// Only on a failed claim (the LOS description).
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Note>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade_status: Option<Concept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_issued: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assessed_by: Vec<Organisation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specified_by: Option<LearningAssessmentSpecification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortened_grading: Option<ShortenedGrading>,
    /// Written with the ontology's spelling; the `edc-ap` context only knows the misspelt
    /// `resultDestribution`, so [`crate::CONTEXT`] adds the term (see docs/elm.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_distribution: Option<ResultDistribution>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_part: Vec<Claim>,
}

/// `LearningAssessmentSpecification`: the assessment's grading scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningAssessmentSpecification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub title: LangMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading_scheme: Option<GradingScheme>,
}

/// `GradingScheme`: an ELMO report's `gradingScheme` (local id and descriptions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradingScheme {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
}

/// `ShortenedGrading`: percentages of students below / equal / above (`xsd:integer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShortenedGrading {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub percentage_lower: i64,
    pub percentage_equal: i64,
    pub percentage_higher: i64,
}

/// `ResultDistribution`: the histogram of the course's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultDistribution {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub result_category: Vec<ResultCategory>,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
}

/// `ResultCategory`: one bar of the histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultCategory {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    pub count: u64,
}

/// `LearningActivity`: the studying itself (dates, academic term, hours), or a claim still in
/// progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningActivity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub title: LangMap,
    /// Only on an in-progress claim (the LOS description).
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub temporal: Vec<PeriodOfTime>,
    /// ELMO `engagementHours` (`xsd:string` in the context).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_hour: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directed_by: Vec<Organisation>,
    /// Only on an in-progress claim: what it is a part of (the specification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specified_by: Option<LearningActivitySpecification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_part: Vec<Claim>,
}

/// `LearningActivitySpecification` (of an in-progress claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningActivitySpecification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub title: LangMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub category: LangMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<Concept>,
}

/// `PeriodOfTime`: the student's own dates, or the academic term (with its name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodOfTime {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub pref_label: LangMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

/// `DisplayParameter`: how a viewer should present the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisplayParameter {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub title: LangMap,
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
    pub language: Vec<Concept>,
    pub primary_language: Concept,
}

/// `MediaObject`: an attached document (base64 content, file type, size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaObject {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The base64 text as the ELMO `data:` URI carried it (never decoded and re-encoded).
    pub content: String,
    pub content_encoding: Concept,
    pub content_type: Concept,
    /// Decoded size in bytes.
    pub content_size: u64,
}
