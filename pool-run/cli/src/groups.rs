//! pool-run's flags in groups, each flattened into the Cli: the ways
//! output is shown, other machines, --pipe, replacement strings, admission,
//! the semaphore and GNU parallel's machine questions. clap derives one
//! builder per group, so no single function builds all of them.

use super::values::*;

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

    /// Temporary files go in DIR (as $TMPDIR, which jobs see too): output
    /// spilled to disk, --files's files, --tee's copy of stdin
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

    /// Each job shows only the latest line it wrote (stdout or stderr): on
    /// a terminal a row per job, redrawn in place; elsewhere each job's
    /// last line when it ends. Also --ll
    #[arg(long = "latest-line", aliases = ["latestline", "ll"], conflicts_with_all = ["ungroup", "json", "line_buffer"])]
    pub latest_line: bool,

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
    /// Run jobs on [@groups/][N/][user@]host[:port] over ssh (repeatable,
    /// comma-separated; ':' is this machine; a lone @group keeps that group's logins)
    #[arg(short = 'S', long = "sshlogin", value_name = "LOGINS")]
    pub sshlogin: Vec<String>,

    /// An argument's '@group1+group2' suffix (cut off) names the host
    /// groups of -S its job may run on (a job with none: any host)
    #[arg(long, aliases = ["hgrp", "hostgrp", "hostgroup"])]
    pub hostgroups: bool,

    /// GNU parallel's check that each host answers: pool-run always drops
    /// the hosts it cannot reach at the start (one line each), so a no-op
    #[arg(long)]
    pub filter_hosts: bool,

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
    /// With --pipe: every job gets all of stdin, as it comes (one job per ::: value)
    #[arg(long, requires = "pipe")]
    pub tee: bool,

    /// Split stdin into blocks of whole records and give each to a job's stdin
    #[arg(long, alias = "spreadstdin", conflicts_with_all = ["max_args", "xargs_context", "xargs_words"])]
    pub pipe: bool,

    /// Like --pipe, but cut the files of -a/:::: into blocks: each job's
    /// byte range goes to it by splice(2), without pool-run reading it
    #[arg(long = "pipe-part", alias = "pipepart", conflicts_with_all = ["pipe", "max_args", "xargs_context", "xargs_words"])]
    pub pipe_part: bool,

    /// --pipe block size: 1M (the default; M = 2^20, m = 10^6, as GNU), 512k,
    /// 10000. With --pipe-part, -N cuts the files into N blocks per job slot
    /// (the default is -10, and --round-robin makes it -1, as GNU parallel)
    #[arg(long, alias = "block-size", value_name = "SIZE", value_parser = parse_block_size, allow_hyphen_values = true)]
    pub block: Option<BlockSize>,

    /// --pipe (also spelled blocktimeout or bt): a block not full after DUR
    /// goes to a job as it is (cut at its last record end), so a slow
    /// trickle of input is not held back; the block size then never grows
    #[arg(long = "block-timeout", aliases = ["blocktimeout", "bt"], value_name = "DUR", value_parser = common::time::parse_duration, requires = "pipe")]
    pub block_timeout: Option<std::time::Duration>,

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

    /// --pipe/--pipe-part: --recend and --recstart are regexes (perl's, as
    /// far as Rust's regex crate reads them: no look-around), matched line
    /// by line with --pipe; an empty --recend alone is any one character
    #[arg(long, alias = "regex")]
    pub regexp: bool,

    /// --pipe record start: blocks are cut only before it (after --recend)
    #[arg(long, value_name = "STR")]
    pub recstart: Option<String>,

    /// --pipe (implied): consecutive lines with the same value are one
    /// record, never split between blocks. VAL: a column number (split at
    /// --colsep, default tab), a column name (the first line is then a
    /// header, given to every job), perl code run on the line in $_, or a
    /// column then code ('2 s/\D//g'). Needs perl, as in GNU parallel
    #[arg(long = "group-by", alias = "groupby", value_name = "VAL", conflicts_with_all = ["recstart", "recend", "remove_rec_sep", "tee"])]
    pub group_by: Option<String>,

    /// With --pipe: -j jobs at once, each line of stdin to one of them by
    /// a hash of its VAL, so equal values meet in one job. VAL as
    /// --group-by's (a column split at --colsep, default ','; a column name
    /// reads a header line, then drops it, as GNU parallel). Needs perl
    #[arg(long, value_name = "VAL", requires = "pipe", conflicts_with_all = ["pipe_part", "group_by", "tee", "round_robin", "cat", "fifo", "bin"])]
    pub shard: Option<String>,

    /// As --shard, but VAL modulo -j picks the job: 1 the first, 2 the
    /// second, ... and a multiple of -j the last (as GNU parallel)
    #[arg(long, value_name = "VAL", requires = "pipe", conflicts_with_all = ["pipe_part", "group_by", "tee", "round_robin", "cat", "fifo"])]
    pub bin: Option<String>,
}
