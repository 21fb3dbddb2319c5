//! HTTP: the EMREX 1.x JSON lists for existing clients, and the EWP Discovery manifest.
//!
//! `GET /ncp-list.json` (key `ncps`) and `GET /emp-list.json` (key `emps`), rendered from the
//! current snapshot by [`crate::jsonlist::render_list`]. Add `?pubKeys=true` to get every
//! certificate of each provider in an extra `pubKeys` array (see [`crate::jsonlist`] for why that
//! is not the default). With `[ewp]` configured, `GET /ewp/manifest.xml` (see [`crate::ewp`])
//! publishes the same entries for the EWP registry to harvest ([`manifest_router`]).
//! `GET /wallet-issuers.json` lists the NCPs that issue wallet credentials with their keys as JWKs
//! ([`crate::wallet`]).
//!
//! Clients fetch the list once per session, so responses are cacheable: a strong `ETag` (hash of
//! the body), `Last-Modified` (the registry's last change), `Cache-Control: public, max-age=60`,
//! and `If-None-Match` answered with `304 Not Modified`. `HEAD` works too (axum derives it from
//! `GET`). Documents come from a [`DocumentCache`] (rendered once per store revision and
//! certificate validity window) with a pre-compressed gzip body, served with
//! `Content-Encoding: gzip` (and its own ETag) when `Accept-Encoding` allows it; `Vary:
//! Accept-Encoding` on both. The router has no TLS, limits or logging of its own: the service runtime adds those.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue,
    IF_NONE_MATCH, LAST_MODIFIED, VARY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::cache::{CachedDocument, DocumentCache, DocumentKind};
use crate::ewp::{EwpConfig, render_manifest};
use crate::jsonlist::{ListKey, RenderOptions, render_list};
use crate::store::RegistryStore;
use crate::wallet::render_wallet_issuers;

/// `Cache-Control` of the lists: a minute is short enough for rollovers to propagate quickly and
/// long enough to absorb a burst of sessions.
pub const CACHE_CONTROL_VALUE: &str = "public, max-age=60";

/// The router serving both lists from `store`, with a [`DocumentCache`] of its own.
/// Every answer, the empty 404/405 ones included, carries `emrex_runtime`'s plain headers.
pub fn router<S: RegistryStore>(store: Arc<S>) -> Router {
    cached_router(Arc::new(DocumentCache::new(store)))
}

/// The router serving both lists from `cache` (share one cache with [`cached_manifest_router`]).
pub fn cached_router<S: RegistryStore>(cache: Arc<DocumentCache<S>>) -> Router {
    emrex_runtime::http::with_plain_headers(
        Router::new()
            .route("/ncp-list.json", get(ncp_list::<S>))
            .route("/emp-list.json", get(emp_list::<S>))
            .route("/wallet-issuers.json", get(wallet_issuers::<S>))
            .with_state(cache),
    )
}

/// The router serving `/ewp/manifest.xml` from `store` as `config` describes the host.
pub fn manifest_router<S: RegistryStore>(store: Arc<S>, config: EwpConfig) -> Router {
    cached_manifest_router(Arc::new(DocumentCache::new(store)), config)
}

/// [`manifest_router`] on a shared cache.
pub fn cached_manifest_router<S: RegistryStore>(
    cache: Arc<DocumentCache<S>>,
    config: EwpConfig,
) -> Router {
    Router::new()
        .route("/ewp/manifest.xml", get(manifest::<S>))
        .with_state((cache, Arc::new(config)))
}

async fn manifest<S: RegistryStore>(
    State((cache, config)): State<(Arc<DocumentCache<S>>, Arc<EwpConfig>)>,
    headers: HeaderMap,
) -> Response {
    let document = cache
        .get(DocumentKind::EwpManifest, move |snapshot, now| {
            render_manifest(snapshot, &config, now)
        })
        .await;
    match document {
        Ok(d) => document_response(&d, "application/xml", &headers),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the registry for the EWP manifest");
            (StatusCode::SERVICE_UNAVAILABLE, "registry unavailable\n").into_response()
        }
    }
}

async fn wallet_issuers<S: RegistryStore>(
    State(cache): State<Arc<DocumentCache<S>>>,
    headers: HeaderMap,
) -> Response {
    let document = cache
        .get(DocumentKind::WalletIssuers, render_wallet_issuers)
        .await;
    match document {
        Ok(d) => document_response(&d, "application/json", &headers),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the registry for the wallet issuers");
            (StatusCode::SERVICE_UNAVAILABLE, "registry unavailable\n").into_response()
        }
    }
}

async fn ncp_list<S: RegistryStore>(
    State(cache): State<Arc<DocumentCache<S>>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(&cache, ListKey::Ncps, &uri, &headers).await
}

async fn emp_list<S: RegistryStore>(
    State(cache): State<Arc<DocumentCache<S>>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(&cache, ListKey::Emps, &uri, &headers).await
}

async fn serve<S: RegistryStore>(
    cache: &DocumentCache<S>,
    key: ListKey,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let opts = RenderOptions {
        all_certificates: wants_all_certificates(uri),
    };
    let document = cache
        .get(DocumentKind::List(key, opts), move |snapshot, now| {
            render_list(snapshot, key, now, opts)
        })
        .await;
    match document {
        Ok(d) => document_response(&d, "application/json", headers),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the registry for the JSON list");
            (StatusCode::SERVICE_UNAVAILABLE, "registry unavailable\n").into_response()
        }
    }
}

/// `?pubKeys=true` (or `=1`).
fn wants_all_certificates(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair, "pubKeys=true" | "pubKeys=1"))
    })
}

/// The response for a cached document of `content_type`, with its cache validators: 304 when
/// `If-None-Match` names either of its representations, the gzip body when the request accepts
/// gzip, the identity body otherwise.
fn document_response(
    document: &CachedDocument,
    content_type: &'static str,
    request: &HeaderMap,
) -> Response {
    let gzip = document
        .gzip
        .as_ref()
        .filter(|_| accepts_gzip(request.get_all(ACCEPT_ENCODING).iter()));
    let etag = if gzip.is_some() {
        &document.gzip_etag
    } else {
        &document.etag
    };
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(ETAG, etag.clone());
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(date) = &document.last_modified {
        headers.insert(LAST_MODIFIED, date.clone());
    }
    if request.get(IF_NONE_MATCH).is_some_and(|v| {
        etag_matches(v, header_text(&document.etag))
            || etag_matches(v, header_text(&document.gzip_etag))
    }) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let body = match gzip {
        Some(z) => {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            z.clone()
        }
        None => document.identity.clone(),
    };
    (StatusCode::OK, headers, Body::from(body)).into_response()
}

fn header_text(v: &HeaderValue) -> &str {
    v.to_str().unwrap_or_default()
}

/// Whether `Accept-Encoding` allows gzip (RFC 9110 §12.5.3): `gzip` or `x-gzip` listed with a
/// non-zero q, or `*` with a non-zero q when gzip is not listed. No header: identity only.
fn accepts_gzip<'a>(values: impl Iterator<Item = &'a HeaderValue>) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in values {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q > 0.0);
            } else if coding == "*" {
                any = Some(q > 0.0);
            }
        }
    }
    gzip.or(any).unwrap_or(false)
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
    fn accept_encoding_forms() {
        for (values, gzip) in [
            (&[][..], false),
            (&["gzip"][..], true),
            (&["gzip, deflate, br"][..], true),
            (&["deflate", "GZIP;q=0.5"][..], true),
            (&["x-gzip"][..], true),
            (&["gzip;q=0"][..], false),
            (&["gzip; q=0.0, identity"][..], false),
            (&["*"][..], true),
            (&["*;q=0"][..], false),
            (&["*, gzip;q=0"][..], false),
            (&["br, identity"][..], false),
            (&["gzipx"][..], false),
        ] {
            let headers: Vec<HeaderValue> = values
                .iter()
                .map(|v| HeaderValue::from_str(v).expect("header"))
                .collect();
            assert_eq!(accepts_gzip(headers.iter()), gzip, "{values:?}");
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
