//! Helpers every tool's tests share: the built binaries, bounded waits on real
//! children, and process checks. Every child gets a timeout, so a hang is a
//! failed test, never a stuck CI run.

#![allow(dead_code)]

pub mod pty;
pub mod slurm;
pub mod sshd;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A test that cannot run here says so on stderr, visibly: written to the
/// descriptor itself, which the test harness does not capture (it captures
/// only `eprintln!`), so the line shows in a plain `cargo test` run. Under
/// CI (`.ci/run` sets PROCKIT_NO_SKIPS, having installed everything) a skip
/// is a failure: a missing server or tool must not pass silently there.
pub fn skipped(why: &str) {
    assert!(
        std::env::var_os("PROCKIT_NO_SKIPS").is_none(),
        "a test would be skipped under CI, which installs everything: {why}"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// The longest any single tool run in the tests may take.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

/// Path of a binary of this package, built by `cargo test`.
pub fn bin_path(name: &str) -> std::path::PathBuf {
    match name {
        "subproc" => env!("CARGO_BIN_EXE_subproc").into(),
        "lock-demo" => env!("CARGO_BIN_EXE_lock-demo").into(),
        "fork-demo" => env!("CARGO_BIN_EXE_fork-demo").into(),
        "pingpong" => env!("CARGO_BIN_EXE_pingpong").into(),
        "pool-run" => env!("CARGO_BIN_EXE_pool-run").into(),
        "spin-cores" => env!("CARGO_BIN_EXE_spin-cores").into(),
        other => panic!("no binary named {other} in this package"),
    }
}

/// An assert_cmd command for a tool, with the suite's timeout.
pub fn tool(name: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin_path(name));
    cmd.timeout(CHILD_TIMEOUT);
    cmd
}

/// Runs a shell pipeline with `$SUBPROC` (and friends) pointing at the built
/// binaries, so tests read like what users type. The shell leads its own
/// process group; past `limit` the whole group is killed, so a hung pipeline
/// fails the test instead of hanging it (assert_cmd's timeout kills only the
/// shell, and grandchildren holding the pipes would keep it waiting).
pub fn shell(script: &str, stdin: &[u8], limit: Duration) -> Output {
    let scratch = scratch_file();
    let mut child = Command::new("sh")
        .args(["-c", script])
        .env("SUBPROC", bin_path("subproc"))
        .env("LOCK_DEMO", bin_path("lock-demo"))
        .env("FORK_DEMO", bin_path("fork-demo"))
        .env("PINGPONG", bin_path("pingpong"))
        .env("POOL_RUN", bin_path("pool-run"))
        .env("TMPFILE", &scratch)
        .env("SPIN_CORES", bin_path("spin-cores"))
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = read_all_in_background(child.stdout.take().expect("piped stdout"));
    let stderr = read_all_in_background(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            // SAFETY: killpg with the group this test created.
            unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
            let _ = child.wait();
            panic!("pipeline did not finish within {limit:?}: {script}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let collect = |output: mpsc::Receiver<Vec<u8>>| {
        output
            .recv_timeout(CHILD_TIMEOUT)
            .expect("pipeline output closed in time (a leftover process holds it?)")
    };
    let output = Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    };
    let _ = std::fs::remove_file(&scratch);
    output
}

/// A fresh path in the temp dir for a shell test to write to.
fn scratch_file() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("prockit-test-{}-{n}", std::process::id()))
}

fn read_all_in_background(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    receiver
}

/// A tool started in the background, for tests that signal it while it runs.
/// Dropping it kills and reaps it, so a failed test leaves nothing behind.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    pub fn start(name: &str, args: &[&str]) -> Running {
        Running::start_with(name, args, Stdio::null(), &[]).0
    }

    /// Started with these environment variables set (`SLURM_CONF`, ...).
    pub fn start_with_env(name: &str, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Running {
        Running::start_with(name, args, Stdio::null(), env).0
    }

    /// Started with a pipe on stdin, which the test writes and closes.
    pub fn start_with_stdin(name: &str, args: &[&str]) -> (Running, std::process::ChildStdin) {
        let (mut running, _) = Running::start_with(name, args, Stdio::piped(), &[]);
        let stdin = running.child.stdin.take().expect("piped stdin");
        (running, stdin)
    }

    fn start_with(
        name: &str,
        args: &[&str],
        stdin: Stdio,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> (Running, ()) {
        let mut child = Command::new(bin_path(name))
            .args(args)
            .envs(env.iter().copied())
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, as a shell gives a job: `signal_group` then
            // reaches what a Ctrl-C or `timeout` would reach.
            .process_group(0)
            .spawn()
            .expect("tool starts");
        let lines = read_lines_in_background(child.stdout.take().expect("piped stdout"));
        (Running { child, lines }, ())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line, waiting at most `CHILD_TIMEOUT`.
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(CHILD_TIMEOUT)
            .expect("the tool printed a line in time")
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a live child's pid and a valid signal number.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Sends `signal` to the tool's whole process group, as the terminal
    /// does for Ctrl-C and coreutils `timeout` does at its deadline.
    pub fn signal_group(&self, signal: i32) {
        // SAFETY: killpg(2) with the group this helper created.
        let rc = unsafe { libc::killpg(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "killpg failed");
    }

    /// Waits (bounded) for the tool itself to exit, not for its pipes to
    /// close (a process it left behind may hold them).
    pub fn wait_status(&mut self) -> ExitStatus {
        wait_bounded(&mut self.child, CHILD_TIMEOUT)
    }

    /// Waits (bounded) for the tool to exit; returns its status, the rest of
    /// its stdout, and its stderr.
    pub fn finish(mut self) -> (ExitStatus, String, String) {
        let status = wait_bounded(&mut self.child, CHILD_TIMEOUT);
        let mut rest = String::new();
        while let Ok(line) = self.lines.recv_timeout(CHILD_TIMEOUT) {
            rest.push_str(&line);
            rest.push('\n');
        }
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            err.read_to_string(&mut stderr).expect("stderr readable");
        }
        (status, rest, stderr)
    }
}

impl Drop for Running {
    /// A test that failed half-way still cleans up: SIGTERM lets the tool
    /// take its own children down first; SIGKILL if it does not end in time.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines_in_background(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits for `child` at most `limit`; kills it and fails the test past that.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a process with this pid exists at all (a zombie counts).
#[track_caller]
pub fn pid_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether a process is still running: it exists and is not a zombie.
pub fn pid_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.trim().chars().next())
                != Some('Z')
        })
        .unwrap_or(false)
}

/// A job script that records its pid in `path` (whole, by rename) and then
/// sleeps a minute as that same process.
pub fn record_pid_then_sleep(path: &std::path::Path) -> String {
    format!(
        "echo $$ > {p}.tmp; mv {p}.tmp {p}; exec sleep 60",
        p = path.display()
    )
}

/// The pid a job recorded in `path`, waiting (bounded) for the file.
#[track_caller]
pub fn recorded_pid(path: &std::path::Path) -> u32 {
    wait_while(CHILD_TIMEOUT, || !path.exists());
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the job recorded no pid in {}: {e}", path.display()))
        .trim()
        .parse()
        .expect("a pid")
}

/// Polls `holds` every 10 ms until it is false or `limit` passed; true if
/// it came to false.
pub fn wait_while(limit: Duration, mut holds: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while holds() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Waits (bounded) until no process has this pid, not even a zombie; false
/// if one still does.
pub fn wait_until_gone(pid: u32, limit: Duration) -> bool {
    wait_while(limit, || pid_exists(pid))
}

/// Waits (bounded) until `pid` no longer runs; false if it still does.
pub fn wait_until_not_running(pid: u32, limit: Duration) -> bool {
    wait_while(limit, || pid_running(pid))
}

/// Asserts that each argument list is a usage error: exit `code`, nothing
/// on stdout, and exactly one `tool: error: ...` line on stderr.
#[track_caller]
pub fn assert_usage_errors(name: &str, code: i32, cases: &[&[&str]]) {
    for args in cases {
        let out = tool(name)
            .args(*args)
            .assert()
            .code(code)
            .stdout("")
            .get_output()
            .clone();
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("{name}: error: ")),
            "{args:?}: {lines:?}"
        );
    }
}

/// Runs a tool, asserts success, returns its stdout.
#[track_caller]
pub fn success_stdout(name: &str, args: &[&str]) -> String {
    let out = tool(name)
        .args(args)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The pid a command printed alone on stdout (`echo $!`).
#[track_caller]
pub fn printed_pid(out: &std::process::Output) -> u32 {
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a pid on stdout")
}

/// The stderr lines of a finished assert_cmd run.
pub fn stderr_lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits (bounded) for a child started with piped stdout, and returns its
/// status and stdout (stderr, if piped, too).
pub fn output_bounded(mut child: Child) -> Output {
    let stdout = child.stdout.take().map(read_all_in_background);
    let stderr = child.stderr.take().map(read_all_in_background);
    let status = wait_bounded(&mut child, CHILD_TIMEOUT);
    let collect = |pipe: Option<mpsc::Receiver<Vec<u8>>>| {
        pipe.map(|r| {
            r.recv_timeout(CHILD_TIMEOUT)
                .expect("output closed in time")
        })
        .unwrap_or_default()
    };
    Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    }
}
