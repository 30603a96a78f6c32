//! pool-run's command line, GNU parallel's flag names where they exist, and
//! the parsers of its values; `config.rs` resolves it.

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
    #[arg(long, action = clap::ArgAction::Count)]
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

    /// Exactly N input records per job, {1}..{N} each one; with --pipe, N
    /// records per block
    #[arg(short = 'N', long = "max-replace-args", value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          conflicts_with_all = ["max_args", "xargs_context", "xargs_words"])]
    pub max_records: Option<u32>,

    /// Remove spaces and tabs around each value: n (none), l, r, lr or rl
    #[arg(long, value_name = "SIDES", value_parser = ["n", "l", "r", "lr", "rl"])]
    pub trim: Option<String>,

    /// The first value of each input source (a file's first line, split at
    /// --colsep) is its name: {name} in the command (GNU's --header; REGEX is
    /// accepted, the first record is always the header, as with ':')
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

    /// At most N input records per job ({} stands for all of them)
    #[arg(short = 'n', long = "max-args", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), conflicts_with_all = ["xargs_context", "xargs_words"])]
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

    /// One input line per job (-L 1; GNU parallel's -l without a number)
    #[arg(short = 'l', conflicts_with_all = ["max_lines", "pipe", "pipe_part"])]
    pub one_line: bool,

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

/// CPU counts and GNU parallel's machine questions (--number-of-*, --show-limits...).
#[derive(clap::Args, Debug)]
pub struct MachineArgs {
    /// -j N%, +N, -N and the default count CPU cores, not threads
    #[arg(long)]
    pub use_cores_instead_of_threads: bool,

    /// -j N%, +N, -N and the default count CPU sockets, not threads
    #[arg(long)]
    pub use_sockets_instead_of_threads: bool,

    /// -j N%, +N, -N and the default count CPU sockets, not cores (GNU
    /// parallel's name for sockets is CPUs)
    #[arg(long)]
    pub use_cpus_instead_of_cores: bool,

    /// Print the number of CPU threads (logical CPUs) and exit
    #[arg(long)]
    pub number_of_threads: bool,

    /// Print the number of CPU cores and exit
    #[arg(long, alias = "number-of-cpus")]
    pub number_of_cores: bool,

    /// Print the number of CPU sockets and exit
    #[arg(long)]
    pub number_of_sockets: bool,

    /// Exit 0 if pool-run is at least as compatible as GNU parallel VERSION
    /// (it prints 20221122, the version it follows), else 255
    #[arg(long, value_name = "VERSION")]
    pub minversion: Option<u64>,

    /// Print the longest command line pool-run builds (-X, -m) and exit
    #[arg(long)]
    pub max_line_length_allowed: bool,

    /// Print the command-line limits first, then run as usual
    #[arg(long)]
    pub show_limits: bool,
}

/// How output is shown: grouping, tags, colours, files, compression.
#[derive(clap::Args, Debug)]
pub struct DisplayArgs {
    /// Do not print the commands (the default; wins over -v, as in GNU parallel)
    #[arg(long)]
    pub silent: bool,

    /// Save each job's stdout in a file (DIR/parXXXXX.par, kept) and print
    /// the file's name instead of the output; also --output-as-files
    #[arg(long, aliases = ["output-as-files", "outputasfiles"],
          conflicts_with_all = ["ungroup", "line_buffer", "json"])]
    pub files: bool,

    /// Compress output that spills to disk (over 256 KiB a stream) with the
    /// first of GNU parallel's programs found (pzstd, zstd, lz4, pigz,
    /// gzip, ...; `cat` if none)
    #[arg(long)]
    pub compress: bool,

    /// Compress spilled output with CMD (stdin to stdout); implies --compress
    #[arg(long, value_name = "CMD")]
    pub compress_program: Option<String>,

    /// Decompress it with CMD (default: the compress program with -dc)
    #[arg(long, value_name = "CMD")]
    pub decompress_program: Option<String>,

    /// Where --files puts its files (default: $TMPDIR, else /tmp)
    #[arg(long, value_name = "DIR")]
    pub tmpdir: Option<std::path::PathBuf>,

    /// Let jobs write straight to stdout/stderr (may interleave)
    #[arg(short = 'u', long)]
    pub ungroup: bool,

    /// Prefix each output line with the job's arguments and a TAB
    #[arg(long)]
    pub tag: bool,

    /// Prefix each output line with STR and a TAB; placeholders as in the command
    #[arg(long, value_name = "STR")]
    pub tagstring: Option<String>,

    /// Draw each job's output lines in a colour of its own (GNU parallel's
    /// colour for the same job number); also --colour
    #[arg(long, alias = "colour", conflicts_with_all = ["ungroup", "json"])]
    pub color: bool,

    /// --tag in colour (--tag --color)
    #[arg(long, conflicts_with_all = ["ungroup", "json"])]
    pub ctag: bool,

    /// --tagstring STR in colour (--tagstring STR --color)
    #[arg(long, alias = "ctag-string", value_name = "STR", conflicts_with_all = ["tagstring", "ungroup", "json"])]
    pub ctagstring: Option<String>,

    /// Print each job's command on stdout before its output (grouped with it)
    #[arg(short = 'v')]
    pub verbose_stdout: bool,

    /// Print each job's command on stderr as it starts
    #[arg(short = 't', long = "verbose")]
    pub verbose: bool,

    /// Print one JSON object per finished job instead of its output
    #[arg(long, conflicts_with_all = ["ungroup", "tag", "tagstring"])]
    pub json: bool,

    /// Also save each job's stdout, stderr and seq under DIR/1/<value>/...
    #[arg(long, alias = "res", value_name = "DIR")]
    pub results: Option<std::path::PathBuf>,

    /// Draw the run as an SVG picture: a lane per slot, a bar per job, coloured by outcome
    #[arg(long, value_name = "FILE.svg")]
    pub timeline: Option<std::path::PathBuf>,

    /// Print whole lines as jobs write them (with -k: only the job whose turn it is)
    #[arg(long, aliases = ["linebuffer", "lb"], conflicts_with_all = ["ungroup", "json"])]
    pub line_buffer: bool,

    /// A progress bar on stderr (done, running, failed, ETA), on a terminal only
    /// unless WHEN is always; also --progress, --eta
    #[arg(long, aliases = ["progress", "eta"], value_name = "WHEN", num_args = 0..=1,
          require_equals = true, default_missing_value = "auto",
          value_parser = ["auto", "always", "never"])]
    pub bar: Option<String>,

    /// Draw a failed job's output lines white on red, as GNU parallel
    /// (grouped output; also --cf)
    #[arg(long, alias = "cf")]
    pub color_failed: bool,
}

/// Other machines: ssh hosts, what goes with each job, Slurm.
#[derive(clap::Args, Debug)]
pub struct RemoteArgs {
    /// Run jobs on [N/][user@]host[:port] over ssh (repeatable, comma-separated; ':' is this machine)
    #[arg(short = 'S', long = "sshlogin", value_name = "LOGINS")]
    pub sshlogin: Vec<String>,

    /// Read sshlogins from FILE, one per line (# comments)
    #[arg(long, alias = "slf", value_name = "FILE")]
    pub sshloginfile: Vec<std::path::PathBuf>,

    /// The ssh command and its options, e.g. 'ssh -i key -p 2222'
    #[arg(long, value_name = "CMD", default_value = "ssh")]
    pub ssh: String,

    /// Copy FILE (placeholders allowed, e.g. {}) to the host before a remote job (rsync)
    #[arg(long = "transferfile", visible_alias = "tf", value_name = "FILE")]
    pub transferfile: Vec<String>,

    /// Copy FILE back from the host after a remote job (rsync)
    #[arg(long = "return", value_name = "FILE")]
    pub return_file: Vec<String>,

    /// Remove transferred and returned files from the host after a remote job
    #[arg(long)]
    pub cleanup: bool,

    /// --transferfile FILE --return FILE --cleanup in one
    #[arg(long, value_name = "FILE")]
    pub trc: Vec<String>,

    /// Copy each job's input to its host: --transferfile {}
    #[arg(long)]
    pub transfer: bool,

    /// rsync's options for -S file transfers (default -rlDR)
    #[arg(long, value_name = "OPTS", allow_hyphen_values = true)]
    pub rsync_opts: Option<String>,

    /// -S: start no ssh within DUR of the last one (sshd's MaxStartups)
    #[arg(long, value_name = "DUR", value_parser = common::time::parse_duration)]
    pub ssh_delay: Option<std::time::Duration>,

    /// Run each job as a Slurm step (srun -N1 -n1); -j defaults to the allocation's tasks
    #[arg(long, conflicts_with_all = ["sshlogin", "sshloginfile"])]
    pub slurm: bool,

    /// CPUs per job under --slurm (srun --cpus-per-task)
    #[arg(long, value_name = "N", default_value_t = 1, requires = "slurm",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus_per_job: u32,

    /// More srun arguments under --slurm, split at spaces (e.g. '--partition=big --mem=2G')
    #[arg(
        long,
        value_name = "ARGS",
        requires = "slurm",
        allow_hyphen_values = true
    )]
    pub slurm_args: Option<String>,

    /// Outside an allocation under --slurm: one allocation of -j tasks for
    /// the whole run, jobs as its steps (one, the default), or an
    /// allocation per job (per-job: each waits in the queue on its own)
    #[arg(long, value_name = "HOW", default_value = "one", requires = "slurm",
          value_parser = ["one", "per-job"])]
    pub slurm_allocation: String,

    /// Accepted for GNU parallel compatibility: pool-run always shares one
    /// ssh master connection per host
    #[arg(
        short = 'M',
        long,
        help_heading = "Accepted for GNU parallel compatibility"
    )]
    pub controlmaster: bool,

    /// -S: run every job on every host (each host runs them all, one at a
    /// time), not each job on one host
    #[arg(long, conflicts_with_all = ["pipe", "pipe_part"])]
    pub onall: bool,

    /// -S: run the command once on every host, with no input (--onall
    /// without arguments)
    #[arg(long, conflicts_with_all = ["onall", "pipe", "pipe_part"])]
    pub nonall: bool,

    /// -S: send FILE to every host once, before its first job (removed at
    /// the end with --cleanup); repeatable
    #[arg(long, visible_alias = "bf", value_name = "FILE")]
    pub basefile: Vec<String>,
}

/// Replacement strings: their names, --plus, --rpl, perl's delimiters.
#[derive(clap::Args, Debug)]
pub struct StringArgs {
    /// GNU parallel's --plus strings too: {..} {...} {/..} {/...} (2 or 3
    /// extensions off), {+.} {+..} {+...} (the extensions), {+/} (the
    /// directory), {##} (jobs in all), {0#} {0%} (zero-padded), and bash's
    /// {:-x} {:2} {:2:3} {#x} {##x} {%x} {%%x} {/a/b} {//a/b} {/#a/b} {/%a/b}
    /// {^a} {^^a} {,A} {,,A} (those in perl, as GNU parallel)
    #[arg(long)]
    pub plus: bool,

    /// Define a replacement string: 'TAG PERL' ({TAG} runs PERL on $_; a
    /// regex TAG's groups are $$1, $$2...), as GNU parallel; repeatable
    #[arg(long, value_name = "'TAG PERL'")]
    pub rpl: Vec<String>,

    /// Use STR in the command instead of {} for the values
    #[arg(short = 'I', long = "replace", value_name = "STR")]
    pub replace: Option<String>,

    /// -I STR, xargs' old spelling: -iSTR, or -i alone for -I {}
    #[arg(short = 'i', value_name = "STR", num_args = 0..=1, default_missing_value = "{}",
          conflicts_with = "replace")]
    pub replace_old: Option<String>,

    /// What encloses a perl expression: the two halves of STR (default {==},
    /// that is {= and =})
    #[arg(long, value_name = "STR")]
    pub parens: Option<String>,

    /// Use STR instead of {.} (the value without its extension)
    #[arg(long = "extensionreplace", visible_alias = "er", value_name = "STR")]
    pub extension_replace: Option<String>,

    /// Use STR instead of {/} (the base name)
    #[arg(long = "basenamereplace", visible_alias = "bnr", value_name = "STR")]
    pub basename_replace: Option<String>,

    /// Use STR instead of {//} (the directory)
    #[arg(long = "dirnamereplace", visible_alias = "dnr", value_name = "STR")]
    pub dirname_replace: Option<String>,

    /// Use STR instead of {/.} (the base name without its extension)
    #[arg(
        long = "basenameextensionreplace",
        visible_alias = "bner",
        value_name = "STR"
    )]
    pub basename_extension_replace: Option<String>,

    /// Use STR instead of {#} (the job's sequence number)
    #[arg(long = "seqreplace", value_name = "STR")]
    pub seq_replace: Option<String>,

    /// Use STR instead of {%} (the job's slot number)
    #[arg(long = "slotreplace", value_name = "STR")]
    pub slot_replace: Option<String>,
}

/// sem: GNU parallel's counting semaphore across invocations.
#[derive(clap::Args, Debug)]
pub struct SemaphoreArgs {
    /// Work as GNU parallel's sem: run the command once a slot of the
    /// semaphore is free (-j slots, default 1), in the background (also:
    /// pool-run started as `sem`)
    #[arg(long, help_heading = "Semaphore (sem)")]
    pub semaphore: bool,

    /// The semaphore's name: calls with the same id share its slots
    #[arg(
        long,
        alias = "semaphore-name",
        value_name = "ID",
        default_value = "default",
        help_heading = "Semaphore (sem)"
    )]
    pub id: String,

    /// Semaphore: wait for the command and exit with its status
    #[arg(long, help_heading = "Semaphore (sem)", overrides_with = "bg")]
    pub fg: bool,

    /// Semaphore: return at once, the command in the background (the default)
    #[arg(long, help_heading = "Semaphore (sem)", overrides_with = "fg")]
    pub bg: bool,

    /// Semaphore: wait at most SECS for a slot, then run anyway; with -SECS,
    /// give up instead (exit 1)
    #[arg(
        long = "semaphore-timeout",
        visible_alias = "st",
        value_name = "SECS",
        allow_negative_numbers = true,
        help_heading = "Semaphore (sem)"
    )]
    pub semaphore_timeout: Option<f64>,

    /// Semaphore: wait until no command of this id runs any more
    #[arg(long, help_heading = "Semaphore (sem)")]
    pub wait: bool,
}

/// When a job may start: machine load, memory, --limit.
#[derive(clap::Args, Debug)]
pub struct AdmissionArgs {
    /// Start a job only while at least SIZE of memory is available (1G, 512M)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memfree: Option<usize>,

    /// Suspend the youngest jobs (SIGSTOP) while less than twice SIZE of
    /// memory is available, resume them as it comes back; no start below SIZE
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memsuspend: Option<usize>,

    /// Ask CMD before each start and as jobs run: exit 0 start another job,
    /// 1 start none, 2 kill the youngest; or `io N`, `load N`, `mem SIZE`
    #[arg(long, value_name = "CMD")]
    pub limit: Option<String>,

    /// Start a job only while the machine is not swapping (pages both in
    /// and out since the last look)
    #[arg(long)]
    pub noswap: bool,

    /// Start a job only while the 1-minute load average is below N
    #[arg(long, value_name = "N")]
    pub load: Option<f64>,
}

/// --pipe and --pipe-part: stdin or files cut into blocks.
#[derive(clap::Args, Debug)]
pub struct PipeArgs {
    /// With --pipe: every job gets all of stdin (one job per ::: value)
    #[arg(long, requires = "pipe")]
    pub tee: bool,

    /// Split stdin into blocks of whole records and give each to a job's stdin
    #[arg(long, alias = "spreadstdin", conflicts_with_all = ["max_args", "xargs_context", "xargs_words", "colsep"])]
    pub pipe: bool,

    /// Like --pipe, but cut the files of -a/:::: into blocks: each job's
    /// byte range goes to it by splice(2), without pool-run reading it
    #[arg(long = "pipe-part", alias = "pipepart", conflicts_with_all = ["pipe", "max_args", "xargs_context", "xargs_words", "colsep"])]
    pub pipe_part: bool,

    /// --pipe block size: 1M (the default; M = 2^20, m = 10^6, as GNU), 512k, 10000
    #[arg(long, alias = "block-size", value_name = "SIZE", value_parser = parse_size)]
    pub block: Option<usize>,

    /// --pipe record end (default: newline, or nothing with --recstart)
    #[arg(long, value_name = "STR")]
    pub recend: Option<String>,

    /// --pipe/--pipe-part: start -j jobs and give each block to one of them
    /// (the one with the fewest blocks waiting), not a job per block
    #[arg(long, alias = "round", conflicts_with_all = ["cat", "fifo", "tee", "retries"])]
    pub round_robin: bool,

    /// --pipe: take the record separators (--recend, --recstart) out of
    /// each block before the job gets it; also --removerecsep, --rrs
    #[arg(long, aliases = ["removerecsep", "rrs"], requires = "pipe")]
    pub remove_rec_sep: bool,

    /// --pipe/--pipe-part: each block in a temporary file whose name is {}
    /// (removed after the job), instead of on the job's stdin
    #[arg(long, conflicts_with = "fifo")]
    pub cat: bool,

    /// --pipe/--pipe-part: each block through a named pipe whose name is {}
    /// (the job must open it, or it waits for its input forever)
    #[arg(long)]
    pub fifo: bool,

    /// --pipe record start: blocks are cut only before it (after --recend)
    #[arg(long, value_name = "STR")]
    pub recstart: Option<String>,
}

mod values;

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
