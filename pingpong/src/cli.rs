//! pingpong's command line: the game by default, `bench` as a subcommand.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use common::cli::{Help, WithDefault};
use common::time::parse_duration;

/// What pingpong says of itself in `--help`.
pub const HELP: Help = Help::new("pingpong", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  pingpong --delay 0 | tail -3               # Ping/Pong through a queue, 50 words
  pingpong --naive --delay 0 | tail -2       # no IPC: each process counts its own copy
  pingpong -i 300 --delay 0 | head -c 10     # the reader leaves: both stop quietly
  pingpong bench -i 2000 --transport pipe    # round-trip latency over a pipe";

const ABOUT: &str =
    "Two processes print Ping and Pong, passing the counter in messages; an IPC latency benchmark";

const AFTER_HELP: &str = "\
Exit codes: 0 done; 1 a player died or the channel failed (one line names
it); 2 usage error. Ctrl-C stops both players, then pingpong dies of SIGINT.";

/// Two processes print Ping and Pong, passing the counter between them.
/// A subcommand, or without one the default demo with its flags.
pub type Cli = WithDefault<Command, GameArgs>;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Round-trip latency of each transport between two processes
    Bench(BenchArgs),
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Two pipes, one per direction
    Pipe,
    /// One AF_UNIX stream socketpair
    Socket,
    /// Two eventfds, one per direction
    Eventfd,
    /// Shared memory: spin briefly, then sleep on a futex
    Shm,
}

impl Transport {
    pub const ALL: [Transport; 4] = [
        Transport::Pipe,
        Transport::Socket,
        Transport::Eventfd,
        Transport::Shm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::Socket => "socket",
            Transport::Eventfd => "eventfd",
            Transport::Shm => "shm",
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// Both processes on the first allowed CPU
    Same,
    /// Each process on its own CPU
    Split,
    /// Wherever the scheduler puts them
    None,
}

impl Pin {
    /// As `--pin` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Pin::Same => "same",
            Pin::Split => "split",
            Pin::None => "none",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct GameArgs {
    /// Words in total (the tutorial's 50)
    #[arg(
        short = 'i',
        long = "iterations",
        alias = "count",
        value_name = "N",
        default_value_t = 50
    )]
    pub count: u32,

    /// The two words
    #[arg(long, value_name = "A,B", default_value = "Ping,Pong", value_parser = parse_words)]
    pub words: Words,

    /// Pause after each word (the tutorial's sleep(0.01))
    #[arg(long, value_name = "DUR", default_value = "10ms", value_parser = parse_duration)]
    pub delay: Duration,

    /// How the counter travels
    #[arg(long, value_enum, default_value_t = Transport::Pipe)]
    pub transport: Transport,

    /// The tutorial's bug: each process counts its own copy of a global counter
    #[arg(long, conflicts_with_all = ["shared_queue", "transport"])]
    pub naive: bool,

    /// The tutorial's fix as written: one queue both processes get from and put to
    #[arg(long, conflicts_with = "transport")]
    pub shared_queue: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words(pub [String; 2]);

fn parse_words(text: &str) -> Result<Words, String> {
    match text.split_once(',') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(',') => {
            Ok(Words([a.to_string(), b.to_string()]))
        }
        _ => Err("expected two words separated by a comma, like Ping,Pong".to_string()),
    }
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// A transport, or all of them
    #[arg(long, value_name = "T|all", default_value = "all", value_parser = parse_bench_transport)]
    pub transport: BenchTransports,

    /// Round trips per transport
    #[arg(short = 'i', long = "iterations", alias = "rounds", value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Where the two processes run
    #[arg(long, value_enum, default_value_t = Pin::None)]
    pub pin: Pin,

    /// One JSON object per transport (NDJSON)
    #[arg(long)]
    pub json: bool,

    /// Under each transport, its round-trip distribution as a text histogram
    #[arg(long, conflicts_with = "json")]
    pub histogram: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchTransports(pub Vec<Transport>);

fn parse_bench_transport(text: &str) -> Result<BenchTransports, String> {
    if text == "all" {
        return Ok(BenchTransports(Transport::ALL.to_vec()));
    }
    Transport::from_str(text, true)
        .map(|t| BenchTransports(vec![t]))
        .map_err(|_| "expected pipe, socket, eventfd, shm or all".to_string())
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
    fn words_and_transports_parse() {
        let cli =
            Cli::try_parse_from(["pingpong", "--words", "Tic,Tac", "--transport", "shm"]).unwrap();
        assert_eq!(cli.default.words, Words(["Tic".into(), "Tac".into()]));
        assert_eq!(cli.default.transport, Transport::Shm);
        for bad in [
            &["--words", "Ping"][..],
            &["--words", "a,b,c"],
            &["--transport", "x"],
            &["--iterations", "-1"],
        ] {
            let args = std::iter::once("pingpong").chain(bad.iter().copied());
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
        let bench = Cli::try_parse_from(["pingpong", "bench", "--transport", "all"]).unwrap();
        let Some(Command::Bench(args)) = bench.command else {
            panic!()
        };
        assert_eq!(args.transport.0.len(), 4);
    }
}
