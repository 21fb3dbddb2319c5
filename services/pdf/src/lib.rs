//! The EMREX transcript PDF (work in progress).
