//! The shutdown trigger: SIGTERM (what Kubernetes sends), SIGINT (Ctrl-C), or a programmatic
//! [`Shutdown::trigger`] (tests, or a service that decides to stop). What happens after the
//! trigger is [`crate::service`]'s job.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A cloneable "please stop" handle; triggering is idempotent.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    /// Cancelled when the listeners close (after the drain delay): long-lived streams end then,
    /// so the servers can finish instead of waiting out the shutdown timeout.
    closing: CancellationToken,
}

impl Shutdown {
    /// Not triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts graceful shutdown.
    pub fn trigger(&self) {
        if !self.token.is_cancelled() {
            tracing::info!("shutdown requested");
        }
        self.token.cancel();
    }

    /// Whether shutdown was triggered.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once shutdown is triggered.
    pub async fn triggered(&self) {
        self.token.cancelled().await;
    }

    /// Marks the moment the listeners close (the runtime calls it at the end of the drain delay;
    /// also triggers shutdown).
    pub fn close_listeners(&self) {
        self.trigger();
        self.closing.cancel();
    }

    /// Completes once the listeners close: the moment for a long-lived stream (a Watch) to end
    /// with `UNAVAILABLE`, so its client reconnects to another replica. Ending it at the trigger
    /// instead would send the client back to this replica, which still accepts during the
    /// drain delay.
    pub async fn listeners_closing(&self) {
        self.closing.cancelled().await;
    }

    /// Spawns a task that triggers this handle on SIGTERM or SIGINT. Must be called inside a
    /// Tokio runtime. If the handlers cannot be installed, the error is logged and only
    /// programmatic triggers work.
    pub fn trigger_on_signals(&self) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = wait_for_signal() => match result {
                    Ok(signal) => {
                        tracing::info!(signal, "received signal, shutting down");
                        this.trigger();
                    }
                    Err(error) => tracing::error!(%error, "cannot listen for shutdown signals"),
                },
                () = this.triggered() => {}
            }
        })
    }
}

/// Waits for SIGTERM or SIGINT and returns its name.
pub async fn wait_for_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}
