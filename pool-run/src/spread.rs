//! `--shard VAL` and `--bin VAL` with `--pipe`: -j jobs run at once, and
//! every line of stdin goes to one of them, chosen by the line's value, so
//! all lines of a value meet in one job (as a database shards its rows).
//! `--shard` hashes the value; `--bin` takes it modulo -j (bin 0 is the
//! last job, as in GNU parallel 20221122).
//!
//! The value is GNU's: a column split at --colsep (`,` by default here),
//! a column name looked up in a header line (read, then dropped, as GNU
//! does), perl code on it, or perl code on the whole line. As in GNU, one
//! perl process reads stdin and writes each line into its job's pipe; the
//! jobs read those pipes as their stdin, and pool-run copies nothing.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Stdio};

use crate::group_by::{Key, names_a_column, read_first_line, spawn_perl};

/// What decides a line's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// --shard: a hash of the value.
    Hash,
    /// --bin: the value modulo the number of jobs.
    Modulo,
}

/// --shard or --bin as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spread {
    pub rule: Rule,
    /// VAL: a column number or name, then perl code (either may be missing).
    pub value: String,
    /// --colsep (a perl regex), `,` when not given, as GNU's sharder.
    pub colsep: String,
}

/// The running splitter and, for each job in order, the read end of its
/// pipe (taken by the job as its stdin).
#[derive(Debug)]
pub struct Started {
    pub splitter: Splitter,
    pub inputs: Vec<File>,
}

/// The perl process splitting stdin; stopped when dropped if it still
/// runs (every job has ended, so nothing reads what it writes).
#[derive(Debug)]
pub struct Splitter {
    child: Child,
}

impl Drop for Splitter {
    fn drop(&mut self) {
        // Only while it is still ours: the supervisor reaps every child of
        // pool-run, and a reaped pid may be another's.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
    }
}

impl Spread {
    fn flag(&self) -> &'static str {
        match self.rule {
            Rule::Hash => "--shard",
            Rule::Modulo => "--bin",
        }
    }

    /// Starts the splitter for `jobs` jobs. Err: the one line to print.
    pub fn start(&self, jobs: usize) -> Result<Started, String> {
        let flag = self.flag();
        let header = if names_a_column(&self.value) {
            Some(read_first_line().map_err(|e| format!("reading stdin: {e}"))?)
        } else {
            None
        };
        let key = Key::of(&self.value, &self.colsep, header.as_deref(), flag)?;
        let mut inputs = Vec::with_capacity(jobs);
        let mut outputs: Vec<OwnedFd> = Vec::with_capacity(jobs);
        for _ in 0..jobs.max(1) {
            let (read, write) =
                std::io::pipe().map_err(|e| format!("{flag}: making a job's pipe: {e}"))?;
            inputs.push(File::from(OwnedFd::from(read)));
            outputs.push(OwnedFd::from(write));
        }
        let fds: Vec<i32> = outputs.iter().map(AsRawFd::as_raw_fd).collect();
        let args = perl_args(self.rule, &key, &self.colsep, &fds);
        let child = spawn_perl(&args, flag, Stdio::null(), &fds)?;
        // The write ends are perl's alone now: a job sees the end of its
        // input when perl ends.
        drop(outputs);
        Ok(Started {
            splitter: Splitter { child },
            inputs,
        })
    }
}

/// perl's arguments: each line is printed into the pipe its value picks.
/// `fds` are the jobs' pipes in job order; --bin's value 0 is the last job.
fn perl_args(rule: Rule, key: &Key, colsep: &str, fds: &[i32]) -> Vec<String> {
    let (mut args, value) = key.perl_value(colsep);
    let jobs = fds.len();
    let order: Vec<String> = match rule {
        Rule::Modulo => fds[jobs - 1..]
            .iter()
            .chain(&fds[..jobs - 1])
            .map(i32::to_string)
            .collect(),
        Rule::Hash => fds.iter().map(i32::to_string).collect(),
    };
    let pick = match rule {
        // B::hash is perl's own string hash, as GNU's sharder uses.
        Rule::Hash => format!("hex(B::hash($_)) % {jobs}"),
        Rule::Modulo => format!("$_ % {jobs}"),
    };
    args.insert(0, "-MB".to_string());
    args.push("-ne".to_string());
    // A job that ended early loses its own lines, not the others' (GNU's
    // sharder dies of SIGPIPE and every job after it loses the rest).
    args.push(format!(
        "INIT {{ $SIG{{PIPE}} = 'IGNORE'; for my $fd ({fds}) {{ open(my $fh, '>&=', $fd) or die \"fd $fd: $!\"; push @out, $fh; }} }} \
         {{ local $_ = {value}; {{ no strict; no warnings; {code}; }} $pick = {pick}; }} print {{ $out[$pick] }} $_;",
        fds = order.join(","),
        code = key.code(),
    ));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(rule: Rule, value: &str) -> Spread {
        Spread {
            rule,
            value: value.to_string(),
            colsep: ",".to_string(),
        }
    }

    #[test]
    fn bin_zero_is_the_last_jobs_pipe_and_code_runs_on_the_column() {
        let key = Key::of("2 $_ *= 2", ",", None, "--bin").unwrap();
        let args = perl_args(Rule::Modulo, &key, ",", &[10, 11, 12]);
        assert_eq!(args[..3], ["-MB", "-a", "-F,"]);
        let script = &args[4];
        assert!(script.contains("for my $fd (12,10,11)"), "{script}");
        assert!(
            script.contains("local $_ = $F[1]; { no strict; no warnings; $_ *= 2; }"),
            "{script}"
        );
        assert!(script.contains("$pick = $_ % 3"), "{script}");
    }

    #[test]
    fn shard_hashes_the_whole_line_when_given_only_code() {
        let key = Key::of("substr($_, 0, 1)", ",", None, "--shard").unwrap();
        let args = perl_args(Rule::Hash, &key, ",", &[7, 8]);
        assert_eq!(args[0], "-MB");
        assert_eq!(args[1], "-ne", "no column to split off");
        assert!(args[2].contains("for my $fd (7,8)"));
        assert!(args[2].contains("hex(B::hash($_)) % 2"));
        assert_eq!(spread(Rule::Hash, "1").flag(), "--shard");
    }
}
