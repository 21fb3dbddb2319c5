//! `emrex smp`: runs an SMP (chooser, hand-over and return pages over HTTP; the SIS API over
//! gRPC; the admin server) until SIGTERM/SIGINT.

use anyhow::Context;
use emrex_runtime::config::ConfigLoader;
use emrex_smp::config::SmpServiceConfig;

use crate::cli::SmpArgs;

/// Loads the configuration (defaults < file < `EMREX_SMP_…` < flags) and serves.
pub fn run(args: SmpArgs) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new("EMREX_SMP_")
        .file(args.config.as_ref())
        .set_opt("http.listen", args.http_listen)?
        .set_opt("http.public_url", args.public_url)?
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("store.url", args.store)?;
    if args.dev {
        loader = loader.set("dev_mode", true)?;
    }
    let config: SmpServiceConfig = loader.load().context("configuration")?;
    crate::serve::serve(&config.log.clone(), emrex_smp::run(config))
}
