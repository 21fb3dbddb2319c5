//! `emrex signer`: runs the Signer service (gRPC + admin server) until SIGTERM/SIGINT.

use anyhow::Context;
use emrex_runtime::config::ConfigLoader;
use emrex_signer::SignerServiceConfig;

use crate::cli::SignerArgs;

/// Loads the configuration (defaults < file < `EMREX_SIGNER_…` < flags) and serves.
pub fn run(args: SignerArgs) -> anyhow::Result<()> {
    let path = |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string());
    let config: SignerServiceConfig = ConfigLoader::new("EMREX_SIGNER_")
        .file(args.config.as_ref())
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("keys.key_file", path(args.key))?
        .set_opt("keys.cert_file", path(args.cert))?
        .set_opt("keys.next_cert_file", path(args.next_cert))?
        .load()
        .context("configuration")?;
    crate::serve::serve(&config.log.clone(), emrex_signer::run(config))
}
