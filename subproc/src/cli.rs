//! The command line as typed (`Cli`, parsed by clap) and as subproc runs it
//! (`Config`, validated and resolved). Keeping them apart lets the rules for
//! combining flags live in one tested function.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::cli::{Failure, Help};
use common::signal::Signal;
use common::time::parse_duration;

use crate::exit::Exit;

/// What subproc says of itself in `--help`.
pub const HELP: Help = Help::new("subproc", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  echo hi | subproc cat | wc -c              # prints 3: stdin and stdout untouched
  subproc sh -c 'exit 3' || echo $?          # 'Exit code 3' on stderr, then 3
  subproc -t 100ms sleep 10 || echo $?       # timed out: 124
  subproc --json --report r.ndjson true && cat r.ndjson   # the report as JSON, in a file
  subproc -q --retries 3 --retry-delay 10ms false || echo $?   # 3 runs, then 1";

const ABOUT: &str =
    "Run a command with its stdin, stdout and stderr; report its exit code on stderr";

const AFTER_HELP: &str = "\
Reports go to stderr, so the command's stdout stays clean in a pipeline:
  echo hi | subproc cat | wc -c      prints 3, and 'Exit code 0' on stderr

Timeouts follow coreutils timeout: at DUR the signal goes to the command's
whole process group (grandchildren too), then SIGKILL after --kill-after.
Group members still alive when the command has exited get SIGKILL after the
--kill-after delay (1s if not given); after a normal exit they get SIGTERM
first, and --keep-leftovers lets them live (not when the command died of a
Ctrl-C or Ctrl-\\ typed at the terminal it held: then they get TERM too).
With --foreground the command shares subproc's process group instead, so it
can read the terminal; signals then reach the command alone.

Signals INT, TERM, HUP, QUIT, USR1 and USR2 sent to subproc are forwarded to
the command's process group; subproc then exits with the command's status.

Durations: 250ms, 1.5s, 2m, 1h, 1d, or a bare number of seconds; 0 = none.

Exit codes:
  N        the command's exit code
  128+N    the command was killed by signal N
  124      timed out (unless --preserve-status)
  125      subproc itself failed, bad usage included
  126      the command could not be executed
  127      the command was not found
  137      timed out and SIGKILL was needed";

/// Run a command, report its exit code.
#[derive(Parser, Debug)]
pub struct Cli {
    /// Do not print the report
    #[arg(short, long, conflicts_with_all = ["json", "rusage"])]
    pub quiet: bool,

    /// Send the timeout signal after DUR
    #[arg(short = 't', long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Signal to send on timeout (0 or EXIT: none, only -k acts, as in coreutils)
    #[arg(short, long, value_name = "SIG", default_value = "TERM", value_parser = Signal::parse)]
    pub signal: Signal,

    /// Also send SIGKILL if the command is still running DUR after the timeout signal
    #[arg(short, long, value_name = "DUR", value_parser = parse_duration)]
    pub kill_after: Option<Duration>,

    /// On timeout, exit with the command's status instead of 124
    #[arg(long)]
    pub preserve_status: bool,

    /// Keep the command in subproc's process group (it can use the terminal;
    /// the timeout signals the command alone, not its children)
    #[arg(long)]
    pub foreground: bool,

    /// Let the command's background processes outlive it (by default what
    /// is left of its process group gets TERM when it exits, KILL after -k)
    #[arg(long)]
    pub keep_leftovers: bool,

    /// Add resource usage to the report: wall/user/sys time, max RSS, page
    /// faults, context switches (like GNU time -v)
    #[arg(short = 'v', long)]
    pub rusage: bool,

    /// Report as one JSON object per attempt (NDJSON)
    #[arg(long)]
    pub json: bool,

    /// Write the report to FILE instead of stderr
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Run the command again, up to N more times, until it succeeds
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,

    /// Wait DUR between attempts
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "0", requires = "retries")]
    pub retry_delay: Duration,

    /// The command and its arguments (options after COMMAND belong to it)
    #[arg(value_name = "COMMAND", trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

/// How the report looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStyle {
    Quiet,
    Text { rusage: bool },
    Json,
}

/// What subproc will do, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub timeout: Option<Duration>,
    pub timeout_signal: Signal,
    pub kill_after: Option<Duration>,
    pub preserve_status: bool,
    pub foreground: bool,
    /// --keep-leftovers: the group is not cleared after a normal exit.
    pub keep_leftovers: bool,
    pub style: ReportStyle,
    pub report_file: Option<PathBuf>,
    pub attempts: u32,
    pub retry_delay: Duration,
}

/// How long group members may outlive the command after a timeout or a
/// terminating signal, when --kill-after does not say.
pub const DEFAULT_GROUP_GRACE: Duration = Duration::from_secs(1);

impl Config {
    pub fn from_cli(cli: Cli) -> Result<Config, Failure> {
        let mut words = cli.command.into_iter();
        let program = words.next().ok_or_else(|| {
            Failure::new(
                Exit::Failed,
                "no command given (usage: subproc [OPTIONS] [--] COMMAND [ARGS...]; see --help)",
            )
        })?;
        if program.is_empty() {
            return Err(Failure::new(Exit::Failed, "the command name is empty"));
        }
        let style = if cli.json {
            ReportStyle::Json
        } else if cli.quiet && cli.report.is_none() {
            ReportStyle::Quiet
        } else {
            ReportStyle::Text { rusage: cli.rusage }
        };
        Ok(Config {
            program,
            args: words.collect(),
            // `timeout 0 cmd` means no timeout in coreutils; so here.
            timeout: cli.timeout.filter(|t| !t.is_zero()),
            timeout_signal: cli.signal,
            kill_after: cli.kill_after.filter(|t| !t.is_zero()),
            preserve_status: cli.preserve_status,
            keep_leftovers: cli.keep_leftovers,
            foreground: cli.foreground,
            style,
            report_file: cli.report,
            attempts: cli.retries.saturating_add(1),
            retry_delay: cli.retry_delay,
        })
    }

    /// The grace period before group leftovers get SIGKILL.
    pub fn group_grace(&self) -> Duration {
        self.kill_after.unwrap_or(DEFAULT_GROUP_GRACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, Failure> {
        let cli = Cli::try_parse_from(std::iter::once("subproc").chain(args.iter().copied()))
            .map_err(|e| Failure::new(Exit::Failed, e.to_string()))?;
        Config::from_cli(cli)
    }

    #[test]
    fn clap_definition_is_consistent() {
        common::cli::command::<Cli>(&HELP).debug_assert();
    }

    #[test]
    fn options_after_the_command_belong_to_it() {
        let cfg = config(&["-q", "ls", "-l", "--timeout", "5"]).unwrap();
        assert_eq!(cfg.program, "ls");
        assert_eq!(cfg.args, ["-l", "--timeout", "5"]);
        assert_eq!(cfg.timeout, None);
        assert_eq!(cfg.style, ReportStyle::Quiet);
        let cfg = config(&["--", "-weird-name", "x"]).unwrap();
        assert_eq!(cfg.program, "-weird-name");
    }

    #[test]
    fn timeout_flags_resolve() {
        let cfg = config(&["--timeout", "1.5s", "-k", "2", "-s", "INT", "sleep", "9"]).unwrap();
        assert_eq!(cfg.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(cfg.kill_after, Some(Duration::from_secs(2)));
        assert_eq!(cfg.timeout_signal, Signal::INT);
        assert_eq!(cfg.group_grace(), Duration::from_secs(2));
        let cfg = config(&["--timeout", "0", "true"]).unwrap();
        assert_eq!(cfg.timeout, None, "0 disables the timeout");
        assert_eq!(cfg.group_grace(), DEFAULT_GROUP_GRACE);
    }

    #[test]
    fn report_style_follows_the_flags() {
        assert_eq!(
            config(&["true"]).unwrap().style,
            ReportStyle::Text { rusage: false }
        );
        assert_eq!(
            config(&["-v", "true"]).unwrap().style,
            ReportStyle::Text { rusage: true }
        );
        assert_eq!(
            config(&["--json", "true"]).unwrap().style,
            ReportStyle::Json
        );
        assert!(config(&["-q", "--json", "true"]).is_err());
        assert_eq!(config(&["--retries", "2", "true"]).unwrap().attempts, 3);
    }

    #[test]
    fn missing_command_is_a_tool_failure() {
        let failure = config(&["--timeout", "1"]).unwrap_err();
        assert_eq!(failure.code, 125);
        assert!(failure.message.contains("no command given"));
    }
}
