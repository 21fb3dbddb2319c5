//! `emrex`: one binary for every EMREX service and tool. Each subcommand is one job; this file
//! only parses the command line, runs the chosen command and turns its outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

use crate::input::IntoExitCode;

mod cli;
mod data_lock;
mod demo;
mod dev_cmd;
mod elmo_cmd;
mod emreg_cmd;
mod input;
mod ncp_cmd;
mod operator_cmd;
mod private_file;
mod serve;
mod signer_cmd;
mod smp_cmd;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Elmo(cmd) => elmo_cmd::run(cmd).into_exit_code(),
        cli::Command::Signer(args) => service_exit(signer_cmd::run(args)),
        cli::Command::Emreg(args) => service_exit(emreg_cmd::run(args)),
        cli::Command::Ncp(args) => service_exit(ncp_cmd::run(args)),
        cli::Command::Dev(args) => service_exit(dev_cmd::run(args)),
        cli::Command::Smp(args) => service_exit(smp_cmd::run(args)),
        cli::Command::Operator(args) => service_exit(operator_cmd::run(args)),
        cli::Command::Crd(args) => service_exit(
            if args.cel {
                emrex_operator::crds_yaml_with_cel()
            } else {
                emrex_operator::crds_yaml()
            }
            .map(|y| print!("{y}"))
            .map_err(anyhow::Error::from),
        ),
    }
}

/// A service that stops with an error prints the whole cause chain and exits 1.
fn service_exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
