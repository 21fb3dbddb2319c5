//! `emrex emreg`: runs EMREG (gRPC Registry + RegistryAdmin, the EMREX 1.x JSON lists over HTTP,
//! and the admin server) until SIGTERM/SIGINT.

use anyhow::Context;
use emrex_emreg::EmregServiceConfig;
use emrex_runtime::config::ConfigLoader;

use crate::cli::EmregArgs;

/// Loads the configuration (defaults < file < `EMREX_EMREG_…` < flags) and serves.
pub fn run(args: EmregArgs) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new("EMREX_EMREG_")
        .file(args.config.as_ref())
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("http.listen", args.http_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("store.url", args.store)?;
    if args.dev {
        loader = loader.set("dev_mode", true)?;
    }
    let config: EmregServiceConfig = loader.load().context("configuration")?;
    crate::serve::serve(&config.log.clone(), emrex_emreg::run(config))
}
