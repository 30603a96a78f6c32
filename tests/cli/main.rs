//! The one integration-test binary: every tool is run as a real process, the
//! way users and scripts run it. One binary links once and shares `support`.

// In tests a panic is a failed test with its message: unwrap is the point.
#![allow(clippy::unwrap_used)]

mod docs;
mod fork_demo;
mod gnu_corpus;
mod gnu_options;
mod install;
mod json_schemas;
mod listings;
mod lock_demo;
mod pingpong;
mod pipelines;
mod pool_run;
mod pool_run_bytes;
mod pool_run_faults;
mod pool_run_pipe;
mod pool_run_remote;
mod pool_run_slurm;
mod reliability;
mod spin_cores;
mod subproc;
mod support;
