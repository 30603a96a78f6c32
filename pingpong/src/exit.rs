//! pingpong's exit codes.

use common::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// A player died or the channel failed; pingpong itself failed.
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
