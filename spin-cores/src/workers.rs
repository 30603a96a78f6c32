//! Starting, measuring and stopping the busy workers, as threads of this
//! process or as child processes (the tutorial's answer to the GIL, which
//! Rust does not need, kept for the comparison).
//!
//! A worker process spins until its stdin reaches end of file: closing the
//! pipe stops it, and so does our death, whatever kills us, so no worker can
//! outlive spin-cores. It ignores SIGINT (the terminal sends Ctrl-C to the
//! whole job) and prints its iteration count on the way out.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

use crate::cli::{Config, Mode};
use crate::spin::{self, Stop};

/// How long a stopped worker process may take to report and exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// The running workers. Dropping them stops them, so no error path can
/// leave a worker spinning.
#[derive(Debug)]
pub struct Workers {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Threads {
        stop: Arc<AtomicBool>,
        handles: Vec<JoinHandle<u64>>,
    },
    Processes {
        children: Vec<Child>,
    },
}

/// What the workers did, once stopped.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Loop iterations of each worker (0 for a process that died silently).
    pub iterations: Vec<u64>,
    /// CPU time of this process and every reaped worker process.
    pub cpu_time: Duration,
}

struct Flag(Arc<AtomicBool>);

impl Stop for Flag {
    fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    fn cheap(&self) -> bool {
        true
    }
    fn sleep(&self, duration: Duration) -> bool {
        thread::sleep(duration);
        self.requested()
    }
}

fn cpu_for(worker: usize, cpus: &[usize]) -> Option<usize> {
    (!cpus.is_empty()).then(|| cpus[worker % cpus.len()])
}

impl Workers {
    pub fn start(cfg: &Config) -> io::Result<Workers> {
        let cpus = if cfg.pin {
            spin::allowed_cpus()?
        } else {
            Vec::new()
        };
        let mut workers = Workers {
            kind: match cfg.mode {
                Mode::Threads => Kind::Threads {
                    stop: Arc::new(AtomicBool::new(false)),
                    handles: Vec::with_capacity(cfg.workers),
                },
                Mode::Processes => Kind::Processes {
                    children: Vec::with_capacity(cfg.workers),
                },
            },
        };
        // On an error `workers` is dropped, which stops those already started.
        for worker in 0..cfg.workers {
            let cpu = cpu_for(worker, &cpus);
            match &mut workers.kind {
                Kind::Threads { stop, handles } => {
                    let flag = Flag(Arc::clone(stop));
                    let (load, slice) = (cfg.load, cfg.slice);
                    let handle = thread::Builder::new()
                        .name(format!("spin-{worker}"))
                        .spawn(move || {
                            if let Some(cpu) = cpu {
                                // Unpinned is still a worker: spin anyway.
                                let _ = spin::pin_current_thread(cpu);
                            }
                            spin::spin(load, slice, &flag)
                        })?;
                    handles.push(handle);
                }
                Kind::Processes { children } => {
                    let mut command = Command::new(std::env::current_exe()?);
                    command
                        .arg("worker-spin")
                        .args(["--load", &format!("{}", (cfg.load * 100.0).round() as u8)])
                        .args(["--slice", &common::time::format_duration(cfg.slice)])
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        // Their own group: a Ctrl-C, or `timeout`'s signal
                        // to spin-cores' group, reaches spin-cores alone,
                        // which stops them by closing their stdin and reads
                        // every count. (Killed, spin-cores closes it too.)
                        .process_group(0);
                    if let Some(cpu) = cpu {
                        command.args(["--cpu", &cpu.to_string()]);
                    }
                    children.push(command.spawn()?);
                }
            }
        }
        Ok(workers)
    }

    /// Worker process ids (empty for threads).
    pub fn pids(&self) -> Vec<u32> {
        match &self.kind {
            Kind::Threads { .. } => Vec::new(),
            Kind::Processes { children } => children.iter().map(Child::id).collect(),
        }
    }

    /// CPU time the workers have used so far, with this process's own.
    pub fn cpu_time(&self) -> Duration {
        let own = cpu_time_of(UsageWho::RUSAGE_SELF);
        match &self.kind {
            Kind::Threads { .. } => own,
            Kind::Processes { children } => {
                own + children
                    .iter()
                    .map(|child| process_cpu_time(child.id()))
                    .sum()
            }
        }
    }

    /// Stops every worker and waits for it.
    pub fn stop(mut self) -> Stopped {
        self.stop_all()
    }

    fn stop_all(&mut self) -> Stopped {
        let iterations = match &mut self.kind {
            Kind::Threads { stop, handles } => {
                stop.store(true, Ordering::Relaxed);
                handles
                    .drain(..)
                    .map(|handle| handle.join().unwrap_or(0))
                    .collect()
            }
            Kind::Processes { children } => {
                // Close every stdin first, so all of them stop together.
                for child in children.iter_mut() {
                    drop(child.stdin.take());
                }
                children.drain(..).map(finish_child).collect()
            }
        };
        Stopped {
            iterations,
            cpu_time: cpu_time_of(UsageWho::RUSAGE_SELF) + cpu_time_of(UsageWho::RUSAGE_CHILDREN),
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Reads a stopped worker process's count and reaps it; kills it if it does
/// not exit in time.
fn finish_child(mut child: Child) -> u64 {
    let deadline = Instant::now() + EXIT_WAIT;
    let mut report = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let readable = common::ipc::wait_readable(stdout.as_fd(), Some(EXIT_WAIT)).unwrap_or(false);
        if readable {
            let _ = stdout.read_to_string(&mut report);
        }
    }
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            Ok(None) => thread::sleep(Duration::from_millis(1)),
        }
    }
    report.trim().parse().unwrap_or(0)
}

/// User + system CPU time from getrusage (microsecond resolution): this
/// whole process (all threads), or its reaped children.
fn cpu_time_of(who: UsageWho) -> Duration {
    getrusage(who)
        .map(|usage| timeval(usage.user_time()) + timeval(usage.system_time()))
        .unwrap_or(Duration::ZERO)
}

fn timeval(tv: nix::sys::time::TimeVal) -> Duration {
    let secs = u64::try_from(tv.tv_sec()).unwrap_or(0);
    let micros = u64::try_from(tv.tv_usec()).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

/// This process's CPU time so far (all threads).
pub fn own_cpu_time() -> Duration {
    cpu_time_of(UsageWho::RUSAGE_SELF)
}

/// CPU time of a worker process so far: /proc/PID/schedstat (nanoseconds) of
/// its one thread; zero once it is gone.
fn process_cpu_time(pid: u32) -> Duration {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Stops a worker process when its stdin ends.
struct StdinClosed;

impl Stop for StdinClosed {
    fn requested(&self) -> bool {
        self.sleep(Duration::ZERO)
    }
    fn sleep(&self, duration: Duration) -> bool {
        // Readable means end of file (or stray input): either way, stop.
        common::ipc::wait_readable(io::stdin().as_fd(), Some(duration)).unwrap_or(true)
    }
}

/// The body of a worker process (`spin-cores worker-spin`).
pub fn worker_process(load: f64, slice: Duration, cpu: Option<usize>) -> io::Result<()> {
    common::signal::ignore(common::signal::Signal::INT)?;
    if let Some(cpu) = cpu {
        let _ = spin::pin_current_thread(cpu);
    }
    let iterations = spin::spin(load, slice, &StdinClosed);
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{iterations}")?;
    stdout.flush()
}
