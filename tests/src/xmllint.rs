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

/// Validates `doc` against one of the EWP schemas in the fixtures' `xsd/ewp/`, named relative to
/// that folder (e.g. `registry-v1.5.0/catalogue.xsd`,
/// `emrex-data-access-point-manifest-entry.xsd`) — see [`xmllint_validate`].
///
/// Exists because those schemas import their neighbours by relative paths that assume the EWP
/// repositories' layout (`../xml.xsd`, `../ewp-specs-architecture/common-types.xsd`), which the
/// fixture folder does not reproduce; the schemas are copied into a temporary folder laid out as
/// they expect (the fixtures stay read-only).
pub fn xmllint_validate_ewp(doc: &[u8], schema: &str) -> Result<(), String> {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("schema folder");
        for entry in std::fs::read_dir(from).expect("read schema folder") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy schema");
            }
        }
    }
    let fixtures = fixtures_dir();
    let dir = tempfile::Builder::new()
        .prefix("emrex-ewp-xsd-")
        .tempdir()
        .expect("temp folder for the EWP schemas");
    let root = dir.path();
    copy_dir(&fixtures.join("xsd/ewp"), &root.join("ewp"));
    let xml = fixtures.join("xsd/references/xml.xsd");
    for at in ["xml.xsd", "ewp/xml.xsd"] {
        std::fs::copy(&xml, root.join(at)).expect("copy xml.xsd");
    }
    copy_dir(
        &fixtures.join("xsd/ewp/ewp-specs-architecture-v1.16.0"),
        &root.join("ewp-specs-architecture"),
    );
    xmllint_validate(doc, &root.join("ewp").join(schema))
}
