//! lock-demo's command line: one subcommand per demo, `race` the default.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use common::cli::{Help, WithDefault};
use common::time::parse_duration;

/// What lock-demo says of itself in `--help`.
pub const HELP: Help = Help::new("lock-demo", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  lock-demo                                  # two threads, no lock: the balance drifts
  lock-demo --sync mutex | head -1           # with a Mutex: 0
  lock-demo threads --delay 1ms              # MainThread starts LoopThread and joins it
  lock-demo bank --sync mutex                # 100 deposits, none lost
  lock-demo bench -i 100000 --json | grep -c correct   # four ways, all correct";

const ABOUT: &str =
    "Threads share memory: lost updates without a lock; Mutex, atomics, thread-local";

const AFTER_HELP: &str = "\
Exit codes: 0 done (whatever the balance: a wrong one is the point of the
demo); 1 --check was given and the balance was wrong; 2 usage error.";

/// Threads share memory: lost updates without a lock, and the fixes.
/// A subcommand, or without one the default demo with its flags.
pub type Cli = WithDefault<Command, RaceArgs>;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The tutorial's MainThread starting LoopThread and joining it
    Threads(ThreadsArgs),
    /// Two threads add and subtract 5 and 8 on one balance (the default)
    Race(RaceArgs),
    /// 100 threads each deposit 1 with a pause between reading and writing
    Bank(BankArgs),
    /// Throughput and correctness of each way to share a counter
    Bench(BenchArgs),
}

/// How the threads share the balance.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// Read, then write back (a separate atomic load and store): updates get lost
    None,
    /// Hold a Mutex around each change (the tutorial's threading.Lock)
    Mutex,
    /// One atomic read-modify-write (fetch_add) per change
    Atomic,
    /// Each thread changes its own thread_local! copy, merged at the end
    ThreadLocal,
}

impl Sync {
    pub fn name(self) -> &'static str {
        match self {
            Sync::None => "none",
            Sync::Mutex => "mutex",
            Sync::Atomic => "atomic",
            Sync::ThreadLocal => "thread-local",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ThreadsArgs {
    /// Pause between LoopThread's lines (the tutorial sleeps 1s)
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = parse_duration)]
    pub delay: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct RaceArgs {
    /// Changes per thread (each adds n, then subtracts n)
    #[arg(short = 'i', long, value_name = "N", default_value_t = 1_000_000)]
    pub iterations: u64,

    #[command(flatten)]
    pub balance: BalanceArgs,
}

/// The flags `race` and `bank` share: how the balance is shared, and what
/// becomes of its final value.
#[derive(Args, Debug, Clone)]
pub struct BalanceArgs {
    /// How the threads share the balance
    #[arg(long, value_enum, default_value_t = Sync::None)]
    pub sync: Sync,

    /// Exit 1 if the final balance is not the expected one (race: 0; bank:
    /// threads x deposit)
    #[arg(long)]
    pub check: bool,

    /// One JSON object instead of the text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct BankArgs {
    /// Depositing threads
    #[arg(short = 'n', long, short_alias = 't', value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub threads: u32,

    /// Amount each thread deposits
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub deposit: i64,

    /// Pause between reading the balance and writing it (the tutorial's 0.01s)
    #[arg(long, value_name = "DUR", default_value = "10ms", value_parser = parse_duration)]
    pub work: Duration,

    #[command(flatten)]
    pub balance: BalanceArgs,
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Threads incrementing the shared counter
    #[arg(short = 'n', long, short_alias = 't', value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,

    /// Increments per thread
    #[arg(short = 'i', long, value_name = "N", default_value_t = 5_000_000)]
    pub iterations: u64,

    /// Only these ways (default: all four)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub sync: Vec<Sync>,

    /// One JSON object per way (NDJSON)
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn race_is_the_default_and_takes_its_flags_at_top_level() {
        let cli = Cli::try_parse_from(["lock-demo", "--sync", "mutex", "-i", "10"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.default.balance.sync, Sync::Mutex);
        assert_eq!(cli.default.iterations, 10);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Cli::try_parse_from(["lock-demo", "--sync", "spin"]).is_err());
        assert!(Cli::try_parse_from(["lock-demo", "bank", "--threads", "0"]).is_err());
        assert!(Cli::try_parse_from(["lock-demo", "threads", "--delay", "5x"]).is_err());
        assert!(Cli::try_parse_from(["lock-demo", "race", "-i", "-1"]).is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        common::cli::command::<Cli>(&HELP).debug_assert();
    }
}
