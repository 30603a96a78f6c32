//! Sharing the terminal with a command that runs in its own process group.
//!
//! From an interactive prompt the shell makes subproc's group the terminal's
//! foreground group. The command runs in a new group (so a timeout can kill
//! its children), and a background group that reads the terminal is stopped
//! by SIGTTIN. So subproc hands the terminal to the command's group, as a
//! shell does for a job, and takes it back when the command ends or is
//! stopped with Ctrl-Z. coreutils `timeout` gets the same effect by staying in
//! the command's group; this way Ctrl-C and Ctrl-Z reach the command exactly
//! once and subproc can still kill the whole group.

use std::io;
use std::os::fd::BorrowedFd;

use nix::sys::signal::{SigSet, SigmaskHow, Signal as NixSignal, pthread_sigmask};
use nix::unistd::{Pid, getpgrp, isatty, tcgetpgrp, tcsetpgrp};

/// The terminal on stdin, when subproc's group is its foreground group.
#[derive(Debug)]
pub struct Terminal {
    our_group: Pid,
}

fn stdin_fd() -> BorrowedFd<'static> {
    // SAFETY: descriptor 0 belongs to the process for its whole life;
    // subproc never closes it.
    unsafe { BorrowedFd::borrow_raw(0) }
}

impl Terminal {
    /// `Some` when stdin is a terminal and subproc is in its foreground
    /// group: only then is there a terminal to hand over.
    pub fn if_foreground() -> Option<Terminal> {
        let stdin = stdin_fd();
        if !isatty(stdin).unwrap_or(false) {
            return None;
        }
        let our_group = getpgrp();
        (tcgetpgrp(stdin).ok()? == our_group).then_some(Terminal { our_group })
    }

    /// Makes `pgid` the terminal's foreground group.
    pub fn give_to(&self, pgid: u32) -> io::Result<()> {
        let pgid = Pid::from_raw(i32::try_from(pgid).map_err(|_| io::ErrorKind::InvalidInput)?);
        set_foreground(pgid)
    }

    /// Makes subproc's own group the foreground group again.
    pub fn take_back(&self) -> io::Result<()> {
        set_foreground(self.our_group)
    }
}

/// tcsetpgrp from a background group raises SIGTTOU, which would stop us:
/// it is blocked around the call, as shells do.
fn set_foreground(pgid: Pid) -> io::Result<()> {
    let mut ttou = SigSet::empty();
    ttou.add(NixSignal::SIGTTOU);
    let mut previous = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut previous))?;
    let result = tcsetpgrp(stdin_fd(), pgid);
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None)?;
    result.map_err(io::Error::from)
}
