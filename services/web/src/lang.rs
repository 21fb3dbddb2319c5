//! Which language a page is in, and the student's choice of it.
//!
//! A page's language is, in this order: `?lang=xx` on the request (the language switch's
//! links), the `emrex-lang` cookie (the last choice made with the switch on this service), the
//! browser's `Accept-Language`, English. [`remember_language`] sets the cookie whenever a
//! request carries a supported `?lang=`, so the choice holds for the rest of the exchange — the
//! next page, the form posted from it, the error page after it — without a parameter on every
//! form. The cookie is a preference, not a secret: `SameSite=Lax`, no `HttpOnly` need, and a
//! forged value can only change the language.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
pub use emrex_i18n::Lang;

/// The cookie that remembers the language chosen with the switch.
pub const LANG_COOKIE: &str = "emrex-lang";

/// How long the choice is remembered (a year: it is a preference).
const LANG_COOKIE_MAX_AGE: u64 = 365 * 24 * 60 * 60;

/// The query parameter of the language switch.
pub const LANG_PARAM: &str = "lang";

/// The page language of a request (see the module docs for the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(request_lang(&parts.uri, &parts.headers)))
    }
}

/// The page language of a request with `uri` and `headers`.
pub fn request_lang(uri: &Uri, headers: &HeaderMap) -> Lang {
    query_lang(uri)
        .or_else(|| cookie_lang(headers))
        .unwrap_or_else(|| {
            Lang::negotiate(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            )
        })
}

/// The supported language a request's `?lang=` names, if any.
pub fn query_lang(uri: &Uri) -> Option<Lang> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == LANG_PARAM)
        .and_then(|(_, v)| Lang::from_tag(v))
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .and_then(|(_, v)| Lang::from_tag(v))
}

/// Middleware: a request with a supported `?lang=` makes its answer remember that choice.
pub async fn remember_language(request: Request, next: Next) -> Response {
    let chosen = query_lang(request.uri());
    let mut response = next.run(request).await;
    if let Some(lang) = chosen {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; SameSite=Lax",
            lang.tag()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// `path?query` of `uri` without its `lang` parameter: the address the language switch links
/// to, in each language.
pub fn here_without_lang(uri: &Uri) -> String {
    let path = uri.path();
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(LANG_PARAM))
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// `here` (from [`here_without_lang`]) in `lang`.
pub fn in_lang(here: &str, lang: Lang) -> String {
    let sep = if here.contains('?') { '&' } else { '?' };
    format!("{here}{sep}{LANG_PARAM}={}", lang.tag())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_switch_beats_the_cookie_which_beats_the_browser() {
        let uri: Uri = "/x/1?lang=fr".parse().expect("uri");
        let plain: Uri = "/x/1".parse().expect("uri");
        let browser = headers(&[("accept-language", "de")]);
        let both = headers(&[("accept-language", "de"), ("cookie", "a=1; emrex-lang=en")]);
        assert_eq!(request_lang(&uri, &both), Lang::Fr);
        assert_eq!(request_lang(&plain, &both), Lang::En);
        assert_eq!(request_lang(&plain, &browser), Lang::De);
        assert_eq!(request_lang(&plain, &HeaderMap::new()), Lang::En);
        // Unsupported values are ignored, not errors.
        let odd: Uri = "/x/1?lang=xx".parse().expect("uri");
        let bad_cookie = headers(&[("accept-language", "fr"), ("cookie", "emrex-lang=<b>")]);
        assert_eq!(request_lang(&odd, &bad_cookie), Lang::Fr);
    }

    #[test]
    fn the_switch_links_keep_the_rest_of_the_address() {
        let uri: Uri = "/result/s1?t=123.abc&lang=de".parse().expect("uri");
        let here = here_without_lang(&uri);
        assert_eq!(here, "/result/s1?t=123.abc");
        assert_eq!(in_lang(&here, Lang::Fr), "/result/s1?t=123.abc&lang=fr");
        assert_eq!(in_lang("/x/1", Lang::De), "/x/1?lang=de");
        assert_eq!(here_without_lang(&"/?lang=en".parse().expect("uri")), "/");
    }

    #[tokio::test]
    async fn a_chosen_language_is_remembered_in_a_cookie() {
        use axum::Router;
        use axum::body::Body;
        use axum::routing::get;
        use tower::ServiceExt as _;
        let app = Router::new()
            .route("/", get(|PageLang(l): PageLang| async move { l.tag() }))
            .layer(axum::middleware::from_fn(remember_language));
        let r = app
            .clone()
            .oneshot(Request::get("/?lang=de").body(Body::empty()).expect("req"))
            .await
            .expect("infallible");
        assert_eq!(
            r.headers()[header::SET_COOKIE],
            "emrex-lang=de; Path=/; Max-Age=31536000; SameSite=Lax"
        );
        let r = app
            .oneshot(Request::get("/").body(Body::empty()).expect("req"))
            .await
            .expect("infallible");
        assert!(r.headers().get(header::SET_COOKIE).is_none());
    }
}
