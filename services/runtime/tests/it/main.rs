//! Integration tests of emrex-runtime: real loopback sockets, certificates minted with rcgen.

mod admin;
mod common;
mod config;
mod mtls;
mod reload;
mod shutdown;
