//! The browser-facing HTTP side: the EMREX entry point, login, selection, consent, and the
//! return form. Handlers are thin: validation, selection and ELMO building are pure functions
//! elsewhere; here are cookies, CSRF, headers and the order of state changes.
//!
//! Every refusal (bad parameters, unknown or finished exchange, foreign browser, forged CSRF
//! token, oversized body) is a page with a clear message and changes no state. Once a valid
//! `returnUrl` is known, failures after login are answered to the client as `NCP_ERROR`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::clients::Signer;
use crate::entry::{EntryRequest, MAX_ENTRY_BYTES, ReturnUrlPolicy};
use crate::exchange::{Exchange, ExchangeError, ExchangeStore, Stage};
use crate::i18n::Lang;
use crate::metrics::NcpMetrics;
use crate::oidc::OidcLogin;
use crate::pages;
use crate::response::{PdfSettings, ReturnCode, ReturnFields, build_signed};
use crate::selection::{offers, select};
use crate::source::demo::STUDENTS;
use crate::source::{AnySource, ResultsSource};
use crate::student::Student;

/// Largest form body accepted on the NCP's own pages (a selection of thousands of courses fits).
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// Everything the handlers share.
#[derive(Debug)]
pub struct Ncp {
    pub store: ExchangeStore,
    pub source: AnySource,
    pub signer: Signer,
    pub oidc: Option<OidcLogin>,
    pub metrics: NcpMetrics,
    pub settings: Settings,
}

/// Behaviour switches from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dev_mode: bool,
    pub dev_login: bool,
    pub secure_cookies: bool,
    pub entry_path: String,
    pub policy: ReturnUrlPolicy,
    pub allow_not_passed_default: bool,
    pub pdf: PdfSettings,
    pub ttl_secs: u64,
}

/// The router of the NCP's HTTP side.
pub fn router(ncp: Arc<Ncp>) -> Router {
    let entry = ncp.settings.entry_path.clone();
    Router::new()
        .route(&entry, get(entry_get).post(entry_post))
        .route("/x/{id}", get(show))
        .route("/x/{id}/login/dev", post(login_dev))
        .route("/x/{id}/login/oidc", get(login_oidc))
        .route("/login/callback", get(oidc_callback))
        .route("/x/{id}/send", post(send))
        .route("/x/{id}/cancel", post(cancel))
        .route("/assets/ncp.css", get(stylesheet))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .with_state(ncp)
}

// ---------------------------------------------------------------------------------------------
// Responses and headers

const BASE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

fn page(status: StatusCode, html: String, csp: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    security_headers(h);
    r
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn plain_csp() -> String {
    format!("{BASE_CSP}; form-action 'self'")
}

fn error_page(
    ncp: &Ncp,
    lang: Lang,
    status: StatusCode,
    reason: &str,
    message: &str,
    detail: Option<&str>,
) -> Response {
    ncp.metrics.refuse(reason);
    tracing::info!(reason, status = status.as_u16(), "request refused");
    page(
        status,
        pages::error(lang, ncp.settings.dev_mode, message, detail),
        plain_csp(),
    )
}

fn exchange_error(ncp: &Ncp, lang: Lang, e: ExchangeError) -> Response {
    let t = lang.texts();
    match e {
        ExchangeError::Unknown => error_page(
            ncp,
            lang,
            StatusCode::NOT_FOUND,
            "unknown_exchange",
            t.error_expired,
            None,
        ),
        ExchangeError::Finished => error_page(
            ncp,
            lang,
            StatusCode::CONFLICT,
            "finished",
            t.error_finished,
            None,
        ),
        ExchangeError::Full => error_page(
            ncp,
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            t.error_too_busy,
            None,
        ),
    }
}

fn redirect(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    security_headers(r.headers_mut());
    r
}

fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn cookie_name(secure: bool, id: &str) -> String {
    if secure {
        format!("__Host-emrex-ncp-{id}")
    } else {
        format!("emrex-ncp-{id}")
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The return form to the client, with the CSP that lets exactly it submit.
fn answer(
    ncp: &Ncp,
    lang: Lang,
    ex: &Exchange,
    fields: &ReturnFields,
    note: Option<&str>,
) -> Response {
    ncp.metrics.finish(fields.code.as_str());
    tracing::info!(exchange = %ex.id, outcome = fields.code.as_str(), "exchange answered");
    let url = &ex.request.return_url;
    let origin = url.origin().ascii_serialization();
    let csp = format!(
        "{BASE_CSP}; script-src {}; form-action {origin}",
        pages::auto_submit_hash()
    );
    let mut r = page(
        StatusCode::OK,
        pages::return_form(
            lang,
            ncp.settings.dev_mode,
            url.as_str(),
            &fields.pairs(),
            note,
        ),
        csp,
    );
    // The exchange is over: drop the browser binding.
    let name = cookie_name(ncp.settings.secure_cookies, &ex.id);
    let expire = if ncp.settings.secure_cookies {
        format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
    } else {
        format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    };
    if let Ok(v) = HeaderValue::from_str(&expire) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Finishes `ex` (if nobody else did) with a non-OK code and answers the client.
fn finish_without_results(
    ncp: &Ncp,
    lang: Lang,
    ex: &Exchange,
    code: ReturnCode,
    message: &str,
) -> Response {
    if let Err(e) = ncp.store.advance(&ex.id, |_| true, Stage::Finished) {
        return exchange_error(ncp, lang, e);
    }
    let note = (code != ReturnCode::Ok).then_some(lang.texts().no_results_sent);
    answer(
        ncp,
        lang,
        ex,
        &ReturnFields::without_results(&ex.request.session_id, code, message),
        note,
    )
}

// ---------------------------------------------------------------------------------------------
// Body parsing

async fn form_pairs(body: Body, limit: usize) -> Result<Vec<(String, String)>, ()> {
    let bytes: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| ())?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Loads the exchange and checks the browser binding (and the CSRF token for POSTs).
// The error is the refusal page itself, built once on a cold path; boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn authorize(
    ncp: &Ncp,
    lang: Lang,
    id: &str,
    headers: &HeaderMap,
    csrf: Option<Option<&str>>,
) -> Result<Exchange, Response> {
    let ex = ncp
        .store
        .get(id)
        .map_err(|e| exchange_error(ncp, lang, e))?;
    if matches!(ex.stage, Stage::Finished) {
        return Err(exchange_error(ncp, lang, ExchangeError::Finished));
    }
    let name = cookie_name(ncp.settings.secure_cookies, id);
    if !ex.browser_matches(cookie(headers, &name)) {
        return Err(error_page(
            ncp,
            lang,
            StatusCode::FORBIDDEN,
            "forbidden",
            lang.texts().error_forbidden,
            None,
        ));
    }
    if let Some(token) = csrf
        && !token.is_some_and(|t| ex.csrf_matches(t))
    {
        return Err(error_page(
            ncp,
            lang,
            StatusCode::FORBIDDEN,
            "csrf",
            lang.texts().error_forbidden,
            None,
        ));
    }
    Ok(ex)
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn entry_get(
    State(ncp): State<Arc<Ncp>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let lang = lang_of(&headers);
    let query = uri.query().unwrap_or_default();
    if query.len() > MAX_ENTRY_BYTES {
        return error_page(
            &ncp,
            lang,
            StatusCode::URI_TOO_LONG,
            "too_large",
            lang.texts().error_bad_request,
            Some("too long"),
        );
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    start(&ncp, lang, &pairs)
}

async fn entry_post(State(ncp): State<Arc<Ncp>>, headers: HeaderMap, body: Body) -> Response {
    let lang = lang_of(&headers);
    // EMREX 1.x clients send application/x-www-form-urlencoded ("not multipart/form-data").
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ctype
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return error_page(
            &ncp,
            lang,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_entry",
            lang.texts().error_bad_request,
            Some("the request must be a form POST (application/x-www-form-urlencoded)"),
        );
    }
    let Ok(pairs) = form_pairs(body, MAX_ENTRY_BYTES).await else {
        return error_page(
            &ncp,
            lang,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            lang.texts().error_bad_request,
            Some("the request is too large"),
        );
    };
    start(&ncp, lang, &pairs)
}

fn start(ncp: &Ncp, lang: Lang, pairs: &[(String, String)]) -> Response {
    let request = match EntryRequest::from_params(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &ncp.settings.policy,
        ncp.settings.allow_not_passed_default,
    ) {
        Ok(r) => r,
        Err(e) => {
            let detail = e.to_string();
            return error_page(
                ncp,
                lang,
                StatusCode::BAD_REQUEST,
                "bad_entry",
                lang.texts().error_bad_request,
                Some(&detail),
            );
        }
    };
    let created = match ncp.store.create(request) {
        Ok(c) => c,
        Err(e) => return exchange_error(ncp, lang, e),
    };
    ncp.metrics.started.inc();
    ncp.metrics
        .active
        .set(i64::try_from(ncp.store.len()).unwrap_or(i64::MAX));
    tracing::info!(exchange = %created.id, "exchange started");
    let mut r = redirect(&format!("/x/{}", created.id));
    let name = cookie_name(ncp.settings.secure_cookies, &created.id);
    let secure = if ncp.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let set = format!(
        "{name}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        created.browser_secret, ncp.settings.ttl_secs
    );
    if let Ok(v) = HeaderValue::from_str(&set) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn show(State(ncp): State<Arc<Ncp>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let ex = match authorize(&ncp, lang, &id, &headers, None) {
        Ok(ex) => ex,
        Err(r) => return r,
    };
    match &ex.stage {
        Stage::Login { .. } => {
            if ncp.oidc.is_some() && !ncp.settings.dev_login {
                // Only one way to log in: go straight to the identity provider.
                return redirect(&format!("/x/{id}/login/oidc"));
            }
            let students: Vec<pages::DevStudent> = if ncp.settings.dev_login {
                STUDENTS
                    .iter()
                    .map(|s| pages::DevStudent {
                        id: s.id.to_string(),
                        name: format!("{} {}", s.given_names, s.family_name),
                        description: s.description.to_string(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            page(
                StatusCode::OK,
                pages::login(
                    lang,
                    ncp.settings.dev_mode,
                    &id,
                    &ex.csrf,
                    ncp.oidc.is_some(),
                    &students,
                ),
                plain_csp(),
            )
        }
        Stage::Choosing {
            student, offers, ..
        } => page(
            StatusCode::OK,
            pages::select(
                lang,
                ncp.settings.dev_mode,
                &id,
                &ex.csrf,
                &student.display_name(),
                offers,
                ex.request.allow_pick,
                &ex.request.return_host(),
                None,
            ),
            plain_csp(),
        ),
        Stage::Finished => exchange_error(&ncp, lang, ExchangeError::Finished),
    }
}

async fn login_dev(
    State(ncp): State<Arc<Ncp>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let lang = lang_of(&headers);
    let Ok(pairs) = form_pairs(body, MAX_FORM_BYTES).await else {
        return error_page(
            &ncp,
            lang,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            lang.texts().error_bad_request,
            None,
        );
    };
    if !ncp.settings.dev_login {
        return not_found_page(&ncp, lang);
    }
    let ex = match authorize(&ncp, lang, &id, &headers, Some(field(&pairs, "csrf"))) {
        Ok(ex) => ex,
        Err(r) => return r,
    };
    if !matches!(ex.stage, Stage::Login { .. }) {
        return exchange_error(&ncp, lang, ExchangeError::Unknown);
    }
    let t = Instant::now();
    let Some(demo) = field(&pairs, "student").and_then(|s| STUDENTS.iter().find(|d| d.id == s))
    else {
        return error_page(
            &ncp,
            lang,
            StatusCode::BAD_REQUEST,
            "bad_form",
            lang.texts().error_bad_request,
            Some("unknown demo student"),
        );
    };
    ncp.metrics.step("login", t.elapsed().as_secs_f64());
    logged_in(&ncp, lang, &ex, demo.student()).await
}

async fn login_oidc(
    State(ncp): State<Arc<Ncp>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&headers);
    let Some(oidc) = &ncp.oidc else {
        return not_found_page(&ncp, lang);
    };
    let ex = match authorize(&ncp, lang, &id, &headers, None) {
        Ok(ex) => ex,
        Err(r) => return r,
    };
    match oidc.start(&id, lang.tag()).await {
        Ok((url, pending)) => {
            let stored = ncp.store.advance(
                &id,
                |s| matches!(s, Stage::Login { .. }),
                Stage::Login {
                    pending: Some(pending),
                },
            );
            match stored {
                Ok(()) => redirect(&url),
                Err(e) => exchange_error(&ncp, lang, e),
            }
        }
        Err(e) => {
            tracing::warn!(exchange = %id, error = %e, "login could not start");
            finish_without_results(
                &ncp,
                lang,
                &ex,
                ReturnCode::Error,
                "The student could not be authenticated (identity provider unavailable).",
            )
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

async fn oidc_callback(
    State(ncp): State<Arc<Ncp>>,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Response {
    let lang = lang_of(&headers);
    let Some(oidc) = &ncp.oidc else {
        return not_found_page(&ncp, lang);
    };
    let Some((id, _)) = cb.state.as_deref().and_then(|s| s.split_once('.')) else {
        return exchange_error(&ncp, lang, ExchangeError::Unknown);
    };
    let ex = match authorize(&ncp, lang, id, &headers, None) {
        Ok(ex) => ex,
        Err(r) => return r,
    };
    let Stage::Login {
        pending: Some(pending),
    } = &ex.stage
    else {
        return exchange_error(&ncp, lang, ExchangeError::Unknown);
    };
    let state_ok = cb.state.as_deref().is_some_and(|s| {
        aws_lc_rs::constant_time::verify_slices_are_equal(s.as_bytes(), pending.state.as_bytes())
            .is_ok()
    });
    if !state_ok {
        return error_page(
            &ncp,
            lang,
            StatusCode::FORBIDDEN,
            "csrf",
            lang.texts().error_forbidden,
            None,
        );
    }
    if let Some(error) = cb.error.as_deref() {
        tracing::info!(exchange = %ex.id, error, "the identity provider returned an error");
        return if error == "access_denied" {
            finish_without_results(
                &ncp,
                lang,
                &ex,
                ReturnCode::Cancel,
                "The student cancelled the login.",
            )
        } else {
            finish_without_results(
                &ncp,
                lang,
                &ex,
                ReturnCode::Error,
                "The student could not be authenticated.",
            )
        };
    }
    let Some(code) = cb.code.as_deref() else {
        return error_page(
            &ncp,
            lang,
            StatusCode::BAD_REQUEST,
            "bad_form",
            lang.texts().error_bad_request,
            Some("no code"),
        );
    };
    let t = Instant::now();
    let student = match oidc.finish(code, pending).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(exchange = %ex.id, error = %e, "login failed");
            return finish_without_results(
                &ncp,
                lang,
                &ex,
                ReturnCode::Error,
                "The student could not be authenticated.",
            );
        }
    };
    ncp.metrics.step("login", t.elapsed().as_secs_f64());
    logged_in(&ncp, lang, &ex, student).await
}

/// After a login: load the results, then show the selection or answer NO_RESULTS / ERROR.
async fn logged_in(ncp: &Ncp, lang: Lang, ex: &Exchange, student: Student) -> Response {
    let t = Instant::now();
    let result = ncp
        .source
        .results(&student, &[lang.tag().to_string()])
        .await;
    ncp.metrics.step("source", t.elapsed().as_secs_f64());
    let results = match result {
        Ok(Some(r)) => r,
        Ok(None) => {
            return finish_without_results(
                ncp,
                lang,
                ex,
                ReturnCode::NoResults,
                "No results were found for this student.",
            );
        }
        Err(e) => {
            tracing::warn!(exchange = %ex.id, source = ncp.source.kind(), error = %e, "results source failed");
            return finish_without_results(
                ncp,
                lang,
                ex,
                ReturnCode::Error,
                "The student's results could not be retrieved from the institution.",
            );
        }
    };
    let offered = offers(&results, ex.request.allow_not_passed, lang.tag());
    if offered.items.is_empty() {
        return finish_without_results(
            ncp,
            lang,
            ex,
            ReturnCode::NoResults,
            "The student has no results that can be sent.",
        );
    }
    let stage = Stage::Choosing {
        student,
        results: Box::new(results),
        offers: offered,
    };
    match ncp
        .store
        .advance(&ex.id, |s| matches!(s, Stage::Login { .. }), stage)
    {
        Ok(()) => redirect(&format!("/x/{}", ex.id)),
        Err(e) => exchange_error(ncp, lang, e),
    }
}

async fn send(
    State(ncp): State<Arc<Ncp>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let lang = lang_of(&headers);
    let t = lang.texts();
    let Ok(pairs) = form_pairs(body, MAX_FORM_BYTES).await else {
        return error_page(
            &ncp,
            lang,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            t.error_bad_request,
            None,
        );
    };
    let ex = match authorize(&ncp, lang, &id, &headers, Some(field(&pairs, "csrf"))) {
        Ok(ex) => ex,
        Err(r) => return r,
    };
    let Stage::Choosing {
        student,
        results,
        offers: offered,
    } = &ex.stage
    else {
        return exchange_error(&ncp, lang, ExchangeError::Unknown);
    };
    let keys = offered.keys();
    let chosen: BTreeSet<String> = if ex.request.allow_pick {
        pairs
            .iter()
            .filter(|(k, _)| k == "course")
            .map(|(_, v)| v.clone())
            .collect()
    } else {
        keys.clone()
    };
    let again = |message: &str| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::select(
                lang,
                ncp.settings.dev_mode,
                &id,
                &ex.csrf,
                &student.display_name(),
                offered,
                ex.request.allow_pick,
                &ex.request.return_host(),
                Some(message),
            ),
            plain_csp(),
        )
    };
    if field(&pairs, "consent") != Some("yes") {
        return again(t.error_need_consent);
    }
    if chosen.is_empty() {
        return again(t.error_nothing_selected);
    }
    let selected = match select(results, &keys, &chosen) {
        Ok(s) => s,
        Err(_) => {
            return error_page(
                &ncp,
                lang,
                StatusCode::BAD_REQUEST,
                "tampered",
                t.error_forbidden,
                None,
            );
        }
    };
    // Finish before the slow part, so a double submit cannot produce two responses.
    if let Err(e) = ncp.store.advance(
        &id,
        |s| matches!(s, Stage::Choosing { .. }),
        Stage::Finished,
    ) {
        return exchange_error(&ncp, lang, e);
    }
    match build_signed(
        selected,
        lang.tag().to_string(),
        ncp.settings.pdf.clone(),
        &ncp.signer,
    )
    .await
    {
        Ok((elmo, timings)) => {
            ncp.metrics.step("elmo", timings.elmo);
            ncp.metrics.step("pdf", timings.pdf);
            ncp.metrics.step("sign", timings.sign);
            ncp.metrics.step("encode", timings.encode);
            let fields = ReturnFields {
                session_id: ex.request.session_id.clone(),
                code: ReturnCode::Ok,
                message: String::new(),
                elmo,
            };
            answer(&ncp, lang, &ex, &fields, None)
        }
        Err(e) => {
            tracing::warn!(exchange = %id, error = %e, "response could not be built");
            let fields = ReturnFields::without_results(
                &ex.request.session_id,
                ReturnCode::Error,
                "The results could not be signed. Please try again later.",
            );
            answer(&ncp, lang, &ex, &fields, Some(t.error_internal))
        }
    }
}

async fn cancel(
    State(ncp): State<Arc<Ncp>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let lang = lang_of(&headers);
    let Ok(pairs) = form_pairs(body, MAX_FORM_BYTES).await else {
        return error_page(
            &ncp,
            lang,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            lang.texts().error_bad_request,
            None,
        );
    };
    let ex = match authorize(&ncp, lang, &id, &headers, Some(field(&pairs, "csrf"))) {
        Ok(ex) => ex,
        Err(r) => return r,
    };
    finish_without_results(
        &ncp,
        lang,
        &ex,
        ReturnCode::Cancel,
        "The student cancelled.",
    )
}

async fn stylesheet() -> Response {
    let mut r = pages::STYLE.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn not_found_page(ncp: &Ncp, lang: Lang) -> Response {
    error_page(
        ncp,
        lang,
        StatusCode::NOT_FOUND,
        "not_found",
        lang.texts().error_expired,
        None,
    )
}

async fn not_found(State(ncp): State<Arc<Ncp>>, method: Method, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    if method != Method::GET && method != Method::POST {
        return error_page(
            &ncp,
            lang,
            StatusCode::METHOD_NOT_ALLOWED,
            "method",
            lang.texts().error_bad_request,
            None,
        );
    }
    not_found_page(&ncp, lang)
}
