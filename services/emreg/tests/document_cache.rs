//! The HTTP documents served from the per-revision cache (`emrex_emreg::cache`): one router kept
//! across requests, as the service runs it, with a store write, a certificate validity boundary
//! (on an injected clock) and, on PostgreSQL, a write by another replica in between; 304 on either
//! ETag; the gzip body decompresses to the identity body.
//!
//! The PostgreSQL test needs `EMREX_TEST_POSTGRES_URL` (`scripts/postgres-test-db.sh`).

mod common;

use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Fetched, ec_cert_valid, entry};
use emrex_emreg::cache::DocumentCache;
use emrex_emreg::ewp::EwpConfig;
use emrex_emreg::{Change, Entry, RegistryStore};
use emrex_xmldsig::PinnedCert;
use serde_json::Value;
use tokio::sync::broadcast;

async fn fetch(router: &Router, path: &str, request_headers: &[(&str, &str)]) -> Fetched {
    let mut req = Request::builder().uri(path);
    for (name, value) in request_headers {
        req = req.header(*name, *value);
    }
    common::send(router.clone(), req.body(Body::empty()).expect("request")).await
}

fn json(f: &Fetched) -> Value {
    assert_eq!(f.status, StatusCode::OK);
    serde_json::from_slice(&f.body).expect("JSON")
}

fn pub_key_of(v: &Value, acronym: &str) -> String {
    v["ncps"]
        .as_array()
        .expect("ncps")
        .iter()
        .find(|n| n["acronym"] == acronym)
        .unwrap_or_else(|| panic!("{acronym} listed"))["pubKey"]
        .as_str()
        .expect("pubKey")
        .to_string()
}

fn validity(pem: &str) -> (i64, i64) {
    PinnedCert::from_pem_or_der(pem.as_bytes())
        .expect("cert")
        .validity()
}

/// Waits until the store's change feed delivered a change (the cache's subscription receives it
/// at the same moment).
async fn delivered(rx: &mut broadcast::Receiver<Change>) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the change feed delivers the write within 10 s")
        .expect("a change");
}

fn ewp_config() -> EwpConfig {
    EwpConfig {
        admin_emails: vec!["emrex-registry@example.eu".into()],
        admin_provider: "Example federation".into(),
        admin_notes: None,
        manifest_url: "https://emreg.example.eu/ewp/manifest.xml".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_renders_the_documents_again_and_nothing_else_does() {
    let t = common::sqlite_store().await;
    let mut before = t.store.subscribe();
    t.store.upsert(entry("CSC", "FI")).await.expect("upsert");
    // The feed may deliver the write after `upsert` returns; a cache created before that would
    // see it as a change and render once more (right, but not what this test counts).
    delivered(&mut before).await;
    let cache = Arc::new(DocumentCache::new(Arc::clone(&t.store)));
    let router = emrex_emreg::http::cached_router(Arc::clone(&cache)).merge(
        emrex_emreg::http::cached_manifest_router(Arc::clone(&cache), ewp_config()),
    );

    let first = fetch(&router, "/ncp-list.json", &[]).await;
    assert_eq!(cache.renders(), 1);
    for _ in 0..5 {
        let again = fetch(&router, "/ncp-list.json", &[]).await;
        assert_eq!(again.body, first.body);
        assert_eq!(again.headers[header::ETAG], first.headers[header::ETAG]);
    }
    assert_eq!(cache.renders(), 1, "served from the cache");
    let manifest = fetch(&router, "/ewp/manifest.xml", &[]).await;
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(cache.renders(), 2, "each document renders once");

    let mut rx = t.store.subscribe();
    t.store.upsert(entry("UIO", "NO")).await.expect("upsert");
    delivered(&mut rx).await;
    let changed = fetch(&router, "/ncp-list.json", &[]).await;
    assert_ne!(changed.body, first.body);
    assert_ne!(changed.headers[header::ETAG], first.headers[header::ETAG]);
    let acronyms: Vec<String> = json(&changed)["ncps"]
        .as_array()
        .expect("ncps")
        .iter()
        .map(|n| n["acronym"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(acronyms, ["CSC", "UIO"]);
    let manifest_after = fetch(&router, "/ewp/manifest.xml", &[]).await;
    let text = String::from_utf8(manifest_after.body).expect("utf-8");
    assert!(text.contains("<name>UIO</name>"), "{text}");
    assert_eq!(cache.renders(), 4);

    // The old ETag no longer matches: 200 with the new document.
    let old_tag = first.headers[header::ETAG].to_str().expect("ascii");
    let stale = fetch(&router, "/ncp-list.json", &[("if-none-match", old_tag)]).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, changed.body);

    // A delete is a change too.
    t.store.delete("CSC").await.expect("delete");
    delivered(&mut rx).await;
    let after_delete = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(after_delete["ncps"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_window_opening_or_closing_renders_again_without_a_write() {
    let t = common::sqlite_store().await;
    // OPENS: "old" is valid now; "next" opens at its notBefore and, newer, becomes the pubKey.
    let mut before = t.store.subscribe();
    let old = ec_cert_valid(2020, 2090);
    let next = ec_cert_valid(2030, 2090);
    // CLOSES: "short" (newest while valid) closes after its notAfter; "long" takes over.
    let long = ec_cert_valid(2021, 2090);
    let short = ec_cert_valid(2025, 2031);
    t.store
        .upsert(Entry {
            certificates: vec![old.clone(), next.clone()],
            ..entry("OPENS", "FI")
        })
        .await
        .expect("upsert");
    t.store
        .upsert(Entry {
            certificates: vec![long.clone(), short.clone()],
            ..entry("CLOSES", "SE")
        })
        .await
        .expect("upsert");
    delivered(&mut before).await;
    delivered(&mut before).await;
    let (opens_at, _) = validity(&next);
    let (_, short_not_after) = validity(&short);
    let closes_at = short_not_after + 1;
    assert!(opens_at < closes_at);

    let clock = Arc::new(AtomicI64::new(opens_at - 100));
    let tick = Arc::clone(&clock);
    let cache = Arc::new(DocumentCache::with_clock(
        Arc::clone(&t.store),
        Arc::new(move || tick.load(Ordering::SeqCst)),
    ));
    let router = emrex_emreg::http::cached_router(Arc::clone(&cache));

    let v = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(pub_key_of(&v, "OPENS"), old);
    assert_eq!(pub_key_of(&v, "CLOSES"), short);
    assert_eq!(cache.renders(), 1);

    // Just before the window opens: still the cached document.
    clock.store(opens_at - 1, Ordering::SeqCst);
    let v = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(pub_key_of(&v, "OPENS"), old);
    assert_eq!(cache.renders(), 1);

    // The window opens: rendered again, the new certificate is published.
    clock.store(opens_at, Ordering::SeqCst);
    let v = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(pub_key_of(&v, "OPENS"), next);
    assert_eq!(pub_key_of(&v, "CLOSES"), short);
    assert_eq!(cache.renders(), 2);

    // The last second of "short", then the first after it.
    clock.store(short_not_after, Ordering::SeqCst);
    let v = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(pub_key_of(&v, "CLOSES"), short);
    clock.store(closes_at, Ordering::SeqCst);
    let v = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(pub_key_of(&v, "CLOSES"), long);
    assert_eq!(pub_key_of(&v, "OPENS"), next);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_body_is_the_identity_body_and_both_etags_give_304() {
    let t = common::sqlite_store().await;
    for (i, country) in ["FI", "SE", "NO", "DK", "PL", "DE"].iter().enumerate() {
        t.store
            .upsert(entry(&format!("P{i}"), country))
            .await
            .expect("upsert");
    }
    let router = emrex_emreg::http::router(Arc::clone(&t.store));

    let plain = fetch(&router, "/emp-list.json", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.headers[header::VARY], "Accept-Encoding");

    let zipped = fetch(
        &router,
        "/emp-list.json",
        &[("accept-encoding", "br;q=1.0, gzip;q=0.8, *;q=0.1")],
    )
    .await;
    assert_eq!(zipped.status, StatusCode::OK);
    assert_eq!(zipped.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(zipped.headers[header::VARY], "Accept-Encoding");
    assert_eq!(zipped.headers[header::CONTENT_TYPE], "application/json");
    assert!(zipped.body.len() < plain.body.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_end(&mut unzipped)
        .expect("a valid gzip stream");
    assert_eq!(unzipped, plain.body);
    assert_ne!(
        zipped.headers[header::ETAG],
        plain.headers[header::ETAG],
        "two representations, two strong ETags"
    );

    let refused = fetch(
        &router,
        "/emp-list.json",
        &[("accept-encoding", "gzip;q=0")],
    )
    .await;
    assert!(refused.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(refused.body, plain.body);

    // Either representation's tag revalidates; the answer names the representation chosen.
    for (tag, encoding, expect_tag) in [
        (
            &plain.headers[header::ETAG],
            None,
            &plain.headers[header::ETAG],
        ),
        (
            &zipped.headers[header::ETAG],
            Some("gzip"),
            &zipped.headers[header::ETAG],
        ),
        (
            &plain.headers[header::ETAG],
            Some("gzip"),
            &zipped.headers[header::ETAG],
        ),
    ] {
        let mut h = vec![("if-none-match", tag.to_str().expect("ascii"))];
        if let Some(e) = encoding {
            h.push(("accept-encoding", e));
        }
        let cached = fetch(&router, "/emp-list.json", &h).await;
        assert_eq!(
            cached.status,
            StatusCode::NOT_MODIFIED,
            "{tag:?} {encoding:?}"
        );
        assert!(cached.body.is_empty());
        assert_eq!(&cached.headers[header::ETAG], expect_tag);
        assert_eq!(cached.headers[header::VARY], "Accept-Encoding");
    }
    let other = fetch(&router, "/emp-list.json", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
}

/// Two replicas on one PostgreSQL database: a write through one reaches the other's cache by the
/// change feed (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_write_on_another_replica_renders_again() {
    let a = common::postgres_store("document_cache").await;
    let b = common::postgres_store_again("document_cache").await;
    let mut rx = b.store.subscribe();
    a.store.upsert(entry("CSC", "FI")).await.expect("upsert");
    delivered(&mut rx).await;
    let cache = Arc::new(DocumentCache::new(Arc::clone(&b.store)));
    let router = emrex_emreg::http::cached_router(Arc::clone(&cache));
    let first = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(first["ncps"].as_array().map(Vec::len), Some(1));
    let renders = cache.renders();
    let again = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(again, first);
    assert_eq!(cache.renders(), renders, "served from the cache");

    a.store.upsert(entry("UIO", "NO")).await.expect("upsert");
    delivered(&mut rx).await;
    let changed = json(&fetch(&router, "/ncp-list.json", &[]).await);
    assert_eq!(changed["ncps"].as_array().map(Vec::len), Some(2));
    assert_eq!(cache.renders(), renders + 1);
}

/// `/wallet-issuers.json` on one back end: an entry with a credential issuer is listed with its
/// valid certificate as a JWK (the key in `x5c` is the stored certificate), dropping the issuer
/// (a write) takes it out, and the column survives the store round trip.
async fn wallet_issuers_follow_the_store<S: RegistryStore>(store: Arc<S>) {
    let cert = ec_cert_valid(2020, 2090);
    let with_issuer = Entry {
        certificates: vec![cert.clone()],
        credential_issuer: "https://ncp.fi.example/ncp".into(),
        ..entry("CSC", "FI")
    };
    let mut before = store.subscribe();
    store.upsert(with_issuer.clone()).await.expect("upsert");
    store.upsert(entry("UIO", "NO")).await.expect("upsert");
    delivered(&mut before).await;
    delivered(&mut before).await;
    let stored = store.get("CSC").await.expect("get").expect("stored");
    assert_eq!(stored.credential_issuer, with_issuer.credential_issuer);

    let cache = Arc::new(DocumentCache::new(Arc::clone(&store)));
    let router = emrex_emreg::http::cached_router(Arc::clone(&cache));
    let v = json(&fetch(&router, "/wallet-issuers.json", &[]).await);
    let issuers = v["issuers"].as_array().expect("issuers");
    assert_eq!(issuers.len(), 1, "UIO issues no wallet credentials: {v}");
    assert_eq!(issuers[0]["acronym"], "CSC");
    assert_eq!(issuers[0]["credentialIssuer"], "https://ncp.fi.example/ncp");
    let key = &issuers[0]["jwks"]["keys"][0];
    let pinned = PinnedCert::from_pem_or_der(cert.as_bytes()).expect("cert");
    let x5c = key["x5c"][0].as_str().expect("x5c");
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(x5c)
        .expect("x5c is base64 DER");
    assert_eq!(der, pinned.der(), "the key is the listed certificate's");
    let jwk = emrex_sdjwt::Jwk::from_json(key).expect("a public JWK");
    assert_eq!(key["kid"], jwk.thumbprint());

    let mut rx = store.subscribe();
    store
        .upsert(Entry {
            credential_issuer: String::new(),
            ..with_issuer
        })
        .await
        .expect("upsert");
    delivered(&mut rx).await;
    let v = json(&fetch(&router, "/wallet-issuers.json", &[]).await);
    assert_eq!(v["issuers"].as_array().map(Vec::len), Some(0), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_issuers_on_sqlite() {
    let t = common::sqlite_store().await;
    wallet_issuers_follow_the_store(Arc::clone(&t.store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_issuers_on_postgres() {
    let t = common::postgres_store("wallet_issuers").await;
    wallet_issuers_follow_the_store(Arc::clone(&t.store)).await;
}
