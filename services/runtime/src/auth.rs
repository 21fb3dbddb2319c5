//! Caller authentication for protected RPCs (the Signer's `Sign`).
//!
//! A call is admitted when the connection carries a **verified client certificate** (mTLS: the
//! TLS layer already checked it against the client CA bundle), or, only when explicitly enabled
//! for development, when `authorization: Bearer <token>` matches a configured token. Tokens are
//! compared by their SHA-256 digests in constant time, so neither the content nor the length of
//! a configured token leaks through timing.
//!
//! Use it per service (`SignerServer::with_interceptor(svc, auth)`) or as a layer
//! ([`Authenticator::layer`]). Admitted requests carry a [`Caller`] extension.

use std::{fmt, sync::Arc};

use subtle::ConstantTimeEq;
use tonic::{Request, Status, service::Interceptor};

use crate::{
    config::AuthConfig,
    grpc::{PeerIdentity, connect_info},
};

/// The auth configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Bearer tokens enabled but none (or an empty one) configured.
    #[error(
        "allow_dev_bearer_tokens is set but dev_bearer_tokens is empty or contains an empty token"
    )]
    NoTokens,
}

/// Who was admitted, inserted into the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A verified client certificate (`None` if its fields could not be parsed).
    Certificate(Option<PeerIdentity>),
    /// A development bearer token.
    DevBearerToken,
}

/// The [`Caller`] the [`Authenticator`] admitted for this request.
pub fn caller<T>(request: &Request<T>) -> Option<&Caller> {
    request.extensions().get::<Caller>()
}

/// Admits mTLS callers and, in development, bearer-token callers.
#[derive(Clone)]
pub struct Authenticator {
    /// SHA-256 digests of the accepted tokens; empty = bearer tokens disabled.
    token_digests: Arc<[[u8; 32]]>,
}

impl Authenticator {
    /// Only verified client certificates.
    pub fn mtls_only() -> Self {
        Self {
            token_digests: Arc::new([]),
        }
    }

    /// From the `[auth]` config section.
    pub fn from_config(config: &AuthConfig) -> Result<Self, AuthError> {
        if !config.allow_dev_bearer_tokens {
            if !config.dev_bearer_tokens.is_empty() {
                tracing::warn!(
                    "dev_bearer_tokens are configured but allow_dev_bearer_tokens is false; ignoring them"
                );
            }
            return Ok(Self::mtls_only());
        }
        if config.dev_bearer_tokens.is_empty()
            || config.dev_bearer_tokens.iter().any(String::is_empty)
        {
            return Err(AuthError::NoTokens);
        }
        tracing::warn!(
            tokens = config.dev_bearer_tokens.len(),
            "development bearer tokens are accepted: do not use in production"
        );
        Ok(Self {
            token_digests: config
                .dev_bearer_tokens
                .iter()
                .map(|t| digest(t.as_bytes()))
                .collect(),
        })
    }

    /// Whether bearer tokens are accepted.
    pub fn allows_bearer_tokens(&self) -> bool {
        !self.token_digests.is_empty()
    }

    /// Decides about one request.
    pub fn authenticate<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        if let Some(info) = connect_info(request)
            && info.peer_certificates.is_some()
        {
            return Ok(Caller::Certificate(info.peer_identity().cloned()));
        }
        let header = request.metadata().get("authorization");
        if !self.allows_bearer_tokens() {
            return Err(Status::unauthenticated(if header.is_some() {
                "bearer tokens are not accepted here: connect with a client certificate (mTLS)"
            } else {
                "a client certificate (mTLS) is required for this call"
            }));
        }
        let Some(header) = header else {
            return Err(Status::unauthenticated(
                "a client certificate (mTLS) or an `authorization: Bearer <token>` header is required",
            ));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                Status::unauthenticated("the authorization header must be `Bearer <token>`")
            })?;
        let presented = digest(token.as_bytes());
        // Compare against every token, without stopping early.
        let matched = self
            .token_digests
            .iter()
            .fold(subtle::Choice::from(0), |acc, known| {
                acc | known.ct_eq(&presented)
            });
        if bool::from(matched) {
            Ok(Caller::DevBearerToken)
        } else {
            Err(Status::unauthenticated("invalid bearer token"))
        }
    }

    /// This authenticator as a tower layer for `Server::builder().layer(..)` or a single
    /// service.
    pub fn layer(self) -> tonic::service::InterceptorLayer<Self> {
        tonic::service::InterceptorLayer::new(self)
    }
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        match self.authenticate(&request) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Ok(request)
            }
            Err(status) => {
                let remote = connect_info(&request).map(|i| i.remote_addr);
                tracing::info!(
                    ?remote,
                    reason = status.message(),
                    "unauthenticated call refused"
                );
                Err(status)
            }
        }
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("dev_bearer_tokens", &self.token_digests.len())
            .finish()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::ConnectInfo;

    fn request(auth: Option<&str>) -> Request<()> {
        let mut req = Request::new(());
        if let Some(v) = auth {
            req.metadata_mut()
                .insert("authorization", v.parse().expect("ascii"));
        }
        req
    }

    fn dev(tokens: &[&str]) -> Authenticator {
        Authenticator::from_config(&AuthConfig {
            allow_dev_bearer_tokens: true,
            dev_bearer_tokens: tokens.iter().map(|t| t.to_string()).collect(),
        })
        .expect("tokens")
    }

    #[test]
    fn mtls_only_refuses_everything_without_a_certificate() {
        let auth = Authenticator::mtls_only();
        let err = auth.authenticate(&request(None)).expect_err("no cert");
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        assert!(
            err.message().contains("client certificate"),
            "{}",
            err.message()
        );
        let err = auth
            .authenticate(&request(Some("Bearer x")))
            .expect_err("no tokens");
        assert!(err.message().contains("not accepted"), "{}", err.message());
        // A plain TCP connection has no certificate either.
        let mut req = request(None);
        req.extensions_mut()
            .insert(ConnectInfo::plain(([127, 0, 0, 1], 1).into(), None));
        assert!(auth.authenticate(&req).is_err());
    }

    #[test]
    fn bearer_tokens_when_enabled() {
        let auth = dev(&["alpha", "beta-longer-token"]);
        assert_eq!(
            auth.authenticate(&request(Some("Bearer beta-longer-token")))
                .expect("ok"),
            Caller::DevBearerToken
        );
        assert!(auth.authenticate(&request(Some("Bearer alpha"))).is_ok());
        for bad in [
            "Bearer alph",
            "Bearer alphaa",
            "Basic alpha",
            "alpha",
            "Bearer ",
        ] {
            let err = auth.authenticate(&request(Some(bad))).expect_err(bad);
            assert_eq!(err.code(), tonic::Code::Unauthenticated, "{bad}");
        }
        let err = auth.authenticate(&request(None)).expect_err("missing");
        assert!(err.message().contains("Bearer"), "{}", err.message());
    }

    #[test]
    fn config_validation() {
        let off = AuthConfig {
            allow_dev_bearer_tokens: false,
            dev_bearer_tokens: vec!["x".into()],
        };
        assert!(
            !Authenticator::from_config(&off)
                .expect("ok")
                .allows_bearer_tokens()
        );
        let empty = AuthConfig {
            allow_dev_bearer_tokens: true,
            dev_bearer_tokens: vec![],
        };
        assert!(Authenticator::from_config(&empty).is_err());
        assert!(!format!("{:?}", dev(&["secret"])).contains("secret"));
        assert!(
            !format!(
                "{:?}",
                AuthConfig {
                    allow_dev_bearer_tokens: true,
                    dev_bearer_tokens: vec!["secret".into()]
                }
            )
            .contains("secret")
        );
    }
}
