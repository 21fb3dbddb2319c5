//! `/ewp/manifest.xml`: the registry's entries as an EWP Discovery manifest, through the real
//! router over a real store. Every `emrex-data-access-point` entry validates with xmllint against
//! the manifest-entry XSD; a rotation (two current certificates) is published whole; expired
//! certificates are left out unless nothing else is left; caching works like the JSON lists.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use common::{ec_cert_valid, entry, rsa2048_cert};
use emrex_emreg::ewp::{EwpConfig, NS_EMREX_DATA_ACCESS_POINT, NS_REGISTRY};
use emrex_emreg::{RegistryStore, SqliteStore, ValidationOptions};
use emrex_xmldsig::PinnedCert;
use emrex_xmldsig::c14n::{self, Mode};
use emrex_xmldsig::dom::{self, Limits};
use tower::ServiceExt;

fn config() -> EwpConfig {
    EwpConfig {
        admin_emails: vec!["emrex-registry@example.eu".into()],
        admin_provider: "Example federation (emrex-rs EMREG)".into(),
        admin_notes: Some("Test manifest".into()),
        manifest_url: "https://emreg.example.eu/ewp/manifest.xml".into(),
    }
}

async fn get(
    store: &Arc<SqliteStore>,
    if_none_match: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri("/ewp/manifest.xml");
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    let resp = emrex_emreg::http::manifest_router(Arc::clone(store), config())
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    (status, headers, body)
}

fn der_base64(pem: &str) -> String {
    let c = PinnedCert::from_pem_or_der(pem.as_bytes()).expect("cert");
    base64::engine::general_purpose::STANDARD.encode(c.der())
}

#[tokio::test]
async fn the_manifest_lists_every_ncp_with_its_current_certificates() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(
        SqliteStore::open(
            &dir.path().join("emreg.db"),
            ValidationOptions { dev_mode: true },
        )
        .await
        .expect("store"),
    );
    let rsa = rsa2048_cert();
    let next = ec_cert_valid(2024, 2090);
    let expired = ec_cert_valid(2010, 2015);
    let valid = ec_cert_valid(2020, 2090);
    let mut rotating = entry("UIO", "NO");
    rotating.certificates = vec![rsa.clone(), next.clone()];
    rotating.institutions = vec!["Universitetet i Oslo".into(), "OsloMet & Co".into()];
    let mut renewed = entry("KTH", "SE");
    renewed.certificates = vec![expired.clone(), valid.clone()];
    let mut lapsed = entry("OLD", "FI");
    lapsed.certificates = vec![expired.clone()];
    let mut dev = entry("DEV", "PL");
    dev.url = "http://127.0.0.1:8090/".into();
    for e in [rotating, renewed, lapsed, dev] {
        store.upsert(e).await.expect("upsert");
    }

    let (status, headers, body) = get(&store, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/xml");
    let etag = headers[header::ETAG].to_str().expect("etag").to_string();
    let (status, _, empty) = get(&store, Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(empty.is_empty());

    let doc = dom::parse(&body, &Limits::default()).expect("well-formed");
    let host = doc.root.child_elements().next().expect("host");
    let (apis_index, apis) = host
        .child_elements()
        .enumerate()
        .find(|(_, e)| e.is(NS_REGISTRY, "apis-implemented"))
        .expect("apis-implemented");
    let mut names = Vec::new();
    for (i, e) in apis.child_elements().enumerate() {
        if !e.is(NS_EMREX_DATA_ACCESS_POINT, "emrex-data-access-point") {
            assert_eq!(e.local_name(), "discovery");
            continue;
        }
        // Each entry, standalone, is valid against the manifest-entry schema.
        let standalone = c14n::subtree(&doc, &[0, apis_index, i], Mode::Exclusive).expect("entry");
        emrex_tests::xmllint_validate_ewp(
            &standalone,
            "emrex-data-access-point-manifest-entry.xsd",
        )
        .unwrap_or_else(|err| panic!("{err}\n{}", String::from_utf8_lossy(&standalone)));
        let text = |local: &str| {
            e.children_named(NS_EMREX_DATA_ACCESS_POINT, local)
                .map(|c| c.text())
                .collect::<Vec<_>>()
        };
        let name = text("name").join("");
        let certs = text("certificate");
        match name.as_str() {
            "UIO" => {
                assert_eq!(
                    certs,
                    [der_base64(&rsa), der_base64(&next)],
                    "both, for the rotation"
                );
                assert_eq!(
                    text("institution"),
                    ["Universitetet i Oslo", "OsloMet & Co"]
                );
                assert_eq!(text("country-code"), ["NO"]);
                assert_eq!(text("url"), ["https://uio.emp.example/emrex"]);
            }
            "KTH" => assert_eq!(certs, [der_base64(&valid)], "the expired one left out"),
            "OLD" => assert_eq!(certs, [der_base64(&expired)], "nothing else left"),
            other => panic!("unexpected entry {other}"),
        }
        names.push(name);
    }
    assert_eq!(
        names,
        ["KTH", "OLD", "UIO"],
        "the http:// development entry is not published"
    );
    // The oracle is really checking: an entry without certificate is refused by the schema.
    let broken = String::from_utf8(body.clone())
        .expect("utf8")
        .replace("<certificate>", "<cert>")
        .replace("</certificate>", "</cert>");
    let broken_doc = dom::parse(broken.as_bytes(), &Limits::default()).expect("parse");
    let first_entry =
        c14n::subtree(&broken_doc, &[0, apis_index, 1], Mode::Exclusive).expect("entry");
    assert!(
        emrex_tests::xmllint_validate_ewp(
            &first_entry,
            "emrex-data-access-point-manifest-entry.xsd"
        )
        .is_err()
    );

    // A change in the registry changes the document and its ETag.
    store.delete("OLD").await.expect("delete");
    let (status, headers, after) = get(&store, Some(&etag)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers[header::ETAG].to_str().expect("etag"), etag);
    assert!(
        !String::from_utf8(after)
            .expect("utf8")
            .contains("<name>OLD</name>")
    );
}

#[tokio::test]
async fn assemble_checks_the_ewp_section() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = emrex_emreg::EmregServiceConfig::default();
    cfg.store.url = format!("sqlite:{}", dir.path().join("emreg.db").display());
    cfg.grpc.listen = ([127, 0, 0, 1], 0).into();
    cfg.http.listen = "127.0.0.1:0".into();
    let mut bad = config();
    bad.manifest_url = "http://emreg.example.eu/ewp/manifest.xml".into();
    cfg.ewp = Some(bad);
    let handles = emrex_runtime::service::ServiceHandles::new();
    let err = emrex_emreg::assemble(&cfg, &handles)
        .await
        .expect_err("an http:// manifest URL is refused");
    let chain = emrex_runtime::grpc::error_chain(&err);
    assert!(
        chain.contains("ewp.manifest_url must be an https:// URL"),
        "{chain}"
    );
}
