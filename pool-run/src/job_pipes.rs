//! A job's pipes as the loop sees them: their tokens in the epoll set
//! (which job, which pipe), and the non-blocking reads that empty them.

use std::io::{self, ErrorKind, Read};
use std::os::fd::BorrowedFd;

use common::cli::Failure;

/// A pipe's token in the epoll set: its job's key and which pipe it is.
pub fn token(key: u64, pipe: Pipe) -> u64 {
    key << 2 | pipe as u64
}

/// The pipes pool-run holds of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    Out = 0,
    Err = 1,
    Feed = 2,
}

impl Pipe {
    pub fn of_token(token: u64) -> (u64, Option<Pipe>) {
        let pipe = match token & 3 {
            0 => Some(Pipe::Out),
            1 => Some(Pipe::Err),
            2 => Some(Pipe::Feed),
            _ => None,
        };
        (token >> 2, pipe)
    }
}

/// Makes our read end of a job's pipe non-blocking. One fcntl: a fresh pipe
/// end has no other status flags to keep.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Reads what is available now, handing each chunk to `each`; true at
/// the end of the pipe (or a read error: nothing more will come), when the
/// caller closes it. Fails only if `each` does (a full disk).
pub fn drain<R: Read>(
    reader: &mut R,
    mut each: impl FnMut(&[u8]) -> Result<(), Failure>,
) -> Result<bool, Failure> {
    thread_local! {
        // One read buffer, zeroed once: zeroing 64 KiB per call was 90% of
        // pool-run's own instructions per job (callgrind).
        static CHUNK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 64 * 1024]);
    }
    CHUNK.with(|chunk| {
        let chunk = &mut chunk.borrow_mut();
        loop {
            match reader.read(chunk) {
                Ok(0) => return Ok(true),
                Ok(n) => each(&chunk[..n])?,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(_) => return Ok(true),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_hands_over_everything_then_says_the_end_came() {
        let mut pipe = io::Cursor::new(b"hello world".to_vec());
        let mut got = Vec::new();
        let ended = drain(&mut pipe, |bytes| {
            got.extend_from_slice(bytes);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, b"hello world");
        assert!(ended, "end of file: the caller closes the pipe");
    }

    #[test]
    fn a_failing_sink_stops_the_drain() {
        let mut pipe = io::Cursor::new(b"x".to_vec());
        let err = drain(&mut pipe, |_| Err(Failure::new(255u8, "disk full"))).unwrap_err();
        assert_eq!(err.message, "disk full");
    }
}
