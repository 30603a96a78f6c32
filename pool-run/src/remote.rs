//! Other machines for pool-run, the GNU parallel way (`-S`): ssh logins, one
//! OpenSSH master connection per host so a job costs a multiplexed session
//! instead of a TCP and authentication handshake, and the command that runs
//! a job there.
//!
//! A few lines of sh on the remote side run the job in its own session
//! (setsid) and kill that group when the ssh session ends, so Ctrl-C,
//! `--timeout`, `--halt now` and a killed pool-run (which closes the pipe on
//! every ssh's stdin) leave nothing running remotely. The wrapper also writes
//! a start marker on stderr: ssh exits 255 both when it cannot connect and
//! when the job itself exits 255, and only the marker tells them apart.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::template::{Invocation, shell_quote};

/// Written on stderr by the remote wrapper before the job starts.
pub const START_MARKER: &[u8] = b"\x1fpool-run: job started\x1f\n";
/// Written on stderr by the remote wrapper after a job that exited 255, so
/// that exit is the job's and not a lost connection.
pub const EXIT_255_MARKER: &[u8] = b"\x1fpool-run: job exited 255\x1f\n";

/// The remote side of every job: $1 is the job's command line, $2 (if any)
/// the file its stdin comes from (a --pipe block), removed after it. The job gets
/// its own session (setsid: not a group leader in a non-interactive sh, so
/// it does not fork and $! is the group); a watcher in another session reads
/// the ssh session's stdin, which pool-run never writes, and kills the job's
/// group at end-of-file, that is when the session ends.
const WRAPPER: &str = r#"exec 3<&0
printf '\037pool-run: job started\037\n' >&2
setsid sh -c "$1" <"${2:-/dev/null}" 3<&- &
j=$!
setsid sh -c 'cat >/dev/null 2>&1; kill -TERM -"$1" 2>/dev/null; sleep 2; kill -KILL -"$1" 2>/dev/null' sh "$j" <&3 >/dev/null 2>&1 &
w=$!
exec 3<&-
wait "$j"
c=$?
kill -TERM -"$w" 2>/dev/null
kill -TERM -"$j" 2>/dev/null
[ -n "$2" ] && rm -f -- "$2"
[ "$c" = 255 ] && printf '\037pool-run: job exited 255\037\n' >&2
exit "$c""#;

/// One `-S` entry: `[N/][user@]host[:port]`, or `:` for this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshLogin {
    /// `N/`: job slots on that host (else -j, else its CPU count).
    pub slots: Option<usize>,
    /// `[user@]host`, or `:`.
    pub target: String,
    pub port: Option<u16>,
}

impl SshLogin {
    pub fn parse(text: &str) -> Result<SshLogin, String> {
        let bad = || format!("invalid sshlogin '{text}' (expected [N/][user@]host[:port] or :)");
        let (slots, rest) = match text.split_once('/') {
            Some((n, rest)) => (
                Some(n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?),
                rest,
            ),
            None => (None, text),
        };
        if rest == ":" {
            return Ok(SshLogin {
                slots,
                target: ":".to_string(),
                port: None,
            });
        }
        let (target, port) = match rest.rsplit_once(':') {
            Some((target, port)) => (target, Some(port.parse::<u16>().map_err(|_| bad())?)),
            None => (rest, None),
        };
        if target.is_empty() || target.contains(char::is_whitespace) || target.starts_with('-') {
            return Err(bad());
        }
        Ok(SshLogin {
            slots,
            target: target.to_string(),
            port,
        })
    }

    pub fn is_local(&self) -> bool {
        self.target == ":"
    }

    /// How the joblog's Host column and `{host}` show it.
    pub fn name(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.target),
            None => self.target.clone(),
        }
    }
}

/// Every login from `-S` values (each may hold several, comma-separated)
/// and `--sshloginfile` files (one per line, `#` comments).
pub fn parse_logins(values: &[String], files: &[PathBuf]) -> Result<Vec<SshLogin>, String> {
    let mut texts: Vec<String> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    for file in files {
        let content = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read the sshloginfile '{}': {e}", file.display()))?;
        texts.extend(
            content
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                .filter(|l| !l.is_empty()),
        );
    }
    texts.iter().map(|t| SshLogin::parse(t)).collect()
}

/// The remote command line for a job: the wrapper, given the job's command
/// as one quoted argument, for the login shell on the other side.
/// With `markers` false (-u: output goes straight out, nothing can strip
/// them) the wrapper writes none, and an exit of 255 cannot be told from a
/// lost connection.
pub fn remote_line(invocation: &Invocation, markers: bool, stdin: Option<&str>) -> String {
    let job = match invocation {
        Invocation::Direct(argv) => argv
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
        Invocation::Shell(line) => line.clone(),
    };
    let wrapper = if markers {
        WRAPPER.to_string()
    } else {
        WRAPPER
            .lines()
            .filter(|line| !line.contains("pool-run: job"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut line = format!("sh -c {} sh {}", shell_quote(&wrapper), shell_quote(&job));
    if let Some(path) = stdin {
        line.push(' ');
        line.push_str(&shell_quote(path));
    }
    line
}

/// The files of one remote job, placeholders filled in: sent before it
/// runs (`--transferfile`), fetched after (`--return`), removed from the
/// host after that (`--cleanup`).
#[derive(Debug, Default)]
pub struct JobFiles {
    pub transfer: Vec<String>,
    pub fetch: Vec<String>,
    pub cleanup: bool,
    /// --pipe: the block's local file and its name on the host (in the
    /// remote home), sent before the job and its stdin there.
    pub block: Option<(PathBuf, String)>,
}

impl JobFiles {
    pub fn is_empty(&self) -> bool {
        self.transfer.is_empty() && self.fetch.is_empty() && self.block.is_none()
    }
}

/// The remote command of `--cleanup`: remove the files, then the
/// directories rsync -R made for them, where empty.
fn cleanup_line(files: &[String]) -> String {
    let quoted: Vec<String> = files.iter().map(|f| shell_quote(f)).collect();
    let mut line = format!("rm -f -- {}", quoted.join(" "));
    for file in files {
        if let Some((dir, _)) = file.rsplit_once('/')
            && !dir.is_empty()
        {
            line.push_str(&format!("; rmdir -p -- {} 2>/dev/null", shell_quote(dir)));
        }
    }
    line.push_str("; true");
    line
}

/// The ssh command (`--ssh`) and the private directory of the hosts'
/// control sockets (removed when this is dropped).
#[derive(Debug)]
pub struct Ssh {
    words: Vec<String>,
    dir: tempfile::TempDir,
    /// rsync is on PATH: files go with it; else with tar over ssh.
    rsync: bool,
    /// The remote wrapper writes its markers (not under -u).
    markers: bool,
}

impl Ssh {
    /// `command` is `--ssh`: the program and its options, split at spaces.
    pub fn new(command: &str, markers: bool) -> io::Result<Ssh> {
        let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        if words.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--ssh is empty",
            ));
        }
        let dir = tempfile::Builder::new().prefix("pool-run-ssh").tempdir()?;
        let rsync = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join("rsync").is_file())
        });
        Ok(Ssh {
            words,
            dir,
            rsync,
            markers,
        })
    }

    fn control_path(&self, host: usize) -> PathBuf {
        self.dir.path().join(format!("h{host}"))
    }

    /// ssh with the user's options, host `host`'s control socket and port.
    fn base(&self, login: &SshLogin, host: usize) -> Command {
        let mut command = Command::new(&self.words[0]);
        // The user's options come first: for ssh the first value of an
        // option wins, so theirs override these defaults.
        command.args(&self.words[1..]);
        command.args(["-o", "ConnectTimeout=10"]);
        command.arg("-S").arg(self.control_path(host));
        if let Some(port) = login.port {
            command.arg("-p").arg(port.to_string());
        }
        command
    }

    /// Starts the master connection of host `host`: the command returns
    /// (exit 0) once ssh has authenticated and gone to the background. It
    /// outlives pool-run by at most a minute if it cannot be told to exit.
    pub fn master(&self, login: &SshLogin, host: usize) -> Command {
        let mut command = self.base(login, host);
        command
            .args(["-o", "ControlMaster=yes", "-o", "ControlPersist=60"])
            .args(["-f", "-N", "-T"])
            .arg(&login.target)
            .stdin(Stdio::null());
        command
    }

    /// Asks the master of host `host` for its pid (`-O check`).
    pub fn master_pid(&self, login: &SshLogin, host: usize) -> Option<u32> {
        let out = self
            .base(login, host)
            .args(["-O", "check"])
            .arg(&login.target)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stderr);
        let start = text.find("pid=")? + 4;
        text[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    }

    /// Ends the master of host `host`.
    pub fn stop_master(&self, login: &SshLogin, host: usize) {
        let _ = self
            .base(login, host)
            .args(["-O", "exit"])
            .arg(&login.target)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// A command run once on host `host` (its CPU count), through the master.
    pub fn query(&self, login: &SshLogin, host: usize, line: &str) -> Command {
        let mut command = self.base(login, host);
        command
            .args(["-o", "ControlMaster=no", "-T"])
            .arg(&login.target)
            .arg(line)
            .stdin(Stdio::null());
        command
    }

    /// The local process of a job on host `host`. With files to send or
    /// fetch it is a small sh script around the ssh: rsync the inputs over
    /// the same master, run the job, rsync the results back, remove both
    /// on the host (`--cleanup`), and exit with the job's status.
    pub fn job(
        &self,
        login: &SshLogin,
        host: usize,
        invocation: &Invocation,
        files: &JobFiles,
    ) -> Command {
        let mut job = self.base(login, host);
        job.args(["-o", "ControlMaster=no", "-T"])
            .arg(&login.target)
            .arg(remote_line(
                invocation,
                self.markers,
                files.block.as_ref().map(|(_, remote)| remote.as_str()),
            ));
        if files.is_empty() {
            return job;
        }
        let words = |command: &Command| -> String {
            std::iter::once(command.get_program())
                .chain(command.get_args())
                .map(|w| shell_quote(&w.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        // rsync's -e: the same ssh, options and master as the job's.
        let mut rsync_ssh = self.base(login, host);
        rsync_ssh.args(["-o", "ControlMaster=no"]);
        let rsh = shell_quote(&words(&rsync_ssh));
        let target = shell_quote(&login.target);
        let quoted = |list: &[String]| {
            list.iter()
                .map(|f| shell_quote(f))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut script = String::new();
        // A plain session on the host, for tar at the other end.
        let session = |remote: &str| {
            let mut command = self.base(login, host);
            command
                .args(["-o", "ControlMaster=no", "-T"])
                .arg(&login.target)
                .arg(remote);
            words(&command)
        };
        if let Some((local, remote)) = &files.block {
            let upload = session(&format!("cat > {}", shell_quote(remote)));
            script.push_str(&format!(
                "out=$({upload} < {} 2>&1) || {{ c=$?; printf '%s\\n' \"$out\" >&2; exit $c; }}\n",
                shell_quote(&local.to_string_lossy())
            ));
        }
        if !files.transfer.is_empty() {
            // ssh's exit 255 (no connection) passes through as is: the job
            // goes back to the queue. Other failures fail the job.
            let send = if self.rsync {
                format!(
                    "rsync -rlDR -e {rsh} -- {} {target}:",
                    quoted(&files.transfer)
                )
            } else {
                format!(
                    "tar cf - -- {} | {}",
                    quoted(&files.transfer),
                    session("tar xf -")
                )
            };
            script.push_str(&format!(
                "out=$({send} 2>&1) || {{ c=$?; printf '%s\\n' \"$out\" >&2; exit $c; }}\n"
            ));
        }
        script.push_str(&words(&job));
        script.push_str("\nc=$?\n");
        if !files.fetch.is_empty() {
            let fetch = if self.rsync {
                let sources: Vec<String> = files
                    .fetch
                    .iter()
                    .map(|f| shell_quote(&format!("{}:{f}", login.target)))
                    .collect();
                format!("rsync -rlDR -e {rsh} -- {} ./", sources.join(" "))
            } else {
                format!(
                    "{} | tar xf -",
                    session(&format!("tar cf - -- {}", quoted(&files.fetch)))
                )
            };
            script.push_str(&format!("{fetch} >&2 || [ $c != 0 ] || c=1\n"));
        }
        if files.cleanup {
            let all: Vec<String> = files.transfer.iter().chain(&files.fetch).cloned().collect();
            let mut rm = self.base(login, host);
            rm.args(["-o", "ControlMaster=no", "-T"])
                .arg(&login.target)
                .arg(cleanup_line(&all));
            script.push_str(&words(&rm));
            script.push_str(" </dev/null >/dev/null 2>&1\n");
        }
        script.push_str("exit $c\n");
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }
}

/// Connection failures in a row after which a host is dropped for the run.
pub const MAX_FAILURES: u32 = 3;

/// The machines of a run: their logins, job slots, connection failures, and
/// the ssh masters, which are told to exit when this is dropped.
#[derive(Debug)]
pub struct Hosts {
    pub logins: Vec<SshLogin>,
    /// Job slots per host (0 for a dropped one).
    pub slots: Vec<usize>,
    /// Connection failures in a row, per host.
    failures: Vec<u32>,
    pub dropped: Vec<bool>,
    /// pids of the master connections, for the watchdog.
    pub master_pids: Vec<u32>,
    ssh: Option<Ssh>,
    masters: Vec<bool>,
}

impl Hosts {
    /// This machine only, with `jobs` slots.
    pub fn local(jobs: usize) -> Hosts {
        Hosts {
            logins: vec![SshLogin {
                slots: None,
                target: ":".to_string(),
                port: None,
            }],
            slots: vec![jobs],
            failures: vec![0],
            dropped: vec![false],
            master_pids: Vec::new(),
            ssh: None,
            masters: vec![false],
        }
    }

    /// Connects to every remote host: a master connection each (three
    /// tries), then the CPU count of those that need it. A host that cannot
    /// be reached is dropped; the lines to print say which and why.
    pub fn connect(
        logins: Vec<SshLogin>,
        ssh_command: &str,
        jobs: Option<usize>,
        local_cpus: usize,
        markers: bool,
    ) -> io::Result<(Hosts, Vec<String>)> {
        let ssh = Ssh::new(ssh_command, markers)?;
        let count = logins.len();
        let mut masters = vec![false; count];
        let mut reasons: Vec<String> = vec![String::new(); count];
        for _ in 0..MAX_FAILURES {
            // All hosts at once: start the missing masters, then wait for each.
            let attempts: Vec<(usize, io::Result<std::process::Child>)> = (0..count)
                .filter(|&h| !logins[h].is_local() && !masters[h])
                .map(|h| {
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
        let mut hosts = Hosts {
            slots: vec![0; count],
            failures: vec![0; count],
            dropped: vec![false; count],
            master_pids: Vec::new(),
            masters,
            logins,
            ssh: Some(ssh),
        };
        let mut lines = Vec::new();
        for (h, reason) in reasons.iter().enumerate() {
            let login = &hosts.logins[h];
            if !login.is_local() && !hosts.masters[h] {
                hosts.dropped[h] = true;
                lines.push(format!(
                    "pool-run: cannot reach {}: {}",
                    login.name(),
                    reason
                ));
                continue;
            }
            hosts.slots[h] = match (login.slots, jobs) {
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) if login.is_local() => local_cpus,
                (None, None) => hosts.cpu_count(h).unwrap_or(1),
            };
            if !login.is_local()
                && let Some(ssh) = &hosts.ssh
                && let Some(pid) = ssh.master_pid(login, h)
            {
                hosts.master_pids.push(pid);
            }
        }
        Ok((hosts, lines))
    }

    /// Asks host `h` for its CPU count (`nproc`), through its master.
    fn cpu_count(&self, h: usize) -> Option<usize> {
        let ssh = self.ssh.as_ref()?;
        let out = ssh
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

    /// The private directory of the control sockets (and of --pipe blocks
    /// on their way to a host), if there are remote hosts.
    pub fn control_dir(&self) -> Option<&std::path::Path> {
        self.ssh.as_ref().map(|ssh| ssh.dir.path())
    }

    pub fn is_remote(&self, h: usize) -> bool {
        !self.logins[h].is_local()
    }

    pub fn name(&self, h: usize) -> String {
        self.logins[h].name()
    }

    /// The local process of a job on remote host `h`.
    pub fn job_command(
        &self,
        h: usize,
        invocation: &Invocation,
        files: &JobFiles,
    ) -> Option<Command> {
        let ssh = self.ssh.as_ref()?;
        Some(ssh.job(&self.logins[h], h, invocation, files))
    }

    /// A job on host `h` ran: its connection worked.
    pub fn connected(&mut self, h: usize) {
        self.failures[h] = 0;
    }

    /// A job on host `h` could not reach it. True if the host is now
    /// dropped (the failures in a row reached the limit).
    pub fn connection_failed(&mut self, h: usize) -> bool {
        self.failures[h] += 1;
        if self.failures[h] >= MAX_FAILURES && !self.dropped[h] {
            self.dropped[h] = true;
            return true;
        }
        false
    }

    pub fn all_dropped(&self) -> bool {
        self.dropped.iter().all(|d| *d)
    }

    /// Tells every master connection to exit (also done on drop).
    pub fn disconnect(&mut self) {
        let Some(ssh) = &self.ssh else { return };
        for h in 0..self.logins.len() {
            if self.masters[h] {
                ssh.stop_master(&self.logins[h], h);
                self.masters[h] = false;
            }
        }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        self.disconnect();
    }
}

/// The last non-empty line of ssh's stderr, for a message.
fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshlogins_parse_like_gnu_parallel() {
        let login = SshLogin::parse("4/root@127.0.0.2:2222").unwrap();
        assert_eq!(login.slots, Some(4));
        assert_eq!(login.target, "root@127.0.0.2");
        assert_eq!(login.port, Some(2222));
        assert_eq!(login.name(), "root@127.0.0.2:2222");
        let plain = SshLogin::parse("server").unwrap();
        assert_eq!((plain.slots, plain.port), (None, None));
        assert!(SshLogin::parse(":").unwrap().is_local());
        assert_eq!(SshLogin::parse("2/:").unwrap().slots, Some(2));
        for bad in [
            "",
            "0/host",
            "x/host",
            "host:port",
            "-oProxyCommand=x",
            "a b",
        ] {
            assert!(SshLogin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logins_come_from_commas_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("logins");
        std::fs::write(&file, "# hosts\nb\n\n2/c:22 # the third\n").unwrap();
        let logins = parse_logins(&["a,:".to_string()], &[file]).unwrap();
        let names: Vec<String> = logins.iter().map(SshLogin::name).collect();
        assert_eq!(names, ["a", ":", "b", "c:22"]);
        assert_eq!(logins[3].slots, Some(2));
    }

    #[test]
    fn the_remote_line_carries_the_job_as_one_quoted_argument() {
        let line = remote_line(
            &Invocation::Direct(vec!["echo".into(), "; rm -rf x".into()]),
            true,
            None,
        );
        assert!(line.contains("job started"));
        let plain = remote_line(&Invocation::Direct(vec!["true".into()]), false, Some("b 1"));
        assert!(plain.ends_with(" 'b 1'"), "{plain}");
        assert!(!plain.contains("pool-run: job"), "{plain}");
        assert!(plain.contains("setsid"), "{plain}");
        assert!(line.starts_with("sh -c '"), "{line}");
        assert!(line.ends_with(r#" sh 'echo '\''; rm -rf x'\'''"#), "{line}");
    }
}
