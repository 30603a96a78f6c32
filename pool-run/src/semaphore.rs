//! `--semaphore` (and pool-run started as `sem`): GNU parallel's counting
//! semaphore, which scripts use to cap how many commands run at once across
//! separate invocations: `for f in *.log; do sem -j2 gzip "$f"; done; sem --wait`.
//!
//! A semaphore of N slots is N lock files in a per-user directory; holding
//! a slot is holding an exclusive `flock` on its file. The kernel releases
//! a lock when its last holder exits, however it exits, so a killed command
//! never leaks a slot, and nobody polls pid files. The command inherits the
//! locked descriptor and keeps its slot until it (and anything it started
//! that still holds the descriptor) is gone.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use common::cli::Failure;

use crate::exit::Exit;

/// What a `sem` call does.
#[derive(Debug, Clone, PartialEq)]
pub struct Semaphore {
    /// Its name (`--id`): calls with the same id share the slots.
    pub id: String,
    pub slots: usize,
    /// --fg: wait for the command and exit with its status.
    pub foreground: bool,
    /// --wait: wait until no command of this id runs.
    pub wait: bool,
    /// --semaphore-timeout SECS: after SECS without a slot, run anyway;
    /// -SECS: give up.
    pub timeout: Option<f64>,
    /// The command line (run through sh, as GNU parallel does).
    pub command: Vec<String>,
}

/// The directory of semaphore `id`: under $XDG_RUNTIME_DIR (per user,
/// cleared at logout), else under the home directory, as GNU parallel's
/// `~/.parallel/semaphores`.
fn directory(id: &str) -> Result<PathBuf, Failure> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|d| PathBuf::from(d).join("pool-run"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".parallel")))
        .ok_or_else(|| {
            Failure::new(
                Exit::Error,
                "--semaphore: neither XDG_RUNTIME_DIR nor HOME is set",
            )
        })?;
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = base.join("semaphores").join(format!("id-{safe}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::io(Exit::Error, format!("creating {}", dir.display()), &e))?;
    Ok(dir)
}

fn slot_file(dir: &std::path::Path, n: usize) -> Result<File, Failure> {
    let path = dir.join(format!("slot-{n}"));
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Failure::io(Exit::Error, format!("opening {}", path.display()), &e))
}

/// flock on `file`; `block`: wait for it. True if it is ours now.
fn lock(file: &File, block: bool) -> Result<bool, Failure> {
    let flags = libc::LOCK_EX | if block { 0 } else { libc::LOCK_NB };
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), flags) } == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !block => return Ok(false),
            _ => return Err(Failure::io(Exit::Error, "locking a semaphore slot", &err)),
        }
    }
}

/// A free slot within `limit`, tried every 10 ms (flock has no timed
/// wait); None when the time ran out.
fn acquire_within(
    dir: &std::path::Path,
    slots: usize,
    limit: std::time::Duration,
) -> Result<Option<File>, Failure> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        for n in 0..slots {
            let file = slot_file(dir, n)?;
            if lock(&file, false)? {
                return Ok(Some(file));
            }
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A free slot, locked: the first free one, else (all taken) wait for one.
/// Waiting blocks in the kernel on one slot, chosen by the caller's pid so
/// that waiters spread over the slots.
fn acquire(dir: &std::path::Path, slots: usize) -> Result<File, Failure> {
    for n in 0..slots {
        let file = slot_file(dir, n)?;
        if lock(&file, false)? {
            return Ok(file);
        }
    }
    let file = slot_file(dir, std::process::id() as usize % slots)?;
    lock(&file, true)?;
    Ok(file)
}

pub fn run(sem: &Semaphore) -> Result<u8, Failure> {
    let dir = directory(&sem.id)?;
    if sem.wait {
        // Every slot taken in turn: then no command of this id runs.
        let held: Vec<File> = (0..sem.slots.max(1))
            .map(|n| slot_file(&dir, n))
            .collect::<Result<_, _>>()?;
        for file in &held {
            lock(file, true)?;
        }
        if sem.command.is_empty() {
            return Ok(0);
        }
    }
    if sem.command.is_empty() {
        return Err(Failure::new(
            Exit::Error,
            "--semaphore: no command (see --help)",
        ));
    }
    let slot = match sem.timeout {
        None => acquire(&dir, sem.slots.max(1))?,
        Some(secs) => {
            let limit = std::time::Duration::from_secs_f64(secs.abs());
            match acquire_within(&dir, sem.slots.max(1), limit)? {
                Some(slot) => slot,
                None if secs < 0.0 => {
                    return Err(Failure::new(
                        Exit::Failed(1),
                        format!(
                            "--semaphore-timeout: no slot of '{}' came free in {}s; giving up",
                            sem.id,
                            secs.abs()
                        ),
                    ));
                }
                // Run anyway, holding no slot (GNU parallel's positive timeout).
                None => File::open("/dev/null")
                    .map_err(|e| Failure::io(Exit::Error, "opening /dev/null", &e))?,
            }
        }
    };
    // The command keeps the slot: a dup of the locked descriptor has no
    // close-on-exec flag, so the command inherits it (one open file
    // description, one lock, released when the last holder closes it).
    // SAFETY: dup of a descriptor we own; the new one is owned below.
    let inherited = unsafe { libc::dup(slot.as_raw_fd()) };
    if inherited < 0 {
        let err = std::io::Error::last_os_error();
        return Err(Failure::io(Exit::Error, "passing the slot on", &err));
    }
    // SAFETY: `inherited` is a fresh descriptor of ours.
    let inherited = unsafe { std::os::fd::OwnedFd::from_raw_fd(inherited) };
    let mut command = Command::new("sh");
    command.arg("-c").arg(sem.command.join(" "));
    if !sem.foreground {
        // Its own group: a Ctrl-C at the script's terminal after sem has
        // returned is not the background command's business.
        command.process_group(0);
    }
    let mut child = command
        .spawn()
        .map_err(|e| Failure::io(Exit::Error, "starting the command", &e))?;
    drop((slot, inherited));
    if !sem.foreground {
        return Ok(0);
    }
    let status = child
        .wait()
        .map_err(|e| Failure::io(Exit::Error, "waiting for the command", &e))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(common::exit::ChildExit::from_raw(status.into_raw()).code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_held_until_its_file_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), 1).unwrap();
        let other = slot_file(dir.path(), 0).unwrap();
        assert!(!lock(&other, false).unwrap(), "the one slot is taken");
        drop(first);
        assert!(
            lock(&other, false).unwrap(),
            "free once its holder closed it"
        );
        let second = acquire(dir.path(), 2).unwrap();
        drop(second);
    }
}
