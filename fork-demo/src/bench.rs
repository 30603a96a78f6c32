//! What it costs to create and reap a process or a thread, one operation at a
//! time, as p50/p99 of many. `bench/fork-demo.sh` runs the same operations in
//! C beside it (`bench/c/fork_bench.c`), so each row has its anchor.
//!
//! The raw rows call fork/posix_spawn/execv as C does (empty environment,
//! absolute paths), so the comparison is of the same system calls; `std
//! Command` shows what the convenient Rust API adds on top.

use std::ffi::CString;
use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

use common::time::LatencySummary;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// One benchmarked operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub name: &'static str,
    run: fn(&Prepared) -> io::Result<()>,
}

/// Arguments built once, outside the timed part.
#[derive(Debug)]
pub struct Prepared {
    true_path: CString,
    true_argv: Vec<CString>,
    sh_path: CString,
    sh_argv: Vec<CString>,
}

impl Prepared {
    pub fn new() -> io::Result<Prepared> {
        let c = |s: &str| CString::new(s).map_err(io::Error::other);
        Ok(Prepared {
            true_path: c("/bin/true")?,
            true_argv: vec![c("true")?],
            sh_path: c("/bin/sh")?,
            sh_argv: vec![c("sh")?, c("-c")?, c("true")?],
        })
    }
}

fn null_terminated(args: &[CString]) -> Vec<*mut libc::c_char> {
    args.iter()
        .map(|a| a.as_ptr().cast_mut())
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect()
}

fn reap(pid: libc::pid_t) -> io::Result<()> {
    waitpid(Pid::from_raw(pid), None)?;
    Ok(())
}

fn fork_exit(_: &Prepared) -> io::Result<()> {
    // SAFETY: fork-demo is single-threaded while it benchmarks forks (the
    // thread row runs last and joins its thread); the child only calls _exit.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        // SAFETY: _exit is async-signal-safe and ends the child at once.
        0 => unsafe { libc::_exit(0) },
        pid => reap(pid),
    }
}

fn spawn(path: &CString, argv: &[CString]) -> io::Result<()> {
    let argv = null_terminated(argv);
    let envp: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
    let mut pid: libc::pid_t = 0;
    // SAFETY: path, argv and envp are NUL-terminated arrays of C strings that
    // outlive the call; null file actions and attributes mean the defaults.
    let rc = unsafe {
        libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    reap(pid)
}

fn posix_spawn_true(p: &Prepared) -> io::Result<()> {
    spawn(&p.true_path, &p.true_argv)
}

fn sh_c_true(p: &Prepared) -> io::Result<()> {
    spawn(&p.sh_path, &p.sh_argv)
}

fn fork_exec_true(p: &Prepared) -> io::Result<()> {
    let argv = null_terminated(&p.true_argv);
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: single-threaded (see fork_exit); the child only calls execve
    // and _exit, both async-signal-safe, on data prepared before the fork.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => unsafe {
            libc::execve(p.true_path.as_ptr(), argv.as_ptr().cast(), envp.as_ptr());
            libc::_exit(127)
        },
        pid => reap(pid),
    }
}

fn std_command_true(_: &Prepared) -> io::Result<()> {
    let status = Command::new("/bin/true").env_clear().status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("/bin/true failed: {status}")))
    }
}

fn thread_spawn_join(_: &Prepared) -> io::Result<()> {
    std::thread::spawn(|| std::hint::black_box(0u8))
        .join()
        .map(drop)
        .map_err(|_| io::Error::other("thread panicked"))
}

/// In order: every fork-based row before the thread row, so no fork happens
/// in a process that has ever had a second thread running.
pub const OPERATIONS: [Operation; 6] = [
    Operation {
        name: "fork+_exit+wait",
        run: fork_exit,
    },
    Operation {
        name: "fork+exec true+wait",
        run: fork_exec_true,
    },
    Operation {
        name: "posix_spawn true+wait",
        run: posix_spawn_true,
    },
    Operation {
        name: "posix_spawn sh -c true+wait",
        run: sh_c_true,
    },
    Operation {
        name: "std Command true+wait",
        run: std_command_true,
    },
    Operation {
        name: "thread spawn+join",
        run: thread_spawn_join,
    },
];

/// Times `iterations` runs of `op` (after a few untimed warm-up runs): the
/// summary, and the samples, sorted (for `--histogram`).
pub fn measure(
    op: Operation,
    prepared: &Prepared,
    iterations: u32,
) -> io::Result<(LatencySummary, Vec<Duration>)> {
    for _ in 0..iterations.min(10) {
        (op.run)(prepared)?;
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let started = Instant::now();
        (op.run)(prepared)?;
        samples.push(started.elapsed());
    }
    let summary = LatencySummary::from_samples(&mut samples).map_err(io::Error::other)?;
    Ok((summary, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_runs() {
        let prepared = Prepared::new().unwrap();
        // The thread row is safe in the multi-threaded test harness; the
        // fork rows are exercised through the binary (tests/cli), never here.
        let (summary, samples) = measure(OPERATIONS[5], &prepared, 5).unwrap();
        assert_eq!((summary.count, samples.len()), (5, 5));
        assert!(summary.p50 <= summary.p99);
        assert!(samples.is_sorted(), "sorted for the histogram");
        std_command_true(&prepared).unwrap();
        posix_spawn_true(&prepared).unwrap();
        sh_c_true(&prepared).unwrap();
    }
}
