//! Children in process groups: start a command as the leader of a new group
//! (so a timeout or Ctrl-C can reach its grandchildren too), signal the group,
//! wait for a child with its resource usage, and reap what is left.
//!
//! Groups are set with `CommandExt::process_group`, never with a `pre_exec`
//! closure: `pre_exec` forces std onto fork+exec, while `process_group` keeps
//! the posix_spawn (vfork) fast path that makes spawning cheap.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::Pid;

use crate::exit::ChildExit;
use crate::signal::Signal;

/// Spawns `command` as the leader of a new process group whose id is the
/// child's pid.
pub fn spawn_in_new_group(command: &mut Command) -> io::Result<Child> {
    command.process_group(0).spawn()
}

/// The signal for kill(2): None for signal 0, which only checks the target.
fn nix_signal(signal: Signal) -> io::Result<Option<NixSignal>> {
    if signal == Signal::EXIT {
        return Ok(None);
    }
    NixSignal::try_from(signal.number())
        .map(Some)
        .map_err(io::Error::from)
}

fn pid_of(pid: u32) -> io::Result<Pid> {
    i32::try_from(pid)
        .map(Pid::from_raw)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))
}

/// Sends `signal` to every process of group `pgid`. Returns false when the
/// group has no member left (not an error: it ended on its own).
pub fn signal_group(pgid: u32, signal: Signal) -> io::Result<bool> {
    match killpg(pid_of(pgid)?, nix_signal(signal)?) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Sends `signal` to group `pgid`, then SIGCONT unless the signal is KILL
/// or CONT: a stopped process acts on a terminating signal only once it is
/// continued (coreutils `timeout` does the same). Returns false when the
/// group has no member left.
pub fn signal_group_and_continue(pgid: u32, signal: Signal) -> io::Result<bool> {
    and_continue(signal, |s| signal_group(pgid, s))
}

/// [`signal_group_and_continue`] for one process.
pub fn signal_process_and_continue(pid: u32, signal: Signal) -> io::Result<bool> {
    and_continue(signal, |s| signal_process(pid, s))
}

fn and_continue(signal: Signal, send: impl Fn(Signal) -> io::Result<bool>) -> io::Result<bool> {
    let alive = send(signal)?;
    if alive && signal != Signal::KILL && signal != Signal::CONT {
        send(Signal::CONT)?;
    }
    Ok(alive)
}

/// Why a program could not be started, as a shell reports it: the exit
/// code (127 not found, 126 found but not runnable) and the message, which
/// names `program`, the file that was to be executed.
pub fn spawn_error(program: &str, err: &io::Error) -> (u8, String) {
    match err.kind() {
        io::ErrorKind::NotFound => (
            crate::exit::NOT_FOUND,
            format!("cannot run '{program}': command not found"),
        ),
        io::ErrorKind::PermissionDenied => (
            crate::exit::CANNOT_INVOKE,
            format!("cannot run '{program}': permission denied"),
        ),
        _ => (
            crate::exit::CANNOT_INVOKE,
            format!("cannot run '{program}': {err}"),
        ),
    }
}

/// Sends `signal` to one process. Returns false when it no longer exists.
pub fn signal_process(pid: u32, signal: Signal) -> io::Result<bool> {
    match kill(pid_of(pid)?, nix_signal(signal)?) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Whether any process (zombies included) is still in group `pgid`.
pub fn group_exists(pgid: u32) -> bool {
    match pid_of(pgid) {
        Ok(pgid) => !matches!(killpg(pgid, None), Err(Errno::ESRCH)),
        Err(_) => false,
    }
}

/// Resource usage of a waited-for child and its own waited-for descendants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rusage {
    pub user: Duration,
    pub system: Duration,
    pub max_rss_kib: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

fn count(value: libc::c_long) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// What a non-blocking look at a child found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildState {
    Running,
    /// Stopped by this signal (Ctrl-Z, SIGSTOP, or SIGTTIN from reading a
    /// terminal it does not own).
    Stopped(Signal),
    Exited(ChildExit, Rusage),
}

/// Waits for child `pid` with wait4, which also returns its resource usage.
/// With `block` false it returns `Ok(None)` while the child still runs.
pub fn wait_child(pid: u32, block: bool) -> io::Result<Option<(ChildExit, Rusage)>> {
    let flags = if block { 0 } else { libc::WNOHANG };
    Ok(match wait4(pid, flags)? {
        ChildState::Exited(exit, usage) => Some((exit, usage)),
        ChildState::Running | ChildState::Stopped(_) => None,
    })
}

/// Looks at child `pid` without waiting, reporting stops too, so a
/// supervisor that shares a terminal with it can do job control.
pub fn poll_child(pid: u32) -> io::Result<ChildState> {
    wait4(pid, libc::WNOHANG | libc::WUNTRACED)
}

fn wait4(pid: u32, flags: libc::c_int) -> io::Result<ChildState> {
    let pid = pid_of(pid)?.as_raw();
    let mut status: libc::c_int = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (plain integers).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types.
        let rc = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        match rc {
            0 => return Ok(ChildState::Running),
            -1 if Errno::last() == Errno::EINTR => continue,
            -1 => return Err(io::Error::last_os_error()),
            _ => break,
        }
    }
    if libc::WIFSTOPPED(status) {
        let signal = Signal::from_number(libc::WSTOPSIG(status)).unwrap_or(Signal::STOP);
        return Ok(ChildState::Stopped(signal));
    }
    let rusage = Rusage {
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        max_rss_kib: count(usage.ru_maxrss),
        minor_faults: count(usage.ru_minflt),
        major_faults: count(usage.ru_majflt),
        voluntary_switches: count(usage.ru_nvcsw),
        involuntary_switches: count(usage.ru_nivcsw),
    };
    Ok(ChildState::Exited(ChildExit::from_raw(status), rusage))
}

/// Reaps one child that has already ended, whichever it is, without
/// waiting: its pid and how it ended. None when no child has ended (or
/// there is no child). Stopped children are not reported.
pub fn reap_any_exited() -> io::Result<Option<(u32, ChildExit)>> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a live local.
        let rc = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match rc {
            0 => return Ok(None),
            -1 => match Errno::last() {
                Errno::EINTR => continue,
                Errno::ECHILD => return Ok(None),
                errno => return Err(errno.into()),
            },
            pid => return Ok(Some((pid.unsigned_abs(), ChildExit::from_raw(status)))),
        }
    }
}

/// Reaps every child that has already ended, without waiting; returns how
/// many. A subreaper calls it for the orphans it adopted. Call it only when
/// no child whose status matters is still unreaped.
pub fn reap_exited_children() -> usize {
    let mut reaped = 0;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a live local.
        let rc = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if rc > 0 {
            reaped += 1;
        } else if rc == -1 && Errno::last() == Errno::EINTR {
            continue;
        } else {
            return reaped;
        }
    }
}

/// Forks, runs `child` in the new process and leaves it with `_exit` and the
/// code `child` returns; returns the child's pid in the parent.
///
/// Call it only while this process has one thread: a child forked from a
/// multi-threaded process may deadlock on a lock another thread held. stdout
/// is flushed first, so nothing buffered is printed twice, and the child never
/// returns into the parent's code or runs its destructors (`_exit`); a panic
/// in `child` becomes exit code 101.
pub fn fork_child(child: impl FnOnce() -> i32) -> io::Result<u32> {
    use std::io::Write;
    std::io::stdout().flush()?;
    // SAFETY: the caller keeps this process single-threaded (see above); the
    // child runs `child` and then leaves through _exit without unwinding into
    // the parent's stack.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(child.as_raw().unsigned_abs()),
        nix::unistd::ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
            let _ = std::io::stdout().flush();
            // SAFETY: _exit ends the process at once; nothing runs after it.
            unsafe { libc::_exit(code) }
        }
    }
}

/// Stops this process (SIGSTOP) until something sends it SIGCONT, the way a
/// job stops at Ctrl-Z; returns once continued.
pub fn stop_self() -> io::Result<()> {
    nix::sys::signal::raise(NixSignal::SIGSTOP).map_err(io::Error::from)
}

/// Marks every descriptor above 2 close-on-exec, so descriptors this
/// process inherited without the flag (a make jobserver, a shell's spare
/// copies) do not leak into the commands it runs: they get 0, 1 and 2 only.
/// The descriptors stay usable here.
pub fn close_inherited_fds_on_exec() -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on a
    // range of descriptors; it takes plain integers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    // Kernels before 5.11: one fcntl per open descriptor.
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Some(fd) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if fd > 2 {
            // SAFETY: F_SETFD on a descriptor number; a closed one just fails.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

/// Makes this process the reaper of its orphaned descendants (Linux
/// PR_SET_CHILD_SUBREAPER), so a command's background processes become our
/// children when their parent dies and can be waited for and killed.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes a plain integer.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Instant;

    #[test]
    fn spawn_errors_map_to_the_shells_codes() {
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(
            spawn_error("srun", &missing),
            (127, "cannot run 'srun': command not found".to_string())
        );
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(spawn_error("x", &denied).0, 126);
        assert!(spawn_error("x", &denied).1.ends_with("permission denied"));
        let other = io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(spawn_error("sh", &other).0, 126);
    }

    #[test]
    fn a_stopped_group_continues_after_a_terminating_signal() {
        let mut child = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id();
        assert!(signal_group(pgid, Signal::STOP).unwrap());
        assert!(signal_group_and_continue(pgid, Signal::TERM).unwrap());
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert!(
            !signal_group_and_continue(pgid, Signal::TERM).unwrap(),
            "gone"
        );
    }

    #[test]
    fn new_group_is_led_by_the_child() {
        let mut child = spawn_in_new_group(Command::new("sleep").arg("10")).unwrap();
        let pid = child.id();
        let pgid = nix::unistd::getpgid(Some(Pid::from_raw(pid as i32))).unwrap();
        assert_eq!(pgid.as_raw() as u32, pid);
        assert!(group_exists(pid));
        assert!(signal_group(pid, Signal::KILL).unwrap());
        let (exit, _) = wait_child(pid, true).unwrap().unwrap();
        assert_eq!(exit.signal(), Some(libc::SIGKILL));
        assert!(!group_exists(pid));
        assert!(!signal_group(pid, Signal::TERM).unwrap());
        let _ = child.try_wait();
    }

    #[test]
    #[allow(
        clippy::zombie_processes,
        reason = "reaped by wait_child, which std cannot see"
    )]
    fn signalling_the_group_reaches_grandchildren() {
        let mut child = spawn_in_new_group(
            Command::new("sh")
                .args(["-c", "sleep 100 & echo $!; wait"])
                .stdout(Stdio::piped()),
        )
        .unwrap();
        let pid = child.id();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        assert!(signal_group(pid, Signal::TERM).unwrap());
        let (exit, _) = wait_child(pid, true).unwrap().unwrap();
        assert!(!exit.success());
        // The grandchild is not ours to reap; its TERM is delivered before
        // kill returns, so it is at most a zombie by now, never running.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                .map(|stat| stat.rsplit(')').next().unwrap_or("").trim().chars().next())
                .unwrap_or(None);
            if matches!(state, None | Some('Z')) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "grandchild {grandchild} still running"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    #[allow(
        clippy::zombie_processes,
        reason = "reaped by wait_child, which std cannot see"
    )]
    fn wait_child_reports_status_and_usage() {
        let child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
        let (exit, usage) = wait_child(child.id(), true).unwrap().unwrap();
        assert_eq!(exit, ChildExit::Exited(7));
        assert!(usage.max_rss_kib > 0);
        assert!(wait_child(child.id(), false).is_err(), "already reaped");
    }

    #[test]
    fn inherited_descriptors_stop_at_exec() {
        let (reader, _writer) = std::io::pipe().unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&reader);
        // SAFETY: clears FD_CLOEXEC on our own open descriptor.
        unsafe { libc::fcntl(raw, libc::F_SETFD, 0) };
        close_inherited_fds_on_exec().unwrap();
        // SAFETY: reads the flags of our own open descriptor.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }

    #[test]
    fn poll_child_reports_a_stop() {
        let mut child = Command::new("sleep").arg("10").spawn().unwrap();
        assert!(signal_process(child.id(), Signal::STOP).unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        let state = loop {
            match poll_child(child.id()).unwrap() {
                ChildState::Running if Instant::now() < deadline => std::thread::yield_now(),
                other => break other,
            }
        };
        assert_eq!(state, ChildState::Stopped(Signal::STOP));
        assert!(signal_process(child.id(), Signal::KILL).unwrap());
        assert!(wait_child(child.id(), true).unwrap().is_some());
        let _ = child.try_wait();
    }

    #[test]
    fn wait_child_without_blocking_sees_a_running_child() {
        let mut child = Command::new("sleep").arg("10").spawn().unwrap();
        assert_eq!(wait_child(child.id(), false).unwrap(), None);
        assert!(signal_process(child.id(), Signal::KILL).unwrap());
        assert!(wait_child(child.id(), true).unwrap().is_some());
        let _ = child.try_wait();
    }
}
