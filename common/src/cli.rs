//! The frame around every tool's `run`: the one place that prints
//! `tool: error: ...`, turns errors into exit codes, and applies the
//! broken-pipe policy. Keeping it here means six tools cannot drift apart in
//! how they fail.
//!
//! Broken pipe policy: when stdout is closed early (`tool | head -1`) the tool
//! stops at its next write and exits 0 without a word, as ripgrep does. Rust
//! ignores SIGPIPE, so the write returns `BrokenPipe` and the tool gets to
//! clean up its children first; nothing ever prints through `println!`, which
//! would panic on a closed pipe.

use std::fmt;
use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;

/// A failure that ends the tool: the exit code and the one line to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: u8,
    /// Empty for failures that were already reported or need no words
    /// (`--help` printed, a broken pipe).
    pub message: String,
    /// The OS error behind it, when there was one: lets a caller tell a
    /// shortage (EMFILE, EAGAIN) it can wait out from a real failure.
    pub errno: Option<i32>,
}

impl Failure {
    pub fn new(code: impl Into<u8>, message: impl fmt::Display) -> Self {
        Failure {
            code: code.into(),
            message: message.to_string(),
            errno: None,
        }
    }

    /// Ends the tool with `code` and prints nothing.
    pub fn quiet(code: impl Into<u8>) -> Self {
        Failure {
            code: code.into(),
            message: String::new(),
            errno: None,
        }
    }

    /// An I/O error with what was being done. A broken pipe becomes the quiet
    /// success of the broken-pipe policy.
    pub fn io(code: impl Into<u8>, doing: impl fmt::Display, err: &io::Error) -> Self {
        if err.kind() == ErrorKind::BrokenPipe {
            return Failure::quiet(crate::exit::SUCCESS);
        }
        Failure {
            errno: err.raw_os_error(),
            ..Failure::new(code, format!("{doing} ({err})"))
        }
    }
}

/// The error line of a tool that owes output to a stdout that was closed
/// when it started (`tool >&-`), worded as coreutils words it.
pub const CLOSED_STDOUT: &str = "write error: Bad file descriptor (stdout is closed)";

/// Writes `text` to stdout in one call and flushes it, so a line is out
/// before the tool moves on (tests and pipelines see progress as it
/// happens). A closed stdout becomes the quiet exit of the broken-pipe
/// policy; any other failure is `code` with one line.
pub fn print(code: impl Into<u8>, text: &str) -> Result<(), Failure> {
    // std's stdout swallows EBADF: a closed stdout must be asked about.
    if crate::stdio::was_closed(1) {
        return Err(Failure::new(code, CLOSED_STDOUT));
    }
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| Failure::io(code, "writing to stdout", &err))
}

/// What a tool says of itself in `--help`.
#[derive(Debug, Clone, Copy)]
pub struct Help {
    pub name: &'static str,
    pub about: &'static str,
    pub after: &'static str,
}

impl Help {
    pub const fn new(name: &'static str, about: &'static str, after: &'static str) -> Help {
        Help { name, about, after }
    }
}

/// A tool's command line: its own flags (`P`) plus what every prockit tool
/// has, its name and about text, `--version`, help wrapped at 100 columns.
pub fn command<P: clap::CommandFactory>(help: &Help) -> clap::Command {
    P::command()
        .name(help.name)
        .bin_name(help.name)
        .about(help.about)
        .long_about(None)
        .after_help(help.after)
        .version(env!("CARGO_PKG_VERSION"))
        .max_term_width(100)
}

/// The command line of a tool with subcommands that runs its default one,
/// with that one's flags, when no subcommand is named (`fork-demo -n 3`).
#[derive(clap::Parser, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WithDefault<C: clap::Subcommand, A: clap::Args> {
    #[command(subcommand)]
    pub command: Option<C>,

    #[command(flatten)]
    pub default: A,
}

/// Parses the command line. `--help` and `--version` print to stdout and end
/// the tool with 0; any other clap error becomes one line and `usage_code`.
pub fn parse_args<P: clap::Parser>(help: &Help, usage_code: impl Into<u8>) -> Result<P, Failure> {
    let usage_code = usage_code.into();
    let mut command = command::<P>(help);
    let matches = command
        .try_get_matches_from_mut(std::env::args_os())
        .map_err(|err| clap_failure(err, usage_code))?;
    P::from_arg_matches(&matches).map_err(|err| clap_failure(err.format(&mut command), usage_code))
}

fn clap_failure(err: clap::Error, usage_code: u8) -> Failure {
    use clap::error::ErrorKind as Kind;
    match err.kind() {
        Kind::DisplayHelp | Kind::DisplayVersion => {
            let text = err.render().to_string();
            let mut stdout = io::stdout().lock();
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
            Failure::quiet(crate::exit::SUCCESS)
        }
        _ => Failure::new(usage_code, one_line(&err.render().to_string())),
    }
}

/// clap's first paragraph (before the usage and tips), folded onto one line,
/// plus a pointer to `--help`.
/// clap's "did you mean" tip, when it has one, stays: as a second line.
fn one_line(rendered: &str) -> String {
    let text = rendered.trim_start();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let first_paragraph = text.split("\n\n").next().unwrap_or(text);
    let folded: Vec<&str> = first_paragraph.split_whitespace().collect();
    let mut message = format!("{} (see --help)", folded.join(" "));
    let tips = text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("tip: a similar"));
    for tip in tips {
        message.push('\n');
        message.push_str("  ");
        message.push_str(tip);
    }
    message
}

/// A tool's `main`: parses its command line (`help` says what it is), runs
/// `run` with it, and exits as [`main_with`] does.
pub fn run_tool<P: clap::Parser>(
    help: &Help,
    usage_code: impl Into<u8>,
    run: impl FnOnce(P) -> Result<u8, Failure>,
) -> ExitCode {
    crate::stdio::restore_closed();
    main_with(help.name, || run(parse_args(help, usage_code)?))
}

/// Runs `run` and turns its outcome into the process exit code. Prints a
/// failure as `tool: error: message` on stderr; writes to stderr never panic
/// and are dropped if stderr itself is gone.
pub fn main_with(tool: &str, run: impl FnOnce() -> Result<u8, Failure>) -> ExitCode {
    let code = match run() {
        Ok(code) => code,
        Err(failure) => {
            if !failure.message.is_empty() {
                let _ = writeln!(io::stderr(), "{tool}: error: {}", failure.message);
            }
            failure.code
        }
    };
    match io::stdout().flush() {
        Err(err) if err.kind() != ErrorKind::BrokenPipe => {
            let _ = writeln!(io::stderr(), "{tool}: error: writing output ({err})");
            ExitCode::from(code.max(crate::exit::FAILURE))
        }
        _ => ExitCode::from(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "demo")]
    struct Demo {
        #[arg(long, value_parser = crate::time::parse_duration)]
        timeout: Option<std::time::Duration>,
        #[arg(required = true)]
        command: Vec<String>,
    }

    fn failure_for(args: &[&str]) -> Failure {
        let err = Demo::try_parse_from(args).unwrap_err();
        clap_failure(err, 125)
    }

    #[test]
    fn clap_errors_fold_to_one_line_naming_the_problem() {
        let bad_value = failure_for(&["demo", "--timeout", "5x", "cmd"]);
        assert_eq!(bad_value.code, 125);
        assert!(!bad_value.message.contains('\n'), "{}", bad_value.message);
        assert!(bad_value.message.contains("'5x'"), "{}", bad_value.message);
        assert!(bad_value.message.ends_with("(see --help)"));

        let unknown = failure_for(&["demo", "--frobnicate", "cmd"]);
        assert!(
            unknown.message.contains("--frobnicate"),
            "{}",
            unknown.message
        );
        assert!(!unknown.message.contains('\n'));

        let typo = failure_for(&["demo", "--timout", "5", "cmd"]);
        assert_eq!(
            typo.message,
            "unexpected argument '--timout' found (see --help)\n  tip: a similar argument exists: '--timeout'"
        );

        let missing = failure_for(&["demo"]);
        assert!(missing.message.contains("<COMMAND>"), "{}", missing.message);
        assert!(!missing.message.contains("Usage"), "{}", missing.message);
    }

    #[test]
    fn broken_pipe_is_a_quiet_success() {
        let err = io::Error::from(ErrorKind::BrokenPipe);
        assert_eq!(Failure::io(1, "writing", &err), Failure::quiet(0));
        let other = Failure::io(1, "writing results", &io::Error::from(ErrorKind::NotFound));
        assert_eq!(other.code, 1);
        assert!(other.message.starts_with("writing results ("));
    }

    #[test]
    fn main_with_returns_the_code() {
        assert_eq!(main_with("demo", || Ok(3)), ExitCode::from(3));
        assert_eq!(
            main_with("demo", || Err(Failure::new(2u8, "bad"))),
            ExitCode::from(2)
        );
    }
}
