//! Other machines, the GNU parallel way (`-S`): one OpenSSH master
//! connection per host, so a job costs a multiplexed session instead of a
//! TCP and authentication handshake; `:` among the logins is this machine.
//! A job whose ssh could not reach its host goes back to the queue, not
//! counted as failed; after `MAX_FAILURES` in a row the host is dropped.

pub mod login;
pub mod session;

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::process::Stdio;

use common::cli::Failure;

use super::local::Local;
use super::{Backend, Ended, Launch, Place, PlaceId, Spawn, Verdict};
use crate::config::Config;
use crate::exit::Exit;
use crate::template::{Template, shell_quote};
use crate::watchdog::Watchdog;
pub use login::{SshLogin, parse_logins};
use session::{JobFiles, Ssh, last_line};

/// Connection failures in a row after which a host is dropped for the run.
pub const MAX_FAILURES: u32 = 3;

#[derive(Debug)]
pub struct SshBackend {
    ssh: Ssh,
    logins: Vec<SshLogin>,
    places: Vec<Place>,
    /// Connection failures in a row, per host.
    failures: Vec<u32>,
    dropped: Vec<bool>,
    /// Whose master connection runs (told to exit on close and drop).
    masters: Vec<bool>,
    master_pids: Vec<u32>,
    /// The `:` places' jobs.
    local: Local,
    /// The write end of every remote job's ssh stdin, never written: when
    /// pool-run ends, however it ends, the remote sides see end-of-file and
    /// kill their jobs. The read end is what each ssh gets.
    keepalive: Option<(File, File)>,
    transfer: Vec<Template>,
    fetch: Vec<Template>,
    cleanup: bool,
    /// --basefile: sent to every host once, before its first job.
    base_files: Vec<bstr::BString>,
    /// --ssh-delay, and when the last job's ssh started.
    ssh_delay: Option<std::time::Duration>,
    last_ssh: Option<std::time::Instant>,
    /// The wrapper writes control lines (not under -u).
    markers: bool,
}

impl SshBackend {
    /// Connects to every remote host: a master connection each (three
    /// tries), then the CPU count of those that need it. A host that cannot
    /// be reached is dropped with one line; none reachable ends the run.
    pub fn connect(cfg: &Config) -> Result<SshBackend, Failure> {
        let io_failure = |e: io::Error| Failure::io(Exit::Error, "connecting to the hosts", &e);
        let markers = cfg.output.captures();
        let ssh = Ssh::new(&cfg.remote.ssh, markers)
            .map_err(io_failure)?
            .with_prelude(session::prelude(&cfg.remote.env, cfg.workdir.as_ref()))
            .with_rsync_opts(&cfg.remote.rsync_opts);
        let logins = cfg.remote.hosts.clone();
        let count = logins.len();
        let (masters, reasons) = start_masters(&ssh, &logins, cfg.remote.ssh_delay);
        let mut backend = SshBackend {
            ssh,
            places: logins
                .iter()
                .map(|l| Place {
                    name: l.name(),
                    slots: 0,
                    groups: l.groups.clone(),
                })
                .collect(),
            logins,
            failures: vec![0; count],
            dropped: vec![false; count],
            masters,
            master_pids: Vec::new(),
            local: Local::new(cfg.jobs)?,
            keepalive: None,
            transfer: cfg.remote.transfer.clone(),
            fetch: cfg.remote.fetch.clone(),
            cleanup: cfg.remote.cleanup,
            base_files: cfg.remote.base_files.clone(),
            ssh_delay: cfg.remote.ssh_delay,
            last_ssh: None,
            markers,
        };
        let jobs = cfg.jobs_given.then_some(cfg.jobs);
        let unreachable = backend.count_slots(&reasons, jobs);
        if backend.dropped.iter().all(|d| *d) {
            let why = unreachable.join("; ").replace("pool-run: ", "");
            return Err(Failure::new(
                Exit::Error,
                format!("every host is unreachable ({why})"),
            ));
        }
        for line in &unreachable {
            let _ = writeln!(io::stderr(), "{line}");
        }
        backend.send_base_files()?;
        if (0..count).any(|h| backend.places[h].slots > 0 && backend.is_remote(h)) {
            let (reader, writer) = std::io::pipe().map_err(io_failure)?;
            backend.keepalive = Some((
                File::from(OwnedFd::from(reader)),
                File::from(OwnedFd::from(writer)),
            ));
        }
        Ok(backend)
    }

    /// Each reachable host's slots (`N/`, else -j, else its CPU count) and
    /// master pid; the lines saying which hosts are unreachable and why.
    fn count_slots(&mut self, reasons: &[String], jobs: Option<usize>) -> Vec<String> {
        let local_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut lines = Vec::new();
        for (h, reason) in reasons.iter().enumerate() {
            let login = &self.logins[h];
            if !login.is_local() && !self.masters[h] {
                self.dropped[h] = true;
                lines.push(format!("pool-run: cannot reach {}: {reason}", login.name()));
                continue;
            }
            self.places[h].slots = match (login.slots, jobs) {
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) if login.is_local() => local_cpus,
                (None, None) => self.cpu_count(h).unwrap_or(1),
            };
            if !login.is_local()
                && let Some(pid) = self.ssh.master_pid(login, h)
            {
                self.master_pids.push(pid);
            }
        }
        lines
    }

    /// Asks host `h` for its CPU count (`nproc`), through its master.
    fn cpu_count(&self, h: usize) -> Option<usize> {
        let out = self
            .ssh
            .query(&self.logins[h], h, "nproc")
            .stderr(Stdio::null())
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
    }

    fn is_remote(&self, h: PlaceId) -> bool {
        !self.logins[h].is_local()
    }

    /// Where a --pipe block waits before it goes to host: the private
    /// directory, one file per job.
    fn block_path(&self, seq: u64) -> std::path::PathBuf {
        self.ssh.dir().join(format!("block-{seq}"))
    }

    /// The files of one remote job, placeholders filled in.
    fn job_files(&self, launch: &Launch<'_>) -> Result<JobFiles, Failure> {
        let seq = launch.spec.seq;
        let block = match &launch.spec.block {
            Some(block) => {
                let local = self.block_path(seq);
                std::fs::File::create(&local)
                    .and_then(|mut file| block.write_all_to(&mut file))
                    .map_err(|e| Failure::io(Exit::Error, "storing a --pipe block", &e))?;
                Some((
                    local,
                    format!(".pool-run-block.{}.{seq}", std::process::id()),
                ))
            }
            None => None,
        };
        let fill = |t: &Template| t.fill_text(launch.fill);
        Ok(JobFiles {
            transfer: self.transfer.iter().map(fill).collect(),
            fetch: self.fetch.iter().map(fill).collect(),
            cleanup: self.cleanup,
            block,
        })
    }

    /// A job's ssh could not reach host `h`; dropped after `MAX_FAILURES`
    /// in a row (one line), and when no host is left, the run ends.
    fn lost(&mut self, h: PlaceId, ended: &mut Ended<'_>) -> Result<Verdict, Failure> {
        self.failures[h] += 1;
        if self.failures[h] < MAX_FAILURES || self.dropped[h] {
            return Ok(Verdict::Lost { drop_place: false });
        }
        self.dropped[h] = true;
        let bytes = ended.captured.err.read_all().unwrap_or_default();
        let why = last_line(&bytes).unwrap_or_else(|| "ssh failed".to_string());
        let name = self.logins[h].name();
        if self.dropped.iter().all(|d| *d) {
            return Err(Failure::new(
                Exit::Error,
                format!(
                    "every host is gone ({name}: {MAX_FAILURES} failed connections in a row: {why}); {} jobs done",
                    ended.jobs_done
                ),
            ));
        }
        let _ = writeln!(
            io::stderr(),
            "pool-run: dropping {name} after {MAX_FAILURES} failed connections in a row: {why}"
        );
        Ok(Verdict::Lost { drop_place: true })
    }

    /// Tells every master connection to exit.
    /// --basefile: each file goes to every host that will run jobs, before
    /// the first job (GNU parallel's order).
    fn send_base_files(&self) -> Result<(), Failure> {
        if self.base_files.is_empty() {
            return Ok(());
        }
        for h in (0..self.logins.len()).filter(|&h| self.places[h].slots > 0 && self.is_remote(h)) {
            self.ssh
                .send_base_files(&self.logins[h], h, &self.base_files)
                .map_err(|why| {
                    Failure::new(
                        Exit::Error,
                        format!(
                            "--basefile: sending to {} failed ({why})",
                            self.logins[h].name()
                        ),
                    )
                })?;
        }
        Ok(())
    }

    fn disconnect(&mut self) {
        // --basefile with --cleanup: the files go when the run does.
        if self.cleanup && !self.base_files.is_empty() {
            let names: Vec<String> = self
                .base_files
                .iter()
                .map(|f| String::from_utf8_lossy(&shell_quote(f)).into_owned())
                .collect();
            let line = format!("rm -f -- {}", names.join(" "));
            for h in (0..self.logins.len()).filter(|&h| self.masters[h]) {
                // A busy sshd may refuse one connection: try again, and
                // say so if the files stay.
                let removed = (0..3).any(|_| {
                    self.ssh
                        .query(&self.logins[h], h, &line)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|status| status.success())
                });
                if !removed {
                    let _ = writeln!(
                        std::io::stderr(),
                        "pool-run: warning: --cleanup could not remove the --basefile files on {}",
                        self.logins[h].name()
                    );
                }
            }
        }
        for h in 0..self.logins.len() {
            if self.masters[h] {
                self.ssh.stop_master(&self.logins[h], h);
                self.masters[h] = false;
            }
        }
    }
}

/// Starts the master of every remote host, all at once, up to
/// `MAX_FAILURES` tries each: which ones run, and why the others do not.
/// With --ssh-delay the masters start that far apart (sshd's MaxStartups
/// refuses connections that come too many at once).
fn start_masters(
    ssh: &Ssh,
    logins: &[SshLogin],
    delay: Option<std::time::Duration>,
) -> (Vec<bool>, Vec<String>) {
    let count = logins.len();
    let mut masters = vec![false; count];
    let mut reasons = vec![String::new(); count];
    for _ in 0..MAX_FAILURES {
        let attempts: Vec<(usize, io::Result<std::process::Child>)> = (0..count)
            .filter(|&h| !logins[h].is_local() && !masters[h])
            .enumerate()
            .map(|(n, h)| {
                if let (Some(delay), true) = (delay, n > 0) {
                    std::thread::sleep(delay);
                }
                let mut command = ssh.master(&logins[h], h);
                command.stdout(Stdio::null()).stderr(Stdio::piped());
                (h, command.spawn())
            })
            .collect();
        if attempts.is_empty() {
            break;
        }
        for (h, child) in attempts {
            match child.and_then(|c| c.wait_with_output()) {
                Ok(out) if out.status.success() => masters[h] = true,
                Ok(out) => {
                    reasons[h] = last_line(&out.stderr)
                        .unwrap_or_else(|| format!("ssh ended with {}", out.status))
                }
                Err(err) => reasons[h] = format!("cannot run ssh: {err}"),
            }
        }
    }
    (masters, reasons)
}

impl Backend for SshBackend {
    fn places(&self) -> &[Place] {
        &self.places
    }

    fn prepare(&mut self, launch: &Launch<'_>) -> Result<Spawn, Failure> {
        let h = launch.place;
        if !self.is_remote(h) {
            return self.local.prepare(launch);
        }
        let files = self.job_files(launch)?;
        // --ssh-delay: no ssh within the delay of the last one.
        if let (Some(delay), Some(last)) = (self.ssh_delay, self.last_ssh) {
            std::thread::sleep(delay.saturating_sub(last.elapsed()));
        }
        self.last_ssh = Some(std::time::Instant::now());
        let mut command = self.ssh.job(&self.logins[h], h, launch.invocation, &files);
        let stdin = match &self.keepalive {
            Some((reader, _)) => reader
                .try_clone()
                .map(Stdio::from)
                .map_err(|e| Failure::io(Exit::Error, "setting up a job", &e))?,
            None => self.local.null()?,
        };
        command.stdin(stdin);
        let program = command.get_program().to_string_lossy().into_owned();
        Ok(Spawn {
            command,
            program,
            framed: self.markers,
            feed: false,
        })
    }

    fn conclude(&mut self, mut ended: Ended<'_>) -> Result<Verdict, Failure> {
        let h = ended.place;
        let host = self.logins[h].name();
        if !self.is_remote(h) {
            return Ok(Verdict::Ran { host });
        }
        if ended.spec.block.is_some() {
            let _ = std::fs::remove_file(self.block_path(ended.spec.seq));
        }
        // Under -u there are no control lines: every exit is the job's.
        if self.markers {
            let frames = &ended.captured.frames;
            let exited_255 = ended.exit == common::exit::ChildExit::Exited(255);
            let own_255 = exited_255 && frames.started && frames.exited_255;
            if exited_255 && !own_255 && !ended.timed_out {
                return self.lost(h, &mut ended);
            }
            self.failures[h] = 0;
        }
        Ok(Verdict::Ran { host })
    }

    fn guard(&self, watchdog: &mut Watchdog) {
        for &pid in &self.master_pids {
            watchdog.started(pid);
        }
        watchdog.directory(self.ssh.dir());
    }

    fn close(&mut self) {
        self.disconnect();
    }
}

impl Drop for SshBackend {
    fn drop(&mut self) {
        self.disconnect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::Frames;
    use crate::job::JobSpec;
    use crate::output::Captured;
    use common::exit::ChildExit;

    /// A back-end over two hosts and `:`, with no connection made.
    fn backend() -> SshBackend {
        let logins: Vec<SshLogin> = ["a", "b", ":"]
            .iter()
            .map(|t| SshLogin::parse(t).unwrap())
            .collect();
        SshBackend {
            ssh: Ssh::new(&["ssh".to_string()], true).unwrap(),
            places: logins
                .iter()
                .map(|l| Place {
                    name: l.name(),
                    slots: 1,
                    groups: l.groups.clone(),
                })
                .collect(),
            failures: vec![0; 3],
            dropped: vec![false; 3],
            masters: vec![false; 3],
            master_pids: Vec::new(),
            local: Local::new(1).unwrap(),
            keepalive: None,
            transfer: Vec::new(),
            fetch: Vec::new(),
            cleanup: false,
            base_files: Vec::new(),
            ssh_delay: None,
            last_ssh: None,
            markers: true,
            logins,
        }
    }

    fn end(
        backend: &mut SshBackend,
        place: PlaceId,
        code: u8,
        frames: Frames,
    ) -> Result<Verdict, Failure> {
        let spec = JobSpec::new(1, vec![]);
        let mut captured =
            Captured::message("ssh: connect to host: Connection refused\n".into(), None);
        captured.frames = frames;
        backend.conclude(Ended {
            spec: &spec,
            place,
            exit: ChildExit::Exited(code),
            timed_out: false,
            captured: &mut captured,
            jobs_done: 5,
        })
    }

    fn ran() -> Frames {
        Frames {
            started: true,
            exited_255: true,
            node: None,
        }
    }

    #[test]
    fn a_job_that_exited_255_itself_ran() {
        let mut backend = backend();
        assert_eq!(
            end(&mut backend, 0, 255, ran()),
            Ok(Verdict::Ran { host: "a".into() })
        );
        assert_eq!(
            end(&mut backend, 2, 255, Frames::default()),
            Ok(Verdict::Ran { host: ":".into() })
        );
    }

    #[test]
    fn a_host_is_dropped_after_three_lost_connections_in_a_row() {
        let mut backend = backend();
        let lost = |drop_place| Ok(Verdict::Lost { drop_place });
        assert_eq!(end(&mut backend, 0, 255, Frames::default()), lost(false));
        assert_eq!(end(&mut backend, 0, 255, Frames::default()), lost(false));
        assert_eq!(
            end(&mut backend, 0, 0, ran()),
            Ok(Verdict::Ran { host: "a".into() })
        );
        assert_eq!(
            end(&mut backend, 0, 255, Frames::default()),
            lost(false),
            "the count restarted"
        );
        assert_eq!(end(&mut backend, 0, 255, Frames::default()), lost(false));
        assert_eq!(end(&mut backend, 0, 255, Frames::default()), lost(true));
    }

    #[test]
    fn the_run_ends_when_every_host_is_gone() {
        let mut backend = backend();
        backend.dropped[2] = true;
        for _ in 0..3 {
            let _ = end(&mut backend, 0, 255, Frames::default());
        }
        for _ in 0..2 {
            assert!(end(&mut backend, 1, 255, Frames::default()).is_ok());
        }
        let failure = end(&mut backend, 1, 255, Frames::default()).unwrap_err();
        assert!(
            failure
                .message
                .starts_with("every host is gone (b: 3 failed"),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("Connection refused"));
        assert!(failure.message.ends_with("; 5 jobs done"));
    }
}
