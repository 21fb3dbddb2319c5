//! The EMREX entry point: a client (SMP) hands the student over with `sessionId` and
//! `returnUrl` (a form POST, or a GET with a query). A valid hand-over starts an exchange bound
//! to this browser and redirects to it; anything else is refused before any state exists.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

use super::extract::Form;
use super::{Message, Ncp, Refusal, cookie};
use crate::entry::{EntryRequest, MAX_ENTRY_BYTES};

pub(super) async fn entry_get(State(ncp): State<Arc<Ncp>>, uri: Uri) -> Result<Response, Refusal> {
    let query = uri.query().unwrap_or_default();
    if query.len() > MAX_ENTRY_BYTES {
        return Err(
            Refusal::new(StatusCode::URI_TOO_LONG, "too_large", Message::BadRequest)
                .with_detail("too long"),
        );
    }
    start(&ncp, &Form::parse(query.as_bytes())).await
}

pub(super) async fn entry_post(
    State(ncp): State<Arc<Ncp>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    // EMREX 1.x clients send application/x-www-form-urlencoded ("not multipart/form-data").
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ctype
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_entry",
            Message::BadRequest,
        )
        .with_detail("the request must be a form POST (application/x-www-form-urlencoded)"));
    }
    let form = Form::read(body, MAX_ENTRY_BYTES)
        .await
        .map_err(|r| r.with_detail("the request is too large"))?;
    start(&ncp, &form).await
}

async fn start(ncp: &Ncp, form: &Form) -> Result<Response, Refusal> {
    let request = EntryRequest::from_params(
        form.pairs(),
        &ncp.settings.policy,
        ncp.settings.allow_not_passed_default,
    )
    .map_err(|e| {
        Refusal::new(StatusCode::BAD_REQUEST, "bad_entry", Message::BadRequest)
            .with_detail(e.to_string())
    })?;
    let created = ncp.store.create(request).await?;
    ncp.metrics.started.inc();
    if let Ok(live) = ncp.store.live().await {
        ncp.metrics
            .active
            .set(i64::try_from(live).unwrap_or(i64::MAX));
    }
    tracing::info!(exchange = %created.id, "exchange started");
    let mut r = emrex_web::redirect(&format!("/x/{}", created.id));
    let set = cookie::bind(
        ncp.settings.secure_cookies,
        &created.id,
        &created.browser_secret,
        ncp.settings.ttl_secs,
    );
    cookie::append(&mut r, &set);
    Ok(r)
}
