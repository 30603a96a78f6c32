//! Pipes between processes: a close-on-exec pipe, a queue several processes
//! share with message boundaries kept, non-blocking mode, and a bounded wait
//! for data.
//!
//! Pipes come from `std::io::pipe` (close-on-exec, stable since Rust 1.87), so
//! the suite does not need the `os_pipe` crate.

use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

pub use std::io::{PipeReader, PipeWriter};

/// Bytes a single pipe write delivers without interleaving with other
/// writers (Linux; POSIX guarantees at least 512). A queue shared by several
/// processes keeps each message at or below this.
pub const PIPE_BUF: usize = libc::PIPE_BUF;

/// A new anonymous pipe, both ends close-on-exec.
pub fn pipe() -> io::Result<(PipeReader, PipeWriter)> {
    std::io::pipe()
}

/// A queue that several processes share: a pipe in packet mode (O_DIRECT,
/// Linux 3.4+), so each `put` is one packet and each `get` returns exactly
/// one, whole, whichever process reads it. Messages are at most `PIPE_BUF`
/// bytes, so writers never interleave. Create it before fork; every process
/// that holds the write end keeps the queue open (drop the ends you do not
/// use, or a reader never sees the end).
#[derive(Debug)]
pub struct Queue {
    reader: PipeReader,
    /// None once this process closed its sending end.
    writer: Option<PipeWriter>,
}

impl Queue {
    pub fn new() -> io::Result<Queue> {
        use nix::fcntl::OFlag;
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_DIRECT)?;
        Ok(Queue {
            reader: PipeReader::from(read_end),
            writer: Some(PipeWriter::from(write_end)),
        })
    }

    /// Sends one message (1 to `PIPE_BUF` bytes: a pipe sends no packet for
    /// an empty write).
    pub fn put(&self, message: &[u8]) -> io::Result<()> {
        if message.is_empty() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "queue messages cannot be empty",
            ));
        }
        if message.len() > PIPE_BUF {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "queue messages are at most {PIPE_BUF} bytes, not {}",
                    message.len()
                ),
            ));
        }
        let Some(writer) = self.writer.as_ref() else {
            return Err(io::Error::new(
                ErrorKind::BrokenPipe,
                "this process closed its sending end",
            ));
        };
        let written = (&*writer).write(message)?;
        if written != message.len() {
            return Err(io::Error::new(
                ErrorKind::WriteZero,
                "queue message cut short",
            ));
        }
        Ok(())
    }

    /// Takes the next message; `Ok(None)` once every write end is closed.
    pub fn get(&self) -> io::Result<Option<Vec<u8>>> {
        let mut packet = vec![0u8; PIPE_BUF];
        loop {
            match (&self.reader).read(&mut packet) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    packet.truncate(n);
                    return Ok(Some(packet));
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Closes this process's sending end: once every process has, `get`
    /// returns `Ok(None)` after the last message instead of waiting.
    pub fn close_sending(&mut self) {
        self.writer = None;
    }

    /// The read end, for polling.
    pub fn reader(&self) -> &PipeReader {
        &self.reader
    }
}

/// Switches a descriptor between blocking and non-blocking mode, for poll loops.
pub fn set_nonblocking(fd: impl AsFd, nonblocking: bool) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let fd = fd.as_fd();
    let current = fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let mut flags = OFlag::from_bits_truncate(current);
    flags.set(OFlag::O_NONBLOCK, nonblocking);
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(())
}

/// poll(2)'s timeout for a deadline (None: no limit), rounded up to the
/// next millisecond so a deadline is never woken for early and spun on.
pub fn poll_timeout(deadline: Option<std::time::Instant>) -> nix::poll::PollTimeout {
    use nix::poll::PollTimeout;
    let Some(at) = deadline else {
        return PollTimeout::NONE;
    };
    let left = at.saturating_duration_since(std::time::Instant::now());
    let millis = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(i32::try_from(millis).unwrap_or(i32::MAX)).unwrap_or(PollTimeout::MAX)
}

/// Waits until `fd` is readable (or hung up) for at most `timeout` (`None`:
/// no limit). Returns false when the time ran out. Waits round up to the next
/// millisecond, so a deadline is never woken for early and spun on.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    use nix::poll::{PollFd, PollFlags, poll};
    let deadline = timeout.map(|limit| std::time::Instant::now() + limit);
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, poll_timeout(deadline)) {
            Ok(ready) => return Ok(ready > 0),
            // A signal interrupted the wait, not the data: wait the rest
            // (an interrupted read must never look like "nothing to read").
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_never_wakes_before_the_deadline() {
        use nix::poll::PollTimeout;
        use std::time::Instant;
        assert_eq!(poll_timeout(None), PollTimeout::NONE);
        let past = poll_timeout(Some(Instant::now() - Duration::from_secs(1)));
        assert_eq!(past, PollTimeout::ZERO);
        let soon = poll_timeout(Some(Instant::now() + Duration::from_millis(50)));
        assert!(soon >= PollTimeout::try_from(49).unwrap());
    }

    #[test]
    fn queue_keeps_message_boundaries() {
        let queue = Queue::new().unwrap();
        queue.put(b"one").unwrap();
        assert!(queue.put(b"").is_err());
        queue.put(&[7u8; PIPE_BUF]).unwrap();
        assert_eq!(queue.get().unwrap(), Some(b"one".to_vec()));
        assert_eq!(queue.get().unwrap(), Some(vec![7u8; PIPE_BUF]));
        assert!(queue.put(&[0u8; PIPE_BUF + 1]).is_err());
        let mut queue = queue;
        queue.close_sending();
        assert_eq!(queue.get().unwrap(), None);
        assert!(queue.put(b"late").is_err());
    }

    #[test]
    fn wait_readable_times_out_then_sees_data() {
        let (reader, mut writer) = pipe().unwrap();
        assert!(!wait_readable(reader.as_fd(), Some(Duration::from_millis(10))).unwrap());
        writer.write_all(b"x").unwrap();
        assert!(wait_readable(reader.as_fd(), Some(Duration::from_secs(10))).unwrap());
    }

    #[test]
    fn nonblocking_flag_round_trips() {
        let (reader, _writer) = pipe().unwrap();
        set_nonblocking(&reader, true).unwrap();
        let mut buf = [0u8; 1];
        let err = (&reader).read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        set_nonblocking(&reader, false).unwrap();
    }
}
