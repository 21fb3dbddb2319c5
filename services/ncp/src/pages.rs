//! Server-rendered pages (maud: every interpolation is HTML-escaped). No external assets: one
//! stylesheet served by the NCP itself, no script except the auto-submit of the return form,
//! allowed by its hash in the Content-Security-Policy.
//!
//! Accessibility: `lang` on every page, a skip link, real `<label>`s for every control, a
//! `<fieldset>`/`<legend>` per report, a table with header cells, visible focus, no
//! information by colour alone, contrast ≥ 4.5:1 (see `STYLE`), and everything works with the
//! keyboard and without script (the return form has a visible button).

use maud::{Markup, PreEscaped, html};

use crate::i18n::{Lang, Texts};
use crate::selection::Offers;
use emrex_elmo::model::LoiStatus;

/// The stylesheet at `/assets/ncp.css`.
pub const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1a1a1a; --muted: #4a4a4a; --accent: #0b4f8a; --bg: #ffffff; --line: #c8c8c8; --warn-bg: #fff4ce; --warn-fg: #4d3800; --err-bg: #fde7e9; --err-fg: #7a0010; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); line-height: 1.5; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
.dev { background: var(--warn-bg); color: var(--warn-fg); border-bottom: 2px solid #8a6d00; padding: .6rem 1.25rem; font-weight: 600; }
h1 { font-size: 1.6rem; margin: 1rem 0; } h2 { font-size: 1.2rem; }
fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: 1.25rem 0; padding: .5rem 1rem 1rem; }
legend { font-weight: 700; padding: 0 .4rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; } td.num { text-align: right; white-space: nowrap; }
.depth-1 td.title { padding-left: 1.75rem; } .depth-2 td.title { padding-left: 3rem; } .depth-3 td.title { padding-left: 4.25rem; }
.status-failed { color: var(--err-fg); } .status-in-progress { color: var(--muted); font-style: italic; }
.consent { background: #eef4fb; border: 1px solid #9bb9d9; border-radius: .4rem; padding: .75rem 1rem; margin: 1.25rem 0; }
.host { font-weight: 700; word-break: break-all; }
button, .button { font: inherit; padding: .6rem 1.1rem; border-radius: .35rem; border: 2px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; margin: .25rem .5rem .25rem 0; }
button.secondary { background: #fff; color: var(--accent); }
button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
input[type=checkbox] { width: 1.2rem; height: 1.2rem; vertical-align: middle; }
.error { background: var(--err-bg); color: var(--err-fg); border-left: 4px solid var(--err-fg); padding: .75rem 1rem; }
.who { color: var(--muted); }
ul.students { list-style: none; padding: 0; } ul.students li { margin: .5rem 0; }
.hint { color: var(--muted); font-size: .95rem; }
"#;

/// The auto-submit script of the return form (the only script; its hash is in the CSP).
pub const AUTO_SUBMIT_JS: &str = "document.getElementById('emrex-return').submit();";

/// `'sha256-…'` of [`AUTO_SUBMIT_JS`] for `script-src`.
pub fn auto_submit_hash() -> String {
    emrex_web::script_hash(AUTO_SUBMIT_JS)
}

/// Page chrome shared by every page (the shell is the one the SMP uses too).
fn layout(lang: Lang, dev_mode: bool, title: &str, body: Markup) -> String {
    let t = lang.texts();
    emrex_web::Shell {
        lang: lang.tag(),
        site: "EMREX",
        stylesheet: "/assets/ncp.css",
        skip_link: "Skip to content",
        dev_banner: dev_mode.then_some(t.dev_banner),
    }
    .page(title, body)
}

/// A demo student offered by the dev login.
#[derive(Debug, Clone)]
pub struct DevStudent {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// The login page: an OpenID Connect button and/or (dev mode) the demo students.
pub fn login(
    lang: Lang,
    dev_mode: bool,
    exchange_id: &str,
    csrf: &str,
    oidc: bool,
    dev_students: &[DevStudent],
) -> String {
    let t = lang.texts();
    layout(
        lang,
        dev_mode,
        t.login_title,
        html! {
            h1 { (t.login_title) }
            p { (t.login_intro) }
            @if oidc {
                // A link, not a form: the identity provider is another origin, which the
                // page's `form-action 'self'` would (rightly) refuse to redirect a form to.
                p { a.button href={ "/x/" (exchange_id) "/login/oidc" } id="oidc-login" { (t.login_oidc) } }
            }
            @if !dev_students.is_empty() {
                h2 { (t.login_dev_heading) }
                form method="post" action={ "/x/" (exchange_id) "/login/dev" } {
                    input type="hidden" name="csrf" value=(csrf);
                    ul.students {
                        @for s in dev_students {
                            li {
                                button type="submit" name="student" value=(s.id) id={ "dev-" (s.id) } {
                                    (t.login_dev_as) " " (s.name)
                                }
                                " " span.hint { (s.description) }
                            }
                        }
                    }
                }
            }
            (cancel_form(t, exchange_id, csrf))
        },
    )
}

fn cancel_form(t: &Texts, exchange_id: &str, csrf: &str) -> Markup {
    html! {
        form method="post" action={ "/x/" (exchange_id) "/cancel" } {
            input type="hidden" name="csrf" value=(csrf);
            button.secondary type="submit" id="cancel" { (t.cancel) }
        }
    }
}

/// The selection and consent page.
#[allow(clippy::too_many_arguments)]
pub fn select(
    lang: Lang,
    dev_mode: bool,
    exchange_id: &str,
    csrf: &str,
    student_name: &str,
    offers: &Offers,
    allow_pick: bool,
    return_host: &str,
    error: Option<&str>,
) -> String {
    let t = lang.texts();
    layout(
        lang,
        dev_mode,
        t.select_title,
        html! {
            h1 { (t.select_title) }
            p.who { (t.logged_in_as) " " strong { (student_name) } }
            @if let Some(e) = error { p.error role="alert" id="form-error" { (e) } }
            p { (intro(t.select_intro, return_host)) }
            @if !allow_pick { p.hint { (t.select_fixed) } }
            form method="post" action={ "/x/" (exchange_id) "/send" } id="select-form" {
                input type="hidden" name="csrf" value=(csrf);
                @for (r, report) in offers.reports.iter().enumerate() {
                    @let items: Vec<_> = offers.items.iter().filter(|o| o.report == r).collect();
                    @if !items.is_empty() {
                        fieldset {
                            legend { (report) }
                            table {
                                thead { tr {
                                    @if allow_pick { th scope="col" { span.skip { (t.select_all) } } }
                                    th scope="col" { (t.col_course) }
                                    th scope="col" { (t.col_date) }
                                    th scope="col" { (t.col_result) }
                                    th scope="col" { (t.col_credits) }
                                    th scope="col" { (t.col_status) }
                                } }
                                tbody {
                                    @for o in items {
                                        tr class={ "depth-" (o.depth.min(3)) } {
                                            @if allow_pick {
                                                td {
                                                    input type="checkbox" name="course" value=(o.key) id={ "c-" (o.key) };
                                                }
                                            }
                                            td.title {
                                                @if allow_pick {
                                                    label for={ "c-" (o.key) } { (o.title) }
                                                } @else { (o.title) }
                                                @if let Some(k) = &o.kind { " " span.hint { "(" (k) ")" } }
                                            }
                                            td { (o.date.as_deref().unwrap_or("–")) }
                                            td { (o.result.as_deref().unwrap_or("–")) }
                                            td.num { (o.credits.as_deref().unwrap_or("–")) }
                                            td class={ "status-" (status_class(&o.status)) } { (status_text(t, &o.status)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div.consent {
                    input type="checkbox" name="consent" value="yes" id="consent" required;
                    " "
                    label for="consent" { (intro(t.consent, return_host)) }
                }
                button type="submit" id="send" { (t.send) }
            }
            (cancel_form(t, exchange_id, csrf))
        },
    )
}

fn intro(template: &str, host: &str) -> Markup {
    match template.split_once("{host}") {
        Some((a, b)) => html! { (a) span.host { (host) } (b) },
        None => html! { (template) },
    }
}

fn status_class(s: &LoiStatus) -> &'static str {
    match s {
        LoiStatus::Passed => "passed",
        LoiStatus::Failed => "failed",
        LoiStatus::InProgress => "in-progress",
        LoiStatus::Other(_) => "other",
    }
}

fn status_text<'a>(t: &'a Texts, s: &'a LoiStatus) -> &'a str {
    match s {
        LoiStatus::Passed => t.status_passed,
        LoiStatus::Failed => t.status_failed,
        LoiStatus::InProgress => t.status_in_progress,
        LoiStatus::Other(o) => o,
    }
}

/// The response to the client: a form posted to `returnUrl` by the hashed script, with a
/// visible button for browsers without script.
pub fn return_form(
    lang: Lang,
    dev_mode: bool,
    action: &str,
    fields: &[(&str, &str)],
    note: Option<&str>,
) -> String {
    let t = lang.texts();
    layout(
        lang,
        dev_mode,
        t.return_title,
        html! {
            h1 { (t.return_title) }
            @if let Some(n) = note { p { (n) } }
            p { (t.return_intro) }
            form method="post" action=(action) id="emrex-return" enctype="application/x-www-form-urlencoded" {
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" id="return" { (t.return_button) }
            }
            script { (PreEscaped(AUTO_SUBMIT_JS)) }
        },
    )
}

/// An error page (nothing is sent to the client).
pub fn error(lang: Lang, dev_mode: bool, message: &str, detail: Option<&str>) -> String {
    let t = lang.texts();
    layout(
        lang,
        dev_mode,
        t.error_title,
        emrex_web::refusal(t.error_title, message, detail, None),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::Offer;

    fn offers() -> Offers {
        Offers {
            reports: vec!["Uni <One>".into()],
            items: vec![Offer {
                key: "r0-0".into(),
                report: 0,
                depth: 0,
                title: "Algebra & <script>alert(1)</script>".into(),
                kind: Some("Course".into()),
                date: Some("2020-01-01".into()),
                result: Some("A".into()),
                credits: Some("5".into()),
                status: LoiStatus::Passed,
            }],
        }
    }

    #[test]
    fn pages_escape_everything_from_documents() {
        let page = select(
            Lang::En,
            false,
            "id1",
            "tok",
            "Zoë \"Q\"",
            &offers(),
            true,
            "smp.example\"><b>",
            None,
        );
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("Algebra &amp; &lt;script&gt;"));
        assert!(page.contains("Uni &lt;One&gt;"));
        assert!(!page.contains("\"><b>"));
        assert!(page.contains(r#"<html lang="en">"#));
        assert!(page.contains(r#"<label for="c-r0-0">"#));
        assert!(!page.contains("<script"), "no script on the selection page");
    }

    #[test]
    fn fixed_selection_has_no_checkboxes_and_dev_banner_shows() {
        let page = select(
            Lang::De,
            true,
            "id1",
            "tok",
            "A",
            &offers(),
            false,
            "h",
            None,
        );
        assert!(!page.contains(r#"name="course""#));
        assert!(page.contains("Entwicklungsmodus"));
        assert!(page.contains(r#"lang="de""#));
    }

    #[test]
    fn the_return_form_carries_exactly_its_fields_and_the_hashed_script() {
        let page = return_form(
            Lang::En,
            false,
            "https://smp.example/r?a=1&b=2",
            &[("sessionId", "s\"1"), ("returnCode", "NCP_OK")],
            None,
        );
        assert!(page.contains(r#"action="https://smp.example/r?a=1&amp;b=2""#));
        assert!(page.contains(r#"name="sessionId" value="s&quot;1""#));
        assert!(page.contains(&format!("<script>{AUTO_SUBMIT_JS}</script>")));
        assert!(auto_submit_hash().starts_with("'sha256-"));
    }
}
