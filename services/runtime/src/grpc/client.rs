//! Channels to other EMREX services over our rustls client config (tonic's own TLS cannot
//! reload certificates either).

use std::{
    fmt, io,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::{Interceptor, interceptor::InterceptedService};
use tonic::transport::{Channel, Endpoint};

use super::GrpcError;
use crate::{
    config::GrpcClientConfig,
    tls::{TlsOptions, client_config},
};

/// A lazily connecting channel to `config.endpoint` (`https://` with TLS, `http://` plain).
///
/// Lazy so a service can start before its peers; the first call connects, and a broken
/// connection is re-established on the next call. Every connection handshake uses the current
/// certificate files (see [`crate::tls`]).
pub fn channel(config: &GrpcClientConfig, options: &TlsOptions) -> Result<Channel, GrpcError> {
    let tls = match &config.tls {
        Some(tls) => Some(client_config(tls, options)?),
        None => None,
    };
    channel_with_tls(config, tls)
}

/// Like [`channel`] with a ready-made rustls client config (`None` for `http://`), so several
/// channels can share one config and its reloading files. `config.tls` is only consulted for
/// `server_name`.
pub fn channel_with_tls(
    config: &GrpcClientConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Channel, GrpcError> {
    let bad = |message: &str| GrpcError::Endpoint {
        endpoint: config.endpoint.clone(),
        message: message.to_string(),
    };
    let uri: Uri = config
        .endpoint
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("the scheme must be https:// or http://")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host:port"))?.clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });

    let tls = match (tls, https) {
        (Some(tls), true) => {
            let server_name = config
                .tls
                .as_ref()
                .and_then(|t| t.server_name.clone())
                .unwrap_or_else(|| host.clone());
            let server_name = ServerName::try_from(server_name)
                .map_err(|e| bad(&format!("invalid TLS server name: {e}")))?;
            Some((TlsConnector::from(tls), server_name))
        }
        (None, true) => return Err(bad("https:// needs a [tls] section with ca_file")),
        (Some(_), false) => return Err(bad("a [tls] section needs an https:// endpoint")),
        (None, false) => None,
    };
    let tls = Arc::new(tls);

    // The endpoint URI only names the authority for HTTP/2; our connector does TCP and TLS, so
    // tonic is always given `http://` (that also keeps working if some crate in the build turns
    // on tonic's own TLS, which would otherwise claim `https://`).
    let endpoint = Endpoint::from_shared(format!("http://{authority}"))
        .map_err(|e| bad(&e.to_string()))?
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout);
    let connector = tower::service_fn(move |_: Uri| {
        let (tls, host) = (tls.clone(), host.clone());
        async move {
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            let _ = tcp.set_nodelay(true);
            let io = match tls.as_ref() {
                Some((connector, name)) => {
                    ClientIo::Tls(Box::new(connector.connect(name.clone(), tcp).await?))
                }
                None => ClientIo::Plain(tcp),
            };
            Ok::<_, io::Error>(TokioIo::new(io))
        }
    });
    Ok(endpoint.connect_with_connector_lazy(connector))
}

/// A channel whose calls carry the [`Bearer`] token, if one is configured.
pub type AuthChannel = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer …` to every call when a token is configured (development setups
/// and peers that authenticate callers by token; mTLS is configured in the channel's TLS). The
/// token never appears in `Debug` output or logs.
#[derive(Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Bearer(redacted)"
        } else {
            "Bearer(none)"
        })
    }
}

/// Why a bearer token could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// The token file could not be read.
    #[error("reading the bearer token file {}", path.display())]
    Read {
        /// The configured file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The token cannot be sent as a header value (control characters, non-ASCII).
    #[error("the bearer token in {} is not a valid header value", path.display())]
    Invalid {
        /// The configured file.
        path: PathBuf,
    },
}

impl Bearer {
    /// The token in `path` (surrounding whitespace trimmed), or no token without a path.
    pub fn from_file(path: Option<&Path>) -> Result<Self, BearerError> {
        let Some(path) = path else {
            return Ok(Self(None));
        };
        let token = std::fs::read_to_string(path).map_err(|source| BearerError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let value =
            format!("Bearer {}", token.trim())
                .parse()
                .map_err(|_| BearerError::Invalid {
                    path: path.to_path_buf(),
                })?;
        Ok(Self(Some(value)))
    }

    /// Whether a token is sent.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

/// `e` and its causes on one line, `a: b: c`, for a status field or a log value where `{:#}`
/// is not available. A cause whose text the message already contains is not repeated (some
/// libraries print their cause in their own message).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

/// A client connection, plain or TLS.
enum ClientIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle: inner")]
    struct Middle(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn error_chain_says_each_cause_once() {
        assert_eq!(error_chain(&Outer(Middle(Inner))), "outer: middle: inner");
        assert_eq!(error_chain(&Inner), "inner");
    }

    #[test]
    fn bearer_from_a_file_is_trimmed_sent_and_redacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").expect("write");
        let mut bearer = Bearer::from_file(Some(&path)).expect("token");
        assert!(bearer.is_set());
        assert_eq!(format!("{bearer:?}"), "Bearer(redacted)");
        let request = bearer.call(tonic::Request::new(())).expect("call");
        assert_eq!(
            request
                .metadata()
                .get("authorization")
                .map(|v| v.to_str().ok()),
            Some(Some("Bearer s3cret"))
        );
        let mut none = Bearer::from_file(None).expect("none");
        assert!(!none.is_set());
        let request = none.call(tonic::Request::new(())).expect("call");
        assert!(request.metadata().get("authorization").is_none());
    }

    #[test]
    fn unreadable_or_invalid_tokens_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        let err = Bearer::from_file(Some(&missing)).expect_err("missing");
        assert!(matches!(err, BearerError::Read { .. }));
        assert!(err.to_string().contains("missing"), "{err}");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "a\u{7f}b").expect("write");
        let err = Bearer::from_file(Some(&bad)).expect_err("invalid");
        assert!(matches!(err, BearerError::Invalid { .. }), "{err:?}");
    }
}
