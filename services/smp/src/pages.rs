//! The SMP's pages (maud, everything escaped; no external assets; the only script is the hashed
//! auto-submit of the form that carries the student to the NCP), in English, German and French
//! ([`crate::i18n`]), in the shell the NCP uses too (`emrex_web`).
//!
//! Every outcome page says what happened in plain words and what to do next; return codes,
//! verification errors and identity scores are behind a "technical details" disclosure, capped
//! in length. Tables become one labelled card per row on phones.

use std::sync::LazyLock;

use emrex_elmo::model::{Elmo, LangText, LearningOpportunitySpecification, LoiStatus};
use maud::{Markup, PreEscaped, html};

use crate::i18n::{Lang, LangTexts, OutcomeText, Texts};
use crate::model::{ExchangeRecord, OutcomeKind, Person};
use crate::registry::Snapshot;

/// The SMP's own styles, after `emrex_web::COMMON_STYLE`.
const SMP_STYLE: &str = r#"
:root { --fg: #1a1a1a; --muted: #4a4a4a; --accent: #185c37; --line: #c8c8c8; }
body { color: var(--fg); background: #fff; }
h1 { font-size: 1.6rem; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
.depth-1 td.title { padding-left: 1.5rem; } .depth-2 td.title { padding-left: 2.75rem; } .depth-3 td.title { padding-left: 4rem; }
fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: 1rem 0; padding: .5rem 1rem 1rem; min-width: 0; }
label { display: block; margin: .5rem 0 .2rem; font-weight: 600; } input[type=text], input[type=date] { font: inherit; padding: .35rem; width: 100%; max-width: 24rem; }
button, a.button { font: inherit; padding: .55rem 1rem; border-radius: .35rem; border: 2px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; margin: .25rem .5rem .25rem 0; }
ul.countries { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
.outcome { padding: .75rem 1rem; border-left: 4px solid; margin: 1rem 0; }
.outcome.good { background: #e6f4ea; border-color: #185c37; } .outcome.bad { background: #fde7e9; border-color: #7a0010; } .outcome.warn { background: #fff4ce; border-color: #8a6d00; }
.error { background: #fde7e9; color: #7a0010; border-left: 4px solid #7a0010; padding: .75rem 1rem; }
.hint { color: var(--muted); }
@media (max-width: 600px) {
  tr.depth-1 { padding-left: 1rem; } tr.depth-2 { padding-left: 2rem; } tr.depth-3 { padding-left: 3rem; }
  .depth-1 td.title, .depth-2 td.title, .depth-3 td.title { padding-left: 0; }
  table.rows td.title { font-weight: 600; }
}
"#;

/// The stylesheet at `/assets/smp.css`: the shared styles, then the SMP's.
pub static STYLE: LazyLock<String> =
    LazyLock::new(|| format!("{}{SMP_STYLE}", emrex_web::COMMON_STYLE));

/// The auto-submit script (its hash is in the CSP of the page that carries it).
pub const AUTO_SUBMIT_JS: &str = "document.getElementById('emrex-go').submit();";

/// `'sha256-…'` of [`AUTO_SUBMIT_JS`].
pub fn auto_submit_hash() -> String {
    emrex_web::script_hash(AUTO_SUBMIT_JS)
}

/// Longest `returnMessage` shown (the outcome keeps 1000 characters, the raw body all of it).
pub const SHOWN_MESSAGE_CHARS: usize = 300;

/// Longest verification detail shown.
const SHOWN_DETAIL_CHARS: usize = 2000;

/// The language and chrome of one page.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub lang: Lang,
    pub dev_mode: bool,
    /// The page's address for the language switch (`None`: no switch).
    pub here: Option<&'a str>,
}

impl Frame<'_> {
    fn page(&self, title: &str, body: Markup) -> String {
        let t = self.lang.texts();
        emrex_web::Shell {
            lang: self.lang,
            site: t.site,
            stylesheet: "/assets/smp.css",
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

/// The country list.
pub fn countries(frame: Frame<'_>, snapshot: &Snapshot) -> String {
    let t = frame.lang.texts();
    let mut codes: Vec<_> = snapshot
        .countries
        .iter()
        .filter(|c| snapshot.ncps_in(&c.code).next().is_some())
        .collect();
    codes.sort_by(|a, b| a.name.cmp(&b.name));
    frame.page(
        t.countries_title,
        html! {
            h1 { (t.countries_heading) }
            p { (t.countries_intro) }
            @if codes.is_empty() { p.hint id="no-ncps" { (t.no_ncps) } }
            ul.countries {
                @for c in codes {
                    li { a.button href={ "/country/" (c.code) } id={ "country-" (c.code) } { (c.name) } }
                }
            }
        },
    )
}

/// The NCPs of a country, with the person fields (development: filled in, editable); `error`
/// when the form came back.
pub fn country(
    frame: Frame<'_>,
    snapshot: &Snapshot,
    code: &str,
    person: &Person,
    error: Option<&str>,
) -> String {
    let t = frame.lang.texts();
    let name = snapshot
        .countries
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
        .map_or(code.to_string(), |c| c.name.clone());
    let ncps: Vec<_> = snapshot.ncps_in(code).collect();
    let heading = t.country_heading.replace("{country}", &name);
    frame.page(
        &heading,
        html! {
            h1 { (heading) }
            @if let Some(e) = error { p.error role="alert" id="form-error" { (e) } }
            form method="post" action="/start" {
                fieldset {
                    legend { (t.you) }
                    p.hint { (t.you_hint) }
                    label for="given_names" { (t.given_names) }
                    input type="text" id="given_names" name="given_names" value=(person.given_names) autocomplete="given-name" required;
                    label for="family_name" { (t.family_name) }
                    input type="text" id="family_name" name="family_name" value=(person.family_name) autocomplete="family-name" required;
                    label for="birth_date" { (t.birth_date) }
                    input type="date" id="birth_date" name="birth_date" value=(person.birth_date.clone().unwrap_or_default()) autocomplete="bday";
                }
                fieldset {
                    legend { (t.where_results) }
                    @for n in &ncps {
                        button type="submit" name="ncp" value=(n.acronym) id={ "ncp-" (n.acronym) } {
                            (n.institutions.first().cloned().unwrap_or_else(|| n.acronym.clone()))
                        }
                    }
                }
            }
            p { a href="/" { (t.back_to_countries) } }
        },
    )
}

/// The page that carries the student to the NCP, named by its institution.
pub fn go(frame: Frame<'_>, ncp_url: &str, fields: &[(&str, &str)], institution: &str) -> String {
    let t = frame.lang.texts();
    frame.page(
        t.go_title,
        html! {
            h1 { (t.go_heading.replace("{institution}", institution)) }
            p { (t.go_intro) }
            form method="post" action=(ncp_url) id="emrex-go" enctype="application/x-www-form-urlencoded" {
                @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
                button type="submit" id="go" { (t.go_button) }
            }
            script { (PreEscaped(AUTO_SUBMIT_JS)) }
        },
    )
}

/// What the student is told about an outcome, and the box's colour.
pub fn outcome_text<'a>(t: &'a Texts, record: &ExchangeRecord) -> (&'static str, &'a OutcomeText) {
    let Some(o) = record.outcome.as_ref() else {
        return ("warn", &t.pending);
    };
    match o.kind {
        OutcomeKind::Verified => ("good", &t.verified),
        OutcomeKind::IdentityReview => ("warn", &t.review),
        OutcomeKind::IdentityMismatch => ("bad", &t.mismatch),
        OutcomeKind::SignatureInvalid => ("bad", &t.signature_invalid),
        OutcomeKind::Undecodable => ("bad", &t.undecodable),
        OutcomeKind::Stale => ("bad", &t.stale),
        OutcomeKind::NcpReturned => match o.return_code.trim() {
            "NCP_CANCEL" | "EMP_CANCEL" => ("warn", &t.cancelled),
            "NCP_NO_RESULTS" | "EMP_NO_RESULTS" => ("warn", &t.no_results),
            _ => ("bad", &t.provider_error),
        },
    }
}

/// One row of the results table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub institution: String,
    pub depth: usize,
    pub title: String,
    /// The title's language when it differs from the page's.
    pub title_lang: Option<String>,
    pub date: String,
    pub result: String,
    pub credits: String,
    pub status: LoiStatus,
    /// ELMO 2.1 `documentType` (empty when not given).
    pub document_type: String,
    /// ELMO 2.1 `enrolment`.
    pub enrolment: Option<crate::grpc::EnrolmentRow>,
}

/// The rows of a received document in `lang`: titles in the closest language, dates and
/// numbers written the language's way, nesting kept.
pub fn result_rows(elmo: &Elmo, lang: Lang) -> Vec<ResultRow> {
    fn walk(
        los: &LearningOpportunitySpecification,
        depth: usize,
        institution: &str,
        lang: Lang,
        rows: &mut Vec<ResultRow>,
    ) {
        let loi = los.specifies.as_ref();
        let title = pick(&los.titles, lang.tag());
        rows.push(ResultRow {
            institution: institution.to_string(),
            depth,
            title: title.map(|t| t.text.clone()).unwrap_or_default(),
            title_lang: title
                .and_then(|t| t.lang.as_deref())
                .filter(|l| Lang::from_tag(l) != Some(lang))
                .map(str::to_string),
            date: loi
                .and_then(|i| i.date.as_deref())
                .map(|d| lang.date(d))
                .unwrap_or_default(),
            result: loi.and_then(|i| i.result_label.clone()).unwrap_or_default(),
            credits: loi
                .and_then(|i| {
                    i.credits
                        .iter()
                        .find(|c| c.is_ects())
                        .and_then(|c| c.value.as_deref())
                })
                .map(|v| lang.decimal(v))
                .unwrap_or_default(),
            status: loi
                .map(|i| i.effective_status())
                .unwrap_or(LoiStatus::Passed),
            document_type: los.document_type.clone().unwrap_or_default(),
            enrolment: loi
                .and_then(|i| i.enrolment.as_ref())
                .map(|e| crate::grpc::enrolment_row(e, lang.tag())),
        });
        for c in &los.has_part {
            walk(c, depth + 1, institution, lang, rows);
        }
    }
    let mut rows = Vec::new();
    for report in &elmo.reports {
        let institution = pick(&report.issuer.titles, lang.tag())
            .map(|t| t.text.clone())
            .unwrap_or_default();
        for los in &report.learning_opportunities {
            walk(los, 0, &institution, lang, &mut rows);
        }
    }
    rows
}

/// The text in `lang`, else English, else the first (with its language).
fn pick<'a>(texts: &'a [LangText], lang: &str) -> Option<&'a LangText> {
    let by = |l: &str| {
        texts
            .iter()
            .find(|t| t.lang.as_deref().and_then(Lang::from_tag).map(Lang::tag) == Some(l))
    };
    by(lang).or_else(|| by("en")).or_else(|| texts.first())
}

fn capped(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n).collect();
        out.push('…');
        out
    }
}

/// The result of an exchange (for the student, right after the return hop): what happened,
/// what to do next, the courses, the transcript; details for staff behind a disclosure.
pub fn result(
    frame: Frame<'_>,
    record: &ExchangeRecord,
    rows: &[ResultRow],
    notes: &[crate::grpc::ReportNotes],
    pdf_link: Option<&str>,
    start_again: bool,
) -> String {
    let t = frame.lang.texts();
    let outcome = record.outcome.as_ref();
    let kind = outcome.map(|o| o.kind);
    let (class, text) = outcome_text(t, record);
    frame.page(
        text.title,
        html! {
            h1 { (text.title) }
            div class={ "outcome " (class) } id="outcome" data-kind=(kind.map(|k| format!("{k:?}")).unwrap_or_default()) {
                p { strong { (text.said) } }
                p id="next" { (text.next) }
            }
            @if !rows.is_empty() {
                table.rows id="courses" {
                    thead { tr {
                        th scope="col" { (t.col_institution) } th scope="col" { (t.col_course) }
                        th scope="col" { (t.col_date) } th scope="col" { (t.col_result) }
                        th scope="col" { (t.col_credits) } th scope="col" { (t.col_status) }
                    } }
                    tbody {
                        @for c in rows {
                            tr class={ "depth-" (c.depth.min(3)) } {
                                td data-label=(t.col_institution) { (c.institution) }
                                td.title {
                                    @if let Some(l) = &c.title_lang { span lang=(l) { (c.title) } } @else { (c.title) }
                                    (course_details(frame.lang, c))
                                }
                                td data-label=(t.col_date) { (c.date) }
                                td data-label=(t.col_result) { (c.result) }
                                td.num data-label=(t.col_credits) { (c.credits) }
                                td data-label=(t.col_status) { (t.status(&c.status)) }
                            }
                        }
                    }
                }
            }
            (report_notes(frame.lang, notes))
            @if let Some(link) = pdf_link { p { a.button href=(link) id="pdf" { (t.download_pdf) } } }
            @if let Some(o) = outcome {
                details.tech id="technical" {
                    summary { (t.tech_summary) }
                    dl {
                        @if !o.return_code.is_empty() { dt { (t.tech_code) } dd { code { (o.return_code) } } }
                        @if !o.return_message.is_empty() { dt { (t.tech_message) } dd { (capped(&o.return_message, SHOWN_MESSAGE_CHARS)) } }
                        @if !o.detail.is_empty() { dt { (t.tech_detail) } dd { (capped(&o.detail, SHOWN_DETAIL_CHARS)) } }
                    }
                }
            }
            @if start_again { p { a href="/" id="start-again" { (t.start_again) } } }
        },
    )
}

/// What ELMO 2.1 adds to a course row (document type, enrolment), as small print under its title.
fn course_details(lang: Lang, c: &ResultRow) -> Markup {
    let t = lang.texts();
    html! {
        @if !c.document_type.is_empty() {
            br;
            small.document-type { (t.document.replace("{type}", t.document_type(&c.document_type))) }
        }
        @if let Some(e) = &c.enrolment {
            br;
            small.enrolment {
                @if e.institution.is_empty() {
                    (t.enrolled.replace("{date}", &lang.date(&e.date)))
                } @else {
                    (t.enrolled_at.replace("{date}", &lang.date(&e.date)).replace("{institution}", &e.institution))
                }
                @if !e.academic_year_start.is_empty() {
                    " " (t.academic_year.replace("{start}", &lang.date(&e.academic_year_start)).replace("{end}", &lang.date(&e.academic_year_end)))
                }
            }
        }
    }
}

/// Report statuses and recognition decisions (ELMO 2.1), one block per report that has any. The
/// status code itself stays in `data-code` (and the SIS API); the student reads what it means.
fn report_notes(lang: Lang, notes: &[crate::grpc::ReportNotes]) -> Markup {
    let t = lang.texts();
    html! {
        @for n in notes {
            section.report-notes data-report=(n.report) {
                @if let Some((code, messages)) = &n.status {
                    p.report-status data-code=(code) {
                        (t.report_from.replace("{status}", t.report_status(code)).replace("{institution}", &n.institution))
                        @for m in messages {
                            br;
                            @if let Some(l) = &m.lang { span.hint lang=(l) { (m.text) } } @else { span.hint { (m.text) } }
                        }
                    }
                }
                @if !n.recognitions.is_empty() {
                    h2 { (t.recognitions_by.replace("{institution}", &n.institution)) }
                    table.rows.recognitions {
                        thead { tr {
                            th scope="col" { (t.col_recognition) } th scope="col" { (t.col_decision) }
                            th scope="col" { (t.col_date) } th scope="col" { (t.col_based_on) }
                            th scope="col" { (t.col_recognised_as) }
                        } }
                        tbody {
                            @for r in &n.recognitions {
                                tr {
                                    td.title { (r.title) }
                                    td data-label=(t.col_decision) data-status=(r.status) { (t.recognition_status(&r.status)) }
                                    td data-label=(t.col_date) { (lang.date(&r.decision_date)) }
                                    td data-label=(t.col_based_on) {
                                        @for (i, b) in r.basis_courses.iter().enumerate() {
                                            @if i > 0 { br; }
                                            (b.title) @if !b.result.is_empty() { " (" (b.result) ")" } ", " (b.institution)
                                        }
                                    }
                                    td data-label=(t.col_recognised_as) {
                                        @for (i, c) in r.recognised_courses.iter().enumerate() {
                                            @if i > 0 { br; }
                                            (c.title) @if !c.result.is_empty() { " (" (c.result) ")" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An error page; `start_again` links to the chooser (when this SMP has one).
pub fn error(frame: Frame<'_>, message: &str, start_again: bool) -> String {
    let t = frame.lang.texts();
    let back = start_again.then_some(emrex_web::Link {
        href: "/",
        text: t.start_again,
    });
    frame.page(
        t.error_title,
        emrex_web::refusal(t.error_title, message, None, back),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Outcome, Status};

    fn record(kind: OutcomeKind, code: &str, message: &str, detail: &str) -> ExchangeRecord {
        ExchangeRecord {
            session_id: "s".into(),
            sis_reference: String::new(),
            person: Person::default(),
            ncp_acronym: "A".into(),
            ncp_country: "FI".into(),
            ncp_url: "https://a.example/".into(),
            created_unix: 0,
            expires_unix: 1,
            status: Status::Completed,
            completed_unix: Some(1),
            outcome: Some(Outcome {
                kind,
                return_code: code.into(),
                return_message: message.into(),
                detail: detail.into(),
                identity: None,
                signer_index: None,
            }),
            raw_response: None,
            elmo_xml: None,
            revision: 1,
        }
    }

    fn frame(lang: Lang) -> Frame<'static> {
        Frame {
            lang,
            dev_mode: false,
            here: Some("/result/s?t=1.x"),
        }
    }

    /// The page without its technical details (what a student reads without opening them).
    fn visible(page: &str) -> String {
        match (page.find("<details"), page.find("</details>")) {
            (Some(a), Some(b)) => format!("{}{}", &page[..a], &page[b..]),
            _ => page.to_string(),
        }
    }

    #[test]
    fn outcomes_speak_plainly_and_keep_codes_behind_the_disclosure() {
        let cases = [
            record(
                OutcomeKind::Verified,
                "NCP_OK",
                "",
                "signature valid; the learner is the person",
            ),
            record(
                OutcomeKind::IdentityMismatch,
                "NCP_OK",
                "",
                "signature valid; identity score 0.12: given names differ (normalized edit distance 0.91)",
            ),
            record(
                OutcomeKind::SignatureInvalid,
                "NCP_OK",
                "",
                "the signature does not verify with the NCP's certificates: no pinned certificate is acceptable for RsaSha256",
            ),
            record(
                OutcomeKind::Undecodable,
                "NCP_OK",
                "",
                "the elmo parameter could not be decoded: Invalid symbol 33, offset 0",
            ),
            record(
                OutcomeKind::NcpReturned,
                "NCP_CANCEL",
                "The student cancelled.",
                "the student cancelled at the NCP",
            ),
            record(
                OutcomeKind::NcpReturned,
                "NCP_NO_RESULTS",
                "",
                "the NCP has no results for the student",
            ),
            record(
                OutcomeKind::NcpReturned,
                "NCP_ERROR",
                "boom",
                "the NCP reported an error",
            ),
            record(
                OutcomeKind::Stale,
                "NCP_OK",
                "",
                "signature valid, but the signed document was generated at …",
            ),
        ];
        for lang in Lang::ALL {
            let t = lang.texts();
            for r in &cases {
                let page = result(frame(lang), r, &[], &[], None, true);
                let shown = visible(&page);
                for jargon in [
                    "NCP_",
                    "edit distance",
                    "pinned certificate",
                    "Invalid symbol",
                    "signature valid",
                ] {
                    assert!(
                        !shown.contains(jargon),
                        "{lang:?} {:?} shows {jargon}",
                        r.outcome
                    );
                }
                let (_, text) = outcome_text(t, r);
                assert!(
                    shown.contains(text.said) && shown.contains(text.next),
                    "{lang:?}"
                );
                // …and the details are there for staff.
                let o = r.outcome.as_ref().expect("outcome");
                assert!(page.contains(&o.return_code), "{lang:?}");
                assert!(page.contains(t.tech_summary));
            }
        }
        // The cancel page is not titled "Your results".
        let cancel = result(frame(Lang::En), &cases[4], &[], &[], None, true);
        assert!(cancel.contains("<h1>Transfer cancelled</h1>"), "{cancel}");
        assert!(!cancel.contains("Your results<"));
    }

    #[test]
    fn a_huge_provider_message_is_capped() {
        let r = record(OutcomeKind::NcpReturned, "NCP_ERROR", &"x".repeat(1000), "");
        let page = result(frame(Lang::En), &r, &[], &[], None, false);
        assert!(page.contains(&format!("{}…", "x".repeat(SHOWN_MESSAGE_CHARS))));
        assert!(!page.contains(&"x".repeat(SHOWN_MESSAGE_CHARS + 1)));
        assert!(!page.contains("start-again"), "no chooser, no dead link");
    }

    #[test]
    fn rows_follow_the_pages_language() {
        use emrex_elmo::model::{
            Credit, Identifier, Issuer, Learner, LearningOpportunityInstance, Report,
        };
        let course = |t: LangText| {
            LearningOpportunitySpecification::course(
                "c",
                t,
                LearningOpportunityInstance::default()
                    .with_date("2026-01-15")
                    .with_status(LoiStatus::Passed)
                    .with_credit(Credit::ects("7.5")),
            )
        };
        let programme = LearningOpportunitySpecification::new(
            LangText::with_lang("en", "Bachelor"),
            LearningOpportunityInstance::default(),
        )
        .with_part(course(LangText::with_lang("sv", "Svenska")));
        let elmo = Elmo::new(Learner::new("A", "B"), "2026-01-01T00:00:00Z").with_report(
            Report::new(
                Issuer::new(LangText::new("U"), Identifier::new("schac", "u"), ""),
                "2026-01-01T00:00:00Z",
            )
            .with_learning_opportunity(programme),
        );
        let rows = result_rows(&elmo, Lang::De);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].depth, 1);
        assert_eq!(rows[1].credits, "7,5");
        assert_eq!(rows[1].date, "15.01.2026");
        assert_eq!(rows[1].title_lang.as_deref(), Some("sv"));
        assert_eq!(rows[0].title_lang.as_deref(), Some("en"));
        let page = result(
            frame(Lang::De),
            &record(OutcomeKind::Verified, "NCP_OK", "", ""),
            &rows,
            &[],
            None,
            true,
        );
        assert!(page.contains(r#"<span lang="sv">Svenska</span>"#));
        assert!(page.contains(r#"<tr class="depth-1">"#));
        assert!(page.contains(r#"data-label="ECTS-Punkte">7,5<"#));
        assert!(page.contains(">bestanden<"));
        assert!(
            page.contains(r#"href="/result/s?t=1.x&amp;lang=fr""#),
            "switch keeps the link"
        );
    }

    #[test]
    fn the_stylesheet_keeps_focus_visible_and_phones_unscrolled() {
        assert!(STYLE.contains("@media (max-width: 600px)"));
        for c in emrex_web::contrast::outline_colours(&STYLE) {
            assert!(
                emrex_web::contrast::ratio(c, [255, 255, 255]) >= 3.0,
                "{c:?}"
            );
        }
    }
}
