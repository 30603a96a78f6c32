//! The records a run leaves besides the jobs' own output: the joblog in GNU
//! parallel's columns (and the set of jobs `--resume` skips), the
//! `--results` tree, and the `--json` line of a job.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, ErrorKind, Write};
use std::path::Path;

use common::exit::ChildExit;
use common::signal::Signal;

use crate::capture::Capture;
use crate::config::{Joblog, Resume};
use crate::job::Record;

pub const JOBLOG_HEADER: &[u8] =
    b"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// Opens the joblog (a header first unless it appends to one that has
/// lines) and reads the jobs `resume` skips from it.
pub fn open_joblog(joblog: &Joblog, resume: Resume) -> io::Result<(File, HashSet<u64>)> {
    let skip = resume_set(&joblog.path, resume)?;
    let append = joblog.append || resume != Resume::No;
    let exists = joblog.path.metadata().is_ok_and(|m| m.len() > 0);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&joblog.path)?;
    if !(append && exists) {
        file.write_all(JOBLOG_HEADER)?;
    }
    Ok((file, skip))
}

/// The joblog's sequence numbers to skip under --resume / --resume-failed.
fn resume_set(path: &Path, resume: Resume) -> io::Result<HashSet<u64>> {
    if resume == Resume::No {
        return Ok(HashSet::new());
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(err) => return Err(err),
    };
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| skipped(line, resume))
        .collect())
}

/// The seq of a joblog line if `resume` skips that job.
fn skipped(line: &str, resume: Resume) -> Option<u64> {
    let fields: Vec<&str> = line.split('\t').collect();
    let seq = fields.first()?.trim().parse::<u64>().ok()?;
    let ok = fields.get(6).map(|f| f.trim()) == Some("0")
        && fields.get(7).map(|f| f.trim()) == Some("0");
    (resume == Resume::Finished || ok).then_some(seq)
}

/// One joblog line; `received` is the bytes of output the job wrote.
pub fn joblog_line(record: &Record, received: u64) -> String {
    // GNU parallel logs a timed-out job with Exitval -1.
    let (exitval, signal) = match record.exit {
        _ if record.timed_out => (-1, record.exit.signal().unwrap_or(0)),
        ChildExit::Exited(code) => (i32::from(code), 0),
        ChildExit::Signaled { signal, .. } => (0, signal),
    };
    format!(
        "{}\t{}\t{:.3}\t{:>10.3}\t0\t{received}\t{exitval}\t{signal}\t{}\n",
        record.spec.seq,
        record.host,
        record.start_epoch(),
        record.runtime.as_secs_f64(),
        record.command
    )
}

/// --results: DIR/1/<value>/2/<value>/{stdout,stderr,seq}, as GNU parallel.
pub fn save_results(
    dir: &Path,
    record: &Record,
    out: &mut Capture,
    err: &mut Capture,
) -> io::Result<()> {
    let mut path = dir.to_path_buf();
    for (i, value) in record.spec.values.iter().enumerate() {
        path.push((i + 1).to_string());
        path.push(results_name(value));
    }
    std::fs::create_dir_all(&path)?;
    out.write_to(&mut File::create(path.join("stdout"))?, None)?;
    err.write_to(&mut File::create(path.join("stderr"))?, None)?;
    std::fs::write(path.join("seq"), format!("{}\n", record.spec.seq))
}

/// A value as a directory name: no `/` or NUL, never `.`, `..` or empty.
fn results_name(value: &str) -> String {
    let name: String = value
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        format!("_{name}")
    } else {
        name
    }
}

/// The --json object of a finished job, one line.
pub fn json_line(record: &Record, out: &mut Capture, err: &mut Capture) -> io::Result<String> {
    let (exit, signal) = match record.exit {
        ChildExit::Exited(code) => (Some(code), None),
        ChildExit::Signaled { signal, .. } => (None, Signal::from_number(signal).map(Signal::name)),
    };
    let value = serde_json::json!({
        "seq": record.spec.seq,
        "args": record.spec.values,
        "command": record.command,
        "exit": exit,
        "signal": signal,
        "start": record.start_epoch(),
        "runtime": record.runtime.as_secs_f64(),
        "stdout": String::from_utf8_lossy(&out.read_all()?),
        "stderr": String::from_utf8_lossy(&err.read_all()?),
    });
    Ok(format!("{value}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::tests::record;

    #[test]
    fn joblog_lines_have_gnu_parallels_columns() {
        let line = joblog_line(&record(3, 2), 42);
        assert_eq!(
            line,
            "3\t:\t1700000000.000\t     1.500\t0\t42\t2\t0\tcmd 3\n"
        );
        let mut timed_out = record(4, 0);
        timed_out.timed_out = true;
        timed_out.exit = ChildExit::Signaled {
            signal: 15,
            core_dumped: false,
        };
        let fields: Vec<String> = joblog_line(&timed_out, 0)
            .split('\t')
            .map(str::to_string)
            .collect();
        assert_eq!((fields[6].as_str(), fields[7].as_str()), ("-1", "15"));
    }

    #[test]
    fn resume_skips_finished_or_only_succeeded_jobs() {
        let ok = "1\t:\t0\t0\t0\t0\t0\t0\tx";
        let failed = "2\t:\t0\t0\t0\t0\t1\t0\tx";
        assert_eq!(skipped(ok, Resume::Succeeded), Some(1));
        assert_eq!(skipped(failed, Resume::Succeeded), None);
        assert_eq!(skipped(failed, Resume::Finished), Some(2));
        assert_eq!(skipped("Seq\tHost", Resume::Finished), None);
    }

    #[test]
    fn result_names_are_safe_directory_names() {
        assert_eq!(results_name("a/b"), "a_b");
        assert_eq!(results_name(".."), "_..");
        assert_eq!(results_name(""), "_");
        assert_eq!(results_name("plain"), "plain");
    }

    #[test]
    fn json_names_the_signal_and_carries_the_output() {
        let mut r = record(1, 0);
        r.exit = ChildExit::Signaled {
            signal: 9,
            core_dumped: false,
        };
        let line = json_line(
            &r,
            &mut Capture::from_bytes(b"out\n".to_vec()),
            &mut Capture::new(),
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["signal"], "SIGKILL");
        assert_eq!(value["exit"], serde_json::Value::Null);
        assert_eq!(value["stdout"], "out\n");
        assert_eq!(value["args"][0], "v1");
    }
}
