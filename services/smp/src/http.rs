//! The SMP's browser side: the country/NCP chooser (development and demo use: in production
//! the SIS starts exchanges over gRPC), the page that carries the student to the NCP, the
//! return endpoint (a cross-site POST: it works without any cookie), and the result page with
//! the transcript PDF served as a download.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::grpc::{course_rows, document, transcript_pdf};
use crate::model::{Person, Status};
use crate::pages;
use crate::service::{ReturnRefused, SmpCore, StartError};
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
        .with_state(core);
    emrex_web::secure(router)
}

fn error<S: SmpStore>(core: &SmpCore<S>, status: StatusCode, message: &str) -> Response {
    emrex_web::html(status, pages::error(core.settings.dev_mode, message))
}

/// The store failed: logged with its cause, the student asked to come back.
fn unavailable<S: SmpStore>(core: &SmpCore<S>, e: &StoreError) -> Response {
    tracing::warn!(error = %error_chain(e), "store");
    error(
        core,
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again later.",
    )
}

/// The development person shown in the chooser (a demo student of the dev NCP).
fn dev_person() -> Person {
    Person::new("Åsa", "Ødegård", Some("1999-04-12"))
}

/// The chooser is off: exchanges start from the SIS.
fn no_chooser<S: SmpStore>(core: &SmpCore<S>) -> Response {
    error(
        core,
        StatusCode::NOT_FOUND,
        "This service starts transfers from your institution's student system.",
    )
}

async fn index<S: SmpStore>(State(core): State<Arc<SmpCore<S>>>) -> Response {
    if !core.settings.chooser {
        return no_chooser(&core);
    }
    let snapshot = (core.registry)();
    emrex_web::html(
        StatusCode::OK,
        pages::countries(core.settings.dev_mode, &snapshot),
    )
}

async fn country<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    Path(code): Path<String>,
) -> Response {
    if !core.settings.chooser {
        return no_chooser(&core);
    }
    let snapshot = (core.registry)();
    if code.len() != 2 || snapshot.ncps_in(&code).next().is_none() {
        return error(
            &core,
            StatusCode::NOT_FOUND,
            "No results provider is registered for this country.",
        );
    }
    let person = if core.settings.dev_mode {
        dev_person()
    } else {
        Person::default()
    };
    emrex_web::html(
        StatusCode::OK,
        pages::country(core.settings.dev_mode, &snapshot, &code, &person),
    )
}

async fn start<S: SmpStore>(State(core): State<Arc<SmpCore<S>>>, body: Body) -> Response {
    if !core.settings.chooser {
        return no_chooser(&core);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return error(
            &core,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.",
        );
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
    match core.start(person, &field("ncp"), "").await {
        Ok(record) => go(&core, &record),
        Err(StartError::UnknownNcp) => error(
            &core,
            StatusCode::NOT_FOUND,
            "This results provider is not registered.",
        ),
        Err(StartError::Invalid(m)) => error(&core, StatusCode::BAD_REQUEST, &m),
        Err(StartError::Store(e)) => unavailable(&core, &e),
    }
}

/// The auto-submitting form to the NCP, with a CSP that allows exactly that.
fn go<S: SmpStore>(core: &SmpCore<S>, record: &crate::model::ExchangeRecord) -> Response {
    let fields = core.request_fields(record);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let csp = emrex_web::auto_submit_csp(&pages::auto_submit_hash(), &handover_targets(&record.ncp_url));
    emrex_web::html_with_csp(
        StatusCode::OK,
        pages::go(
            core.settings.dev_mode,
            &record.ncp_url,
            &pairs,
            &record.ncp_acronym,
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

async fn go_page<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    Path(session): Path<String>,
) -> Response {
    match core.store.get(&session).await {
        Ok(Some(r)) if r.status == Status::Pending => go(&core, &r),
        Ok(Some(_)) => error(
            &core,
            StatusCode::CONFLICT,
            "This exchange is already completed.",
        ),
        Ok(None) => error(&core, StatusCode::NOT_FOUND, "Unknown exchange."),
        Err(e) => unavailable(&core, &e),
    }
}

async fn receive<S: SmpStore>(State(core): State<Arc<SmpCore<S>>>, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_RETURN_BYTES).await else {
        core.metrics
            .refused_returns
            .get_or_create(&crate::service::ReasonLabels {
                reason: "too_large".into(),
            })
            .inc();
        return error(
            &core,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The response is too large.",
        );
    };
    match core.receive(bytes.to_vec()).await {
        // Post/redirect/get: the result lives at its own address, so a reload, the back button
        // or a restored tab shows it again instead of re-posting the response.
        Ok(Ok(record)) => {
            let token = core.view_token(&record.session_id);
            emrex_web::redirect(&format!("/result/{}?t={token}", record.session_id))
        }
        Ok(Err(refused)) => {
            let status = match refused {
                ReturnRefused::Unknown => StatusCode::NOT_FOUND,
                ReturnRefused::Replayed => StatusCode::CONFLICT,
                ReturnRefused::Expired => StatusCode::GONE,
            };
            error(&core, status, &refused.to_string())
        }
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "store");
            error(
                &core,
                StatusCode::SERVICE_UNAVAILABLE,
                "The response could not be stored. Please try again.",
            )
        }
    }
}

fn render_result<S: SmpStore>(
    core: &SmpCore<S>,
    record: &crate::model::ExchangeRecord,
    token: &str,
) -> Response {
    let elmo = document(record);
    let rows = elmo.as_ref().map(course_rows).unwrap_or_default();
    let has_pdf = elmo.as_ref().and_then(transcript_pdf).is_some();
    let link = has_pdf.then(|| format!("/result/{}/transcript.pdf?t={token}", record.session_id));
    emrex_web::html(
        StatusCode::OK,
        pages::result(core.settings.dev_mode, record, &rows, link.as_deref()),
    )
}

#[derive(Debug, serde::Deserialize)]
struct Token {
    t: Option<String>,
}

async fn authorized<S: SmpStore>(
    core: &SmpCore<S>,
    session: &str,
    token: Option<&str>,
) -> Result<crate::model::ExchangeRecord, Response> {
    if !token.is_some_and(|t| core.view_token_ok(session, t)) {
        return Err(error(
            core,
            StatusCode::FORBIDDEN,
            "This link is not valid or has expired. Your institution's system keeps the result; ask it, or start the transfer again.",
        ));
    }
    match core.store.get(session).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(error(core, StatusCode::NOT_FOUND, "Unknown exchange.")),
        Err(e) => Err(unavailable(core, &e)),
    }
}

async fn result<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    Path(session): Path<String>,
    Query(q): Query<Token>,
) -> Result<Response, Response> {
    let record = authorized(&core, &session, q.t.as_deref()).await?;
    let token = core.view_token(&record.session_id);
    Ok(render_result(&core, &record, &token))
}

async fn pdf<S: SmpStore>(
    State(core): State<Arc<SmpCore<S>>>,
    Path(session): Path<String>,
    Query(q): Query<Token>,
) -> Result<Response, Response> {
    let record = authorized(&core, &session, q.t.as_deref()).await?;
    let Some(bytes) = document(&record).as_ref().and_then(transcript_pdf) else {
        return Err(error(
            &core,
            StatusCode::NOT_FOUND,
            "This exchange has no transcript PDF.",
        ));
    };
    // Always a download, never rendered inline in our origin.
    Ok(emrex_web::attachment(
        bytes,
        "application/pdf",
        "emrex-transcript.pdf",
    ))
}

async fn stylesheet() -> Response {
    emrex_web::stylesheet(pages::STYLE)
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
