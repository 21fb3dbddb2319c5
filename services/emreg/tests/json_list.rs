//! The EMREX 1.x JSON lists through the axum router: the gateway's JSON Schema (checked by
//! Python `jsonschema`, an independent implementation), the exact shape of the CONSTRUCTED
//! fixtures, and HTTP caching (ETag, 304, Last-Modified, Cache-Control).

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Fetched, country, ec_cert, ec_cert_valid, entry, fixture_text, rsa2048_cert};
use emrex_emreg::{Entry, RegistryStore, SqliteStore};
use serde_json::Value;

async fn fetch(
    store: &Arc<SqliteStore>,
    method: Method,
    path: &str,
    if_none_match: Option<&str>,
) -> Fetched {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    common::send(
        emrex_emreg::http::router(Arc::clone(store)),
        req.body(Body::empty()).expect("request"),
    )
    .await
}

async fn get_json(store: &Arc<SqliteStore>, path: &str) -> (Vec<u8>, Value) {
    let f = fetch(store, Method::GET, path, None).await;
    assert_eq!(f.status, StatusCode::OK, "{path}");
    let v = serde_json::from_slice(&f.body).expect("JSON");
    (f.body, v)
}

/// A registry resembling a real federation: one provider per country, a singleFetch country
/// with two, a rollover (two certificates), and the DK-TEST provider of the fixture verbatim.
async fn populated() -> (common::TestStore<SqliteStore>, Value) {
    let t = common::sqlite_store().await;
    let fixture: Value =
        serde_json::from_str(&fixture_text("emreg/emreg-emp-list-CONSTRUCTED.json"))
            .expect("fixture JSON");
    let dk = fixture["emps"]
        .as_array()
        .expect("emps")
        .iter()
        .find(|e| e["acronym"] == "DK-TEST")
        .expect("DK-TEST in the fixture")
        .clone();
    let text = |v: &Value| v.as_str().expect("string").to_string();
    t.store
        .upsert(Entry {
            acronym: text(&dk["acronym"]),
            country_code: text(&dk["countryCode"]),
            institutions: dk["institutions"]
                .as_array()
                .expect("institutions")
                .iter()
                .map(text)
                .collect(),
            url: text(&dk["url"]),
            certificates: vec![text(&dk["pubKey"])],
            ..Entry::default()
        })
        .await
        .expect("DK-TEST");
    t.store
        .upsert(Entry {
            certificates: vec![ec_cert_valid(2019, 2024), ec_cert()],
            ..entry("CSC", "FI")
        })
        .await
        .expect("CSC");
    for (acronym, institutions) in [
        ("PL-A", vec!["Uniwersytet A"]),
        ("PL-B", vec!["Politechnika B", "Akademia B2"]),
    ] {
        t.store
            .upsert(Entry {
                institutions: institutions.into_iter().map(String::from).collect(),
                certificates: vec![rsa2048_cert()],
                ..entry(acronym, "PL")
            })
            .await
            .expect(acronym);
    }
    t.store
        .set_country(country("FI", "Finland", false))
        .await
        .expect("FI");
    (t, dk)
}

/// A type skeleton of a JSON value: object keys with the skeletons of their values, arrays as
/// the (single, shared) skeleton of their items.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => {
            let shapes: Vec<Value> = items.iter().map(shape).collect();
            if let Some(first) = shapes.first() {
                assert!(shapes.iter().all(|s| s == first), "mixed array items: {v}");
            }
            Value::Array(shapes.into_iter().take(1).collect())
        }
        Value::String(_) => Value::from("string"),
        Value::Bool(_) => Value::from("bool"),
        Value::Number(_) => Value::from("number"),
        Value::Null => Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_have_the_fixtures_shape_and_pass_the_gateway_schema() {
    let (t, dk_fixture) = populated().await;
    let schema = emrex_tests::fixture("emreg/emreg-gateway-jsonschema.json");

    let (emp_body, emps) = get_json(&t.store, "/emp-list.json").await;
    common::python_jsonschema_validate(&schema, &emp_body)
        .unwrap_or_else(|e| panic!("emp-list.json fails the gateway schema:\n{e}"));
    let (_, ncps) = get_json(&t.store, "/ncp-list.json").await;

    for (ours, fixture_file) in [
        (&emps, "emreg/emreg-emp-list-CONSTRUCTED.json"),
        (&ncps, "emreg/emreg-ncp-list-CONSTRUCTED.json"),
    ] {
        let fixture: Value = serde_json::from_str(&fixture_text(fixture_file)).expect("fixture");
        assert_eq!(
            shape(ours),
            shape(&fixture),
            "shape differs from {fixture_file}"
        );
    }
    // The ncps document is the emps document under the older key (the gateway schema requires
    // `emps`, so it is checked after renaming).
    assert_eq!(ncps["ncps"], emps["emps"]);
    assert_eq!(ncps["countries"], emps["countries"]);
    let mut renamed = ncps.clone();
    let list = renamed
        .as_object_mut()
        .and_then(|o| o.remove("ncps"))
        .expect("ncps");
    renamed["emps"] = list;
    common::python_jsonschema_validate(&schema, &serde_json::to_vec(&renamed).expect("json"))
        .unwrap_or_else(|e| panic!("ncp-list.json (as emps) fails the gateway schema:\n{e}"));

    // Content: order, countries derived from entries, the fixture's provider reproduced exactly.
    let acronyms: Vec<&str> = emps["emps"]
        .as_array()
        .expect("emps")
        .iter()
        .map(|e| e["acronym"].as_str().expect("acronym"))
        .collect();
    assert_eq!(acronyms, ["DK-TEST", "CSC", "PL-A", "PL-B"]);
    assert_eq!(
        emps["countries"],
        serde_json::json!([
            {"countryCode": "DK", "countryName": "Denmark", "singleFetch": false},
            {"countryCode": "FI", "countryName": "Finland", "singleFetch": false},
            {"countryCode": "PL", "countryName": "Poland", "singleFetch": true},
        ])
    );
    assert_eq!(
        emps["emps"][0], dk_fixture,
        "DK-TEST renders exactly as in the fixture"
    );
    // Rollover: the expired certificate is kept but the valid one is published.
    let csc = t.store.get("CSC").await.expect("get").expect("CSC");
    assert_eq!(
        emps["emps"][1]["pubKey"],
        Value::from(csc.certificates[1].clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_certificates_only_on_request_because_the_schema_forbids_extra_fields() {
    let (t, _) = populated().await;
    let schema = emrex_tests::fixture("emreg/emreg-gateway-jsonschema.json");
    let (body, v) = get_json(&t.store, "/emp-list.json?pubKeys=true").await;
    let csc = &v["emps"][1];
    assert_eq!(csc["acronym"], "CSC");
    assert_eq!(csc["pubKeys"].as_array().map(Vec::len), Some(2));
    assert!(
        csc["pubKeys"]
            .as_array()
            .expect("pubKeys")
            .contains(&csc["pubKey"])
    );
    let err = common::python_jsonschema_validate(&schema, &body)
        .expect_err("the gateway schema has additionalProperties: false");
    assert!(err.contains("pubKeys"), "{err}");
    let (_, plain) = get_json(&t.store, "/emp-list.json").await;
    assert!(plain["emps"][1].get("pubKeys").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_last_modified_and_304() {
    let (t, _) = populated().await;
    let first = fetch(&t.store, Method::GET, "/emp-list.json", None).await;
    assert_eq!(first.status, StatusCode::OK);
    let h = |name: header::HeaderName| {
        first
            .headers
            .get(&name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .to_str()
            .expect("ascii")
            .to_string()
    };
    assert_eq!(h(header::CONTENT_TYPE), "application/json");
    assert_eq!(h(header::CACHE_CONTROL), "public, max-age=60");
    let etag = h(header::ETAG);
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "strong ETag: {etag}"
    );
    let modified = httpdate::parse_http_date(&h(header::LAST_MODIFIED)).expect("HTTP date");
    let age = std::time::SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    assert!(age.as_secs() < 600, "Last-Modified is the last change");

    // Same content → same ETag; If-None-Match → 304 with the validators and no body.
    let again = fetch(&t.store, Method::GET, "/emp-list.json", None).await;
    assert_eq!(again.body, first.body);
    assert_eq!(
        again.headers.get(header::ETAG),
        first.headers.get(header::ETAG)
    );
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".into(),
    ] {
        let cached = fetch(&t.store, Method::GET, "/emp-list.json", Some(&tag)).await;
        assert_eq!(cached.status, StatusCode::NOT_MODIFIED, "{tag}");
        assert!(cached.body.is_empty());
        assert_eq!(
            cached.headers.get(header::ETAG),
            first.headers.get(header::ETAG)
        );
        assert!(cached.headers.get(header::CACHE_CONTROL).is_some());
        assert!(cached.headers.get(header::LAST_MODIFIED).is_some());
    }
    let other = fetch(&t.store, Method::GET, "/emp-list.json", Some("\"nope\"")).await;
    assert_eq!(other.status, StatusCode::OK);

    // The ncps document is a different representation with its own ETag.
    let ncp = fetch(&t.store, Method::GET, "/ncp-list.json", Some(&etag)).await;
    assert_eq!(ncp.status, StatusCode::OK);
    assert_ne!(
        ncp.headers.get(header::ETAG),
        first.headers.get(header::ETAG)
    );

    // A change → a new ETag; the old one no longer matches.
    t.store.upsert(entry("UIO", "NO")).await.expect("upsert");
    let changed = fetch(&t.store, Method::GET, "/emp-list.json", Some(&etag)).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(
        changed.headers.get(header::ETAG),
        first.headers.get(header::ETAG)
    );

    // HEAD: headers without a body.
    let head = fetch(&t.store, Method::HEAD, "/emp-list.json", None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers.get(header::ETAG),
        changed.headers.get(header::ETAG)
    );

    let missing = fetch(&t.store, Method::GET, "/nothing.json", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_registry_is_still_a_valid_document() {
    let t = common::sqlite_store().await;
    let schema = emrex_tests::fixture("emreg/emreg-gateway-jsonschema.json");
    let f = fetch(&t.store, Method::GET, "/emp-list.json", None).await;
    assert_eq!(f.status, StatusCode::OK);
    assert!(
        f.headers.get(header::LAST_MODIFIED).is_none(),
        "never changed"
    );
    let v: Value = serde_json::from_slice(&f.body).expect("json");
    assert_eq!(v, serde_json::json!({"countries": [], "emps": []}));
    common::python_jsonschema_validate(&schema, &f.body).expect("valid");
}

/// Every answer of the list server carries `nosniff` and a policy, the empty 404 and 405 ones
/// included (issue #16, item 12).
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let t = common::sqlite_store().await;
    for (method, path, status) in [
        (Method::GET, "/ncp-list.json", StatusCode::OK),
        (Method::GET, "/nothing-here", StatusCode::NOT_FOUND),
        (
            Method::POST,
            "/ncp-list.json",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let f = fetch(&t.store, method.clone(), path, None).await;
        assert_eq!(f.status, status, "{method} {path}");
        assert_eq!(
            f.headers[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{path}"
        );
        assert!(
            f.headers.contains_key(header::CONTENT_SECURITY_POLICY),
            "{method} {path}"
        );
    }
}
