//! `emrex ncp`: runs an NCP (the EMREX entry point and pages over HTTP, health over gRPC, and
//! the admin server) until SIGTERM/SIGINT.

use anyhow::Context;
use emrex_ncp::NcpServiceConfig;
use emrex_runtime::config::ConfigLoader;

use crate::cli::NcpArgs;

/// Loads the configuration (defaults < file < `EMREX_NCP_…` < flags) and serves.
pub fn run(args: NcpArgs) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new("EMREX_NCP_")
        .file(args.config.as_ref())
        .set_opt("http.listen", args.http_listen)?
        .set_opt("http.public_url", args.public_url)?
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("signer.client.endpoint", args.signer)?
        .set_opt("store.url", args.store)?;
    if args.dev {
        loader = loader.set("dev_mode", true)?;
    }
    let config: NcpServiceConfig = loader.load().context("configuration")?;
    crate::serve::serve(&config.log.clone(), emrex_ncp::run(config))
}
