//! Signals as the tools handle them: by name (`TERM`, `SIGTERM`, `15`), and
//! synchronously. A tool blocks the signals it cares about before it starts
//! any thread or child, then reads them from a descriptor that a poll loop can
//! wait on together with its pipes and deadlines. No async handler runs, so
//! nothing is restricted to async-signal-safe code. After cleaning up, a tool
//! that should die of the signal it got calls `reraise`, so its parent (a
//! shell, `set -e`, a supervisor) sees a real signal death.

use std::fmt;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal as NixSignal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// A signal number known to this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(i32);

/// Linux signal names, without the `SIG` prefix.
const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

impl Signal {
    pub const HUP: Signal = Signal(libc::SIGHUP);
    pub const INT: Signal = Signal(libc::SIGINT);
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    pub const KILL: Signal = Signal(libc::SIGKILL);
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    pub const PIPE: Signal = Signal(libc::SIGPIPE);
    pub const TERM: Signal = Signal(libc::SIGTERM);
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    pub const CONT: Signal = Signal(libc::SIGCONT);

    /// Accepts `TERM`, `SIGTERM`, `term`, `sigterm` and `15`.
    pub fn parse(text: &str) -> Result<Signal, UnknownSignal> {
        let unknown = || UnknownSignal(text.to_string());
        let trimmed = text.trim();
        if let Ok(number) = trimmed.parse::<i32>() {
            return Signal::from_number(number).ok_or_else(unknown);
        }
        let upper = trimmed.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        NAMES
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(_, number)| Signal(*number))
            .ok_or_else(unknown)
    }

    /// A signal by number, if this machine has it (1..=64, realtime included).
    pub fn from_number(number: i32) -> Option<Signal> {
        (1..=libc::SIGRTMAX())
            .contains(&number)
            .then_some(Signal(number))
    }

    pub fn number(self) -> i32 {
        self.0
    }

    /// `SIGTERM`, or `SIG34` for a signal without a name.
    pub fn name(self) -> String {
        match NAMES.iter().find(|(_, number)| *number == self.0) {
            Some((name, _)) => format!("SIG{name}"),
            None => format!("SIG{}", self.0),
        }
    }

    fn to_nix(self) -> io::Result<NixSignal> {
        NixSignal::try_from(self.0).map_err(io::Error::from)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A signal name or number this machine does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSignal(String);

impl fmt::Display for UnknownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown signal '{}' (use a name like TERM or SIGKILL, or a number like 15)",
            self.0
        )
    }
}

impl std::error::Error for UnknownSignal {}

/// One signal as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signal: Signal,
    /// Who sent it: a pid for kill(2), 0 for the kernel (terminal keys,
    /// SIGCHLD, SIGPIPE).
    pub sender_pid: u32,
    /// True when the terminal driver or the kernel raised it rather than a
    /// process; a tool sharing a terminal with its child skips forwarding
    /// those, because the child got the same signal from the terminal.
    pub from_kernel: bool,
}

/// The signals of a set, blocked for normal delivery and read from a
/// descriptor instead. Create it in the main thread before starting any thread
/// (threads inherit the mask) or child (std clears the mask in children, so
/// commands still get default signal behaviour). Dropping it unblocks them:
/// whatever is still pending is then delivered normally.
#[derive(Debug)]
pub struct SignalWatcher {
    fd: SignalFd,
    previous_mask: SigSet,
}

impl SignalWatcher {
    pub fn new(signals: &[Signal]) -> io::Result<Self> {
        let mut set = SigSet::empty();
        for signal in signals {
            set.add(signal.to_nix()?);
        }
        let mut previous_mask = SigSet::empty();
        nix::sys::signal::pthread_sigmask(
            SigmaskHow::SIG_BLOCK,
            Some(&set),
            Some(&mut previous_mask),
        )?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(SignalWatcher { fd, previous_mask })
    }

    /// The next pending signal, if any, without waiting.
    pub fn try_next(&self) -> io::Result<Option<Received>> {
        let Some(info) = self.fd.read_signal()? else {
            return Ok(None);
        };
        let number = i32::try_from(info.ssi_signo).unwrap_or(0);
        Ok(Signal::from_number(number).map(|signal| Received {
            signal,
            sender_pid: info.ssi_pid,
            from_kernel: info.ssi_code == libc::SI_KERNEL,
        }))
    }

    /// Waits for a signal for at most `timeout` (`None`: no limit).
    /// `Ok(None)` means the time ran out first.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<Option<Received>> {
        loop {
            if let Some(received) = self.try_next()? {
                return Ok(Some(received));
            }
            if !crate::ipc::wait_readable(self.fd.as_fd(), timeout)? {
                return Ok(None);
            }
        }
    }
}

impl AsFd for SignalWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for SignalWatcher {
    fn drop(&mut self) {
        let _ = nix::sys::signal::pthread_sigmask(
            SigmaskHow::SIG_SETMASK,
            Some(&self.previous_mask),
            None,
        );
    }
}

/// Puts the default action back for these signals. A tool calls it for
/// SIGCHLD at start: an ignored SIGCHLD, inherited through exec, would make
/// the kernel reap children before the tool can read their status.
pub fn reset_to_default(signals: &[Signal]) -> io::Result<()> {
    for signal in signals {
        // SAFETY: installing SIG_DFL runs no code of ours in signal context.
        unsafe { nix::sys::signal::signal(signal.to_nix()?, SigHandler::SigDfl) }?;
    }
    Ok(())
}

/// Dies of `signal` after cleanup, so the parent sees a real signal death:
/// flushes stdout, restores the default action, unblocks and raises it.
/// Returns the shell-style code 128+N only if the process survived (the
/// signal was one whose default action is to continue).
pub fn reraise(signal: Signal) -> u8 {
    let _ = io::stdout().flush();
    if let Ok(nix_signal) = signal.to_nix() {
        let _ = reset_to_default(&[signal]);
        let mut set = SigSet::empty();
        set.add(nix_signal);
        let _ = set.thread_unblock();
        let _ = nix::sys::signal::raise(nix_signal);
    }
    crate::exit::SIGNAL_BASE.saturating_add(u8::try_from(signal.0).unwrap_or(u8::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    #[test]
    fn parses_names_prefixes_case_and_numbers() {
        for text in ["TERM", "SIGTERM", "term", "sigterm", "15", " 15 "] {
            assert_eq!(Signal::parse(text), Ok(Signal::TERM), "{text}");
        }
        assert_eq!(Signal::parse("KILL").unwrap().number(), 9);
        assert_eq!(Signal::parse("usr1"), Ok(Signal::USR1));
        assert_eq!(Signal::TERM.name(), "SIGTERM");
        assert_eq!(Signal::from_number(34).unwrap().name(), "SIG34");
        for bad in ["TERMX", "0", "65", "-1", ""] {
            let err = Signal::parse(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("'{bad}'")));
        }
    }

    /// The watcher is tested in a child (this test binary, rerun on one test)
    /// because blocking signals and raising them must not disturb the other
    /// tests' threads.
    fn run_in_child(test: &str) -> std::process::ExitStatus {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env("PROCKIT_SIGNAL_CHILD", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
    }

    fn in_child() -> bool {
        std::env::var_os("PROCKIT_SIGNAL_CHILD").is_some()
    }

    #[test]
    fn watcher_reads_a_sent_signal_and_times_out_otherwise() {
        if !in_child() {
            let status =
                run_in_child("signal::tests::watcher_reads_a_sent_signal_and_times_out_otherwise");
            assert!(status.success(), "{status:?}");
            return;
        }
        let watcher = SignalWatcher::new(&[Signal::USR1]).unwrap();
        let started = Instant::now();
        assert_eq!(watcher.wait(Some(Duration::from_millis(30))).unwrap(), None);
        assert!(started.elapsed() >= Duration::from_millis(30));
        // Aimed at this thread: libtest runs the test off the main thread,
        // whose mask still lets a process-wide SIGUSR1 kill us.
        nix::sys::signal::raise(NixSignal::SIGUSR1).unwrap();
        let received = watcher
            .wait(Some(Duration::from_secs(10)))
            .unwrap()
            .unwrap();
        assert_eq!(received.signal, Signal::USR1);
        assert_eq!(received.sender_pid, std::process::id());
        assert!(!received.from_kernel);
    }

    #[test]
    fn reraise_dies_of_the_signal() {
        if !in_child() {
            let status = run_in_child("signal::tests::reraise_dies_of_the_signal");
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
            return;
        }
        let _watcher = SignalWatcher::new(&[Signal::TERM]).unwrap();
        reraise(Signal::TERM);
        // Only reached if the signal did not kill us; the parent then fails.
    }
}
