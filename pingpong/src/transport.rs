//! The channels a counter can travel through between two processes. Each is
//! made before fork as a pair of ends; each player keeps one end and drops
//! the other, so a pipe or socket reports the peer's death as end of file.
//! eventfd and shared memory have no such notion: for them the parent, who
//! watches both players, stops the survivor.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::ipc::{PipeReader, PipeWriter, pipe};

use crate::cli::Transport;

/// One player's end of a channel.
#[derive(Debug)]
pub enum End {
    Pipe { rx: PipeReader, tx: PipeWriter },
    Socket(UnixStream),
    Eventfd { rx: OwnedFd, tx: OwnedFd },
    Shm { block: SharedBlock, me: u32 },
}

/// Makes a channel: the first player's end and the second's.
pub fn pair(transport: Transport) -> io::Result<(End, End)> {
    Ok(match transport {
        Transport::Pipe => {
            let (a_rx, b_tx) = pipe()?;
            let (b_rx, a_tx) = pipe()?;
            (
                End::Pipe { rx: a_rx, tx: a_tx },
                End::Pipe { rx: b_rx, tx: b_tx },
            )
        }
        Transport::Socket => {
            let (a, b) = UnixStream::pair()?;
            (End::Socket(a), End::Socket(b))
        }
        Transport::Eventfd => {
            let to_a = eventfd()?;
            let to_b = eventfd()?;
            let (to_a2, to_b2) = (to_a.try_clone()?, to_b.try_clone()?);
            (
                End::Eventfd { rx: to_a, tx: to_b },
                End::Eventfd {
                    rx: to_b2,
                    tx: to_a2,
                },
            )
        }
        Transport::Shm => {
            let block = SharedBlock::new()?;
            let other = block.clone_mapping();
            (
                End::Shm { block, me: 0 },
                End::Shm {
                    block: other,
                    me: 1,
                },
            )
        }
    })
}

fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes plain integers and returns a new descriptor.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the other player closed the channel",
    )
}

impl End {
    pub fn send(&mut self, value: u64) -> io::Result<()> {
        match self {
            End::Pipe { tx, .. } => tx.write_all(&value.to_le_bytes()),
            End::Socket(stream) => stream.write_all(&value.to_le_bytes()),
            // An eventfd cannot carry 0 (it would not wake the reader).
            End::Eventfd { tx, .. } => write_u64(tx, value + 1),
            End::Shm { block, me, .. } => {
                block.send(1 - *me, value);
                Ok(())
            }
        }
    }

    pub fn recv(&mut self) -> io::Result<u64> {
        let mut bytes = [0u8; 8];
        match self {
            End::Pipe { rx, .. } => {
                read_exact_or_eof(rx, &mut bytes).map(|()| u64::from_le_bytes(bytes))
            }
            End::Socket(stream) => {
                read_exact_or_eof(stream, &mut bytes).map(|()| u64::from_le_bytes(bytes))
            }
            End::Eventfd { rx, .. } => read_u64(rx).map(|v| v - 1),
            End::Shm { block, me } => Ok(block.recv(*me)),
        }
    }
}

fn read_exact_or_eof(reader: &mut impl Read, bytes: &mut [u8]) -> io::Result<()> {
    reader.read_exact(bytes).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => eof(),
        _ => err,
    })
}

fn write_u64(fd: &OwnedFd, value: u64) -> io::Result<()> {
    let bytes = value.to_le_bytes();
    loop {
        // SAFETY: writes 8 bytes from a live buffer to an open eventfd.
        let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), 8) };
        if n == 8 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn read_u64(fd: &OwnedFd) -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    loop {
        // SAFETY: reads 8 bytes into a live buffer from an open eventfd.
        let n = unsafe { libc::read(fd.as_raw_fd(), bytes.as_mut_ptr().cast(), 8) };
        if n == 8 {
            return Ok(u64::from_ne_bytes(bytes));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The shared-memory channel: whose turn it is (a futex word), the counter,
/// and how many players sleep on the futex (so a sender skips the wake-up
/// system call while the receiver is still spinning).
#[repr(C)]
struct Block {
    turn: AtomicU32,
    sleepers: AtomicU32,
    value: AtomicU64,
    /// The CPU each player last received on (-1: not yet).
    cpu: [AtomicI32; 2],
}

/// A `Block` in a MAP_SHARED anonymous mapping, made before fork so both
/// players see the same memory. Both ends share one `Mapping` handle; it is
/// unmapped when the last handle in a process goes, so a parent dropping its
/// copy after forking a player never pulls the page from under a player
/// forked later.
#[derive(Debug, Clone)]
pub struct SharedBlock {
    mapping: Arc<Mapping>,
}

#[derive(Debug)]
struct Mapping(*mut Block);

// SAFETY: the block is only touched through atomics.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `SharedBlock::new`, once per
        // process (the last handle of this process).
        unsafe { libc::munmap(self.0.cast(), PAGE) };
    }
}

const PAGE: usize = 4096;
/// Turn value meaning "nobody's yet": player 0 starts by sending.
const NOBODY: u32 = 2;
/// How long a receiver spins before it sleeps on the futex, when the peer
/// can run on another CPU meanwhile. Cross-CPU wake-ups cost tens of
/// microseconds on a VM, so spinning that long pays.
const SPIN_FOR: Duration = Duration::from_micros(100);

impl SharedBlock {
    fn new() -> io::Result<SharedBlock> {
        // SAFETY: an anonymous shared mapping of one page; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = ptr.cast::<Block>();
        // SAFETY: the page is zeroed, writable and large enough for a Block;
        // zero bytes are valid atomics.
        let block = unsafe { &*ptr };
        block.turn.store(NOBODY, Ordering::SeqCst);
        block.cpu[0].store(-1, Ordering::Relaxed);
        block.cpu[1].store(-1, Ordering::Relaxed);
        Ok(SharedBlock {
            mapping: Arc::new(Mapping(ptr)),
        })
    }

    fn clone_mapping(&self) -> SharedBlock {
        self.clone()
    }

    fn block(&self) -> &Block {
        // SAFETY: the mapping lives as long as any handle in this process.
        unsafe { &*self.mapping.0 }
    }

    fn send(&self, to: u32, value: u64) {
        let block = self.block();
        block.value.store(value, Ordering::Relaxed);
        block.turn.store(to, Ordering::SeqCst);
        if block.sleepers.load(Ordering::SeqCst) > 0 {
            futex(&block.turn, libc::FUTEX_WAKE, i32::MAX as u32);
        }
    }

    /// Spins first only while the other player last ran on another CPU:
    /// sharing one CPU, a spinner would only keep the sender from running.
    fn recv(&self, me: u32) -> u64 {
        let block = self.block();
        let here = current_cpu();
        block.cpu[me as usize].store(here, Ordering::Relaxed);
        let there = block.cpu[1 - me as usize].load(Ordering::Relaxed);
        if here >= 0 && there >= 0 && here != there {
            let started = Instant::now();
            'spin: loop {
                for _ in 0..64 {
                    if block.turn.load(Ordering::Acquire) == me {
                        return block.value.load(Ordering::Relaxed);
                    }
                    std::hint::spin_loop();
                }
                if started.elapsed() >= SPIN_FOR {
                    break 'spin;
                }
            }
        }
        loop {
            block.sleepers.fetch_add(1, Ordering::SeqCst);
            let turn = block.turn.load(Ordering::SeqCst);
            if turn != me {
                // Returns at once if `turn` changed since we read it.
                futex(&block.turn, libc::FUTEX_WAIT, turn);
            }
            block.sleepers.fetch_sub(1, Ordering::SeqCst);
            if block.turn.load(Ordering::Acquire) == me {
                return block.value.load(Ordering::Relaxed);
            }
        }
    }
}

fn futex(word: &AtomicU32, op: libc::c_int, value: u32) {
    // SAFETY: a shared (not PRIVATE) futex op on a word in shared memory that
    // outlives the call; no timeout, no second word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op,
            value,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

fn current_cpu() -> i32 {
    // SAFETY: sched_getcpu takes nothing and returns a CPU number or -1.
    unsafe { libc::sched_getcpu() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ends in one process, one thread each: each transport carries the
    /// values both ways, including 0.
    #[test]
    fn every_transport_carries_values_both_ways() {
        for transport in Transport::ALL {
            let (mut a, mut b) = pair(transport).unwrap();
            let echo = std::thread::spawn(move || {
                for _ in 0..3 {
                    let v = b.recv().unwrap();
                    b.send(v + 1).unwrap();
                }
            });
            for v in [0u64, 41, 1 << 40] {
                a.send(v).unwrap();
                assert_eq!(a.recv().unwrap(), v + 1, "{transport:?}");
            }
            echo.join().unwrap();
        }
    }

    #[test]
    fn a_closed_pipe_or_socket_is_end_of_file() {
        for transport in [Transport::Pipe, Transport::Socket] {
            let (mut a, b) = pair(transport).unwrap();
            drop(b);
            let err = a.recv().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{transport:?}");
        }
    }
}
