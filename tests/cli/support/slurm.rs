//! A real single-node Slurm cluster for pool-run's `--slurm` tests: munge,
//! slurmctld and slurmd from Debian's packages, with a configuration in a
//! temporary directory (the tests point `SLURM_CONF` at it), on free ports.
//! Started once per test run, stopped when the test binary exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub struct Cluster {
    pub dir: PathBuf,
    /// For `SLURM_CONF` in every srun/squeue the tests run.
    pub conf: PathBuf,
    /// The node's name, as the joblog should show it.
    pub node: String,
    started_munge: bool,
    /// One test at a time: two CPUs, and a test's timeouts must not run
    /// out while its jobs wait behind another test's in the queue.
    turn: Mutex<()>,
}

/// The cluster, or None (with the reason printed) when Slurm is not
/// installed; `.ci/run` installs it.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER.get_or_init(start).as_ref()
}

fn installed(path: &str) -> bool {
    Path::new(path).exists()
}

fn start() -> Option<Cluster> {
    let needed = [
        "/usr/sbin/slurmctld",
        "/usr/sbin/slurmd",
        "/usr/bin/srun",
        "/usr/sbin/munged",
    ];
    if let Some(missing) = needed.iter().find(|p| !installed(p)) {
        super::skipped(&format!(
            "slurm tests need slurm-wlm and munge ({missing} missing; bash .ci/run installs them)"
        ));
        return None;
    }
    let started_munge = !munge_works();
    if started_munge {
        std::fs::create_dir_all("/run/munge").unwrap();
        let _ = Command::new("chown")
            .args(["munge:munge", "/run/munge"])
            .status();
        let status = Command::new("runuser")
            .args(["-u", "munge", "--", "/usr/sbin/munged"])
            .status()
            .expect("munged runs");
        assert!(status.success(), "munged did not start");
        assert!(wait_for(munge_works), "munge does not answer");
    }
    let dir = tempfile::Builder::new()
        .prefix("prockit-slurm")
        .tempdir()
        .unwrap()
        .keep();
    let node = String::from_utf8(
        Command::new("hostname")
            .arg("-s")
            .output()
            .expect("hostname runs")
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let port = |_| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap()
    };
    let (ctl_port, node_port) = (port(0), port(1));
    let conf = dir.join("slurm.conf");
    let d = dir.display();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::create_dir_all(dir.join("spool")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "ClusterName=prockit\n\
             SlurmctldHost={node}\n\
             SlurmUser=root\n\
             SlurmctldPort={ctl_port}\n\
             SlurmdPort={node_port}\n\
             AuthType=auth/munge\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\n\
             SlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             ReturnToService=2\n\
             SchedulerType=sched/backfill\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             MpiDefault=none\n\
             JobCompType=jobcomp/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             InactiveLimit=0\n\
             MinJobAge=2\n\
             KillWait=2\n\
             NodeName={node} CPUs={cpus} State=UNKNOWN\n\
             PartitionName=main Nodes={node} Default=YES MaxTime=INFINITE State=UP\n"
        ),
    )
    .unwrap();
    // SAFETY: registering a plain extern "C" function with no arguments.
    unsafe { libc::atexit(stop) };
    for daemon in ["/usr/sbin/slurmctld", "/usr/sbin/slurmd"] {
        let status = Command::new(daemon)
            .arg("-f")
            .arg(&conf)
            .env("SLURM_CONF", &conf)
            .status()
            .expect("slurm daemon runs");
        assert!(status.success(), "{daemon} did not start");
    }
    let cluster = Cluster {
        dir,
        conf,
        node,
        started_munge,
        turn: Mutex::new(()),
    };
    assert!(
        wait_for(|| cluster.node_state().is_some_and(|s| s.starts_with("idle"))),
        "the node never became idle: {:?}",
        cluster.node_state()
    );
    Some(cluster)
}

impl Cluster {
    /// Hold it for the whole test.
    pub fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// sinfo's state of the node (`idle`, `mix`, `alloc`, ...).
    fn node_state(&self) -> Option<String> {
        let out = Command::new("sinfo")
            .args(["-h", "-o", "%t"])
            .env("SLURM_CONF", &self.conf)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!text.is_empty()).then_some(text)
    }

    /// The jobs Slurm still holds (squeue), one line each.
    pub fn queue(&self) -> Vec<String> {
        let out = Command::new("squeue")
            .args(["-h", "-o", "%i %j %T"])
            .env("SLURM_CONF", &self.conf)
            .output()
            .expect("squeue runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits (bounded) until Slurm holds no job; true if it came to that.
    pub fn wait_until_idle(&self) -> bool {
        wait_for(|| self.queue().is_empty())
    }
}

fn munge_works() -> bool {
    let Ok(mut encode) = Command::new("munge")
        .arg("-n")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let Some(credential) = encode.stdout.take() else {
        return false;
    };
    let decoded = Command::new("unmunge")
        .stdin(credential)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = encode.wait();
    decoded.is_ok_and(|s| s.success())
}

/// Polls `ready` every 20 ms for up to 20 s.
fn wait_for(mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn signal_pid_file(path: &Path, signal: i32) {
    if let Some(pid) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    {
        // SAFETY: kill(2) with a pid and a valid signal.
        unsafe { libc::kill(pid, signal) };
    }
}

/// At exit: stop the daemons this run started.
extern "C" fn stop() {
    let Some(cluster) = cluster() else { return };
    for pid_file in ["slurmd.pid", "slurmctld.pid"] {
        signal_pid_file(&cluster.dir.join(pid_file), libc::SIGTERM);
    }
    if cluster.started_munge {
        signal_pid_file(Path::new("/run/munge/munged.pid"), libc::SIGTERM);
    }
    let _ = std::fs::remove_dir_all(&cluster.dir);
}
