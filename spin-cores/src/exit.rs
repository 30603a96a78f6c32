//! spin-cores' exit codes: `Failed` when workers could not be started or
//! measured, or output failed. Ctrl-C and SIGTERM are not codes: after the
//! summary the tool dies of the same signal, so the shell reports 130 or 143.
//! Nothing else, so the enum is common's.

pub use common::exit::Status as Exit;
