//! `emrex`: one binary for every EMREX service and tool. Each subcommand is one job; this file
//! only parses the command line, runs the chosen command and turns its outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

use crate::input::IntoExitCode;

mod cli;
mod demo;
mod elmo_cmd;
mod input;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Elmo(cmd) => elmo_cmd::run(cmd).into_exit_code(),
    }
}
