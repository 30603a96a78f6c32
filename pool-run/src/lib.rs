//! `pool-run`: a pool of N workers runs commands built from input lines or
//! arguments, like GNU parallel (the tutorial's `Pool(4)` with `apply_async`
//! and `Pool.map`, whose results come back in input order: `-k`).

mod backend;
mod capture;
mod cli;
mod config;
mod exit;
mod frames;
mod gate;
mod header;
mod input;
mod job;
mod jobs;
mod output;
mod progress;
mod slots;
mod source;
mod supervisor;
mod tally;
mod template;
mod watchdog;

use std::process::ExitCode;

use common::cli::{Failure, run_tool};

use crate::cli::Cli;
use crate::config::Config;
use crate::exit::Exit;

pub fn main() -> ExitCode {
    run_tool(&cli::HELP, Exit::Error, run_cli)
}

fn run_cli(cli: Cli) -> Result<u8, Failure> {
    let cfg = Config::from_cli(cli)?;
    supervisor::run(&cfg)
}
