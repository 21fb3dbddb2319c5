//! The shutdown trigger: SIGTERM (what Kubernetes sends), SIGINT (Ctrl-C), or a programmatic
//! [`Shutdown::trigger`] (tests, or a service that decides to stop). What happens after the
//! trigger is [`crate::service`]'s job.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A cloneable "please stop" handle; triggering is idempotent.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
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
