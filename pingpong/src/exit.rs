//! pingpong's exit codes: `Failed` when a player died or the channel failed.
//! Nothing else, so the enum is common's.

pub use common::exit::Status as Exit;
