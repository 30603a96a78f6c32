//! lock-demo's exit codes. The demos exit 0 whatever the balance (showing a
//! wrong balance is their point); `--check` turns a wrong one into 1
//! (`Failed`, as is a demo that failed itself: a thread could not start,
//! stdout failed).
//! Nothing else, so the enum is common's.

pub use common::exit::Status as Exit;
