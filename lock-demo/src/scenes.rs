//! Tutorial 003's thread scenes and the deadlock the tutorials warn of.
//!
//! `counter`: five threads, started one after another, add to one global
//! count (003-8 without a lock, 003-9 with one). `per-thread`: each thread
//! keeps its own count three ways (a local variable, one map keyed by the
//! thread, thread-local storage; 003-10 to 003-12). `deadlock`: two threads
//! take two locks in opposite orders; each waits a bounded time for its
//! second lock, so the demo reports the cycle instead of hanging.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Barrier, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::cli::{Failure, print};

use crate::cli::{CounterArgs, DeadlockArgs, PerThread, PerThreadArgs, Sync};
use crate::exit::Exit;

fn say(text: &str) -> Result<(), Failure> {
    print(Exit::Failed, text)
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Python's thread names: Thread-1, Thread-2, ... in the order they start.
fn python_name(index: u32) -> String {
    format!("Thread-{}", index + 1)
}

/// Starts `threads` named threads one after another, each running `body`,
/// and joins them all (the listings' start loop, then join loop).
fn start_and_join(
    threads: u32,
    body: impl Fn() -> Result<(), Failure> + std::marker::Sync,
) -> Result<(), Failure> {
    thread::scope(|scope| {
        let mut handles = Vec::new();
        for index in 0..threads {
            let body = &body;
            let handle = thread::Builder::new()
                .name(python_name(index))
                .spawn_scoped(scope, body)
                .map_err(|err| {
                    Failure::new(Exit::Failed, format!("cannot start a thread ({err})"))
                })?;
            handles.push(handle);
        }
        for handle in handles {
            handle
                .join()
                .map_err(|_| Failure::new(Exit::Failed, "a thread panicked"))??;
        }
        Ok(())
    })
}

fn my_name() -> String {
    thread::current().name().unwrap_or("unnamed").to_string()
}

/// 003-8 and 003-9: `num += 1` from five threads, with or without a lock.
pub fn counter(args: &CounterArgs) -> Result<Exit, Failure> {
    let racy = AtomicU64::new(0);
    let guarded = Mutex::new(0u64);
    let (iterations, sync) = (args.iterations, args.sync);
    say("thread MainThread is running...\n")?;
    start_and_join(args.threads, || {
        say(&format!("thread {} is running...\n", my_name()))?;
        for _ in 0..iterations {
            match sync {
                Sync::Mutex => *locked(&guarded) += 1,
                // Read, then write back: the tutorial's num += 1, which
                // loses updates when another thread writes in between.
                _ => racy.store(racy.load(Relaxed) + 1, Relaxed),
            }
        }
        say(&format!("thread {} ended.\n", my_name()))
    })?;
    let num = match sync {
        Sync::Mutex => *locked(&guarded),
        _ => racy.load(Relaxed),
    };
    say(&format!("global num: {num}\n"))?;
    // The two listings end differently: 003-9's line has no period.
    say(if sync == Sync::Mutex {
        "thread MainThread ended\n"
    } else {
        "thread MainThread ended.\n"
    })?;
    Ok(Exit::Success)
}

thread_local! {
    /// 003-12's `global_data = local()`: one name, one value per thread.
    static GLOBAL_DATA: Cell<u64> = const { Cell::new(0) };
}

/// 003-10 to 003-12: each thread counts to N in its own storage, then a
/// function that is given nothing but the thread prints the count.
pub fn per_thread(args: &PerThreadArgs) -> Result<Exit, Failure> {
    let global_dict: Mutex<HashMap<thread::ThreadId, u64>> = Mutex::new(HashMap::new());
    let (iterations, lang) = (args.iterations, args.lang);
    say("thread MainThread is running...\n")?;
    start_and_join(args.threads, || {
        let name = my_name();
        say(&format!("thread {name} is running...\n"))?;
        let line = match args.with {
            PerThread::LocalVariable => {
                let mut local_num = 0u64;
                for _ in 0..iterations {
                    local_num += 1;
                }
                // echo(num) gets the value as an argument.
                let echo = lang.pick("function echo:", "函数echo：");
                format!("{echo} {name} {local_num}\n")
            }
            PerThread::SharedMap => {
                let me = thread::current().id();
                locked(&global_dict).insert(me, 0);
                for _ in 0..iterations {
                    *locked(&global_dict).entry(me).or_insert(0) += 1;
                }
                // echo() finds this thread's value under its own key.
                let num = locked(&global_dict).get(&me).copied().unwrap_or(0);
                format!("{name} {num}\n")
            }
            PerThread::ThreadLocal => {
                GLOBAL_DATA.with(|num| {
                    num.set(0);
                    for _ in 0..iterations {
                        num.set(num.get() + 1);
                    }
                });
                let num = GLOBAL_DATA.with(Cell::get);
                format!("{name} {num}\n")
            }
        };
        say(&line)?;
        say(&format!("thread {name} ended.\n"))
    })?;
    // 003-10 ends with "is ended.", the other two with "ended.".
    say(if args.with == PerThread::LocalVariable {
        "thread MainThread is ended.\n"
    } else {
        "thread MainThread ended.\n"
    })?;
    Ok(Exit::Success)
}

/// What a thread of the deadlock demo got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It held both locks and did its work.
    Done,
    /// Its second lock did not come within the wait.
    GaveUp,
}

/// Takes `mutex` if it comes free within `wait` (std's Mutex has no timed
/// lock: try, then pause a millisecond).
fn lock_within<'a>(mutex: &'a Mutex<()>, wait: Duration) -> Option<MutexGuard<'a, ()>> {
    let deadline = Instant::now() + wait;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(std::sync::TryLockError::WouldBlock) => return None,
        }
    }
}

/// Two threads, two locks. Unordered, Thread-1 takes A then B and Thread-2
/// takes B then A; a barrier makes sure each holds its first lock before
/// asking for the second, so the deadlock happens on every run. Each waits
/// `wait` for its second lock, then gives up and releases the first.
/// Ordered, both take A first: one waits for the other, nothing deadlocks.
pub fn deadlock(args: &DeadlockArgs) -> Result<Exit, Failure> {
    let locks = [("A", Mutex::new(())), ("B", Mutex::new(()))];
    let both_hold_one = Barrier::new(2);
    let orders: [[usize; 2]; 2] = if args.ordered {
        [[0, 1], [0, 1]]
    } else {
        [[0, 1], [1, 0]]
    };
    let outcomes: Vec<Outcome> = thread::scope(|scope| {
        let handles: Vec<_> = orders
            .iter()
            .enumerate()
            .map(|(index, order)| {
                let (locks, barrier) = (&locks, &both_hold_one);
                let name = python_name(index as u32);
                let (first, second) = (order[0], order[1]);
                let wait = args.wait;
                let ordered = args.ordered;
                scope.spawn(move || -> Result<Outcome, Failure> {
                    if ordered {
                        let _first = locked(&locks[first].1);
                        let _second = locked(&locks[second].1);
                        say(&format!(
                            "thread {name} took lock {}, then lock {}\n",
                            locks[first].0, locks[second].0
                        ))?;
                        return Ok(Outcome::Done);
                    }
                    let held = locked(&locks[first].1);
                    barrier.wait();
                    say(&format!(
                        "thread {name} holds lock {} and waits for lock {}...\n",
                        locks[first].0, locks[second].0
                    ))?;
                    let outcome = match lock_within(&locks[second].1, wait) {
                        Some(_both) => Outcome::Done,
                        None => Outcome::GaveUp,
                    };
                    // Both threads time out before either lets go.
                    barrier.wait();
                    drop(held);
                    Ok(outcome)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| Failure::new(Exit::Failed, "a thread panicked"))?
            })
            .collect::<Result<Vec<_>, Failure>>()
    })?;
    let wait = common::time::format_duration(args.wait);
    if outcomes.iter().all(|&outcome| outcome == Outcome::GaveUp) {
        say(&format!(
            "deadlock: after {wait} neither thread had its second lock; each holds the lock \
             the other waits for\n\
             both threads gave up and released their locks (without a bounded wait they \
             would wait forever)\n"
        ))?;
    } else {
        say("no deadlock: both threads take lock A first, so one waits until the other is done\n")?;
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_held_elsewhere_is_not_taken_within_the_wait() {
        let mutex = Mutex::new(());
        let held = mutex.lock().unwrap();
        let started = Instant::now();
        assert!(lock_within(&mutex, Duration::from_millis(20)).is_none());
        assert!(started.elapsed() >= Duration::from_millis(20));
        drop(held);
        assert!(lock_within(&mutex, Duration::from_millis(20)).is_some());
    }

    #[test]
    fn python_names_count_from_one() {
        assert_eq!(python_name(0), "Thread-1");
        assert_eq!(python_name(4), "Thread-5");
    }
}
