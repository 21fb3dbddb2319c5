//! The SMP's pages (maud, everything escaped; no external assets; the only script is the hashed
//! auto-submit of the form that carries the student to the NCP).

use maud::{Markup, PreEscaped, html};

use crate::model::{ExchangeRecord, OutcomeKind};
use crate::registry::Snapshot;

/// The stylesheet at `/assets/smp.css`.
pub const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1a1a1a; --muted: #4a4a4a; --accent: #185c37; --line: #c8c8c8; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); line-height: 1.5; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
.dev { background: #fff4ce; color: #4d3800; border-bottom: 2px solid #8a6d00; padding: .6rem 1.25rem; font-weight: 600; }
h1 { font-size: 1.6rem; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: 1rem 0; padding: .5rem 1rem 1rem; }
label { display: block; margin: .5rem 0 .2rem; font-weight: 600; } input[type=text], input[type=date] { font: inherit; padding: .35rem; width: 100%; max-width: 24rem; }
button, a.button { font: inherit; padding: .55rem 1rem; border-radius: .35rem; border: 2px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; margin: .25rem .5rem .25rem 0; }
button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
ul.countries { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
.outcome { padding: .75rem 1rem; border-left: 4px solid; margin: 1rem 0; }
.outcome.good { background: #e6f4ea; border-color: #185c37; } .outcome.bad { background: #fde7e9; border-color: #7a0010; } .outcome.warn { background: #fff4ce; border-color: #8a6d00; }
.hint { color: var(--muted); }
"#;

/// The auto-submit script (its hash is in the CSP of the page that carries it).
pub const AUTO_SUBMIT_JS: &str = "document.getElementById('emrex-go').submit();";

/// `'sha256-…'` of [`AUTO_SUBMIT_JS`].
pub fn auto_submit_hash() -> String {
    emrex_web::script_hash(AUTO_SUBMIT_JS)
}

/// The chrome of every page (the shell the NCP uses too).
fn layout(dev_mode: bool, title: &str, body: Markup) -> String {
    emrex_web::Shell {
        lang: "en",
        site: "EMREX SMP",
        stylesheet: "/assets/smp.css",
        skip_link: "Skip to content",
        dev_banner: dev_mode
            .then_some("Development mode: demo federation. Never use for real students."),
    }
    .page(title, body)
}

/// The country list.
pub fn countries(dev_mode: bool, snapshot: &Snapshot) -> String {
    let mut codes: Vec<_> = snapshot
        .countries
        .iter()
        .filter(|c| snapshot.ncps_in(&c.code).next().is_some())
        .collect();
    codes.sort_by(|a, b| a.name.cmp(&b.name));
    layout(
        dev_mode,
        "Fetch your results",
        html! {
            h1 { "Fetch your study results" }
            p { "Choose the country of the institution that holds your results. You will log in there, choose results, and they come back here, digitally signed." }
            @if codes.is_empty() { p.hint id="no-ncps" { "No results providers are registered yet." } }
            ul.countries {
                @for c in codes {
                    li { a.button href={ "/country/" (c.code) } id={ "country-" (c.code) } { (c.name) } }
                }
            }
        },
    )
}

/// The NCPs of a country, with the person fields (development: filled in, editable).
pub fn country(
    dev_mode: bool,
    snapshot: &Snapshot,
    code: &str,
    person: &crate::model::Person,
) -> String {
    let name = snapshot
        .countries
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
        .map_or(code.to_string(), |c| c.name.clone());
    let ncps: Vec<_> = snapshot.ncps_in(code).collect();
    layout(
        dev_mode,
        &name,
        html! {
            h1 { "Fetch your results from " (name) }
            form method="post" action="/start" {
                fieldset {
                    legend { "You" }
                    p.hint { "The results must belong to this person; they are checked when they come back." }
                    label for="given_names" { "Given names" }
                    input type="text" id="given_names" name="given_names" value=(person.given_names) required;
                    label for="family_name" { "Family name" }
                    input type="text" id="family_name" name="family_name" value=(person.family_name) required;
                    label for="birth_date" { "Date of birth" }
                    input type="date" id="birth_date" name="birth_date" value=(person.birth_date.clone().unwrap_or_default());
                }
                fieldset {
                    legend { "Where are your results?" }
                    @for n in &ncps {
                        button type="submit" name="ncp" value=(n.acronym) id={ "ncp-" (n.acronym) } {
                            (n.institutions.first().cloned().unwrap_or_else(|| n.acronym.clone()))
                        }
                    }
                }
            }
            p { a href="/" { "Back to the countries" } }
        },
    )
}

/// The page that carries the student to the NCP.
pub fn go(dev_mode: bool, ncp_url: &str, fields: &[(&str, &str)], ncp_name: &str) -> String {
    layout(
        dev_mode,
        "Going to the results provider",
        html! {
            h1 { "Going to " (ncp_name) }
            p { "If nothing happens, press the button." }
            form method="post" action=(ncp_url) id="emrex-go" enctype="application/x-www-form-urlencoded" {
                @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
                button type="submit" id="go" { "Continue" }
            }
            script { (PreEscaped(AUTO_SUBMIT_JS)) }
        },
    )
}

/// The result of an exchange (for the student, right after the return hop).
pub fn result(
    dev_mode: bool,
    record: &ExchangeRecord,
    courses: &[crate::grpc::CourseRow],
    pdf_link: Option<&str>,
) -> String {
    let outcome = record.outcome.as_ref();
    let kind = outcome.map(|o| o.kind);
    let (class, headline) = match kind {
        Some(OutcomeKind::Verified) => (
            "good",
            "Verified: your results arrived, signed by the provider, and they are yours.",
        ),
        Some(OutcomeKind::IdentityReview) => (
            "warn",
            "Your results arrived and are signed, but the name or date of birth differs slightly; a member of staff will check them.",
        ),
        Some(OutcomeKind::IdentityMismatch) => (
            "bad",
            "The results that arrived belong to another person; they were not imported.",
        ),
        Some(OutcomeKind::SignatureInvalid) => (
            "bad",
            "The results could not be verified; they were not imported.",
        ),
        Some(OutcomeKind::Undecodable) => (
            "bad",
            "The response could not be read; nothing was imported.",
        ),
        Some(OutcomeKind::NcpReturned) => ("warn", "No results were sent."),
        None => ("warn", "Waiting for the results provider."),
    };
    layout(
        dev_mode,
        "Your results",
        html! {
            h1 { "Your results" }
            div class={ "outcome " (class) } id="outcome" data-kind=(kind.map(|k| format!("{k:?}")).unwrap_or_default()) {
                p { strong { (headline) } }
                @if let Some(o) = outcome {
                    @if !o.return_code.is_empty() { p.hint { "Provider's answer: " (o.return_code) @if !o.return_message.is_empty() { " — " (o.return_message) } } }
                    p.hint { (o.detail) }
                }
            }
            @if !courses.is_empty() {
                table id="courses" {
                    thead { tr { th { "Institution" } th { "Course" } th { "Date" } th { "Grade" } th { "ECTS" } th { "Status" } } }
                    tbody {
                        @for c in courses {
                            tr { td { (c.institution) } td { (c.title) } td { (c.date) } td { (c.result) } td { (c.credits) } td { (c.status) } }
                        }
                    }
                }
            }
            @if let Some(link) = pdf_link { p { a.button href=(link) id="pdf" { "Download the transcript (PDF)" } } }
            p { a href="/" { "Start again" } }
        },
    )
}

/// An error page.
pub fn error(dev_mode: bool, message: &str) -> String {
    let back = emrex_web::Link {
        href: "/",
        text: "Start again",
    };
    layout(
        dev_mode,
        "Error",
        emrex_web::refusal("This cannot be done", message, None, Some(back)),
    )
}
