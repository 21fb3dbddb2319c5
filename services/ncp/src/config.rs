//! The configuration schema of `emrex ncp` (TOML file, `EMREX_NCP_…` environment, flags; see
//! docs/ncp.md and the runtime's README for the shared sections).

use std::path::PathBuf;
use std::time::Duration;

use emrex_runtime::config::{
    AdminConfig, GrpcClientConfig, GrpcServerConfig, LogConfig, ShutdownConfig,
};
use serde::{Deserialize, Serialize};

use crate::oidc::OidcConfig;

/// Everything `emrex ncp` reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NcpServiceConfig {
    /// The browser-facing EMREX endpoint and pages.
    pub http: HttpConfig,
    /// gRPC: health and reflection (the NCP serves no RPCs of its own yet).
    pub grpc: GrpcServerConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    /// Development mode: the dev login, the demo source, `http://` return URLs on loopback and
    /// a banner on every page. Never for real students.
    pub dev_mode: bool,
    pub exchange: ExchangeConfig,
    /// Where exchanges in progress are kept (default `sqlite:ncp.db`; PostgreSQL, in the schema
    /// `ncp`, for several replicas).
    pub store: emrex_store::StoreConfig,
    pub login: LoginConfig,
    pub source: SourceConfig,
    pub signer: SignerConfig,
    /// Name shown in the transcript PDF's footer (e.g. "EMREX NCP of Norway").
    pub provider_name: String,
    /// The ELMO version of the documents sent.
    pub elmo: ElmoConfig,
    /// Issuing the consented results into the student's wallet (OpenID4VCI 1.0, SD-JWT VC).
    pub wallet: WalletConfig,
}

/// `[wallet]`: the NCP as an OpenID4VCI 1.0 credential issuer (pre-authorized code flow) of the
/// consented results as an SD-JWT VC of type `urn:eudi:elm:1` (docs/ncp.md, "Wallet issuance").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalletConfig {
    /// Offer the wallet on the consent page and serve the issuer endpoints.
    pub enabled: bool,
    /// Lifetime of an offer and its pre-authorized code (the student scans it right after
    /// consent; ten minutes covers installing or unlocking a wallet).
    #[serde(with = "emrex_runtime::config::duration")]
    pub offer_ttl: Duration,
    /// Credential formats offered (`typ` of the issuer JWT): `dc+sd-jwt` (SD-JWT VC as
    /// registered) and `vc+sd-jwt` (what older wallets expect). Non-empty.
    pub formats: Vec<WalletFormat>,
    /// `exp` of the issued credential. A year: results do not expire, but the credential
    /// relies on the Signer's key being published; a year bounds that reliance past a key
    /// rotation, and the student can take a fresh one at any later exchange.
    #[serde(with = "emrex_runtime::config::duration")]
    pub credential_ttl: Duration,
}

impl Default for WalletConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            offer_ttl: Duration::from_secs(10 * 60),
            formats: vec![WalletFormat::DcSdJwt],
            credential_ttl: Duration::from_secs(365 * 24 * 60 * 60),
        }
    }
}

/// An SD-JWT VC media type the wallet issuance may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WalletFormat {
    #[serde(rename = "dc+sd-jwt")]
    DcSdJwt,
    #[serde(rename = "vc+sd-jwt")]
    VcSdJwt,
}

impl WalletFormat {
    /// The format identifier (OpenID4VCI `format`, JOSE `typ`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DcSdJwt => "dc+sd-jwt",
            Self::VcSdJwt => "vc+sd-jwt",
        }
    }
}

/// `[elmo]`: which ELMO version the NCP writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElmoConfig {
    /// `"1.7"` (default: what every deployed EMREX 1.x client reads) or `"2.1"` (ELMO 2.1.1, with
    /// the report status and both `bday` and `dateOfBirth`; for clients known to read it).
    pub version: emrex_elmo::ElmoVersion,
}

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Socket address of the EMREX entry point and pages.
    pub listen: String,
    /// The NCP's public base URL (as listed in EMREG). Used for the OpenID Connect callback
    /// (`{public_url}/login/callback`) and to decide whether cookies are `Secure` (`https://`).
    pub public_url: String,
    /// Path of the EMREX entry point (where clients POST `sessionId` and `returnUrl`).
    pub entry_path: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            entry_path: "/".into(),
        }
    }
}

/// Exchange state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// How long a student has from arriving to sending (and how long a finished exchange is
    /// remembered to refuse replays).
    #[serde(with = "emrex_runtime::config::duration")]
    pub ttl: Duration,
    /// Most exchanges in progress at once (a bound on the store; beyond it new students get a
    /// "busy" page).
    pub max_active: usize,
    /// When not empty, `returnUrl` hosts must match (`smp.example.org`, `*.uio.no`).
    pub allowed_return_hosts: Vec<String>,
    /// Default of `allowNotPassedCourses` when the client does not send it.
    pub allow_not_passed_default: bool,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30 * 60),
            max_active: 10_000,
            allowed_return_hosts: Vec::new(),
            allow_not_passed_default: false,
        }
    }
}

/// How students log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    /// OpenID Connect; required unless in development mode.
    pub oidc: Option<OidcConfig>,
    /// Offer the demo students (only ever in development mode).
    pub dev_login: bool,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            oidc: None,
            dev_login: true,
        }
    }
}

/// Where results come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// Built-in synthetic students (development mode only).
    #[default]
    Demo,
    /// `{path}/{identifier}.xml`, the identifier of type `identifier_type`.
    Directory {
        path: PathBuf,
        #[serde(default = "default_identifier_type")]
        identifier_type: String,
    },
    /// The institution's `emrex.ncp.v1.ResultsProvider`.
    Grpc {
        client: GrpcClientConfig,
        /// Bearer token file (development setups without mTLS).
        #[serde(default)]
        token_file: Option<PathBuf>,
    },
}

fn default_identifier_type() -> String {
    "local".into()
}

/// The Signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignerConfig {
    pub client: GrpcClientConfig,
    /// Bearer token file, when the Signer admits development tokens instead of mTLS.
    pub token_file: Option<PathBuf>,
}

impl Default for SignerConfig {
    fn default() -> Self {
        Self {
            client: GrpcClientConfig {
                endpoint: "http://127.0.0.1:50051".into(),
                timeout: Duration::from_secs(10),
                ..GrpcClientConfig::default()
            },
            token_file: None,
        }
    }
}

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("source.kind = \"demo\" serves invented students: it needs dev_mode = true")]
    DemoSourceOutsideDevMode,
    #[error("no way to log in: configure login.oidc (the dev login exists only in dev_mode)")]
    NoLogin,
    #[error("http.public_url must be an https:// URL outside dev_mode (it is {0})")]
    PublicUrlNotHttps(String),
    #[error("http.public_url is not a valid URL: {0}")]
    PublicUrlInvalid(String),
    #[error("http.entry_path must start with '/' and not collide with the NCP's own paths")]
    EntryPath,
    #[error("wallet.formats must name at least one format (\"dc+sd-jwt\", \"vc+sd-jwt\")")]
    WalletFormats,
    #[error("wallet.offer_ttl and wallet.credential_ttl must be at least one second")]
    WalletTtl,
}

impl NcpServiceConfig {
    /// Checks the combinations that cannot work or would be unsafe.
    pub fn check(&self) -> Result<(), ConfigError> {
        if matches!(self.source, SourceConfig::Demo) && !self.dev_mode {
            return Err(ConfigError::DemoSourceOutsideDevMode);
        }
        if self.login.oidc.is_none() && !(self.dev_mode && self.login.dev_login) {
            return Err(ConfigError::NoLogin);
        }
        let url = url::Url::parse(&self.http.public_url)
            .map_err(|e| ConfigError::PublicUrlInvalid(e.to_string()))?;
        if url.scheme() != "https" && !self.dev_mode {
            return Err(ConfigError::PublicUrlNotHttps(self.http.public_url.clone()));
        }
        let p = &self.http.entry_path;
        if !p.starts_with('/')
            || ["/x/", "/login/", "/assets/", "/wallet/", "/.well-known/"]
                .iter()
                .any(|reserved| p.starts_with(reserved))
        {
            return Err(ConfigError::EntryPath);
        }
        if self.wallet.formats.is_empty() {
            return Err(ConfigError::WalletFormats);
        }
        if self.wallet.offer_ttl < Duration::from_secs(1)
            || self.wallet.credential_ttl < Duration::from_secs(1)
        {
            return Err(ConfigError::WalletTtl);
        }
        Ok(())
    }

    /// Whether the dev login is offered.
    pub fn dev_login(&self) -> bool {
        self.dev_mode && self.login.dev_login
    }

    /// Whether cookies get `Secure` (and the `__Host-` prefix).
    pub fn secure_cookies(&self) -> bool {
        self.http.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_dev_mode() {
        let c = NcpServiceConfig::default();
        assert_eq!(c.check(), Err(ConfigError::DemoSourceOutsideDevMode));
        let dev = NcpServiceConfig {
            dev_mode: true,
            ..Default::default()
        };
        assert_eq!(dev.check(), Ok(()));
        assert!(dev.dev_login());
        assert!(!dev.secure_cookies());
    }

    #[test]
    fn production_needs_oidc_and_https() {
        let mut c = NcpServiceConfig {
            source: SourceConfig::Directory {
                path: "/data".into(),
                identifier_type: "local".into(),
            },
            ..Default::default()
        };
        assert_eq!(c.check(), Err(ConfigError::NoLogin));
        c.login.oidc = Some(OidcConfig {
            issuer: "https://idp.example".into(),
            client_id: "ncp".into(),
            client_secret_file: None,
            scopes: vec![],
            claims: Default::default(),
            ca_file: None,
            allow_http: false,
        });
        assert!(matches!(c.check(), Err(ConfigError::PublicUrlNotHttps(_))));
        c.http.public_url = "https://ncp.example".into();
        assert_eq!(c.check(), Ok(()));
        assert!(!c.dev_login());
        c.http.entry_path = "/x/abc".into();
        assert_eq!(c.check(), Err(ConfigError::EntryPath));
    }

    #[test]
    fn wallet_section_reads_its_documented_shape_and_refuses_nonsense() {
        let c: NcpServiceConfig = serde_json::from_value(serde_json::json!({
            "dev_mode": true,
            "wallet": {"enabled": true, "offer_ttl": "2m", "formats": ["dc+sd-jwt", "vc+sd-jwt"], "credential_ttl": "30d"}
        }))
        .expect("wallet section");
        assert!(c.wallet.enabled);
        assert_eq!(c.wallet.offer_ttl, Duration::from_secs(120));
        assert_eq!(
            c.wallet.formats,
            vec![WalletFormat::DcSdJwt, WalletFormat::VcSdJwt]
        );
        assert_eq!(c.wallet.credential_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(c.check(), Ok(()));
        let defaults = WalletConfig::default();
        assert!(!defaults.enabled);
        assert_eq!(defaults.formats, vec![WalletFormat::DcSdJwt]);
        assert!(
            serde_json::from_value::<WalletConfig>(serde_json::json!({"formats": ["jwt_vc_json"]}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<WalletConfig>(serde_json::json!({"offer_tll": "1m"})).is_err()
        );
        let mut empty = c.clone();
        empty.wallet.formats.clear();
        assert_eq!(empty.check(), Err(ConfigError::WalletFormats));
        let mut zero = c;
        zero.wallet.offer_ttl = Duration::ZERO;
        assert_eq!(zero.check(), Err(ConfigError::WalletTtl));
    }

    #[test]
    fn source_config_reads_from_toml_shapes() {
        let s: SourceConfig =
            serde_json::from_value(serde_json::json!({"kind": "directory", "path": "/srv/elmo"}))
                .expect("directory");
        assert_eq!(
            s,
            SourceConfig::Directory {
                path: "/srv/elmo".into(),
                identifier_type: "local".into()
            }
        );
        assert!(
            serde_json::from_value::<SourceConfig>(serde_json::json!({"kind": "ldap"})).is_err()
        );
    }
}
