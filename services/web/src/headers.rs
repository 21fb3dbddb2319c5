//! Security headers and Content-Security-Policy.
//!
//! Every response of a browser-facing router passes through [`security_headers`] (installed by
//! [`secure`]), so a handler, an extractor's rejection, a redirect or the fallback cannot forget
//! them. A handler that needs something else (a cacheable stylesheet, a sandboxed PDF, the
//! auto-submit page's policy) sets that header itself; the middleware only fills in what is
//! missing — except `X-Content-Type-Options: nosniff`, which is always set.

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::map_response;
use axum::response::Response;
use base64::Engine as _;

/// The policy every page starts from: only our own stylesheet and images, no `<base>`, never
/// framed. Script and form targets are added per page.
pub const BASE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The policy of a page without script whose forms post only to its own origin: every page
/// except the auto-submit ones. [`security_headers`] sets it when a response has none.
pub const PLAIN_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The policy of a page whose only script (allowed by its hash, see [`script_hash`]) submits a
/// form to `form_origin` — the EMREX hand-over between NCP and SMP, which is a cross-site POST.
pub fn auto_submit_csp(script_hash: &str, form_origin: &str) -> String {
    format!("{BASE_CSP}; script-src {script_hash}; form-action {form_origin}")
}

/// `'sha256-…'` of an inline script, for `script-src`: the script runs because its exact bytes
/// are allowed, without `'unsafe-inline'`.
pub fn script_hash(script: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    )
}

/// The headers every browser-facing response carries, unless the handler chose its own:
/// `Cache-Control: no-store` (pages hold personal data), `Referrer-Policy: no-referrer`
/// (exchange ids are in URLs), `X-Frame-Options: DENY` (for browsers without
/// `frame-ancestors`) and [`PLAIN_CSP`]; `X-Content-Type-Options: nosniff` always.
pub async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set_default(h, header::CACHE_CONTROL, "no-store");
    set_default(h, header::REFERRER_POLICY, "no-referrer");
    set_default(h, header::X_FRAME_OPTIONS, "DENY");
    set_default(h, header::CONTENT_SECURITY_POLICY, PLAIN_CSP);
    response
}

fn set_default(h: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !h.contains_key(&name) {
        h.insert(name, HeaderValue::from_static(value));
    }
}

/// `router` with [`security_headers`] on every response, its fallback included.
pub fn secure<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(map_response(security_headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use tower::ServiceExt as _;

    #[test]
    fn plain_csp_is_the_base_policy_with_same_origin_forms() {
        assert_eq!(PLAIN_CSP, format!("{BASE_CSP}; form-action 'self'"));
        assert_eq!(
            auto_submit_csp("'sha256-x'", "https://smp.example"),
            format!("{BASE_CSP}; script-src 'sha256-x'; form-action https://smp.example")
        );
    }

    #[test]
    fn script_hash_is_base64_sha256_of_the_exact_bytes() {
        // printf %s 'alert(1);' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            script_hash("alert(1);"),
            "'sha256-5jFwrAK0UV47oFbVg/iCCBbxD8X1w+QvoOUepu4C2YA='"
        );
        assert_ne!(script_hash("alert(1);"), script_hash("alert(1); "));
    }

    async fn headers_of(router: Router) -> HeaderMap {
        let response = secure(router)
            .oneshot(Request::get("/").body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        response.headers().clone()
    }

    #[tokio::test]
    async fn missing_headers_are_filled_in_on_every_response() {
        let h = headers_of(Router::new().fallback(|| async { StatusCode::NOT_FOUND })).await;
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], PLAIN_CSP);
    }

    #[tokio::test]
    async fn a_handlers_own_headers_win_except_nosniff() {
        let own = || async {
            let mut r = "x".into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("sniff-away"),
            );
            r
        };
        let h = headers_of(Router::new().route("/", get(own))).await;
        assert_eq!(h[header::CACHE_CONTROL], "public");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "sandbox");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h.get_all(header::X_CONTENT_TYPE_OPTIONS).iter().count(), 1);
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    }
}
