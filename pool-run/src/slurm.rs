//! `--slurm`: each job runs as one Slurm step through `srun`, so a job list
//! can use an HPC cluster's nodes the way users already submit work there.
//! Inside an allocation (an `sbatch` script, `salloc`) the jobs are steps of
//! it with exclusive CPUs; outside one, each job is its own allocation in
//! the default partition, named after this run so that whatever an
//! interrupted run leaves can be cancelled by name.
//!
//! The task prints the node it landed on as a marker line first on stderr
//! (`$SLURMD_NODENAME`); pool-run strips it and puts the node in the joblog.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::capture::Capture;
use crate::cli::Slurm;
use crate::template::Invocation;

const NODE_PREFIX: &[u8] = b"\x1fpool-run: node=";
const NODE_END: &[u8] = b"\x1f\n";

/// Prints the node marker, then becomes the job: `$@` is its argv.
const TASK: &str = r#"printf '\037pool-run: node=%s\037\n' "$SLURMD_NODENAME" >&2; exec "$@""#;

/// The Slurm job name of every job of this run.
pub fn run_name() -> String {
    format!("pool-run.{}", std::process::id())
}

/// The srun command of one job.
pub fn job_command(srun: &Path, slurm: &Slurm, invocation: &Invocation) -> Command {
    let mut command = Command::new(srun);
    command.args(["-N1", "-n1", "--quiet"]);
    // Inside an allocation --exclusive gives the step CPUs of its own; for a
    // job allocation it would mean a whole node per job.
    if slurm.in_allocation {
        command.arg("--exclusive");
    }
    command
        .arg(format!("--cpus-per-task={}", slurm.cpus_per_job))
        .arg(format!("--job-name={}", run_name()))
        .args(&slurm.extra_args)
        .args(["--", "sh", "-c", TASK, "sh"]);
    match invocation {
        Invocation::Direct(argv) => command.args(argv),
        Invocation::Shell(line) => command.args(["sh", "-c", line]),
    };
    command
}

/// Takes the node marker off the front of a job's stderr: the node's name,
/// or None when the task never started (srun failed before it).
pub fn take_node(err: &mut Capture) -> io::Result<Option<String>> {
    let head = err.head(NODE_PREFIX.len() + 256)?;
    let Some(rest) = head.strip_prefix(NODE_PREFIX) else {
        return Ok(None);
    };
    let Some(end) = rest.windows(NODE_END.len()).position(|w| w == NODE_END) else {
        return Ok(None);
    };
    let node = String::from_utf8_lossy(&rest[..end]).into_owned();
    let marker = head[..NODE_PREFIX.len() + end + NODE_END.len()].to_vec();
    err.strip_prefix(&marker)?;
    Ok(Some(node))
}

/// Outside an allocation: cancels whatever jobs of this run Slurm still
/// holds (a step whose srun was killed before it could cancel it).
pub fn cancel_leftovers(scancel: &Path) {
    let _ = Command::new(scancel)
        .arg(format!("--name={}", run_name()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_marker_comes_off_the_front() {
        let mut err = Capture::from_bytes(b"\x1fpool-run: node=n07\x1f\nwarning\n".to_vec());
        assert_eq!(take_node(&mut err).unwrap().as_deref(), Some("n07"));
        assert_eq!(err.read_all().unwrap(), b"warning\n");
        let mut plain = Capture::from_bytes(b"srun: error: no partition\n".to_vec());
        assert_eq!(take_node(&mut plain).unwrap(), None);
        assert_eq!(plain.len(), 26);
    }

    #[test]
    fn steps_are_exclusive_only_inside_an_allocation() {
        let slurm = |in_allocation| Slurm {
            cpus_per_job: 2,
            extra_args: vec!["--mem=1G".into()],
            in_allocation,
        };
        let args = |c: Command| -> Vec<String> {
            c.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let job = Invocation::Direct(vec!["echo".into(), "a b".into()]);
        let inside = args(job_command(Path::new("srun"), &slurm(true), &job));
        assert!(inside.contains(&"--exclusive".to_string()));
        assert!(inside.contains(&"--cpus-per-task=2".to_string()));
        assert!(inside.contains(&"--mem=1G".to_string()));
        assert_eq!(inside[inside.len() - 2..], ["echo", "a b"]);
        let outside = args(job_command(Path::new("srun"), &slurm(false), &job));
        assert!(!outside.contains(&"--exclusive".to_string()));
    }
}
