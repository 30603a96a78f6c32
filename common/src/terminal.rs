//! Sharing the terminal with a command that runs in its own process group.
//!
//! From an interactive prompt the shell makes the tool's group the
//! terminal's foreground group. The command runs in a new group (so a
//! timeout can kill its children), and a background group that reads the
//! terminal is stopped by SIGTTIN. So the tool hands the terminal to the
//! command's group, as a shell does for a job, and takes it back when the
//! command ends or is stopped with Ctrl-Z. coreutils `timeout` gets the same
//! effect by staying in the command's group; this way Ctrl-C and Ctrl-Z
//! reach the command exactly once and the tool can still kill the whole
//! group. subproc does it for its command, pool-run --tty for each job.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::signal::{SigSet, SigmaskHow, Signal as NixSignal, pthread_sigmask};
use nix::unistd::{Pid, getpgrp, isatty, tcgetpgrp, tcsetpgrp};

/// A terminal whose foreground group this process's group is.
#[derive(Debug)]
pub struct Terminal {
    our_group: Pid,
    /// /dev/tty, when the terminal is not stdin.
    opened: Option<File>,
}

fn stdin_fd() -> BorrowedFd<'static> {
    // SAFETY: descriptor 0 belongs to the process for its whole life; the
    // tools never close it.
    unsafe { BorrowedFd::borrow_raw(0) }
}

impl Terminal {
    /// `Some` when stdin is a terminal and our group is in its foreground:
    /// only then is there a terminal to hand over.
    pub fn if_foreground() -> Option<Terminal> {
        Terminal::checked(None)
    }

    /// The controlling terminal (/dev/tty) when our group is in its
    /// foreground, whatever stdin is.
    pub fn controlling() -> Option<Terminal> {
        Terminal::checked(Some(
            File::options()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()?,
        ))
    }

    fn checked(opened: Option<File>) -> Option<Terminal> {
        let terminal = Terminal {
            our_group: getpgrp(),
            opened,
        };
        let fd = terminal.fd();
        if !isatty(fd).unwrap_or(false) || tcgetpgrp(fd).ok()? != terminal.our_group {
            return None;
        }
        Some(terminal)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match &self.opened {
            Some(file) => file.as_fd(),
            None => stdin_fd(),
        }
    }

    /// Makes `pgid` the terminal's foreground group.
    pub fn give_to(&self, pgid: u32) -> io::Result<()> {
        let pgid = Pid::from_raw(i32::try_from(pgid).map_err(|_| io::ErrorKind::InvalidInput)?);
        set_foreground(self.fd(), pgid)
    }

    /// Makes our own group the foreground group again.
    pub fn take_back(&self) -> io::Result<()> {
        set_foreground(self.fd(), self.our_group)
    }
}

/// tcsetpgrp from a background group raises SIGTTOU, which would stop us:
/// it is blocked around the call, as shells do.
fn set_foreground(fd: BorrowedFd<'_>, pgid: Pid) -> io::Result<()> {
    let mut ttou = SigSet::empty();
    ttou.add(NixSignal::SIGTTOU);
    let mut previous = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut previous))?;
    let result = tcsetpgrp(fd, pgid);
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None)?;
    result.map_err(io::Error::from)
}
