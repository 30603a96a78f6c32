//! `--pipe` and `--pipe-part`: blocks are cut where GNU parallel cuts them
//! (GNU parallel, when installed, is the oracle), every byte reaches exactly
//! one job, pool-run's memory stays within (jobs + 1) blocks whatever the
//! input size, and a job that reads only part of its block stalls nothing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::reliability::gnu_parallel;
use crate::support::{bin_path, tool};

/// pool-run's stdout for `args` with `stdin`, which must succeed within a
/// minute.
fn stdout_of<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
    stdin: &[u8],
) -> Vec<u8> {
    tool("pool-run")
        .args(args)
        .write_stdin(stdin.to_vec())
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// Records of many lengths, some far longer than the small blocks below,
/// with a FASTA-like `>` header every few lines (for --recstart).
fn uneven_records() -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0u64..400 {
        if i % 5 == 0 {
            text.extend_from_slice(format!(">r{i};\n").as_bytes());
        }
        let len = (i * 7919) % 97 + if i % 100 == 7 { 2500 } else { 0 };
        text.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len as usize));
        text.extend_from_slice(b";\n");
    }
    text
}

/// The flag sets compared: block sizes under and over the record lengths,
/// -N, and each combination of --recend and --recstart.
const CUTS: &[&[&str]] = &[
    &["--block", "1k"],
    &["--block", "1333"],
    &["--block", "4k"],
    &["--block", "1k", "--recstart", ">"],
    &["--block", "700", "--recend", ";\\n", "--recstart", ">"],
    &["--block", "500", "--recend", ";"],
];

fn run_blocks(program: &str, mode: &[&str], file: &Path) -> Vec<u8> {
    let mut command = Command::new(program);
    if program == "parallel" {
        command.arg("--will-cite");
    }
    command.args(["-k", "-j2"]).args(mode);
    if mode.contains(&"--pipe-part") {
        command.arg("-a").arg(file).stdin(Stdio::null());
    } else {
        command.stdin(std::fs::File::open(file).unwrap());
    }
    let out = crate::support::output_bounded(
        command
            .arg("wc -c")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(out.status.success(), "{program} {mode:?}: {:?}", out.status);
    out.stdout
}

#[test]
fn blocks_are_cut_where_gnu_parallel_cuts_them() {
    let Some(parallel) = gnu_parallel() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records");
    std::fs::write(&file, uneven_records()).unwrap();
    let pool_run = bin_path("pool-run");
    for mode in ["--pipe", "--pipe-part"] {
        for cut in CUTS {
            let args: Vec<&str> = std::iter::once(mode).chain(cut.iter().copied()).collect();
            let theirs = run_blocks(parallel, &args, &file);
            let ours = run_blocks(pool_run.to_str().unwrap(), &args, &file);
            assert!(
                theirs.iter().filter(|&&b| b == b'\n').count() > 3,
                "{args:?}: several blocks"
            );
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{args:?}: the block sizes differ from GNU parallel's"
            );
        }
    }
    // -N: records per block (GNU parallel has it for --pipe only).
    for args in [
        &["--pipe", "-N", "7"][..],
        &["--pipe", "-N", "3", "--recstart", ">"],
    ] {
        let theirs = run_blocks(parallel, args, &file);
        let ours = run_blocks(pool_run.to_str().unwrap(), args, &file);
        assert_eq!(ours, theirs, "{args:?}");
    }
}

#[test]
fn pipe_part_gives_every_byte_once_as_pipe_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records");
    let text = uneven_records();
    std::fs::write(&file, &text).unwrap();
    for block in ["1k", "10k", "1M"] {
        let file = file.to_str().unwrap();
        let part = [
            "-k",
            "-j3",
            "--pipe-part",
            "--block",
            block,
            "-a",
            file,
            "cat",
        ];
        let by_part = stdout_of(part, b"");
        let by_pipe = stdout_of(["-k", "-j3", "--pipe", "--block", block, "cat"], &text);
        assert!(by_part == text, "--pipe-part --block {block}: bytes differ");
        assert!(by_pipe == text, "--pipe --block {block}: bytes differ");
    }
}

/// Runs pool-run on `total` bytes from `yes`, returning its stdout and its
/// peak RSS in KiB (wait4's, which also covers the `wc` jobs it reaped:
/// they are far smaller).
// pool-run is reaped by wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn pipe_through(args: &[&str], total: u64) -> (String, u64) {
    let mut producer = Command::new("sh")
        .args([
            "-c",
            &format!("yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c {total}"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pool_run = Command::new(bin_path("pool-run"))
        .args(args)
        .stdin(producer.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = pool_run.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap());
    let pid = pool_run.id() as libc::pid_t;
    let deadline = Instant::now() + Duration::from_secs(120);
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child, without blocking.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            break (status, usage);
        }
        if Instant::now() > deadline {
            let _ = pool_run.kill();
            let _ = pool_run.wait();
            panic!("pool-run {args:?} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = producer.wait();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{args:?}: status {status}"
    );
    (reader.join().unwrap(), usage.ru_maxrss as u64)
}

/// The bound is (jobs + 1) x block + 8 MiB for the release build;
/// the tests run the debug build, whose own pages weigh more, so what is
/// checked is the growth over the same command's peak on a tiny input:
/// at most (jobs + 1) blocks and 2 MiB. Reading ahead without back-pressure
/// (as before) held 13 blocks here.
#[test]
fn pipe_memory_stays_within_jobs_plus_one_blocks() {
    const TOTAL: u64 = 200_000_000;
    let bound = (3 + 2) * 1024;
    for keep_order in [false, true] {
        let mut args = vec!["-j2", "--pipe", "--block", "1M", "wc", "-c"];
        if keep_order {
            args.insert(0, "-k");
        }
        let (_, base) = pipe_through(&args, 1);
        let (out, peak) = pipe_through(&args, TOTAL);
        let counted: u64 = out.lines().map(|l| l.trim().parse::<u64>().unwrap()).sum();
        assert_eq!(counted, TOTAL, "{args:?}: every byte in one block");
        assert!(out.lines().count() > 150, "{args:?}: blocks of about 1M");
        assert!(
            peak.saturating_sub(base) <= bound,
            "{args:?}: peak RSS {peak} KiB grew {} KiB over {base} KiB: more than (jobs + 1) x block + 2 MiB = {bound} KiB",
            peak.saturating_sub(base)
        );
    }
}

#[test]
fn a_job_that_reads_part_of_its_block_stalls_nothing() {
    let input: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    for mode in ["--pipe", "--pipe-part"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in");
        std::fs::write(&file, &input).unwrap();
        let mut command = tool("pool-run");
        command.args(["-k", "-j2", mode, "--block", "100k"]);
        if mode == "--pipe-part" {
            command.arg("-a").arg(&file);
        } else {
            command.write_stdin(input.clone());
        }
        let out = command
            .args(["head", "-n1"])
            .timeout(Duration::from_secs(60))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let firsts: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(firsts.first().map(String::as_str), Some("1"), "{mode}");
        assert!(firsts.len() >= 12, "{mode}: a line per block: {firsts:?}");
    }
}

#[test]
fn a_retried_job_reads_its_block_again() {
    let dir = tempfile::tempdir().unwrap();
    // Fails the first time it sees a block, succeeds the second.
    let script = format!(
        "read first; seen={}/\"$first\"; if [ -e \"$seen\" ]; then echo \"again $first\"; \
         else : > \"$seen\"; exit 1; fi",
        dir.path().display()
    );
    let args = ["-k", "-j2", "--retries", "2", "--pipe", "-N2", &script];
    let out = stdout_of(args, b"a\nb\nc\nd\n");
    assert_eq!(String::from_utf8(out).unwrap(), "again a\nagain c\n");
}

#[test]
fn block_flags_without_pipe_and_pipe_part_without_files_are_usage_errors() {
    for (args, says) in [
        (
            &["--block", "1k", "echo", ":::", "a"][..],
            "--block needs --pipe",
        ),
        (
            &["--recstart", ">", "echo", ":::", "a"],
            "--recstart needs --pipe",
        ),
        (&["--pipe-part", "wc"], "--pipe-part cuts files"),
        (
            &["--pipe", "--block", "-1", "wc"],
            "--block -N (blocks per job slot) works with --pipe-part",
        ),
        (
            &["--pipe-part", "-N2", "-a", "/dev/null", "wc"],
            "-N works with --pipe",
        ),
    ] {
        let out = tool("pool-run")
            .args(args)
            .write_stdin("")
            .assert()
            .code(255)
            .get_output()
            .clone();
        let errors = crate::support::stderr_lines(&out);
        assert_eq!(errors.len(), 1, "{args:?}: {errors:?}");
        assert!(errors[0].contains(says), "{args:?}: {errors:?}");
    }
}

#[test]
fn cat_gives_each_block_as_a_file_removed_after_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in");
    let input: String = (1..=10).map(|n| format!("{n}\n")).collect();
    std::fs::write(&file, &input).unwrap();
    // Each job counts its file's lines, says whether stdin is empty, and
    // names the file: it must be gone once pool-run is done.
    let command = "wc -l < {}; wc -c; echo {}";
    let runs = [
        (&["--pipe", "-N4"][..], "4\n0\n4\n0\n2\n0\n"),
        (&["--pipe-part", "--block", "8"], "5\n0\n5\n0\n"),
    ];
    for (mode, counts) in runs {
        let mut pool_run = tool("pool-run");
        pool_run.args(["-k", "--cat"]).args(mode);
        if mode[0] == "--pipe-part" {
            pool_run.arg("-a").arg(&file);
        }
        let out = pool_run
            .arg(command)
            .write_stdin(input.clone())
            .timeout(Duration::from_secs(60))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (names, numbers): (Vec<&str>, Vec<&str>) =
            lines.iter().partition(|l| l.starts_with('/'));
        assert_eq!(numbers.join("\n") + "\n", counts, "{mode:?}: {text}");
        assert_eq!(names.len(), numbers.len() / 2, "a file per job: {text}");
        for name in names {
            assert!(
                !Path::new(name).exists(),
                "{mode:?}: {name} was left behind"
            );
        }
    }
    if let Some(parallel) = gnu_parallel() {
        let theirs = Command::new(parallel)
            .args(["--will-cite", "-k", "--pipe", "-N4", "--cat", "wc -l < {}"])
            .stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&theirs.stdout), "4\n4\n2\n");
    }
}

#[test]
fn fifo_feeds_each_block_through_a_named_pipe_the_job_opens() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in");
    let input: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
    std::fs::write(&file, &input).unwrap();
    for mode in [
        &["--pipe"][..],
        &["--pipe-part", "-a", file.to_str().unwrap()],
    ] {
        // Blocks larger than a pipe holds: the job reads while pool-run feeds.
        let args = ["-k", "-j3", "--fifo", "--block", "200k"]
            .iter()
            .chain(mode)
            .chain(&["cat {}"]);
        let out = stdout_of(args, input.as_bytes());
        assert!(out == input.as_bytes(), "{mode:?}: the bytes differ");
    }
    // A job that never opens its fifo ends all the same, and no fifo is left.
    let args = ["-k", "--pipe", "-N4", "--fifo", "echo {}"];
    let out = stdout_of(args, b"1\n2\n3\n4\n5\n");
    let names = String::from_utf8(out).unwrap();
    assert_eq!(names.lines().count(), 2, "{names}");
    for name in names.lines() {
        assert!(!Path::new(name).exists(), "{name} was left behind");
    }
    if let Some(parallel) = gnu_parallel() {
        let small = dir.path().join("small");
        std::fs::write(&small, &input[..input.find("\n11\n").unwrap() + 1]).unwrap();
        let counts = |program: &str| {
            let mut command = Command::new(program);
            if program == parallel {
                command.arg("--will-cite");
            }
            let out = command
                .args(["-k", "--pipe", "-N4", "--fifo", "wc -l < {}"])
                .stdin(std::fs::File::open(&small).unwrap())
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        assert_eq!(
            counts(bin_path("pool-run").to_str().unwrap()),
            counts(parallel)
        );
    }
}

/// --round-robin: exactly -j jobs, each fed blocks until stdin ends, and
/// every record reaches exactly one of them.
#[test]
fn round_robin_gives_every_block_to_one_of_j_jobs() {
    let input: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
    let out = tool("pool-run")
        .args(["--pipe", "--block", "10k", "--round-robin", "-j3"])
        .args(["--joblog", "-", "wc -l"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<u64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let jobs = text.lines().filter(|l| l.ends_with("\twc -l")).count();
    assert_eq!(jobs, 3, "three jobs for about 60 blocks: {text}");
    assert_eq!(counts.len(), 3, "{text}");
    assert_eq!(counts.iter().sum::<u64>(), 100_000, "{text}");
    // Each job got blocks to count.
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
}

/// A round-robin job that stops reading ends; the blocks after go to the
/// others or to new jobs, and the run ends.
#[test]
fn round_robin_goes_on_when_a_job_stops_reading() {
    let input: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
    let out = tool("pool-run")
        .args([
            "--pipe",
            "--block",
            "10k",
            "--round-robin",
            "-j2",
            "head -1",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let firsts = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(firsts >= 2, "both jobs ran: {firsts}");
}

/// --group-by: a group of lines never spans two jobs, however the blocks
/// fall; with -N1 each job gets exactly one group, in input order (-k).
#[test]
fn group_by_keeps_each_group_of_lines_in_one_job() {
    let input: String = (1..=5000).map(|n| format!("{} {n}\n", n / 97)).collect();
    // Each job prints its first key, its last key and its line count.
    let out = stdout_of(
        [
            "--group-by",
            "1",
            "--colsep",
            " ",
            "-k",
            "--block",
            "1k",
            "awk 'NR==1{f=$1} {l=$1} END {print f, l, NR}'",
        ],
        input.as_bytes(),
    );
    let text = String::from_utf8_lossy(&out);
    let jobs: Vec<(u32, u32, u32)> = text
        .lines()
        .map(|l| {
            let f: Vec<u32> = l.split(' ').map(|w| w.parse().unwrap()).collect();
            (f[0], f[1], f[2])
        })
        .collect();
    assert!(jobs.len() > 2, "several blocks: {text}");
    assert_eq!(jobs.iter().map(|j| j.2).sum::<u32>(), 5000, "{text}");
    for pair in jobs.windows(2) {
        assert!(pair[0].1 < pair[1].0, "a group split between jobs: {text}");
    }
    // -N1: one job per group, each whole.
    let counts = stdout_of(
        ["--group-by", "$_ = int($_ / 10)", "-kN1", "wc -l"],
        (1..=45)
            .map(|n| format!("{n}\n"))
            .collect::<String>()
            .as_bytes(),
    );
    let counts: Vec<String> = String::from_utf8_lossy(&counts)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(counts, ["9", "10", "10", "10", "6"]);
}

/// A column name makes the first line a header, which every job gets
/// before its group; --header with --pipe does the same for plain blocks.
#[test]
fn pipe_header_goes_before_every_block() {
    let table = b"id,v\n1,a\n1,b\n2,c\n";
    let out = stdout_of(["--group-by", "id", "--colsep", ",", "-kN1", "cat"], table);
    assert_eq!(String::from_utf8_lossy(&out), "id,v\n1,a\n1,b\nid,v\n2,c\n");
    let out = stdout_of(["--pipe", "--header", ":", "-kN1", "cat"], table);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "id,v\n1,a\nid,v\n1,b\nid,v\n2,c\n"
    );
}

/// perl missing or VAL's code not compiling: one line, exit 255, no job.
#[test]
fn group_by_without_perl_or_with_bad_code_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    let job = format!("/usr/bin/touch {}", ran.display());
    let out = tool("pool-run")
        .env("PATH", dir.path())
        .args(["--group-by", "1", "--shell", &job])
        .write_stdin("a\n")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--group-by computes its values in perl"),
        "{err}"
    );
    let err = one_error_line(&["--group-by", "1 s/(/", "--shell", &job], "a\n");
    assert!(err.contains("does not compile"), "{err}");
    assert!(!ran.exists(), "no job ran");
}

/// The perl filter waits on stdin, which pool-run cannot close for it: a
/// pool-run killed with SIGKILL must not leave it behind.
#[test]
fn a_killed_pool_run_leaves_no_group_by_filter() {
    let (running, stdin) =
        crate::support::Running::start_with_stdin("pool-run", &["--group-by", "1", "cat"]);
    let children = format!("/proc/{}/task/{}/children", running.pid(), running.pid());
    let mut perl = None;
    let found = crate::support::wait_while(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&children).unwrap_or_default();
        perl = text
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "perl")
            });
        perl.is_none()
    });
    assert!(found, "perl started");
    let perl = perl.unwrap();
    running.signal(libc::SIGKILL);
    assert!(
        crate::support::wait_until_not_running(perl, Duration::from_secs(30)),
        "perl {perl} outlived pool-run"
    );
    drop(stdin);
}

/// --regexp: a FASTA file cut before each selected record start, counted
/// with -N from the first such start (what comes before is a block of its
/// own); a pattern the regex crate cannot read is one error line.
#[test]
fn regexp_cuts_at_regex_record_starts_and_rejects_a_bad_one_clearly() {
    let fasta = "junk\n>a\nxx\n>c\nyy\n>b\nzz\n>a\nq\n";
    let out = tool("pool-run")
        .args(["--pipe", "--regexp", "--recstart", "^>[ab]", "-N1", "-k"])
        .args(["--shell", "echo ---; cat"])
        .write_stdin(fasta)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "---\njunk\n---\n>a\nxx\n>c\nyy\n---\n>b\nzz\n---\n>a\nq\n"
    );
    let err = one_error_line(&["--pipe", "--regexp", "--recend", "(x", "cat"], fasta);
    assert!(err.contains("--recend '(x' is not a regex"), "{err}");
}

/// Runs pool-run on `stdin` expecting a refusal: exit 255, nothing on
/// stdout, one line on stderr (returned).
fn one_error_line(args: &[&str], stdin: &str) -> String {
    let out = tool("pool-run")
        .args(args)
        .write_stdin(stdin)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// --rrs can leave a block empty; GNU parallel starts no job for it, and
/// pool-run must neither start one nor wait on it.
#[test]
fn a_block_that_rrs_leaves_empty_starts_no_job() {
    for args in [&["-N1"][..], &["--regexp", "--recend", "", "-N3"]] {
        let out = tool("pool-run")
            .args(["--pipe", "--rrs", "-k"])
            .args(args)
            .args(["--shell", "echo job; cat; echo"])
            .write_stdin("a\n\nb\n")
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let expected = if args[0] == "-N1" {
            "job\na\njob\nb\n"
        } else {
            ""
        };
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{args:?}");
    }
}

/// --shard: -j jobs at once, every value's lines in exactly one of them
/// and no line lost; --bin: value modulo -j picks the job, 0 the last.
#[test]
fn shard_and_bin_give_each_value_to_one_job_and_lose_no_line() {
    let input: String = (1..=5000).map(|i| format!("{},{i}\n", i % 7)).collect();
    let keys_per_job = |spread: &str| {
        let out = tool("pool-run")
            .args(["--pipe", spread, "1", "-j3", "-k", "--shell"])
            .arg("cut -d, -f1 | sort -un | tr '\\n' ' '; echo")
            .write_stdin(input.as_str())
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{spread}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let sharded = keys_per_job("--shard");
    let mut keys: Vec<&str> = sharded.split_whitespace().collect();
    assert_eq!(sharded.lines().count(), 3, "one output per job: {sharded}");
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["0", "1", "2", "3", "4", "5", "6"],
        "each key in one job"
    );
    assert_eq!(keys_per_job("--bin"), "1 4 \n2 5 \n0 3 6 \n");
    let out = tool("pool-run")
        .args(["--pipe", "--shard", "2", "-j4", "wc -l"])
        .write_stdin(input.as_str())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let counts = String::from_utf8_lossy(&out.stdout);
    let total: u64 = counts
        .split_whitespace()
        .map(|n| n.parse::<u64>().unwrap())
        .sum();
    assert_eq!((counts.lines().count(), total), (4, 5000), "{counts}");
}

/// --block-timeout: a block that does not fill in time goes to a job as it
/// is, while stdin is still open; the rest follows in later blocks.
#[test]
fn block_timeout_passes_a_partial_block_while_stdin_stays_open() {
    let (running, mut stdin) = crate::support::Running::start_with_stdin(
        "pool-run",
        &["--pipe", "--bt", "0.2", "--shell", "echo job; cat"],
    );
    std::io::Write::write_all(&mut stdin, b"a\n").unwrap();
    // Without --bt, nothing runs before stdin ends: these would time out.
    assert_eq!(running.next_line(), "job");
    assert_eq!(running.next_line(), "a");
    std::io::Write::write_all(&mut stdin, b"b\nc\n").unwrap();
    drop(stdin);
    let (status, rest, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(rest, "job\nb\nc\n");
}

/// --tee streams, as GNU parallel's tee does: each job sees a line of stdin
/// while stdin is still open (before, pool-run read stdin to its end first,
/// so `tail -f log | pool-run --pipe --tee ...` never started a job).
#[test]
fn tee_gives_every_job_each_line_while_stdin_stays_open() {
    let (running, mut stdin) = crate::support::Running::start_with_stdin(
        "pool-run",
        &[
            "--pipe",
            "--tee",
            "--lb",
            "-j2",
            "while read l; do echo {} $l; done",
            ":::",
            "a",
            "b",
        ],
    );
    std::io::Write::write_all(&mut stdin, b"one\n").unwrap();
    let mut first = [running.next_line(), running.next_line()];
    first.sort();
    assert_eq!(first, ["a one", "b one"]);
    std::io::Write::write_all(&mut stdin, b"two\n").unwrap();
    drop(stdin);
    let (status, rest, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    let mut rest: Vec<&str> = rest.lines().collect();
    rest.sort();
    assert_eq!(rest, ["a two", "b two"]);
}

/// With fewer slots than ::: values, GNU parallel 20221122 refuses --tee
/// ("--tee requires --jobs to be higher", exit 255; with stderr on a pipe
/// it then hangs, so it is not run here); pool-run runs the later jobs
/// after the first ones, each on all of stdin from its start.
#[test]
fn tee_with_fewer_slots_than_values_gives_each_job_all_of_stdin() {
    let out = stdout_of(
        [
            "-j1",
            "-k",
            "--pipe",
            "--tee",
            "wc -l; echo {}",
            ":::",
            "a",
            "b",
            "c",
        ],
        b"1\n2\n3\n",
    );
    assert_eq!(String::from_utf8_lossy(&out), "3\na\n3\nb\n3\nc\n");
}

/// --tee from a file (`< FILE`): each job reads its own open of the file,
/// from where stdin stood, as GNU parallel's tee reads from there.
#[test]
fn tee_from_a_file_starts_where_stdin_stands() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in");
    std::fs::write(&file, "skipped\n1\n2\n").unwrap();
    let run = |tool: &str| {
        let script = format!(
            "(read first; {tool} -k --pipe --tee 'cat; echo {{}}' ::: a b) < '{}'",
            file.display()
        );
        let out = crate::support::shell(&script, b"", Duration::from_secs(60));
        assert!(out.status.success(), "{tool}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let ours = run("\"$POOL_RUN\"");
    assert_eq!(ours, "1\n2\na\n1\n2\nb\n");
    if let Some(gnu) = gnu_parallel() {
        assert_eq!(ours, run(&format!("{gnu} --will-cite")));
    }
}
