//! A job's block on its way in: written into the job's stdin pipe (or its
//! `--fifo`) by the poll loop as the pipe takes it, never by a thread per
//! job, so a slow job holds up no other. Bytes from stdin are written; a
//! `--pipe-part` range moves by `splice(2)` from the page cache.
//!
//! Under `--round-robin` a job's stdin stays open after its first block:
//! later blocks queue up behind it, and the pipe closes only once stdin has
//! ended and the queue is through.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::time::Duration;

use crate::blocks::{Block, Named, Rest, file_shrank};

/// The pipe size asked for a job's stdin when pool-run feeds it a block:
/// Linux's default limit for one pipe (fs.pipe-max-size). Measured: 1.30x
/// faster for --pipe-part than the default 64 KiB.
const FEED_PIPE_SIZE: libc::c_int = 1024 * 1024;

/// How often a --fifo not opened yet is tried again.
pub const FIFO_RETRY: Duration = Duration::from_millis(10);

/// Blocks being written into a job's pipe; the pipe's end closes once
/// they are through and no more can come.
#[derive(Debug)]
pub struct Feeding {
    pub pipe: OwnedFd,
    /// The block being written, `done` bytes of it so far.
    block: Option<Block>,
    done: u64,
    /// --round-robin: the blocks handed over after it.
    queue: VecDeque<Block>,
    /// --round-robin: more blocks may come (stdin has not ended).
    open: bool,
    /// Blocks handed over in all, the first one included.
    pub given: u64,
    /// Everything handed over is written and the pipe is kept: the poll
    /// loop stops asking whether it is writable.
    pub idle: bool,
}

/// Where a feed stands after a pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// The pipe is full: more when it drains.
    Full,
    /// All written; more blocks may come (--round-robin).
    Idle,
    /// All written and no more to come, or the job closed its stdin: the
    /// pipe's end closes and the job sees the end of its input.
    Done,
}

impl Feeding {
    /// Feeds `block` into `pipe` (non-blocking, ours), grown first: a
    /// bigger pipe takes a block in fewer, larger writes (the system's
    /// limit may refuse; the default still works).
    pub fn new(pipe: OwnedFd, block: Block) -> Feeding {
        // SAFETY: fcntl on a pipe end we own.
        unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, FEED_PIPE_SIZE) };
        Feeding {
            pipe,
            block: Some(block),
            done: 0,
            queue: VecDeque::new(),
            open: false,
            given: 1,
            idle: false,
        }
    }

    /// --round-robin: the pipe stays open for more blocks.
    pub fn keep_open(mut self) -> Feeding {
        self.open = true;
        self
    }

    /// Whether more blocks may be handed over.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Blocks handed over and not yet all written.
    pub fn waiting(&self) -> usize {
        self.queue.len() + usize::from(self.block.is_some())
    }

    /// --round-robin: one more block, after the ones waiting.
    pub fn give(&mut self, block: Block) {
        self.queue.push_back(block);
        self.given += 1;
        self.idle = false;
    }

    /// Stdin has ended: the pipe closes once what is waiting is written.
    /// True if that is now.
    pub fn close_when_written(&mut self) -> bool {
        self.open = false;
        self.waiting() == 0
    }

    /// Writes what the pipe takes now, block after block.
    pub fn pump(&mut self) -> Fed {
        loop {
            let Some(len) = self.block.as_ref().map(Block::len) else {
                match self.queue.pop_front() {
                    Some(next) => {
                        self.block = Some(next);
                        self.done = 0;
                        continue;
                    }
                    None if self.open => {
                        self.idle = true;
                        return Fed::Idle;
                    }
                    None => return Fed::Done,
                }
            };
            if self.done >= len {
                // An empty block has nothing to write.
                self.block = None;
                continue;
            }
            match self.write_some() {
                Ok(0) => return Fed::Full,
                Ok(n) => {
                    self.done += n;
                    if self.done >= len {
                        // Written: its memory goes back to the budget now.
                        self.block = None;
                    }
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Fed::Done,
            }
        }
    }

    /// Writes what the non-blocking pipe takes now of the block from
    /// `done` on; returns how many bytes went (0 only when the pipe is full).
    /// A range goes by `splice`: its pages move from the page cache into
    /// the pipe without pool-run copying them.
    fn write_some(&self) -> io::Result<u64> {
        let would_block = |e: &io::Error| e.kind() == io::ErrorKind::WouldBlock;
        let Some(rest) = self.block.as_ref().and_then(|b| b.rest_from(self.done)) else {
            return Ok(0);
        };
        match rest {
            Rest::Memory(bytes) => write_bytes(&self.pipe, bytes),
            Rest::File { file, offset, len } => {
                let mut splice_at = offset as libc::loff_t;
                let want = len.min(1 << 30) as usize;
                // SAFETY: both descriptors are ours; `splice_at` outlives the call.
                let n = unsafe {
                    libc::splice(
                        file.as_raw_fd(),
                        &mut splice_at,
                        self.pipe.as_raw_fd(),
                        std::ptr::null_mut(),
                        want,
                        libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
                    )
                };
                match n {
                    -1 => {
                        let err = io::Error::last_os_error();
                        match err.raw_os_error() {
                            _ if would_block(&err) => Ok(0),
                            // A file system that cannot splice: copy.
                            Some(libc::EINVAL | libc::ENOSYS) => {
                                copy_range(file, offset, want, &self.pipe)
                            }
                            _ => Err(err),
                        }
                    }
                    0 => Err(file_shrank()),
                    n => Ok(n as u64),
                }
            }
        }
    }
}

/// One non-blocking write of `bytes`; 0 when the pipe is full.
fn write_bytes(pipe: &impl AsRawFd, bytes: &[u8]) -> io::Result<u64> {
    // SAFETY: writes from a live slice to a descriptor we own.
    let n = unsafe { libc::write(pipe.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
    match n {
        -1 => {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                Ok(0)
            } else {
                Err(err)
            }
        }
        n => Ok(n as u64),
    }
}

/// `write_some` for a file that cannot splice: one chunk through memory.
fn copy_range(file: &File, at: u64, want: usize, pipe: &impl AsRawFd) -> io::Result<u64> {
    let mut chunk = vec![0u8; want.min(64 * 1024)];
    let n = file.read_at(&mut chunk, at)?;
    if n == 0 {
        return Err(file_shrank());
    }
    write_bytes(pipe, &chunk[..n])
}

/// --fifo: a job's named pipe, opened for writing once the job has opened
/// it for reading (before that, a non-blocking open fails with ENXIO; a
/// blocking one would hold up the loop). The loop tries each turn.
#[derive(Debug)]
pub struct PendingFifo {
    named: Rc<Named>,
    block: Block,
}

impl PendingFifo {
    /// The job's fifo, if the block goes through one.
    pub fn of(named: Option<&Rc<Named>>, block: Block) -> Option<PendingFifo> {
        let named = Rc::clone(named.filter(|n| n.is_fifo())?);
        Some(PendingFifo { named, block })
    }

    /// The feed, once the job has opened its end; else the fifo back, to
    /// try again (None: it cannot be opened, the job gets nothing).
    pub fn open(self) -> Result<Feeding, Option<PendingFifo>> {
        use nix::fcntl::{OFlag, open};
        let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        match open(self.named.path(), flags, nix::sys::stat::Mode::empty()) {
            Ok(fd) => Ok(Feeding::new(fd, self.block)),
            // No reader yet: next turn.
            Err(nix::errno::Errno::ENXIO | nix::errno::Errno::EINTR) => Err(Some(self)),
            Err(_) => Err(None),
        }
    }
}
