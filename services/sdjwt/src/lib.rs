//! SD-JWT VC for EMREX: what the NCP needs to issue a student's results into a wallet.
//!
//! * [`issue`]: SD-JWT issuance per RFC 9901 (Selective Disclosure for JWTs) in the SD-JWT VC
//!   profile (draft-ietf-oauth-sd-jwt-vc): disclosures with 128-bit salts from aws-lc-rs, `_sd`
//!   digests (SHA-256), `...` array entries, recursive disclosures, decoys, `vct`, `iss`, `iat`,
//!   `exp`, `cnf.jwk`. Signing goes through the [`JwsSigner`] trait, so the NCP can use the
//!   Signer over gRPC (it never holds a key) and tests a [`LocalSigner`].
//! * [`proof`]: the OpenID4VCI 1.0 key proof (`proof_type` `jwt`) verifier that yields the
//!   holder's key for `cnf`.
//! * [`jose`]: the JOSE parts both need (ES256/RS256, JWKs and thumbprints, compact JWS).
//! * [`x509`]: the JWK of a certificate's key, written alike by the Signer and EMREG.
//!
//! Pure: no I/O, no clock (times are passed in), no async runtime. Everything parsed or built has
//! limits ([`IssueLimits`], [`ProofPolicy`]). docs/sdjwt.md says what is implemented and what not.
#![forbid(unsafe_code)]

pub mod issue;
pub mod jose;
pub mod json;
pub mod proof;
pub mod x509;

pub use issue::{
    ClaimPath, CredentialSpec, Disclosure, IssueError, IssueLimits, Prepared, SdJwtVc, issue,
    prepare,
};
pub use jose::{Alg, Jwk, JwkError, JwsHeader, JwsSigner, JwtType, LocalSigner, SignError};
pub use proof::{ProofError, ProofPolicy, VerifiedProof, verify_key_proof};
