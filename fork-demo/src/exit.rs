//! fork-demo's exit codes. A child that fails passes its code on: the demo's
//! parent exits with the first non-zero child status (128+N for a signal).

use common::exit::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// fork-demo itself failed (fork, pipe, output).
    Failed,
    Usage,
    /// A child's exit code, or 128+N for a child killed by signal N.
    Child(u8),
}

impl From<Exit> for u8 {
    fn from(value: Exit) -> u8 {
        match value {
            Exit::Child(code) => code,
            Exit::Success => Status::Success.into(),
            Exit::Failed => Status::Failed.into(),
            Exit::Usage => Status::Usage.into(),
        }
    }
}
