//! `--slurm`: each job runs as one Slurm step through `srun`, so a job list
//! can use an HPC cluster's nodes the way users already submit work there.
//! Inside an allocation (an `sbatch` script, `salloc`) the jobs are steps of
//! it with exclusive CPUs. Outside one, pool-run first asks for one
//! allocation of -j tasks (`salloc --no-shell`) and runs the jobs as its
//! steps: a step starts in tens of milliseconds, where a job allocation of
//! its own waits for the scheduler's next pass (seconds). The allocation is
//! released on every way out: the run's end, Ctrl-C, `--halt now`, and (by
//! the watchdog) pool-run killed. `--slurm-allocation per-job` keeps the
//! old way: each job its own allocation, named after this run so that
//! whatever an interrupted run leaves can be cancelled by name.
//!
//! The task prints the node it landed on as a control line first on stderr
//! (`$SLURMD_NODENAME`); pool-run takes it out and puts the node in the joblog.

use std::path::Path;
use std::process::{Command, Stdio};

use common::cli::Failure;

use super::local::Local;
use super::{Backend, Ended, Launch, Place, Spawn, Verdict};
use crate::config::Slurm;
use crate::exit::Exit;
use crate::template::Invocation;
use crate::watchdog::Watchdog;

/// Prints the node line (`frames::NODE_PREFIX`), then becomes the job: `$@`
/// is its argv.
const TASK: &str = r#"printf '\037pool-run: node=%s\037\n' "$SLURMD_NODENAME" >&2; exec "$@""#;

#[derive(Debug)]
pub struct SlurmBackend {
    slurm: Slurm,
    local: Local,
    /// The allocation pool-run made for this run, released at its end.
    allocation: Option<String>,
}

impl SlurmBackend {
    pub fn new(slurm: Slurm, jobs: usize) -> Result<SlurmBackend, Failure> {
        let mut local = Local::new(jobs)?;
        let allocation = if slurm.in_allocation || slurm.per_job {
            None
        } else {
            Some(allocate(&mut local, &slurm, jobs)?)
        };
        Ok(SlurmBackend {
            slurm,
            local,
            allocation,
        })
    }

    /// Cancels what this run holds: its allocation, or (per job) every job
    /// Slurm still holds under the run's name.
    fn release(&mut self) {
        if self.slurm.in_allocation {
            return;
        }
        let scancel = self.local.program("scancel".as_ref());
        let mut command = Command::new(scancel);
        match self.allocation.take() {
            Some(id) => command.arg(id),
            None => command.arg(format!("--name={}", run_name())),
        };
        let _ = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Asks Slurm for one allocation of `jobs` tasks for the whole run and
/// waits until it is granted; its job id.
fn allocate(local: &mut Local, slurm: &Slurm, jobs: usize) -> Result<String, Failure> {
    let salloc = local.program("salloc".as_ref());
    let out = Command::new(salloc)
        .arg("--no-shell")
        .arg(format!("--job-name={}", run_name()))
        .arg(format!("--ntasks={jobs}"))
        .arg(format!("--cpus-per-task={}", slurm.cpus_per_job))
        .args(&slurm.extra_args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            let (_, why) = common::proc::spawn_error("salloc", &e);
            Failure::new(Exit::Error, format!("--slurm: {why}"))
        })?;
    let text = String::from_utf8_lossy(&out.stderr);
    let granted = text
        .lines()
        .find_map(|line| line.split("Granted job allocation ").nth(1))
        .map(|id| id.trim().to_string());
    match granted {
        Some(id) if out.status.success() => Ok(id),
        _ => {
            let why = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no answer");
            Err(Failure::new(
                Exit::Error,
                format!(
                    "--slurm: no allocation of {jobs} tasks: {why} (--slurm-allocation per-job asks for one per job)"
                ),
            ))
        }
    }
}

impl Backend for SlurmBackend {
    fn places(&self) -> &[Place] {
        self.local.places()
    }

    fn prepare(&mut self, launch: &Launch<'_>) -> Result<Spawn, Failure> {
        let srun = self.local.program("srun".as_ref());
        let mut command = job_command(
            &srun,
            &self.slurm,
            self.allocation.as_deref(),
            launch.invocation,
        );
        // --pipe: srun forwards its stdin to the task.
        let (stdin, feed) = self.local.stdin(launch.spec)?;
        command.stdin(stdin);
        Ok(Spawn {
            command,
            program: "srun".to_string(),
            framed: true,
            feed,
        })
    }

    fn conclude(&mut self, ended: Ended<'_>) -> Result<Verdict, Failure> {
        let node = ended.captured.frames.node.take();
        Ok(Verdict::Ran {
            host: node.unwrap_or_else(|| ":".to_string()),
        })
    }

    /// If pool-run is killed, the watchdog releases the allocation.
    fn guard(&self, watchdog: &mut Watchdog) {
        if let Some(id) = &self.allocation {
            watchdog.slurm_job(id);
        }
    }

    fn stopped(&mut self) {
        self.release();
    }

    fn close(&mut self) {
        self.release();
    }
}

/// The Slurm job name of every job of this run.
pub fn run_name() -> String {
    format!("pool-run.{}", std::process::id())
}

/// The srun command of one job: a step of `allocation` (pool-run's) or of
/// the allocation pool-run runs in, else an allocation of its own.
pub fn job_command(
    srun: &Path,
    slurm: &Slurm,
    allocation: Option<&str>,
    invocation: &Invocation,
) -> Command {
    let mut command = Command::new(srun);
    command.args(["-N1", "-n1", "--quiet"]);
    if let Some(id) = allocation {
        command.arg(format!("--jobid={id}"));
    }
    // In an allocation --exclusive gives the step CPUs of its own; for a
    // job allocation it would mean a whole node per job.
    if slurm.in_allocation || allocation.is_some() {
        command.arg("--exclusive");
    }
    command
        .arg(format!("--cpus-per-task={}", slurm.cpus_per_job))
        .arg(format!("--job-name={}", run_name()))
        .args(&slurm.extra_args)
        .args(["--", "sh", "-c", TASK, "sh"])
        .arg(invocation.program())
        .args(invocation.args());
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::Frames;

    #[test]
    fn the_task_writes_the_node_line_frames_reads() {
        let out = Command::new("sh")
            .args(["-c", TASK, "sh", "echo", "job"])
            .env("SLURMD_NODENAME", "n07")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"job\n");
        let mut lines = out.stderr.clone();
        let mut frames = Frames::default();
        frames.take_from_lines(&mut lines);
        assert_eq!(frames.node.as_deref(), Some("n07"));
        assert!(
            lines.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn a_job_is_started_by_srun_and_says_so() {
        use crate::job::JobSpec;
        use crate::template::Fill;
        let slurm = Slurm {
            cpus_per_job: 1,
            extra_args: Vec::new(),
            in_allocation: false,
            per_job: true,
        };
        let mut backend = SlurmBackend::new(slurm, 2).unwrap();
        let spec = JobSpec::new(1, vec!["a".into()]);
        let invocation = Invocation::Direct(vec!["echo".into(), "a".into()]);
        let launch = Launch {
            spec: &spec,
            place: 0,
            invocation: &invocation,
            fill: Fill::of(&spec.values, 1, 1, ":"),
        };
        let spawn = backend.prepare(&launch).unwrap();
        assert_eq!(spawn.program, "srun", "a spawn error names srun, not echo");
        assert!(spawn.framed);
    }

    #[test]
    fn steps_are_exclusive_only_inside_an_allocation() {
        let slurm = |in_allocation| Slurm {
            cpus_per_job: 2,
            extra_args: vec!["--mem=1G".into()],
            in_allocation,
            per_job: !in_allocation,
        };
        let args = |c: Command| -> Vec<String> {
            c.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let job = Invocation::Direct(vec!["echo".into(), "a b".into()]);
        let inside = args(job_command(Path::new("srun"), &slurm(true), None, &job));
        assert!(inside.contains(&"--exclusive".to_string()));
        assert!(inside.contains(&"--cpus-per-task=2".to_string()));
        assert!(inside.contains(&"--mem=1G".to_string()));
        assert_eq!(inside[inside.len() - 2..], ["echo", "a b"]);
        let outside = args(job_command(Path::new("srun"), &slurm(false), None, &job));
        assert!(!outside.contains(&"--exclusive".to_string()));
        let ours = args(job_command(
            Path::new("srun"),
            &slurm(false),
            Some("42"),
            &job,
        ));
        assert!(ours.contains(&"--jobid=42".to_string()), "{ours:?}");
        assert!(ours.contains(&"--exclusive".to_string()), "{ours:?}");
    }
}
