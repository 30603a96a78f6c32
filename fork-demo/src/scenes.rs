//! Tutorial 003 and 004's process scenes that are not about fork's pids: a
//! value drawn before the child starts (fork copies it, spawn draws anew), a
//! writer running ahead of a slow reader through a queue (and, bounded, made
//! to wait), two "downloads" at once with processes or threads, and what a
//! crash takes down. Each prints the listing's lines, in its order.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use common::cli::{Failure, print};
use common::ipc::Queue;
use common::lang::Lang;
use common::proc::{fork_child, wait_child};
use nix::unistd::getpid;

use crate::cli::{DownloadArgs, Downloader, QueueArgs, StartMethod};
use crate::exit::Exit;

fn failed(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Failed, what, err)
}

/// A number in `low..=high` that differs from run to run (std's hasher keys
/// are random per process), for the tutorials' `random.randint`.
pub fn random_in(low: u64, high: u64) -> u64 {
    let draw = RandomState::new().hash_one(Instant::now());
    low + draw % (high - low + 1)
}

/// Prints a child's line; false when stdout failed (the child's exit code).
fn child_print(text: &str) -> bool {
    match print(Exit::Failed, text) {
        Ok(()) => true,
        Err(failure) => failure.code == common::exit::SUCCESS,
    }
}

/// Waits for children; the first that failed decides the exit code.
fn reap_all(pids: &[u32]) -> Result<Exit, Failure> {
    let mut exit = Exit::Success;
    for &pid in pids {
        match wait_child(pid, true) {
            Ok(Some((status, _))) if !status.success() && exit == Exit::Success => {
                exit = Exit::Child(status.code());
            }
            Ok(_) => {}
            Err(err) => return Err(failed(&format!("waiting for child {pid}"), &err)),
        }
    }
    Ok(exit)
}

/// The module-level `num = random.randint(0, 100)` of 003-4.
fn draw_num() -> u64 {
    random_in(0, 100)
}

fn show_num(num: u64) -> String {
    format!("pid: {}, num is {num}\n", getpid())
}

/// 003-4: the parent draws a number and prints it; so does the child. With
/// fork the child prints the parent's number (it is a copy of the parent);
/// with spawn the child is a fresh run of fork-demo that draws its own, as
/// Python's children do on Windows and macOS.
pub fn inherit(start: StartMethod) -> Result<Exit, Failure> {
    let num = draw_num();
    print(Exit::Failed, &show_num(num))?;
    match start {
        StartMethod::Fork => {
            let pid = fork_child(|| if child_print(&show_num(num)) { 0 } else { 1 })
                .map_err(|e| failed("fork", &e))?;
            reap_all(&[pid])
        }
        StartMethod::Spawn => {
            let exe = std::env::current_exe().map_err(|e| failed("finding fork-demo", &e))?;
            let status = std::process::Command::new(exe)
                .arg("spawned-child")
                .status()
                .map_err(|e| failed("starting the spawned child", &e))?;
            Ok(if status.success() {
                Exit::Success
            } else {
                Exit::Child(
                    common::exit::ChildExit::from_raw(
                        std::os::unix::process::ExitStatusExt::into_raw(status),
                    )
                    .code(),
                )
            })
        }
    }
}

/// The spawned child of `inherit --start spawn`: module-level code runs
/// again in a fresh program, so it draws its own number.
pub fn spawned_child() -> Result<Exit, Failure> {
    print(Exit::Failed, &show_num(draw_num()))?;
    Ok(Exit::Success)
}

/// 003-6: a writer process puts 1..=N, pausing after each put; a reader
/// process takes them, pausing longer. Unbounded (the tutorial's `Queue()`),
/// the writer runs ahead and ends first. With `--maxsize` the writer must
/// wait for room: back-pressure. The bound is a second queue holding one
/// token per free place, taken before each put and given back after each
/// get.
pub fn queue(args: &QueueArgs) -> Result<Exit, Failure> {
    let items = Queue::new().map_err(|e| failed("creating the queue", &e))?;
    let room = match args.maxsize {
        // A packet pipe holds 16 messages: the CLI bounds --maxsize to that.
        Some(size) => {
            let room = Queue::new().map_err(|e| failed("creating the queue", &e))?;
            for _ in 0..size {
                room.put(b"x").map_err(|e| failed("writing a queue", &e))?;
            }
            Some(room)
        }
        None => None,
    };
    let (count, write_every, read_every) = (args.items, args.write_every, args.read_every);
    let writer = fork_child(|| {
        let mut ok = true;
        for n in 1..=count {
            ok &= child_print(&format!("write, {n}\n"));
            if let Some(room) = &room
                && !matches!(room.get(), Ok(Some(_)))
            {
                ok = false;
                break;
            }
            if items.put(n.to_string().as_bytes()).is_err() {
                ok = false;
                break;
            }
            thread::sleep(write_every);
        }
        ok &= child_print("write_task end\n");
        i32::from(!ok)
    })
    .map_err(|e| failed("fork", &e))?;
    let reader = fork_child(|| {
        let mut ok = true;
        for _ in 0..count {
            match items.get() {
                Ok(Some(message)) => {
                    if let Some(room) = &room {
                        ok &= room.put(b"x").is_ok();
                    }
                    ok &= child_print(&format!("read, {}\n", String::from_utf8_lossy(&message)));
                }
                _ => {
                    ok = false;
                    break;
                }
            }
            thread::sleep(read_every);
        }
        ok &= child_print("read_task end\n");
        i32::from(!ok)
    })
    .map_err(|e| failed("fork", &e))?;
    let exit = reap_all(&[writer, reader])?;
    print(Exit::Failed, "DONE\n")?;
    Ok(exit)
}

/// The tutorial's two files.
const FILES: [&str; 2] = ["Python从入门到住院.pdf", "Peking Hot.avi"];

/// One download's lines, in `lang`.
struct Words {
    lang: Lang,
}

impl Words {
    fn started_process(&self) -> String {
        match self.lang {
            Lang::En => format!("Started download process, pid [{}].\n", getpid()),
            Lang::Zh => format!("启动下载进程，进程号[{}].\n", getpid()),
        }
    }

    fn starting(&self, file: &str) -> String {
        match self.lang {
            Lang::En => format!("Downloading {file}...\n"),
            Lang::Zh => format!("开始下载{file}...\n"),
        }
    }

    fn finished(&self, file: &str, took: Duration) -> String {
        let seconds = took.as_secs();
        match self.lang {
            Lang::En => format!("{file} downloaded! Took {seconds} seconds\n"),
            Lang::Zh => format!("{file}下载完成! 耗费了{seconds}秒\n"),
        }
    }

    /// 004-1 and 004-5 print `%.2f秒.`, 004-4 `%.3f秒`.
    fn total(&self, took: Duration, with: Downloader) -> String {
        let secs = took.as_secs_f64();
        let text = match with {
            Downloader::Threads => format!("{secs:.3}"),
            _ => format!("{secs:.2}"),
        };
        let period = if with == Downloader::Threads { "" } else { "." };
        match self.lang {
            Lang::En => format!("Took {text} seconds in all{period}\n"),
            Lang::Zh => format!("总共耗费了{text}秒{period}\n"),
        }
    }
}

/// A download's length: the tutorial's `randint(5, 10)` seconds, drawn in
/// whole milliseconds between `min` and `max`.
fn download_time(min: Duration, max: Duration) -> Duration {
    let (low, high) = (min.as_millis(), max.as_millis().max(min.as_millis()));
    let low = u64::try_from(low).unwrap_or(u64::MAX);
    let high = u64::try_from(high).unwrap_or(u64::MAX);
    if low % 1000 == 0 && high % 1000 == 0 {
        Duration::from_secs(random_in(low / 1000, high / 1000))
    } else {
        Duration::from_millis(random_in(low, high))
    }
}

/// 004-5's `class DownloadTask(Thread)` with `run` overridden: Rust has no
/// subclassing, so the task is a type that knows how to run itself, and
/// `start` puts it on a thread of its own, as `Thread.start` calls `run`.
trait Runnable: Send + 'static {
    fn run(&mut self);

    fn start(mut self) -> io::Result<thread::JoinHandle<()>>
    where
        Self: Sized,
    {
        thread::Builder::new().spawn(move || self.run())
    }
}

struct DownloadTask {
    filename: &'static str,
    took: Duration,
    words: Words,
}

impl Runnable for DownloadTask {
    fn run(&mut self) {
        let _ = print(Exit::Failed, &self.words.starting(self.filename));
        thread::sleep(self.took);
        let _ = print(Exit::Failed, &self.words.finished(self.filename, self.took));
    }
}

/// 004-1, 004-4 and 004-5: two downloads at once; the total is the longer of
/// the two, not their sum.
pub fn download(args: &DownloadArgs) -> Result<Exit, Failure> {
    let started = Instant::now();
    let words = Words { lang: args.lang };
    let times = FILES.map(|_| download_time(args.min, args.max));
    let mut exit = Exit::Success;
    match args.with {
        Downloader::Processes => {
            let mut pids = Vec::new();
            for (file, took) in FILES.into_iter().zip(times) {
                let words = &words;
                let pid = fork_child(move || {
                    let ok =
                        child_print(&words.started_process()) && child_print(&words.starting(file));
                    thread::sleep(took);
                    i32::from(!(ok && child_print(&words.finished(file, took))))
                })
                .map_err(|e| failed("fork", &e))?;
                pids.push(pid);
            }
            exit = reap_all(&pids)?;
        }
        Downloader::Threads => {
            thread::scope(|scope| {
                for (file, took) in FILES.into_iter().zip(times) {
                    let words = &words;
                    scope.spawn(move || {
                        let _ = print(Exit::Failed, &words.starting(file));
                        thread::sleep(took);
                        let _ = print(Exit::Failed, &words.finished(file, took));
                    });
                    // The listing starts t1, then t2: t1's line comes first.
                    thread::sleep(Duration::from_millis(1));
                }
            });
        }
        Downloader::ThreadStruct => {
            let mut handles = Vec::new();
            for (filename, took) in FILES.into_iter().zip(times) {
                let task = DownloadTask {
                    filename,
                    took,
                    words: Words { lang: args.lang },
                };
                handles.push(task.start().map_err(|e| failed("starting a thread", &e))?);
                thread::sleep(Duration::from_millis(1));
            }
            for handle in handles {
                let _ = handle.join();
            }
        }
    }
    print(Exit::Failed, &words.total(started.elapsed(), args.with))?;
    Ok(exit)
}

/// What a crash takes down: a process that dies of SIGSEGV leaves its
/// parent and its sibling running; a thread that does so takes its whole
/// process down, the other threads with it. A Rust panic is not such a
/// crash: it unwinds one thread, and `join` hands it to the thread that
/// waits.
pub fn crash() -> Result<Exit, Failure> {
    let me = getpid();
    print(
        Exit::Failed,
        &format!("Parent process {me}: two children, one will crash.\n"),
    )?;
    let crasher = fork_child(|| {
        let _ = child_print(&format!("Child process {} crashes now.\n", getpid()));
        segfault()
    })
    .map_err(|e| failed("fork", &e))?;
    let worker = fork_child(|| {
        thread::sleep(Duration::from_millis(50));
        i32::from(!child_print(&format!(
            "Child process {} ran to its end.\n",
            getpid()
        )))
    })
    .map_err(|e| failed("fork", &e))?;
    let crashed = ended(crasher)?;
    let finished = ended(worker)?;
    print(
        Exit::Failed,
        &format!(
            "Child process {crasher}: {crashed}. Child process {worker}: {finished}. \
             Parent process {me} is still running.\n"
        ),
    )?;
    let threaded = fork_child(|| {
        let pid = getpid();
        let _ = child_print(&format!(
            "Process {pid} starts two threads; thread 2 will crash.\n"
        ));
        let steady = thread::spawn(move || {
            for beat in 1..=100 {
                let _ = child_print(&format!("thread 1 of {pid}: beat {beat}\n"));
                thread::sleep(Duration::from_millis(20));
            }
        });
        thread::sleep(Duration::from_millis(50));
        let _ = thread::spawn(segfault).join();
        let _ = steady.join();
        let _ = child_print("thread 1 finished (never printed: the process is gone)\n");
        0
    })
    .map_err(|e| failed("fork", &e))?;
    let died = ended(threaded)?;
    print(
        Exit::Failed,
        &format!("Process {threaded}: {died}; thread 1 died with it, mid-count.\n"),
    )?;
    let panicked = thread::Builder::new()
        .name("Panicker".into())
        .spawn(|| {
            // The panic is the demo: no backtrace message on stderr.
            std::panic::set_hook(Box::new(|_| {}));
            panic!("a Rust panic unwinds this thread only")
        })
        .map_err(|e| failed("starting a thread", &e))?
        .join();
    let _ = std::panic::take_hook();
    let what = match panicked {
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or("a panic".to_string(), |text| (*text).to_string()),
        Ok(()) => "nothing".to_string(),
    };
    print(
        Exit::Failed,
        &format!(
            "A panicking thread is not a crash: join() returned the panic (\"{what}\"), \
             and process {me} goes on.\n"
        ),
    )?;
    Ok(Exit::Success)
}

/// A real crash: the process gets SIGSEGV, as a bad memory access gives it.
fn segfault() -> i32 {
    // Rust's runtime handles SIGSEGV to report stack overflows; a raised
    // signal has no faulting access to retry, so its handler would return.
    // Back to the default action, as for a real bad access.
    // SAFETY: signal and raise take plain integers; the default action of
    // SIGSEGV ends the process, which is what the demo shows.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    1
}

/// How a child ended, in words.
fn ended(pid: u32) -> Result<String, Failure> {
    match wait_child(pid, true) {
        Ok(Some((common::exit::ChildExit::Exited(code), _))) => {
            Ok(format!("exited with code {code}"))
        }
        Ok(Some((common::exit::ChildExit::Signaled { signal, .. }, _))) => {
            let name = common::signal::Signal::from_number(signal)
                .map_or(signal.to_string(), |s| s.name());
            Ok(format!("killed by {name}"))
        }
        Ok(None) => Err(Failure::new(Exit::Failed, format!("child {pid} vanished"))),
        Err(err) => Err(failed(&format!("waiting for child {pid}"), &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_numbers_stay_in_range_and_vary() {
        let draws: Vec<u64> = (0..200).map(|_| random_in(5, 10)).collect();
        assert!(draws.iter().all(|d| (5..=10).contains(d)));
        assert!(draws.iter().any(|&d| d != draws[0]));
    }

    #[test]
    fn download_times_are_whole_seconds_when_the_bounds_are() {
        let took = download_time(Duration::from_secs(5), Duration::from_secs(10));
        assert_eq!(took.subsec_nanos(), 0);
        assert!((5..=10).contains(&took.as_secs()));
        let quick = download_time(Duration::from_millis(10), Duration::from_millis(30));
        assert!((10..=30).contains(&quick.as_millis()));
    }

    #[test]
    fn totals_keep_each_listings_format() {
        let zh = Words { lang: Lang::Zh };
        let took = Duration::from_millis(8071);
        assert_eq!(zh.total(took, Downloader::Processes), "总共耗费了8.07秒.\n");
        assert_eq!(zh.total(took, Downloader::Threads), "总共耗费了8.071秒\n");
        let en = Words { lang: Lang::En };
        assert_eq!(
            en.total(took, Downloader::ThreadStruct),
            "Took 8.07 seconds in all.\n"
        );
    }
}
