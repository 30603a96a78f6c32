//! pool-run's command line, GNU parallel's flag names where they exist, and
//! the parsers of its values; pool-run's `config` resolves it. A crate of its
//! own so that the release profile can build it for size (root Cargo.toml).

use clap::Parser;
use common::cli::Help;

/// What pool-run says of itself in `--help`.
pub const HELP: Help = Help::new("pool-run", ABOUT, AFTER_HELP, EXAMPLES);

const EXAMPLES: &str = "\
  seq 5 | pool-run -k echo job               # five jobs, output in input order
  pool-run -j2 --tag 'sleep 0.{}; echo done' ::: 3 1 2   # each line tagged with its input
  printf 'a.txt\\nb.txt\\n' | pool-run --dry-run gzip {}   # the commands, not run
  seq 1000 | pool-run -X echo | wc -l        # as many arguments per job as fit
  pool-run --joblog - -k echo ::: a b        # GNU parallel's joblog, on stdout";

const ABOUT: &str = "A pool of N workers runs commands built from input lines or arguments";

const AFTER_HELP: &str = "\
Input: stdin records by default (lines; NUL-separated with -0), streamed as
they arrive; or sources after the command: ::: ARGS..., :::: FILES..., several
combined as a cartesian product, :::+ / ::::+ paired with the previous one.
-a FILE is :::: FILE. No COMMAND: each input line is a shell command line.

Placeholders: {} {.} {/} {//} {/.} {#} (job number) {%} (slot) {1} {2} ...
and combinations like {1.} {2/}. No placeholder: the values are appended.
{{}} is a literal {}. Plain words run directly; a command with shell syntax
(or --shell) runs through sh -c, with every value quoted as data.

Other machines: -S [N/][user@]host[:port],... (':' is this machine) runs jobs
over ssh, one master connection per host; -j is then per host. {host} is the
job's sshlogin. Unreachable hosts are dropped; their jobs run elsewhere.

Output: each job's stdout and stderr are written whole when it ends, never
interleaved with another job's (-k: in input order; -u: raw, as it comes).

Bytes: input, arguments and output are bytes, passed on unchanged whether
or not they are UTF-8 (--json escapes each invalid byte XX as \\udcXX). A
record holding a NUL byte is skipped with one warning (use -0).

Exit status (GNU parallel's): 0 all jobs succeeded; 1-100 the number of failed
jobs; 101 more than 100 failed; 255 other error, usage errors included.
A job killed by a signal or not found (127) counts as failed.";

/// Run commands in parallel, like GNU parallel.
#[derive(Parser, Debug)]
// GNU parallel: a flag given twice takes its last value (`-j2 -j4`).
#[command(args_override_self = true)]
pub struct Cli {
    /// Jobs at once: N, +N or -N (the CPU count plus or minus N), N% of the
    /// CPUs, 0 for as many as possible, or a FILE holding one of these, read
    /// again as each job ends (default: CPU count); also -P
    #[arg(short = 'j', long, short_alias = 'P', alias = "max-procs", value_name = "N",
          value_parser = parse_jobs, allow_negative_numbers = true)]
    pub jobs: Option<JobsSpec>,

    #[command(flatten)]
    pub machine: MachineArgs,

    /// -m/-X put at most N bytes on a command line (its words, spaces
    /// included, stay under N)
    #[arg(short = 's', long = "max-chars", value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
    pub max_chars: Option<u64>,

    /// With -s: stop (exit 255) if one input does not fit the command line
    #[arg(short = 'x', long = "exit", requires = "max_chars")]
    pub exit_if_too_long: bool,

    /// Print outputs in input order (jobs still run in parallel)
    #[arg(short = 'k', long, overrides_with = "no_keep_order")]
    pub keep_order: bool,

    /// Print outputs as jobs finish (the default; cancels an earlier -k)
    #[arg(long, overrides_with = "keep_order")]
    pub no_keep_order: bool,

    #[command(flatten)]
    pub display: DisplayArgs,

    /// Jobs in all, for {##}, total_jobs() and --bar when the input is read
    /// as it comes (GNU parallel's --total-jobs)
    #[arg(long = "total-jobs", alias = "total", value_name = "N")]
    pub total_jobs: Option<u64>,

    /// Skip the first input record (GNU parallel's --skip-first-line)
    #[arg(long)]
    pub skip_first_line: bool,

    /// Set the environment variable NAME to the job's slot number minus 1
    #[arg(long, value_name = "NAME")]
    pub process_slot_var: Option<String>,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Print the commands instead of running them
    #[arg(long, alias = "dryrun")]
    pub dry_run: bool,

    /// Print each command shell-quoted (once per --shell-quote given)
    /// instead of running it, for composing commands
    #[arg(long, alias = "shellquote", action = clap::ArgAction::Count)]
    pub shell_quote: u8,

    /// Run the command's words as they are, never through sh -c (GNU's -q:
    /// shell syntax in the command is then data)
    #[arg(short = 'q', long)]
    pub quote: bool,

    /// Input records end with DELIM (\n, \t, \0 and other escapes allowed)
    #[arg(short = 'd', long, value_name = "DELIM", conflicts_with = "null")]
    pub delimiter: Option<String>,

    /// Stop reading input at a record equal to EOF (GNU parallel's -E)
    #[arg(short = 'E', long = "eof", value_name = "EOF")]
    pub eof: Option<String>,

    /// -E EOF, xargs' old spelling: -eEOF, or -e alone for no EOF string
    #[arg(short = 'e', value_name = "EOF", num_args = 0..=1, default_missing_value = "",
          conflicts_with = "eof")]
    pub eof_old: Option<String>,

    #[command(flatten)]
    pub strings: StringArgs,

    /// Exactly N input records per job, {1}..{N} each one (0: one record
    /// per job, none of it on the command line); with --pipe, N records
    /// per block
    #[arg(short = 'N', long = "max-replace-args", value_name = "N", value_parser = clap::value_parser!(u32),
          conflicts_with_all = ["max_args", "xargs_context", "xargs_words"])]
    pub max_records: Option<u32>,

    /// Remove spaces and tabs around each value: n (none), l, r, lr or rl
    #[arg(long, value_name = "SIDES", value_parser = ["n", "l", "r", "lr", "rl"])]
    pub trim: Option<String>,

    /// The first value of each input source (a file's first line, split at
    /// --colsep) is its name: {name} in the command (GNU's --header; REGEX is
    /// accepted, the first record is always the header, as with ':'). With
    /// --pipe: the input's header (':' one line, N lines, or what REGEX
    /// matches at the start) goes before every job's block
    #[arg(long, value_name = "REGEX")]
    pub header: Option<String>,

    /// Run each job in DIR ('...': a new temporary directory per job,
    /// removed after it); on this machine
    #[arg(long, alias = "workdir", value_name = "DIR")]
    pub wd: Option<std::path::PathBuf>,

    /// Run the jobs at niceness N (their whole process group)
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-20..=19))]
    pub nice: Option<i32>,

    /// Run the jobs in a random order (input known up front)
    #[arg(long)]
    pub shuf: bool,

    /// Export NAME to remote jobs (GNU's --env); jobs here get the whole
    /// environment anyway
    #[arg(long, value_name = "NAME")]
    pub env: Vec<String>,

    #[command(flatten)]
    pub sem: SemaphoreArgs,

    /// Pair the input sources by position instead of combining every value
    /// of one with every value of the next (as :::+ does for one source)
    #[arg(long, alias = "xapply")]
    pub link: bool,

    /// Use SEP instead of ::: to start a source of arguments
    #[arg(long, value_name = "SEP", default_value = ":::")]
    pub arg_sep: String,

    /// Use SEP instead of :::: to start a source of files
    #[arg(long, value_name = "SEP", default_value = "::::")]
    pub arg_file_sep: String,

    /// Accepted for GNU parallel compatibility; pool-run never asks for a citation
    #[arg(
        long,
        alias = "no-notice",
        help_heading = "Accepted for GNU parallel compatibility"
    )]
    pub will_cite: bool,

    /// Accepted for GNU parallel compatibility: grouped output is the default
    #[arg(long, help_heading = "Accepted for GNU parallel compatibility")]
    pub group: bool,

    /// Accepted for GNU parallel compatibility: pool-run has no ~/.parallel
    /// profiles to ignore
    #[arg(long, help_heading = "Accepted for GNU parallel compatibility")]
    pub plain: bool,

    /// Accepted for GNU parallel compatibility: empty input runs no job anyway
    #[arg(
        short = 'r',
        long,
        help_heading = "Accepted for GNU parallel compatibility"
    )]
    pub no_run_if_empty: bool,

    /// Input records end with NUL, not newline
    #[arg(short = '0', long)]
    pub null: bool,

    /// Read input records from FILE (like :::: FILE)
    #[arg(short = 'a', long = "arg-file", value_name = "FILE")]
    pub arg_file: Vec<std::path::PathBuf>,

    /// Run every command through sh -c
    #[arg(long)]
    pub shell: bool,

    /// Kill a job (its whole process group, with the signals of --termseq)
    /// after DUR, or after N% of the median runtime of the jobs finished so
    /// far (N%: from the third finished job on)
    #[arg(long, value_name = "DUR|N%", value_parser = parse_timeout)]
    pub timeout: Option<Timeout>,

    /// Run a failed job up to N times in all; 0: until it succeeds (GNU parallel's meaning)
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Wait DUR between job starts
    #[arg(long, value_name = "DUR", value_parser = common::time::parse_duration)]
    pub delay: Option<std::time::Duration>,

    /// Stop early: now|soon,fail=N|fail=N%|success=N|done=N (now kills running jobs)
    #[arg(long, alias = "halt-on-error", value_name = "WHEN,COND", value_parser = parse_halt)]
    pub halt: Option<Halt>,

    /// Log finished jobs to FILE in GNU parallel's format (+FILE appends)
    #[arg(long, alias = "jl", value_name = "FILE")]
    pub joblog: Option<String>,

    /// Skip jobs the joblog lists as finished
    #[arg(long, requires = "joblog")]
    pub resume: bool,

    /// Skip jobs the joblog lists as succeeded; run the failed ones again
    #[arg(long, requires = "joblog", conflicts_with = "resume")]
    pub resume_failed: bool,

    /// Run the jobs the joblog lists as failed again, with the commands it
    /// logged (the command line's command and input are not used)
    #[arg(long, requires = "joblog", conflicts_with = "resume")]
    pub retry_failed: bool,

    /// Signals and waits (ms) for --timeout: SIG,MS,SIG,MS,...
    #[arg(long, alias = "term-seq", value_name = "SEQ", default_value = "TERM,200,TERM,100,TERM,50,KILL,25", value_parser = parse_termseq)]
    pub termseq: TermSeq,

    /// Split each input record into columns {1} {2} ... at REGEX
    #[arg(short = 'C', long, value_name = "REGEX", value_parser = parse_regex)]
    pub colsep: Option<regex::bytes::Regex>,

    /// At most N input records per job ({} stands for all of them; 0: one
    /// record per job, none of it on the command line); with -m/-X, their
    /// batches hold at most N
    #[arg(short = 'n', long = "max-args", value_name = "N",
          value_parser = clap::value_parser!(u32))]
    pub max_args: Option<u32>,

    /// As many records per job as fit the command line; a word with {} is
    /// repeated for each (context replace)
    #[arg(short = 'X', conflicts_with = "xargs_words")]
    pub xargs_context: bool,

    /// As many records per job as fit the command line; {} stands for all of them
    #[arg(short = 'm')]
    pub xargs_words: bool,

    /// As -m, but never spread over the job slots: each job takes as many
    /// records as fit (GNU parallel's --xargs)
    #[arg(long = "xargs", conflicts_with_all = ["xargs_context", "xargs_words", "max_args"])]
    pub xargs_all: bool,

    /// N input lines per job, as xargs -L (not with --pipe yet)
    #[arg(short = 'L', long = "max-lines", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..),
          conflicts_with_all = ["max_args", "xargs_context", "xargs_words", "xargs_all", "pipe_part"])]
    pub max_lines: Option<u32>,

    /// -l N or -lN: as -L N; -l alone: -L 1 (GNU parallel's and xargs' -l)
    #[arg(short = 'l', value_name = "N", num_args = 0..=1, default_missing_value = "1",
          value_parser = clap::value_parser!(std::ffi::OsString),
          conflicts_with_all = ["max_lines", "pipe", "pipe_part"])]
    pub one_line: Option<std::ffi::OsString>,

    #[command(flatten)]
    pub admission: AdmissionArgs,

    /// Options from ~/.parallel/NAME, in this place (shell words; # comments)
    #[arg(short = 'J', long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Jobs read the terminal (/dev/tty) on stdin, one at a time, writing
    /// straight to it (-j1 -u); without a terminal, stdin is empty
    #[arg(long)]
    pub tty: bool,

    /// Jobs read the terminal (/dev/tty) on stdin, as --tty but with -j
    /// and the output as they are: the oldest running job has the
    /// terminal, the others wait for their turn if they read it
    #[arg(short = 'o', long, conflicts_with = "tty")]
    pub open_tty: bool,

    /// Before each job, write FILE with its replacement strings filled in
    /// to OUT (a name with replacement strings too); repeatable
    #[arg(long = "template", alias = "tmpl", value_name = "FILE=OUT")]
    pub template: Vec<String>,

    /// In a script's #! line: the script's lines are the input
    /// (`#!/usr/bin/pool-run --shebang -k echo`); also --hashbang
    #[arg(long, alias = "hashbang")]
    pub shebang: bool,

    /// In a script's #! line: run the script under the program named after
    /// it, once per argument (`#!/usr/bin/pool-run --shebang-wrap python3`)
    #[arg(long)]
    pub shebang_wrap: bool,

    /// Ask on the terminal before each job (`COMMAND ?...`); run it only if
    /// the answer starts with y or Y
    #[arg(short = 'p', long)]
    pub interactive: bool,

    /// Read each input record as CSV: --colsep's one character (default ,)
    /// separates fields, "quoted" fields may hold it, "" is a quote
    #[arg(long)]
    pub csv: bool,

    /// Run only the jobs for which PERL is true, after its replacement
    /// strings are filled in (`--filter '{1} < {2}'`); repeatable (all must hold)
    #[arg(long, value_name = "PERL")]
    pub filter: Vec<String>,

    #[command(flatten)]
    pub pipes: PipeArgs,

    /// The command and its arguments, then any ::: / :::: sources
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = false,
        value_parser = clap::value_parser!(std::ffi::OsString)
    )]
    pub command: Vec<std::ffi::OsString>,
}

mod groups;
mod values;

pub use groups::*;

pub use values::*;
use values::{parse_halt, parse_jobs, parse_regex, parse_termseq, parse_timeout};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        common::cli::command::<Cli>(&HELP).debug_assert();
    }

    #[test]
    fn job_counts() {
        let jobs = |text: &str| parse_jobs(text).map(|spec| spec.resolve(4));
        assert_eq!(jobs("3"), Ok(3));
        assert_eq!(jobs("0"), Ok(MAX_JOBS));
        assert_eq!(jobs("50%"), Ok(2));
        assert_eq!(jobs("1%"), Ok(1), "never below one");
        assert!(parse_jobs("abc").unwrap_err().contains("'abc'"));
        assert_eq!(jobs("+2"), Ok(6), "GNU: relative to the CPUs");
        assert_eq!(jobs("-1"), Ok(3));
        assert_eq!(jobs("-1000"), Ok(1), "never below one");
        assert!(parse_jobs("+x").is_err());
    }

    #[test]
    fn sizes_and_record_ends() {
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        // GNU parallel's units: upper case and `i` binary, lower case decimal.
        assert_eq!(parse_size("512k"), Ok(512_000));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("2ki"), Ok(2048));
        assert_eq!(parse_size("2m"), Ok(2_000_000));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("5i").is_err() && parse_size("1.5x").is_err());
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err() && parse_size("x").is_err());
        assert_eq!(unescape("\\n"), b"\n");
        assert_eq!(unescape("--\\t"), b"--\t");
    }

    #[test]
    fn termseq_parses_pairs() {
        let seq = parse_termseq("TERM,200,KILL,25").unwrap();
        assert_eq!(seq.0.len(), 2);
        assert_eq!(
            seq.0[1],
            (
                common::signal::Signal::KILL,
                std::time::Duration::from_millis(25)
            )
        );
        assert!(parse_termseq("TERM").is_err());
        assert!(parse_termseq("NOPE,1").is_err());
        assert!(parse_termseq("TERM,x").is_err());
    }

    #[test]
    fn halt_rules() {
        assert_eq!(
            parse_halt("now,fail=1"),
            Ok(Halt {
                now: true,
                condition: HaltCondition::Failed(1)
            })
        );
        assert_eq!(
            parse_halt("soon,fail=20%"),
            Ok(Halt {
                now: false,
                condition: HaltCondition::FailedPercent(20.0)
            })
        );
        assert_eq!(
            parse_halt("now,done=3").unwrap().condition,
            HaltCondition::Done(3)
        );
        assert_eq!(
            parse_halt("soon,success=2").unwrap().condition,
            HaltCondition::Succeeded(2)
        );
        for bad in [
            "now",
            "later,fail=1",
            "now,fail=0",
            "now,fail=x",
            "now,fail=150%",
            "now,oops=1",
        ] {
            assert!(parse_halt(bad).is_err(), "{bad}");
        }
    }
}
