//! The registry's data: providers ([`Entry`]), per-country settings ([`Country`]), the state a
//! reader sees at one revision ([`Snapshot`]) and the change log that Watch replays ([`Change`]).
//!
//! These are plain values. Validation lives in [`crate::validate`], persistence in
//! [`crate::store`], and the wire forms (protobuf, EMREX 1.x JSON) in [`crate::convert`] and
//! [`crate::jsonlist`], so each can be tested on its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One EMREX data provider (an NCP/EMP) as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Entry {
    /// Short unique name, the key of the registry (case-sensitive).
    pub acronym: String,
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country_code: String,
    /// Display names of the institutions the provider serves (the first one labels the provider
    /// when its country is `singleFetch`).
    pub institutions: Vec<String>,
    /// The provider's EMREX entry point, which receives the client's POST.
    pub url: String,
    /// PEM certificates that documents from this provider may be verified with; several during a
    /// key rollover. Stored re-encoded as canonical PEM (64-column base64, `\n` line ends).
    pub certificates: Vec<String>,
    /// The provider still signs with SHA-1 era algorithms; clients relax their checks only for
    /// entries flagged so.
    pub legacy_algorithms: bool,
    /// Free operator metadata (contact, labels). A `BTreeMap` so every rendering is deterministic.
    pub metadata: BTreeMap<String, String>,
    /// The provider's OpenID4VCI credential issuer identifier when it issues wallet credentials
    /// (empty: it does not). Its credentials are signed with the keys of `certificates`.
    /// `serde(default)`: change-log payloads written before the field existed still read.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_issuer: String,
    /// Registry revision at which the entry last changed (set by the store; ignored on input).
    pub revision: u64,
    /// When the entry last changed, seconds since the Unix epoch (set by the store).
    pub updated_unix: i64,
}

impl Entry {
    /// True when both entries say the same thing, ignoring the store-assigned revision and time.
    /// Used to make repeated identical writes no-ops, so reconcile loops do not churn watchers.
    pub fn same_content(&self, other: &Entry) -> bool {
        self.acronym == other.acronym
            && self.country_code == other.country_code
            && self.institutions == other.institutions
            && self.url == other.url
            && self.certificates == other.certificates
            && self.legacy_algorithms == other.legacy_algorithms
            && self.metadata == other.metadata
            && self.credential_issuer == other.credential_issuer
    }
}

/// Per-country settings, as in the EMREX 1.x `countries` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, upper case.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The country has several providers; clients list them (by first institution) instead of
    /// picking the only one.
    pub single_fetch: bool,
}

/// The whole registry (or one country of it) as of one revision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Entries ordered by (country code, acronym).
    pub entries: Vec<Entry>,
    /// Countries set with `SetCountry`/`ReplaceAll`, ordered by code.
    pub countries: Vec<Country>,
    /// The revision this snapshot reflects.
    pub revision: u64,
    /// The generation the last `ReplaceAll` recorded (0 before any).
    pub generation: u64,
    /// When the registry last changed (Unix seconds; 0 when it never did).
    pub updated_unix: i64,
}

/// One committed change, with the revision it produced. Revisions are consecutive: every change
/// adds exactly one, so a reader that sees `n` and then `n + 2` knows it missed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The registry revision after this change.
    pub revision: u64,
    /// What changed.
    pub kind: ChangeKind,
}

/// What a [`Change`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// An entry was created or replaced (the entry as stored).
    Upserted(Entry),
    /// The entry with this acronym was removed.
    Deleted(String),
    /// A country's settings were set.
    Country(Country),
    /// Everything was replaced by `ReplaceAll`; readers must re-read a snapshot.
    Replaced {
        /// The generation recorded by the replacement.
        generation: u64,
    },
}

/// What a successful `ReplaceAll` produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplaceOutcome {
    /// The registry revision after the replacement.
    pub revision: u64,
    /// The generation now recorded.
    pub generation: u64,
}
