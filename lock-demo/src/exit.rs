//! lock-demo's exit codes. The demos exit 0 whatever the balance (showing a
//! wrong balance is their point); `--check` turns a wrong one into 1.

use common::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// `--check` was given and the balance was not the expected one, or the
    /// demo itself failed (a thread could not start, stdout failed).
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
