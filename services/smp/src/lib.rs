//! The EMREX client side (SMP; EMC in newer texts). Work in progress: see the modules.

pub mod model;
pub mod registry;
pub mod store;
