//! The wallet's proof of possession of its key: OpenID for Verifiable Credential Issuance 1.0,
//! Appendix F.1, `proof_type` `jwt`. The wallet signs a JWT with the key it wants the credential
//! bound to; the issuer checks it and puts that key into the credential's `cnf.jwk`.
//!
//! What is checked, each a refusal of its own ([`ProofError`]): the size before anything is parsed;
//! three base64url parts; header and payload JSON objects without duplicate members and of bounded
//! depth; `typ` `openid4vci-proof+jwt`; `alg` `ES256` or `RS256` only (so never `none`, `HS256` or
//! anything else); a public `jwk` header of the algorithm's kind and no `kid`, `x5c`,
//! `trust_chain` or `crit`; the signature with that key; `aud` the credential issuer (a string); `iat` present,
//! not older than the allowed age and not from the future beyond the allowed skew; `nonce` the
//! `c_nonce` the issuer handed out, when it handed one out. Replay: a nonce must be accepted once;
//! consuming it (atomically) is the caller's job, as this function has no state.

use subtle::ConstantTimeEq;

use serde_json::Value;

use crate::jose::{Alg, Jwk, JwkError, b64url_decode};
use crate::json::{JsonError, parse_strict};

/// The proof JWT's `typ`.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// How a proof is checked.
#[derive(Debug, Clone)]
pub struct ProofPolicy {
    /// The credential issuer identifier; `aud` must be it.
    pub credential_issuer: String,
    /// The `c_nonce` issued to this wallet, if any; then `nonce` must equal it.
    pub expected_nonce: Option<String>,
    /// Now, seconds since the epoch (passed in: the check is a pure function).
    pub now: i64,
    /// Oldest acceptable `iat`: `now - max_age_secs`.
    pub max_age_secs: i64,
    /// Clock skew allowed for an `iat` in the future.
    pub max_future_secs: i64,
    /// Largest proof JWT, bytes.
    pub max_bytes: usize,
}

impl ProofPolicy {
    /// Defaults: 5 minutes old at most, 60 s of clock skew, 8 KiB (an RSA-4096 JWK and its
    /// signature fit in under 3 KiB).
    pub fn new(
        credential_issuer: impl Into<String>,
        expected_nonce: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            credential_issuer: credential_issuer.into(),
            expected_nonce,
            now,
            max_age_secs: 300,
            max_future_secs: 60,
            max_bytes: 8 * 1024,
        }
    }
}

/// Nesting limit for the proof's header and payload (a JWK is depth 2 inside the header).
const MAX_DEPTH: usize = 4;

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The holder's key, for `cnf.jwk`.
    pub holder_jwk: Jwk,
    /// The algorithm the wallet signed with.
    pub alg: Alg,
    /// `iss` (the wallet's client_id), when present.
    pub client_id: Option<String>,
    /// `iat`.
    pub issued_at: i64,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("proof is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("proof is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("proof {part}: {error}")]
    Json {
        part: &'static str,
        error: JsonError,
    },
    #[error("proof typ must be {PROOF_TYP}, not {0:?}")]
    WrongType(Option<String>),
    #[error("proof alg {0:?} is not accepted (ES256 or RS256 only)")]
    Algorithm(Option<String>),
    #[error("proof has no jwk header")]
    MissingJwk,
    #[error("proof jwk refused: {0}")]
    BadJwk(JwkError),
    #[error("proof header {0} is not accepted (the key comes from jwk only)")]
    ForbiddenHeader(&'static str),
    #[error("proof alg {alg} does not go with a {kty} key")]
    KeyAlgMismatch { alg: Alg, kty: &'static str },
    #[error("proof signature does not verify with its jwk")]
    BadSignature,
    #[error("proof aud is not the credential issuer")]
    WrongAudience,
    #[error("proof has no numeric iat")]
    MissingIat,
    #[error("proof iat is {age} s old; the limit is {max}")]
    Stale { age: i64, max: i64 },
    #[error("proof iat is {ahead} s in the future")]
    FromFuture { ahead: i64 },
    #[error("proof has no nonce, and a c_nonce was issued")]
    MissingNonce,
    #[error("proof nonce is not the c_nonce issued")]
    WrongNonce,
}

impl ProofError {
    /// The OpenID4VCI Credential Error Response code: `invalid_nonce` when the wallet should fetch
    /// a fresh nonce and retry, `invalid_proof` otherwise.
    pub fn oid4vci_error(&self) -> &'static str {
        match self {
            ProofError::MissingNonce | ProofError::WrongNonce => "invalid_nonce",
            _ => "invalid_proof",
        }
    }
}

/// Checks a key proof under `policy` and returns the holder's key.
pub fn verify_key_proof(jwt: &str, policy: &ProofPolicy) -> Result<VerifiedProof, ProofError> {
    if jwt.len() > policy.max_bytes {
        return Err(ProofError::TooLarge {
            len: jwt.len(),
            max: policy.max_bytes,
        });
    }
    let mut parts = jwt.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed("not three parts"));
    };
    let header_bytes = b64url_decode(h64).ok_or(ProofError::Malformed("header not base64url"))?;
    let payload_bytes = b64url_decode(p64).ok_or(ProofError::Malformed("payload not base64url"))?;
    let signature = b64url_decode(s64).ok_or(ProofError::Malformed("signature not base64url"))?;
    let json = |part, bytes: &[u8]| {
        parse_strict(bytes, policy.max_bytes, MAX_DEPTH)
            .map_err(|error| ProofError::Json { part, error })
    };
    let header = json("header", &header_bytes)?;
    let payload = json("payload", &payload_bytes)?;
    let (Some(header), Some(payload)) = (header.as_object(), payload.as_object()) else {
        return Err(ProofError::Malformed(
            "header or payload is not a JSON object",
        ));
    };
    let text = |o: &serde_json::Map<String, Value>, k: &str| {
        o.get(k).and_then(Value::as_str).map(str::to_owned)
    };

    let typ = text(header, "typ");
    if typ.as_deref() != Some(PROOF_TYP) {
        return Err(ProofError::WrongType(typ));
    }
    let alg_name = text(header, "alg");
    let alg = alg_name
        .as_deref()
        .and_then(Alg::parse)
        .ok_or(ProofError::Algorithm(alg_name))?;
    for forbidden in ["kid", "x5c", "trust_chain", "crit", "jku", "x5u"] {
        if header.contains_key(forbidden) {
            return Err(ProofError::ForbiddenHeader(forbidden));
        }
    }
    let jwk = Jwk::from_json(header.get("jwk").ok_or(ProofError::MissingJwk)?)
        .map_err(ProofError::BadJwk)?;
    if jwk.alg() != alg {
        return Err(ProofError::KeyAlgMismatch {
            alg,
            kty: jwk.kty(),
        });
    }
    let signing_input = &jwt[..h64.len() + 1 + p64.len()];
    if !jwk.verify(alg, signing_input.as_bytes(), &signature) {
        return Err(ProofError::BadSignature);
    }

    // OpenID4VCI F.1: `aud` is a string, the Credential Issuer Identifier; a list is refused
    // rather than searched (a proof meant for several audiences is not one for us alone).
    let aud_ok =
        matches!(payload.get("aud"), Some(Value::String(a)) if *a == policy.credential_issuer);
    if !aud_ok {
        return Err(ProofError::WrongAudience);
    }
    let iat = payload
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(ProofError::MissingIat)?;
    let age = policy.now.saturating_sub(iat);
    if age > policy.max_age_secs {
        return Err(ProofError::Stale {
            age,
            max: policy.max_age_secs,
        });
    }
    if -age > policy.max_future_secs {
        return Err(ProofError::FromFuture { ahead: -age });
    }
    if let Some(expected) = &policy.expected_nonce {
        let got = text(payload, "nonce").ok_or(ProofError::MissingNonce)?;
        if !bool::from(got.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(ProofError::WrongNonce);
        }
    }
    Ok(VerifiedProof {
        holder_jwk: jwk,
        alg,
        client_id: text(payload, "iss"),
        issued_at: iat,
    })
}
