//! The EMREX provider (work in progress).
