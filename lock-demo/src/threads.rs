//! The tutorial's first threading example: MainThread starts a thread named
//! LoopThread, which counts to 5, and joins it. Thread names are real: the
//! spawned thread gets its name from `thread::Builder`, and the main thread is
//! called MainThread, as Python calls it.

use std::thread;
use std::time::Duration;

use common::cli::{Failure, print};

use crate::exit::Exit;

const MAIN_THREAD: &str = "MainThread";

pub fn run(delay: Duration) -> Result<(), Failure> {
    print(
        Exit::Failed,
        &format!("thread {MAIN_THREAD} is running...\n"),
    )?;
    let looper = thread::Builder::new()
        .name("LoopThread".into())
        .spawn(move || -> Result<(), Failure> {
            let name = thread::current().name().unwrap_or("unnamed").to_string();
            print(Exit::Failed, &format!("thread {name} is running...\n"))?;
            for n in 1..=5 {
                print(Exit::Failed, &format!("thread {name} >>> {n}\n"))?;
                thread::sleep(delay);
            }
            print(Exit::Failed, &format!("thread {name} ended.\n"))
        })
        .map_err(|err| Failure::new(Exit::Failed, format!("cannot start a thread ({err})")))?;
    looper
        .join()
        .map_err(|_| Failure::new(Exit::Failed, "LoopThread panicked"))??;
    print(Exit::Failed, &format!("thread {MAIN_THREAD} ended.\n"))
}
