//! What the SMP records about an exchange (shared by the store, the HTTP side and the gRPC API).

use serde::{Deserialize, Serialize};

/// Where an exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Started; the student is at the NCP. The return hop has not arrived.
    Pending,
    /// The NCP's response arrived and was judged (see [`Outcome`]).
    Completed,
}

/// The verdict on a completed exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Signature valid with a certificate EMREG lists for the NCP, learner matches the person.
    Verified,
    /// Signature valid, but the learner is probably the person: a human should confirm.
    IdentityReview,
    /// Signature valid, learner is not the person the exchange was started for.
    IdentityMismatch,
    /// The document does not verify against the NCP's certificates (tampered, other NCP's key,
    /// unknown algorithm, …).
    SignatureInvalid,
    /// The `elmo` parameter could not be decoded or parsed (budget exceeded, not gzip, not ELMO).
    Undecodable,
    /// Signed correctly, but not made for this exchange: its signed `generatedDate` is before
    /// the exchange started (or after it ended), beyond the allowed clock skew, or missing — a
    /// transcript from an earlier exchange posted into this one (see `judge`).
    Stale,
    /// The NCP answered without results: `NCP_CANCEL`, `NCP_NO_RESULTS`, `NCP_ERROR` (or an
    /// unknown code); see `return_code` / `return_message`.
    NcpReturned,
}

/// The recorded outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// `returnCode` as received (`NCP_OK`, `EMP_OK`, …); empty when absent.
    pub return_code: String,
    /// `returnMessage` as received (truncated to 1000 characters).
    pub return_message: String,
    /// Human-readable detail: why verification failed, identity reasons, …
    pub detail: String,
    /// Identity comparison (score 0–1, verdict, reasons), when a document was read.
    pub identity: Option<emrex_elmo::IdentityMatch>,
    /// Index of the EMREG certificate that verified the signature, when one did.
    pub signer_index: Option<usize>,
}

/// The person an exchange was started for (from the SIS, or the SMP's own login).
pub type Person = emrex_elmo::Person;

/// One exchange as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    /// The `sessionId` sent to the NCP: 32 random URL-safe characters, our primary key.
    pub session_id: String,
    /// Opaque reference the SIS gave at `StartExchange` (empty for page-started exchanges).
    pub sis_reference: String,
    pub person: Person,
    /// The NCP the student was sent to (as EMREG listed it at the time).
    pub ncp_acronym: String,
    pub ncp_country: String,
    pub ncp_url: String,
    pub created_unix: i64,
    /// After this, the return hop is refused (single use, expiring).
    pub expires_unix: i64,
    pub status: Status,
    pub completed_unix: Option<i64>,
    pub outcome: Option<Outcome>,
    /// The raw body of the NCP's return POST (bounded by the HTTP limit), kept so nothing is lost.
    pub raw_response: Option<Vec<u8>>,
    /// The decoded ELMO XML (signed), when the `elmo` parameter decoded.
    pub elmo_xml: Option<Vec<u8>>,
    /// Store revision of the last change to this record (increases across the store).
    pub revision: i64,
}
