//! The tutorial's bank: N threads each deposit an amount into one account,
//! pausing between reading the balance and writing the new one (the
//! tutorial's `sleep(0.01)` standing for slow business logic). Without a lock
//! nearly every thread reads the same old balance, and nearly all deposits
//! but the last one written are lost.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crate::cli::Sync;

thread_local! {
    static LOCAL_DEPOSITS: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Runs the deposits; returns the final balance.
pub fn deposit_all(sync: Sync, threads: u32, amount: i64, work: Duration) -> i64 {
    let racy = AtomicI64::new(0);
    let locked = Mutex::new(0i64);
    thread::scope(|scope| {
        for _ in 0..threads {
            let (racy, locked) = (&racy, &locked);
            scope.spawn(move || match sync {
                Sync::None => {
                    let new_balance = racy.load(Relaxed) + amount;
                    thread::sleep(work);
                    racy.store(new_balance, Relaxed);
                }
                Sync::Mutex => {
                    let mut balance = locked.lock().unwrap_or_else(PoisonError::into_inner);
                    let new_balance = *balance + amount;
                    thread::sleep(work);
                    *balance = new_balance;
                }
                Sync::Atomic => {
                    // The work happens first: there is no gap to put it in.
                    thread::sleep(work);
                    racy.fetch_add(amount, Relaxed);
                }
                Sync::ThreadLocal => {
                    let mine = LOCAL_DEPOSITS.with(|local| {
                        local.set(local.get() + amount);
                        thread::sleep(work);
                        local.replace(0)
                    });
                    racy.fetch_add(mine, Relaxed);
                }
            });
        }
    });
    match sync {
        Sync::Mutex => *locked.lock().unwrap_or_else(PoisonError::into_inner),
        _ => racy.load(Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_deposits_all_arrive() {
        for sync in [Sync::Mutex, Sync::Atomic, Sync::ThreadLocal] {
            assert_eq!(
                deposit_all(sync, 20, 3, Duration::from_millis(1)),
                60,
                "{sync:?}"
            );
        }
    }

    #[test]
    fn unlocked_deposits_get_lost_when_the_pauses_overlap() {
        // 20 threads all read 0 during a 200ms pause: far fewer than 20 arrive.
        let balance = deposit_all(Sync::None, 20, 1, Duration::from_millis(200));
        assert!(balance < 20, "balance {balance}");
    }
}
