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
    /// Details and exit codes, after the flags in `--help`.
    pub after: &'static str,
    /// Lines of `  COMMAND  # what it shows`, ending `--help` (and the man
    /// page). Each is run by the tests: keep them quick and self-contained.
    pub examples: &'static str,
}

impl Help {
    pub const fn new(
        name: &'static str,
        about: &'static str,
        after: &'static str,
        examples: &'static str,
    ) -> Help {
        Help {
            name,
            about,
            after,
            examples,
        }
    }
}

/// What `-h` ends with: the short help stays short.
const SHORT_AFTER: &str = "Run with --help for the details, the exit codes and examples.";

/// A tool's command line: its own flags (`P`) plus what every prockit tool
/// has, its name and about text, `--version`, help wrapped at 100 columns.
/// `-h` lists the flags; `--help` adds the details and the examples.
pub fn command<P: clap::CommandFactory>(help: &Help) -> clap::Command {
    P::command()
        .name(help.name)
        .bin_name(help.name)
        .about(help.about)
        .long_about(None)
        .after_help(SHORT_AFTER)
        .after_long_help(format!("{}\n\nExamples:\n{}", help.after, examples(help)))
        .version(env!("CARGO_PKG_VERSION"))
        .max_term_width(100)
}

/// The examples, each line indented by two spaces.
fn examples(help: &Help) -> String {
    let lines: Vec<String> = help
        .examples
        .lines()
        .map(|line| format!("  {}", line.trim()))
        .collect();
    lines.join("\n")
}

/// The example commands of `help`, without their `# ...` comments (the
/// tests run each one).
pub fn example_commands(help: &Help) -> Vec<String> {
    help.examples
        .lines()
        .map(|line| line.split("  #").next().unwrap_or(line).trim().to_string())
        .filter(|command| !command.is_empty())
        .collect()
}

/// What `--generate` makes.
const GENERATE_KINDS: &str = "man, complete-bash, complete-zsh, complete-fish";

/// `tool --generate KIND`: the man page or a shell's completion script,
/// made from the same clap definition as `--help`, on stdout. (Not a clap
/// flag: it would show in every completion and help text.)
pub fn generate(mut command: clap::Command, kind: &str, usage_code: u8) -> Result<(), Failure> {
    use clap_complete::Shell;
    let name = command.get_name().to_string();
    let mut out = Vec::new();
    let shell = match kind {
        "man" => None,
        "complete-bash" => Some(Shell::Bash),
        "complete-zsh" => Some(Shell::Zsh),
        "complete-fish" => Some(Shell::Fish),
        other => {
            return Err(Failure::new(
                usage_code,
                format!("--generate '{other}': one of {GENERATE_KINDS}"),
            ));
        }
    };
    match shell {
        Some(shell) => clap_complete::generate(shell, &mut command, name, &mut out),
        None => man_page(command, &mut out)
            .map_err(|e| Failure::io(crate::exit::FAILURE, "writing the man page", &e))?,
    }
    print(crate::exit::FAILURE, &String::from_utf8_lossy(&out))
}

/// The man page: clap_mangen's sections of the tool (its flags, its
/// subcommands), a section per subcommand with its flags (clap_mangen would
/// only list them by name), then the details, exit codes and examples.
fn man_page(command: clap::Command, out: &mut Vec<u8>) -> io::Result<()> {
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    if command.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    subcommand_sections(&command, out)?;
    // The text after the flags: the details, exit codes and examples.
    let mut extra = Vec::new();
    man.render_extra_section(&mut extra)?;
    let extra =
        String::from_utf8_lossy(&extra).replace(".SH EXTRA", ".SH \"DETAILS AND EXAMPLES\"");
    out.extend_from_slice(extra.as_bytes());
    man.render_version_section(out)
}

fn subcommand_sections(command: &clap::Command, out: &mut Vec<u8>) -> io::Result<()> {
    let tool = command.get_name().to_string();
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        writeln!(
            out,
            ".SH \"{} {}\"",
            roff_text(&tool),
            roff_text(sub.get_name())
        )?;
        if let Some(about) = sub.get_about() {
            writeln!(out, "{}", roff_text(&about.to_string()))?;
        }
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let Some(long) = arg.get_long() else {
                continue;
            };
            let mut flag = format!("\\fB\\-\\-{}\\fR", roff_text(long));
            if let Some(short) = arg.get_short() {
                flag = format!("\\fB\\-{short}\\fR, {flag}");
            }
            writeln!(out, ".TP\n{flag}")?;
            if let Some(help) = arg.get_help() {
                writeln!(out, "{}", roff_text(&help.to_string()))?;
            }
        }
    }
    Ok(())
}

/// Text safe inside roff: no leading dot or quote, hyphens and backslashes
/// escaped.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
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
    parse_args_from(help, usage_code, std::env::args_os().collect())
}

/// [`parse_args`] over `args` (the program name first) instead of the
/// process's own.
pub fn parse_args_from<P: clap::Parser>(
    help: &Help,
    usage_code: impl Into<u8>,
    args: Vec<std::ffi::OsString>,
) -> Result<P, Failure> {
    let usage_code = usage_code.into();
    let mut command = command::<P>(help);
    let matches = command
        .try_get_matches_from_mut(args)
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
    run_tool_with_args(help, usage_code, std::env::args_os().collect(), run)
}

/// [`run_tool`] over `args` (the program name first): for a tool that
/// rewrites its command line first (pool-run as a `#!` interpreter).
pub fn run_tool_with_args<P: clap::Parser>(
    help: &Help,
    usage_code: impl Into<u8>,
    args: Vec<std::ffi::OsString>,
    run: impl FnOnce(P) -> Result<u8, Failure>,
) -> ExitCode {
    crate::stdio::restore_closed();
    let usage_code = usage_code.into();
    if args.get(1).is_some_and(|a| a == "--generate") {
        return main_with(help.name, || {
            let kind = args.get(2).and_then(|k| k.to_str()).unwrap_or("");
            generate(command::<P>(help), kind, usage_code)?;
            Ok(crate::exit::SUCCESS)
        });
    }
    main_with(help.name, || run(parse_args_from(help, usage_code, args)?))
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
