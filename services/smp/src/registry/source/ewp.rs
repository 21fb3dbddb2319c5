//! The `ewp-catalogue` source: the EWP registry's `catalogue-v1.xml` followed over HTTP(S) by
//! [`super::http`], its `emrex-data-access-point` entries read by
//! [`parse_catalogue`](crate::registry::ewp::parse_catalogue).

use super::http::{Document, DocumentError, Parsed};
use crate::registry::ewp::{CatalogueOptions, parse_catalogue};

/// The EWP registry catalogue format.
pub(super) struct EwpCatalogue(pub(super) CatalogueOptions);

impl Document for EwpCatalogue {
    const ACCEPT: &'static str = "application/xml";

    fn max_bytes(&self) -> usize {
        self.0.limits.max_bytes
    }

    fn parse(&self, body: &[u8]) -> Result<Parsed, DocumentError> {
        let parsed = parse_catalogue(body, &self.0)?;
        Ok(Parsed {
            summary: format!(
                "EWP catalogue: {} hosts, {} EMREX entries",
                parsed.hosts,
                parsed.snapshot.ncps.len()
            ),
            warnings: parsed.warnings.iter().map(ToString::to_string).collect(),
            snapshot: parsed.snapshot,
        })
    }
}
