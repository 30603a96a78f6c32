//! The tutorials' fork and Process examples with real pids, and the memory
//! lesson: after fork each process has its own copy of every variable.
//!
//! fork-demo forks only while it has one thread (see `common::proc::fork_child`).
//! A pipe orders the lines: the child waits until the parent has printed, so
//! the output reads like the tutorial's on every run (`--race` drops that).

use std::cell::RefCell;
use std::io::{self, Read};

use common::cli::{Failure, print};
use common::exit::ChildExit;
use common::ipc::{PipeReader, PipeWriter, Queue, pipe};
use common::proc::{fork_child, wait_child};
use nix::unistd::{getpid, getppid};

use crate::cli::{ForkWording, MemoryStep, ProcessWording};
use crate::exit::Exit;

fn failed(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Failed, what, err)
}

/// Writes a child's line; the child's exit code says whether it got out.
/// A reader that left (`| head`) is no failure of the child: its line was
/// not wanted, as the parent's are not.
fn child_print(text: &str) -> bool {
    match common::cli::print(Exit::Failed, text) {
        Ok(()) => true,
        Err(failure) => failure.code == common::exit::SUCCESS,
    }
}

/// Holds a child until the parent has printed: the child reads its end of a
/// pipe until the parent closes the other.
struct Gate {
    reader: PipeReader,
    writer: RefCell<Option<PipeWriter>>,
}

impl Gate {
    fn new() -> io::Result<Gate> {
        let (reader, writer) = pipe()?;
        Ok(Gate {
            reader,
            writer: RefCell::new(Some(writer)),
        })
    }

    /// In the child: close our copy of the write end, wait for the parent's.
    fn wait(&self) {
        self.writer.borrow_mut().take();
        let mut rest = Vec::new();
        let _ = (&self.reader).read_to_end(&mut rest);
    }

    /// In the parent: let the child go.
    fn open(&self) {
        self.writer.borrow_mut().take();
    }
}

/// Waits for a child and turns its status into the demo's exit code.
fn reap(pid: u32) -> Result<ChildExit, Failure> {
    match wait_child(pid, true) {
        Ok(Some((exit, _))) => Ok(exit),
        Ok(None) => Err(Failure::new(Exit::Failed, format!("child {pid} vanished"))),
        Err(err) => Err(failed(&format!("waiting for child {pid}"), &err)),
    }
}

fn describe(exit: ChildExit) -> String {
    match exit {
        ChildExit::Exited(code) => format!("exit code {code}"),
        ChildExit::Signaled { signal, .. } => {
            let name = common::signal::Signal::from_number(signal)
                .map_or(signal.to_string(), |s| s.name());
            format!("killed by {name}")
        }
    }
}

/// The first failed child decides the exit code; it is reported on stderr.
fn outcome(children: &[(u32, ChildExit)]) -> Result<Exit, Failure> {
    match children.iter().find(|(_, exit)| !exit.success()) {
        Some((pid, exit)) => Err(Failure::new(
            Exit::Child(exit.code()),
            format!("child process {pid} ended with {}", describe(*exit)),
        )),
        None => Ok(Exit::Success),
    }
}

/// The parent's and the child's line in `wording`'s words.
fn fork_lines(wording: ForkWording) -> (&'static str, &'static str) {
    match wording {
        ForkWording::T000 => (".", ""),
        ForkWording::T003 => (".", "()"),
        ForkWording::C => ("", "()"),
    }
}

/// The default demo: the tutorial's fork example.
pub fn fork(
    race: bool,
    children: u32,
    child_exit: u8,
    wording: ForkWording,
) -> Result<Exit, Failure> {
    let me = getpid();
    // (the period ending both lines, the brackets around the parent's pid)
    let (period, brackets) = fork_lines(wording);
    let (open, close) = brackets.split_at(brackets.len() / 2);
    if wording == ForkWording::T000 {
        print(Exit::Failed, &format!("Process ({me}) start...\n"))?;
    }
    let mut reaped = Vec::new();
    for _ in 0..children {
        let gate = if race {
            None
        } else {
            Some(Gate::new().map_err(|e| failed("creating a pipe", &e))?)
        };
        let pid = fork_child(|| {
            if let Some(gate) = &gate {
                gate.wait();
            }
            let line = format!(
                "I am child process ({}) and my parent is {open}{}{close}{period}\n",
                getpid(),
                getppid()
            );
            if child_print(&line) {
                i32::from(child_exit)
            } else {
                1
            }
        })
        .map_err(|e| failed("fork", &e))?;
        let said = print(
            Exit::Failed,
            &format!("I ({me}) just created a child process ({pid}){period}\n"),
        );
        if let Some(gate) = &gate {
            gate.open();
        }
        let exit = reap(pid)?;
        said?;
        reaped.push((pid, exit));
    }
    if children > 1 {
        let mut list = String::new();
        for (pid, exit) in &reaped {
            list.push_str(&format!(
                "Reaped child process ({pid}): {}.\n",
                describe(*exit)
            ));
        }
        print(Exit::Failed, &list)?;
    }
    outcome(&reaped)
}

/// The tutorial's `Process(target=run_proc, args=('test',))`, start, join.
/// Tutorial 002's fragment prints only the child's argument.
pub fn process(name: &str, wording: ProcessWording) -> Result<Exit, Failure> {
    let (starts, ends) = match wording {
        ProcessWording::T000 => ("Child process will start.", "Child process end."),
        ProcessWording::T003 => ("Process will start", "Process end."),
        ProcessWording::T002 => ("", ""),
    };
    let talks = wording != ProcessWording::T002;
    if talks {
        print(Exit::Failed, &format!("Parent process {}.\n", getpid()))?;
        print(Exit::Failed, &format!("{starts}\n"))?;
    }
    let pid = fork_child(|| {
        let line = if talks {
            format!("Run child process {name} ({})...\n", getpid())
        } else {
            format!("{name}\n")
        };
        if child_print(&line) { 0 } else { 1 }
    })
    .map_err(|e| failed("fork", &e))?;
    let exit = reap(pid)?;
    if talks {
        print(Exit::Failed, &format!("{ends}\n"))?;
    }
    outcome(&[(pid, exit)])
}

/// `[0, 3, 6]`, as Python prints a list of numbers.
pub fn python_numbers(list: &[u64]) -> String {
    let items: Vec<String> = list.iter().map(u64::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// `[[0], [], [4]]`, as Python prints a list of lists.
fn python_list(lists: &[Vec<u64>]) -> String {
    let inner: Vec<String> = lists.iter().map(|list| python_numbers(list)).collect();
    format!("[{}]", inner.join(", "))
}

/// Each child appends i*i to `ret[i]` of its copy; the parent's stays empty.
/// Then the fix: children put their results on a queue, the parent collects.
pub fn memory(children: u32) -> Result<Exit, Failure> {
    let me = getpid();
    let mut ret: Vec<Vec<u64>> = vec![Vec::new(); children as usize];
    let mut queue = Queue::new().map_err(|e| failed("creating the queue", &e))?;
    print(
        Exit::Failed,
        &format!("Parent process {me} has ret = {}\n", python_list(&ret)),
    )?;
    let mut reaped = Vec::new();
    for i in 0..children as usize {
        let value = (i * i) as u64;
        let ret = &mut ret;
        let queue = &queue;
        let pid = fork_child(move || {
            // This is the child's copy of `ret`: the parent never sees it.
            ret[i].push(value);
            let line = format!(
                "Child process {} appended {value}: its ret = {}\n",
                getpid(),
                python_list(ret)
            );
            let sent = queue.put(format!("{i} {value}").as_bytes()).is_ok();
            if child_print(&line) && sent { 0 } else { 1 }
        })
        .map_err(|e| failed("fork", &e))?;
        reaped.push((pid, reap(pid)?));
    }
    print(
        Exit::Failed,
        &format!(
            "Parent process {me} still has ret = {}: each child appended to its own copy.\n",
            python_list(&ret)
        ),
    )?;
    queue.close_sending();
    let mut collected: Vec<Vec<u64>> = vec![Vec::new(); children as usize];
    while let Some(message) = queue.get().map_err(|e| failed("reading the queue", &e))? {
        let text = String::from_utf8_lossy(&message);
        let mut fields = text.split(' ').map(str::parse::<u64>);
        if let (Some(Ok(index)), Some(Ok(value))) = (fields.next(), fields.next())
            && let Some(slot) = usize::try_from(index)
                .ok()
                .and_then(|i| collected.get_mut(i))
        {
            slot.push(value);
        }
    }
    print(
        Exit::Failed,
        &format!(
            "With a queue the children sent their results back: ret = {}\n",
            python_list(&collected)
        ),
    )?;
    outcome(&reaped)
}

/// One step of tutorial 002's list programs, printing only its list as the
/// listing does.
pub fn memory_step(step: MemoryStep, children: u32) -> Result<Exit, Failure> {
    let lists = children as usize;
    match step {
        MemoryStep::Copies => {
            let mut ret: Vec<Vec<u64>> = vec![Vec::new(); lists];
            let mut reaped = Vec::new();
            for i in 0..lists {
                let ret = &mut ret;
                let pid = fork_child(move || {
                    // The child's copy: the parent's `ret` stays empty.
                    ret[i].push((i * i) as u64);
                    0
                })
                .map_err(|e| failed("fork", &e))?;
                reaped.push((pid, reap(pid)?));
            }
            print(Exit::Failed, &format!("{}\n", python_list(&ret)))?;
            outcome(&reaped)
        }
        MemoryStep::OneProcess => {
            let ret: Vec<Vec<u64>> = (0..lists).map(|i| vec![(i * i) as u64]).collect();
            print(Exit::Failed, &format!("{}\n", python_list(&ret)))?;
            Ok(Exit::Success)
        }
        MemoryStep::Queues => through_queues(lists, 1000),
    }
}

/// The end of a queue's stream, as the tutorial's `None`.
const END: &[u8] = b"None";

/// 002-10: `items` numbers dealt round-robin to one process per queue, sent
/// back through a result queue each, and collected queue by queue.
fn through_queues(queues: usize, items: u64) -> Result<Exit, Failure> {
    let make = || -> Result<Vec<Queue>, Failure> {
        (0..queues)
            .map(|_| Queue::new().map_err(|e| failed("creating a queue", &e)))
            .collect()
    };
    let (inputs, results) = (make()?, make()?);
    let mut pids = Vec::new();
    for k in 0..queues {
        let (input, result) = (&inputs[k], &results[k]);
        let pid = fork_child(move || {
            // The reader keeps what it takes (Python's queue feeder buffers
            // the same way), so the parent can put every number first.
            let mut taken = Vec::new();
            while let Ok(Some(message)) = input.get() {
                if message == END {
                    break;
                }
                taken.push(message);
            }
            for message in taken.iter().map(Vec::as_slice).chain([END]) {
                if result.put(message).is_err() {
                    return 1;
                }
            }
            0
        })
        .map_err(|e| failed("fork", &e))?;
        pids.push(pid);
    }
    for i in 0..items {
        let queue = &inputs[(i % queues as u64) as usize];
        queue
            .put(i.to_string().as_bytes())
            .map_err(|e| failed("writing a queue", &e))?;
    }
    for queue in &inputs {
        queue.put(END).map_err(|e| failed("writing a queue", &e))?;
    }
    let mut collected = Vec::new();
    for queue in &results {
        while let Some(message) = queue.get().map_err(|e| failed("reading a queue", &e))? {
            if message == END {
                break;
            }
            if let Ok(number) = String::from_utf8_lossy(&message).parse::<u64>() {
                collected.push(number);
            }
        }
    }
    let mut reaped = Vec::new();
    for pid in pids {
        reaped.push((pid, reap(pid)?));
    }
    print(Exit::Failed, &format!("{}\n", python_numbers(&collected)))?;
    outcome(&reaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_print_like_python() {
        assert_eq!(python_list(&[vec![], vec![], vec![]]), "[[], [], []]");
        assert_eq!(
            python_list(&[vec![0], vec![1, 2], vec![4]]),
            "[[0], [1, 2], [4]]"
        );
    }

    #[test]
    fn the_first_failed_child_decides() {
        let ok = (1, ChildExit::Exited(0));
        let bad = (2, ChildExit::Exited(3));
        let killed = (
            3,
            ChildExit::Signaled {
                signal: 9,
                core_dumped: false,
            },
        );
        assert_eq!(outcome(&[ok]), Ok(Exit::Success));
        let failure = outcome(&[ok, bad, killed]).unwrap_err();
        assert_eq!(failure.code, 3);
        assert_eq!(failure.message, "child process 2 ended with exit code 3");
        assert_eq!(outcome(&[killed]).unwrap_err().code, 137);
    }
}
