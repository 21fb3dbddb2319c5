//! The credentials are JSON-LD that a real processor accepts and keeps whole: PyPI `pyld` expands
//! them with the contexts this crate ships (`emrex_elm::CONTEXT_DOCUMENTS`, loaded from files; the
//! oracle's document loader refuses any other URL, so nothing is fetched), and every key we wrote
//! must become a property of the expanded graph (a term no context defines is silently dropped by
//! JSON-LD, which is exactly the mistake this catches).

use std::path::{Path, PathBuf};

use emrex_elm::{CONTEXT_DOCUMENTS, Options, convert};

/// Writes the compiled-in contexts where the oracle reads them.
fn context_files(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    CONTEXT_DOCUMENTS
        .iter()
        .enumerate()
        .map(|(i, (url, doc))| {
            let path = dir.join(format!("context-{i}.jsonld"));
            std::fs::write(&path, doc).expect("write context");
            (*url, path)
        })
        .collect()
}

fn expand(name: &str, json: &str) -> emrex_tests::Expansion {
    let dir = emrex_tests::output_dir(&format!("elm_jsonld_{name}"));
    let contexts = context_files(&dir);
    let doc = dir.join("credential.jsonld");
    std::fs::write(&doc, json).expect("write credential");
    let refs: Vec<(&str, &Path)> = contexts.iter().map(|(u, p)| (*u, p.as_path())).collect();
    emrex_tests::pyld_expand(&doc, &refs).unwrap_or_else(|e| panic!("{name}: pyld: {e}"))
}

fn assert_nothing_dropped(name: &str, e: &emrex_tests::Expansion) {
    assert!(
        e.dropped.is_empty(),
        "{name}: dropped by JSON-LD: {:#?}",
        e.dropped
    );
    assert_eq!(
        e.input_terms, e.expanded_terms,
        "{name}: {} terms written, {} expanded",
        e.input_terms, e.expanded_terms
    );
    assert!(e.input_terms > 20, "{name}: only {} terms", e.input_terms);
}

/// Every ELMO fixture (the shared ones, ours, ELMO 2.1.1 with every element), as JSON-LD.
#[test]
fn conversions_of_every_fixture_expand_without_dropping_terms() {
    let mut files: Vec<(String, Vec<u8>)> = emrex_tests::fixture_files("xml", "xml")
        .into_iter()
        .map(|rel| {
            let bytes = emrex_tests::read_fixture(&rel);
            (rel, bytes)
        })
        .collect();
    files.push((
        "uio".into(),
        std::fs::read("tests/fixtures/uio-testesen-elmo-1.7.xml").expect("uio"),
    ));
    // ELMO 2.1.1 with every element (emrex-elmo's test document): recognition, enrolment, …
    files.push((
        "elmo-2.1.1-every-element".into(),
        std::fs::read("../elmo/tests/data/elmo-2.1.1-every-element.xml").expect("2.1.1"),
    ));
    let mut converted = 0;
    for (name, xml) in files {
        // The one fixture that is not readable ELMO (ISO-8859-1 bytes declared UTF-8).
        if name == "xml/negative/dk-weblogic-latin1-bytes-utf8-declared.xml" {
            continue;
        }
        let elmo =
            emrex_elmo::parse(&xml, &Default::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let conv = convert(&elmo, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = serde_json::to_string(&conv.credential).expect("json");
        let e = expand(&name, &json);
        assert_nothing_dropped(&name, &e);
        // The expansion is a real graph: the subject's claims are there under their IRIs.
        let text = e.expanded.to_string();
        assert!(
            text.contains("http://data.europa.eu/snb/model/elm/hasClaim")
                && text.contains("https://www.w3.org/2018/credentials#credentialSubject"),
            "{name}"
        );
        converted += 1;
    }
    assert!(converted >= 15, "only {converted} fixtures converted");
}

/// The oracle is not vacuous: DC4EU's UiO output loses its `resultDistribution` (the edc-ap
/// context spells the term `resultDestribution`), and a made-up key is dropped too.
#[test]
fn the_oracle_sees_dropped_terms() {
    let dc4eu = String::from_utf8(emrex_tests::read_fixture(
        "elm/HE-ToR-8a03692f-ff50-48c0-ae8b-046092117196-ToR_uio_12345678910_elmo-1.7.xml.json",
    ))
    .expect("utf-8");
    let e = expand("dc4eu_uio", &dc4eu);
    assert!(
        e.dropped.iter().any(|p| p.ends_with("/resultDistribution")),
        "{:#?}",
        e.dropped
    );
    assert!(e.expanded_terms < e.input_terms);

    let xml = std::fs::read("tests/fixtures/uio-testesen-elmo-1.7.xml").expect("uio");
    let elmo = emrex_elmo::parse(&xml, &Default::default()).expect("parse");
    let mut v = serde_json::to_value(convert(&elmo, &Options::default()).expect("c").credential)
        .expect("json");
    v["credentialSubject"]["madeUpTerm"] = "x".into();
    let e = expand("made_up_term", &v.to_string());
    assert_eq!(e.dropped, vec!["/credentialSubject/madeUpTerm".to_owned()]);
    assert_eq!(e.input_terms, e.expanded_terms + 1);
}

/// DC4EU's other reference outputs (their sources are not public) expand with our local
/// contexts: the contexts we ship are the ones DC4EU's wallet-side consumers use.
#[test]
fn dc4eu_reference_outputs_expand_with_the_shipped_contexts() {
    let files: Vec<String> = emrex_tests::fixture_files("elm", "json")
        .into_iter()
        .filter(|f| f.ends_with(".xml.json"))
        .collect();
    assert_eq!(files.len(), 5, "{files:?}");
    for rel in files {
        let json = String::from_utf8(emrex_tests::read_fixture(&rel)).expect("utf-8");
        let e = expand(&rel, &json);
        assert!(e.expanded_terms > 100, "{rel}");
    }
}
