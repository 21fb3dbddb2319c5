//! Login: the development login (a demo student, dev mode only) and OpenID Connect (code +
//! PKCE, see [`crate::oidc`]), then loading the student's results. The routes exist only when
//! that login is configured.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use emrex_runtime::grpc::error_chain;

use emrex_web::PageLang;

use super::consent::finish_without_results;
use super::extract::{Bound, BoundForm, authorize};
use super::{Ncp, Refusal};
use crate::exchange::{Exchange, ExchangeError, Stage};
use crate::i18n::Lang;
use crate::response::ReturnCode;
use crate::selection::offers;
use crate::source::ResultsSource;
use crate::source::demo::STUDENTS;
use crate::student::Student;

pub(super) async fn login_dev(
    State(ncp): State<Arc<Ncp>>,
    PageLang(lang): PageLang,
    BoundForm { exchange: ex, form }: BoundForm,
) -> Result<Response, Refusal> {
    if !matches!(ex.stage, Stage::Login { .. }) {
        return Err(ExchangeError::Unknown.into());
    }
    let t = Instant::now();
    let demo = form
        .get("student")
        .and_then(|s| STUDENTS.iter().find(|d| d.id == s))
        .ok_or_else(|| Refusal::bad_form("unknown demo student"))?;
    ncp.metrics.step("login", t.elapsed().as_secs_f64());
    logged_in(&ncp, lang, &ex, demo.student()).await
}

pub(super) async fn login_oidc(
    State(ncp): State<Arc<Ncp>>,
    PageLang(lang): PageLang,
    Bound(ex): Bound,
) -> Result<Response, Refusal> {
    let Some(oidc) = &ncp.oidc else {
        return Err(Refusal::not_found());
    };
    match oidc.start(&ex.id, lang.tag()).await {
        Ok((url, pending)) => {
            ncp.store
                .advance(
                    &ex.id,
                    |s| matches!(s, Stage::Login { .. }),
                    Stage::Login {
                        pending: Some(pending),
                    },
                )
                .await?;
            Ok(emrex_web::redirect(&url))
        }
        Err(e) => {
            tracing::warn!(exchange = %ex.id, error = %error_chain(&e), "login could not start");
            finish_without_results(
                &ncp,
                lang,
                &ex,
                ReturnCode::Error,
                "The student could not be authenticated (identity provider unavailable).",
            )
            .await
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

pub(super) async fn oidc_callback(
    State(ncp): State<Arc<Ncp>>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Result<Response, Refusal> {
    let Some(oidc) = &ncp.oidc else {
        return Err(Refusal::not_found());
    };
    // The state is `{exchange id}.{random}`: it names the exchange and proves the round trip.
    let Some((id, _)) = cb.state.as_deref().and_then(|s| s.split_once('.')) else {
        return Err(ExchangeError::Unknown.into());
    };
    let ex = authorize(&ncp, id, &headers, None).await?;
    let Stage::Login {
        pending: Some(pending),
    } = &ex.stage
    else {
        return Err(ExchangeError::Unknown.into());
    };
    let state_ok = cb.state.as_deref().is_some_and(|s| {
        aws_lc_rs::constant_time::verify_slices_are_equal(s.as_bytes(), pending.state.as_bytes())
            .is_ok()
    });
    if !state_ok {
        return Err(Refusal::forbidden("csrf"));
    }
    if let Some(error) = cb.error.as_deref() {
        tracing::info!(exchange = %ex.id, error, "the identity provider returned an error");
        let (code, message) = if error == "access_denied" {
            (ReturnCode::Cancel, "The student cancelled the login.")
        } else {
            (ReturnCode::Error, "The student could not be authenticated.")
        };
        return finish_without_results(&ncp, lang, &ex, code, message).await;
    }
    let code = cb
        .code
        .as_deref()
        .ok_or_else(|| Refusal::bad_form("no code"))?;
    let t = Instant::now();
    let student = match oidc.finish(code, pending).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(exchange = %ex.id, error = %error_chain(&e), "login failed");
            return finish_without_results(
                &ncp,
                lang,
                &ex,
                ReturnCode::Error,
                "The student could not be authenticated.",
            )
            .await;
        }
    };
    ncp.metrics.step("login", t.elapsed().as_secs_f64());
    logged_in(&ncp, lang, &ex, student).await
}

/// After a login: load the results, then show the selection or answer NO_RESULTS / ERROR.
async fn logged_in(
    ncp: &Ncp,
    lang: Lang,
    ex: &Exchange,
    student: Student,
) -> Result<Response, Refusal> {
    let t = Instant::now();
    let result = ncp
        .source
        .results(&student, &[lang.tag().to_string()])
        .await;
    ncp.metrics.step("source", t.elapsed().as_secs_f64());
    let no_results =
        async |message| finish_without_results(ncp, lang, ex, ReturnCode::NoResults, message).await;
    let results = match result {
        Ok(Some(r)) => r,
        Ok(None) => return no_results("No results were found for this student.").await,
        Err(e) => {
            tracing::warn!(exchange = %ex.id, source = ncp.source.kind(), error = %error_chain(&e), "results source failed");
            return finish_without_results(
                ncp,
                lang,
                ex,
                ReturnCode::Error,
                "The student's results could not be retrieved from the institution.",
            )
            .await;
        }
    };
    let offered = offers(&results, ex.request.allow_not_passed, lang.tag());
    if !offered.any_offered() {
        return no_results("The student has no results that can be sent.").await;
    }
    let stage = Stage::Choosing {
        student,
        results: Box::new(results),
        offers: offered,
    };
    ncp.store
        .advance(&ex.id, |s| matches!(s, Stage::Login { .. }), stage)
        .await?;
    Ok(emrex_web::redirect(&format!("/x/{}", ex.id)))
}
