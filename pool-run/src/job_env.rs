//! GNU parallel's variables in every job's environment: `PARALLEL_SEQ`,
//! `PARALLEL_JOBSLOT`, `PARALLEL_PID`, and `--process-slot-var NAME`.
//!
//! Setting them with `Command::env` makes std copy the whole environment
//! for every spawn (about 20 µs, 4.5% of a `true` job). Instead each
//! variable is one fixed buffer that pool-run's own environment points to
//! (`putenv`, once, before any thread starts), and before each spawn the
//! value is written into the buffer in place: the job inherits it with the
//! rest of the environment, on std's fast spawn path, with no allocation.
//! The only other thread pool-run runs (the stdin reader) never reads the
//! environment, and the spawns that read it happen on this thread, after
//! the write.

use std::ffi::CString;

/// Room for the longest value (a u64 in decimal is 20 digits).
const VALUE_ROOM: usize = 24;

/// One `NAME=value` string the environment points to.
#[derive(Debug)]
struct Slot {
    /// The whole buffer, leaked: the environment holds it for the run.
    buffer: *mut u8,
    /// Where the value starts (after `NAME=`).
    value_at: usize,
}

impl Slot {
    /// Puts `NAME=` with room for a value into the environment.
    ///
    /// # Safety
    /// Call while this process has one thread (putenv changes `environ`).
    unsafe fn new(name: &str, value: &str) -> Option<Slot> {
        if name.is_empty() || name.contains(['=', '\0']) {
            return None;
        }
        let mut text = format!("{name}=").into_bytes();
        let value_at = text.len();
        text.resize(value_at + VALUE_ROOM, 0);
        let buffer = Box::leak(text.into_boxed_slice()).as_mut_ptr();
        let slot = Slot { buffer, value_at };
        slot.write(value);
        // SAFETY: the buffer is NUL-terminated (write) and leaked, so it
        // lives as long as the environment points to it; the caller keeps
        // this process single-threaded.
        unsafe { libc::putenv(buffer.cast()) };
        Some(slot)
    }

    /// Writes `value` (at most VALUE_ROOM - 1 bytes) and its NUL in place.
    fn write(&self, value: &str) {
        let bytes = &value.as_bytes()[..value.len().min(VALUE_ROOM - 1)];
        // SAFETY: the buffer has value_at + VALUE_ROOM bytes and only this
        // thread writes or reads it (see the module's comment).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.buffer.add(self.value_at),
                bytes.len(),
            );
            *self.buffer.add(self.value_at + bytes.len()) = 0;
        }
    }
}

/// The per-job variables.
#[derive(Debug)]
pub struct JobEnv {
    seq: Option<Slot>,
    jobslot: Option<Slot>,
    slot_var: Option<Slot>,
}

impl JobEnv {
    /// Puts the variables into pool-run's environment. Call it before any
    /// thread starts: before the stdin thread and the perl co-process.
    pub fn install(slot_var: Option<&str>) -> JobEnv {
        if let Ok(pid) = CString::new(std::process::id().to_string()) {
            // SAFETY: as above, single-threaded; PARALLEL_PID never changes.
            unsafe {
                let _ = Slot::new("PARALLEL_PID", pid.to_str().unwrap_or("0"));
            }
        }
        // SAFETY: the caller starts no thread before this returns.
        unsafe {
            JobEnv {
                seq: Slot::new("PARALLEL_SEQ", "0"),
                jobslot: Slot::new("PARALLEL_JOBSLOT", "0"),
                slot_var: slot_var.and_then(|name| Slot::new(name, "0")),
            }
        }
    }

    /// The values for the job about to be spawned.
    pub fn set(&self, seq: u64, slot: usize) {
        if let Some(s) = &self.seq {
            s.write(&seq.to_string());
        }
        if let Some(s) = &self.jobslot {
            s.write(&slot.to_string());
        }
        if let Some(s) = &self.slot_var {
            s.write(&slot.saturating_sub(1).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_rejects_names_a_shell_could_not_read() {
        // SAFETY: no putenv happens for these (rejected before).
        unsafe {
            assert!(Slot::new("", "1").is_none());
            assert!(Slot::new("A=B", "1").is_none());
        }
    }
}
