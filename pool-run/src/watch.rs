//! The job pipes the loop waits on. With a few jobs running, their pipes go
//! straight into the loop's poll: nothing to register, nothing to remove.
//! An epoll set costs two epoll_ctl calls per pipe (add, then delete before
//! the close), four per job: 8,000 system calls for 2,000 `true` jobs, 2%
//! of such a run. Past `POLL_MOST` pipes a poll over all of them costs
//! each wake-up O(running jobs) in the kernel (7.5% of pool-run's samples
//! at -j4000), so the watcher moves them into an epoll set then, once, and
//! stays there.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::poll::{PollFd, PollFlags};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// Pipes watched by the loop's own poll before they move to epoll.
const POLL_MOST: usize = 48;

/// Events read from epoll per call.
const EPOLL_BATCH: usize = 256;

#[derive(Debug)]
pub struct Watcher {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Poll(Vec<Watched>),
    Epoll(Epoll),
}

/// A pipe in the poll list: its descriptor (owned by its job, which takes
/// it out of here before closing it), its token and what it waits for.
#[derive(Debug, Clone, Copy)]
struct Watched {
    fd: RawFd,
    token: u64,
    events: EpollFlags,
}

/// What became ready: tokens with their events, and whether epoll may
/// hold more (a full batch).
pub struct Ready {
    pub events: Vec<(u64, EpollFlags)>,
    pub more: bool,
}

impl Watcher {
    pub fn new() -> Watcher {
        Watcher {
            mode: Mode::Poll(Vec::new()),
        }
    }

    /// Watches `fd` for `events` (EPOLLIN, EPOLLOUT; errors and hang-ups
    /// always), reported under `token`.
    pub fn add(&mut self, fd: BorrowedFd<'_>, events: EpollFlags, token: u64) -> io::Result<()> {
        match &mut self.mode {
            Mode::Epoll(epoll) => epoll.add(fd, EpollEvent::new(events, token))?,
            Mode::Poll(list) => {
                list.push(Watched {
                    fd: fd.as_raw_fd(),
                    token,
                    events,
                });
                if list.len() > POLL_MOST {
                    self.move_to_epoll()?;
                }
            }
        }
        Ok(())
    }

    /// Waits for other events on a watched `fd`.
    pub fn modify(&mut self, fd: BorrowedFd<'_>, events: EpollFlags, token: u64) {
        match &mut self.mode {
            Mode::Epoll(epoll) => {
                let _ = epoll.modify(fd, &mut EpollEvent::new(events, token));
            }
            Mode::Poll(list) => {
                if let Some(watched) = list.iter_mut().find(|w| w.fd == fd.as_raw_fd()) {
                    watched.events = events;
                }
            }
        }
    }

    /// Stops watching `fd`: call it before closing it (a descriptor closed
    /// while a child being spawned still holds a copy would otherwise stay
    /// in an epoll set).
    pub fn delete(&mut self, fd: BorrowedFd<'_>) {
        match &mut self.mode {
            Mode::Epoll(epoll) => {
                let _ = epoll.delete(fd);
            }
            Mode::Poll(list) => list.retain(|w| w.fd != fd.as_raw_fd()),
        }
    }

    /// The descriptors to add to the loop's poll: every watched pipe, or
    /// the epoll set's own.
    pub fn poll_fds(&self) -> Vec<PollFd<'_>> {
        match &self.mode {
            Mode::Epoll(epoll) => vec![PollFd::new(epoll.0.as_fd(), PollFlags::POLLIN)],
            Mode::Poll(list) => list
                .iter()
                .map(|w| {
                    // SAFETY: a watched descriptor stays open until its job
                    // takes it out of the list (`delete` comes before the
                    // close), and the PollFd does not outlive `&self`.
                    let fd = unsafe { BorrowedFd::borrow_raw(w.fd) };
                    PollFd::new(fd, poll_flags(w.events))
                })
                .collect(),
        }
    }

    /// What is ready, given the revents the loop's poll left on the
    /// descriptors `poll_fds` gave it (in the same order). With epoll, call
    /// again while `more` holds.
    pub fn ready(&self, polled: &[PollFlags]) -> io::Result<Ready> {
        match &self.mode {
            Mode::Poll(list) => Ok(Ready {
                events: list
                    .iter()
                    .zip(polled)
                    .filter(|(_, revents)| !revents.is_empty())
                    .map(|(w, revents)| (w.token, epoll_flags(*revents)))
                    .collect(),
                more: false,
            }),
            Mode::Epoll(epoll) => {
                let mut events = [EpollEvent::empty(); EPOLL_BATCH];
                let n = loop {
                    match epoll.wait(&mut events, EpollTimeout::ZERO) {
                        Ok(n) => break n,
                        Err(nix::errno::Errno::EINTR) => {}
                        Err(err) => return Err(err.into()),
                    }
                };
                Ok(Ready {
                    events: events[..n].iter().map(|e| (e.data(), e.events())).collect(),
                    more: n == EPOLL_BATCH,
                })
            }
        }
    }

    fn move_to_epoll(&mut self) -> io::Result<()> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        if let Mode::Poll(list) = &self.mode {
            for w in list {
                // SAFETY: as in `poll_fds`: still open while listed.
                let fd = unsafe { BorrowedFd::borrow_raw(w.fd) };
                epoll.add(fd, EpollEvent::new(w.events, w.token))?;
            }
        }
        self.mode = Mode::Epoll(epoll);
        Ok(())
    }
}

fn poll_flags(events: EpollFlags) -> PollFlags {
    let mut flags = PollFlags::empty();
    if events.contains(EpollFlags::EPOLLIN) {
        flags |= PollFlags::POLLIN;
    }
    if events.contains(EpollFlags::EPOLLOUT) {
        flags |= PollFlags::POLLOUT;
    }
    flags
}

/// poll's answer in epoll's words. POLLNVAL (a descriptor closed while
/// watched) reads as a hang-up, so its pipe is closed and forgotten.
fn epoll_flags(revents: PollFlags) -> EpollFlags {
    let pairs = [
        (PollFlags::POLLIN, EpollFlags::EPOLLIN),
        (PollFlags::POLLOUT, EpollFlags::EPOLLOUT),
        (PollFlags::POLLERR, EpollFlags::EPOLLERR),
        (PollFlags::POLLHUP, EpollFlags::EPOLLHUP),
        (PollFlags::POLLNVAL, EpollFlags::EPOLLHUP),
    ];
    pairs
        .iter()
        .filter(|(poll, _)| revents.contains(*poll))
        .fold(EpollFlags::empty(), |all, (_, epoll)| all | *epoll)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// What the watcher reports after a poll that does not wait.
    fn ready_now(watcher: &Watcher) -> Vec<(u64, EpollFlags)> {
        let mut fds = watcher.poll_fds();
        nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).unwrap();
        let polled: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        watcher.ready(&polled).unwrap().events
    }

    /// Both ways report the same: a pipe with data is readable, one whose
    /// writer closed hangs up, under the tokens given.
    #[test]
    fn poll_and_epoll_report_the_same_events() {
        for pipes in [2, POLL_MOST + 2] {
            let mut watcher = Watcher::new();
            let mut ends = Vec::new();
            for token in 0..pipes as u64 {
                let (reader, writer) = std::io::pipe().unwrap();
                watcher
                    .add(reader.as_fd(), EpollFlags::EPOLLIN, token)
                    .unwrap();
                ends.push((reader, Some(writer)));
            }
            assert_eq!(
                matches!(watcher.mode, Mode::Epoll(_)),
                pipes > POLL_MOST,
                "{pipes} pipes"
            );
            ends[0].1.as_mut().unwrap().write_all(b"x").unwrap();
            ends[1].1 = None;
            let mut ready = ready_now(&watcher);
            ready.sort_by_key(|(token, _)| *token);
            assert_eq!(ready.len(), 2, "{ready:?}");
            assert_eq!(ready[0].0, 0);
            assert!(ready[0].1.contains(EpollFlags::EPOLLIN));
            assert_eq!(ready[1].0, 1);
            assert!(ready[1].1.contains(EpollFlags::EPOLLHUP));
            // Deleted, it is no longer reported.
            watcher.delete(ends[0].0.as_fd());
            let ready = ready_now(&watcher);
            assert_eq!(ready.iter().map(|r| r.0).collect::<Vec<_>>(), [1]);
        }
    }
}
