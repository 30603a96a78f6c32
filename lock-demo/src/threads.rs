//! The tutorials' first threading examples: MainThread starts one named
//! thread and joins it. Tutorial 000's LoopThread counts to 5 with a pause;
//! 002's THREAD1 prints its name and a count; 003's TestThread says hello.
//! Thread names are real: the spawned thread gets its name from
//! `thread::Builder`, and the main thread is called MainThread, as Python
//! calls it.

use std::thread;
use std::time::Duration;

use common::cli::{Failure, print};

use crate::cli::{ThreadsArgs, ThreadsWording};
use crate::exit::Exit;

const MAIN_THREAD: &str = "MainThread";

fn say(text: &str) -> Result<(), Failure> {
    print(Exit::Failed, text)
}

/// The lines of the spawned thread, which knows its own name.
fn in_thread(wording: ThreadsWording, count: u32, delay: Duration) -> Result<(), Failure> {
    let name = thread::current().name().unwrap_or("unnamed").to_string();
    match wording {
        ThreadsWording::T000 => {
            say(&format!("thread {name} is running...\n"))?;
            for n in 1..=count {
                say(&format!("thread {name} >>> {n}\n"))?;
                thread::sleep(delay);
            }
            say(&format!("thread {name} ended.\n"))
        }
        ThreadsWording::T002 => {
            say(&format!("{name}\n"))?;
            for n in 0..count {
                say(&format!("{name} {n}\n"))?;
                thread::sleep(delay);
            }
            say(&format!("{name}\n"))
        }
        ThreadsWording::T003 => {
            say(&format!("thread {name} is running...\n"))?;
            say("hello  test\n")?;
            say(&format!("thread {name} ended\n"))
        }
    }
}

pub fn run(args: &ThreadsArgs) -> Result<(), Failure> {
    let wording = args.wording;
    // Each listing's own count and pause: 000 sleeps 1 s between 5 lines,
    // 002 prints 100 lines without a pause.
    let count = args.count.unwrap_or(match wording {
        ThreadsWording::T000 => 5,
        ThreadsWording::T002 => 100,
        ThreadsWording::T003 => 0,
    });
    let delay = args.delay.unwrap_or(match wording {
        ThreadsWording::T000 => Duration::from_secs(1),
        _ => Duration::ZERO,
    });
    match wording {
        ThreadsWording::T000 => say(&format!("thread {MAIN_THREAD} is running...\n"))?,
        ThreadsWording::T002 => say(&format!("{MAIN_THREAD}\n"))?,
        ThreadsWording::T003 => {
            say(&format!("thread {MAIN_THREAD} is running...\n"))?;
            say("hello world\n")?;
        }
    }
    let name = args.name.clone().unwrap_or_else(|| {
        match wording {
            ThreadsWording::T000 => "LoopThread",
            ThreadsWording::T002 => "THREAD1",
            ThreadsWording::T003 => "TestThread",
        }
        .to_string()
    });
    let named = name.clone();
    thread::Builder::new()
        .name(name)
        .spawn(move || in_thread(wording, count, delay))
        .map_err(|err| Failure::new(Exit::Failed, format!("cannot start a thread ({err})")))?
        .join()
        .map_err(|_| Failure::new(Exit::Failed, format!("{named} panicked")))??;
    match wording {
        ThreadsWording::T000 => say(&format!("thread {MAIN_THREAD} ended.\n")),
        ThreadsWording::T002 => say(&format!("end {MAIN_THREAD}\n")),
        ThreadsWording::T003 => say(&format!("thread {MAIN_THREAD} ended\n")),
    }
}
