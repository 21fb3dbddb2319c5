//! The page shell, the refusal page and response builders.
//!
//! Pages are rendered with maud, which escapes every interpolation: nothing from a document, a
//! registry or a request reaches the HTML unescaped. The shell is what makes every page
//! accessible in the same way: `lang`, a skip link to `main`, the development banner and the
//! language switch in a `<header>` landmark, and one stylesheet from the service's own origin
//! (no external assets) that starts with [`COMMON_STYLE`].

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::lang::{Lang, in_lang};

/// What every student page looks like, whichever service serves it: served first in each
/// service's stylesheet, which adds its own colours and components.
///
/// * The focus ring is #b45309 (5.0:1 on white; WCAG 2.2 asks 3:1 for focus indicators), two
///   pixels off the element so it sits on the page's white whatever the element's colour.
/// * Hosts (`.host`) never break inside: the whole name moves to the next line, and only a name
///   longer than the line itself wraps.
/// * Below 600 px, tables marked `rows` become one card per row, each cell labelled by its
///   column (`data-label`), so a phone never scrolls sideways; the header row stays for screen
///   readers. An empty cell is left out there rather than shown as a label with nothing after it.
pub const COMMON_STYLE: &str = r#"
:root { color-scheme: light; }
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; line-height: 1.5; overflow-wrap: break-word; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
header.top { border-bottom: 1px solid #c8c8c8; }
.dev { background: #fff4ce; color: #4d3800; border-bottom: 2px solid #8a6d00; padding: .6rem 1.25rem; font-weight: 600; margin: 0; }
nav.langs ul { list-style: none; display: flex; flex-wrap: wrap; justify-content: flex-end; gap: .25rem 1.25rem; max-width: 60rem; margin: 0 auto; padding: .4rem 1.25rem; }
nav.langs a { color: #0b4f8a; } nav.langs a[aria-current] { color: #1a1a1a; font-weight: 700; text-decoration: none; }
:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
.host { display: inline-block; max-width: 100%; overflow-wrap: anywhere; font-weight: 700; }
details.tech { margin: 1rem 0; } details.tech summary { cursor: pointer; }
details.tech dl { margin: .5rem 0 0; } details.tech dt { font-weight: 600; } details.tech dd { margin: 0 0 .5rem; overflow-wrap: anywhere; }
@media (max-width: 600px) {
  main { padding: .75rem .75rem 2rem; }
  table.rows thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  table.rows, table.rows tbody, table.rows tr, table.rows td { display: block; width: 100%; }
  table.rows tr { border-bottom: 1px solid #c8c8c8; padding: .5rem 0; }
  table.rows td, table.rows td.num { border: 0; padding: .1rem 0; text-align: left; white-space: normal; }
  table.rows td[data-label]::before { content: attr(data-label) ": "; color: #4a4a4a; }
  table.rows td:empty { display: none; }
}
"#;

/// The language switch of a page: links to the same page in every language.
#[derive(Debug, Clone, Copy)]
pub struct LangSwitch<'a> {
    /// The switch's accessible name in the page's language ("Language", "Sprache", …).
    pub label: &'a str,
    /// The page's address without `lang` ([`crate::lang::here_without_lang`]); only pages a
    /// GET can show again have a switch.
    pub here: &'a str,
}

/// The chrome every page of one service shares.
#[derive(Debug, Clone, Copy)]
pub struct Shell<'a> {
    /// The page's language, for `<html lang>` and the switch.
    pub lang: Lang,
    /// Appended to each title (`Title — {site}`), so tabs and history say which service it is.
    pub site: &'a str,
    /// The path of the service's stylesheet (served with [`stylesheet`]).
    pub stylesheet: &'a str,
    /// The text of the skip link (keyboard users jump over the banner to `#main`).
    pub skip_link: &'a str,
    /// The development-mode banner; `None` in production.
    pub dev_banner: Option<&'a str>,
    /// The language switch; `None` on pages that cannot be shown again by a GET (an answer to a
    /// POST, an auto-submitting hand-over).
    pub languages: Option<LangSwitch<'a>>,
}

impl Shell<'_> {
    /// A whole page: `title` in the head, `body` inside `<main id="main">`. The banner and the
    /// language switch are in a `<header>` landmark, so every piece of content is in a landmark
    /// (axe-core's `region` rule) and screen-reader users can jump past them.
    pub fn page(&self, title: &str, body: Markup) -> String {
        html! {
            (DOCTYPE)
            html lang=(self.lang.tag()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " — " (self.site) }
                    link rel="stylesheet" href=(self.stylesheet);
                }
                body {
                    a.skip href="#main" { (self.skip_link) }
                    @if self.dev_banner.is_some() || self.languages.is_some() {
                        header.top {
                            @if let Some(banner) = self.dev_banner {
                                p.dev role="note" id="dev-banner" { (banner) }
                            }
                            @if let Some(switch) = self.languages {
                                nav.langs aria-label=(switch.label) id="languages" {
                                    ul {
                                        @for l in Lang::ALL {
                                            li {
                                                a href=(in_lang(switch.here, l)) lang=(l.tag()) hreflang=(l.tag())
                                                    id={ "lang-" (l.tag()) }
                                                    aria-current=[(l == self.lang).then_some("true")] {
                                                    (l.native_name())
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
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
            lang: Lang::De,
            site: "EMREX",
            stylesheet: "/assets/x.css",
            skip_link: "Zum Inhalt",
            dev_banner,
            languages: None,
        }
    }

    #[test]
    fn the_shell_escapes_and_carries_lang_skip_link_and_banner() {
        let page = shell(Some("Dev <b>")).page("A & <i>", html! { p { "body" } });
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"de\">"));
        assert!(page.contains("<title>A &amp; &lt;i&gt; — EMREX</title>"));
        assert!(page.contains(r##"<a class="skip" href="#main">Zum Inhalt</a>"##));
        // The banner is inside a landmark (the header), not loose in the body.
        assert!(page.contains(
            r#"<header class="top"><p class="dev" role="note" id="dev-banner">Dev &lt;b&gt;</p></header>"#
        ));
        assert!(page.contains(r#"<main id="main"><p>body</p></main>"#));
        assert!(page.contains(r#"<link rel="stylesheet" href="/assets/x.css">"#));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn no_banner_in_production() {
        let page = shell(None).page("T", html! {});
        assert!(!page.contains("dev-banner"));
        assert!(!page.contains("<header"), "no empty landmark");
    }

    #[test]
    fn the_language_switch_links_the_same_page_in_every_language() {
        let mut s = shell(None);
        s.languages = Some(LangSwitch {
            label: "Sprache",
            here: "/result/a?t=1.x",
        });
        let page = s.page("T", html! {});
        assert!(page.contains(r#"<nav class="langs" aria-label="Sprache" id="languages">"#));
        assert!(page.contains(
            r#"<a href="/result/a?t=1.x&amp;lang=fr" lang="fr" hreflang="fr" id="lang-fr">Français</a>"#
        ));
        assert!(page.contains(
            r#"<a href="/result/a?t=1.x&amp;lang=de" lang="de" hreflang="de" id="lang-de" aria-current="true">Deutsch</a>"#
        ));
        assert_eq!(page.matches("aria-current").count(), 1);
    }

    #[test]
    fn focus_rings_are_visible_on_white() {
        let rings = crate::contrast::outline_colours(COMMON_STYLE);
        assert!(!rings.is_empty());
        for c in rings {
            let r = crate::contrast::ratio(c, [255, 255, 255]);
            assert!(r >= 3.0, "focus ring {c:?} is {r:.2}:1 on white");
        }
        // The colour the issue found: 2.0:1.
        assert!(crate::contrast::ratio([0xf2, 0xa9, 0x00], [255, 255, 255]) < 3.0);
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
