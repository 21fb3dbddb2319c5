//! Server-rendered pages (maud: every interpolation is HTML-escaped). No external assets: one
//! stylesheet served by the NCP itself, no script except the auto-submit of the return form,
//! allowed by its hash in the Content-Security-Policy.
//!
//! Accessibility: `lang` on every page (and on titles in another language), a skip link, a
//! language switch, real `<label>`s for every control, a `<fieldset>`/`<legend>` per report, a
//! table with header cells (one labelled card per row on phones), visible focus (3:1 or more),
//! no information by colour alone, text contrast ≥ 4.5:1, and everything works with the
//! keyboard and without script (the return form has a visible button; "select all" is a
//! button the server answers). axe-core checks every page in the browser tests.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use maud::{Markup, PreEscaped, html};

use crate::i18n::{Lang, LangTexts, Texts};
use crate::selection::{Offer, Offers};
use emrex_elmo::model::LoiStatus;

/// The NCP's own styles, after `emrex_web::COMMON_STYLE` (focus ring, phone tables, hosts).
const NCP_STYLE: &str = r#"
:root { --fg: #1a1a1a; --muted: #4a4a4a; --accent: #0b4f8a; --bg: #ffffff; --line: #c8c8c8; --err-bg: #fde7e9; --err-fg: #7a0010; }
body { color: var(--fg); background: var(--bg); }
h1 { font-size: 1.6rem; margin: 1rem 0; } h2 { font-size: 1.2rem; }
fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: 1.25rem 0; padding: .5rem 1rem 1rem; min-width: 0; }
legend { font-weight: 700; padding: 0 .4rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; } td.num { text-align: right; white-space: nowrap; }
.depth-1 td.title { padding-left: 1.75rem; } .depth-2 td.title { padding-left: 3rem; } .depth-3 td.title { padding-left: 4.25rem; }
tr.context td { color: var(--muted); } tr.context td.title { font-weight: 600; }
.status-failed { color: var(--err-fg); } .status-in-progress { color: var(--muted); font-style: italic; }
.consent { background: #eef4fb; border: 1px solid #9bb9d9; border-radius: .4rem; padding: .75rem 1rem; margin: 1.25rem 0; }
.consent label { margin-left: .25rem; }
button, .button { font: inherit; padding: .6rem 1.1rem; border-radius: .35rem; border: 2px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; margin: .25rem .5rem .25rem 0; }
button.secondary { background: #fff; color: var(--accent); }
input[type=checkbox] { width: 1.2rem; height: 1.2rem; vertical-align: middle; }
.error { background: var(--err-bg); color: var(--err-fg); border-left: 4px solid var(--err-fg); padding: .75rem 1rem; }
.who { color: var(--muted); }
ul.students { list-style: none; padding: 0; } ul.students li { margin: .5rem 0; }
.hint { color: var(--muted); font-size: .95rem; }
.offer { border: 1px solid var(--line); border-radius: .4rem; padding: .75rem 1rem; margin: 1.25rem 0; }
.qr svg { width: 100%; max-width: 18rem; height: auto; display: block; }
.tx-code { font-size: 2.4rem; font-weight: 700; letter-spacing: .3rem; font-variant-numeric: tabular-nums; margin: .25rem 0; }
.code-label { font-weight: 600; margin-bottom: 0; }
a.button.secondary { background: #fff; color: var(--accent); overflow-wrap: anywhere; }
@media (max-width: 600px) {
  tr.depth-1 { padding-left: 1rem; } tr.depth-2 { padding-left: 2rem; } tr.depth-3 { padding-left: 3rem; }
  .depth-1 td.title, .depth-2 td.title, .depth-3 td.title { padding-left: 0; }
  table.rows td.pick { float: left; width: auto; margin-right: .5rem; }
}
"#;

/// The stylesheet at `/assets/ncp.css`: the shared styles, then the NCP's.
pub static STYLE: LazyLock<String> =
    LazyLock::new(|| format!("{}{NCP_STYLE}", emrex_web::COMMON_STYLE));

/// The auto-submit script of the return form (the only script; its hash is in the CSP).
pub const AUTO_SUBMIT_JS: &str = "document.getElementById('emrex-return').submit();";

/// `'sha256-…'` of [`AUTO_SUBMIT_JS`] for `script-src`.
pub fn auto_submit_hash() -> String {
    emrex_web::script_hash(AUTO_SUBMIT_JS)
}

/// The language and chrome of one page.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub lang: Lang,
    pub dev_mode: bool,
    /// The page's address for the language switch (`None`: no switch, e.g. an auto-submitting
    /// page).
    pub here: Option<&'a str>,
}

impl Frame<'_> {
    /// A whole page in the shell the SMP uses too.
    fn page(&self, title: &str, body: Markup) -> String {
        let t = self.lang.texts();
        emrex_web::Shell {
            lang: self.lang,
            site: "EMREX",
            stylesheet: "/assets/ncp.css",
            skip_link: t.skip_link,
            dev_banner: self.dev_mode.then_some(t.dev_banner),
            languages: self.here.map(|here| emrex_web::LangSwitch {
                label: t.languages,
                here,
            }),
        }
        .page(title, body)
    }
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
    frame: Frame<'_>,
    exchange_id: &str,
    csrf: &str,
    oidc: bool,
    dev_students: &[DevStudent],
) -> String {
    let t = frame.lang.texts();
    frame.page(
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

/// What the selection page shows besides the offers.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    pub exchange_id: &'a str,
    pub csrf: &'a str,
    pub student_name: &'a str,
    /// Whether the student may choose (`allowToPickCourses`).
    pub allow_pick: bool,
    pub return_host: &'a str,
    /// What the student had ticked (kept when the page comes back with an error).
    pub chosen: &'a BTreeSet<String>,
    /// Whether the consent box was ticked.
    pub consent: bool,
    /// Why the page came back (a missing consent, nothing chosen).
    pub error: Option<&'a str>,
    /// The wallet option: `None` when the wallet issuance is off, else whether it is ticked.
    pub wallet: Option<bool>,
}

/// The selection and consent page.
pub fn select(frame: Frame<'_>, offers: &Offers, s: &Selection<'_>) -> String {
    let lang = frame.lang;
    let t = lang.texts();
    let pick = s.allow_pick;
    frame.page(
        t.select_title,
        html! {
            h1 { (t.select_title) }
            p.who { (t.logged_in_as) " " strong { (s.student_name) } }
            @if let Some(e) = s.error { p.error role="alert" id="form-error" { (e) } }
            p { (with_host(if pick { t.select_intro } else { t.select_intro_fixed }, s.return_host)) }
            @if !pick { p.hint { (t.select_fixed) } }
            @if offers.hidden > 0 {
                p.hint id="hidden-note" { (t.hidden_note.replace("{n}", &offers.hidden.to_string())) }
            }
            form method="post" action={ "/x/" (s.exchange_id) "/send" } id="select-form" {
                input type="hidden" name="csrf" value=(s.csrf);
                @if pick {
                    // A real control, without script: the server ticks every offered result and
                    // shows the page again (the consent box as it was).
                    button.secondary type="submit" name="do" value="select-all" formnovalidate id="select-all" { (t.select_all) }
                }
                @for (r, report) in offers.reports.iter().enumerate() {
                    @let items: Vec<&Offer> = offers.items.iter().filter(|o| o.report == r).collect();
                    @if !items.is_empty() {
                        fieldset {
                            legend { (report) }
                            table.rows {
                                thead { tr {
                                    @if pick { th scope="col" { (t.select_column) } }
                                    th scope="col" { (t.col_course) }
                                    th scope="col" { (t.col_date) }
                                    th scope="col" { (t.col_result) }
                                    th scope="col" { (t.col_credits) }
                                    th scope="col" { (t.col_status) }
                                } }
                                tbody {
                                    @for o in items { (offer_row(lang, t, o, pick, s.chosen)) }
                                }
                            }
                        }
                    }
                }
                div.consent {
                    input type="checkbox" name="consent" value="yes" id="consent" required checked[s.consent];
                    label for="consent" { (with_host(if pick { t.consent } else { t.consent_fixed }, s.return_host)) }
                }
                @if let Some(ticked) = s.wallet {
                    div.consent.wallet {
                        input type="checkbox" name="wallet" value="yes" id="wallet" aria-describedby="wallet-hint" checked[ticked];
                        label for="wallet" { (t.wallet_option) }
                        p.hint id="wallet-hint" { (t.wallet_option_hint) }
                    }
                }
                button type="submit" id="send" { (if pick { t.send } else { t.send_fixed }) }
            }
            (cancel_form(t, s.exchange_id, s.csrf))
        },
    )
}

fn offer_row(lang: Lang, t: &Texts, o: &Offer, pick: bool, chosen: &BTreeSet<String>) -> Markup {
    let title = html! {
        @if let Some(l) = &o.title_lang { span lang=(l) { (o.title) } } @else { (o.title) }
    };
    let dash = "–";
    html! {
        tr class={ "depth-" (o.depth.min(3)) @if !o.offered { " context" } } {
            @if pick {
                td.pick {
                    @if o.offered {
                        input type="checkbox" name="course" value=(o.key) id={ "c-" (o.key) } checked[chosen.contains(&o.key)];
                    }
                }
            }
            td.title {
                @if pick && o.offered {
                    label for={ "c-" (o.key) } { (title) }
                } @else { (title) }
                @if let Some(k) = &o.kind { " " span.hint { "(" (t.kind(k)) ")" } }
            }
            td data-label=(t.col_date) { (o.date.as_deref().map_or(dash.to_string(), |d| lang.date(d))) }
            td data-label=(t.col_result) { (o.result.as_deref().unwrap_or(dash)) }
            td.num data-label=(t.col_credits) { (o.credits.as_deref().map_or(dash.to_string(), |c| lang.decimal(c))) }
            td class={ "status-" (status_class(&o.status)) } data-label=(t.col_status) {
                (status_text(t, &o.status))
                @if !o.offered { " — " (t.not_offered) }
            }
        }
    }
}

/// `template` with `{host}` shown as a host (never broken inside, see `emrex_web`'s styles).
fn with_host(template: &str, host: &str) -> Markup {
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
    frame: Frame<'_>,
    action: &str,
    fields: &[(&str, &str)],
    note: Option<&str>,
) -> String {
    let t = frame.lang.texts();
    frame.page(
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

/// What the wallet offer page shows.
#[derive(Debug, Clone)]
pub struct WalletOffer<'a> {
    /// `openid-credential-offer://…`.
    pub uri: &'a str,
    /// The QR code of `uri`, an SVG document.
    pub qr_svg: &'a str,
    pub tx_code: &'a str,
    pub minutes: u64,
}

/// The page after consent when the student asked for the wallet: the offer (QR code, same-device
/// link, transaction code, lifetime) above the return form to the client, which here is not
/// submitted by script: the student continues with its button when done (or right away). When
/// the offer could not be made, `offer` is `None` and the page says so; the results still go.
pub fn wallet_offer(
    frame: Frame<'_>,
    offer: Option<&WalletOffer<'_>>,
    return_host: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> String {
    let t = frame.lang.texts();
    frame.page(
        t.wallet_title,
        html! {
            h1 { (t.wallet_title) }
            @if let Some(o) = offer {
                p { (with_host(t.wallet_intro, return_host)) }
                div.offer {
                    p { (t.wallet_scan) }
                    // The SVG is made by the qrcode crate from our own URI (no input from
                    // anyone else), so it is inserted as markup.
                    div.qr role="img" aria-label=(t.wallet_scan) { (PreEscaped(o.qr_svg)) }
                    p { a.button.secondary href=(o.uri) id="same-device" { (t.wallet_same_device) } }
                    p.code-label id="tx-label" { (t.wallet_code_label) }
                    p.tx-code id="tx-code" aria-labelledby="tx-label" { (o.tx_code) }
                    p { (t.wallet_code_help) }
                    p.hint id="offer-lasts" { (t.wallet_lasts.replace("{n}", &o.minutes.to_string())) }
                }
            } @else {
                p.error role="alert" id="wallet-failed" { (with_host(t.wallet_failed, return_host)) }
            }
            form method="post" action=(action) id="emrex-return" enctype="application/x-www-form-urlencoded" {
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" id="return" { (with_host(t.wallet_continue, return_host)) }
            }
        },
    )
}

/// Where a refused student can go instead: the client that sent them, when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Back {
    /// The client's site (its return URL's origin, `/`).
    pub href: String,
    /// Its host, as the page names it.
    pub host: String,
}

/// An error page (nothing is sent to the client).
pub fn error(frame: Frame<'_>, message: &str, detail: Option<&str>, back: Option<&Back>) -> String {
    let t = frame.lang.texts();
    let back_text = back.map(|b| t.back_to.replace("{host}", &b.host));
    let link = back
        .zip(back_text.as_deref())
        .map(|(b, text)| emrex_web::Link {
            href: &b.href,
            text,
        });
    frame.page(
        t.error_title,
        emrex_web::refusal(t.error_title, message, detail, link),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::Offer;

    fn offer(key: &str, depth: usize, title: &str, offered: bool) -> Offer {
        Offer {
            key: key.into(),
            report: 0,
            depth,
            title: title.into(),
            title_lang: None,
            kind: Some("Course".into()),
            date: Some("2020-01-15".into()),
            result: Some("A".into()),
            credits: Some("7.5".into()),
            status: if offered {
                LoiStatus::Passed
            } else {
                LoiStatus::InProgress
            },
            offered,
        }
    }

    fn offers() -> Offers {
        Offers {
            reports: vec!["Uni <One>".into()],
            items: vec![offer(
                "r0-0",
                0,
                "Algebra & <script>alert(1)</script>",
                true,
            )],
            hidden: 0,
        }
    }

    fn frame(lang: Lang, dev_mode: bool) -> Frame<'static> {
        Frame {
            lang,
            dev_mode,
            here: Some("/x/id1"),
        }
    }

    fn selection<'a>(chosen: &'a BTreeSet<String>, allow_pick: bool) -> Selection<'a> {
        Selection {
            exchange_id: "id1",
            csrf: "tok",
            student_name: "Zoë \"Q\"",
            allow_pick,
            return_host: "smp.example\"><b>",
            chosen,
            consent: false,
            error: None,
            wallet: None,
        }
    }

    #[test]
    fn the_wallet_option_shows_only_when_enabled_and_the_offer_page_escapes() {
        let none = BTreeSet::new();
        let off = select(frame(Lang::En, false), &offers(), &selection(&none, true));
        assert!(!off.contains("name=\"wallet\""));
        let mut s = selection(&none, true);
        s.wallet = Some(true);
        let on = select(frame(Lang::De, false), &offers(), &s);
        assert!(on.contains("name=\"wallet\" value=\"yes\""), "{on}");
        assert!(on.contains(Lang::De.texts().wallet_option));
        let offer = WalletOffer {
            uri: "openid-credential-offer://?credential_offer=%7B%22a%22%3A1%7D\"><b>",
            qr_svg: "<svg></svg>",
            tx_code: "012345",
            minutes: 10,
        };
        let page = wallet_offer(
            frame(Lang::Fr, false),
            Some(&offer),
            "smp.example",
            "https://smp.example/r",
            &[("elmo", "x\"y")],
        );
        assert!(page.contains("012345"));
        assert!(page.contains("10 min"));
        assert!(!page.contains("\"><b>"));
        assert!(page.contains("<svg></svg>"));
        assert!(
            !page.contains("<script"),
            "no script: the student continues by the button"
        );
        let failed = wallet_offer(
            frame(Lang::En, false),
            None,
            "smp.example",
            "https://smp.example/r",
            &[],
        );
        assert!(failed.contains("wallet-failed"));
        assert!(failed.contains("id=\"return\""));
    }

    #[test]
    fn pages_escape_everything_from_documents() {
        let none = BTreeSet::new();
        let page = select(frame(Lang::En, false), &offers(), &selection(&none, true));
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("Algebra &amp; &lt;script&gt;"));
        assert!(page.contains("Uni &lt;One&gt;"));
        assert!(!page.contains("\"><b>"));
        assert!(page.contains(r#"<html lang="en">"#));
        assert!(page.contains(r#"<label for="c-r0-0">"#));
        assert!(!page.contains("<script"), "no script on the selection page");
    }

    #[test]
    fn fixed_selection_has_no_checkboxes_nor_talk_of_choosing() {
        let none = BTreeSet::new();
        let page = select(frame(Lang::De, true), &offers(), &selection(&none, false));
        assert!(!page.contains(r#"name="course""#));
        assert!(!page.contains("select-all"));
        assert!(page.contains("Entwicklungsmodus"));
        assert!(page.contains(r#"lang="de""#));
        let en = select(frame(Lang::En, false), &offers(), &selection(&none, false));
        assert!(!en.contains("The ones you choose"), "{en}");
        assert!(!en.contains("the selected results"), "{en}");
        assert!(en.contains("Send these results"));
    }

    #[test]
    fn select_all_is_a_real_button_and_choices_and_consent_are_kept() {
        let chosen = BTreeSet::from(["r0-0".to_string()]);
        let mut s = selection(&chosen, true);
        s.consent = true;
        s.error = Some("Please choose at least one result, or cancel.");
        let page = select(frame(Lang::En, false), &offers(), &s);
        assert!(page.contains(
            r#"<button class="secondary" type="submit" name="do" value="select-all" formnovalidate id="select-all">"#
        ));
        assert!(page.contains(r#"id="c-r0-0" checked>"#), "{page}");
        assert!(page.contains(r#"id="consent" required checked>"#), "{page}");
        // The column header no longer claims a "select all" it does not have.
        assert!(page.contains(r#"<th scope="col">Choose</th>"#));
    }

    #[test]
    fn numbers_dates_and_words_are_in_the_pages_language() {
        let none = BTreeSet::new();
        let mut o = offers();
        o.items[0].title_lang = Some("sv".into());
        let de = select(frame(Lang::De, true), &o, &selection(&none, true));
        assert!(de.contains(">7,5<"), "credits in German");
        assert!(de.contains(">15.01.2020<"), "date in German");
        assert!(de.contains("(Lehrveranstaltung)"), "kind in German");
        assert!(de.contains("Zum Inhalt springen"), "skip link in German");
        assert!(!de.contains("Skip to content"));
        assert!(
            de.contains(r#"<span lang="sv">Algebra"#),
            "foreign title marked"
        );
        let fr = select(frame(Lang::Fr, false), &o, &selection(&none, true));
        assert!(fr.contains(">7,5<") && fr.contains(">15/01/2020<"));
        let en = select(frame(Lang::En, false), &o, &selection(&none, true));
        assert!(en.contains(">7.5<") && en.contains(">15 Jan 2020<"));
        // The switch keeps the exchange.
        assert!(de.contains(r#"href="/x/id1?lang=fr""#));
    }

    #[test]
    fn what_is_not_offered_is_said_and_headings_stay() {
        let none = BTreeSet::new();
        let o = Offers {
            reports: vec!["U".into()],
            items: vec![
                offer("r0-0", 0, "Bachelor", false),
                offer("r0-1", 1, "Algebra", true),
            ],
            hidden: 3,
        };
        let page = select(frame(Lang::En, false), &o, &selection(&none, true));
        assert!(page.contains("(3 in all)"), "{page}");
        assert!(page.contains(r#"<tr class="depth-0 context">"#), "{page}");
        assert!(
            !page.contains(r#"id="c-r0-0""#),
            "the heading has no checkbox"
        );
        assert!(page.contains(r#"id="c-r0-1""#));
        assert!(page.contains("in progress — not offered"));
    }

    #[test]
    fn the_host_is_kept_whole_and_rows_are_labelled_for_phones() {
        let none = BTreeSet::new();
        let page = select(frame(Lang::En, false), &offers(), &selection(&none, true));
        assert!(page.contains(r#"<span class="host">"#));
        assert!(page.contains(r#"<table class="rows">"#));
        assert!(page.contains(r#"data-label="ECTS credits""#));
        assert!(!STYLE.contains("break-all"), "hosts never split mid-token");
        for c in emrex_web::contrast::outline_colours(&STYLE) {
            assert!(
                emrex_web::contrast::ratio(c, [255, 255, 255]) >= 3.0,
                "{c:?}"
            );
        }
    }

    #[test]
    fn an_error_page_offers_the_way_back_when_it_is_known() {
        let back = Back {
            href: "https://smp.example/".into(),
            host: "smp.example".into(),
        };
        let page = error(frame(Lang::Fr, false), "Expiré", None, Some(&back));
        assert!(page.contains(r#"<a href="https://smp.example/">Retour à smp.example</a>"#));
        let page = error(frame(Lang::En, false), "Gone", None, None);
        assert!(!page.contains("Back to"));
    }

    #[test]
    fn the_return_form_carries_exactly_its_fields_and_the_hashed_script() {
        let page = return_form(
            Frame {
                lang: Lang::En,
                dev_mode: false,
                here: None,
            },
            "https://smp.example/r?a=1&b=2",
            &[("sessionId", "s\"1"), ("returnCode", "NCP_OK")],
            None,
        );
        assert!(page.contains(r#"action="https://smp.example/r?a=1&amp;b=2""#));
        assert!(page.contains(r#"name="sessionId" value="s&quot;1""#));
        assert!(page.contains(&format!("<script>{AUTO_SUBMIT_JS}</script>")));
        assert!(
            !page.contains("id=\"languages\""),
            "no switch on an auto-submit page"
        );
        assert!(auto_submit_hash().starts_with("'sha256-"));
    }
}
