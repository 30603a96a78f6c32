//! subproc's exit codes: the child's own code when it ran, coreutils
//! `timeout`'s codes for everything else (a usage error is 125, not 2, because
//! 2 is an ordinary exit code of the child and must stay unambiguous).

use common::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The child's code, or 128+N when signal N killed it.
    Child(u8),
    /// The timeout fired and the command ended after the timeout signal.
    TimedOut,
    /// The timeout fired and SIGKILL was needed (128+9, as coreutils says).
    TimedOutKilled,
    /// subproc itself failed: bad usage, a resource it could not get.
    Failed,
    /// The command exists but could not be executed.
    CannotInvoke,
    /// The command was not found.
    NotFound,
}

impl From<Exit> for u8 {
    fn from(value: Exit) -> u8 {
        match value {
            Exit::Child(code) => code,
            Exit::TimedOut => exit::TIMED_OUT,
            Exit::TimedOutKilled => exit::SIGNAL_BASE + 9,
            Exit::Failed => exit::TOOL_FAILED,
            Exit::CannotInvoke => exit::CANNOT_INVOKE,
            Exit::NotFound => exit::NOT_FOUND,
        }
    }
}
