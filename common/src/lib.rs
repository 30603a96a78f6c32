//! What two or more prockit tools share, and nothing else: pipes and a queue
//! shared by processes, duration syntax and latency summaries, the exit-code
//! table, process groups, spawn errors, signal handling and the `main` frame
//! that prints errors the same way everywhere, and what the tutorial scenes
//! share: `--lang` and a pool of long-lived worker processes.
//!
//! No nix or libc type appears in this crate's public API, so upgrading either
//! never ripples into the tools.

pub mod cli;
pub mod exit;
pub mod ipc;
pub mod lang;
pub mod pool;
pub mod proc;
pub mod signal;
pub mod status;
pub mod stdio;
pub mod terminal;
pub mod time;
