//! The EMREX client side (SMP; EMC in newer texts): what an institution runs to receive
//! verified results.
//!
//! * [`registry`]: the NCP list from any EMREG (ours over gRPC with Watch, or an EMREX 1.x JSON
//!   list over HTTP), as a live snapshot;
//! * [`service`]: starting exchanges (fresh random `sessionId`, single use, expiring) and
//!   receiving the return hop;
//! * [`judge`]: decode within budgets, verify against the NCP's EMREG certificates, match the
//!   learner (pure);
//! * [`store`]: every exchange with its raw response, decoded XML and verdict (SQLite or
//!   PostgreSQL);
//! * [`http`] and [`pages`]: the chooser, the hand-over page, the return endpoint, the result
//!   page, in English, German and French ([`i18n`]); [`grpc`]: `emrex.smp.v1.Smp` for the SIS.

mod assemble;
pub mod config;
pub mod grpc;
pub mod http;
pub mod i18n;
pub mod judge;
pub mod links;
pub mod model;
pub mod pages;
pub mod registry;
pub mod service;
pub mod store;

pub use assemble::{SetupError, assemble, run};
