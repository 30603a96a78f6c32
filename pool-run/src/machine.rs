//! The questions GNU parallel answers about the machine and itself instead
//! of running jobs: `--number-of-threads|cores|sockets` (`--number-of-cpus`
//! is GNU's old name for cores), `--minversion`, `--max-line-length-allowed`,
//! and `--show-limits`, which prints the limits and then runs as usual.

use std::collections::HashSet;

use common::cli::{Failure, print};

use crate::cli::Cli;
use crate::exit::Exit;

/// The GNU parallel version whose behaviour pool-run follows.
pub const GNU_VERSION: u64 = 20221122;

/// The CPU counts of /proc/cpuinfo: logical CPUs, cores, sockets. Where the
/// file names no cores (many ARM kernels), each CPU is a core of one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpus {
    pub threads: usize,
    pub cores: usize,
    pub sockets: usize,
}

/// Counts from the text of /proc/cpuinfo.
pub fn count_cpus(cpuinfo: &str) -> Cpus {
    let mut threads = 0;
    let mut cores = HashSet::new();
    let mut sockets = HashSet::new();
    for block in cpuinfo.split("\n\n").filter(|b| b.contains("processor")) {
        threads += 1;
        let field = |name: &str| {
            block.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == name).then(|| value.trim().to_string())
            })
        };
        let socket = field("physical id");
        if let Some(socket) = &socket {
            sockets.insert(socket.clone());
        }
        if let Some(core) = field("core id") {
            cores.insert((socket, core));
        }
    }
    let threads = threads.max(1);
    Cpus {
        threads,
        cores: if cores.is_empty() {
            threads
        } else {
            cores.len()
        },
        sockets: sockets.len().max(1),
    }
}

pub fn cpus() -> Cpus {
    count_cpus(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default())
}

/// The kernel's limit on a command line and its environment.
fn arg_max() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let max = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    usize::try_from(max).unwrap_or(crate::source::FIT_BUDGET)
}

/// Answers the question the command line asks, if it asks one: Some(exit
/// code) when pool-run should stop there.
pub fn answer(cli: &Cli) -> Result<Option<u8>, Failure> {
    let say = |text: String| print(Exit::Error, &format!("{text}\n"));
    let counts = || cpus();
    if cli.machine.number_of_threads {
        say(counts().threads.to_string())?;
    } else if cli.machine.number_of_cores {
        say(counts().cores.to_string())?;
    } else if cli.machine.number_of_sockets {
        say(counts().sockets.to_string())?;
    } else if let Some(wanted) = cli.machine.minversion {
        say(GNU_VERSION.to_string())?;
        return Ok(Some(if wanted <= GNU_VERSION { 0 } else { 255 }));
    } else if cli.machine.max_line_length_allowed {
        say(crate::source::FIT_BUDGET.to_string())?;
    } else {
        if cli.machine.show_limits {
            say(format!(
                "Maximal size of command: {}\nMaximal usable size of command: {}\n\n\
                 Execution will continue now, and it will try to read its input\n\
                 and run commands; if this is not what you wanted to happen, please\n\
                 press CTRL-D or CTRL-C",
                arg_max(),
                crate::source::FIT_BUDGET
            ))?;
        }
        return Ok(None);
    }
    Ok(Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_threads_cores_and_sockets() {
        let two_sockets = "processor\t: 0\nphysical id\t: 0\ncore id\t: 0\n\n\
                           processor\t: 1\nphysical id\t: 0\ncore id\t: 0\n\n\
                           processor\t: 2\nphysical id\t: 1\ncore id\t: 0\n\n\
                           processor\t: 3\nphysical id\t: 1\ncore id\t: 1\n";
        assert_eq!(
            count_cpus(two_sockets),
            Cpus {
                threads: 4,
                cores: 3,
                sockets: 2
            }
        );
        let arm = "processor\t: 0\nBogoMIPS\t: 50\n\nprocessor\t: 1\nBogoMIPS\t: 50\n";
        assert_eq!(
            count_cpus(arm),
            Cpus {
                threads: 2,
                cores: 2,
                sockets: 1
            }
        );
    }
}
