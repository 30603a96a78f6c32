//! fork-demo's command line: the fork demo by default, `process`, `memory`
//! and `bench` as subcommands.

use clap::{Args, Subcommand};
use common::cli::{Help, WithDefault};

/// What fork-demo says of itself in `--help`.
pub const HELP: Help = Help::new("fork-demo", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  fork-demo                                  # the tutorial's fork: parent and child pids
  fork-demo -n 3 --race                      # three children, lines in the scheduler's order
  fork-demo memory                           # each process changes its own copy; then a queue
  fork-demo process                          # multiprocessing.Process: start, join
  fork-demo bench -i 200 --json | grep fork  # what a fork+wait costs here";

const ABOUT: &str =
    "fork/getpid/getppid, a child started and joined, copies of memory, process-creation costs";

const AFTER_HELP: &str = "\
Exit codes: 0 done; the first non-zero exit code of a child (128+N if signal
N killed it); 1 fork-demo itself failed; 2 usage error.";

/// fork, getpid and getppid, as the tutorials show them.
/// A subcommand, or without one the default demo with its flags.
pub type Cli = WithDefault<Command, ForkArgs>;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The tutorial's multiprocessing.Process: start a child, join it
    Process {
        /// The child's name
        #[arg(long, default_value = "test")]
        name: String,
    },
    /// Each process has its own copy of memory after fork; then the fix, a queue
    Memory {
        /// Children, each appending to its copy of the list
        #[arg(short = 'n', long, value_name = "N", default_value_t = 3,
              value_parser = clap::value_parser!(u32).range(1..=64))]
        children: u32,
    },
    /// Cost of creating and reaping a process or a thread, per operation
    Bench(BenchArgs),
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
