//! The browser-facing HTTP side: the EMREX entry point, login, selection, consent, and the
//! return form. Handlers are thin: validation, selection and ELMO building are pure functions
//! elsewhere; here are cookies, CSRF, headers and the order of state changes.
//!
//! Every refusal (bad parameters, unknown or finished exchange, foreign browser, forged CSRF
//! token, oversized body) is a [`Refusal`]: handlers and extractors return it with `?`, and one
//! middleware renders it as an error page in the request's language, counts it by reason and
//! logs it. A refusal changes no state. Once a valid `returnUrl` is known, failures after login
//! are answered to the client as `NCP_ERROR` instead.
//!
//! * [`extract`]: the bounded form body, and the exchange bound to this browser (cookie) with
//!   its CSRF token checked — the preamble every exchange handler shares (the page language is
//!   `emrex_web::PageLang`: `?lang=`, the remembered choice, `Accept-Language`);
//! * [`cookie`]: the browser-binding cookie;
//! * `start`, `login`, `consent`: the handlers, in the order a student meets them.
//!
//! Security headers come from [`emrex_web::secure`] on every response; a language chosen with
//! the switch is remembered by [`emrex_web::remember_language`].

mod consent;
pub mod cookie;
pub mod extract;
mod login;
mod refusal;
mod start;
mod wallet;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use crate::clients::Signer;
use crate::entry::ReturnUrlPolicy;
use crate::exchange::ExchangeStore;
use crate::metrics::NcpMetrics;
use crate::oidc::OidcLogin;
use crate::pages;
use crate::response::DocumentSettings;
use crate::source::AnySource;

pub use refusal::{Message, Refusal};

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
    /// The wallet issuance, when `[wallet] enabled`.
    pub wallet: Option<crate::wallet::Wallet>,
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
    /// How the response document is written (ELMO version, provider name in the PDF).
    pub document: DocumentSettings,
    pub ttl_secs: u64,
}

/// The router of the NCP's HTTP side. The login routes exist only for the logins configured
/// (the dev login, OpenID Connect); anything else is the "not found" page.
pub fn router(ncp: Arc<Ncp>) -> Router {
    let entry = ncp.settings.entry_path.clone();
    let mut router = Router::new()
        .route(&entry, get(start::entry_get).post(start::entry_post))
        .route("/x/{id}", get(consent::show))
        .route("/x/{id}/send", post(consent::send))
        .route("/x/{id}/cancel", post(consent::cancel))
        .route("/assets/ncp.css", get(stylesheet))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
    if ncp.settings.dev_login {
        router = router.route("/x/{id}/login/dev", post(login::login_dev));
    }
    if ncp.oidc.is_some() {
        router = router
            .route("/x/{id}/login/oidc", get(login::login_oidc))
            .route("/login/callback", get(login::oidc_callback));
    }
    if let Some(w) = &ncp.wallet {
        use crate::wallet::issuer::well_known_path;
        let public = &w.issuer;
        router = router
            .route(
                &well_known_path(public, "openid-credential-issuer"),
                get(wallet::issuer_metadata),
            )
            .route(
                &well_known_path(public, "oauth-authorization-server"),
                get(wallet::authorization_server_metadata),
            )
            .route(
                &well_known_path(public, "jwt-vc-issuer"),
                get(wallet::jwt_vc_issuer),
            )
            .route("/wallet/token", post(wallet::token))
            .route("/wallet/nonce", post(wallet::nonce))
            .route("/wallet/credential", post(wallet::credential));
    }
    let router = router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&ncp),
            refusal::render,
        ))
        .layer(axum::middleware::from_fn(emrex_web::remember_language))
        .with_state(ncp);
    emrex_web::secure(router)
}

async fn stylesheet() -> Response {
    emrex_web::stylesheet(pages::STYLE.as_str())
}

async fn not_found(method: Method) -> Refusal {
    if method != Method::GET && method != Method::POST {
        return Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method",
            Message::BadRequest,
        );
    }
    Refusal::not_found()
}
