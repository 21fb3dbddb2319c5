//! Student login with OpenID Connect: authorization code flow with PKCE (S256), nonce and
//! state, ID token verified by the `openidconnect` crate (signature against the provider's
//! JWKS, issuer, audience, expiry, nonce), then the configured claims mapped to a [`Student`].
//!
//! The provider's metadata is discovered lazily and cached for an hour, so the NCP starts (and
//! serves its other pages) while the identity provider is down; a failed discovery is retried
//! on the next login.
//!
//! HTTP goes through our own reqwest client (rustls on aws-lc-rs, the platform's trust store plus
//! an optional extra CA file, no redirects followed, short timeouts).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use emrex_runtime::tls::TlsError;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, ConfigurationError,
    CsrfToken, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardErrorResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::student::Student;

/// How long discovered metadata (endpoints, keys) is reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The OpenID Connect settings of the NCP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL (metadata at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// File holding the client secret (a mounted Secret); never the secret itself in config.
    pub client_secret_file: Option<PathBuf>,
    /// Scopes besides `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Which claims hold what.
    #[serde(default)]
    pub claims: ClaimMapping,
    /// Extra CA bundle (PEM) for a provider with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow an `http://` issuer (development only; refused unless the NCP is in dev mode).
    #[serde(default)]
    pub allow_http: bool,
}

fn default_scopes() -> Vec<String> {
    vec!["profile".to_string()]
}

/// Which ID token claims become the student's names, birth date and identifiers. Real
/// federations differ: eduGAIN/SAML-bridged providers often send `schacDateOfBirth`,
/// `schacPersonalUniqueCode` or a national id under their own claim names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    pub given_names: String,
    pub family_name: String,
    pub birth_date: String,
    /// `claim` → ELMO identifier `type`.
    pub identifiers: Vec<IdentifierClaim>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            given_names: "given_name".into(),
            family_name: "family_name".into(),
            birth_date: "birthdate".into(),
            identifiers: vec![IdentifierClaim {
                claim: "sub".into(),
                id_type: "local".into(),
            }],
        }
    }
}

/// One claim mapped to an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierClaim {
    pub claim: String,
    /// ELMO identifier type (`local`, `nationalIdentifier`, `schac`, …).
    #[serde(rename = "type")]
    pub id_type: String,
}

/// Why a login failed. Shown to the student only as a generic message; logged in full.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// An `http://` issuer outside development mode or without `allow_http`.
    #[error("an http:// issuer needs login.oidc.allow_http and development mode")]
    PlainHttpIssuer,
    /// The issuer or the callback URL is not a URL.
    #[error("the OpenID Connect {what} {url:?} is not a valid URL")]
    Url {
        /// `issuer` or `redirect URL`.
        what: &'static str,
        url: String,
        #[source]
        source: url::ParseError,
    },
    /// `client_secret_file` could not be read.
    #[error("reading login.oidc.client_secret_file {}", path.display())]
    SecretFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `ca_file` could not be read or holds no certificate (the message names the file).
    #[error("login.oidc.ca_file")]
    CaFile(#[source] TlsError),
    /// A certificate of `ca_file` that the HTTP client does not accept.
    #[error("a certificate in login.oidc.ca_file {} is not usable", path.display())]
    CaCertificate {
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client for the OpenID provider")]
    HttpClient(#[source] reqwest::Error),
    /// The provider's metadata could not be discovered.
    #[error("OpenID provider discovery failed")]
    Discovery(#[source] DiscoveryError<HttpError>),
    /// The provider's metadata has no token endpoint.
    #[error("the OpenID provider has no usable token endpoint")]
    NoTokenEndpoint(#[source] ConfigurationError),
    /// Redeeming the code failed (the provider refused it, or did not answer).
    #[error("token request failed")]
    Token(#[source] RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>),
    /// The token response has no ID token.
    #[error("the token response has no id_token")]
    NoIdToken,
    /// The ID token failed verification (signature, issuer, audience, expiry, nonce).
    #[error("ID token refused")]
    IdToken(#[source] ClaimsVerificationError),
    /// The verified ID token's payload is not readable JSON.
    #[error("the ID token's payload is unreadable")]
    UnreadablePayload,
}

/// What the NCP keeps between sending the browser to the provider and the callback (in the
/// exchange store, so the callback may reach any replica).
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The `state` sent (compared in constant time on return).
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingLogin(redacted)")
    }
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A configured OpenID Connect relying party.
#[derive(Debug)]
pub struct OidcLogin {
    config: OidcConfig,
    secret: Option<String>,
    redirect_url: RedirectUrl,
    http: HttpClient,
    cached: Mutex<Option<(Instant, Arc<Client>)>>,
}

impl OidcLogin {
    /// A relying party whose callback is `redirect_url` (must be registered at the provider).
    pub fn new(config: OidcConfig, redirect_url: &str, dev_mode: bool) -> Result<Self, OidcError> {
        if config.issuer.starts_with("http://") && !(config.allow_http && dev_mode) {
            return Err(OidcError::PlainHttpIssuer);
        }
        issuer_url(&config.issuer)?;
        let secret = match &config.client_secret_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| OidcError::SecretFile {
                        path: path.clone(),
                        source,
                    })?
                    .trim()
                    .to_string(),
            ),
            None => None,
        };
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("emrex-ncp/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &config.ca_file {
            for der in emrex_runtime::tls::load_certificates(ca).map_err(OidcError::CaFile)? {
                let cert = reqwest::Certificate::from_der(&der).map_err(|source| {
                    OidcError::CaCertificate {
                        path: ca.clone(),
                        source,
                    }
                })?;
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = HttpClient(builder.build().map_err(OidcError::HttpClient)?);
        Ok(Self {
            redirect_url: RedirectUrl::new(redirect_url.to_string()).map_err(|source| {
                OidcError::Url {
                    what: "redirect URL",
                    url: redirect_url.to_string(),
                    source,
                }
            })?,
            config,
            secret,
            http,
            cached: Mutex::new(None),
        })
    }

    async fn client(&self) -> Result<Arc<Client>, OidcError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, client)) = cached.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(client.clone());
        }
        let issuer = issuer_url(&self.config.issuer)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(OidcError::Discovery)?;
        let client = Arc::new(
            CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(self.config.client_id.clone()),
                self.secret.clone().map(ClientSecret::new),
            )
            .set_redirect_uri(self.redirect_url.clone()),
        );
        *cached = Some((Instant::now(), client.clone()));
        Ok(client)
    }

    /// The URL to send the browser to, and what to keep until the callback. `state_prefix`
    /// (the exchange id) lets the callback find the exchange; the rest of the state is random.
    pub async fn start(
        &self,
        state_prefix: &str,
        ui_lang: &str,
    ) -> Result<(String, PendingLogin), OidcError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = format!("{state_prefix}.{}", CsrfToken::new_random().secret());
        let state_for_url = state.clone();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_for_url.clone()),
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .add_extra_param("ui_locales", ui_lang);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _state, nonce) = request.url();
        Ok((
            url.to_string(),
            PendingLogin {
                state,
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Redeems the code, verifies the ID token and maps its claims.
    pub async fn finish(&self, code: &str, pending: &PendingLogin) -> Result<Student, OidcError> {
        let client = self.client().await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(OidcError::NoTokenEndpoint)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(OidcError::Token)?;
        let id_token =
            openidconnect::TokenResponse::id_token(&token).ok_or(OidcError::NoIdToken)?;
        // Signature, issuer, audience, expiry and nonce are checked here.
        id_token
            .claims(
                &client.id_token_verifier(),
                &Nonce::new(pending.nonce.clone()),
            )
            .map_err(OidcError::IdToken)?;
        // Verified: now read the payload as plain JSON, so any configured claim can be mapped.
        let payload = id_token
            .to_string()
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .ok_or(OidcError::UnreadablePayload)?;
        Ok(map_claims(&payload, &self.config.claims))
    }
}

fn issuer_url(issuer: &str) -> Result<IssuerUrl, OidcError> {
    IssuerUrl::new(issuer.to_string()).map_err(|source| OidcError::Url {
        what: "issuer",
        url: issuer.to_string(),
        source,
    })
}

/// Maps verified claims to a student (pure). Strings are taken as they are; a `birth_date`
/// claim is kept only when it is a `YYYY-MM-DD` date (OIDC allows `0000-MM-DD` and `YYYY`,
/// which cannot be matched).
pub fn map_claims(claims: &serde_json::Value, mapping: &ClaimMapping) -> Student {
    let text = |name: &str| -> Option<String> {
        match claims.get(name)? {
            serde_json::Value::String(s) => Some(s.trim().to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty() && s.len() <= 256)
    };
    Student {
        given_names: text(&mapping.given_names).unwrap_or_default(),
        family_name: text(&mapping.family_name).unwrap_or_default(),
        birth_date: text(&mapping.birth_date)
            .filter(|d| emrex_elmo::dates::parse_date(d).is_some() && !d.starts_with("0000")),
        identifiers: mapping
            .identifiers
            .iter()
            .filter_map(|m| Some((m.id_type.clone(), text(&m.claim)?)))
            .collect(),
    }
}

/// The HTTP client handed to `openidconnect`.
#[derive(Debug, Clone)]
struct HttpClient(reqwest::Client);

/// A failed request to the provider.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No response (connection, TLS, timeout) or a broken body.
    #[error("request to the OpenID provider failed")]
    Request(#[source] reqwest::Error),
    /// More than [`MAX_PROVIDER_RESPONSE`] bytes.
    #[error("the OpenID provider's response is larger than {MAX_PROVIDER_RESPONSE} bytes")]
    TooLarge,
    /// The response could not be handed to `openidconnect` (an invalid header or status).
    #[error("the OpenID provider's response is malformed")]
    Response(#[source] openidconnect::http::Error),
}

/// Largest response read from the provider (metadata, JWKS, token responses are small).
const MAX_PROVIDER_RESPONSE: usize = 1024 * 1024;

impl<'c> openidconnect::AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut req = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body);
            req = req.version(reqwest::Version::HTTP_11);
            let mut response = req.send().await.map_err(HttpError::Request)?;
            let mut builder = http::Response::builder().status(response.status());
            for (k, v) in response.headers() {
                builder = builder.header(k, v);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(HttpError::Request)? {
                if body.len() + chunk.len() > MAX_PROVIDER_RESPONSE {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(HttpError::Response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> OidcConfig {
        OidcConfig {
            issuer: issuer.into(),
            client_id: "ncp".into(),
            client_secret_file: None,
            scopes: default_scopes(),
            claims: ClaimMapping::default(),
            ca_file: None,
            allow_http: false,
        }
    }

    #[test]
    fn unusable_configurations_are_refused_with_the_setting_named() {
        let cb = "https://ncp.example/login/callback";
        let err = OidcLogin::new(config("http://idp.example"), cb, true).expect_err("http");
        assert!(matches!(err, OidcError::PlainHttpIssuer), "{err:?}");
        let mut dev = config("http://127.0.0.1:9");
        dev.allow_http = true;
        assert!(OidcLogin::new(dev, cb, true).is_ok());
        let err = OidcLogin::new(config("not a url"), cb, false).expect_err("url");
        assert!(
            matches!(err, OidcError::Url { what: "issuer", .. }),
            "{err:?}"
        );
        let mut ca = config("https://idp.example");
        ca.ca_file = Some("/nonexistent/ca.pem".into());
        let err = OidcLogin::new(ca, cb, false).expect_err("ca");
        assert!(matches!(err, OidcError::CaFile(_)), "{err:?}");
        let chain = emrex_runtime::grpc::error_chain(&err);
        assert!(chain.contains("/nonexistent/ca.pem"), "{chain}");
        let mut secret = config("https://idp.example");
        secret.client_secret_file = Some("/nonexistent/secret".into());
        let err = OidcLogin::new(secret, cb, false).expect_err("secret");
        assert!(err.to_string().contains("/nonexistent/secret"), "{err}");
    }

    #[test]
    fn claims_are_mapped_as_configured() {
        let claims = serde_json::json!({
            "sub": "u123", "given_name": " Åsa ", "family_name": "Ødegård",
            "birthdate": "1999-04-12", "schac_personal_unique_code": "urn:schac:personalUniqueCode:no:studentID:uio.no:123",
            "nin": 12345
        });
        let mapping = ClaimMapping {
            identifiers: vec![
                IdentifierClaim {
                    claim: "sub".into(),
                    id_type: "local".into(),
                },
                IdentifierClaim {
                    claim: "schac_personal_unique_code".into(),
                    id_type: "schac".into(),
                },
                IdentifierClaim {
                    claim: "nin".into(),
                    id_type: "nationalIdentifier".into(),
                },
                IdentifierClaim {
                    claim: "absent".into(),
                    id_type: "x".into(),
                },
            ],
            ..ClaimMapping::default()
        };
        let s = map_claims(&claims, &mapping);
        assert_eq!(s.given_names, "Åsa");
        assert_eq!(s.family_name, "Ødegård");
        assert_eq!(s.birth_date.as_deref(), Some("1999-04-12"));
        assert_eq!(s.identifier("local"), Some("u123"));
        assert_eq!(s.identifier("nationalIdentifier"), Some("12345"));
        assert_eq!(s.identifiers.len(), 3);
    }

    #[test]
    fn unusable_birth_dates_are_dropped() {
        for bad in ["0000-04-12", "1999", "12.04.1999", ""] {
            let s = map_claims(
                &serde_json::json!({ "birthdate": bad }),
                &ClaimMapping::default(),
            );
            assert_eq!(s.birth_date, None, "{bad}");
        }
    }

    #[test]
    fn http_issuers_need_dev_mode_and_the_flag() {
        let cfg = OidcConfig {
            issuer: "http://127.0.0.1:9/".into(),
            client_id: "c".into(),
            client_secret_file: None,
            scopes: default_scopes(),
            claims: ClaimMapping::default(),
            ca_file: None,
            allow_http: true,
        };
        assert!(OidcLogin::new(cfg.clone(), "http://127.0.0.1/cb", false).is_err());
        assert!(OidcLogin::new(cfg.clone(), "http://127.0.0.1/cb", true).is_ok());
        let no_flag = OidcConfig {
            allow_http: false,
            ..cfg
        };
        assert!(OidcLogin::new(no_flag, "http://127.0.0.1/cb", true).is_err());
    }
}
