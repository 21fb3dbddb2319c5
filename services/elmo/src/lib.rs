//! ELMO documents for EMREX: model, reader, writer, transport encoding, identity matching.
//!
//! ELMO is the XML format in which an EMREX data provider (EMP/NCP) sends a student's results
//! to a client (EMC/SMP). This crate is the one place every service reads and writes it:
//!
//! * [`model`]: the ELMO v1.7 data model ([`Elmo`] and friends, all `serde`), with builder
//!   helpers for EMPs ([`Elmo::new`], [`Report::new`], [`LearningOpportunitySpecification::course`]…).
//! * [`from_verified`] / [`parse()`] / [`from_document`]: a namespace-aware, lenient reader over
//!   the strict DOM of `emrex-xmldsig` — the same tree the signature verifier checks. Reads v1.x (any prefix, the
//!   off-spec `tree/v1.x.y` namespaces), `tree/v2`, and minimally the 2015 purl pilot format.
//! * [`to_xml_v17`]: writes ELMO v1.7 (XSD order, no signature).
//! * [`transport`]: the `elmo` form parameter (`base64(gzip(xml))`) with size/ratio budgets.
//! * [`identity`]: does the document's learner match the person the exchange was for?
//! * [`summary`] and [`validate()`]: overview and structural checks with readable messages.
//!
//! Nothing here performs I/O or verifies signatures; pair it with `emrex-xmldsig`:
//! verify → [`from_verified`] (only a `Verified`, which only the verifier makes, is accepted) →
//! [`identity::match_elmo`].

pub mod codes;
pub mod datauri;
pub mod dates;
pub mod identity;
pub mod model;
mod parse;
pub mod summary;
pub mod transport;
pub mod validate;
mod writer;

#[cfg(test)]
mod testutil;

pub use datauri::{DataUri, DataUriError};
pub use identity::{IdentityMatch, Person, Reason, Verdict, match_elmo, match_person};
pub use model::*;
pub use parse::{ElmoError, detect_format, from_document, from_verified, parse};
pub use summary::{Summary, summarize};
pub use transport::{Budget, TransportError};
pub use validate::{Issue, Severity, validate};
pub use writer::to_xml_v17;

/// Limits of the XML parser (re-exported from `emrex_xmldsig::dom`).
pub use emrex_xmldsig::dom::Limits;

#[cfg(test)]
mod fixture_tests {
    use super::*;
    use crate::testutil::{fixture, xml_fixtures};

    /// The one fixture that must fail: ISO-8859-1 bytes under a UTF-8 declaration.
    const NOT_UTF8: &str = "xml/negative/dk-weblogic-latin1-bytes-utf8-declared.xml";

    #[test]
    fn every_fixture_document_parses() {
        let files = xml_fixtures();
        assert!(files.len() >= 14, "{files:?}");
        for rel in &files {
            let result = parse(&fixture(rel), &Limits::default());
            if rel == NOT_UTF8 {
                assert!(
                    matches!(result, Err(ElmoError::Xml(_))),
                    "{rel}: {result:?}"
                );
                continue;
            }
            let elmo = result.unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert!(!elmo.reports.is_empty(), "{rel}");
            assert!(
                !elmo.learner.given_names.is_empty() && !elmo.learner.family_name.is_empty(),
                "{rel}"
            );
            // Summaries and validation never panic on real input.
            let _ = summarize(&elmo);
            let _ = validate(&elmo);
            let _ = to_xml_v17(&elmo);
        }
    }

    #[test]
    fn fixture_specifics() {
        let p = |rel: &str| parse(&fixture(rel), &Limits::default()).expect(rel);

        let dk = p("xml/signed/dk-weblogic-fixed-ns0-prefixed.xml");
        assert_eq!(dk.format, ElmoFormat::V1);
        assert_eq!(
            (
                dk.learner.given_names.as_str(),
                dk.learner.family_name.as_str()
            ),
            ("Jens", "Hansen")
        );
        assert_eq!(dk.learner.bday.as_deref(), Some("1980-12-09"));
        assert!(dk.has_signature);
        assert_eq!(dk.reports[0].issuer.url, None);

        let no = p("xml/negative/no-emrex-1.0-signature-broken.xml");
        assert_eq!(no.generated_date, "2016-01-08T09:58:18.908+01:00");

        let se = p("xml/negative/se-elmo-1.0-signature-broken.xml");
        assert_eq!(se.learner.family_name, "Jönsson");
        assert_eq!(se.reports[0].legacy_learner, None);

        let fi = p("xml/legacy-purl/fi-csc-signed-purl.xml");
        assert_eq!(fi.format, ElmoFormat::LegacyPurl);
        assert_eq!(fi.learner.bday.as_deref(), Some("1966-07-18"));
        let names: Vec<_> = fi.learners().map(|l| l.family_name.as_str()).collect();
        assert_eq!(names, ["Keränen", "Keränen", "Keranen"]);
        assert!(
            fi.learners()
                .all(|l| l.bday.as_deref() == Some("1966-07-18"))
        );
        let m = match_elmo(&Person::new("Kaisa", "Keränen", Some("1966-07-18")), &fi);
        assert_eq!(m.verdict, Verdict::Match);
        assert_eq!(m.reasons, vec![Reason::DiacriticsRemoved]);

        let no_purl = p("xml/legacy-purl/Example-elmo-Norway-purl.xml");
        assert_eq!(no_purl.learner.bday.as_deref(), Some("1992-02-02"));
        assert!(no_purl.reports[0].all_learning_opportunities().count() > 10);

        let example = p("xml/elmo-schemas-examples/example-v1.7.0.xml");
        let ds = example.reports[0].learning_opportunities[0]
            .specifies
            .as_ref()
            .and_then(|l| l.diploma_supplement.as_ref())
            .expect("diploma supplement");
        assert_eq!(ds.sections.len(), 5);
        assert_eq!(
            ds.sections[2].sections[0]
                .content
                .as_ref()
                .map(|c| c.text.as_str()),
            Some("MHTML document here?")
        );
        let odd = &example.reports[0].learning_opportunities[2];
        assert_eq!(odd.titles[0].text, "The importance of <br> in HTML");
    }
}
