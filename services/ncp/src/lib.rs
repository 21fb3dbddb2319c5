//! The EMREX provider side (NCP, called EMP in newer texts): what a country or institution runs
//! so that its students can send their results to any EMREX client.
//!
//! * [`entry`]: the EMREX 1.x hand-over (`sessionId`, `returnUrl`, USOS flags), validated;
//! * [`exchange`]: server-side exchange state bound to the browser;
//! * [`oidc`]: student login with OpenID Connect (code + PKCE); the dev login lives in [`http`];
//! * [`source`]: where results come from (`demo`, `directory`, `grpc`);
//! * [`selection`]: what may be sent and the document for what was chosen (pure);
//! * [`response`]: ELMO v1.7 + transcript PDF, signed by the Signer, gzip+base64, return codes;
//! * [`wallet`]: the same consented results into the student's wallet (OpenID4VCI 1.0, SD-JWT VC);
//! * [`pages`] and [`i18n`]: accessible server-rendered pages in English, German and French;
//! * [`http`]: the router tying it together; [`metrics`], [`config`].

mod assemble;
pub mod clients;
pub mod config;
pub mod entry;
pub mod exchange;
pub mod http;
pub mod i18n;
pub mod metrics;
pub mod oidc;
pub mod pages;
pub mod response;
pub mod selection;
pub mod source;
pub mod student;
pub mod wallet;

use std::time::{Duration, SystemTime};

pub use assemble::{assemble, run};
pub use config::NcpServiceConfig;
pub use http::{Ncp, Settings, router};

use crate::config::SourceConfig;
use crate::entry::ReturnUrlPolicy;
use crate::exchange::ExchangeStore;
use crate::metrics::NcpMetrics;
use crate::oidc::OidcLogin;
use crate::response::DocumentSettings;
use crate::source::AnySource;

/// Why the NCP could not be set up from its configuration, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("login.oidc")]
    Oidc(#[from] oidc::OidcError),
    #[error("gRPC client")]
    Client(#[from] clients::ClientError),
    /// Opening the exchange store.
    #[error("exchange store")]
    Store(#[from] exchange::StoreError),
    /// The `[grpc]` section (TLS files).
    #[error("gRPC server")]
    Grpc(#[source] emrex_runtime::grpc::GrpcError),
    /// Serving failed.
    #[error(transparent)]
    Service(#[from] emrex_runtime::service::ServiceError),
}

/// Builds the NCP from a checked configuration, opening its exchange store. Clients connect
/// lazily, so this succeeds while the Signer or the results service are still starting
/// (readiness reports them).
pub async fn build(config: &NcpServiceConfig, metrics: NcpMetrics) -> Result<Ncp, SetupError> {
    config.check()?;
    let store = ExchangeStore::open(
        &config.store,
        config.exchange.ttl,
        config.exchange.max_active,
    )
    .await?;
    let source = match &config.source {
        SourceConfig::Demo => AnySource::Demo(source::demo::DemoSource::new(
            emrex_elmo::dates::format_date_time_utc(SystemTime::now()),
        )),
        SourceConfig::Directory {
            path,
            identifier_type,
        } => AnySource::Directory(source::directory::DirectorySource::new(
            path.clone(),
            identifier_type.clone(),
        )),
        SourceConfig::Grpc { client, token_file } => {
            AnySource::Grpc(Box::new(source::grpc::GrpcSource::new(
                clients::channel(client, token_file.as_deref())?,
                client.timeout,
            )))
        }
    };
    let signer = clients::Signer::new(
        clients::channel(&config.signer.client, config.signer.token_file.as_deref())?,
        config.signer.client.timeout,
    );
    let public = config.http.public_url.trim_end_matches('/');
    let oidc = match &config.login.oidc {
        Some(o) => Some(OidcLogin::new(
            o.clone(),
            &format!("{public}/login/callback"),
            config.dev_mode,
        )?),
        None => None,
    };
    let provider_name = if config.provider_name.is_empty() {
        if config.dev_mode {
            "EMREX NCP (development)".to_string()
        } else {
            "EMREX NCP".to_string()
        }
    } else {
        config.provider_name.clone()
    };
    let wallet = config.wallet.enabled.then(|| wallet::Wallet {
        store: wallet::WalletStore::new(store.database()),
        config: config.wallet.clone(),
        issuer: public.to_string(),
    });
    Ok(Ncp {
        wallet,
        store,
        source,
        signer,
        oidc,
        metrics,
        settings: Settings {
            dev_mode: config.dev_mode,
            dev_login: config.dev_login(),
            secure_cookies: config.secure_cookies(),
            entry_path: config.http.entry_path.clone(),
            policy: ReturnUrlPolicy {
                allow_http_loopback: config.dev_mode,
                allowed_hosts: config.exchange.allowed_return_hosts.clone(),
            },
            allow_not_passed_default: config.exchange.allow_not_passed_default,
            document: DocumentSettings {
                provider_name,
                elmo_version: config.elmo.version,
            },
            ttl_secs: config.exchange.ttl.max(Duration::from_secs(1)).as_secs(),
        },
    })
}
