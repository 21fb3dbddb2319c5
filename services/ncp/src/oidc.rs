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
use emrex_runtime::grpc::error_chain;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
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
    #[error("OpenID provider configuration: {0}")]
    Config(String),
    #[error("OpenID provider discovery failed: {0}")]
    Discovery(String),
    #[error("token request failed: {0}")]
    Token(String),
    #[error("ID token refused: {0}")]
    IdToken(String),
    #[error("the provider reported an error: {0}")]
    Provider(String),
}

/// What the NCP keeps between sending the browser to the provider and the callback.
#[derive(Clone)]
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
            return Err(OidcError::Config(
                "an http:// issuer needs login.oidc.allow_http and development mode".into(),
            ));
        }
        IssuerUrl::new(config.issuer.clone()).map_err(|e| OidcError::Config(e.to_string()))?;
        let secret = match &config.client_secret_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| OidcError::Config(format!("{}: {e}", path.display())))?
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
            let pem = std::fs::read(ca)
                .map_err(|e| OidcError::Config(format!("{}: {e}", ca.display())))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| OidcError::Config(format!("{}: {e}", ca.display())))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = HttpClient(
            builder
                .build()
                .map_err(|e| OidcError::Config(format!("HTTP client: {e}")))?,
        );
        Ok(Self {
            redirect_url: RedirectUrl::new(redirect_url.to_string())
                .map_err(|e| OidcError::Config(e.to_string()))?,
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
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
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
            .map_err(|e| OidcError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Token(error_chain(&e)))?;
        let id_token = openidconnect::TokenResponse::id_token(&token)
            .ok_or_else(|| OidcError::IdToken("the token response has no id_token".into()))?;
        // Signature, issuer, audience, expiry and nonce are checked here.
        id_token
            .claims(
                &client.id_token_verifier(),
                &Nonce::new(pending.nonce.clone()),
            )
            .map_err(|e| OidcError::IdToken(error_chain(&e)))?;
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
            .ok_or_else(|| OidcError::IdToken("unreadable payload".into()))?;
        Ok(map_claims(&payload, &self.config.claims))
    }
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
#[error("{0}")]
struct HttpError(String);

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
            let mut response = req.send().await.map_err(|e| HttpError(error_chain(&e)))?;
            let mut builder = http::Response::builder().status(response.status());
            for (k, v) in response.headers() {
                builder = builder.header(k, v);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| HttpError(e.to_string()))?
            {
                if body.len() + chunk.len() > MAX_PROVIDER_RESPONSE {
                    return Err(HttpError("response from the provider too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(|e| HttpError(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
