//! Pipes and framed messages between processes.
//!
//! Pipes come from `std::io::pipe` (close-on-exec, stable since Rust 1.87), so
//! the suite does not need the `os_pipe` crate. A frame is a little-endian u32
//! length followed by that many bytes. The reader tells a clean end (the peer
//! closed between frames) from a torn frame (the peer died mid-message), and
//! refuses lengths above a caller-chosen maximum instead of allocating them.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

pub use std::io::{PipeReader, PipeWriter};

/// Bytes a single pipe write delivers without interleaving with other
/// writers (Linux; POSIX guarantees at least 512). A queue shared by several
/// processes keeps each encoded frame at or below this.
pub const PIPE_BUF: usize = libc::PIPE_BUF;

/// Size of the frame header.
pub const HEADER_LEN: usize = 4;

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

/// Waits until `fd` is readable (or hung up) for at most `timeout` (`None`:
/// no limit). Returns false when the time ran out. Waits round up to the next
/// millisecond, so a deadline is never woken for early and spun on.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let timeout = match timeout {
        None => PollTimeout::NONE,
        Some(limit) => {
            let millis = limit.as_nanos().div_ceil(1_000_000);
            PollTimeout::try_from(i32::try_from(millis).unwrap_or(i32::MAX))
                .unwrap_or(PollTimeout::MAX)
        }
    };
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(ready) => Ok(ready > 0),
        // A signal outside the watched set interrupted the wait: report
        // "not yet", the caller re-checks its clock and waits again.
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Why a frame could not be read or written.
#[derive(Debug)]
pub enum FrameError {
    /// The stream ended inside a frame: the writer died or closed mid-message.
    Torn {
        expected: usize,
        got: usize,
    },
    /// The announced length exceeds what the reader accepts.
    TooLarge {
        len: usize,
        max: usize,
    },
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Torn { expected, got } => write!(
                f,
                "message cut short: got {got} of {expected} bytes (the peer closed or died mid-message)"
            ),
            FrameError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the limit of {max} bytes")
            }
            FrameError::Io(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(err: io::Error) -> Self {
        FrameError::Io(err)
    }
}

/// Header and payload in one buffer, so the frame goes out in one write (and
/// so atomically on a pipe when it is at most `PIPE_BUF` bytes).
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let len = u32::try_from(payload.len()).map_err(|_| FrameError::TooLarge {
        len: payload.len(),
        max: u32::MAX as usize,
    })?;
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// Writes one frame with a single `write_all`.
pub fn write_frame(writer: &mut impl Write, payload: &[u8]) -> Result<(), FrameError> {
    writer.write_all(&encode_frame(payload)?)?;
    Ok(())
}

/// Reads one frame. `Ok(None)` is a clean end of stream (nothing was read);
/// an end anywhere inside a frame is `FrameError::Torn`.
pub fn read_frame(reader: &mut impl Read, max_len: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(reader, &mut header)?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Torn {
            expected: HEADER_LEN,
            got,
        });
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > max_len {
        return Err(FrameError::TooLarge { len, max: max_len });
    }
    let mut payload = vec![0u8; len];
    let got = read_full(reader, &mut payload)?;
    if got < len {
        return Err(FrameError::Torn {
            expected: HEADER_LEN + len,
            got: HEADER_LEN + got,
        });
    }
    Ok(Some(payload))
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
/// Unlike `read_exact`, it says how far it got, which tells EOF from a tear.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    #[test]
    fn frames_cross_a_real_pipe() {
        let (mut reader, mut writer) = pipe().unwrap();
        write_frame(&mut writer, b"ping").unwrap();
        write_frame(&mut writer, b"").unwrap();
        drop(writer);
        assert_eq!(read_frame(&mut reader, 64).unwrap(), Some(b"ping".to_vec()));
        assert_eq!(read_frame(&mut reader, 64).unwrap(), Some(Vec::new()));
        assert_eq!(read_frame(&mut reader, 64).unwrap(), None);
    }

    #[test]
    fn torn_header_and_torn_payload_are_not_eof() {
        let mut short_header = Cursor::new(vec![5u8, 0]);
        assert!(matches!(
            read_frame(&mut short_header, 64),
            Err(FrameError::Torn {
                expected: 4,
                got: 2
            })
        ));
        let mut frame = encode_frame(b"hello").unwrap();
        frame.truncate(7);
        let err = read_frame(&mut Cursor::new(frame), 64).unwrap_err();
        assert!(matches!(
            err,
            FrameError::Torn {
                expected: 9,
                got: 7
            }
        ));
        assert!(err.to_string().contains("cut short"));
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let frame = u32::MAX.to_le_bytes().to_vec();
        let err = read_frame(&mut Cursor::new(frame), 1024).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { max: 1024, .. }));
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

    proptest! {
        #[test]
        fn frames_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)) {
            let mut stream = Vec::new();
            for payload in &payloads {
                write_frame(&mut stream, payload).unwrap();
            }
            let mut cursor = Cursor::new(stream);
            for payload in &payloads {
                let read = read_frame(&mut cursor, 300).unwrap();
                prop_assert_eq!(read.as_ref(), Some(payload));
            }
            prop_assert!(read_frame(&mut cursor, 300).unwrap().is_none());
        }

        #[test]
        fn any_truncation_is_torn_or_clean(payload in proptest::collection::vec(any::<u8>(), 0..100), cut in 0usize..104) {
            let frame = encode_frame(&payload).unwrap();
            let cut = cut.min(frame.len());
            let result = read_frame(&mut Cursor::new(&frame[..cut]), 100);
            match cut {
                0 => prop_assert!(matches!(result, Ok(None))),
                n if n == frame.len() => prop_assert_eq!(result.unwrap(), Some(payload)),
                _ => { let torn = matches!(result, Err(FrameError::Torn { .. })); prop_assert!(torn) }
            }
        }
    }
}
