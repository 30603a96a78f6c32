//! Jobs must not outlive pool-run, even when it is killed with SIGKILL and
//! cannot clean up. A parent-death signal in each job would need a `pre_exec`
//! hook, which costs every spawn the posix_spawn fast path; instead one
//! watchdog process, forked at start, is told each job's process group as it
//! starts and ends. When pool-run dies, whatever the cause, its end of the
//! pipe closes, and the watchdog kills every group still registered.

use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Write};

use common::ipc::{PipeWriter, pipe};
use common::proc::{fork_child, signal_group, signal_group_and_continue};
use common::signal::Signal;

/// pool-run's end of the watchdog's pipe.
#[derive(Debug)]
pub struct Watchdog {
    writer: PipeWriter,
    /// Registrations not yet sent: ends wait for the next start or loop
    /// turn, so a run makes one write per start, not two per job.
    unsent: Vec<u8>,
}

impl Watchdog {
    /// Forks the watchdog. Call it while pool-run has one thread.
    pub fn start() -> io::Result<Watchdog> {
        let (reader, writer) = pipe()?;
        let writer_slot = std::cell::RefCell::new(Some(writer));
        // Room for many registrations between the watchdog's reads.
        // SAFETY: F_SETPIPE_SZ on our own pipe; a refusal keeps the default.
        unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&reader),
                libc::F_SETPIPE_SZ,
                1 << 20,
            );
        }
        common::ipc::set_nonblocking(&reader, true)?;
        fork_child(|| {
            // Our copy of the write end would keep the pipe open forever.
            drop(writer_slot.borrow_mut().take());
            watch(BufReader::new(reader));
            0
        })?;
        let writer = writer_slot
            .borrow_mut()
            .take()
            .ok_or_else(|| io::Error::other("lost the watchdog's pipe"))?;
        Ok(Watchdog {
            writer,
            unsent: Vec::new(),
        })
    }

    /// A job's group started. Sent at once, with the registrations before
    /// it (in order: an ended group's id may be the new one's): a job can
    /// print before the supervisor's next loop turn, and a pool-run killed
    /// right then must not leave it running. One short write per start.
    pub fn started(&mut self, pgid: u32) {
        let _ = writeln!(self.unsent, "+{pgid}");
        self.send();
    }

    /// A job's group is gone (no longer ours to kill).
    pub fn ended(&mut self, pgid: u32) {
        let _ = writeln!(self.unsent, "-{pgid}");
    }

    /// A Slurm allocation pool-run made, to cancel if pool-run dies.
    pub fn slurm_job(&mut self, id: &str) {
        let _ = writeln!(self.unsent, "s{id}");
        self.send();
    }

    /// A private directory of pool-run (the ssh control sockets), to remove
    /// if pool-run dies without removing it.
    pub fn directory(&mut self, path: &std::path::Path) {
        let _ = writeln!(self.unsent, "d{}", path.display());
    }

    /// Sends the registrations made since the last call. The supervisor
    /// calls it before it waits, so an ended group is forgotten within one
    /// loop turn.
    pub fn send(&mut self) {
        if !self.unsent.is_empty() {
            let _ = self.writer.write_all(&self.unsent);
            self.unsent.clear();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Ended groups must not stay registered: their ids may be reused.
        self.send();
    }
}

/// The watchdog's life: follow the registrations until pool-run's end of
/// the pipe closes, then kill every group still registered.
fn watch(reader: impl BufRead) {
    // Interrupts are pool-run's to handle; the watchdog only acts on its death.
    for signal in [
        Signal::INT,
        Signal::TERM,
        Signal::HUP,
        Signal::QUIT,
        Signal::PIPE,
    ] {
        let _ = common::signal::ignore(signal);
    }
    // Let go of pool-run's stdin and stdout, so a reader of pool-run's output
    // never waits on the watchdog.
    if let Ok(null) = std::fs::File::open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto descriptors 0 and 1 of this process only.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
    // Reading each line as it comes would wake this process twice per job,
    // a context switch that cost pool-run 8% on short jobs. Instead it wakes
    // every 50ms and takes what has piled up (the pipe holds thousands).
    let mut groups: HashSet<u32> = HashSet::new();
    let mut directories: Vec<std::path::PathBuf> = Vec::new();
    let mut slurm_jobs: Vec<String> = Vec::new();
    let mut reader = reader;
    let mut line = String::new();
    'watch: loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        loop {
            // A line cut short by the non-blocking read stays in `line`
            // until the rest arrives.
            match reader.read_line(&mut line) {
                Ok(0) => break 'watch,
                Ok(_) if !line.ends_with('\n') => continue,
                Ok(_) => {
                    let text = line.trim_end();
                    let (sign, number) = text.split_at(text.len().min(1));
                    if sign == "d" {
                        directories.push(std::path::PathBuf::from(number));
                    } else if sign == "s" {
                        slurm_jobs.push(number.to_string());
                    } else if let Ok(pgid) = number.parse::<u32>() {
                        if sign == "+" {
                            groups.insert(pgid);
                        } else {
                            groups.remove(&pgid);
                        }
                    }
                    line.clear();
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break 'watch,
            }
        }
    }
    for &pgid in &groups {
        let _ = signal_group_and_continue(pgid, Signal::TERM);
    }
    if !groups.is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        for &pgid in &groups {
            let _ = signal_group(pgid, Signal::KILL);
        }
    }
    // pool-run releases its Slurm allocation itself unless it was killed.
    if !slurm_jobs.is_empty() {
        let _ = std::process::Command::new("scancel")
            .args(&slurm_jobs)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    // pool-run removes its private directories itself unless it was killed.
    for directory in &directories {
        let _ = std::fs::remove_dir_all(directory);
    }
}
