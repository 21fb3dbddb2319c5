//! Test helpers: the shared EMREX fixtures, located by `emrex-tests` (one copy of the search
//! for every crate's tests).

pub(crate) use emrex_tests::{fixtures_dir, read_fixture as fixture};

/// Every `*.xml` below `xml/` (sorted), as paths relative to the fixtures directory.
pub(crate) fn xml_fixtures() -> Vec<String> {
    emrex_tests::fixture_files("xml", "xml")
}
