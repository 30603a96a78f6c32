//! Signals as the tools handle them: by name (`TERM`, `SIGTERM`, `15`), and
//! as events a poll loop reads from a descriptor (`SignalWatcher`), so the
//! tool reacts in its normal code, not in a handler. After cleaning up, a tool
//! that should die of the signal it got calls `reraise`, so its parent (a
//! shell, `set -e`, a supervisor) sees a real signal death.

use std::fmt;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::sys::signal::{SigHandler, SigSet, Signal as NixSignal};

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
    /// Signal 0, "EXIT" as coreutils and the shell name it: sending it
    /// only checks that the target exists (`timeout -s 0` accepts it).
    pub const EXIT: Signal = Signal(0);
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
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    pub const TSTP: Signal = Signal(libc::SIGTSTP);
    pub const TTIN: Signal = Signal(libc::SIGTTIN);
    pub const TTOU: Signal = Signal(libc::SIGTTOU);

    /// Accepts `TERM`, `SIGTERM`, `term`, `sigterm` and `15`.
    pub fn parse(text: &str) -> Result<Signal, UnknownSignal> {
        let unknown = || UnknownSignal(text.to_string());
        let trimmed = text.trim();
        if let Ok(number) = trimmed.parse::<i32>() {
            if number == 0 {
                return Ok(Signal::EXIT);
            }
            return Signal::from_number(number).ok_or_else(unknown);
        }
        let upper = trimmed.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        if bare == "EXIT" {
            return Ok(Signal::EXIT);
        }
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

    /// `SIGTERM`, or `SIG34` for a signal without a name; `EXIT` for 0.
    pub fn name(self) -> String {
        if self == Signal::EXIT {
            return "EXIT".to_string();
        }
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
    /// True when the terminal driver or the kernel raised it rather than a
    /// process calling kill(2); a tool sharing a terminal with its child
    /// skips forwarding those, because the child got the same signal from
    /// the terminal.
    pub from_kernel: bool,
}

/// Bytes one received signal takes in the self-pipe: number, from_kernel.
const RECORD_LEN: usize = 2;

/// Signals turned into bytes on a pipe (the self-pipe pattern), so a poll
/// loop can wait for them together with its children's pipes and deadlines.
///
/// Handlers, not a blocked mask plus signalfd: std's `Command` does not clear
/// the signal mask in the children it spawns, so blocked signals would stay
/// blocked in every command the tool runs. A handler is reset to the default
/// action by exec, so commands start with normal signal behaviour.
///
/// A signal that was ignored when the tool started (`nohup`, a background job
/// of a non-interactive shell) is left ignored and not watched: commands
/// inherit that, as they would from a shell.
#[derive(Debug)]
pub struct SignalWatcher {
    reader: crate::ipc::PipeReader,
    /// Kept open for the handlers, which write to its raw descriptor.
    _writer: crate::ipc::PipeWriter,
    registered: Vec<(Signal, signal_hook_registry::SigId)>,
}

/// Whether `signal` is ignored (SIG_IGN) right now.
fn is_ignored(signal: Signal) -> io::Result<bool> {
    // SAFETY: a null new action only reads the current one into `old`, a
    // zeroed (valid) sigaction owned by this frame.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::sigaction(signal.0, std::ptr::null(), &mut old) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(old.sa_sigaction == libc::SIG_IGN)
}

impl SignalWatcher {
    /// Watches `signals`, except those ignored at start (see the type's doc).
    pub fn new(signals: &[Signal]) -> io::Result<Self> {
        let (reader, writer) = crate::ipc::pipe()?;
        crate::ipc::set_nonblocking(&reader, true)?;
        crate::ipc::set_nonblocking(&writer, true)?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&writer);
        let mut watcher = SignalWatcher {
            reader,
            _writer: writer,
            registered: Vec::new(),
        };
        for &signal in signals {
            if is_ignored(signal)? {
                continue;
            }
            let number = u8::try_from(signal.0).unwrap_or(0);
            let action = move |info: &libc::siginfo_t| {
                let record = [number, u8::from(info.si_code == libc::SI_KERNEL)];
                // SAFETY: errno access and write(2) are async-signal-safe; the
                // descriptor outlives the registration (see Drop). errno is
                // restored so the interrupted code never sees ours. A full
                // pipe drops the record: thousands are already queued.
                unsafe {
                    let errno = *libc::__errno_location();
                    libc::write(fd, record.as_ptr().cast(), RECORD_LEN);
                    *libc::__errno_location() = errno;
                }
            };
            // SAFETY: the action only does async-signal-safe work (above),
            // and the signals a registry refuses (KILL, STOP, SEGV, ...)
            // make it return an error, not misbehave.
            let id = unsafe { signal_hook_registry::register_sigaction(signal.0, action) }?;
            watcher.registered.push((signal, id));
        }
        Ok(watcher)
    }

    /// Whether `signal` is watched (not ignored at start).
    pub fn watches(&self, signal: Signal) -> bool {
        self.registered.iter().any(|(s, _)| *s == signal)
    }

    /// The next pending signal, if any, without waiting.
    pub fn try_next(&self) -> io::Result<Option<Received>> {
        use std::io::Read;
        let mut record = [0u8; RECORD_LEN];
        loop {
            match (&self.reader).read(&mut record) {
                // Both bytes come from one write of less than PIPE_BUF, so a
                // read never sees half a record.
                Ok(RECORD_LEN) => {
                    return Ok(
                        Signal::from_number(i32::from(record[0])).map(|signal| Received {
                            signal,
                            from_kernel: record[1] == 1,
                        }),
                    );
                }
                Ok(_) => return Ok(None),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// Waits for a signal for at most `timeout` (`None`: no limit).
    /// `Ok(None)` means the time ran out first.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<Option<Received>> {
        if let Some(received) = self.try_next()? {
            return Ok(Some(received));
        }
        if crate::ipc::wait_readable(self.reader.as_fd(), timeout)? {
            return self.try_next();
        }
        Ok(None)
    }
}

impl AsFd for SignalWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.reader.as_fd()
    }
}

impl Drop for SignalWatcher {
    fn drop(&mut self) {
        for (signal, id) in self.registered.drain(..) {
            signal_hook_registry::unregister(id);
            // The registry keeps its own handler installed; put the default
            // back so the signal acts normally again.
            let _ = reset_to_default(&[signal]);
        }
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

/// Ignores `signal` from now on (and in commands started later: SIG_IGN
/// survives exec).
pub fn ignore(signal: Signal) -> io::Result<()> {
    // SAFETY: SIG_IGN runs no code of ours in signal context.
    unsafe { nix::sys::signal::signal(signal.to_nix()?, SigHandler::SigIgn) }?;
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
        for zero in ["0", "EXIT", "sigexit"] {
            assert_eq!(Signal::parse(zero), Ok(Signal::EXIT), "coreutils' signal 0");
        }
        assert_eq!(Signal::EXIT.name(), "EXIT");
        for bad in ["TERMX", "65", "-1", ""] {
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
        // USR2 starts ignored, as under nohup-like parents: it stays ignored.
        // SAFETY: SIG_IGN runs no code.
        unsafe { nix::sys::signal::signal(NixSignal::SIGUSR2, SigHandler::SigIgn) }.unwrap();
        let watcher = SignalWatcher::new(&[Signal::USR1, Signal::USR2]).unwrap();
        assert!(watcher.watches(Signal::USR1));
        assert!(!watcher.watches(Signal::USR2));
        assert!(is_ignored(Signal::USR2).unwrap());
        let started = Instant::now();
        assert_eq!(watcher.wait(Some(Duration::from_millis(30))).unwrap(), None);
        assert!(started.elapsed() >= Duration::from_millis(30));
        let me = nix::unistd::Pid::this();
        nix::sys::signal::kill(me, NixSignal::SIGUSR1).unwrap();
        nix::sys::signal::kill(me, NixSignal::SIGUSR2).unwrap();
        let received = watcher
            .wait(Some(Duration::from_secs(10)))
            .unwrap()
            .unwrap();
        assert_eq!(received.signal, Signal::USR1);
        assert!(!received.from_kernel, "kill(2) is not the kernel");
        assert_eq!(
            watcher.try_next().unwrap(),
            None,
            "USR2 was ignored, not queued"
        );
        // Children spawned meanwhile start with no signal blocked.
        let out = Command::new("grep")
            .args(["-E", "^SigBlk", "/proc/self/status"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
        drop(watcher);
        assert!(!is_ignored(Signal::USR1).unwrap());
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
