//! The records a run leaves besides the jobs' own output: the joblog in GNU
//! parallel's columns (and the set of jobs `--resume` skips), the
//! `--results` tree, and the `--json` line of a job.
//!
//! All three carry bytes: a value or an output that is not UTF-8 is written
//! to the joblog and to `--results` as it is, and escaped in `--json` (see
//! `json_string`), never replaced.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use bstr::{BString, ByteSlice, ByteVec};
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

/// --retry-failed: the commands a joblog logged, in sequence order (the
/// last line of a sequence number wins; a number the log skips runs
/// `true`, so the numbers stay those of the log).
pub fn logged_commands(path: &Path) -> io::Result<Vec<BString>> {
    let log = std::fs::read(path)?;
    let mut by_seq = std::collections::BTreeMap::new();
    for line in log.lines().skip(1) {
        let fields: Vec<&[u8]> = line.splitn(9, |&b| b == b'\t').collect();
        let seq = fields
            .first()
            .and_then(|f| f.to_str().ok())
            .and_then(|f| f.trim().parse::<u64>().ok());
        if let (Some(seq), Some(command)) = (seq, fields.get(8)) {
            by_seq.insert(seq, BString::from(*command));
        }
    }
    let last = by_seq.keys().next_back().copied().unwrap_or(0);
    Ok((1..=last)
        .map(|seq| by_seq.remove(&seq).unwrap_or_else(|| BString::from("true")))
        .collect())
}

/// The joblog's sequence numbers to skip under --resume / --resume-failed.
fn resume_set(path: &Path, resume: Resume) -> io::Result<HashSet<u64>> {
    if resume == Resume::No {
        return Ok(HashSet::new());
    }
    // Bytes: a logged command need not be UTF-8.
    let log = match std::fs::read(path) {
        Ok(log) => log,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(err) => return Err(err),
    };
    Ok(log
        .lines()
        .skip(1)
        .filter_map(|line| skipped(line, resume))
        .collect())
}

/// The seq of a joblog line if `resume` skips that job.
fn skipped(line: &[u8], resume: Resume) -> Option<u64> {
    let fields: Vec<&[u8]> = line.split_str("\t").collect();
    let field = |n: usize| fields.get(n).and_then(|f| f.to_str().ok()).map(str::trim);
    let seq = field(0)?.parse::<u64>().ok()?;
    let ok = field(6) == Some("0") && field(7) == Some("0");
    (resume == Resume::Finished || ok).then_some(seq)
}

/// One joblog line; `received` is the bytes of output the job wrote.
pub fn joblog_line(record: &Record, received: u64) -> Vec<u8> {
    // GNU parallel logs a timed-out job with Exitval -1.
    let (exitval, signal) = match record.exit {
        _ if record.timed_out => (-1, record.exit.signal().unwrap_or(0)),
        ChildExit::Exited(code) => (i32::from(code), 0),
        ChildExit::Signaled { signal, .. } => (0, signal),
    };
    let mut line = format!(
        "{}\t{}\t{:.3}\t{:>10.3}\t0\t{received}\t{exitval}\t{signal}\t",
        record.spec.seq,
        record.host,
        record.start_epoch(),
        record.runtime.as_secs_f64(),
    )
    .into_bytes();
    line.extend_from_slice(&record.command);
    line.push(b'\n');
    line
}

/// --results: DIR/1/<value>/2/<value>/{stdout,stderr,seq}, as GNU parallel.
pub fn save_results(
    dir: &Path,
    record: &Record,
    (out, err): (&mut Capture, &mut Capture),
    compression: Option<&crate::capture::Compression>,
) -> io::Result<()> {
    let mut path = dir.to_path_buf();
    for (i, value) in record.spec.values.iter().enumerate() {
        path.push((i + 1).to_string());
        path.push(results_name(value));
    }
    std::fs::create_dir_all(&path)?;
    crate::capture::write_kept(out, File::create(path.join("stdout"))?, compression)?;
    crate::capture::write_kept(err, File::create(path.join("stderr"))?, compression)?;
    std::fs::write(path.join("seq"), format!("{}\n", record.spec.seq))
}

/// A value as a directory name: no `/` or NUL, never `.`, `..` or empty;
/// every other byte kept.
fn results_name(value: &[u8]) -> std::ffi::OsString {
    let mut name: Vec<u8> = value
        .iter()
        .map(|&b| if b == b'/' || b == 0 { b'_' } else { b })
        .collect();
    if matches!(name.as_slice(), b"" | b"." | b"..") {
        name.insert(0, b'_');
    }
    OsStr::from_bytes(&name).to_os_string()
}

/// The --json object of a finished job, one line, its keys in
/// alphabetical order (schemas/pool-run.schema.json). Written by hand, not
/// by serde: its strings carry bytes (`json_string`), which no Rust string
/// can hold.
pub fn json_line(record: &Record, out: &mut Capture, err: &mut Capture) -> io::Result<Vec<u8>> {
    let (exit, signal) = match record.exit {
        ChildExit::Exited(code) => (Some(code), None),
        ChildExit::Signaled { signal, .. } => (None, Signal::from_number(signal).map(Signal::name)),
    };
    let number = |n: serde_json::Value| n.to_string();
    let args: Vec<BString> = record.spec.values.iter().map(|v| json_string(v)).collect();
    let mut line = BString::from("{\"args\":[");
    line.push_str(args.join(&b','));
    line.push_str("],\"command\":");
    line.push_str(json_string(&record.command));
    line.push_str(format!(
        ",\"exit_code\":{},\"seq\":{},\"signal\":{},\"start_s\":{},\"stderr\":",
        number(exit.into()),
        record.spec.seq,
        number(signal.into()),
        number(record.start_epoch().into()),
    ));
    line.push_str(json_string(&err.read_all()?));
    line.push_str(",\"stdout\":");
    line.push_str(json_string(&out.read_all()?));
    line.push_str(format!(
        ",\"timed_out\":{},\"wall_s\":{}}}\n",
        record.timed_out,
        number(record.runtime.as_secs_f64().into()),
    ));
    Ok(line.into())
}

/// Bytes as a JSON string. UTF-8 is written as JSON text; each byte that is
/// not part of valid UTF-8 becomes the escape `\udcXX` (XX its value), the
/// lone surrogate Python's `surrogateescape` uses (PEP 383): nothing is
/// dropped, and `json.loads(s).encode('utf-8', 'surrogateescape')` gives
/// the bytes back.
pub fn json_string(bytes: &[u8]) -> BString {
    let mut text = BString::from("\"");
    for chunk in bytes.utf8_chunks() {
        let quoted = serde_json::Value::from(chunk.valid()).to_string();
        text.push_str(&quoted[1..quoted.len() - 1]);
        for byte in chunk.invalid() {
            text.push_str(format!("\\udc{byte:02x}"));
        }
    }
    text.push_byte(b'"');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::tests::record;

    #[test]
    fn joblog_lines_have_gnu_parallels_columns() {
        let line = joblog_line(&record(3, 2), 42);
        assert_eq!(
            line.as_bstr(),
            "3\t:\t1700000000.000\t     1.500\t0\t42\t2\t0\tcmd 3\n"
        );
        let mut timed_out = record(4, 0);
        timed_out.timed_out = true;
        timed_out.exit = ChildExit::Signaled {
            signal: 15,
            core_dumped: false,
        };
        let fields: Vec<String> = joblog_line(&timed_out, 0)
            .to_str_lossy()
            .split('\t')
            .map(str::to_string)
            .collect();
        assert_eq!((fields[6].as_str(), fields[7].as_str()), ("-1", "15"));
    }

    #[test]
    fn resume_skips_finished_or_only_succeeded_jobs() {
        let ok = b"1\t:\t0\t0\t0\t0\t0\t0\tx";
        let failed = b"2\t:\t0\t0\t0\t0\t1\t0\tx";
        assert_eq!(skipped(ok, Resume::Succeeded), Some(1));
        assert_eq!(skipped(failed, Resume::Succeeded), None);
        assert_eq!(skipped(failed, Resume::Finished), Some(2));
        assert_eq!(skipped(b"Seq\tHost", Resume::Finished), None);
    }

    #[test]
    fn result_names_are_safe_directory_names() {
        assert_eq!(results_name(b"a/b"), "a_b");
        assert_eq!(results_name(b".."), "_..");
        assert_eq!(results_name(b""), "_");
        assert_eq!(results_name(b"plain"), "plain");
        assert_eq!(results_name(b"\xff\0/").as_bytes(), b"\xff__");
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
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["signal"], "SIGKILL");
        assert_eq!(value["exit_code"], serde_json::Value::Null);
        assert_eq!(value["timed_out"], false);
        assert_eq!(value["stdout"], "out\n");
        assert_eq!(value["args"][0], "v1");
    }

    #[test]
    fn json_strings_escape_bytes_that_are_not_utf8_as_lone_surrogates() {
        assert_eq!(json_string(b"plain \"q\"\n"), r#""plain \"q\"\n""#);
        assert_eq!(json_string("é".as_bytes()), "\"é\"");
        assert_eq!(json_string(b"a\xff\xfeb"), r#""a\udcff\udcfeb""#);
        // A cut UTF-8 sequence: each of its bytes escaped, the rest kept.
        assert_eq!(json_string(b"\xc3x\xe2\x82"), r#""\udcc3x\udce2\udc82""#);
    }
}
