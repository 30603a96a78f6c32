//! `pool-run`: a pool of N workers runs commands built from input lines or
//! arguments, like GNU parallel (the tutorial's `Pool(4)` with `apply_async`
//! and `Pool.map`, whose results come back in input order: `-k`).

mod backend;
mod capture;
mod cli;
mod exit;
mod frames;
mod gate;
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

use common::cli::{Failure, main_with, parse_args};

use crate::cli::{Cli, Config};
use crate::exit::Exit;

pub fn main() -> ExitCode {
    main_with("pool-run", run_cli)
}

fn run_cli() -> Result<u8, Failure> {
    let cli: Cli = parse_args(Exit::Error)?;
    let cfg = Config::from_cli(cli)?;
    supervisor::run(&cfg)
}
