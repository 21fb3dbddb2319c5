//! Our own accept loop: a `Stream` of connections for tonic's `serve_with_incoming_shutdown`.
//!
//! Why not tonic's `ServerTlsConfig`: it holds a fixed identity, so a rotated certificate would
//! need a restart. Here rustls runs with our reloading `ServerConfig` (see [`crate::tls`]) and
//! every connection carries a [`ConnectInfo`] with the verified client certificate.
//!
//! Handshakes run as tasks in a `JoinSet` (a slow client never delays others), each bounded by
//! the configured timeout; at most [`MAX_PENDING_HANDSHAKES`] run at once. The stream owns the
//! listener: when tonic stops accepting it drops the stream, which closes the socket (new
//! connections are refused at once) and aborts handshakes in progress.

use std::{
    future::Future as _,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    task::JoinSet,
    time::Sleep,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::Stream;
use tonic::transport::server::Connected;

use super::identity::ConnectInfo;

/// Handshakes in flight before we stop accepting for a moment.
pub const MAX_PENDING_HANDSHAKES: usize = 1024;

/// Pause after an accept error (e.g. out of file descriptors) so we do not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Accepted (and, with TLS, handshaken) connections.
pub(crate) struct Incoming {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
    handshakes: JoinSet<Option<ServerIo>>,
    backoff: Option<Pin<Box<Sleep>>>,
}

impl Incoming {
    pub(crate) fn new(
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
        handshake_timeout: Duration,
    ) -> Self {
        Self {
            listener,
            tls,
            handshake_timeout,
            handshakes: JoinSet::new(),
            backoff: None,
        }
    }
}

impl Stream for Incoming {
    type Item = io::Result<ServerIo>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            // Finished handshakes first. (An empty set answers Ready(None): nothing to wait for.)
            match this.handshakes.poll_join_next(cx) {
                Poll::Ready(Some(Ok(Some(io)))) => return Poll::Ready(Some(Ok(io))),
                Poll::Ready(Some(Ok(None))) => continue,
                Poll::Ready(Some(Err(error))) => {
                    if error.is_panic() {
                        tracing::error!(%error, "TLS handshake task panicked");
                    }
                    continue;
                }
                Poll::Ready(None) | Poll::Pending => {}
            }
            if let Some(sleep) = this.backoff.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.backoff = None;
            }
            if this.handshakes.len() >= MAX_PENDING_HANDSHAKES {
                // Woken when a handshake finishes (registered by poll_join_next above).
                return Poll::Pending;
            }
            match this.listener.poll_accept(cx) {
                Poll::Ready(Ok((tcp, remote))) => {
                    // Latency matters more than packet count for RPCs.
                    let _ = tcp.set_nodelay(true);
                    let local = tcp.local_addr().ok();
                    match &this.tls {
                        None => return Poll::Ready(Some(Ok(ServerIo::plain(tcp, remote, local)))),
                        Some(acceptor) => {
                            this.handshakes.spawn(handshake(
                                acceptor.clone(),
                                tcp,
                                remote,
                                local,
                                this.handshake_timeout,
                            ));
                        }
                    }
                }
                Poll::Ready(Err(error)) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    this.backoff = Some(Box::pin(tokio::time::sleep(ACCEPT_ERROR_BACKOFF)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    remote: SocketAddr,
    local: Option<SocketAddr>,
    timeout: Duration,
) -> Option<ServerIo> {
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let peer_certificates: Option<Arc<[_]>> = stream
                .get_ref()
                .1
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect());
            let info = ConnectInfo::tls(remote, local, peer_certificates);
            tracing::trace!(%remote, client_cert = info.peer_certificates.is_some(), "TLS connection established");
            Some(ServerIo {
                stream: Transport::Tls(Box::new(stream)),
                info,
            })
        }
        Ok(Err(error)) => {
            // A rustls error (bad/missing client certificate, no common cipher) is worth seeing;
            // plain disconnects (port scans, TCP probes) are noise.
            let tls_error = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            match tls_error {
                Some(tls_error) => {
                    tracing::info!(%remote, error = %tls_error, "TLS handshake refused");
                }
                None => tracing::debug!(%remote, %error, "TLS handshake failed"),
            }
            None
        }
        Err(_) => {
            tracing::debug!(%remote, ?timeout, "TLS handshake timed out");
            None
        }
    }
}

enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One server-side connection (plain TCP or TLS) with its [`ConnectInfo`].
pub struct ServerIo {
    stream: Transport,
    info: ConnectInfo,
}

impl ServerIo {
    fn plain(tcp: TcpStream, remote: SocketAddr, local: Option<SocketAddr>) -> Self {
        Self {
            stream: Transport::Plain(tcp),
            info: ConnectInfo::plain(remote, local),
        }
    }
}

impl std::fmt::Debug for ServerIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIo")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Connected for ServerIo {
    type ConnectInfo = ConnectInfo;

    fn connect_info(&self) -> ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for ServerIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Transport::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Transport::Plain(s) => s.is_write_vectored(),
            Transport::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
