//! The SMP's browser side: the country/NCP chooser (development and demo use: in production
//! the SIS starts exchanges over gRPC), the page that carries the student to the NCP, the
//! return endpoint (a cross-site POST: it works without any cookie), and the result page with
//! the transcript PDF served as a download.
//!
//! Every page is in the request's language (`emrex_web::PageLang`; pages a GET can show again
//! have a language switch) and every refusal is a page with a way on: the chooser when this SMP
//! has one. The return endpoint is strict about its input: only
//! `application/x-www-form-urlencoded` (415 otherwise), every EMREX field at most once and
//! `sessionId`/`returnCode` present (400 otherwise), at most [`MAX_RETURN_BYTES`] (413).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use emrex_web::PageLang;

use crate::grpc::{document, report_notes_in, transcript_pdf};
use crate::i18n::{Lang, LangTexts, Texts};
use crate::model::{Person, Status};
use crate::pages::{self, Frame};
use crate::service::{InvalidStart, ReturnRefused, SmpCore, StartError};
use crate::store::{SmpStore, StoreError};
use emrex_runtime::grpc::error_chain;

/// Largest return POST accepted (ELMO with PDFs is often hundreds of KB; the DC4EU gateway had
/// to lift Tomcat's limits).
pub const MAX_RETURN_BYTES: usize = 16 * 1024 * 1024;
/// Largest form on the SMP's own pages.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The router.
pub fn router<S: SmpStore>(core: Arc<SmpCore<S>>) -> Router {
    let router = Router::new()
        .route("/", get(index::<S>))
        .route("/country/{code}", get(country::<S>))
        .route("/start", post(start::<S>))
        .route("/go/{session}", get(go_page::<S>))
        .route("/return", post(receive::<S>))
        .route("/result/{session}", get(result::<S>))
        .route("/result/{session}/transcript.pdf", get(pdf::<S>))
        .route("/assets/smp.css", get(stylesheet))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(axum::middleware::from_fn(emrex_web::remember_language))
        .with_state(core);
    emrex_web::secure(router)
}

/// A page's language and chrome: `here` is its address when a GET shows it again.
fn frame<'a, S: SmpStore>(core: &SmpCore<S>, lang: Lang, here: Option<&'a str>) -> Frame<'a> {
    Frame {
        lang,
        dev_mode: core.settings.dev_mode,
        here,
    }
}

fn error<S: SmpStore>(
    core: &SmpCore<S>,
    lang: Lang,
    status: StatusCode,
    message: impl FnOnce(&Texts) -> &str,
) -> Response {
    let text = message(lang.texts());
    emrex_web::html(
        status,
        pages::error(frame(core, lang, None), text, core.settings.chooser),
    )
}

/// The store failed: logged with its cause, the student asked to come back.
fn unavailable<S: SmpStore>(core: &SmpCore<S>, lang: Lang, e: &StoreError) -> Response {
    tracing::warn!(error = %error_chain(e), "store");
    error(core, lang, StatusCode::SERVICE_UNAVAILABLE, |t| {
        t.unavailable
    })
}

/// The development person shown in the chooser (a demo student of the dev NCP).
fn dev_person() -> Person {
    Person::new("Åsa", "Ødegård", Some("1999-04-12"))
}

/// The chooser is off: exchanges start from the SIS.
fn no_chooser<S: SmpStore>(core: &SmpCore<S>, lang: Lang) -> Response {
    error(core, lang, StatusCode::NOT_FOUND, |t| t.no_chooser)
}

async fn index<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    PageLang(lang): PageLang,
) -> Response {
    if !core.settings.chooser {
        return no_chooser(&core, lang);
    }
    let snapshot = (core.registry)();
    emrex_web::html(
        StatusCode::OK,
        pages::countries(frame(&core, lang, Some("/")), &snapshot),
    )
}

async fn country<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    PageLang(lang): PageLang,
    Path(code): Path<String>,
) -> Response {
    if !core.settings.chooser {
        return no_chooser(&core, lang);
    }
    let snapshot = (core.registry)();
    if code.len() != 2 || snapshot.ncps_in(&code).next().is_none() {
        return error(&core, lang, StatusCode::NOT_FOUND, |t| t.no_country);
    }
    let person = if core.settings.dev_mode {
        dev_person()
    } else {
        Person::default()
    };
    let here = format!("/country/{code}");
    emrex_web::html(
        StatusCode::OK,
        pages::country(
            frame(&core, lang, Some(&here)),
            &snapshot,
            &code,
            &person,
            None,
        ),
    )
}

async fn start<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    PageLang(lang): PageLang,
    body: Body,
) -> Response {
    if !core.settings.chooser {
        return no_chooser(&core, lang);
    }
    let Some(bytes) = emrex_web::read_bounded(body, MAX_FORM_BYTES).await else {
        return error(&core, lang, StatusCode::PAYLOAD_TOO_LARGE, |t| {
            t.form_too_large
        });
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    let field = |n: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let birth = field("birth_date");
    let person = Person::new(
        field("given_names"),
        field("family_name"),
        Some(birth.as_str()).filter(|b| !b.is_empty()),
    );
    let acronym = field("ncp");
    match core.start(person.clone(), &acronym, "").await {
        Ok(record) => go(&core, lang, &record),
        Err(StartError::UnknownNcp) => error(&core, lang, StatusCode::NOT_FOUND, |t| t.unknown_ncp),
        Err(StartError::Invalid(why)) => {
            // The form again, as the student filled it in, saying what to correct.
            let t = lang.texts();
            let message = match why {
                InvalidStart::NamesTooLong | InvalidStart::SisReference => t.bad_names_too_long,
                InvalidStart::NoName => t.bad_no_name,
                InvalidStart::BirthDate => t.bad_birth_date,
            };
            let snapshot = (core.registry)();
            match snapshot.by_acronym(&acronym) {
                Some(ncp) => emrex_web::html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    pages::country(
                        frame(&core, lang, None),
                        &snapshot,
                        &ncp.country_code,
                        &person,
                        Some(message),
                    ),
                ),
                None => error(&core, lang, StatusCode::NOT_FOUND, |t| t.unknown_ncp),
            }
        }
        Err(StartError::Store(e)) => unavailable(&core, lang, &e),
    }
}

/// The auto-submitting form to the NCP, with a CSP that allows exactly that.
fn go<S: SmpStore>(
    core: &SmpCore<S>,
    lang: Lang,
    record: &crate::model::ExchangeRecord,
) -> Response {
    let fields = core.request_fields(record);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let csp = emrex_web::auto_submit_csp(
        &pages::auto_submit_hash(),
        &handover_targets(&record.ncp_url),
    );
    // The student is told where they are going by the institution's name, not the acronym.
    let institution = (core.registry)()
        .by_acronym(&record.ncp_acronym)
        .and_then(|n| n.institutions.first().cloned())
        .unwrap_or_else(|| record.ncp_acronym.clone());
    emrex_web::html_with_csp(
        StatusCode::OK,
        pages::go(
            frame(core, lang, None),
            &record.ncp_url,
            &pairs,
            &institution,
        ),
        &csp,
    )
}

/// `form-action` of the hand-over page: the NCP's origin and any `https:` URL. Browsers check
/// `form-action` on every redirect that follows the form's POST, and an NCP may answer the POST
/// by redirecting straight to its identity provider (ours does when OpenID Connect is its only
/// login; SAML NCPs of the network do too) — with the NCP's origin alone Chromium blocked the
/// whole hand-over on the first real node (issue #12). The page posts only to the NCP URL that
/// EMREG lists; the policy still refuses plain-http and `javascript:`/`data:` targets.
fn handover_targets(ncp_url: &str) -> String {
    match url::Url::parse(ncp_url) {
        Ok(u) if u.scheme() == "https" => "https:".to_string(),
        Ok(u) => format!("{} https:", u.origin().ascii_serialization()),
        Err(_) => "'none'".to_string(),
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

async fn go_page<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    PageLang(lang): PageLang,
    Path(session): Path<String>,
) -> Response {
    match core.store.get(&session).await {
        // An expired exchange would take the student through the whole NCP only to be refused
        // at the end: refuse it here, at once.
        Ok(Some(r)) if r.status == Status::Pending && r.expires_unix <= now_unix() => {
            error(&core, lang, StatusCode::GONE, |t| t.exchange_expired)
        }
        Ok(Some(r)) if r.status == Status::Pending => go(&core, lang, &r),
        Ok(Some(_)) => error(&core, lang, StatusCode::CONFLICT, |t| t.exchange_completed),
        Ok(None) => error(&core, lang, StatusCode::NOT_FOUND, |t| t.exchange_unknown),
        Err(e) => unavailable(&core, lang, &e),
    }
}

fn count_refusal<S: SmpStore>(core: &SmpCore<S>, reason: &str) {
    core.metrics
        .refused_returns
        .get_or_create(&crate::service::ReasonLabels {
            reason: reason.into(),
        })
        .inc();
}

/// Whether a request's body is declared as a form (`application/x-www-form-urlencoded`, any
/// parameters).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn receive<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // EMREX responses are HTML forms; JSON, multipart, text/plain or an undeclared body is
    // not one (and would otherwise be read as a form that "names no exchange").
    if !is_form(&headers) {
        count_refusal(&core, "unsupported_type");
        tracing::info!("return hop refused: not application/x-www-form-urlencoded");
        return error(&core, lang, StatusCode::UNSUPPORTED_MEDIA_TYPE, |t| {
            t.return_malformed
        });
    }
    let Some(bytes) = emrex_web::read_bounded(body, MAX_RETURN_BYTES).await else {
        count_refusal(&core, "too_large");
        return error(&core, lang, StatusCode::PAYLOAD_TOO_LARGE, |t| {
            t.return_too_large
        });
    };
    match core.receive(bytes.to_vec()).await {
        // Post/redirect/get: the result lives at its own address, so a reload, the back button
        // or a restored tab shows it again instead of re-posting the response.
        Ok(Ok(record)) => {
            let token = core.view_token(&record.session_id);
            emrex_web::redirect(&format!("/result/{}?t={token}", record.session_id))
        }
        Ok(Err(refused)) => {
            let (status, text): (StatusCode, fn(&Texts) -> &str) = match refused {
                ReturnRefused::Unknown => (StatusCode::NOT_FOUND, |t| t.return_unknown),
                ReturnRefused::Replayed => (StatusCode::CONFLICT, |t| t.return_replayed),
                ReturnRefused::Expired => (StatusCode::GONE, |t| t.return_expired),
                ReturnRefused::Malformed(_) => (StatusCode::BAD_REQUEST, |t| t.return_malformed),
            };
            error(&core, lang, status, text)
        }
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "store");
            error(&core, lang, StatusCode::SERVICE_UNAVAILABLE, |t| {
                t.return_not_stored
            })
        }
    }
}

/// The `t` parameter of a result link. Exactly one: a repeated one is refused as an invalid
/// link (a page, not the framework's plain-text rejection).
fn token(uri: &Uri) -> Result<Option<String>, ()> {
    let mut found = None;
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if k == "t" && found.replace(v.into_owned()).is_some() {
            return Err(());
        }
    }
    Ok(found)
}

async fn authorized<S: SmpStore>(
    core: &SmpCore<S>,
    lang: Lang,
    session: &str,
    uri: &Uri,
) -> Result<crate::model::ExchangeRecord, Response> {
    let valid = token(uri)
        .ok()
        .flatten()
        .is_some_and(|t| core.view_token_ok(session, &t));
    if !valid {
        return Err(error(core, lang, StatusCode::FORBIDDEN, |t| t.link_invalid));
    }
    match core.store.get(session).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(error(core, lang, StatusCode::NOT_FOUND, |t| {
            t.exchange_unknown
        })),
        Err(e) => Err(unavailable(core, lang, &e)),
    }
}

async fn result<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    PageLang(lang): PageLang,
    Path(session): Path<String>,
    uri: Uri,
) -> Result<Response, Response> {
    let record = authorized(&core, lang, &session, &uri).await?;
    let token = core.view_token(&record.session_id);
    let elmo = document(&record);
    let rows = elmo
        .as_ref()
        .map(|e| pages::result_rows(e, lang))
        .unwrap_or_default();
    let notes = elmo
        .as_ref()
        .map(|e| report_notes_in(e, lang.tag()))
        .unwrap_or_default();
    let has_pdf = elmo.as_ref().and_then(transcript_pdf).is_some();
    let link = has_pdf.then(|| format!("/result/{}/transcript.pdf?t={token}", record.session_id));
    let here = format!("/result/{}?t={token}", record.session_id);
    Ok(emrex_web::html(
        StatusCode::OK,
        pages::result(
            frame(&core, lang, Some(&here)),
            &record,
            &rows,
            &notes,
            link.as_deref(),
            core.settings.chooser,
        ),
    ))
}

async fn pdf<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    PageLang(lang): PageLang,
    Path(session): Path<String>,
    uri: Uri,
) -> Result<Response, Response> {
    let record = authorized(&core, lang, &session, &uri).await?;
    let Some(bytes) = document(&record).as_ref().and_then(transcript_pdf) else {
        return Err(error(&core, lang, StatusCode::NOT_FOUND, |t| t.no_pdf));
    };
    // Always a download, never rendered inline in our origin.
    Ok(emrex_web::attachment(
        bytes,
        "application/pdf",
        "emrex-transcript.pdf",
    ))
}

async fn stylesheet() -> Response {
    emrex_web::stylesheet(pages::STYLE.as_str())
}

#[cfg(test)]
mod tests {
    use super::handover_targets;

    #[test]
    fn the_hand_over_may_follow_the_ncps_redirects_to_an_https_identity_provider() {
        assert_eq!(handover_targets("https://ncp.example/emrex/"), "https:");
        // A development NCP on plain http keeps its own origin, and nothing else on http.
        assert_eq!(
            handover_targets("http://127.0.0.1:8081/"),
            "http://127.0.0.1:8081 https:"
        );
        assert_eq!(handover_targets("not a url"), "'none'");
    }
}
