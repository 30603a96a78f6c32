//! The tutorials' `multiprocessing.Pool` scenes, on `common::pool`: a fixed
//! set of long-lived worker processes, each taking task after task from one
//! shared queue. A worker that finishes early takes the next task, so one
//! pid runs several tasks (003-5's task 4 runs in the worker that ran task
//! 0). pool-run differs on purpose: it starts a fresh process
//! per job, so no job inherits another's state, and it is the production
//! tool; this scene is the lesson.

use std::io::{self, Read, Write};
use std::thread;

use common::cli::{Failure, print};
use common::ipc::pipe;
use common::pool;
use nix::unistd::getpid;

use crate::cli::{PoolApplyArgs, PoolMapArgs};
use crate::demos::python_numbers;
use crate::exit::Exit;

fn failed(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Failed, what, err)
}

/// Prints a worker's line; false when stdout failed.
fn worker_print(text: &str) -> bool {
    match print(Exit::Failed, text) {
        Ok(()) => true,
        Err(failure) => failure.code == common::exit::SUCCESS,
    }
}

/// The pool's whole life (common::pool::run); the first worker that failed
/// decides the exit code.
fn run_pool(
    workers: u32,
    tasks: impl IntoIterator<Item = u64>,
    task: impl Fn(u64) -> bool,
) -> Result<Exit, Failure> {
    match pool::run(workers, tasks, task).map_err(|e| failed("running the pool", &e))? {
        Some(exit) => Ok(Exit::Child(exit.code())),
        None => Ok(Exit::Success),
    }
}

/// 003-5 (and with `--bare`, 002-2): `apply_async` of each task, close, join.
pub fn apply(args: &PoolApplyArgs) -> Result<Exit, Failure> {
    let talk = !args.bare;
    if talk {
        print(Exit::Failed, &format!("Parent process {}.\n", getpid()))?;
    }
    let sleep = args.sleep;
    // Python prints this after Pool(4) started its workers; they print
    // nothing until tasks come, so printing it first reads the same.
    if talk {
        print(Exit::Failed, "Waiting for all subprocesses done...\n")?;
    }
    let exit = run_pool(args.workers, 0..u64::from(args.tasks), |x| {
        if !talk {
            return worker_print(&format!("{x}\n"));
        }
        let ok = worker_print(&format!("Run task {x} (pid: {})...\n", getpid()));
        thread::sleep(sleep);
        ok && worker_print(&format!("Task {x} result is: {}\n", x * x))
    })?;
    if talk {
        print(Exit::Failed, "All subprocesses done.\n")?;
    }
    Ok(exit)
}

/// 002-11: `Pool(processes=6).map(run, range(1, 20))`. Each task writes
/// `i*i` to DIR/i.txt and returns `i*i*i`; the results come back through a
/// pipe (one line per result, a single write each, so workers never
/// interleave) and print as one Python list in task order.
pub fn map(args: &PoolMapArgs) -> Result<Exit, Failure> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| failed(&format!("creating {}", args.dir.display()), &e))?;
    let (mut results, sender) = pipe().map_err(|e| failed("creating a pipe", &e))?;
    let dir = &args.dir;
    let exit = run_pool(args.workers, 1..=u64::from(args.tasks), |i| {
        let written = std::fs::write(dir.join(format!("{i}.txt")), format!("{}\n", i * i));
        let line = format!("{i} {}\n", i * i * i);
        written.is_ok() && (&sender).write_all(line.as_bytes()).is_ok()
    });
    // Ours is the last write end: once it closes, the read sees the end.
    drop(sender);
    let exit = exit?;
    let mut text = String::new();
    let mut by_task: Vec<(u64, u64)> = Vec::new();
    results
        .read_to_string(&mut text)
        .map_err(|e| failed("reading the results", &e))?;
    for line in text.lines() {
        let mut fields = line.split(' ').map(str::parse::<u64>);
        if let (Some(Ok(i)), Some(Ok(value))) = (fields.next(), fields.next()) {
            by_task.push((i, value));
        }
    }
    by_task.sort_unstable();
    let values: Vec<u64> = by_task.into_iter().map(|(_, value)| value).collect();
    print(Exit::Failed, &format!("{}\n", python_numbers(&values)))?;
    Ok(exit)
}
