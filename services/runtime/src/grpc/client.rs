//! Channels to other EMREX services over our rustls client config (tonic's own TLS cannot
//! reload certificates either).

use std::{
    io,
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
