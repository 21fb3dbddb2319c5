//! Pure build functions: a custom resource plus what it references in, the complete desired
//! child objects out. No client, no clock, no randomness (key material is minted by the
//! controller and passed in), so every function here is unit-tested on whole objects.

pub mod common;
pub mod entry;
pub mod ncp;
pub mod registry;
pub mod smp;

pub use common::{BuildError, Children, Owner};
