//! The EMREX Signer: the only process that holds an NCP's private signing key.
//!
//! The NCP builds unsigned ELMO and asks the Signer, over mutually authenticated gRPC, to sign it;
//! the key never leaves this process (in Kubernetes, its Secret is mounted only here). Keys are
//! read from PEM files and re-read when the files change, so a rotated Secret takes effect
//! without a restart. During a rotation the *next* certificate is published (GetCertificates)
//! before the key behind it is used.

mod assemble;
mod config;
mod keys;
mod metrics;
mod service;

pub use assemble::{SetupError, assemble, run};
pub use config::SignerServiceConfig;

pub use keys::{KeyFiles, KeyStore, Loaded, SignerError};
pub use metrics::SignerMetrics;
pub use service::{C14n, MAX_JWS_PAYLOAD_DEPTH, SignerConfig, SignerService};
