//! lock-demo's command line: one subcommand per demo, `race` the default.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use common::cli::{Help, WithDefault};
use common::lang::Lang;
use common::time::parse_duration;

/// What lock-demo says of itself in `--help`.
pub const HELP: Help = Help::new("lock-demo", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  lock-demo                                  # two threads, no lock: the balance drifts
  lock-demo --sync mutex | head -1           # with a Mutex: 0
  lock-demo threads --wording 003            # MainThread starts TestThread, which says hello
  lock-demo counter --sync mutex -i 10000    # five threads, one lock: global num: 50000
  lock-demo deadlock --wait 100ms            # two locks, opposite orders: detected
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
    /// 5 threads add to one global count, started one after another (003-8, 003-9)
    Counter(CounterArgs),
    /// Each thread keeps its own count: a local, a shared map, thread-local
    PerThread(PerThreadArgs),
    /// Two threads take two locks in opposite orders: a deadlock, detected
    Deadlock(DeadlockArgs),
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

/// Whose lines `threads` prints.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadsWording {
    /// Tutorial 000: LoopThread counts to 5, a second apart
    #[value(name = "000")]
    T000,
    /// Tutorial 002: THREAD1 prints its name and a count (0-99)
    #[value(name = "002")]
    T002,
    /// Tutorial 003: TestThread says hello
    #[value(name = "003")]
    T003,
}

#[derive(Args, Debug, Clone)]
pub struct ThreadsArgs {
    /// Whose lines: 000, 002 or 003
    #[arg(long, value_enum, default_value_t = ThreadsWording::T000)]
    pub wording: ThreadsWording,

    /// The thread's name (default: the listing's, LoopThread, THREAD1 or TestThread)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Lines the thread counts (default: the listing's, 5 or 100)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub count: Option<u32>,

    /// Pause between the counting lines (default: the listing's, 1s or none)
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub delay: Option<Duration>,
}

/// How each thread keeps its own count in `per-thread`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerThread {
    /// A local variable, passed to the function that prints it (003-10)
    LocalVariable,
    /// One map shared by all threads, keyed by the thread (003-11)
    SharedMap,
    /// thread_local! storage: one global name, a value per thread (003-12)
    ThreadLocal,
}

#[derive(Args, Debug, Clone)]
pub struct CounterArgs {
    /// Threads, started one after another
    #[arg(short = 'n', long, short_alias = 't', value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,

    /// Increments per thread (003-8: 1000; 003-9: 10000)
    #[arg(short = 'i', long, value_name = "N", default_value_t = 1000)]
    pub iterations: u64,

    /// none (read, then write back) or mutex (the listing's Lock)
    #[arg(long, value_enum, default_value_t = Sync::None)]
    pub sync: Sync,
}

#[derive(Args, Debug, Clone)]
pub struct PerThreadArgs {
    /// Where each thread keeps its count
    #[arg(long = "with", value_enum, default_value_t = PerThread::ThreadLocal)]
    pub with: PerThread,

    /// Threads, started one after another
    #[arg(short = 'n', long, short_alias = 't', value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,

    /// Increments per thread
    #[arg(short = 'i', long, value_name = "N", default_value_t = 10_000)]
    pub iterations: u64,

    /// Print in English or in the tutorial's Chinese
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
}

#[derive(Args, Debug, Clone)]
pub struct DeadlockArgs {
    /// Take the two locks in one agreed order (the fix): no deadlock
    #[arg(long)]
    pub ordered: bool,

    /// How long a thread waits for its second lock before the demo calls it
    /// a deadlock
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = parse_duration)]
    pub wait: Duration,
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

    /// Print the balance as the tutorial does, in Chinese (账户余额为: ￥N元), or
    /// in English with what was expected
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,

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
        assert!(Cli::try_parse_from(["lock-demo", "threads", "--wording", "001"]).is_err());
        assert!(Cli::try_parse_from(["lock-demo", "per-thread", "--with", "global"]).is_err());
        assert!(Cli::try_parse_from(["lock-demo", "race", "-i", "-1"]).is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        common::cli::command::<Cli>(&HELP).debug_assert();
    }
}
