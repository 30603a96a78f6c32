//! One exit-code table for the whole suite, so the same number means the same
//! thing from every tool (see the table in HACKING.md), and one rule for
//! turning a child's wait status into a shell-style code.

/// Everything went as asked.
pub const SUCCESS: u8 = 0;
/// The tool's own notion of failure (documented per tool).
pub const FAILURE: u8 = 1;
/// Bad command line, for tools that do not run other commands.
pub const USAGE: u8 = 2;
/// The command ran out of time (coreutils `timeout`).
pub const TIMED_OUT: u8 = 124;
/// The tool itself failed, usage errors included, for tools that run a
/// command: 2 is an ordinary exit code of the command, so it cannot mean
/// "bad usage" there.
pub const TOOL_FAILED: u8 = 125;
/// The command was found but could not be executed.
pub const CANNOT_INVOKE: u8 = 126;
/// The command was not found.
pub const NOT_FOUND: u8 = 127;
/// A child killed by signal N is reported as `SIGNAL_BASE + N`, as shells do.
pub const SIGNAL_BASE: u8 = 128;

/// The exit codes of a tool that has no codes of its own: success, its own
/// failure, a usage error (lock-demo, pingpong, spin-cores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    /// The tool itself failed (a worker or player died, --check found a
    /// wrong balance, output failed).
    Failed,
    Usage,
}

impl From<Status> for u8 {
    fn from(value: Status) -> u8 {
        match value {
            Status::Success => SUCCESS,
            Status::Failed => FAILURE,
            Status::Usage => USAGE,
        }
    }
}

/// How a child ended, decoded once from the kernel's wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    /// It called exit with this code (0-255).
    Exited(u8),
    /// A signal ended it.
    Signaled { signal: i32, core_dumped: bool },
}

impl ChildExit {
    /// Decodes a raw status as returned by `wait4`/`waitpid`.
    pub fn from_raw(status: i32) -> Self {
        if libc::WIFSIGNALED(status) {
            ChildExit::Signaled {
                signal: libc::WTERMSIG(status),
                core_dumped: libc::WCOREDUMP(status),
            }
        } else {
            // WEXITSTATUS is already masked to 8 bits.
            ChildExit::Exited(libc::WEXITSTATUS(status) as u8)
        }
    }

    /// The code a shell would put in `$?`: the exit code, else 128+signal.
    pub fn code(self) -> u8 {
        match self {
            ChildExit::Exited(code) => code,
            ChildExit::Signaled { signal, .. } => {
                SIGNAL_BASE.saturating_add(u8::try_from(signal).unwrap_or(u8::MAX))
            }
        }
    }

    /// The signal that ended the child, if one did.
    pub fn signal(self) -> Option<i32> {
        match self {
            ChildExit::Signaled { signal, .. } => Some(signal),
            ChildExit::Exited(_) => None,
        }
    }

    pub fn success(self) -> bool {
        self == ChildExit::Exited(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    fn run_sh(script: &str) -> ChildExit {
        let status = Command::new("sh")
            .args(["-c", script])
            .status()
            .expect("sh runs");
        ChildExit::from_raw(status.into_raw())
    }

    #[test]
    fn exit_codes_pass_through() {
        for code in [0u8, 1, 42, 255] {
            let exit = run_sh(&format!("exit {code}"));
            assert_eq!(exit, ChildExit::Exited(code));
            assert_eq!(exit.code(), code);
            assert_eq!(exit.signal(), None);
        }
        assert!(run_sh("exit 0").success());
        assert!(!run_sh("exit 3").success());
    }

    #[test]
    fn signal_death_is_128_plus_n() {
        let exit = run_sh("kill -KILL $$");
        assert_eq!(exit.signal(), Some(libc::SIGKILL));
        assert_eq!(exit.code(), 137);
        assert_eq!(run_sh("kill -TERM $$").code(), 143);
    }

    #[test]
    fn raw_status_decoding_matches_the_kernel_layout() {
        // exit(3): code in bits 8-15.
        assert_eq!(ChildExit::from_raw(3 << 8), ChildExit::Exited(3));
        // SIGSEGV with the core flag (0x80).
        assert_eq!(
            ChildExit::from_raw(libc::SIGSEGV | 0x80),
            ChildExit::Signaled {
                signal: libc::SIGSEGV,
                core_dumped: true
            }
        );
    }
}
