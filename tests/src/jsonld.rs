//! PyPI `pyld` (Digital Bazaar's JSON-LD 1.1 processor) as the JSON-LD oracle.
//!
//! Our converter writes compacted JSON-LD by hand; whether a term it writes means anything is
//! decided by the contexts, and a JSON-LD processor silently *drops* a key no context defines. So
//! the oracle expands the document and counts: every key of the input (except `@context`, `id`,
//! `type` and the language tags inside a language map) must become one property in the expanded
//! form. It also compacts the expansion back with the document's own context and lists the key
//! paths that did not survive, so a failure names the dropped terms.
//!
//! Contexts come only from the files the caller passes: the document loader refuses every other
//! URL, so the oracle never touches the network (and a context the caller forgot is an error, not
//! a download).

use std::path::Path;
use std::process::Command;

use crate::tools::{DEFAULT_TIMEOUT, require_python_module, require_tool, run};

const EXPAND_PY: &str = r#"
import json, sys
from pyld import jsonld

doc_path, contexts_path = sys.argv[1], sys.argv[2]
with open(contexts_path) as f:
    CONTEXTS = json.load(f)

def loader(url, options=None):
    if url not in CONTEXTS:
        raise jsonld.JsonLdError("refusing to load " + url + " (offline oracle)",
                                 "jsonld.LoadDocumentError", {"url": url},
                                 code="loading document failed")
    with open(CONTEXTS[url]) as f:
        return {"contentType": "application/ld+json", "contextUrl": None,
                "documentUrl": url, "document": json.load(f)}

jsonld.set_document_loader(loader)

def language_terms():
    out = set()
    def walk(c):
        if isinstance(c, list):
            for x in c: walk(x)
        elif isinstance(c, dict):
            for k, v in c.items():
                if isinstance(v, dict):
                    if v.get("@container") == "@language": out.add(k)
                    if "@context" in v: walk(v["@context"])
    for path in CONTEXTS.values():
        with open(path) as f:
            walk(json.load(f)["@context"])
    return out

def input_terms(o, lang):
    n = 0
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ("@context", "id", "type", "@id", "@type"): continue
            n += 1
            if k in lang: continue
            n += input_terms(v, lang)
    elif isinstance(o, list):
        for x in o: n += input_terms(x, lang)
    return n

def expanded_terms(o):
    n = 0
    if isinstance(o, dict):
        for k, v in o.items():
            if k.startswith("@"):
                if k in ("@list", "@set", "@graph"): n += expanded_terms(v)
                continue
            n += 1 + expanded_terms(v)
    elif isinstance(o, list):
        for x in o: n += expanded_terms(x)
    return n

def paths(o, prefix, acc, lang):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "@context": continue
            acc.add(prefix + "/" + k)
            if k not in lang: paths(v, prefix + "/" + k, acc, lang)
    elif isinstance(o, list):
        for x in o: paths(x, prefix, acc, lang)
    return acc

with open(doc_path) as f:
    doc = json.load(f)
opts = {"documentLoader": loader}
expanded = jsonld.expand(doc, opts)
lang = language_terms()
compacted = jsonld.compact(expanded, doc["@context"], opts)
dropped = sorted(paths(doc, "", set(), lang) - paths(compacted, "", set(), lang))
print(json.dumps({
    "input_terms": input_terms(doc, lang),
    "expanded_terms": expanded_terms(expanded),
    "dropped": dropped,
    "expanded": expanded,
}))
"#;

/// What the expansion produced.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Expansion {
    /// Keys of the input that should become properties.
    pub input_terms: usize,
    /// Properties in the expanded form.
    pub expanded_terms: usize,
    /// Key paths (`/credentialSubject/hasClaim/title`) lost in expand → compact.
    pub dropped: Vec<String>,
    /// The expanded document.
    pub expanded: serde_json::Value,
}

/// Expands the JSON-LD document at `doc` with pyld, loading contexts only from `contexts`
/// (`(url, file)` pairs).
///
/// # Errors
/// The processor's error message (invalid JSON-LD, an unknown context URL, …).
///
/// # Panics
/// When `python3` or `pyld` is missing (install: `python3 -m pip install pyld`), or a file cannot
/// be written.
pub fn pyld_expand(doc: &Path, contexts: &[(&str, &Path)]) -> Result<Expansion, String> {
    let python = require_tool("python3");
    require_python_module("pyld");
    let map: serde_json::Map<String, serde_json::Value> = contexts
        .iter()
        .map(|(url, path)| ((*url).to_owned(), path.display().to_string().into()))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let map_path = dir.path().join("contexts.json");
    std::fs::write(&map_path, serde_json::Value::Object(map).to_string()).expect("write map");
    let out = run(
        Command::new(python)
            .args(["-c", EXPAND_PY])
            .arg(doc)
            .arg(&map_path),
        DEFAULT_TIMEOUT,
    );
    if !out.status.success() {
        return Err(out.stderr_text());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("pyld output: {e}"))
}
