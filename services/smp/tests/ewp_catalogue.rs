//! The EWP registry catalogue as the SMP's registry (`kind = "ewp-catalogue"`), with real parts:
//! the fixtures (the CONSTRUCTED EMREX catalogue and the registry's own examples), a generated
//! catalogue of hundreds of hosts in both namespaces seen in the wild (checked against the
//! catalogue XSD with xmllint), documents signed with each of an entry's certificates judged by
//! the SMP's real judge, hostile and broken catalogues, and a local HTTP server with ETags.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use emrex_elmo::{Budget, Person};
use emrex_runtime::shutdown::Shutdown;
use emrex_smp::judge::{ReturnForm, Trust, judge};
use emrex_smp::model::OutcomeKind;
use emrex_smp::registry::ewp::{
    CatalogueError, CatalogueLimits, CatalogueOptions, CatalogueWarning, NS_CATALOGUE,
    NS_EMREX_DATA_ACCESS_POINT, NS_EMREX_NCP, parse_catalogue,
};
use emrex_smp::registry::{RegistryConfig, RegistryView, Snapshot};
use emrex_tests::read_fixture;
use emrex_xmldsig::{PinnedCert, SignOptions, SigningKey};

const CONSTRUCTED: &str = "emreg/ewp-catalogue-emrex-CONSTRUCTED.xml";

fn parse(bytes: &[u8]) -> Result<emrex_smp::registry::ewp::ParsedCatalogue, CatalogueError> {
    parse_catalogue(bytes, &CatalogueOptions::default())
}

/// A test-only key and certificate.
struct Key {
    signing: SigningKey,
    der: Vec<u8>,
}

fn key(name: &str) -> Key {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p =
        rcgen::CertificateParams::new(vec![format!("{name}.test.invalid")]).expect("params");
    p.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} (test only)"));
    let cert = p.self_signed(&kp).expect("cert");
    Key {
        signing: SigningKey::from_pem(kp.serialize_pem().as_bytes(), cert.pem().as_bytes())
            .expect("signing key"),
        der: cert.der().to_vec(),
    }
}

fn b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// One `emrex-data-access-point` entry in namespace `ns` (default namespace declared on it).
fn entry(
    ns: &str,
    url: &str,
    name: &str,
    country: &str,
    institutions: &[&str],
    certs: &[String],
) -> String {
    let mut s = format!(
        "<emrex-data-access-point xmlns=\"{ns}\" version=\"1.0.0\"><url>{url}</url><name>{name}</name><country-code>{country}</country-code>"
    );
    for i in institutions {
        let _ = write!(s, "<institution>{i}</institution>");
    }
    for c in certs {
        let _ = write!(s, "<certificate>{c}</certificate>");
    }
    s.push_str("</emrex-data-access-point>");
    s
}

/// A catalogue of `hosts` (each a list of `apis-implemented` children).
fn catalogue(hosts: &[Vec<String>]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<catalogue xmlns=\"{NS_CATALOGUE}\" \
         xmlns:ewp=\"https://github.com/erasmus-without-paper/ewp-specs-architecture/blob/stable-v1/common-types.xsd\" \
         xmlns:e1=\"https://github.com/erasmus-without-paper/ewp-specs-api-echo/blob/stable-v1/manifest-entry.xsd\">\n"
    );
    for (i, apis) in hosts.iter().enumerate() {
        let _ = write!(
            s,
            "  <host>\n    <ewp:admin-email>admin{i}@host{i}.test.invalid</ewp:admin-email>\n    <apis-implemented>\n"
        );
        for a in apis {
            let _ = writeln!(s, "      {a}");
        }
        s.push_str("    </apis-implemented>\n  </host>\n");
    }
    s.push_str("  <institutions/>\n</catalogue>\n");
    s
}

fn echo(i: usize) -> String {
    format!(
        "<e1:echo version=\"1.0.0\"><e1:url>https://host{i}.test.invalid/echo</e1:url></e1:echo>"
    )
}

#[test]
fn the_constructed_catalogue_gives_both_emps_with_all_their_certificates() {
    let parsed = parse(&read_fixture(CONSTRUCTED)).expect("parse");
    assert_eq!(parsed.hosts, 2);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let s = &parsed.snapshot;
    let names: Vec<_> = s.ncps.iter().map(|n| n.acronym.as_str()).collect();
    assert_eq!(names, ["Example University B", "Testland national EMP"]);
    let b = s.by_acronym("Example University B").expect("B");
    assert_eq!(b.country_code, "DK");
    assert_eq!(b.url, "https://emp-b.test.invalid/emrex/ncp_entry");
    assert_eq!(
        b.institutions,
        ["Example University B", "Example College B2"]
    );
    assert_eq!(b.certificates.len(), 2, "both certificates of the rollover");
    // They are the DK test certificate and the generated fixture certificate.
    let dk = PinnedCert::from_pem_or_der(&read_fixture("certs/dk-emrex-test.cer")).expect("dk");
    let generated =
        PinnedCert::from_pem_or_der(&read_fixture("generated/GENERATED-TEST-ONLY-emp.crt"))
            .expect("generated");
    assert!(b.certificates.contains(&dk) && b.certificates.contains(&generated));
    let a = s.by_acronym("Testland national EMP").expect("A");
    assert_eq!(
        a.institutions,
        ["Testland national EMP"],
        "the name when none is listed"
    );
    assert_eq!(a.certificates, [generated]);
    // Countries come from the entries (the catalogue names none).
    let codes: Vec<_> = s.countries.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["DK", "XX"]);
}

#[test]
fn the_registry_examples_have_hosts_but_no_emrex_entries() {
    for rel in [
        "ewp/sample-catalogue.xml",
        "ewp/registry-catalogue-example.xml",
    ] {
        let parsed = parse(&read_fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(parsed.hosts >= 2, "{rel}");
        assert_eq!(parsed.snapshot, Snapshot::default(), "{rel}");
    }
}

#[test]
fn both_namespaces_are_read_and_others_are_not() {
    let k = key("ns");
    let c = vec![b64(&k.der)];
    let doc = catalogue(&[
        vec![entry(
            NS_EMREX_DATA_ACCESS_POINT,
            "https://a.test.invalid/init",
            "A",
            "NO",
            &[],
            &c,
        )],
        vec![entry(
            NS_EMREX_NCP,
            "https://usosweb.test.invalid/ncp_endpoint.php",
            "UW",
            "PL",
            &["University of Warsaw"],
            &c,
        )],
        // The same element name in a foreign namespace is not an EMREX entry.
        vec![entry(
            "urn:evil",
            "https://evil.test.invalid/",
            "Evil",
            "XX",
            &[],
            &c,
        )],
        // …nor is an entry outside apis-implemented.
    ]);
    let doc = doc.replace(
        "  <institutions/>",
        &format!(
            "<host>{}</host><institutions/>",
            entry(
                NS_EMREX_NCP,
                "https://b.test.invalid/",
                "Outside",
                "SE",
                &[],
                &c
            )
        ),
    );
    let s = parse(doc.as_bytes()).expect("parse").snapshot;
    let names: Vec<_> = s.ncps.iter().map(|n| n.acronym.as_str()).collect();
    assert_eq!(names, ["A", "UW"]);
    assert_eq!(
        s.by_acronym("UW").expect("UW").institutions,
        ["University of Warsaw"]
    );
}

/// A catalogue of `n` hosts: every third has no EMREX entry (other APIs only), the others one
/// entry in alternating namespaces with one to three certificates; returns it with the keys.
fn generated(n: usize) -> (String, Vec<(String, Vec<Key>)>) {
    let countries = ["AT", "BE", "CZ", "DE", "FI", "FR", "NO", "PL", "SE", "SI"];
    let mut hosts = Vec::new();
    let mut keys = Vec::new();
    for i in 0..n {
        if i % 3 == 0 {
            hosts.push(vec![echo(i)]);
            continue;
        }
        let ks: Vec<Key> = (0..1 + i % 3)
            .map(|j| key(&format!("emp{i}-{j}")))
            .collect();
        let certs: Vec<String> = ks.iter().map(|k| b64(&k.der)).collect();
        let ns = if i % 2 == 0 {
            NS_EMREX_DATA_ACCESS_POINT
        } else {
            NS_EMREX_NCP
        };
        let name = format!("EMP {i:04}");
        hosts.push(vec![
            echo(i),
            entry(
                ns,
                &format!("https://emp{i}.test.invalid/emrex"),
                &name,
                countries[i % countries.len()],
                &[&format!("University {i}")],
                &certs,
            ),
        ]);
        keys.push((name, ks));
    }
    (catalogue(&hosts), keys)
}

/// An exchange around the `generatedDate` of [`signed`] documents (2026-01-01T00:00:00Z).
const WINDOW: emrex_smp::judge::Window = emrex_smp::judge::Window {
    started_unix: 1_767_225_600 - 60,
    received_unix: 1_767_225_600 + 60,
    skew: 300,
};

fn signed(key: &SigningKey, given: &str, family: &str) -> String {
    use emrex_elmo::model::*;
    let elmo = Elmo::new(
        Learner::new(given, family).with_bday("2000-02-29"),
        "2026-01-01T00:00:00Z",
    )
    .with_report(Report::new(
        Issuer::new(
            LangText::new("U"),
            Identifier::new("schac", "u.test.invalid"),
            "https://u.test.invalid",
        ),
        "2026-01-01T00:00:00Z",
    ));
    let xml = emrex_elmo::to_xml_v17(&elmo);
    emrex_elmo::transport::encode(
        &emrex_xmldsig::sign(xml.as_bytes(), key, &SignOptions::default()).expect("sign"),
    )
}

#[test]
fn a_generated_catalogue_of_hundreds_of_hosts() {
    let (doc, keys) = generated(600);
    assert!(doc.len() > 300_000, "{}", doc.len());
    // The generator writes what the registry publishes: valid against the catalogue XSD.
    emrex_tests::xmllint_validate_ewp(doc.as_bytes(), "registry-v1.5.0/catalogue.xsd")
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let parsed = parse(doc.as_bytes()).expect("parse");
    let took = started.elapsed();
    println!(
        "parsed {} bytes, {} hosts, {} entries in {took:?}",
        doc.len(),
        parsed.hosts,
        parsed.snapshot.ncps.len()
    );
    assert_eq!(parsed.hosts, 600);
    assert_eq!(parsed.snapshot.ncps.len(), 400);
    assert!(
        parsed.warnings.is_empty(),
        "{:?}",
        &parsed.warnings[..3.min(parsed.warnings.len())]
    );
    // Several NCPs per country: the chooser lists them.
    assert!(parsed.snapshot.countries.iter().all(|c| c.single_fetch));

    // Every certificate of an entry is trusted (overlap during a rollover), and only that
    // entry's: a document signed with one key of entry i verifies for i, not for another.
    let person = Person::new("Ana", "Novak", Some("2000-02-29"));
    for (name, ks) in keys.iter().filter(|(_, ks)| ks.len() == 3).take(5) {
        let ncp = parsed.snapshot.by_acronym(name).expect("listed");
        assert_eq!(ncp.certificates.len(), 3);
        for k in ks {
            let form = ReturnForm {
                session_id: "s".into(),
                return_code: "NCP_OK".into(),
                return_message: String::new(),
                elmo: signed(&k.signing, "Ana", "Novak"),
            };
            let trust = Trust {
                certificates: &ncp.certificates,
                legacy_algorithms: ncp.legacy_algorithms,
            };
            let j = judge(&form, &trust, &person, &Budget::default(), &WINDOW);
            assert_eq!(
                j.outcome.kind,
                OutcomeKind::Verified,
                "{name}: {}",
                j.outcome.detail
            );
            let other = parsed
                .snapshot
                .ncps
                .iter()
                .find(|n| &n.acronym != name)
                .expect("another");
            let trust = Trust {
                certificates: &other.certificates,
                legacy_algorithms: false,
            };
            let j = judge(&form, &trust, &person, &Budget::default(), &WINDOW);
            assert_eq!(j.outcome.kind, OutcomeKind::SignatureInvalid, "{name}");
        }
    }
}

#[test]
fn odd_entries_are_skipped_renamed_or_merged_with_warnings() {
    let good = key("good");
    let c = vec![b64(&good.der)];
    let doc = catalogue(&[vec![
        entry(
            NS_EMREX_DATA_ACCESS_POINT,
            "https://a.test.invalid/",
            "Same",
            "NO",
            &[],
            &c,
        ),
        // A second EMP with the same name in another country.
        entry(
            NS_EMREX_DATA_ACCESS_POINT,
            "https://b.test.invalid/",
            "Same",
            "SE",
            &[],
            &c,
        ),
        // The first EMP again (another host lists it) with a second certificate.
        entry(
            NS_EMREX_NCP,
            "https://a.test.invalid/",
            "Same",
            "NO",
            &[],
            &[b64(&key("next").der)],
        ),
        entry(
            NS_EMREX_DATA_ACCESS_POINT,
            "http://plain.test.invalid/",
            "Plain",
            "NO",
            &[],
            &c,
        ),
        entry(
            NS_EMREX_DATA_ACCESS_POINT,
            "https://c.test.invalid/",
            "",
            "NO",
            &[],
            &c,
        ),
        entry(
            NS_EMREX_DATA_ACCESS_POINT,
            "https://d.test.invalid/",
            "Country",
            "Norway",
            &[],
            &c,
        ),
        entry(
            NS_EMREX_DATA_ACCESS_POINT,
            "https://e.test.invalid/",
            "Broken cert",
            "FI",
            &[],
            &["bm90IGEgY2VydA==".into(), "%%%".into()],
        ),
    ]]);
    let parsed = parse(doc.as_bytes()).expect("parse");
    let s = &parsed.snapshot;
    let names: Vec<_> = s.ncps.iter().map(|n| n.acronym.as_str()).collect();
    assert_eq!(names, ["Broken cert", "Same", "Same (SE)"]);
    assert_eq!(
        s.by_acronym("Same").expect("same").certificates.len(),
        2,
        "merged"
    );
    assert!(
        s.by_acronym("Broken cert")
            .expect("kept")
            .certificates
            .is_empty()
    );
    let w = &parsed.warnings;
    assert!(
        w.contains(&CatalogueWarning::Renamed {
            name: "Same".into(),
            listed_as: "Same (SE)".into()
        }),
        "{w:?}"
    );
    assert!(w.contains(&CatalogueWarning::Merged {
        name: "Same".into(),
        url: "https://a.test.invalid/".into()
    }));
    assert!(w.contains(&CatalogueWarning::NoCertificate {
        name: "Broken cert".into()
    }));
    let skipped: Vec<String> = w
        .iter()
        .filter_map(|x| match x {
            CatalogueWarning::EntrySkipped { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(skipped[0].contains("not an https:// URL"));
    assert!(skipped[1].contains("no name"));
    assert!(skipped[2].contains("not two letters"));
    // Legacy SHA-1 is a configuration decision by name.
    let legacy = parse_catalogue(
        doc.as_bytes(),
        &CatalogueOptions {
            legacy_names: ["Same (SE)".to_string()].into(),
            ..CatalogueOptions::default()
        },
    )
    .expect("parse");
    let flags: Vec<_> = legacy
        .snapshot
        .ncps
        .iter()
        .map(|n| n.legacy_algorithms)
        .collect();
    assert_eq!(flags, [false, false, true]);
}

#[test]
fn hostile_and_broken_catalogues_are_refused_with_the_reason() {
    let k = key("h");
    let c = vec![b64(&k.der)];
    let one = |n: usize| {
        entry(
            NS_EMREX_DATA_ACCESS_POINT,
            &format!("https://x{n}.test.invalid/"),
            &format!("X{n}"),
            "NO",
            &[],
            &c,
        )
    };
    let small = CatalogueOptions {
        limits: CatalogueLimits {
            max_bytes: 1 << 20,
            max_hosts: 5,
            max_entries: 3,
        },
        ..CatalogueOptions::default()
    };
    let too_many_entries = catalogue(&[(0..4).map(one).collect()]);
    assert_eq!(
        parse_catalogue(too_many_entries.as_bytes(), &small),
        Err(CatalogueError::TooManyEntries { limit: 3 })
    );
    let too_many_hosts = catalogue(&(0..6).map(|i| vec![echo(i)]).collect::<Vec<_>>());
    assert_eq!(
        parse_catalogue(too_many_hosts.as_bytes(), &small),
        Err(CatalogueError::TooManyHosts { limit: 5 })
    );
    let huge = catalogue(&[vec![echo(0)]]).replace(
        "</catalogue>",
        &format!("<!--{}--></catalogue>", " ".repeat(2 << 20)),
    );
    assert!(matches!(
        parse_catalogue(huge.as_bytes(), &small),
        Err(CatalogueError::TooLarge { .. })
    ));
    let seventeen: Vec<String> = (0..17).map(|_| b64(&key("m").der)).collect();
    let many_certs = catalogue(&[vec![entry(
        NS_EMREX_DATA_ACCESS_POINT,
        "https://m.test.invalid/",
        "M",
        "NO",
        &[],
        &seventeen,
    )]]);
    assert!(matches!(
        parse(many_certs.as_bytes()),
        Err(CatalogueError::TooMany {
            what: "certificates",
            ..
        })
    ));
    for (doc, expect) in [
        (
            format!(
                "<!DOCTYPE c [<!ENTITY x \"y\">]>{}",
                catalogue(&[vec![one(0)]]).split_once('\n').expect("decl").1
            ),
            "DOCTYPE",
        ),
        (
            "<catalogue xmlns=\"urn:other\"/>".to_string(),
            "not an EWP registry",
        ),
        (
            "<html>not a catalogue</html>".to_string(),
            "not an EWP registry",
        ),
        ("<catalogue".to_string(), "not usable XML"),
        (
            format!("{}{}", "<a>".repeat(40), "</a>".repeat(40)),
            "nesting",
        ),
    ] {
        let err = parse(doc.as_bytes()).expect_err(expect);
        assert!(err.to_string().contains(expect), "{expect}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// over HTTP

#[derive(Clone, Default)]
struct Server {
    body: Arc<Mutex<(Vec<u8>, String, bool)>>,
    requests: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
}

async fn serve(State(s): State<Server>, headers: HeaderMap) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let (body, etag, broken) = s.body.lock().expect("lock").clone();
    if broken {
        return (StatusCode::OK, [(header::ETAG, "\"broken\"")], "<catalogue").into_response();
    }
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        s.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, "application/xml".to_string()),
        ],
        body,
    )
        .into_response()
}

async fn eventually(within: Duration, what: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if what() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    what()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followed_over_http_with_etags_and_the_last_good_catalogue_kept() {
    let server = Server::default();
    *server.body.lock().expect("lock") = (read_fixture(CONSTRUCTED), "\"v1\"".into(), false);
    let app = axum::Router::new()
        .route("/catalogue-v1.xml", axum::routing::get(serve))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The configuration as an operator writes it.
    let config: RegistryConfig = serde_json::from_value(serde_json::json!({
        "kind": "ewp-catalogue",
        "url": format!("http://{addr}/catalogue-v1.xml"),
        "refresh": "200ms",
        "legacy_names": ["Example University B"],
    }))
    .expect("config");
    let shutdown = Shutdown::new();
    let view = RegistryView::start(&config, shutdown.clone()).expect("start");
    view.wait_ready(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        view.status().source,
        format!("ewp-catalogue http://{addr}/catalogue-v1.xml")
    );
    let first = view.current();
    assert_eq!(first.ncps.len(), 2);
    assert!(
        first
            .by_acronym("Example University B")
            .expect("B")
            .legacy_algorithms
    );
    assert!(
        eventually(Duration::from_secs(5), || server
            .not_modified
            .load(Ordering::SeqCst)
            >= 2)
        .await
    );
    assert_eq!(view.status().updates, 1, "a 304 publishes nothing");

    // A broken catalogue: a clear error, the last good snapshot stays.
    server.body.lock().expect("lock").2 = true;
    assert!(
        eventually(Duration::from_secs(5), || view
            .status()
            .last_error
            .is_some())
        .await
    );
    let error = view.status().last_error.expect("error");
    assert!(error.contains("not usable XML"), "{error}");
    assert_eq!(view.current(), first);

    // A new catalogue (a third EMP) is picked up once it is served again.
    let k = key("new");
    let doc = String::from_utf8(read_fixture(CONSTRUCTED))
        .expect("utf8")
        .replace(
            "</apis-implemented>\n        <institutions-covered>",
            &format!(
                "{}</apis-implemented>\n        <institutions-covered>",
                entry(
                    NS_EMREX_NCP,
                    "https://new.test.invalid/",
                    "New EMP",
                    "PL",
                    &[],
                    &[b64(&k.der)]
                )
            ),
        );
    *server.body.lock().expect("lock") = (doc.into_bytes(), "\"v2\"".into(), false);
    assert!(
        eventually(Duration::from_secs(5), || view
            .current()
            .by_acronym("New EMP")
            .is_some())
        .await
    );
    assert!(
        eventually(Duration::from_secs(5), || view
            .status()
            .last_error
            .is_none())
        .await
    );
    shutdown.trigger();
}

#[test]
fn configuration_defaults() {
    let c: RegistryConfig = serde_json::from_value(serde_json::json!({
        "kind": "ewp-catalogue",
        "url": "https://registry.erasmuswithoutpaper.eu/catalogue-v1.xml",
    }))
    .expect("config");
    assert_eq!(
        c,
        RegistryConfig::ewp_catalogue("https://registry.erasmuswithoutpaper.eu/catalogue-v1.xml")
    );
    match c {
        RegistryConfig::EwpCatalogue {
            refresh, max_bytes, ..
        } => {
            assert_eq!(refresh, Duration::from_secs(300));
            assert_eq!(max_bytes, 16 * 1024 * 1024);
        }
        other => panic!("{other:?}"),
    }
}

/// Publishing and reading close the loop: our EMREG's `/ewp/manifest.xml`, harvested as the EWP
/// registry does (the manifest's host copied into the catalogue), is a valid catalogue that the
/// SMP reads back with every entry and, during a rotation, both certificates — documents signed
/// with the old key and with the new one both verify.
#[test]
fn our_emreg_manifest_harvested_into_a_catalogue_is_read_back_with_the_rotation() {
    let old = key("rot-old");
    let new = key("rot-new");
    let pem = |k: &Key| PinnedCert::from_der(&k.der).expect("cert").to_pem();
    let mut rotating = emrex_emreg::Entry {
        acronym: "ROT".into(),
        country_code: "NO".into(),
        institutions: vec!["Rotating University".into()],
        url: "https://rot.test.invalid/emrex".into(),
        certificates: vec![pem(&old), pem(&new)],
        ..Default::default()
    };
    let mut other = rotating.clone();
    other.acronym = "OTHER".into();
    other.url = "https://other.test.invalid/emrex".into();
    other.certificates = vec![pem(&key("other"))];
    rotating.metadata.insert("contact".into(), "x".into());
    let snapshot = emrex_emreg::Snapshot {
        entries: vec![other, rotating],
        ..Default::default()
    };
    let manifest = emrex_emreg::ewp::render_manifest(
        &snapshot,
        &emrex_emreg::ewp::EwpConfig {
            admin_emails: vec!["registry@test.invalid".into()],
            admin_provider: "Test federation".into(),
            admin_notes: None,
            manifest_url: "https://emreg.test.invalid/ewp/manifest.xml".into(),
        },
        1_800_000_000,
    );
    let manifest = String::from_utf8(manifest.body).expect("utf8");
    let harvested = manifest
        .replace(
            &format!(
                "<manifest xmlns=\"{}\"",
                emrex_emreg::ewp::NS_DISCOVERY_MANIFEST
            ),
            &format!("<catalogue xmlns=\"{NS_CATALOGUE}\""),
        )
        .replace("</manifest>", "  <institutions/>\n</catalogue>");
    emrex_tests::xmllint_validate_ewp(harvested.as_bytes(), "registry-v1.5.0/catalogue.xsd")
        .unwrap_or_else(|e| panic!("{e}\n{harvested}"));
    let parsed = parse(harvested.as_bytes()).expect("parse");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let names: Vec<_> = parsed
        .snapshot
        .ncps
        .iter()
        .map(|n| n.acronym.as_str())
        .collect();
    assert_eq!(names, ["OTHER", "ROT"]);
    let rot = parsed.snapshot.by_acronym("ROT").expect("ROT");
    assert_eq!(rot.certificates.len(), 2);
    let person = Person::new("Ana", "Novak", Some("2000-02-29"));
    for k in [&old, &new] {
        let form = ReturnForm {
            session_id: "s".into(),
            return_code: "NCP_OK".into(),
            return_message: String::new(),
            elmo: signed(&k.signing, "Ana", "Novak"),
        };
        let trust = Trust {
            certificates: &rot.certificates,
            legacy_algorithms: false,
        };
        let j = judge(&form, &trust, &person, &Budget::default(), &WINDOW);
        assert_eq!(
            j.outcome.kind,
            OutcomeKind::Verified,
            "{}",
            j.outcome.detail
        );
    }
}
