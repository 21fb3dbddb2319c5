//! ELMO → European Learning Model v3: a student's EMREX results as a `EuropeanDigitalCredential`.
//!
//! EMREX moves results as ELMO XML between institutions; wallets and Europass read the European
//! Learning Model (ELM v3) in JSON-LD. This crate is the pure mapping between the two, following
//! the ELMO–EDC correspondence table of the European Commission's `European-Learning-Model`
//! repository (docs/elm.md has the table field by field, and what is not mapped and why):
//!
//! * the learner → the credential subject (`Person`: names, birth date, identifiers, citizenship);
//! * each report's issuer → an `Organisation` (awarding body, and by default the credential issuer);
//! * each learning opportunity → a claim, keeping the hierarchy through `hasPart`: a passed one is a
//!   `LearningAchievement` (specified by a `LearningAchievementSpecification`, or a `Qualification`
//!   for a degree programme; proven by a graded `LearningAssessment`; with credits and dates), one
//!   in progress a `LearningActivity`, a failed one a `LearningAssessment`;
//! * the transcript PDF → the credential's `attachment` (once, as the ELMO carried it).
//!
//! [`convert`] takes the `emrex-elmo` model (so both ELMO 1.7 and 2.1 documents, already
//! size-limited by the parser) and returns the typed credential ([`model`]) together with the list
//! of ELMO fields present in this document that were not mapped ([`NotMapped`]). It performs no I/O
//! and is deterministic: node ids are numbered (`urn:epass:learningAchievement:3`), so the same ELMO
//! gives the same JSON. What it emits is bounded by [`Limits`].
//!
//! The JSON-LD contexts the credential names are in [`CONTEXT_DOCUMENTS`] (local copies: a verifier
//! or test never needs the network to expand it).
#![forbid(unsafe_code)]

mod convert;
mod iso;
pub mod model;
pub mod vocab;

pub use model::EuropeanDigitalCredential;

use emrex_elmo::Elmo;
use model::{LangMap, Organisation};

/// The W3C Verifiable Credentials 1.1 context URL.
pub const VC_CONTEXT_URL: &str = "https://www.w3.org/2018/credentials/v1";
/// The EDC application-profile context URL (ELM v3).
pub const EDC_CONTEXT_URL: &str = "http://data.europa.eu/snb/model/context/edc-ap";

/// The context documents behind [`VC_CONTEXT_URL`] and [`EDC_CONTEXT_URL`], as published (see
/// `context/SOURCES.md`), for document loaders that must not go to the network.
pub const CONTEXT_DOCUMENTS: &[(&str, &str)] = &[
    (
        VC_CONTEXT_URL,
        include_str!("../context/credentials-v1.jsonld"),
    ),
    (EDC_CONTEXT_URL, include_str!("../context/edc-ap.jsonld")),
];

/// The credential's `@context`: VC 1.1, EDC, and one local term.
///
/// The local term is `resultDistribution`: the ELM ontology property is `elm:resultDistribution`,
/// but the published `edc-ap` context only defines the misspelt `resultDestribution`, so a
/// JSON-LD processor would silently drop the histogram (DC4EU's output loses it that way).
pub fn context() -> serde_json::Value {
    serde_json::json!([
        VC_CONTEXT_URL,
        EDC_CONTEXT_URL,
        {
            "resultDistribution": {
                "@id": "http://data.europa.eu/snb/model/elm/resultDistribution",
                "@type": "@id"
            }
        }
    ])
}

/// Bounds on what one conversion emits. The ELMO is already bounded by the parser; these keep a
/// credential within what a wallet can hold and fail closed on pathological trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Learning opportunities (tree nodes) converted, in total. More is an error.
    pub max_claims: usize,
    /// Depth of the `hasPart` tree. Deeper is an error (ELMO uses at most 4 levels).
    pub max_depth: usize,
    /// Attachment contents copied; further ones are reported as not mapped.
    pub max_attachments: usize,
    /// Base64 characters of attachment content copied, in total; contents that would exceed it
    /// are reported as not mapped.
    pub max_attachment_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_claims: 5_000,
            max_depth: 16,
            max_attachments: 8,
            max_attachment_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What the issuer decides rather than the ELMO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The credential's `id` (e.g. `urn:uuid:…`); none by default (a pure function cannot mint
    /// a unique one).
    pub credential_id: Option<String>,
    /// The credential issuer; default: the first report's institution. The wallet issuance sets
    /// the NCP's own organisation here.
    pub issuer: Option<Organisation>,
    /// `issuanceDate`/`validFrom` (`xsd:dateTime`); default: the ELMO `generatedDate`.
    pub issuance_date: Option<String>,
    /// The display title.
    pub display_title: LangMap,
    /// The display's primary language (ISO 639-1).
    pub primary_language: String,
    /// Copy the ELMO attachments (the transcript PDF) into `attachment`.
    pub attachments: bool,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            credential_id: None,
            issuer: None,
            issuance_date: None,
            display_title: LangMap::one("en", "Transcript of Records"),
            primary_language: "en".into(),
            attachments: true,
            limits: Limits::default(),
        }
    }
}

/// An ELMO field present in the document that the credential does not carry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct NotMapped {
    /// Where, in ELMO element names: `report[0]/learningOpportunitySpecification[2]/specifies/…`.
    pub path: String,
    /// Why.
    pub reason: &'static str,
}

impl std::fmt::Display for NotMapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: not mapped ({})", self.path, self.reason)
    }
}

/// A conversion: the credential and what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub credential: EuropeanDigitalCredential,
    /// Sorted, without duplicates.
    pub not_mapped: Vec<NotMapped>,
}

/// Why there is no credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElmError {
    #[error("the ELMO document has no report")]
    NoReports,
    #[error("the ELMO document has no learning opportunity that can be a claim")]
    NoClaims,
    #[error("more than {limit} learning opportunities (saw {seen})")]
    TooManyClaims { limit: usize, seen: usize },
    #[error("learning opportunities nested deeper than {limit}")]
    TooDeep { limit: usize },
}

/// Converts an ELMO document (1.7 or 2.1, as read by `emrex-elmo`) into an ELM v3 credential.
///
/// # Errors
/// No report, no learning opportunity that can become a claim, or a [`Limits`] bound exceeded.
pub fn convert(elmo: &Elmo, options: &Options) -> Result<Conversion, ElmError> {
    let mut c = convert::Converter::new(options);
    let credential = c.credential(elmo)?;
    let mut not_mapped = c.not_mapped;
    not_mapped.sort();
    not_mapped.dedup();
    Ok(Conversion {
        credential,
        not_mapped,
    })
}

/// [`convert`] and serialize as pretty JSON (what the CLI writes).
///
/// # Errors
/// As [`convert`].
pub fn convert_to_json(
    elmo: &Elmo,
    options: &Options,
) -> Result<(String, Vec<NotMapped>), ElmError> {
    let conv = convert(elmo, options)?;
    // Serializing plain structs with string keys cannot fail.
    let json = serde_json::to_string_pretty(&conv.credential).unwrap_or_default();
    Ok((json, conv.not_mapped))
}
