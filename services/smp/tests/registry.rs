//! The SMP's registry client with real parts: the EMREX 1.x JSON fixtures (both CONSTRUCTED lists
//! and the invalid 2015 sample), hostile documents, a local HTTP server with ETags, and our EMREG
//! in-process (SQLite store, tonic server on loopback) read over gRPC List + Watch and over its
//! JSON list.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use emrex_emreg::{
    Country, Entry, RegistryService, RegistryStore, SqliteStore, ValidationOptions, registry_server,
};
use emrex_runtime::config::GrpcClientConfig;
use emrex_runtime::shutdown::Shutdown;
use emrex_smp::registry::jsonlist::{
    MAX_CERTIFICATES_PER_ENTRY, MAX_DOCUMENT_BYTES, MAX_ENTRIES, MAX_INSTITUTIONS,
};
use emrex_smp::registry::{
    ListError, ListKey, ListWarning, ParseOptions, ParsedList, RegistryConfig, RegistryNcp,
    RegistryView, Snapshot, parse_list,
};
use emrex_tests::read_fixture as fixture;
use emrex_xmldsig::PinnedCert;

// ---------------------------------------------------------------------------------------------
// helpers

const NCP_LIST: &str = "emreg/emreg-ncp-list-CONSTRUCTED.json";
const EMP_LIST: &str = "emreg/emreg-emp-list-CONSTRUCTED.json";
const LIST_2015: &str = "emreg/emreg-mpuzar-2015-INVALID-json.json";

fn parse(bytes: &[u8]) -> Result<ParsedList, ListError> {
    parse_list(bytes, &ParseOptions::default())
}

/// A fresh self-signed ECDSA P-256 certificate (PEM) valid from 1 January `from` (to 2090).
fn ec_cert(from: i32) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["emp.test.invalid".into()]).expect("params");
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(2090, 1, 1);
    params.self_signed(&key).expect("cert").pem()
}

fn pinned(pem: &str) -> PinnedCert {
    PinnedCert::from_pem_or_der(pem.as_bytes()).expect("certificate")
}

fn acronyms(s: &Snapshot) -> Vec<&str> {
    s.ncps.iter().map(|n| n.acronym.as_str()).collect()
}

/// Waits (at most `within`) until the view's snapshot satisfies `what`.
async fn until(view: &RegistryView, within: Duration, what: impl Fn(&Snapshot) -> bool) -> bool {
    let mut updates = view.subscribe();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if what(&view.current()) {
            return true;
        }
        match tokio::time::timeout_at(deadline, updates.changed()).await {
            Ok(Ok(())) => {}
            _ => return what(&view.current()),
        }
    }
}

/// Polls `what` every 20 ms for at most `within`.
async fn eventually(within: Duration, what: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if what() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    what()
}

// ---------------------------------------------------------------------------------------------
// parsing: fixtures

#[test]
fn constructed_lists_under_ncps_and_emps_give_equal_snapshots() {
    let ncps = parse(&fixture(NCP_LIST)).expect("ncp list");
    let emps = parse(&fixture(EMP_LIST)).expect("emp list");
    assert_eq!(ncps.key, ListKey::Ncps);
    assert_eq!(emps.key, ListKey::Emps);
    assert_eq!(ncps.snapshot, emps.snapshot);
    assert_eq!(ncps.warnings, vec![], "a well-formed list needs no repairs");

    let s = &ncps.snapshot;
    assert_eq!(acronyms(s), ["DK-TEST", "CSC", "XX-A", "XX-B"]);
    let codes: Vec<_> = s.countries.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["DK", "FI", "XX"]);
    let xx = s.countries.iter().find(|c| c.code == "XX").expect("XX");
    assert!(xx.single_fetch);
    assert_eq!(xx.name, "Testland (generated fixture)");
    assert!(!s.countries[0].single_fetch);

    let b = s.by_acronym("XX-B").expect("XX-B");
    assert_eq!(
        b.institutions,
        ["Example University B", "Example College B2"]
    );
    assert_eq!(b.url, "https://emp-b.test.invalid/init");
    assert_eq!(s.ncps_in("xx").count(), 2);
    for n in &s.ncps {
        assert_eq!(n.certificates.len(), 1, "{}", n.acronym);
        assert!(!n.legacy_algorithms);
    }
    // The CSC certificate of 2015 is RSA-1024: listed (the verifier decides what it accepts).
    let csc = s.by_acronym("CSC").expect("CSC");
    assert_eq!(
        csc.certificates[0].key_type(),
        emrex_xmldsig::KeyType::Rsa(1024)
    );
    // The fixture's XX certificate is the generated one.
    let generated =
        String::from_utf8(fixture("generated/GENERATED-TEST-ONLY-emp.crt")).expect("PEM text");
    assert_eq!(b.certificates[0], pinned(&generated));
}

#[test]
fn legacy_acronyms_come_from_the_configuration() {
    let parsed = parse_list(
        &fixture(NCP_LIST),
        &ParseOptions::with_legacy_acronyms(["CSC", "NOT-LISTED"]),
    )
    .expect("list");
    let legacy: Vec<_> = parsed
        .snapshot
        .ncps
        .iter()
        .filter(|n| n.legacy_algorithms)
        .map(|n| n.acronym.as_str())
        .collect();
    assert_eq!(legacy, ["CSC"]);
}

#[test]
fn the_invalid_2015_sample_is_repaired() {
    let bytes = fixture(LIST_2015);
    let parsed = parse(&bytes).expect("repaired leniently");
    let latin1_at = bytes.iter().position(|&b| b == 0xE5).expect("the å byte");
    assert!(
        parsed
            .warnings
            .contains(&ListWarning::DecodedAsLatin1 { offset: latin1_at }),
        "{:?}",
        parsed.warnings
    );
    let first_trailing = parsed
        .warnings
        .iter()
        .find_map(|w| match w {
            ListWarning::TrailingCommas {
                count,
                first_offset,
            } => Some((*count, *first_offset)),
            _ => None,
        })
        .expect("trailing comma warning");
    assert_eq!(first_trailing.0, 1);
    assert_eq!(bytes[first_trailing.1], b',');
    let next = bytes[first_trailing.1 + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    assert_eq!(next, Some(&b'}'));

    let s = &parsed.snapshot;
    assert_eq!(acronyms(s), ["CSC", "UNISI", "UNIVR", "FSAT", "SEK"]);
    let sek = s.by_acronym("SEK").expect("SEK");
    assert_eq!(sek.institutions, ["Umeå", "KTH"]);
    // The PEMs are elided "(......)": listed, but nothing verifies.
    for n in &s.ncps {
        assert!(n.certificates.is_empty(), "{}", n.acronym);
        assert!(
            parsed.warnings.contains(&ListWarning::NoCertificate {
                acronym: n.acronym.clone()
            }),
            "{}",
            n.acronym
        );
    }
    let bad = parsed
        .warnings
        .iter()
        .filter(|w| matches!(w, ListWarning::BadCertificate { .. }))
        .count();
    assert_eq!(bad, 5);
    // "singleFetch": "true" (a string) and missing singleFetch.
    let single: Vec<_> = s
        .countries
        .iter()
        .map(|c| (c.code.as_str(), c.single_fetch))
        .collect();
    assert_eq!(
        single,
        [("FI", false), ("IT", true), ("NO", false), ("SE", false)]
    );
    // Every warning has a readable text.
    for w in &parsed.warnings {
        assert!(!w.to_string().is_empty());
    }
}

#[test]
fn errors_name_the_problem_and_the_offset_in_the_received_bytes() {
    // Latin-1 before the error: the offset counts received bytes, not decoded UTF-8.
    let doc = b"{\"countries\": [{\"countryName\": \"Ume\xE5\"}],\n \"ncps\": [ }";
    let err = parse(doc).expect_err("broken");
    let ListError::Invalid {
        offset,
        line,
        message,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*line, 2);
    assert_eq!(doc[*offset], b'}', "{err}");
    assert!(!message.contains(" at line "), "{message}");
    assert!(err.to_string().contains("byte offset"), "{err}");

    // A truncated document.
    let full = fixture(NCP_LIST);
    let err = parse(&full[..full.len() / 2]).expect_err("truncated");
    assert!(
        matches!(&err, ListError::Invalid { message, offset, .. }
            if message.contains("EOF") && *offset <= full.len() / 2),
        "{err}"
    );

    assert_eq!(parse(b"{\"countries\": []}"), Err(ListError::NoProviders));
    assert_eq!(
        parse(b"{\"ncps\": [], \"emps\": []}"),
        Err(ListError::BothKeys)
    );
    assert!(matches!(parse(b"[]"), Err(ListError::Invalid { .. })));
    assert!(matches!(parse(b""), Err(ListError::Invalid { .. })));
    assert!(matches!(
        parse(b"{\"ncps\": [{\"acronym\": 5}]}"),
        Err(ListError::Invalid { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// parsing: several certificates, odd shapes

fn doc_with(provider: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "countries": [{"countryCode": "NO", "countryName": "Norway", "singleFetch": false}],
        "ncps": [provider],
    }))
    .expect("json")
}

#[test]
fn several_certificates_per_ncp() {
    let (a, b, c) = (ec_cert(2021), ec_cert(2023), ec_cert(2022));
    // Our EMREG with ?pubKeys=true: pubKey (the newest valid) plus every certificate.
    let parsed = parse(&doc_with(serde_json::json!({
        "acronym": "UIO", "countryCode": "NO", "institutions": ["UiO"],
        "url": "https://uio.example/emrex",
        "pubKey": b, "pubKeys": [a, b, c],
    })))
    .expect("list");
    let uio = parsed.snapshot.by_acronym("UIO").expect("UIO");
    // Newest first, duplicates merged.
    assert_eq!(uio.certificates, [pinned(&b), pinned(&c), pinned(&a)]);
    assert_eq!(parsed.warnings, vec![]);

    // Several PEM blocks in one pubKey (a bundle, as EWP manifests list several), one of them
    // with literal "\n" escapes and one without line breaks at all.
    let one_line = b.replace('\n', "");
    let escaped = a.replace('\n', "\\n");
    let parsed = parse(&doc_with(serde_json::json!({
        "acronym": "UIO", "countryCode": "NO", "institutions": "UiO",
        "url": "https://uio.example/emrex",
        "pubKey": format!("{escaped}{one_line}\n{c}"),
    })))
    .expect("list");
    let uio = parsed.snapshot.by_acronym("UIO").expect("UIO");
    assert_eq!(uio.certificates, [pinned(&b), pinned(&c), pinned(&a)]);
    assert_eq!(uio.institutions, ["UiO"]);

    // Bare base64 DER (the EWP manifest form).
    let der_b64: String = a
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("");
    let parsed = parse(&doc_with(serde_json::json!({
        "acronym": "UIO", "countryCode": "NO", "url": "https://uio.example/emrex",
        "pubKey": der_b64,
    })))
    .expect("list");
    assert_eq!(
        parsed.snapshot.by_acronym("UIO").expect("UIO").certificates,
        [pinned(&a)]
    );

    // One good, one broken: the good one is kept, with a warning for the other.
    let parsed = parse(&doc_with(serde_json::json!({
        "acronym": "UIO", "countryCode": "NO", "url": "https://uio.example/emrex",
        "pubKeys": [a, "-----BEGIN CERTIFICATE-----\nMIIB(......)\n-----END CERTIFICATE-----"],
    })))
    .expect("list");
    assert_eq!(
        parsed.snapshot.by_acronym("UIO").expect("UIO").certificates,
        [pinned(&a)]
    );
    assert!(matches!(
        parsed.warnings.as_slice(),
        [ListWarning::BadCertificate { acronym, .. }] if acronym == "UIO"
    ));
}

#[test]
fn odd_entries_are_skipped_or_defaulted_and_unknown_fields_ignored() {
    let cert = ec_cert(2022);
    let doc = serde_json::to_vec(&serde_json::json!({
        "version": {"deeply": {"nested": [1, 2, {"x": null}]}},
        "countries": [
            {"countryCode": "no", "countryName": "Norway", "singleFetch": "false", "flag": "🇳🇴"},
            {"countryCode": "NO", "countryName": "Again"},
            {"countryName": "No code"},
            {"countryCode": "SE", "countryName": "Sweden (no NCP: dropped)"},
        ],
        "emps": [
            {"acronym": "UIO", "countryCode": "no", "url": "https://uio.example/", "pubKey": cert, "extra": [1]},
            {"acronym": "UIO", "countryCode": "NO", "url": "https://other.example/", "pubKey": cert},
            {"acronym": "", "countryCode": "NO", "url": "https://x.example/"},
            {"acronym": "NOCC", "url": "https://x.example/"},
            {"acronym": "JS", "countryCode": "NO", "url": "javascript:alert(1)"},
            {"acronym": "A", "countryCode": "DK", "url": "https://a.example/", "pubKey": cert},
            {"acronym": "B", "countryCode": "DK", "url": "https://b.example/", "pubKey": null},
        ],
    }))
    .expect("json");
    let parsed = parse(&doc).expect("list");
    let s = &parsed.snapshot;
    assert_eq!(acronyms(s), ["A", "B", "UIO"]);
    assert_eq!(
        s.by_acronym("UIO").expect("UIO").url,
        "https://uio.example/"
    );
    assert_eq!(s.by_acronym("UIO").expect("UIO").country_code, "NO");
    let countries: Vec<_> = s
        .countries
        .iter()
        .map(|c| (c.code.as_str(), c.name.as_str(), c.single_fetch))
        .collect();
    // DK is not listed: its code as name, singleFetch since it has two NCPs.
    assert_eq!(countries, [("DK", "DK", true), ("NO", "Norway", false)]);
    let skipped = parsed
        .warnings
        .iter()
        .filter(|w| matches!(w, ListWarning::EntrySkipped { .. }))
        .count();
    assert_eq!(skipped, 4, "{:?}", parsed.warnings);
    assert!(
        parsed
            .warnings
            .contains(&ListWarning::UnlistedCountry { code: "DK".into() })
    );
    assert!(parsed.warnings.contains(&ListWarning::NoCertificate {
        acronym: "B".into()
    }));
    assert_eq!(
        parsed
            .warnings
            .iter()
            .filter(|w| matches!(w, ListWarning::CountrySkipped { .. }))
            .count(),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// parsing: hostile documents

#[test]
fn hostile_documents_are_refused_quickly() {
    let started = std::time::Instant::now();

    // Too large.
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert_eq!(
        parse(&big),
        Err(ListError::TooLarge {
            size: MAX_DOCUMENT_BYTES + 1,
            limit: MAX_DOCUMENT_BYTES
        })
    );

    // Deeply nested: no field is read into a generic value, so nesting where a known field is
    // expected fails at the first unexpected array...
    for prefix in [
        "{\"ncps\": ",
        "{\"ncps\": [{\"institutions\": ",
        "{\"countries\": ",
    ] {
        let mut doc = prefix.as_bytes().to_vec();
        doc.extend(std::iter::repeat_n(b'[', 1_000_000));
        let err = parse(&doc).expect_err("nested");
        assert!(
            matches!(&err, ListError::Invalid { offset, .. } if *offset < prefix.len() + 8),
            "{err}"
        );
    }
    // ... and unknown fields are skipped without recursion (serde_json keeps a flat stack there,
    // bounded by the document size).
    let mut doc = b"{\"ncps\": [], \"junk\": ".to_vec();
    doc.extend(std::iter::repeat_n(b'[', 1_000_000));
    assert!(matches!(parse(&doc), Err(ListError::Invalid { .. })));
    doc.extend(std::iter::repeat_n(b']', 1_000_000));
    doc.push(b'}');
    assert!(
        parse(&doc)
            .expect("closed junk is ignored")
            .snapshot
            .ncps
            .is_empty()
    );

    // More providers than allowed: refused without building them all.
    let mut doc = b"{\"ncps\": [".to_vec();
    for i in 0..=MAX_ENTRIES {
        if i > 0 {
            doc.push(b',');
        }
        doc.extend_from_slice(b"{}");
    }
    doc.extend_from_slice(b"]}");
    let err = parse(&doc).expect_err("too many entries");
    assert!(
        matches!(&err, ListError::Invalid { message, .. } if message.contains(&format!("more than {MAX_ENTRIES}"))),
        "{err}"
    );
    // Exactly the limit is fine (and every entry, lacking everything, is skipped).
    let at_limit = parse(&[&doc[..doc.len() - 5], b"]}"].concat()).expect("at the limit");
    assert_eq!(at_limit.warnings.len(), MAX_ENTRIES);

    // Huge arrays elsewhere: countries, institutions, pubKeys.
    let many = |n: usize, item: &str| vec![item; n].join(",");
    let doc = format!("{{\"countries\": [{}], \"ncps\": []}}", many(10_001, "{}"));
    assert!(matches!(
        parse(doc.as_bytes()),
        Err(ListError::Invalid { .. })
    ));
    let doc = format!(
        "{{\"ncps\": [{{\"institutions\": [{}]}}]}}",
        many(MAX_INSTITUTIONS + 1, "\"x\"")
    );
    assert!(matches!(
        parse(doc.as_bytes()),
        Err(ListError::Invalid { .. })
    ));
    let doc = format!(
        "{{\"ncps\": [{{\"pubKeys\": [{}]}}]}}",
        many(MAX_CERTIFICATES_PER_ENTRY + 1, "\"x\"")
    );
    assert!(matches!(
        parse(doc.as_bytes()),
        Err(ListError::Invalid { .. })
    ));
    // 17 distinct certificates inside one pubKey.
    let bundle: String = (0..=MAX_CERTIFICATES_PER_ENTRY)
        .map(|i| format!("-----BEGIN CERTIFICATE-----\nQUJD{i:04}\n-----END CERTIFICATE-----\n"))
        .collect();
    let err = parse(&doc_with(serde_json::json!({
        "acronym": "UIO", "countryCode": "NO", "url": "https://uio.example/", "pubKey": bundle,
    })))
    .expect_err("17 certificates");
    assert!(
        matches!(err, ListError::TooManyCertificates { count, .. } if count == MAX_CERTIFICATES_PER_ENTRY + 1)
    );

    // A 4 MiB array of numbers in an unknown field is skipped without being built.
    let mut doc = b"{\"ncps\": [], \"junk\": [0".to_vec();
    while doc.len() < MAX_DOCUMENT_BYTES - 8 {
        doc.extend_from_slice(b",0");
    }
    doc.extend_from_slice(b"]}");
    assert!(parse(&doc).expect("junk ignored").snapshot.ncps.is_empty());

    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// configuration

#[test]
fn configuration_from_toml_shapes() {
    let json: RegistryConfig = serde_json::from_value(serde_json::json!({
        "kind": "json",
        "url": "https://emreg.example/ncp-list.json?pubKeys=true",
        "legacy_acronyms": ["CSC"],
    }))
    .expect("json config");
    assert_eq!(
        json,
        RegistryConfig::Json {
            url: "https://emreg.example/ncp-list.json?pubKeys=true".into(),
            refresh: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
            ca_file: None,
            legacy_acronyms: vec!["CSC".into()],
        }
    );
    let json: RegistryConfig = serde_json::from_value(serde_json::json!({
        "kind": "json", "url": "https://e.example/l.json", "refresh": "30s", "timeout": 5,
    }))
    .expect("json config");
    assert!(matches!(json, RegistryConfig::Json { refresh, timeout, .. }
        if refresh == Duration::from_secs(30) && timeout == Duration::from_secs(5)));
    let grpc: RegistryConfig = serde_json::from_value(serde_json::json!({
        "kind": "grpc",
        "client": {"endpoint": "https://emreg:50051", "tls": {"ca_file": "/etc/ca.pem"}},
        "token_file": "/run/token",
    }))
    .expect("grpc config");
    assert!(matches!(&grpc, RegistryConfig::Grpc { client, token_file }
        if client.endpoint == "https://emreg:50051" && token_file.as_deref() == Some(Path::new("/run/token"))));
    // Round trip through serialisation (the runtime's loader needs it).
    let back: RegistryConfig =
        serde_json::from_value(serde_json::to_value(&grpc).expect("ser")).expect("de");
    assert_eq!(back, grpc);
}

#[tokio::test]
async fn unusable_configurations_are_refused_at_start() {
    for url in [
        "http://emreg.example/ncp-list.json",
        "ftp://127.0.0.1/ncp-list.json",
        "https://user:pw@emreg.example/ncp-list.json",
        "not a url",
    ] {
        let err = RegistryView::start(&RegistryConfig::json(url), Shutdown::new()).expect_err(url);
        assert!(err.to_string().contains(url), "{err}");
    }
    for url in [
        "http://127.0.0.1:9/l.json",
        "http://localhost:9/l.json",
        "http://[::1]:9/l.json",
    ] {
        let shutdown = Shutdown::new();
        RegistryView::start(&RegistryConfig::json(url), shutdown.clone()).expect(url);
        shutdown.trigger();
    }
    let err = RegistryView::start(
        &RegistryConfig::Grpc {
            client: GrpcClientConfig::default(),
            token_file: Some("/nonexistent/token".into()),
        },
        Shutdown::new(),
    )
    .expect_err("token file");
    assert!(err.to_string().contains("/nonexistent/token"), "{err}");
    assert!(RegistryView::start(&RegistryConfig::grpc("ftp://x"), Shutdown::new()).is_err());
}

#[test]
fn a_fixed_view_is_ready_at_once() {
    let parsed = parse(&fixture(NCP_LIST)).expect("list");
    let view = RegistryView::fixed(parsed.snapshot.clone());
    assert!(view.is_ready());
    assert_eq!(*view.current(), parsed.snapshot);
    assert_eq!(view.clone().status().updates, 1);
}

// ---------------------------------------------------------------------------------------------
// JSON over HTTP: a local server with ETags

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Error,
    Garbage,
}

struct Served {
    body: Vec<u8>,
    etag: String,
    mode: Mode,
}

#[derive(Clone)]
struct ListServer {
    served: Arc<Mutex<Served>>,
    requests: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
    conditional: Arc<Mutex<Vec<String>>>,
}

impl ListServer {
    fn set(&self, body: Vec<u8>, etag: &str) {
        let mut s = self.served.lock().expect("lock");
        s.body = body;
        s.etag = etag.into();
        s.mode = Mode::Normal;
    }

    fn mode(&self, mode: Mode) {
        self.served.lock().expect("lock").mode = mode;
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve_list(State(server): State<ListServer>, headers: HeaderMap) -> Response {
    server.requests.fetch_add(1, Ordering::SeqCst);
    let served = server.served.lock().expect("lock");
    match served.mode {
        Mode::Error => return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Mode::Garbage => {
            return (
                [(header::ETAG, HeaderValue::from_static("\"garbage\""))],
                "<html>not a list</html>",
            )
                .into_response();
        }
        Mode::Normal => {}
    }
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let inm = inm.to_str().expect("ascii").to_string();
        server.conditional.lock().expect("lock").push(inm.clone());
        if inm == served.etag {
            server.not_modified.fetch_add(1, Ordering::SeqCst);
            return (
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, served.etag.clone())],
            )
                .into_response();
        }
    }
    (
        [
            (header::ETAG, served.etag.clone()),
            (header::CONTENT_TYPE, "application/json".into()),
        ],
        served.body.clone(),
    )
        .into_response()
}

async fn start_list_server() -> (ListServer, std::net::SocketAddr) {
    let server = ListServer {
        served: Arc::new(Mutex::new(Served {
            body: fixture(NCP_LIST),
            etag: "\"v1\"".into(),
            mode: Mode::Normal,
        })),
        requests: Arc::default(),
        not_modified: Arc::default(),
        conditional: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/ncp-list.json", get(serve_list))
        .route(
            "/to-https",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "https://127.0.0.1:9/ncp-list.json")],
                )
            }),
        )
        .route(
            "/huge",
            get(|| async {
                // No Content-Length: the limit must hold while streaming.
                let chunk = Bytes::from(vec![b' '; 64 * 1024]);
                let chunks = (0..100).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
                Body::from_stream(tokio_stream::iter(chunks))
            }),
        )
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, addr)
}

fn json_config(url: String, refresh: Duration) -> RegistryConfig {
    RegistryConfig::Json {
        url,
        refresh,
        timeout: Duration::from_secs(5),
        ca_file: None,
        legacy_acronyms: vec!["DK-TEST".into()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_over_http_with_etags_changes_and_failures() {
    let (server, addr) = start_list_server().await;
    let shutdown = Shutdown::new();
    let view = RegistryView::start(
        &json_config(
            format!("http://{addr}/ncp-list.json"),
            Duration::from_millis(200),
        ),
        shutdown.clone(),
    )
    .expect("start");
    view.wait_ready(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = parse_list(
        &fixture(NCP_LIST),
        &ParseOptions::with_legacy_acronyms(["DK-TEST"]),
    )
    .expect("fixture")
    .snapshot;
    assert_eq!(*view.current(), expected);
    assert!(
        view.current()
            .by_acronym("DK-TEST")
            .expect("DK")
            .legacy_algorithms
    );

    // Later fetches are conditional and answered 304; the snapshot is not republished.
    assert!(
        eventually(Duration::from_secs(5), || server
            .not_modified
            .load(Ordering::SeqCst)
            >= 2)
        .await
    );
    assert!(
        server
            .conditional
            .lock()
            .expect("lock")
            .iter()
            .all(|t| t == "\"v1\"")
    );
    let status = view.status();
    assert_eq!(status.updates, 1);
    assert_eq!(status.last_error, None);
    assert!(status.last_success.is_some());

    // A changed document (the same data under `emps`, minus XX-B) is picked up.
    let mut doc: serde_json::Value = serde_json::from_slice(&fixture(EMP_LIST)).expect("json");
    doc["emps"]
        .as_array_mut()
        .expect("emps")
        .retain(|e| e["acronym"] != "XX-B");
    server.set(serde_json::to_vec(&doc).expect("json"), "\"v2\"");
    assert!(
        until(&view, Duration::from_secs(5), |s| s
            .by_acronym("XX-B")
            .is_none())
        .await,
        "{view:?}"
    );
    assert_eq!(acronyms(&view.current()), ["DK-TEST", "CSC", "XX-A"]);
    let good = view.current();

    // Failures keep the last good snapshot.
    for (mode, expect) in [(Mode::Error, "500"), (Mode::Garbage, "invalid")] {
        server.mode(mode);
        let before = server.requests();
        assert!(eventually(Duration::from_secs(5), || server.requests() >= before + 2).await);
        let status = view.status();
        let error = status.last_error.expect("an error is reported");
        assert!(error.contains(expect), "{error}");
        assert!(status.consecutive_failures >= 1);
        assert!(view.is_ready());
        assert_eq!(view.current(), good);
    }

    // Recovery: the garbage's ETag was not kept, so the good document is fetched in full.
    server.set(fixture(NCP_LIST), "\"v3\"");
    assert!(
        until(&view, Duration::from_secs(5), |s| s
            .by_acronym("XX-B")
            .is_some())
        .await,
        "{view:?}"
    );
    assert!(
        eventually(Duration::from_secs(5), || view
            .status()
            .last_error
            .is_none())
        .await
    );
    assert_eq!(*view.current(), expected);

    // Shutdown stops the fetching.
    shutdown.trigger();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = server.requests();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(server.requests(), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_another_scheme_and_oversized_lists_are_refused() {
    let (_server, addr) = start_list_server().await;
    for (path, expect) in [
        ("/to-https", "redirect from http:// to https://"),
        ("/huge", "larger than"),
        ("/missing", "404"),
    ] {
        let shutdown = Shutdown::new();
        let view = RegistryView::start(
            &json_config(format!("http://{addr}{path}"), Duration::from_secs(60)),
            shutdown.clone(),
        )
        .expect("start");
        assert!(
            eventually(Duration::from_secs(5), || view
                .status()
                .last_error
                .is_some())
            .await,
            "{path}"
        );
        let error = view.status().last_error.expect("error");
        assert!(error.contains(expect), "{path}: {error}");
        assert!(!view.is_ready());
        let err = view
            .wait_ready(Duration::from_millis(50))
            .await
            .expect_err("not ready");
        assert!(err.to_string().contains(expect), "{err}");
        shutdown.trigger();
    }
}

// ---------------------------------------------------------------------------------------------
// our EMREG: gRPC List + Watch, and its JSON list

struct Emreg {
    store: Arc<SqliteStore>,
    grpc: std::net::SocketAddr,
    http: std::net::SocketAddr,
    /// gRPC calls received (List and Watch alike).
    calls: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

/// EMREG on `grpc` (the `Registry` service, behind a bearer token check when `bearer` is set)
/// and its JSON lists on another loopback port, over a fresh SQLite store in dev mode.
async fn start_emreg_at(grpc: tokio::net::TcpListener, bearer: Option<&'static str>) -> Emreg {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        SqliteStore::open(
            &dir.path().join("emreg.db"),
            ValidationOptions { dev_mode: true },
        )
        .await
        .expect("store"),
    );
    let grpc_addr = grpc.local_addr().expect("addr");
    let calls = Arc::new(AtomicUsize::new(0));
    let check = {
        let calls = Arc::clone(&calls);
        let expected = bearer.map(|t| format!("Bearer {t}"));
        move |request: tonic::Request<()>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let given = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            match &expected {
                Some(expected) if given != Some(expected.as_str()) => {
                    Err(tonic::Status::unauthenticated("bearer token required"))
                }
                _ => Ok(request),
            }
        }
    };
    let server = tonic::transport::Server::builder()
        .add_service(tonic::service::interceptor::InterceptedService::new(
            registry_server(RegistryService::new(Arc::clone(&store))),
            check,
        ))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc));
    tokio::spawn(server);
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http_addr = http.local_addr().expect("addr");
    let router = emrex_emreg::http::router(Arc::clone(&store));
    tokio::spawn(async move { axum::serve(http, router).await });
    Emreg {
        store,
        grpc: grpc_addr,
        http: http_addr,
        calls,
        _dir: dir,
    }
}

async fn start_emreg() -> Emreg {
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    start_emreg_at(grpc, None).await
}

/// A TCP proxy whose open connections can be cut (new ones are still accepted).
struct Proxy {
    addr: std::net::SocketAddr,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let tracked = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tracked.lock().expect("lock").push(task);
            }
        });
        Proxy { addr, connections }
    }

    /// Drops every open connection.
    fn cut(&self) {
        for task in self.connections.lock().expect("lock").drain(..) {
            task.abort();
        }
    }
}

fn grpc_config(addr: std::net::SocketAddr, token_file: Option<PathBuf>) -> RegistryConfig {
    RegistryConfig::Grpc {
        client: GrpcClientConfig {
            endpoint: format!("http://{addr}"),
            connect_timeout: Duration::from_secs(2),
            // Shorter than the test: the Watch stream must outlive the per-call deadline.
            timeout: Duration::from_secs(1),
            ..GrpcClientConfig::default()
        },
        token_file,
    }
}

fn entry(acronym: &str, country: &str, certificates: Vec<String>, legacy: bool) -> Entry {
    Entry {
        acronym: acronym.into(),
        country_code: country.into(),
        institutions: vec![format!("{acronym} University")],
        url: format!("http://127.0.0.1:9/{}", acronym.to_lowercase()),
        certificates,
        legacy_algorithms: legacy,
        ..Entry::default()
    }
}

fn ncp<'a>(s: &'a Snapshot, acronym: &str) -> &'a RegistryNcp {
    s.by_acronym(acronym)
        .unwrap_or_else(|| panic!("{acronym} in {:?}", acronyms(s)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_list_then_watch_follows_our_emreg() {
    let emreg = start_emreg().await;
    let (old, new) = (ec_cert(2021), ec_cert(2024));
    emreg
        .store
        .upsert(entry("UIO", "NO", vec![old.clone(), new.clone()], true))
        .await
        .expect("upsert");
    emreg
        .store
        .upsert(entry("CSC", "FI", vec![ec_cert(2022)], false))
        .await
        .expect("upsert");
    emreg
        .store
        .set_country(Country {
            code: "NO".into(),
            name: "Norway".into(),
            single_fetch: false,
        })
        .await
        .expect("country");

    let shutdown = Shutdown::new();
    let view =
        RegistryView::start(&grpc_config(emreg.grpc, None), shutdown.clone()).expect("start");
    view.wait_ready(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = view.current();
    assert_eq!(acronyms(&s), ["CSC", "UIO"]);
    let uio = ncp(&s, "UIO");
    assert_eq!(uio.certificates, [pinned(&new), pinned(&old)]);
    assert!(uio.legacy_algorithms);
    assert_eq!(uio.institutions, ["UIO University"]);
    assert_eq!(uio.url, "http://127.0.0.1:9/uio");
    assert!(!ncp(&s, "CSC").legacy_algorithms);
    let countries: Vec<_> = s
        .countries
        .iter()
        .map(|c| (c.code.as_str(), c.name.as_str(), c.single_fetch))
        .collect();
    assert_eq!(countries, [("FI", "FI", false), ("NO", "Norway", false)]);

    // Longer than the channel's per-call timeout: the Watch stream must still be open.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A change: the rollover is over, the flag dropped, the entry point moved.
    let mut changed = entry("UIO", "NO", vec![new.clone()], false);
    changed.url = "http://127.0.0.1:9/uio/v2".into();
    emreg.store.upsert(changed).await.expect("upsert");
    assert!(
        until(&view, Duration::from_secs(5), |s| s
            .by_acronym("UIO")
            .is_some_and(|n| n.url.ends_with("/v2")))
        .await,
        "{:?}",
        view.status()
    );
    let uio = ncp(&view.current(), "UIO").clone();
    assert_eq!(uio.certificates, [pinned(&new)]);
    assert!(!uio.legacy_algorithms);

    // A deletion and a country setting.
    emreg.store.delete("CSC").await.expect("delete");
    assert!(
        until(&view, Duration::from_secs(5), |s| s
            .by_acronym("CSC")
            .is_none())
        .await
    );
    emreg
        .store
        .upsert(entry("NTNU", "NO", vec![ec_cert(2023)], false))
        .await
        .expect("upsert");
    emreg
        .store
        .set_country(Country {
            code: "NO".into(),
            name: "Noreg".into(),
            single_fetch: true,
        })
        .await
        .expect("country");
    assert!(
        until(&view, Duration::from_secs(5), |s| s.countries
            == [emrex_smp::registry::RegistryCountry {
                code: "NO".into(),
                name: "Noreg".into(),
                single_fetch: true,
            }]
            && s.ncps.len() == 2)
        .await,
        "{:?}",
        view.current().countries
    );
    assert_eq!(acronyms(&view.current()), ["NTNU", "UIO"]);
    assert_eq!(view.status().last_error, None);
    // All of it over one List and one Watch: no reconnects, no polling.
    assert_eq!(emreg.calls.load(Ordering::SeqCst), 2);

    // The same registry through its JSON list (every certificate, legacy flag from config) gives
    // the same snapshot.
    emreg
        .store
        .upsert(entry("UIO", "NO", vec![old.clone(), new.clone()], true))
        .await
        .expect("upsert");
    assert!(
        until(&view, Duration::from_secs(5), |s| ncp(s, "UIO")
            .certificates
            .len()
            == 2)
        .await
    );
    let json = RegistryView::start(
        &RegistryConfig::Json {
            url: format!("http://{}/ncp-list.json?pubKeys=true", emreg.http),
            refresh: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            ca_file: None,
            legacy_acronyms: vec!["UIO".into()],
        },
        shutdown.clone(),
    )
    .expect("json view");
    json.wait_ready(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(*json.current(), *view.current());
    shutdown.trigger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_retries_until_emreg_answers_and_sends_the_bearer_token() {
    // Nothing listens on the port yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret\n").expect("token");
    let shutdown = Shutdown::new();
    let view =
        RegistryView::start(&grpc_config(port, Some(token_file)), shutdown.clone()).expect("start");
    let without_token =
        RegistryView::start(&grpc_config(port, None), shutdown.clone()).expect("start");
    assert!(
        eventually(Duration::from_secs(5), || view
            .status()
            .last_error
            .is_some())
        .await
    );
    assert!(!view.is_ready());

    let listener = tokio::net::TcpListener::bind(port).await.expect("rebind");
    let emreg = start_emreg_at(listener, Some("s3cret")).await;
    emreg
        .store
        .upsert(entry("UIO", "NO", vec![ec_cert(2024)], false))
        .await
        .expect("upsert");
    view.wait_ready(Duration::from_secs(15))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        until(&view, Duration::from_secs(5), |s| s
            .by_acronym("UIO")
            .is_some())
        .await
    );

    // Without the token EMREG refuses, and the view says so.
    assert!(
        eventually(Duration::from_secs(15), || without_token
            .status()
            .last_error
            .is_some_and(|e| e.contains("Unauthenticated")))
        .await,
        "{:?}",
        without_token.status()
    );
    assert!(!without_token.is_ready());
    shutdown.trigger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_reconnects_and_lists_again_after_the_stream_breaks() {
    let emreg = start_emreg().await;
    emreg
        .store
        .upsert(entry("UIO", "NO", vec![ec_cert(2024)], false))
        .await
        .expect("upsert");
    let proxy = Proxy::start(emreg.grpc).await;
    let shutdown = Shutdown::new();
    let view =
        RegistryView::start(&grpc_config(proxy.addr, None), shutdown.clone()).expect("start");
    view.wait_ready(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(Duration::from_secs(5), || emreg
            .calls
            .load(Ordering::SeqCst)
            == 2)
        .await
    );

    // The connection breaks; meanwhile the registry changes.
    proxy.cut();
    emreg.store.delete("UIO").await.expect("delete");
    emreg
        .store
        .upsert(entry("CSC", "FI", vec![ec_cert(2024)], true))
        .await
        .expect("upsert");
    assert!(
        until(&view, Duration::from_secs(10), |s| acronyms(s) == ["CSC"]).await,
        "{:?} {:?}",
        view.status(),
        acronyms(&view.current())
    );
    assert!(ncp(&view.current(), "CSC").legacy_algorithms);
    // A new List and Watch, and the stream works again.
    assert!(
        eventually(Duration::from_secs(5), || emreg
            .calls
            .load(Ordering::SeqCst)
            == 4)
        .await
    );
    emreg
        .store
        .upsert(entry("UIO", "NO", vec![ec_cert(2024)], false))
        .await
        .expect("upsert");
    assert!(until(&view, Duration::from_secs(5), |s| s.ncps.len() == 2).await);
    assert!(
        eventually(Duration::from_secs(5), || view
            .status()
            .last_error
            .is_none())
        .await
    );
    assert_eq!(emreg.calls.load(Ordering::SeqCst), 4);
    shutdown.trigger();
}
