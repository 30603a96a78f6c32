//! `pool-run`: a pool of N workers runs commands built from input lines or
//! arguments, like GNU parallel (the tutorial's `Pool(4)` with `apply_async`
//! and `Pool.map`, whose results come back in input order: `-k`).

mod argv;
mod backend;
mod blocks;
mod boundary;
mod capture;
mod config;
mod exit;
mod feed;
mod frames;
mod gate;
mod group_by;
mod header;
mod input;
mod job;
mod job_env;
mod job_pipes;
mod jobs;
mod limit;
mod machine;
mod output;
mod perl;
mod pipe_input;
mod placement;
mod progress;
mod semaphore;
mod slots;
mod source;
mod spread;
mod supervisor;
mod tally;
mod tee;
mod template;
mod timeouts;
mod values;
mod watch;
mod watchdog;

use std::process::ExitCode;

use common::cli::{Failure, run_tool_with_args};

use crate::cli::Cli;
// The command line lives in its own crate (built for size); `crate::cli` names it.
use crate::config::Config;
use crate::exit::Exit;
use pool_run_cli as cli;

pub fn main() -> ExitCode {
    match argv::expand(std::env::args_os().collect()) {
        Ok(args) => run_tool_with_args(&cli::HELP, Exit::Error, args, run_cli),
        Err(message) => {
            common::cli::main_with("pool-run", || Err(Failure::new(Exit::Error, message)))
        }
    }
}

fn run_cli(cli: Cli) -> Result<u8, Failure> {
    if cli.sem.semaphore || started_as("sem") {
        return semaphore::run(&semaphore_of(cli));
    }
    if let Some(code) = machine::answer(&cli)? {
        return Ok(code);
    }
    if let Some(dir) = &cli.display.tmpdir {
        let writable = dir.is_dir()
            && nix::unistd::access(dir.as_path(), nix::unistd::AccessFlags::W_OK).is_ok();
        if !writable {
            return Err(Failure::new(
                Exit::Error,
                format!("--tmpdir '{}' is not a writable directory", dir.display()),
            ));
        }
        // GNU parallel: --tmpdir is $TMPDIR, for pool-run's own files (the
        // output it spills, --tee's copy of stdin) and for the jobs.
        // SAFETY: pool-run has one thread until the supervisor starts more.
        unsafe { std::env::set_var("TMPDIR", dir) };
    }
    let cfg = Config::from_cli(cli)?;
    supervisor::run(&cfg)
}

/// Whether the program was started under `name` (a symlink: `sem`).
fn started_as(name: &str) -> bool {
    std::env::args_os()
        .next()
        .and_then(|arg0| std::path::Path::new(&arg0).file_name().map(|f| f == name))
        .unwrap_or(false)
}

/// The semaphore call the command line asks for (sem's -j defaults to 1).
fn semaphore_of(cli: Cli) -> semaphore::Semaphore {
    semaphore::Semaphore {
        id: cli.sem.id,
        slots: cli.jobs.as_ref().map_or(1, |spec| {
            spec.resolve(std::thread::available_parallelism().map_or(1, |n| n.get()))
        }),
        foreground: cli.sem.fg,
        timeout: cli.sem.semaphore_timeout,
        wait: cli.sem.wait,
        command: cli
            .command
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect(),
    }
}
