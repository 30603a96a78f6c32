//! pool-run over ssh (`-S`), against real sshd servers the suite starts on
//! loopback addresses (see `support::sshd`).

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use crate::support::sshd::{self, SshSetup};
use crate::support::{
    Running, pid_exists, record_pid_then_sleep, recorded_pid, tool, wait_until_gone,
};

/// The servers, or None when sshd cannot be installed here (reason printed).
fn servers() -> Option<&'static SshSetup> {
    sshd::setup()
}

fn joblog_hosts(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn jobs_spread_over_two_hosts_keep_order_and_hostile_input_stays_data() {
    let Some(ssh) = servers() else { return };
    let logins = format!("{},{}", ssh.host("127.0.0.2"), ssh.host("127.0.0.3"));
    let dir = tempfile::tempdir().unwrap();
    let joblog = dir.path().join("log");
    let canary = dir.path().join("canary");
    std::fs::write(&canary, b"").unwrap();
    let hostile = format!("; rm -f {}", canary.display());
    let out = tool("pool-run")
        .args([
            "--ssh",
            &ssh.ssh,
            "-S",
            &logins,
            "-j2",
            "-k",
            "--tagstring",
            "{host}",
        ])
        .arg("--joblog")
        .arg(&joblog)
        .args(["echo", "{}", ":::", "a", "b", "c", "d", "$(id)", &hostile])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let values: Vec<&str> = lines
        .iter()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(
        values,
        ["a", "b", "c", "d", "$(id)", hostile.as_str()],
        "{text}"
    );
    assert!(canary.exists(), "input ran as code on the remote side");
    let hosts = joblog_hosts(&joblog);
    assert_eq!(hosts.len(), 6);
    for address in ["127.0.0.2", "127.0.0.3"] {
        assert!(
            hosts.iter().any(|h| h.contains(address)),
            "no job ran on {address}: {hosts:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("root@{address}:"))),
            "{{host}} never named {address}: {text}"
        );
    }
}

#[test]
fn a_remote_jobs_own_exit_255_is_a_failed_job_not_a_lost_host() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.2");
    let out = tool("pool-run")
        .args(["--ssh", &ssh.ssh, "-S", &login, "-j1"])
        .args(["exit {}", ":::", "255", "0", "3"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_host_down_ends_with_255_and_one_line() {
    let Some(ssh) = servers() else { return };
    // Nothing listens on these ports: connection refused at once.
    let out = tool("pool-run")
        .args(["--ssh", &ssh.ssh, "-S", "root@127.0.0.2:1,root@127.0.0.3:1"])
        .args(["echo", ":::", "a", "b"])
        .assert()
        .code(255)
        .get_output()
        .clone();
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("every host is unreachable"), "{stderr}");
}

#[test]
fn a_host_killed_mid_run_hands_its_jobs_to_the_other_host() {
    let Some(ssh) = servers() else { return };
    let doomed = "127.0.0.4";
    let logins = format!("{},{}", ssh.host(doomed), ssh.host("127.0.0.3"));
    let dir = tempfile::tempdir().unwrap();
    let joblog = dir.path().join("log");
    let mut running = Running::start(
        "pool-run",
        &[
            "--ssh",
            &ssh.ssh,
            "-S",
            &logins,
            "-j1",
            "--timeout",
            "20s",
            "--joblog",
            joblog.to_str().unwrap(),
            "sleep 0.3; echo {}",
            ":::",
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
        ],
    );
    // Once the first job is done, take the host down with its sessions.
    assert!(!running.next_line().is_empty());
    ssh.kill(doomed);
    let status = running.wait_status();
    let (_, rest, stderr) = running.finish();
    assert!(status.success(), "{status:?} {stderr}");
    let hosts = joblog_hosts(&joblog);
    assert_eq!(hosts.len(), 6, "every job finished once: {hosts:?}");
    assert!(rest.lines().count() == 5, "{rest}");
    assert!(
        stderr.contains(&format!("dropping root@{doomed}")),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_leaves_no_remote_job_running() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.2");
    let dir = tempfile::tempdir().unwrap();
    // The remote job (on this same machine) writes its pid, then sleeps.
    let pid_file = dir.path().join("pid");
    let script = record_pid_then_sleep(&pid_file);
    let mut running = Running::start(
        "pool-run",
        &["--ssh", &ssh.ssh, "-S", &login, "-j1", &script, ":::", "1"],
    );
    let pid = recorded_pid(&pid_file);
    assert!(pid_exists(pid));
    running.signal(libc::SIGINT);
    let status = running.wait_status();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    assert!(
        wait_until_gone(pid, Duration::from_secs(10)),
        "the remote job {pid} outlived Ctrl-C"
    );
}

#[test]
fn transferfile_return_and_cleanup_round_trip() {
    round_trip(None);
}

#[test]
fn without_rsync_files_go_with_tar_over_ssh() {
    // pool-run sees a PATH with sh, ssh and tar only.
    let bin = tempfile::tempdir().unwrap();
    for (name, target) in [
        ("sh", "/bin/sh"),
        ("ssh", "/usr/bin/ssh"),
        ("tar", "/bin/tar"),
    ] {
        std::os::unix::fs::symlink(target, bin.path().join(name)).unwrap();
    }
    round_trip(Some(bin.path()));
}

/// stdout of a pool-run on `logins` (with `env` set) that must succeed.
fn remote_stdout(ssh: &SshSetup, logins: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = tool("pool-run");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd
        .args(["--ssh", &ssh.ssh, "-S", logins])
        .args(args)
        .assert()
        .get_output()
        .clone();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A local scratch directory holding a subdirectory whose name is unique,
/// so the same relative path on the "remote" side (this machine's /root,
/// the hosts' home) belongs to this test alone.
fn scratch_for_the_host(what: &str) -> (tempfile::TempDir, String) {
    let local = tempfile::tempdir().unwrap();
    let sub = format!(
        "prockit-{what}-{}-{}",
        std::process::id(),
        local.path().file_name().unwrap().to_string_lossy()
    );
    std::fs::create_dir(local.path().join(&sub)).unwrap();
    (local, sub)
}

/// Two files go to the host, are turned upper-case there, come back, and
/// are removed from the host.
fn round_trip(path: Option<&std::path::Path>) {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.2");
    let (local, sub) = scratch_for_the_host("tf");
    for name in ["a", "b"] {
        std::fs::write(local.path().join(&sub).join(format!("{name}.txt")), name).unwrap();
    }
    let remote_dir = std::path::Path::new("/root").join(&sub);
    let mut command = tool("pool-run");
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = command
        .current_dir(local.path())
        .args(["--ssh", &ssh.ssh, "-S", &login])
        .args(["--transferfile", "{}", "--return", "{.}.out", "--cleanup"])
        .args(["tr a-z A-Z < {} > {.}.out"])
        .arg(":::")
        .arg(format!("{sub}/a.txt"))
        .arg(format!("{sub}/b.txt"))
        .assert()
        .get_output()
        .clone();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["a", "b"] {
        let back = std::fs::read_to_string(local.path().join(&sub).join(format!("{name}.out")));
        assert_eq!(back.unwrap(), name.to_uppercase(), "the result came back");
    }
    assert!(
        !remote_dir.exists(),
        "--cleanup left {}",
        remote_dir.display()
    );
}

/// --basefile: the file is on the host before the first job, every job
/// reads it, and --cleanup removes it when the run ends.
#[test]
fn basefile_reaches_the_host_once_and_cleanup_removes_it() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.2");
    let (local, sub) = scratch_for_the_host("bf");
    std::fs::write(local.path().join(&sub).join("base.txt"), "shared\n").unwrap();
    let base = format!("{sub}/base.txt");
    let out = tool("pool-run")
        .current_dir(local.path())
        .args([
            "--ssh",
            &ssh.ssh,
            "-S",
            &login,
            "-k",
            "--basefile",
            &base,
            "--cleanup",
        ])
        .arg(format!("cat {base}; echo {{}}"))
        .args([":::", "a", "b"])
        .assert()
        .get_output()
        .clone();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "shared\na\nshared\nb\n"
    );
    let remote = std::path::Path::new("/root").join(&base);
    assert!(!remote.exists(), "--cleanup left {}", remote.display());
    let _ = std::fs::remove_dir(std::path::Path::new("/root").join(&sub));
}

/// --env NAME exports this machine's value to the remote job (ssh passes
/// no environment on its own); --wd DIR runs it there, --wd ... in a fresh
/// directory removed after it.
#[test]
fn env_and_wd_reach_the_remote_job() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.3");
    let run =
        |args: &[&str]| remote_stdout(ssh, &login, &[("POOL_RUN_REMOTE_VAR", "it's here")], args);
    let show = "echo \"[$POOL_RUN_REMOTE_VAR]\" {}";
    assert_eq!(
        run(&[show, ":::", "a"]),
        "[] a\n",
        "ssh passes no environment"
    );
    assert_eq!(
        run(&["--env", "POOL_RUN_REMOTE_VAR", show, ":::", "a"]),
        "[it's here] a\n"
    );
    assert_eq!(run(&["--wd", "/tmp", "pwd; : {}", ":::", "a"]), "/tmp\n");
    let fresh = run(&["--wd", "...", "pwd; : {}", ":::", "a"]);
    assert!(fresh.starts_with("/tmp/pool-run-wd."), "{fresh}");
    assert!(
        !std::path::Path::new(fresh.trim()).exists(),
        "{fresh} left behind"
    );
}

#[test]
fn timeout_kills_the_remote_job() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.3");
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = record_pid_then_sleep(&pid_file);
    tool("pool-run")
        .args([
            "--ssh",
            &ssh.ssh,
            "-S",
            &login,
            "--timeout",
            "2s",
            &script,
            ":::",
            "1",
        ])
        .assert()
        .code(1);
    let pid = recorded_pid(&pid_file);
    assert!(
        wait_until_gone(pid, Duration::from_secs(10)),
        "the remote job {pid} outlived --timeout"
    );
}

#[test]
fn a_sigkilled_pool_run_leaves_no_remote_job_and_no_socket_directory() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.2");
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = record_pid_then_sleep(&pid_file);
    let mut child = std::process::Command::new(crate::support::bin_path("pool-run"))
        .env("TMPDIR", tmp.path())
        .args(["--ssh", &ssh.ssh, "-S", &login, &script, ":::", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = recorded_pid(&pid_file);
    child.kill().unwrap();
    crate::support::wait_bounded(&mut child, Duration::from_secs(10));
    // The watchdog takes over: the job's ssh, the master, the directory.
    let deadline = Instant::now() + Duration::from_secs(10);
    let leftovers = || std::fs::read_dir(tmp.path()).unwrap().count();
    while (pid_exists(pid) || leftovers() > 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pid_exists(pid), "the remote job {pid} outlived pool-run");
    assert_eq!(leftovers(), 0, "the control socket directory stayed");
}

#[test]
fn line_buffer_streams_remote_lines_without_the_wrappers_markers() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.2");
    for keep_order in [false, true] {
        let mut command = tool("pool-run");
        command.args(["--ssh", &ssh.ssh, "-S", &login, "-j2", "--line-buffer"]);
        if keep_order {
            command.arg("-k");
        }
        let out = command
            .args(["echo out {}; echo err {} >&2; exit {}", ":::", "0", "255"])
            .assert()
            .code(1)
            .get_output()
            .clone();
        let mut stdout: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        stdout.sort();
        assert_eq!(stdout, ["out 0", "out 255"]);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.contains('\x1f'), "a marker leaked: {stderr:?}");
        let mut errs: Vec<&str> = stderr.lines().collect();
        errs.sort();
        assert_eq!(errs, ["err 0", "err 255"], "(-k: {keep_order})");
    }
}

#[test]
fn halt_now_kills_the_other_remote_jobs() {
    let Some(ssh) = servers() else { return };
    let logins = format!("{},{}", ssh.host("127.0.0.2"), ssh.host("127.0.0.3"));
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // Job "sleep" records its pid and sleeps; job "fail" waits for that
    // record, then fails: --halt now must take the sleeper down with it.
    let script = format!(
        "case {{}} in \
           sleep) echo $$ > {p}.tmp; mv {p}.tmp {p}; exec sleep 60;; \
           fail) until [ -e {p} ]; do sleep 0.01; done; exit 1;; \
         esac",
        p = pid_file.display()
    );
    tool("pool-run")
        .args([
            "--ssh",
            &ssh.ssh,
            "-S",
            &logins,
            "-j1",
            "--halt",
            "now,fail=1",
        ])
        .args([&script, ":::", "sleep", "fail"])
        .assert()
        .code(1);
    let pid = recorded_pid(&pid_file);
    assert!(
        wait_until_gone(pid, Duration::from_secs(10)),
        "the remote job {pid} outlived --halt now"
    );
}

#[test]
fn ungrouped_remote_output_carries_no_markers() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.3");
    let out = tool("pool-run")
        .args(["--ssh", &ssh.ssh, "-S", &login, "-j1", "-u"])
        .args(["echo out {}; echo err {} >&2; exit {}", ":::", "0", "3"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "out 0\nout 3\n");
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "err 0\nerr 3\n");
}

#[test]
fn an_sshloginfile_mixes_this_machine_and_a_host_and_leaves_no_socket_directory() {
    let Some(ssh) = servers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let logins = dir.path().join("logins");
    std::fs::write(
        &logins,
        format!(
            "# this machine, then a server\n1/:\n1/{}\n",
            ssh.host("127.0.0.3")
        ),
    )
    .unwrap();
    let joblog = dir.path().join("log");
    tool("pool-run")
        .env("TMPDIR", tmp.path())
        .args(["--ssh", &ssh.ssh])
        .arg("--sshloginfile")
        .arg(&logins)
        .arg("--joblog")
        .arg(&joblog)
        .args(["sleep 0.2; echo", ":::", "1", "2", "3", "4"])
        .assert()
        .success();
    let hosts = joblog_hosts(&joblog);
    assert_eq!(hosts.len(), 4);
    assert!(hosts.iter().any(|h| h == ":"), "{hosts:?}");
    assert!(hosts.iter().any(|h| h.contains("127.0.0.3")), "{hosts:?}");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the control socket directory stayed"
    );
}

#[test]
fn pipe_blocks_reach_remote_jobs_whole_and_in_order() {
    let Some(ssh) = servers() else { return };
    let logins = format!("{},{}", ssh.host("127.0.0.2"), ssh.host("127.0.0.3"));
    let input: String = (1..=2000).map(|n| format!("line {n}\n")).collect();
    let out = tool("pool-run")
        .args(["--ssh", &ssh.ssh, "-S", &logins, "-j1", "-k"])
        .args(["--pipe", "--block", "4k"])
        // Each block: the number of its first line, and how many lines.
        .arg("awk 'NR == 1 { first = $2 } END { print first, NR }'")
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .clone();
    let blocks: Vec<(usize, usize)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (first, count) = l.split_once(' ').unwrap();
            (first.parse().unwrap(), count.parse().unwrap())
        })
        .collect();
    assert!(blocks.len() > 1, "several blocks: {blocks:?}");
    let mut next = 1;
    for &(first, count) in &blocks {
        assert_eq!(first, next, "blocks whole and in order: {blocks:?}");
        next += count;
    }
    assert_eq!(next, 2001, "every line, once: {blocks:?}");
    // No block file stays in the remote home.
    let left: Vec<_> = std::fs::read_dir("/root")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".pool-run-block.")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `--ssh` is split as a shell would: a quoted option with a space in it
/// reaches ssh as one word (split at spaces, every host was "unreachable").
#[test]
fn a_quoted_ssh_option_reaches_ssh_as_one_word() {
    let Some(ssh) = servers() else { return };
    let command = format!(
        "{} -o 'ServerAliveInterval 10' -o \"ServerAliveCountMax 3\"",
        ssh.ssh
    );
    let out = tool("pool-run")
        .args(["--ssh", &command, "-S", &ssh.host("127.0.0.2"), "-j1"])
        .args(["echo", "remote {}", ":::", "a"])
        .assert()
        .get_output()
        .clone();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).as_ref()
        ),
        (Some(0), "remote a\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// --onall: every job runs on every host; --nonall: the command alone once
/// on every host. The two "hosts" are this machine on two addresses, told
/// apart by the address each ssh session arrived at.
#[test]
fn onall_and_nonall_run_on_every_host() {
    let Some(ssh) = servers() else { return };
    let hosts = format!("{},{}", ssh.host("127.0.0.2"), ssh.host("127.0.0.3"));
    let run = |args: &[&str]| {
        let mut lines: Vec<String> = remote_stdout(ssh, &hosts, &[], args)
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    // The third word of SSH_CONNECTION is the address the session reached.
    let on = "set -- $SSH_CONNECTION; echo {} $3";
    assert_eq!(
        run(&["--onall", on, ":::", "a", "b"]),
        ["a 127.0.0.2", "a 127.0.0.3", "b 127.0.0.2", "b 127.0.0.3"]
    );
    assert_eq!(
        run(&["--nonall", "set -- $SSH_CONNECTION; echo here $3"]),
        ["here 127.0.0.2", "here 127.0.0.3"]
    );
}

/// --transfer sends each job's input file ({}) to the host; --rsync-opts
/// are rsync's options for it (here: the copy's mode); --cleanup removes it.
#[test]
fn transfer_sends_the_input_file_with_the_rsync_options_given() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.2");
    let (local, sub) = scratch_for_the_host("tr");
    std::fs::write(local.path().join(&sub).join("in.txt"), "payload\n").unwrap();
    let input = format!("{sub}/in.txt");
    let out = tool("pool-run")
        .current_dir(local.path())
        .args(["--ssh", &ssh.ssh, "-S", &login, "--transfer", "--cleanup"])
        .args(["--rsync-opts", "-rlDR --chmod=F600"])
        .args(["cat {}; stat -c %a {}", ":::", &input])
        .assert()
        .get_output()
        .clone();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "payload\n600\n");
    let remote = std::path::Path::new("/root").join(&input);
    assert!(!remote.exists(), "--cleanup left {}", remote.display());
    let _ = std::fs::remove_dir(std::path::Path::new("/root").join(&sub));
}

/// --ssh-delay: no two ssh starts closer than the delay, so three jobs on
/// one host take at least two delays to start (a lower bound: never a
/// speed test).
#[test]
fn ssh_delay_spaces_the_ssh_starts() {
    let Some(ssh) = servers() else { return };
    let login = ssh.host("127.0.0.3");
    let started = Instant::now();
    let out = remote_stdout(
        ssh,
        &login,
        &[],
        &[
            "-j3",
            "-k",
            "--ssh-delay",
            "300ms",
            "echo",
            ":::",
            "a",
            "b",
            "c",
        ],
    );
    assert_eq!(out, "a\nb\nc\n");
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
}

/// Runs pool-run over the test servers with `--tagstring {host}` and
/// `-k`; each output line as (host, rest), after checking it succeeded.
fn by_host(ssh: &SshSetup, args: &[&str]) -> Vec<(String, String)> {
    let out = tool("pool-run")
        .args(["--ssh", &ssh.ssh, "-k", "--tagstring", "{host}"])
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (host, rest) = l.split_once('\t').unwrap_or((l, ""));
            (host.to_string(), rest.to_string())
        })
        .collect()
}

/// --hostgroups: `-S @group/login` puts hosts in groups, an argument's
/// `@group` suffix (cut off) sends its job to a host of that group; a lone
/// `-S @group` keeps only that group's hosts.
#[test]
fn hostgroups_send_each_job_to_a_host_of_its_groups() {
    let Some(ssh) = servers() else { return };
    let (even, odd) = (ssh.host("127.0.0.2"), ssh.host("127.0.0.3"));
    let logins = format!("@even/{even},@odd+all/{odd}");
    let lines = by_host(
        ssh,
        &[
            "-S",
            &logins,
            "--hostgroups",
            "echo",
            "{}",
            ":::",
            "a@even",
            "b@odd",
            "c@all",
            "d@odd+even",
            "e",
        ],
    );
    let values: Vec<&str> = lines.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, ["a", "b", "c", "d", "e"], "the @groups are cut off");
    assert_eq!(lines[0].0, even);
    assert_eq!(lines[1].0, odd);
    assert_eq!(lines[2].0, odd);
    assert!([&even, &odd].contains(&&lines[3].0));

    let lines = by_host(
        ssh,
        &[
            "-S", &logins, "-S", "@even", "-j1", "echo", ":::", "1", "2", "3",
        ],
    );
    let hosts: Vec<&str> = lines.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(hosts, [even.as_str(); 3], "-S @even: that host only");
}

/// --limit with -S is asked host by host (SSHLOGIN set to each), as GNU
/// parallel asks it: a host over its limit gets no job, the others go on.
#[test]
fn limit_is_asked_for_each_host() {
    let Some(ssh) = servers() else { return };
    let (open, full) = (ssh.host("127.0.0.2"), ssh.host("127.0.0.3"));
    let limit = format!("[ \"$SSHLOGIN\" = {full} ] && exit 1; exit 0");
    let logins = format!("{open},{full}");
    let lines = by_host(
        ssh,
        &[
            "-S", &logins, "-j2", "--limit", &limit, "echo", ":::", "1", "2", "3", "4",
        ],
    );
    let hosts: Vec<&str> = lines.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(
        hosts,
        [open.as_str(); 4],
        "the host over its limit ran nothing"
    );
}
