//! The `json` source: an EMREX 1.x list (`ncp-list.json`, `emp-list.json`) followed over
//! HTTP(S) by [`super::http`], parsed by [`parse_list`].

use super::http::{Document, DocumentError, Parsed};
use crate::registry::jsonlist::{MAX_DOCUMENT_BYTES, ParseOptions, parse_list};

/// The EMREX 1.x JSON list format.
pub(super) struct JsonList(pub(super) ParseOptions);

impl Document for JsonList {
    const ACCEPT: &'static str = "application/json";

    fn max_bytes(&self) -> usize {
        MAX_DOCUMENT_BYTES
    }

    fn parse(&self, body: &[u8]) -> Result<Parsed, DocumentError> {
        let parsed = parse_list(body, &self.0)?;
        Ok(Parsed {
            summary: format!("JSON list under {:?}", parsed.key),
            warnings: parsed.warnings.iter().map(ToString::to_string).collect(),
            snapshot: parsed.snapshot,
        })
    }
}
