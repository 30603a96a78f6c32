//! pool-run is byte-transparent: input that is not UTF-8 reaches the jobs'
//! argv and stdin unchanged and comes back unchanged in every output mode,
//! the joblog and `--results`; `--json` escapes it in the documented way.
//! GNU parallel, where installed, is the oracle for the plain modes.

use std::os::unix::ffi::OsStrExt;

use crate::support::tool;

/// Records with bytes that are not UTF-8 (a lone continuation byte, a cut
/// two-byte sequence, Latin-1 text) and one plain record.
const INPUT: &[u8] = b"a\xff\xfeb\nplain\ncaf\xe9\n\xc3\n";

/// The records of INPUT, without their newlines.
fn records() -> Vec<&'static [u8]> {
    INPUT
        .strip_suffix(b"\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .collect()
}

/// pool-run's stdout for INPUT on stdin, `-j1` (unless `args` sets -j) so
/// the order is input order.
fn pool_run(args: &[&str]) -> Vec<u8> {
    let jobs = if args.iter().any(|a| a.starts_with("-j")) {
        None
    } else {
        Some("-j1")
    };
    let out = tool("pool-run")
        .args(jobs)
        .args(args)
        .write_stdin(INPUT)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        out.stderr.is_empty(),
        "nothing is changed, so nothing is warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Each record, prefixed and followed as `line` says, concatenated.
fn expected(line: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    records().into_iter().flat_map(line).collect()
}

#[test]
fn bytes_reach_argv_and_come_back_in_every_output_mode() {
    let echoed = expected(|r| [r, b"\n"].concat());
    for mode in [
        &[][..],
        &["-k"],
        &["--line-buffer"],
        &["-u"],
        &["-k", "-j2"],
    ] {
        let mut args = mode.to_vec();
        args.push("echo");
        assert_eq!(pool_run(&args), echoed, "{mode:?}, direct argv");
        let mut args = mode.to_vec();
        args.push("echo {} | cat");
        assert_eq!(pool_run(&args), echoed, "{mode:?}, through sh -c");
    }
    let tagged = expected(|r| [r, b"\t", r, b"\n"].concat());
    assert_eq!(pool_run(&["--tag", "echo"]), tagged);
    assert_eq!(pool_run(&["--line-buffer", "--tag", "echo"]), tagged);
    let tagstring = expected(|r| [b"<", r, b">\t", r, b"\n"].concat());
    assert_eq!(pool_run(&["--tagstring", "<{}>", "echo"]), tagstring);
}

#[test]
fn bytes_reach_the_jobs_stdin_under_pipe() {
    // One block per record: each job gets its bytes on stdin and prints them.
    assert_eq!(pool_run(&["-k", "--pipe", "-N1", "cat"]), INPUT);
}

#[test]
fn bytes_in_arguments_after_triple_colon_and_from_files() {
    let value = std::ffi::OsStr::from_bytes(b"x\xff\xfey");
    let out = tool("pool-run")
        .args(["-k", "echo", ":::"])
        .arg(value)
        .arg("z")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, b"x\xff\xfey\nz\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input");
    std::fs::write(&file, INPUT).unwrap();
    let out = tool("pool-run")
        .args(["-k", "-j1", "echo", "::::"])
        .arg(&file)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, expected(|r| [r, b"\n"].concat()));
}

#[test]
fn the_joblog_and_results_keep_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let joblog = dir.path().join("log");
    let results = dir.path().join("res");
    pool_run(&[
        "--joblog",
        joblog.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "echo",
    ]);
    let log = std::fs::read(&joblog).unwrap();
    let commands: Vec<&[u8]> = log
        .split(|&b| b == b'\n')
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.rsplit(|&b| b == b'\t').next().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            &b"echo 'a\xff\xfeb'"[..],
            b"echo plain",
            b"echo 'caf\xe9'",
            b"echo '\xc3'"
        ]
    );
    for record in records() {
        let saved = results
            .join("1")
            .join(std::ffi::OsStr::from_bytes(record))
            .join("stdout");
        assert_eq!(
            std::fs::read(&saved).unwrap(),
            [record, b"\n"].concat(),
            "{saved:?}"
        );
    }
    // --resume reads the bytes back: every job is logged, none runs again.
    let again = pool_run(&["--joblog", joblog.to_str().unwrap(), "--resume", "echo"]);
    assert!(again.is_empty(), "{}", String::from_utf8_lossy(&again));
}

#[test]
fn json_escapes_each_byte_that_is_not_utf8_as_a_lone_surrogate() {
    let out = pool_run(&["--json", "echo"]);
    let lines: Vec<&[u8]> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 4);
    let text = String::from_utf8(lines[0].to_vec()).expect("a --json line is UTF-8");
    assert!(text.contains(r#""args":["a\udcff\udcfeb"]"#), "{text}");
    assert!(text.contains(r#""stdout":"a\udcff\udcfeb\n""#), "{text}");
    let text = String::from_utf8(lines[2].to_vec()).unwrap();
    assert!(text.contains(r#""stdout":"caf\udce9\n""#), "{text}");
    // The plain record is plain JSON any parser reads.
    let plain: serde_json::Value = serde_json::from_slice(lines[1]).unwrap();
    assert_eq!(plain["stdout"], "plain\n");
}

#[test]
fn a_record_holding_a_nul_is_skipped_with_one_warning() {
    let out = tool("pool-run")
        .args(["-k", "echo"])
        .write_stdin(&b"a\nb\0c\nd\nx\0y\ne\n"[..])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(out.stdout, b"a\nd\ne\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("NUL"), "{stderr}");
    // With -0 the NUL is the separator, and a newline is data.
    let out = tool("pool-run")
        .args(["-k", "-0", "echo"])
        .write_stdin(&b"a\nb\0c\0"[..])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, b"a\nb\nc\n");
}

#[test]
fn gnu_parallel_prints_the_same_bytes() {
    let Some(parallel) = crate::reliability::gnu_parallel() else {
        return;
    };
    for args in [
        &["-k", "echo"][..],
        &["-k", "--tag", "echo"],
        &["-k", "echo {} | cat"],
    ] {
        let theirs = assert_cmd::Command::new(parallel)
            .arg("--will-cite")
            .args(args)
            .write_stdin(INPUT)
            .timeout(crate::support::CHILD_TIMEOUT)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(pool_run(args), theirs, "{args:?}");
    }
}
