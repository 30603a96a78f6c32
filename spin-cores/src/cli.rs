//! spin-cores' command line (`Cli`, parsed by clap) and the run it asks for
//! (`Config`, resolved: worker count, load as a fraction).

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use common::cli::Failure;
use common::cli::{Help, WithDefault};
use common::lang::Lang;
use common::time::parse_duration;

use crate::exit::Exit;

/// What spin-cores says of itself in `--help`.
pub const HELP: Help = Help::new("spin-cores", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  spin-cores -n 2 -t 1s                      # two busy threads for a second, measured
  spin-cores -n 1 --load 50 -t 1s --json | tail -1   # half a core; the summary as JSON
  spin-cores -n 2 --mode processes -t 1s     # the same with child processes
  spin-cores compare --work 2000000 --io 20ms   # sequential vs threads vs processes
  spin-cores compare --program io-async --io 10ms --lang zh   # 001-8's lines: coroutines";

const ABOUT: &str = "N busy loops fill N cores (Rust threads have no GIL), measured";

const AFTER_HELP: &str = "\
Samples: every --interval, the CPU spin-cores itself used (100% = one core),
what was requested (workers x load), and each core's usage of the whole
machine. On a terminal the sample line updates in place.

Exit codes: 0 done; 1 workers could not be started or measured; 2 usage error.
Ctrl-C or SIGTERM: the summary, then spin-cores dies of the same signal
(the shell reports 130 or 143).";

/// N busy loops fill N cores, measured.
/// A subcommand, or without one the default demo with its flags.
pub type Cli = WithDefault<Command, SpinArgs>;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The tutorial's table: sequential vs threads vs processes vs a pool,
    /// for CPU-bound and IO-bound tasks
    Compare(CompareArgs),
    /// (internal) one busy worker process of --mode processes
    #[command(hide = true)]
    WorkerSpin(WorkerSpinArgs),
    /// (internal) one CPU-bound task of `compare`, in its own process
    #[command(hide = true)]
    WorkerCountdown { work: u64 },
    /// (internal) one IO-bound task of `compare`, in its own process
    #[command(hide = true)]
    WorkerSleep {
        #[arg(value_parser = parse_duration)]
        io: Duration,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Threads,
    Processes,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Threads => "threads",
            Mode::Processes => "processes",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct SpinArgs {
    /// Busy workers; 0 = one per available CPU
    #[arg(short = 'n', long, value_name = "N", default_value_t = 0)]
    pub workers: u32,

    /// Workers as threads of one process, or as child processes
    #[arg(long, value_enum, default_value_t = Mode::Threads)]
    pub mode: Mode,

    /// Target busy percent per worker (1-100), as a duty cycle in slices
    #[arg(long, value_name = "P", default_value_t = 100,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub load: u8,

    /// Length of one duty-cycle slice
    #[arg(long, value_name = "DUR", default_value = "100ms", value_parser = positive_duration)]
    pub slice: Duration,

    /// Pin worker i to the i-th allowed CPU (mod their count)
    #[arg(long)]
    pub pin: bool,

    /// Stop after DUR (default: run until Ctrl-C), as stress-ng's --timeout
    #[arg(short = 't', long = "timeout", short_alias = 'd', alias = "duration",
          value_name = "DUR", value_parser = positive_duration)]
    pub duration: Option<Duration>,

    /// Time between samples
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = positive_duration)]
    pub interval: Duration,

    /// Samples and summary as JSON objects, one per line
    #[arg(long)]
    pub json: bool,

    /// Print nothing: a pure load, as the tutorial's endless loop
    #[arg(short = 'q', long, conflicts_with = "json")]
    pub quiet: bool,

    /// First print the number of CPUs, as tutorial 002's cpu_count() line
    #[arg(long)]
    pub show_cpus: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Tasks per way
    #[arg(short = 'n', long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub tasks: u32,

    /// CPU-bound task: count down from N (default: 2000000000 for the
    /// table, enough that starting threads is noise; the tutorial's
    /// 100000000 for --program)
    #[arg(long, value_name = "N")]
    pub work: Option<u64>,

    /// IO-bound task: wait DUR (default: 200ms for the table, the
    /// tutorial's 4s for --program)
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub io: Option<Duration>,

    /// The table as JSON objects, one per row
    #[arg(long, conflicts_with = "program")]
    pub json: bool,

    /// Run one of tutorial 001's eight programs instead of the table, printing
    /// its lines as the listing does
    #[arg(long, value_enum, value_name = "NAME")]
    pub program: Option<Program>,

    /// The program's lines in English or in the tutorial's Chinese
    #[arg(long, value_enum, default_value_t = Lang::En, requires = "program")]
    pub lang: Lang,
}

/// Tutorial 001's programs, in its order (001-1 to 001-8).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// 001-1: two countdowns, one after another
    CpuSequential,
    /// 001-2: two countdowns on two threads
    CpuThreads,
    /// 001-3: two countdowns in two processes
    CpuProcesses,
    /// 001-4: two countdowns in a Pool(4) of processes
    CpuPool,
    /// 001-5: two waits, one after another
    IoSequential,
    /// 001-6: two waits in a Pool(2) of processes (headed "多线程", threads, in
    /// the tutorial)
    IoPool,
    /// 001-7: two waits in two processes
    IoProcesses,
    /// 001-8: two waits as coroutines on one thread (asyncio)
    IoAsync,
}

impl CompareArgs {
    /// The countdown: the table's size, or the tutorial's for a program.
    pub fn work(&self) -> u64 {
        self.work.unwrap_or(if self.program.is_some() {
            100_000_000
        } else {
            2_000_000_000
        })
    }

    /// The wait: the table's, or the tutorial's 4 s for a program.
    pub fn io(&self) -> Duration {
        self.io.unwrap_or(if self.program.is_some() {
            Duration::from_secs(4)
        } else {
            Duration::from_millis(200)
        })
    }
}

#[derive(Args, Debug, Clone)]
pub struct WorkerSpinArgs {
    #[arg(long)]
    pub load: u8,
    #[arg(long, value_parser = parse_duration)]
    pub slice: Duration,
    #[arg(long)]
    pub cpu: Option<usize>,
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be more than 0".to_string()),
        Ok(duration) => Ok(duration),
        Err(err) => Err(err.to_string()),
    }
}

/// What a spin run does, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub workers: usize,
    pub mode: Mode,
    /// Busy fraction of each slice, 0.01..=1.0.
    pub load: f64,
    pub slice: Duration,
    pub pin: bool,
    pub duration: Option<Duration>,
    pub interval: Duration,
    pub json: bool,
    pub quiet: bool,
    pub show_cpus: bool,
}

impl Config {
    pub fn from_args(args: &SpinArgs) -> Result<Config, Failure> {
        let workers = if args.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            args.workers as usize
        };
        if workers > 4096 {
            return Err(Failure::new(
                Exit::Usage,
                "at most 4096 workers (see --help)",
            ));
        }
        Ok(Config {
            workers,
            mode: args.mode,
            load: f64::from(args.load) / 100.0,
            slice: args.slice,
            pin: args.pin,
            duration: args.duration,
            interval: args.interval,
            json: args.json,
            quiet: args.quiet,
            show_cpus: args.show_cpus,
        })
    }

    /// CPU percent asked for: 100 per fully busy worker.
    pub fn requested_percent(&self) -> f64 {
        self.workers as f64 * self.load * 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("spin-cores").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        common::cli::command::<Cli>(&HELP).debug_assert();
    }

    #[test]
    fn zero_workers_means_every_cpu() {
        let cli = parse(&[]).unwrap();
        let cfg = Config::from_args(&cli.default).unwrap();
        assert_eq!(
            cfg.workers,
            std::thread::available_parallelism().unwrap().get()
        );
        assert_eq!(cfg.load, 1.0);
        assert_eq!(cfg.requested_percent(), cfg.workers as f64 * 100.0);
    }

    #[test]
    fn out_of_range_input_is_refused() {
        for args in [
            &["--load", "0"][..],
            &["--load", "150"],
            &["-n", "-1"],
            &["--timeout", "5x"],
            &["--slice", "0"],
            &["--mode", "fibers"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        let cli = parse(&["--load", "50", "-n", "3"]).unwrap();
        let cfg = Config::from_args(&cli.default).unwrap();
        assert_eq!((cfg.workers, cfg.load), (3, 0.5));
    }
}
