//! spin-cores' exit codes. Ctrl-C and SIGTERM are not codes: after the summary
//! the tool dies of the same signal, so the shell reports 130 or 143.

use common::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Workers could not be started or measured, or output failed.
    Failed,
    Usage,
}

impl From<Exit> for u8 {
    fn from(value: Exit) -> u8 {
        match value {
            Exit::Success => exit::SUCCESS,
            Exit::Failed => exit::FAILURE,
            Exit::Usage => exit::USAGE,
        }
    }
}
