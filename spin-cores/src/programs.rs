//! Tutorial 001's eight programs, each printing its own lines: the same two
//! tasks (a countdown, or a 4-second wait) run one after another, on
//! threads, in processes, in a process pool, and as coroutines. `compare`'s
//! table is their summary; `compare --program NAME` runs one as the listing
//! does, in English or (`--lang zh`) in the tutorial's Chinese.
//!
//! The listing headed "多线程" (threads) for IO-bound work runs a
//! `Pool(2)` of processes; `io-pool` runs what it runs, and says so on
//! stderr.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use common::cli::{Failure, print};
use common::lang::Lang;
use common::pool;
use common::proc::{fork_child, wait_child};

use crate::cli::Program;
use crate::compare::countdown;
use crate::exit::Exit;

fn failed(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Failed, what, err)
}

fn pid() -> u32 {
    std::process::id()
}

/// Prints a line from a task (a thread, a child process or a worker);
/// false when stdout failed.
fn task_print(text: &str) -> bool {
    match print(Exit::Failed, text) {
        Ok(()) => true,
        Err(failure) => failure.code == common::exit::SUCCESS,
    }
}

/// The lines the programs print, in one language.
#[derive(Debug, Clone, Copy)]
struct Words(Lang);

impl Words {
    fn main_process(self) -> String {
        format!("{} {}\n", self.0.pick("main process:", "主进程:"), pid())
    }
    fn current_process(self) -> String {
        format!(
            "{} {}\n",
            self.0.pick("current process:", "当前进程:"),
            pid()
        )
    }
    fn main_thread(self) -> String {
        format!("{} {}\n", self.0.pick("main thread:", "主线程:"), pid())
    }
    fn parent_process(self) -> String {
        format!("{} {}\n", self.0.pick("parent process:", "父进程:"), pid())
    }
    fn cpu_count(self, cpus: usize) -> String {
        format!("{}{cpus}\n", self.0.pick("CPU cores:", "CPU内核数:"))
    }
    /// `子进程: PID - 任务N`: a task says where it runs.
    fn child_process(self, task: u64) -> String {
        match self.0 {
            Lang::En => format!("child process: {} - task {task}\n", pid()),
            Lang::Zh => format!("子进程: {} - 任务{task}\n", pid()),
        }
    }
    fn child_thread(self, task: u64) -> String {
        let name = thread::current().name().unwrap_or("unnamed").to_string();
        match self.0 {
            Lang::En => format!("child thread {name}:{} - task {task}\n", pid()),
            Lang::Zh => format!("子线程 {name}:{} - 任务{task}\n", pid()),
        }
    }
    /// `耗时8.002439498901367秒`: seconds as Python prints a float.
    fn took(self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64();
        match self.0 {
            Lang::En => format!("took {secs} seconds\n"),
            Lang::Zh => format!("耗时{secs}秒\n"),
        }
    }
}

/// The IO-bound task: say where it runs, wait, say it ended.
fn io_task(words: Words, task: u64, wait: Duration) -> bool {
    let ok =
        task_print(&words.child_process(task)) && task_print(&format!("IO Task{task} start\n"));
    thread::sleep(wait);
    ok && task_print(&format!("IO Task{task} end\n"))
}

/// Forks one child per task number and waits for them all.
fn in_children(
    tasks: impl Iterator<Item = u64>,
    task: impl Fn(u64) -> bool,
) -> Result<Exit, Failure> {
    let mut pids = Vec::new();
    for number in tasks {
        let task = &task;
        let pid = fork_child(move || i32::from(!task(number))).map_err(|e| failed("fork", &e))?;
        pids.push(pid);
    }
    let mut exit = Exit::Success;
    for pid in pids {
        if let Some((status, _)) =
            wait_child(pid, true).map_err(|e| failed("waiting for a child", &e))?
            && !status.success()
        {
            exit = Exit::Failed;
        }
    }
    Ok(exit)
}

/// `Pool(size)`, `apply_async` of each task, close, join.
fn in_pool(
    size: u32,
    tasks: impl Iterator<Item = u64>,
    task: impl Fn(u64) -> bool,
) -> Result<Exit, Failure> {
    match pool::run(size, tasks, task).map_err(|e| failed("running the pool", &e))? {
        Some(_) => Ok(Exit::Failed),
        None => Ok(Exit::Success),
    }
}

/// Where a coroutine is: before or after its `await`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Start,
    End,
}

/// The tasks as coroutines on one thread, as asyncio runs them: each calls
/// `event` on starting, `await`s its timer (the loop runs the others
/// meanwhile), and calls `event` again at its end.
pub fn as_coroutines(
    tasks: u64,
    wait: Duration,
    event: impl Fn(u64, Moment) + Clone + Send + 'static,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for task in 0..tasks {
            let event = event.clone();
            set.spawn(async move {
                event(task, Moment::Start);
                tokio::time::sleep(wait).await;
                event(task, Moment::End);
            });
        }
        while set.join_next().await.is_some() {}
    });
    Ok(())
}

fn cpus() -> usize {
    thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Runs `program` with `tasks` tasks of `work` (countdown) or `wait`.
pub fn run(
    program: Program,
    tasks: u32,
    work: u64,
    wait: Duration,
    lang: Lang,
) -> Result<Exit, Failure> {
    let words = Words(lang);
    let say = |text: &str| print(Exit::Failed, text);
    let tasks = u64::from(tasks);
    let cpu_task = |line: String| {
        let ok = task_print(&line);
        countdown(work);
        ok
    };
    let mut exit = Exit::Success;
    let started;
    match program {
        Program::CpuSequential => {
            say(&words.main_process())?;
            started = Instant::now();
            for _ in 0..tasks {
                say(&words.current_process())?;
                countdown(work);
            }
        }
        Program::CpuThreads => {
            started = Instant::now();
            say(&words.main_thread())?;
            thread::scope(|scope| {
                for number in 1..=tasks {
                    let spawned = thread::Builder::new()
                        .name(format!("Thread-{number}"))
                        .spawn_scoped(scope, move || cpu_task(words.child_thread(number)));
                    if let Err(err) = spawned {
                        return Err(failed("starting a thread", &err));
                    }
                }
                Ok(())
            })?;
        }
        Program::CpuProcesses => {
            say(&words.parent_process())?;
            started = Instant::now();
            exit = in_children(1..=tasks, |n| cpu_task(words.child_process(n)))?;
        }
        Program::CpuPool => {
            say(&words.cpu_count(cpus()))?;
            say(&words.parent_process())?;
            started = Instant::now();
            exit = in_pool(4, 0..tasks, |n| cpu_task(words.child_process(n)))?;
        }
        Program::IoSequential => {
            say(&words.main_process())?;
            started = Instant::now();
            for number in 0..tasks {
                io_task(words, number, wait);
            }
        }
        Program::IoPool => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                "spin-cores: tutorial 001 heads this program 多线程 (threads), but it runs a Pool \
                 of 2 processes: the waits overlap in processes\n"
                    .as_bytes(),
            );
            say(&words.cpu_count(cpus()))?;
            say(&words.parent_process())?;
            started = Instant::now();
            exit = in_pool(2, 0..tasks, |n| io_task(words, n, wait))?;
        }
        Program::IoProcesses => {
            say(&words.parent_process())?;
            started = Instant::now();
            exit = in_children(1..=tasks, |n| io_task(words, n, wait))?;
        }
        Program::IoAsync => {
            started = Instant::now();
            let lang = words.0;
            as_coroutines(tasks, wait, move |number, moment| {
                if moment == Moment::Start {
                    let _ = task_print(&Words(lang).child_process(number));
                    let _ = task_print(&format!("IO Task{number} start\n"));
                } else {
                    let _ = task_print(&format!("IO Task{number} end\n"));
                }
            })
            .map_err(|e| failed("starting the event loop", &e))?;
        }
    }
    say(&words.took(started.elapsed()))?;
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn took_prints_seconds_as_python_prints_a_float() {
        let words = Words(Lang::Zh);
        assert_eq!(words.took(Duration::from_millis(8250)), "耗时8.25秒\n");
        assert_eq!(
            Words(Lang::En).took(Duration::from_secs(4)),
            "took 4 seconds\n"
        );
    }

    #[test]
    fn coroutines_all_start_before_any_ends_on_one_thread() {
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = events.clone();
        let main = thread::current().id();
        as_coroutines(3, Duration::from_millis(20), move |task, moment| {
            assert_eq!(thread::current().id(), main, "one thread runs them all");
            seen.lock().unwrap().push((task, moment));
        })
        .unwrap();
        let events = events.lock().unwrap();
        let moments: Vec<Moment> = events.iter().map(|e| e.1).collect();
        assert_eq!(
            moments,
            [
                Moment::Start,
                Moment::Start,
                Moment::Start,
                Moment::End,
                Moment::End,
                Moment::End
            ]
        );
    }
}
