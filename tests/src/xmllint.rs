//! `xmllint` (Debian `libxml2-utils`) as the XSD-validity oracle, offline through the fixtures'
//! XML catalog.

use std::path::Path;
use std::process::Command;

use crate::paths::fixtures_dir;
use crate::tools::{DEFAULT_TIMEOUT, require_tool, run};

/// Validates `doc` against the XSD at `schema` with
/// `XML_CATALOG_FILES=<fixtures>/xsd/catalog.xml xmllint --nonet --noout --schema SCHEMA doc.xml`.
/// `Err` carries xmllint's messages.
///
/// Exists for schema versions other than 1.7 (the catalog maps the remote imports of ELMO ≥ 1.4;
/// `--nonet` turns a missing mapping into an error instead of a network fetch).
pub fn xmllint_validate(doc: &[u8], schema: &Path) -> Result<(), String> {
    let xmllint = require_tool("xmllint");
    let catalog = fixtures_dir().join("xsd/catalog.xml");
    assert!(catalog.is_file(), "missing {}", catalog.display());
    let dir = tempfile::Builder::new()
        .prefix("emrex-xmllint-")
        .tempdir()
        .expect("temp folder for xmllint input");
    let input = dir.path().join("doc.xml");
    std::fs::write(&input, doc).expect("writing xmllint input");
    let out = run(
        Command::new(xmllint)
            .env("XML_CATALOG_FILES", &catalog)
            .args(["--nonet", "--noout", "--schema"])
            .arg(schema)
            .arg(&input),
        DEFAULT_TIMEOUT,
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "xmllint (exit {:?}):\n{}",
            out.status.code(),
            out.stderr_text()
        ))
    }
}

/// Validates `doc` against the ELMO v1.7.0 schema (`xsd/elmo/v1.7.0/schema.xsd`, the version
/// EMREX peers exchange today) — see [`xmllint_validate`].
///
/// Exists so tests of our ELMO writer can assert "schema-valid" with libxml2's validator rather
/// than with our own reader.
pub fn xmllint_validate_elmo_v17(doc: &[u8]) -> Result<(), String> {
    xmllint_validate(doc, &fixtures_dir().join("xsd/elmo/v1.7.0/schema.xsd"))
}

/// Validates `doc` against the ELMO 2.1.1 schema (`xsd/elmo/v2.1.1/schema.xsd`, the version the
/// EWP Transcript of Records API v3 embeds) — see [`xmllint_validate`].
///
/// Exists so tests of the 2.1 writer can assert "schema-valid" with libxml2's validator.
pub fn xmllint_validate_elmo_v21(doc: &[u8]) -> Result<(), String> {
    xmllint_validate(doc, &fixtures_dir().join("xsd/elmo/v2.1.1/schema.xsd"))
}

/// Validates `doc` against the EWP Incoming Mobility ToRs API v3 `get-response` schema (which
/// imports ELMO 2.1.1 through the catalog) — see [`xmllint_validate`].
pub fn xmllint_validate_ewp_tor_v3(doc: &[u8]) -> Result<(), String> {
    xmllint_validate(
        doc,
        &fixtures_dir().join("xsd/ewp/imobility-tors-v3.0.0/endpoints/get-response.xsd"),
    )
}
