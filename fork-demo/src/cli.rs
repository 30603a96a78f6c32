//! fork-demo's command line: the fork demo by default, `process`, `memory`
//! and `bench` as subcommands.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use common::cli::{Help, WithDefault};
use common::lang::Lang;
use common::time::parse_duration;

/// What fork-demo says of itself in `--help`.
pub const HELP: Help = Help::new("fork-demo", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  fork-demo                                  # the tutorial's fork: parent and child pids
  fork-demo memory                           # each process changes its own copy; then a queue
  fork-demo inherit --start spawn            # a spawned child draws its own number
  fork-demo queue --write-every 10ms --read-every 50ms   # the writer runs ahead
  fork-demo pool apply --sleep 10ms          # 4 workers, 5 tasks: one worker takes two
  fork-demo bench -i 200 --json | grep fork  # what a fork+wait costs here";

const ABOUT: &str = "fork/getpid/getppid, a child started and joined, copies of memory, queues, a worker pool, process-creation costs";

const AFTER_HELP: &str = "\
Exit codes: 0 done; the first non-zero exit code of a child (128+N if signal
N killed it); 1 fork-demo itself failed; 2 usage error.";

/// fork, getpid and getppid, as the tutorials show them.
/// A subcommand, or without one the default demo with its flags.
pub type Cli = WithDefault<Command, ForkArgs>;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The tutorial's multiprocessing.Process: start a child, join it
    Process(ProcessArgs),
    /// Each process has its own copy of memory after fork; then the fix, a queue
    Memory {
        /// Children, each appending to its copy of the list
        #[arg(short = 'n', long, value_name = "N", default_value_t = 3,
              value_parser = clap::value_parser!(u32).range(1..=64))]
        children: u32,

        /// Print only one step's list, as tutorial 002's programs do: the
        /// parent's list after the children appended to their copies, the
        /// same appends in one process, or 1000 numbers sent back through
        /// three queues
        #[arg(long, value_enum, value_name = "STEP")]
        only: Option<MemoryStep>,
    },
    /// A value drawn before the child starts: fork copies it, spawn draws anew
    Inherit {
        /// How the child starts: fork (Unix: a copy of the parent) or spawn
        /// (a fresh run of the program, as on Windows and macOS)
        #[arg(long, value_enum, default_value_t = StartMethod::Fork)]
        start: StartMethod,
    },
    /// A writer process puts into a queue every second, a slower reader takes
    Queue(QueueArgs),
    /// Two "downloads" (random sleeps) at once, with processes or threads
    Download(DownloadArgs),
    /// A pool of long-lived worker processes taking tasks from a queue
    #[command(subcommand)]
    Pool(PoolCommand),
    /// A crashed process leaves the others running; a crashed thread does not
    Crash,
    /// Cost of creating and reaping a process or a thread, per operation
    Bench(BenchArgs),
    /// (internal) the child of `inherit --start spawn`: a fresh run of fork-demo
    #[command(hide = true)]
    SpawnedChild,
}

/// Whose lines the fork demo prints: the tutorials show the same program
/// with small differences.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkWording {
    /// Tutorial 000: a start line first
    #[value(name = "000")]
    T000,
    /// Tutorial 003's Python: no start line, the parent's pid in parentheses
    #[value(name = "003")]
    T003,
    /// Tutorial 003's C program: as 003, without the periods
    #[value(name = "c")]
    C,
}

/// Whose lines the Process demo prints.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessWording {
    /// Tutorial 000: "Child process will start." ... "Child process end."
    #[value(name = "000")]
    T000,
    /// Tutorial 002: the child prints its argument, nothing else is printed
    #[value(name = "002")]
    T002,
    /// Tutorial 003: "Process will start" ... "Process end."
    #[value(name = "003")]
    T003,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryStep {
    /// 002-8: the parent's list after each child appended to its own copy
    Copies,
    /// 002-9: the same appends in one process
    OneProcess,
    /// 002-10: 1000 numbers through reader and writer processes, back by queues
    Queues,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMethod {
    /// The child is a copy of the parent, values and all (Unix's default)
    Fork,
    /// The child is a fresh run of the program: module-level code runs again
    Spawn,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downloader {
    /// One process per download (004-1), each printing its pid
    Processes,
    /// One thread per download (004-4)
    Threads,
    /// A DownloadTask type that runs itself on a thread (004-5, the tutorial's
    /// Thread subclass)
    ThreadStruct,
}

#[derive(Args, Debug, Clone)]
pub struct ProcessArgs {
    /// The child's name
    #[arg(long, default_value = "test")]
    pub name: String,

    /// Whose lines: 000 and 003 differ in two words; 002's child prints only its
    /// argument
    #[arg(long, value_enum, default_value_t = ProcessWording::T000)]
    pub wording: ProcessWording,
}

#[derive(Args, Debug, Clone)]
pub struct QueueArgs {
    /// Numbers the writer puts (the tutorial's 4)
    #[arg(short = 'n', long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub items: u32,

    /// The writer's pause after each put
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = parse_duration)]
    pub write_every: Duration,

    /// The reader's pause after each get
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration)]
    pub read_every: Duration,

    /// Bound the queue to N items: the writer then waits for room
    /// (back-pressure) instead of running ahead (default: unbounded, as the
    /// tutorial's Queue()); at most 16
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub maxsize: Option<u32>,
}

#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// What runs each download
    #[arg(long = "with", value_enum, default_value_t = Downloader::Processes)]
    pub with: Downloader,

    /// Shortest download (the tutorial's randint(5, 10) seconds)
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration)]
    pub min: Duration,

    /// Longest download
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = parse_duration)]
    pub max: Duration,

    #[arg(long, value_enum, default_value_t = Lang::En)]
    /// Print in English or in the tutorial's Chinese
    pub lang: Lang,
}

#[derive(Subcommand, Debug)]
pub enum PoolCommand {
    /// Pool.apply_async: each task prints, sleeps and prints its result (003-5)
    Apply(PoolApplyArgs),
    /// Pool.map: each task writes DIR/i.txt; the results come back as a list (002-11)
    Map(PoolMapArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PoolApplyArgs {
    /// Worker processes in the pool
    #[arg(short = 'w', long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,

    /// Tasks, numbered from 0
    #[arg(short = 'n', long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub tasks: u32,

    /// Each task's sleep
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = parse_duration)]
    pub sleep: Duration,

    /// Each task only prints its number, and the parent nothing (002-2)
    #[arg(long)]
    pub bare: bool,
}

#[derive(Args, Debug, Clone)]
pub struct PoolMapArgs {
    /// Worker processes in the pool
    #[arg(short = 'w', long, value_name = "N", default_value_t = 6,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,

    /// Tasks, numbered from 1 (the tutorial's range(1, 20))
    #[arg(short = 'n', long, value_name = "N", default_value_t = 19,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub tasks: u32,

    /// Where each task writes i.txt (created if missing)
    #[arg(long, value_name = "DIR", default_value = "TEXT")]
    pub dir: std::path::PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct ForkArgs {
    /// Let the scheduler order the lines: no handshake between parent and child
    #[arg(long)]
    pub race: bool,

    /// Children to fork, one after another
    #[arg(short = 'n', long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub children: u32,

    /// The children exit with CODE, 0 or 3-125 (to watch the parent report it)
    #[arg(long, value_name = "CODE", default_value_t = 0, value_parser = parse_child_exit)]
    pub child_exit: u8,

    /// Whose lines: 000 (a start line first), 003 (the parent pid in
    /// parentheses) or c (003's C program: no periods)
    #[arg(long, value_enum, default_value_t = ForkWording::T000)]
    pub wording: ForkWording,
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Repetitions of each operation
    #[arg(short = 'i', long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub iterations: u32,

    /// One JSON object per operation (NDJSON)
    #[arg(long)]
    pub json: bool,

    /// Under each operation, its latency distribution as a text histogram
    #[arg(long, conflicts_with = "json")]
    pub histogram: bool,
}

/// A child's code becomes fork-demo's: it must not read as fork-demo's own
/// failure (1), a usage error (2), or what a shell reserves (126 and up:
/// not runnable, not found, killed by a signal).
fn parse_child_exit(text: &str) -> Result<u8, String> {
    match text.parse::<u8>() {
        Ok(code) if code == 0 || (3..=125).contains(&code) => Ok(code),
        _ => Err(format!(
            "'{text}' is not 0 or 3-125 (1 and 2 are fork-demo's own codes, 126 and up the shell's)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn clap_definition_is_consistent() {
        common::cli::command::<Cli>(&HELP).debug_assert();
    }

    #[test]
    fn defaults_and_bad_values() {
        let cli = Cli::try_parse_from(["fork-demo"]).unwrap();
        assert_eq!(
            (
                cli.default.children,
                cli.default.race,
                cli.default.child_exit
            ),
            (1, false, 0)
        );
        assert!(Cli::try_parse_from(["fork-demo", "-n", "0"]).is_err());
        for bad in ["256", "1", "2", "126", "137"] {
            assert!(
                Cli::try_parse_from(["fork-demo", "--child-exit", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(Cli::try_parse_from(["fork-demo", "--child-exit", "3"]).is_ok());
        assert!(Cli::try_parse_from(["fork-demo", "bench", "-i", "-1"]).is_err());
    }
}
