//! The exchange page (login or selection, by stage), sending the chosen results with the
//! student's consent, cancelling, and the answer to the client: the return form auto-posted to
//! `returnUrl`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use emrex_runtime::grpc::error_chain;

use super::extract::{Bound, BoundForm};
use super::{Message, Ncp, Refusal, cookie};
use crate::exchange::{Exchange, ExchangeError, Stage};
use crate::i18n::Lang;
use crate::pages;
use crate::response::{ReturnCode, ReturnFields, build_signed};
use crate::selection::select;
use crate::source::demo::STUDENTS;

pub(super) async fn show(
    State(ncp): State<Arc<Ncp>>,
    lang: Lang,
    Bound(ex): Bound,
) -> Result<Response, Refusal> {
    let settings = &ncp.settings;
    let html = match &ex.stage {
        Stage::Login { .. } => {
            if ncp.oidc.is_some() && !settings.dev_login {
                // Only one way to log in: go straight to the identity provider.
                return Ok(emrex_web::redirect(&format!("/x/{}/login/oidc", ex.id)));
            }
            let students: Vec<pages::DevStudent> = if settings.dev_login {
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
            pages::login(
                lang,
                settings.dev_mode,
                &ex.id,
                &ex.csrf,
                ncp.oidc.is_some(),
                &students,
            )
        }
        Stage::Choosing {
            student, offers, ..
        } => pages::select(
            lang,
            settings.dev_mode,
            &ex.id,
            &ex.csrf,
            &student.display_name(),
            offers,
            ex.request.allow_pick,
            &ex.request.return_host(),
            None,
        ),
        Stage::Finished => return Err(ExchangeError::Finished.into()),
    };
    Ok(emrex_web::html(StatusCode::OK, html))
}

pub(super) async fn send(
    State(ncp): State<Arc<Ncp>>,
    lang: Lang,
    BoundForm { exchange: ex, form }: BoundForm,
) -> Result<Response, Refusal> {
    let t = lang.texts();
    let Stage::Choosing {
        student,
        results,
        offers: offered,
    } = &ex.stage
    else {
        return Err(ExchangeError::Unknown.into());
    };
    let keys = offered.keys();
    let chosen: BTreeSet<String> = if ex.request.allow_pick {
        form.all("course").map(str::to_owned).collect()
    } else {
        keys.clone()
    };
    // The selection again, with what is missing (not a refusal: nothing was wrong but the form).
    let again = |message: &str| {
        let html = pages::select(
            lang,
            ncp.settings.dev_mode,
            &ex.id,
            &ex.csrf,
            &student.display_name(),
            offered,
            ex.request.allow_pick,
            &ex.request.return_host(),
            Some(message),
        );
        Ok(emrex_web::html(StatusCode::UNPROCESSABLE_ENTITY, html))
    };
    if form.get("consent") != Some("yes") {
        return again(t.error_need_consent);
    }
    if chosen.is_empty() {
        return again(t.error_nothing_selected);
    }
    let selected = select(results, &keys, &chosen)
        .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "tampered", Message::Forbidden))?;
    // Finish before the slow part, so a double submit cannot produce two responses.
    ncp.store
        .advance(
            &ex.id,
            |s| matches!(s, Stage::Choosing { .. }),
            Stage::Finished,
        )
        .await?;
    let built = build_signed(
        selected,
        lang.tag().to_string(),
        ncp.settings.pdf.clone(),
        &ncp.signer,
    )
    .await;
    Ok(match built {
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
            tracing::warn!(exchange = %ex.id, error = %error_chain(&e), "response could not be built");
            let fields = ReturnFields::without_results(
                &ex.request.session_id,
                ReturnCode::Error,
                "The results could not be signed. Please try again later.",
            );
            answer(&ncp, lang, &ex, &fields, Some(t.error_internal))
        }
    })
}

pub(super) async fn cancel(
    State(ncp): State<Arc<Ncp>>,
    lang: Lang,
    BoundForm { exchange: ex, .. }: BoundForm,
) -> Result<Response, Refusal> {
    finish_without_results(
        &ncp,
        lang,
        &ex,
        ReturnCode::Cancel,
        "The student cancelled.",
    )
    .await
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
    let csp = emrex_web::auto_submit_csp(
        &pages::auto_submit_hash(),
        &url.origin().ascii_serialization(),
    );
    let html = pages::return_form(
        lang,
        ncp.settings.dev_mode,
        url.as_str(),
        &fields.pairs(),
        note,
    );
    let mut r = emrex_web::html_with_csp(StatusCode::OK, html, &csp);
    // The exchange is over: drop the browser binding.
    cookie::append(&mut r, &cookie::expire(ncp.settings.secure_cookies, &ex.id));
    r
}

/// Finishes `ex` (if nobody else did) with a non-OK code and answers the client.
pub(super) async fn finish_without_results(
    ncp: &Ncp,
    lang: Lang,
    ex: &Exchange,
    code: ReturnCode,
    message: &str,
) -> Result<Response, Refusal> {
    ncp.store.advance(&ex.id, |_| true, Stage::Finished).await?;
    let note = (code != ReturnCode::Ok).then_some(lang.texts().no_results_sent);
    Ok(answer(
        ncp,
        lang,
        ex,
        &ReturnFields::without_results(&ex.request.session_id, code, message),
        note,
    ))
}
