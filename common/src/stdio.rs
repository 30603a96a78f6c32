//! Descriptors 0, 1 and 2 as the tool was given them. Rust's runtime opens
//! `/dev/null` on any of them that is closed before `main` runs, so every
//! write to a closed stdout would "succeed" and output owed to nobody would
//! be lost silently. A constructor (`.init_array`, run by libc before the
//! runtime's start-up) records which were closed; `restore_closed` then
//! puts a descriptor there that fails as a closed one would: `/dev/null`
//! opened the other way round (a write to a read-only descriptor, or a read
//! from a write-only one, fails with EBADF). The tools' own writes then fail
//! with "Bad file descriptor", as coreutils' do, and children see the same.

use std::sync::atomic::{AtomicU8, Ordering};

/// Bit `fd` is set when descriptor `fd` (0, 1, 2) was closed at start.
static CLOSED_AT_START: AtomicU8 = AtomicU8::new(0);

extern "C" fn record_closed() {
    let mut closed = 0u8;
    for fd in 0..3 {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed |= 1 << fd;
        }
    }
    CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_CLOSED: extern "C" fn() = record_closed;

/// Whether descriptor `fd` (0, 1 or 2) was closed when the tool started.
pub fn was_closed(fd: i32) -> bool {
    // Read through the constructor's pointer, so the linker keeps it.
    let _ = std::hint::black_box(&RECORD_CLOSED);
    (0..3).contains(&fd) && CLOSED_AT_START.load(Ordering::Relaxed) & (1 << fd) != 0
}

/// Puts a failing descriptor on each of 0, 1, 2 that was closed at start,
/// in place of the runtime's `/dev/null`.
pub fn restore_closed() {
    for (fd, flags) in [
        (0, libc::O_WRONLY),
        (1, libc::O_RDONLY),
        (2, libc::O_RDONLY),
    ] {
        if !was_closed(fd) {
            continue;
        }
        // SAFETY: open and dup2 onto a standard descriptor of our own; the
        // temporary descriptor is closed right after.
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), flags | libc::O_CLOEXEC);
            if null >= 0 {
                libc::dup2(null, fd);
                libc::close(null);
            }
        }
    }
}
