//! HTTP: the EMREX 1.x JSON lists for existing clients.
//!
//! `GET /ncp-list.json` (key `ncps`) and `GET /emp-list.json` (key `emps`), rendered from the
//! current snapshot by [`crate::jsonlist::render_list`]. Add `?pubKeys=true` to get every
//! certificate of each provider in an extra `pubKeys` array (see [`crate::jsonlist`] for why that
//! is not the default).
//!
//! Clients fetch the list once per session, so responses are cacheable: a strong `ETag` (hash of
//! the body), `Last-Modified` (the registry's last change), `Cache-Control: public, max-age=60`,
//! and `If-None-Match` answered with `304 Not Modified`. `HEAD` works too (axum derives it from
//! `GET`). The router has no TLS, limits or logging of its own: the service runtime adds those.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH, LAST_MODIFIED,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::jsonlist::{ListKey, RenderOptions, RenderedList, render_list};
use crate::store::RegistryStore;

/// `Cache-Control` of the lists: a minute is short enough for rollovers to propagate quickly and
/// long enough to absorb a burst of sessions.
pub const CACHE_CONTROL_VALUE: &str = "public, max-age=60";

/// The router serving both lists from `store`.
/// Every answer, the empty 404/405 ones included, carries `emrex_runtime`'s plain headers.
pub fn router<S: RegistryStore>(store: Arc<S>) -> Router {
    emrex_runtime::http::with_plain_headers(
        Router::new()
            .route("/ncp-list.json", get(ncp_list::<S>))
            .route("/emp-list.json", get(emp_list::<S>))
            .with_state(store),
    )
}

async fn ncp_list<S: RegistryStore>(
    State(store): State<Arc<S>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(store.as_ref(), ListKey::Ncps, &uri, &headers).await
}

async fn emp_list<S: RegistryStore>(
    State(store): State<Arc<S>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(store.as_ref(), ListKey::Emps, &uri, &headers).await
}

async fn serve<S: RegistryStore>(
    store: &S,
    key: ListKey,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let snapshot = match store.list(None).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the registry for the JSON list");
            return (StatusCode::SERVICE_UNAVAILABLE, "registry unavailable\n").into_response();
        }
    };
    let opts = RenderOptions {
        all_certificates: wants_all_certificates(uri),
    };
    let now = crate::store::now_unix();
    let rendered = render_list(&snapshot, key, now, opts);
    list_response(rendered, headers.get(IF_NONE_MATCH))
}

/// `?pubKeys=true` (or `=1`).
fn wants_all_certificates(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair, "pubKeys=true" | "pubKeys=1"))
    })
}

/// The response for a rendered list: 200 with the body, or 304 when `if_none_match` matches.
pub fn list_response(rendered: RenderedList, if_none_match: Option<&HeaderValue>) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&rendered.etag) {
        headers.insert(ETAG, v);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
    if let Some(secs) = rendered
        .last_modified_unix
        .and_then(|s| u64::try_from(s).ok())
    {
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
        if let Ok(v) = HeaderValue::from_str(&date) {
            headers.insert(LAST_MODIFIED, v);
        }
    }
    if if_none_match.is_some_and(|v| etag_matches(v, &rendered.etag)) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    (StatusCode::OK, headers, rendered.body).into_response()
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored, `*`
/// matches anything, and the header may list several tags.
fn etag_matches(header: &HeaderValue, etag: &str) -> bool {
    let Ok(text) = header.to_str() else {
        return false;
    };
    let ours = etag.trim_start_matches("W/");
    text.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_forms() {
        let tag = "\"abc\"";
        for (header, hit) in [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abd\"", false),
            ("abc", false),
        ] {
            let v = HeaderValue::from_str(header).expect("header");
            assert_eq!(etag_matches(&v, tag), hit, "{header}");
        }
    }

    #[test]
    fn query_switch() {
        let on: Uri = "/emp-list.json?x=1&pubKeys=true".parse().expect("uri");
        let off: Uri = "/emp-list.json?pubKeys=false".parse().expect("uri");
        assert!(wants_all_certificates(&on));
        assert!(!wants_all_certificates(&off));
        assert!(!wants_all_certificates(
            &"/emp-list.json".parse().expect("uri")
        ));
    }
}
