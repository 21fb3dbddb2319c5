//! The exchange page (login or selection, by stage), sending the chosen results with the
//! student's consent, cancelling, and the answer to the client: the return form auto-posted to
//! `returnUrl`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use emrex_runtime::grpc::error_chain;

use emrex_web::PageLang;

use super::extract::{Bound, BoundForm};
use super::{Message, Ncp, Refusal, cookie};
use crate::exchange::{Exchange, ExchangeError, Stage};
use crate::i18n::{Lang, LangTexts};
use crate::pages::{self, Frame, Selection};
use crate::response::{ReturnCode, ReturnFields, build_signed};
use crate::selection::select;
use crate::source::demo::STUDENTS;

/// The address of an exchange's page (what the language switch links to).
fn here(ex: &Exchange) -> String {
    format!("/x/{}", ex.id)
}

pub(super) async fn show(
    State(ncp): State<Arc<Ncp>>,
    PageLang(lang): PageLang,
    Bound(ex): Bound,
) -> Result<Response, Refusal> {
    let settings = &ncp.settings;
    let here = here(&ex);
    let frame = Frame {
        lang,
        dev_mode: settings.dev_mode,
        here: Some(&here),
    };
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
                        description: s.description(lang).to_string(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            pages::login(frame, &ex.id, &ex.csrf, ncp.oidc.is_some(), &students)
        }
        Stage::Choosing {
            student, offers, ..
        } => pages::select(
            frame,
            offers,
            &Selection {
                exchange_id: &ex.id,
                csrf: &ex.csrf,
                student_name: &student.display_name(),
                allow_pick: ex.request.allow_pick,
                return_host: &ex.request.return_host(),
                chosen: &BTreeSet::new(),
                consent: false,
                error: None,
                wallet: ncp.wallet.is_some().then_some(false),
            },
        ),
        Stage::Finished => {
            return Err(Refusal::from(ExchangeError::Finished).with_back(&ex.request.return_url));
        }
    };
    Ok(emrex_web::html(StatusCode::OK, html))
}

pub(super) async fn send(
    State(ncp): State<Arc<Ncp>>,
    PageLang(lang): PageLang,
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
    let pick = ex.request.allow_pick;
    let select_all = pick && form.get("do") == Some("select-all");
    let chosen: BTreeSet<String> = if select_all || !pick {
        keys.clone()
    } else {
        form.all("course").map(str::to_owned).collect()
    };
    let consent = form.get("consent") == Some("yes");
    let wants_wallet = ncp.wallet.is_some() && form.get("wallet") == Some("yes");
    // The selection again, as the student left it (not a refusal: nothing was wrong but the
    // form): what they ticked, the consent box, and what is missing.
    let here = here(&ex);
    let again = |status: StatusCode, message: Option<&str>| {
        let html = pages::select(
            Frame {
                lang,
                dev_mode: ncp.settings.dev_mode,
                here: Some(&here),
            },
            offered,
            &Selection {
                exchange_id: &ex.id,
                csrf: &ex.csrf,
                student_name: &student.display_name(),
                allow_pick: pick,
                return_host: &ex.request.return_host(),
                // Only what was offered: a tampered key is not echoed back.
                chosen: &chosen.intersection(&keys).cloned().collect(),
                consent,
                error: message,
                wallet: ncp.wallet.is_some().then_some(wants_wallet),
            },
        );
        Ok(emrex_web::html(status, html))
    };
    if select_all {
        return again(StatusCode::OK, None);
    }
    if !consent {
        return again(StatusCode::UNPROCESSABLE_ENTITY, Some(t.error_need_consent));
    }
    if chosen.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(t.error_nothing_selected),
        );
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
    // The wallet gets the credential of exactly this document: the consented selection the
    // client receives (a copy, taken before it moves into the response).
    let for_wallet = wants_wallet.then(|| selected.clone());
    let built = build_signed(
        selected,
        lang.tag().to_string(),
        ncp.settings.document.clone(),
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
            match for_wallet {
                Some(selected) => wallet_answer(&ncp, lang, &ex, &fields, &selected).await,
                None => answer(&ncp, lang, &ex, &fields, None),
            }
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
    PageLang(lang): PageLang,
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
        Frame {
            lang,
            dev_mode: ncp.settings.dev_mode,
            here: None,
        },
        url.as_str(),
        &fields.pairs(),
        note,
    );
    let mut r = emrex_web::html_with_csp(StatusCode::OK, html, &csp);
    // The exchange is over: drop the browser binding.
    cookie::append(&mut r, &cookie::expire(ncp.settings.secure_cookies, &ex.id));
    r
}

/// The answer when the student asked for the wallet: the offer page, whose return form the
/// student submits with its button (no script), so there is time to scan the QR code. If no offer
/// can be made, the same page says so and still carries the results to the client.
async fn wallet_answer(
    ncp: &Ncp,
    lang: Lang,
    ex: &Exchange,
    fields: &ReturnFields,
    selected: &emrex_elmo::Elmo,
) -> Response {
    let made = match &ncp.wallet {
        Some(w) => match w.make_offer(selected, lang).await {
            Ok(o) => {
                ncp.metrics.wallet_offers.inc();
                Some(o)
            }
            Err(e) => {
                tracing::warn!(exchange = %ex.id, error = %error_chain(&e), "no wallet offer");
                None
            }
        },
        None => None,
    };
    let offer = made.as_ref().map(|o| pages::WalletOffer {
        uri: &o.uri,
        qr_svg: &o.qr_svg,
        tx_code: &o.tx_code,
        minutes: o.minutes,
    });
    ncp.metrics.finish(fields.code.as_str());
    tracing::info!(exchange = %ex.id, outcome = fields.code.as_str(), wallet = offer.is_some(), "exchange answered");
    let url = &ex.request.return_url;
    // No script on this page; its one form goes to the client.
    let csp = format!(
        "{}; form-action {}",
        emrex_web::BASE_CSP,
        url.origin().ascii_serialization()
    );
    let html = pages::wallet_offer(
        Frame {
            lang,
            dev_mode: ncp.settings.dev_mode,
            here: None,
        },
        offer.as_ref(),
        &ex.request.return_host(),
        url.as_str(),
        &fields.pairs(),
    );
    let mut r = emrex_web::html_with_csp(StatusCode::OK, html, &csp);
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
