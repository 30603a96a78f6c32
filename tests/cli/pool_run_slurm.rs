//! pool-run `--slurm`, against a real single-node Slurm cluster the suite
//! starts (see `support::slurm`).

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::support::slurm;
use crate::support::{Running, record_pid_then_sleep, recorded_pid, tool, wait_until_gone};

/// pool-run with the suite's cluster, started from outside any allocation.
fn pool_run_on(cluster: &slurm::Cluster) -> assert_cmd::Command {
    let mut command = tool("pool-run");
    command
        .env("SLURM_CONF", &cluster.conf)
        .env_remove("SLURM_JOB_ID");
    command
}

/// Starts a one-job run whose Slurm task sleeps, sends `signal` to
/// pool-run once the task runs, and checks pool-run died of it, the task
/// went, and Slurm holds nothing of the run (its allocation included).
fn signal_mid_job_leaves_nothing(signal: i32) {
    let Some(cluster) = slurm::cluster() else {
        return;
    };
    let _turn = cluster.turn();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = record_pid_then_sleep(&pid_file);
    let mut running = Running::start_with_env(
        "pool-run",
        &["--slurm", &script, ":::", "1"],
        &[("SLURM_CONF", cluster.conf.as_os_str())],
    );
    let pid = recorded_pid(&pid_file);
    assert!(
        !cluster.queue().is_empty(),
        "the run's allocation is there while the job runs"
    );
    running.signal(signal);
    let status = running.wait_status();
    assert_eq!(status.signal(), Some(signal), "{status:?}");
    assert!(
        wait_until_gone(pid, Duration::from_secs(10)),
        "the Slurm task {pid} outlived pool-run (signal {signal})"
    );
    assert!(
        cluster.wait_until_idle(),
        "still queued after signal {signal}: {:?}",
        cluster.queue()
    );
}

#[test]
fn twenty_jobs_run_as_slurm_steps_and_the_joblog_names_the_node() {
    let Some(cluster) = slurm::cluster() else {
        return;
    };
    let _turn = cluster.turn();
    let dir = tempfile::tempdir().unwrap();
    let joblog = dir.path().join("log");
    let inputs: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
    let out = pool_run_on(cluster)
        .args(["--slurm", "-j2", "-k"])
        .arg("--joblog")
        .arg(&joblog)
        .args(["echo {} job=$SLURM_JOB_ID node=$SLURMD_NODENAME", ":::"])
        .args(&inputs)
        .assert()
        .get_output()
        .clone();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20, "{text}");
    for (n, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words[0], (n + 1).to_string());
        assert!(words[1].len() > "job=".len(), "not run by Slurm: {line}");
        assert_eq!(words[2], format!("node={}", cluster.node));
    }
    let log = std::fs::read_to_string(&joblog).unwrap();
    let hosts: Vec<&str> = log
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(hosts.len(), 20);
    assert!(hosts.iter().all(|h| *h == cluster.node), "{hosts:?}");
}

#[test]
fn slurm_timeout_cancels_the_steps_and_leaves_nothing_queued() {
    let Some(cluster) = slurm::cluster() else {
        return;
    };
    let _turn = cluster.turn();
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "echo $$ > {d}/{{}}.tmp; mv {d}/{{}}.tmp {d}/{{}}.pid; exec sleep 60",
        d = dir.path().display()
    );
    let out = pool_run_on(cluster)
        .args([
            "--slurm",
            "-j2",
            "--timeout",
            "2s",
            &script,
            ":::",
            "a",
            "b",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CANCELLED"),
        "Slurm did not cancel the steps"
    );
    for name in ["a", "b"] {
        let pid = recorded_pid(&dir.path().join(format!("{name}.pid")));
        assert!(
            wait_until_gone(pid, Duration::from_secs(10)),
            "job {name} ({pid}) outlived its timeout"
        );
    }
    assert!(
        cluster.wait_until_idle(),
        "still queued: {:?}",
        cluster.queue()
    );
}

#[test]
fn inside_an_allocation_jobs_are_steps_of_it() {
    let Some(cluster) = slurm::cluster() else {
        return;
    };
    let _turn = cluster.turn();
    // salloc makes a 2-task allocation and runs pool-run inside it: -j comes
    // from the allocation, and every job is a step of that one Slurm job.
    // (coreutils' timeout bounds it, as every child in the suite is bounded)
    let out = std::process::Command::new("timeout")
        .env("SLURM_CONF", &cluster.conf)
        .env_remove("SLURM_JOB_ID")
        .args(["-k", "5", "60", "salloc", "-n2", "--quiet"])
        .arg(crate::support::bin_path("pool-run"))
        .args([
            "--slurm",
            "-k",
            "echo $SLURM_JOB_ID $SLURM_STEP_ID; : {}",
            ":::",
            "a",
            "b",
            "c",
            "d",
        ])
        .output()
        .expect("salloc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let pairs: Vec<(&str, &str)> = text
        .lines()
        .map(|l| l.split_once(' ').expect("job and step ids"))
        .collect();
    assert_eq!(pairs.len(), 4, "{text}");
    assert!(
        pairs.iter().all(|(job, _)| *job == pairs[0].0),
        "all steps of one allocation: {text}"
    );
    let mut steps: Vec<&str> = pairs.iter().map(|(_, step)| *step).collect();
    steps.sort();
    steps.dedup();
    assert_eq!(steps.len(), 4, "a step per job: {text}");
}

#[test]
fn ctrl_c_cancels_the_slurm_steps_and_releases_the_allocation() {
    signal_mid_job_leaves_nothing(libc::SIGINT);
}

/// The job and step ids each job of `args` printed (`echo $SLURM_JOB_ID
/// $SLURM_STEP_ID`), run from outside any allocation.
fn job_and_step_ids(cluster: &slurm::Cluster, args: &[&str]) -> Vec<(String, String)> {
    let out = pool_run_on(cluster)
        .args(["--slurm", "-j2", "-k"])
        .args(args)
        .args(["echo $SLURM_JOB_ID $SLURM_STEP_ID; : {}", ":::"])
        .args(["a", "b", "c", "d", "e", "f"])
        .timeout(Duration::from_secs(120))
        .assert()
        .get_output()
        .clone();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (job, step) = l.split_once(' ').expect("job and step ids");
            (job.to_string(), step.to_string())
        })
        .collect()
}

#[test]
fn outside_an_allocation_one_is_made_for_the_run_and_released() {
    let Some(cluster) = slurm::cluster() else {
        return;
    };
    let _turn = cluster.turn();
    let ids = job_and_step_ids(cluster, &[]);
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert!(
        ids.iter().all(|(job, _)| *job == ids[0].0),
        "every job a step of one allocation: {ids:?}"
    );
    let mut steps: Vec<&String> = ids.iter().map(|(_, step)| step).collect();
    steps.sort();
    steps.dedup();
    assert_eq!(steps.len(), 6, "a step per job: {ids:?}");
    assert!(
        cluster.wait_until_idle(),
        "the allocation outlived the run: {:?}",
        cluster.queue()
    );
    // --slurm-allocation per-job: an allocation of its own for each job.
    let ids = job_and_step_ids(cluster, &["--slurm-allocation", "per-job"]);
    let mut jobs: Vec<&String> = ids.iter().map(|(job, _)| job).collect();
    jobs.sort();
    jobs.dedup();
    assert_eq!(jobs.len(), 6, "a Slurm job per job: {ids:?}");
    assert!(cluster.wait_until_idle(), "{:?}", cluster.queue());
}

/// pool-run cannot clean up after SIGKILL: its watchdog kills the job's
/// srun and cancels the allocation.
#[test]
fn sigkill_of_pool_run_releases_its_allocation() {
    signal_mid_job_leaves_nothing(libc::SIGKILL);
}

#[test]
fn halt_now_releases_the_allocation() {
    let Some(cluster) = slurm::cluster() else {
        return;
    };
    let _turn = cluster.turn();
    let out = pool_run_on(cluster)
        .args(["--slurm", "-j2", "--halt", "now,fail=1"])
        .args(["sleep {}; exit {}", ":::", "1", "30"])
        .timeout(Duration::from_secs(60))
        .assert()
        .failure()
        .get_output()
        .clone();
    let errors = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(cluster.wait_until_idle(), "{errors}: {:?}", cluster.queue());
}

#[test]
fn pipe_blocks_reach_slurm_steps_on_stdin() {
    let Some(cluster) = slurm::cluster() else {
        return;
    };
    let _turn = cluster.turn();
    let input: String = (1..=10).map(|n| format!("{n}\n")).collect();
    let out = pool_run_on(cluster)
        .args(["--slurm", "-j2", "-k", "--pipe", "-N4", "paste -sd+"])
        .write_stdin(input)
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1+2+3+4\n5+6+7+8\n9+10\n",
        "each step read its block of 4 records"
    );
    assert!(cluster.wait_until_idle(), "{:?}", cluster.queue());
}
