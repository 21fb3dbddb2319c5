//! Refusals: the one error type of the HTTP side.
//!
//! A [`Refusal`] says what was refused (status, a metric reason, which message) but not in
//! which language: handlers and extractors return it with `?` (an [`ExchangeError`] converts
//! into one), and [`render`], the middleware the router installs, turns it into the error page
//! in the request's language, counts it by reason and logs it. So the page, the metric and the
//! log line cannot drift apart, and no handler repeats them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use emrex_web::PageLang;
use url::Url;

use super::Ncp;
use crate::exchange::ExchangeError;
use crate::i18n::{LangTexts, Texts};
use crate::pages::{self, Back, Frame};

/// Which text the refusal page shows (each in every language, see [`Texts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// The request is malformed (a detail says how).
    BadRequest,
    /// Another browser, a forged form, or a tampered selection.
    Forbidden,
    /// No such exchange (never existed, long expired, or a page that does not exist).
    Expired,
    /// The exchange existed and expired (the way back to its client follows).
    ExpiredKnown,
    /// The exchange already answered the client.
    Finished,
    /// Too many exchanges in progress.
    TooBusy,
    /// The service cannot reach its database for a moment.
    Unavailable,
}

impl Message {
    fn text(self, t: &Texts) -> &'static str {
        match self {
            Message::BadRequest => t.error_bad_request,
            Message::Forbidden => t.error_forbidden,
            Message::Expired => t.error_expired,
            Message::ExpiredKnown => t.error_expired_known,
            Message::Finished => t.error_finished,
            Message::TooBusy => t.error_too_busy,
            Message::Unavailable => t.error_unavailable,
        }
    }
}

/// A refused request: answered with an error page, nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: StatusCode,
    /// The `reason` label of `emrex_ncp_refused_requests` (a fixed word, never client text).
    reason: &'static str,
    message: Message,
    /// Shown after the message (which parameter is wrong, and why).
    detail: Option<String>,
    /// The client that sent the student, when known: the page links back to it.
    back: Option<Back>,
}

impl Refusal {
    /// A refusal with `status`, counted under `reason`, showing `message`.
    pub fn new(status: StatusCode, reason: &'static str, message: Message) -> Self {
        Self {
            status,
            reason,
            message,
            detail: None,
            back: None,
        }
    }

    /// The same refusal, linking back to the site of the client whose `returnUrl` this is, so
    /// the student is not left at a dead end.
    pub fn with_back(mut self, return_url: &Url) -> Self {
        let origin = return_url.origin();
        if origin.is_tuple() {
            self.back = Some(Back {
                href: format!("{}/", origin.ascii_serialization()),
                host: crate::entry::return_host(return_url),
            });
        }
        self
    }

    /// The same refusal, saying what exactly was wrong after the message.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// A page or exchange that does not exist (404).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", Message::Expired)
    }

    /// A body over its limit (413).
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            Message::BadRequest,
        )
    }

    /// A request from a browser the exchange is not bound to, or without its CSRF token (403).
    pub fn forbidden(reason: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, reason, Message::Forbidden)
    }

    /// A malformed form (400) — `reason` for the metric, `detail` for the student.
    pub fn bad_form(detail: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_form", Message::BadRequest).with_detail(detail)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The metric reason.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The error page in `frame`'s language.
    fn page(&self, frame: Frame<'_>) -> Response {
        let html = pages::error(
            frame,
            self.message.text(frame.lang.texts()),
            self.detail.as_deref(),
            self.back.as_ref(),
        );
        emrex_web::html(self.status, html)
    }
}

impl From<ExchangeError> for Refusal {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::Unknown => {
                Self::new(StatusCode::NOT_FOUND, "unknown_exchange", Message::Expired)
            }
            ExchangeError::Expired(request) => {
                Self::new(StatusCode::GONE, "expired_exchange", Message::ExpiredKnown)
                    .with_back(&request.return_url)
            }
            ExchangeError::Finished => {
                Self::new(StatusCode::CONFLICT, "finished", Message::Finished)
            }
            ExchangeError::Full => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", Message::TooBusy)
            }
            ExchangeError::Unavailable(error) => {
                // A database outage: nothing was changed, the student can simply retry.
                tracing::warn!(error = %emrex_runtime::grpc::error_chain(&error), "exchange store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    Message::Unavailable,
                )
            }
        }
    }
}

/// Carries the refusal to [`render`] (the page needs the request's language, which the
/// middleware has). Without the middleware it is a bare status: nothing leaks, nothing happens.
impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = self.status.into_response();
        r.extensions_mut().insert(self);
        r
    }
}

/// The middleware that renders, counts and logs every [`Refusal`] of the router.
pub(super) async fn render(
    State(ncp): State<Arc<Ncp>>,
    PageLang(lang): PageLang,
    request: Request,
    next: Next,
) -> Response {
    // A refused GET can be shown again in another language; the answer to a POST cannot.
    let here =
        (request.method() == Method::GET).then(|| emrex_web::here_without_lang(request.uri()));
    let mut response = next.run(request).await;
    let Some(refusal) = response.extensions_mut().remove::<Refusal>() else {
        return response;
    };
    ncp.metrics.refuse(refusal.reason);
    tracing::info!(
        reason = refusal.reason,
        status = refusal.status.as_u16(),
        "request refused"
    );
    refusal.page(Frame {
        lang,
        dev_mode: ncp.settings.dev_mode,
        here: here.as_deref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn exchange_errors_keep_their_status_and_reason() {
        let request = crate::entry::EntryRequest::from_params(
            [("sessionId", "s"), ("returnUrl", "https://smp.example/r")],
            &Default::default(),
            false,
        )
        .expect("request");
        let cases = [
            (ExchangeError::Unknown, 404, "unknown_exchange"),
            (
                ExchangeError::Expired(Box::new(request)),
                410,
                "expired_exchange",
            ),
            (ExchangeError::Finished, 409, "finished"),
            (ExchangeError::Full, 503, "busy"),
        ];
        for (e, status, reason) in cases {
            let what = format!("{e:?}");
            let r = Refusal::from(e);
            assert_eq!(
                (r.status().as_u16(), r.reason()),
                (status, reason),
                "{what}"
            );
        }
        let outage = ExchangeError::Unavailable(crate::exchange::StoreError::Database(
            sqlx::Error::PoolTimedOut,
        ));
        let r = Refusal::from(outage);
        assert_eq!(
            (r.status().as_u16(), r.reason()),
            (503, "store_unavailable")
        );
    }

    #[test]
    fn a_refusal_travels_to_the_middleware_in_the_response() {
        let r = Refusal::forbidden("csrf").into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            r.extensions().get::<Refusal>(),
            Some(&Refusal::forbidden("csrf"))
        );
    }

    #[tokio::test]
    async fn the_page_is_in_the_requested_language_with_its_detail() {
        let page = Refusal::bad_form("unknown <demo> student").page(Frame {
            lang: Lang::De,
            dev_mode: false,
            here: None,
        });
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .expect("body");
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains(Lang::De.texts().error_bad_request), "{html}");
        assert!(html.contains("unknown &lt;demo&gt; student"), "{html}");
        assert!(html.contains(r#"lang="de""#), "{html}");
    }

    #[tokio::test]
    async fn an_expired_or_finished_transfer_links_back_to_its_client() {
        let url = Url::parse("https://smp.example.org:8443/emrex/return?x=1").expect("url");
        let r = Refusal::from(ExchangeError::Finished).with_back(&url);
        let page = r.page(Frame {
            lang: Lang::En,
            dev_mode: false,
            here: Some("/x/1"),
        });
        let body = axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .expect("body");
        let html = String::from_utf8_lossy(&body);
        assert!(
            html.contains(
                r#"<a href="https://smp.example.org:8443/">Back to smp.example.org:8443</a>"#
            ),
            "{html}"
        );
    }
}
