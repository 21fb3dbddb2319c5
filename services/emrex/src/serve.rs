//! What every service subcommand does after loading its configuration: start logging and the
//! async runtime, then run the service crate's own entry point to its end.

use std::future::Future;

use anyhow::Context;
use emrex_runtime::config::LogConfig;

/// Runs `service` (a service crate's `run(config)`) on a multi-threaded runtime.
pub fn serve<E>(log: &LogConfig, service: impl Future<Output = Result<(), E>>) -> anyhow::Result<()>
where
    E: Into<anyhow::Error>,
{
    emrex_runtime::telemetry::init_tracing(log).context("logging")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(service).map_err(Into::into)
}
