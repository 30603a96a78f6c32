//! What pool-run will do, resolved once from the command line: every
//! stage reads its part of `Config` when it is built and never looks at
//! the flags again.

use bstr::BString;

use crate::backend::ssh::SshLogin;
use crate::cli::{Halt, TermSeq};
use crate::input::{RecordSyntax, SourceSpec};
use crate::template::{Fill, Invocation, Spread, Template};

mod from_cli;
mod resolve;

/// What pool-run will do.
#[derive(Debug, Clone)]
pub struct Config {
    pub jobs: usize,
    /// -j was given (with -S it is the slots per host; else each host's CPU count).
    pub jobs_given: bool,
    /// -j FILE: read again as each job ends (with the CPU count it is
    /// relative to).
    pub jobs_file: Option<(crate::cli::JobsSpec, usize)>,
    pub keep_order: bool,
    pub output: OutputMode,
    /// --tag / --tagstring: what prefixes each output line.
    pub tag: Option<Tag>,
    /// -S and the flags that go with it.
    pub remote: Remote,
    /// --slurm: each job an srun step.
    pub slurm: Option<Slurm>,
    pub dry_run: bool,
    /// --shell-quote: the printed commands are quoted this many times.
    pub shell_quote: u8,
    /// -0, -d, -E: how input records are read.
    pub records: RecordSyntax,
    /// -v: each job's command on stdout before its output.
    pub show_command_stdout: bool,
    /// -t: each job's command on stderr as it starts.
    pub show_command_stderr: bool,
    pub template: Option<Template>,
    /// --files: the directory each job's stdout is saved in, its name printed.
    pub files_in: Option<std::path::PathBuf>,
    /// --compress: the programs output spilled to disk goes through.
    pub compression: Option<crate::capture::Compression>,
    /// -X/-m spread input known up front over the job slots; --xargs
    /// does not (each job takes as many records as fit).
    pub spread_fit: bool,
    /// -s/-x: how much -X/-m put on a command line.
    pub fit: crate::source::Fit,
    /// --total-jobs: jobs in all, as the user knows it.
    pub total_jobs: Option<u64>,
    /// --skip-first-line: the first input record is no job.
    pub skip_first_line: bool,
    /// --process-slot-var NAME: set to the slot number minus 1 in each job.
    pub process_slot_var: Option<String>,
    /// -p: ask on the terminal before each job.
    pub interactive: bool,
    /// --color-failed: a failed job's lines in red.
    pub color_failed: bool,
    /// --color, --ctag, --ctagstring: each job's lines in its colour.
    pub color: bool,
    /// --onall / --nonall: every job on every host.
    pub onall: bool,
    /// --nonall: no input; the command alone, once per host.
    pub nonall: bool,
    /// --tty / --open-tty: jobs read the terminal on stdin.
    pub tty_stdin: bool,
    /// --template FILE=OUT: FILE's text and OUT's name, filled in per job.
    pub templates: Vec<(Template, Template)>,
    /// --filter: perl conditions, replacement strings filled in per job.
    pub filters: Vec<Template>,
    /// The perl code the templates run (`{= =}`, --rpl, --plus), by id:
    /// empty when no perl co-process is needed.
    pub perl_codes: Vec<String>,
    /// Empty: stdin records.
    pub sources: Vec<SourceSpec>,
    pub timeout: Option<crate::cli::Timeout>,
    /// --retries: the most runs of a failing job; None: no limit.
    pub max_runs: Option<u32>,
    pub delay: std::time::Duration,
    pub halt: Option<Halt>,
    pub joblog: Option<Joblog>,
    pub resume: Resume,
    pub termseq: TermSeq,
    pub results: Option<std::path::PathBuf>,
    /// --timeline: the SVG picture of the run.
    pub timeline: Option<std::path::PathBuf>,
    pub colsep: Option<regex::bytes::Regex>,
    /// --csv: records are CSV lines with this field separator.
    pub csv: Option<u8>,
    /// --trim: spaces and tabs taken off the values.
    pub trim: Trim,
    /// --wd: where jobs run here.
    pub workdir: Option<WorkDir>,
    /// --nice: the jobs' niceness.
    pub nice: Option<i32>,
    /// --shuf: jobs in a random order.
    pub shuffle: bool,
    pub batch: Batch,
    pub pipe: Option<PipeSpec>,
    /// --shard / --bin: -j jobs, each reading the lines its value picks.
    pub spread: Option<crate::spread::Spread>,
    /// --tee: every job reads all of stdin, as it comes (tee.rs).
    pub tee: bool,
    pub bar: crate::progress::BarMode,
    pub memfree: Option<u64>,
    pub load: Option<f64>,
    /// --noswap: no start while the machine swaps.
    pub noswap: bool,
    /// --memsuspend: jobs stop while memory is short.
    pub memsuspend: Option<u64>,
    /// --limit: a command (or GNU's io/load/mem) asked before each start.
    pub limit: Option<crate::limit::LimitSpec>,
}

/// Other machines (-S), and what goes there with each job.
#[derive(Debug, Clone)]
pub struct Remote {
    /// -S / --sshloginfile: where jobs run; empty: on this machine only.
    pub hosts: Vec<SshLogin>,
    /// --hostgroups: an argument's `@g1+g2` picks the hosts of its job.
    pub hostgroups: bool,
    /// --ssh: the ssh program and its options, split as sh would.
    pub ssh: Vec<String>,
    /// --transferfile (placeholders filled per job).
    pub transfer: Vec<Template>,
    /// --return (placeholders filled per job).
    pub fetch: Vec<Template>,
    /// --cleanup: remove both kinds of files from the host after the job.
    pub cleanup: bool,
    /// --basefile: files every host gets once, before its first job.
    pub base_files: Vec<BString>,
    /// --env: variables exported to remote jobs.
    pub env: Vec<String>,
    /// --rsync-opts: rsync's options for transfers (split as sh would).
    pub rsync_opts: String,
    /// --ssh-delay: at least this long between two ssh starts.
    pub ssh_delay: Option<std::time::Duration>,
}

/// How jobs' output reaches pool-run's stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Each job's output whole when it ends (the default).
    Grouped,
    /// -u: jobs write to pool-run's stdout and stderr themselves.
    Ungrouped,
    /// --line-buffer: whole lines as jobs write them.
    LineBuffer,
    /// --json: one object per finished job instead of its output.
    Json,
    /// --latest-line: each job's latest line only (redrawn on a terminal).
    LatestLine,
}

impl OutputMode {
    /// Whether jobs' output comes through pool-run (not under -u).
    pub fn captures(self) -> bool {
        self != OutputMode::Ungrouped
    }
}

/// --joblog FILE (or +FILE: append).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joblog {
    pub path: std::path::PathBuf,
    pub append: bool,
}

/// --wd: the directory jobs run in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkDir {
    At(std::path::PathBuf),
    /// `...`: a new temporary directory per job, removed after it.
    Fresh,
}

/// --trim: which sides of each value lose their spaces and tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Trim {
    pub left: bool,
    pub right: bool,
}

impl Trim {
    fn of(sides: Option<&str>) -> Trim {
        let sides = sides.unwrap_or("n");
        Trim {
            left: sides.contains('l'),
            right: sides.contains('r'),
        }
    }

    /// `value` trimmed as asked.
    pub fn apply(self, value: &mut BString) {
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        if self.right {
            let keep = value.len() - value.iter().rev().take_while(|b| blank(b)).count();
            value.truncate(keep);
        }
        if self.left {
            let drop = value.iter().take_while(|b| blank(b)).count();
            value.drain(..drop);
        }
    }
}

/// --pipe and --pipe-part: the block size and the record boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeSpec {
    pub block: usize,
    /// --pipe-part: `block` is the files' size over (job slots x this).
    pub part_blocks_per_slot: Option<usize>,
    /// --block-timeout: a block read for this long goes as it is.
    pub block_timeout: Option<std::time::Duration>,
    /// -N: a block is this many records (then `block` does not count).
    pub records: Option<usize>,
    pub boundary: crate::boundary::Boundary,
    /// --pipe-part: blocks are ranges of the -a files, not stdin.
    pub part: bool,
    /// --cat, --fifo: each block through a file or a named pipe named by
    /// `{}`, not on stdin.
    pub named: NamedBlocks,
    /// --round-robin: -j jobs take every block between them.
    pub round_robin: bool,
    /// -L N: a record is N lines.
    pub lines: usize,
    /// --rrs: the separators between records, taken out of each block.
    pub remove_separators: bool,
    /// --header with --pipe: the rule for the input's first lines, given
    /// to every job before its block.
    pub header: Option<String>,
    /// --group-by: groups of lines are the records.
    pub group_by: Option<crate::group_by::GroupBy>,
}

/// How a block reaches its job when not on stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedBlocks {
    No,
    /// --cat
    File,
    /// --fifo
    Fifo,
}

/// How --slurm runs a job.
#[derive(Debug, Clone)]
pub struct Slurm {
    pub cpus_per_job: u32,
    pub extra_args: Vec<String>,
    /// Inside an allocation (SLURM_JOB_ID set): jobs are steps of it, with
    /// --exclusive CPUs. Outside, pool-run makes one for the run, unless
    /// `per_job`: then each job is its own allocation.
    pub in_allocation: bool,
    pub per_job: bool,
}

/// The prefix of every output line of a job.
#[derive(Debug, Clone)]
pub enum Tag {
    /// --tag: the job's values, joined by spaces.
    Values,
    /// --tagstring: this text, its placeholders filled in per job.
    Text(Template),
}

/// Which jobs a joblog lets pool-run skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    No,
    /// Every job the joblog lists.
    Finished,
    /// The jobs the joblog lists as succeeded.
    Succeeded,
}

impl Config {
    /// Job slots in all: -j on each -S host (or on this machine).
    pub fn job_slots(&self) -> usize {
        self.jobs.max(1) * self.remote.hosts.len().max(1)
    }

    /// `--joblog -`: the joblog goes to stdout.
    pub fn joblog_on_stdout(&self) -> bool {
        self.joblog
            .as_ref()
            .is_some_and(|j| j.path.as_os_str() == "-")
    }
}

impl Config {
    /// Whether a perl expression asks for the number of jobs in all, which
    /// is known only once the input has been read.
    /// Whether the run needs the perl co-process.
    pub fn needs_perl(&self) -> bool {
        !self.perl_codes.is_empty() || !self.filters.is_empty()
    }

    pub fn needs_total(&self) -> bool {
        self.perl_codes
            .iter()
            .any(|code| code.contains("total_jobs"))
    }

    /// --tag / --tagstring: the prefix of the job's output lines.
    pub fn tag_of(&self, fill: Fill<'_>) -> Option<BString> {
        match &self.tag {
            None => None,
            Some(Tag::Values) => Some(fill.values.join(&b' ').into()),
            Some(Tag::Text(text)) => Some(text.fill_text(fill)),
        }
    }

    /// The job's command: the template filled in, or (no command) its
    /// values as a command line.
    pub fn invocation_of(&self, fill: Fill<'_>) -> Invocation {
        let Some(template) = &self.template else {
            return Invocation::Shell(fill.values.join(&b' ').into());
        };
        let spread = match self.batch {
            Batch::One => Spread::Joined,
            Batch::Max(_) | Batch::Fit { context: false } => Spread::Words,
            Batch::Fit { context: true } => Spread::Context,
        };
        template.fill(Fill { spread, ..fill })
    }
}

/// How many input records make one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// One record per job (the default).
    One,
    /// At most N records; {} stands for all of them (-n N). 0 (-n0, -N0):
    /// one record per job, and none of it given to the command.
    Max(usize),
    /// As many as fit the command line: -X (context replace) or -m.
    Fit { context: bool },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    #[test]
    fn options_then_command_then_sources() {
        let cli =
            Cli::try_parse_from(["pool-run", "-j", "2", "-k", "echo", "-n", "{}", ":::", "a"])
                .unwrap();
        let cfg = Config::from_cli(cli).unwrap();
        assert_eq!(cfg.jobs, 2);
        assert!(cfg.keep_order);
        assert!(cfg.template.is_some());
        assert_eq!(cfg.sources.len(), 1);
        let cli = Cli::try_parse_from(["pool-run", ":::", "echo a", "echo b"]).unwrap();
        let cfg = Config::from_cli(cli).unwrap();
        assert!(
            cfg.template.is_none(),
            "no command: the values are command lines"
        );
    }

    #[test]
    fn ssh_and_slurm_args_split_as_a_shell_would() {
        let cli = Cli::try_parse_from([
            "pool-run",
            "--ssh",
            "ssh -o 'ProxyCommand=ssh -W %h:%p bastion' -i \"my key\"",
            "true",
        ])
        .unwrap();
        let cfg = Config::from_cli(cli).unwrap();
        assert_eq!(
            cfg.remote.ssh,
            [
                "ssh",
                "-o",
                "ProxyCommand=ssh -W %h:%p bastion",
                "-i",
                "my key"
            ]
        );
        let cli = Cli::try_parse_from([
            "pool-run",
            "--slurm",
            "--slurm-args",
            "--comment='a b' --mem=1G",
            "true",
        ])
        .unwrap();
        let slurm = Config::from_cli(cli).unwrap().slurm.unwrap();
        assert_eq!(slurm.extra_args, ["--comment=a b", "--mem=1G"]);
        for bad in ["ssh -o 'open", ""] {
            let cli = Cli::try_parse_from(["pool-run", "--ssh", bad, "true"]).unwrap();
            let failure = Config::from_cli(cli).unwrap_err();
            assert_eq!(failure.code, 255);
            assert!(
                failure.message.starts_with("--ssh '"),
                "{}",
                failure.message
            );
        }
    }
}
