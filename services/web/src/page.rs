//! The page shell, the refusal page and response builders.
//!
//! Pages are rendered with maud, which escapes every interpolation: nothing from a document, a
//! registry or a request reaches the HTML unescaped. The shell is what makes every page
//! accessible in the same way: `lang`, a skip link to `main`, the development banner as a
//! `role="note"`, and one stylesheet from the service's own origin (no external assets).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The chrome every page of one service shares.
#[derive(Debug, Clone, Copy)]
pub struct Shell<'a> {
    /// The page's language (BCP 47), for `<html lang>`.
    pub lang: &'a str,
    /// Appended to each title (`Title — {site}`), so tabs and history say which service it is.
    pub site: &'a str,
    /// The path of the service's stylesheet (served with [`stylesheet`]).
    pub stylesheet: &'a str,
    /// The text of the skip link (keyboard users jump over the banner to `#main`).
    pub skip_link: &'a str,
    /// The development-mode banner; `None` in production.
    pub dev_banner: Option<&'a str>,
}

impl Shell<'_> {
    /// A whole page: `title` in the head, `body` inside `<main id="main">`.
    pub fn page(&self, title: &str, body: Markup) -> String {
        html! {
            (DOCTYPE)
            html lang=(self.lang) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " — " (self.site) }
                    link rel="stylesheet" href=(self.stylesheet);
                }
                body {
                    a.skip href="#main" { (self.skip_link) }
                    @if let Some(banner) = self.dev_banner {
                        div.dev role="note" id="dev-banner" { (banner) }
                    }
                    main id="main" { (body) }
                }
            }
        }
        .into_string()
    }
}

/// A link on a page (`href` and its visible text).
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    pub href: &'a str,
    pub text: &'a str,
}

/// The body of a refusal page: what cannot be done, said once, announced to screen readers
/// (`role="alert"`), and where to go instead. Nothing of the refused request is acted on.
pub fn refusal(
    heading: &str,
    message: &str,
    detail: Option<&str>,
    back: Option<Link<'_>>,
) -> Markup {
    html! {
        h1 { (heading) }
        p.error role="alert" id="error" { (message) @if let Some(d) = detail { " " (d) } }
        @if let Some(link) = back { p { a href=(link.href) { (link.text) } } }
    }
}

/// An HTML page response (the policy defaults to [`crate::PLAIN_CSP`] in
/// [`crate::security_headers`]).
pub fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, page).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// An HTML page response with its own Content-Security-Policy (an auto-submit page). A policy
/// that is not a valid header value is not sent, so the default, stricter one applies.
pub fn html_with_csp(status: StatusCode, page: String, csp: &str) -> Response {
    let mut r = html(status, page);
    if let Ok(v) = HeaderValue::from_str(csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// A service's stylesheet: the same for every student, so browsers may cache it for an hour.
pub fn stylesheet(css: &'static str) -> Response {
    with_headers(
        css.into_response(),
        &[
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
    )
}

/// A file the browser must download, never render in our origin: `Content-Disposition:
/// attachment` with `filename`, and a sandboxing policy in case a browser renders it anyway.
/// `filename` is ours (a constant), not from a document.
pub fn attachment(body: Vec<u8>, content_type: &'static str, filename: &'static str) -> Response {
    let mut r = with_headers(
        body.into_response(),
        &[
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ),
        ],
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn with_headers(mut r: Response, headers: &[(HeaderName, &'static str)]) -> Response {
    for (name, value) in headers {
        r.headers_mut()
            .insert(name.clone(), HeaderValue::from_static(value));
    }
    r
}

/// `303 See Other` to `location` (after a POST, the browser follows with a GET).
pub fn redirect(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(dev_banner: Option<&str>) -> Shell<'_> {
        Shell {
            lang: "de",
            site: "EMREX",
            stylesheet: "/assets/x.css",
            skip_link: "Skip to content",
            dev_banner,
        }
    }

    #[test]
    fn the_shell_escapes_and_carries_lang_skip_link_and_banner() {
        let page = shell(Some("Dev <b>")).page("A & <i>", html! { p { "body" } });
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"de\">"));
        assert!(page.contains("<title>A &amp; &lt;i&gt; — EMREX</title>"));
        assert!(page.contains(r##"<a class="skip" href="#main">Skip to content</a>"##));
        assert!(
            page.contains(r#"<div class="dev" role="note" id="dev-banner">Dev &lt;b&gt;</div>"#)
        );
        assert!(page.contains(r#"<main id="main"><p>body</p></main>"#));
        assert!(page.contains(r#"<link rel="stylesheet" href="/assets/x.css">"#));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn no_banner_in_production() {
        let page = shell(None).page("T", html! {});
        assert!(!page.contains("dev-banner"));
    }

    #[test]
    fn the_refusal_says_it_once_as_an_alert() {
        let body = refusal(
            "No",
            "Bad <request>",
            Some("too long"),
            Some(Link {
                href: "/",
                text: "Start again",
            }),
        )
        .into_string();
        assert_eq!(
            body,
            r#"<h1>No</h1><p class="error" role="alert" id="error">Bad &lt;request&gt; too long</p><p><a href="/">Start again</a></p>"#
        );
        let bare = refusal("No", "Gone", None, None).into_string();
        assert_eq!(
            bare,
            r#"<h1>No</h1><p class="error" role="alert" id="error">Gone</p>"#
        );
    }

    #[test]
    fn responses_carry_their_types_and_an_invalid_policy_is_not_sent() {
        let r = html_with_csp(StatusCode::OK, "x".into(), "bad\npolicy");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(r.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
        let r = html_with_csp(StatusCode::OK, "x".into(), "default-src 'none'");
        assert_eq!(
            r.headers()[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'"
        );
        let css = stylesheet("body{}");
        assert_eq!(
            css.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert_eq!(css.headers()[header::CACHE_CONTROL], "public, max-age=3600");
        let pdf = attachment(b"%PDF".to_vec(), "application/pdf", "t.pdf");
        assert_eq!(pdf.headers()[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(
            pdf.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"t.pdf\""
        );
        assert_eq!(
            pdf.headers()[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; sandbox"
        );
        let r = redirect("/x/1");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/x/1");
    }
}
