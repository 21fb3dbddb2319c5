//! XML canonicalization and the EMREX enveloped XML-Signature profile.
//!
//! EMREX moves ELMO documents signed with an *enveloped* XML signature (one `Reference` with
//! `URI=""`). General-purpose XML-signature stacks accept far more than that profile (XPath
//! transforms, several references, keys taken from `KeyInfo`) and every extra is a known bypass, so
//! this crate implements exactly the profile and nothing else:
//!
//! * [`dom`]: the strict, namespace-aware parser (no DTD, UTF-8 only, limits) whose tree both the
//!   verifier and the ELMO reader use, so what is verified is what is read.
//! * [`c14n`]: Canonical XML 1.0 and Exclusive Canonical XML 1.0, both without comments.
//! * [`sign`] / [`verify`]: the profile itself; verification only against *pinned* certificates.
//!
//! No I/O happens here; callers pass bytes and get bytes or a verified tree back.

pub mod c14n;
pub mod dom;
mod keys;
mod profile;

pub use keys::{KeyError, KeyType, PinnedCert, PublicKeyParams, SigningKey};
pub use profile::{
    Algorithms, C14nMethod, DigestAlgorithm, Policy, SignError, SignOptions, SignatureAlgorithm,
    Verified, VerifyError, sign, verify, verify_document,
};

/// Namespace of XML-Signature elements.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
