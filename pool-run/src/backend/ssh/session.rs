//! The ssh side of a remote job: the private directory of the hosts'
//! control sockets, the master connection of each host, and the local
//! command of one job (ssh through the master, the remote sh wrapper, and
//! around them the script that sends and fetches the job's files).
//!
//! A few lines of sh on the remote side run the job in its own session
//! (setsid) and kill that group when the ssh session ends, so Ctrl-C,
//! `--timeout`, `--halt now` and a killed pool-run (which closes the pipe on
//! every ssh's stdin) leave nothing running remotely. The wrapper also writes
//! control lines on stderr (`frames`): ssh exits 255 both when it cannot
//! connect and when the job itself exits 255, and only they tell them apart.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use bstr::{BString, ByteSlice, ByteVec};

use super::login::SshLogin;
use crate::template::{Invocation, shell_quote};

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

/// The remote command line for a job: the wrapper, given the job's command
/// as one quoted argument, for the login shell on the other side.
/// With `markers` false (-u: output goes straight out, nothing can strip
/// them) the wrapper writes none, and an exit of 255 cannot be told from a
/// lost connection.
pub fn remote_line(
    invocation: &Invocation,
    markers: bool,
    stdin: Option<&str>,
    prelude: &[u8],
) -> BString {
    // The words quoted for the remote shell, or the line as it is (bytes:
    // a value that is not UTF-8 reaches the remote job unchanged), after
    // the prelude (--env's exports, --wd's cd).
    let mut job = BString::from(prelude);
    job.push_str(invocation.display());
    let wrapper = if markers {
        WRAPPER.to_string()
    } else {
        WRAPPER
            .lines()
            .filter(|line| !line.contains("pool-run: job"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut line = BString::from("sh -c ");
    line.push_str(shell_quote(wrapper.as_bytes()));
    line.push_str(" sh ");
    line.push_str(shell_quote(&job));
    if let Some(path) = stdin {
        line.push_byte(b' ');
        line.push_str(shell_quote(path.as_bytes()));
    }
    line
}

/// The files of one remote job, placeholders filled in: sent before it
/// runs (`--transferfile`), fetched after (`--return`), removed from the
/// host after that (`--cleanup`).
#[derive(Debug, Default)]
pub struct JobFiles {
    pub transfer: Vec<BString>,
    pub fetch: Vec<BString>,
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
fn cleanup_line(files: &[BString]) -> BString {
    let mut line = BString::from("rm -f -- ");
    line.push_str(quoted(files));
    for file in files {
        if let Some(slash) = file.rfind_byte(b'/')
            && slash > 0
        {
            line.push_str("; rmdir -p -- ");
            line.push_str(shell_quote(&file[..slash]));
            line.push_str(" 2>/dev/null");
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
    /// Put before every job's line: --env's exports, --wd's directory.
    prelude: BString,
    /// --rsync-opts (default -rlDR), as the user wrote them for sh.
    rsync_opts: String,
}

/// The lines before a remote job: `export NAME='value'` for each --env
/// NAME set here, then the working directory: `cd DIR` for --wd DIR, or
/// for --wd ... a fresh directory under /tmp, removed when the job ends.
pub fn prelude(env: &[String], workdir: Option<&crate::config::WorkDir>) -> BString {
    let mut lines = BString::default();
    for name in env {
        if let Some(value) = std::env::var_os(name) {
            lines.push_str(format!("{name}="));
            lines.push_str(shell_quote(value.as_bytes()));
            lines.push_str(format!("; export {name}\n"));
        }
    }
    match workdir {
        None => {}
        Some(crate::config::WorkDir::At(dir)) => {
            lines.push_str("cd ");
            lines.push_str(shell_quote(dir.as_os_str().as_bytes()));
            lines.push_str(" || exit 1\n");
        }
        Some(crate::config::WorkDir::Fresh) => lines.push_str(
            "d=$(mktemp -d /tmp/pool-run-wd.XXXXXX) || exit 1\n\
             trap 'cd /; rm -rf \"$d\"' EXIT\ncd \"$d\" || exit 1\n",
        ),
    }
    lines
}

impl Ssh {
    /// `command` is `--ssh`: the program and its options, split at spaces.
    /// `words`: --ssh, the program and its options (at least the program).
    pub fn new(words: &[String], markers: bool) -> io::Result<Ssh> {
        let words = words.to_vec();
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
            prelude: BString::default(),
            rsync_opts: "-rlDR".to_string(),
        })
    }

    /// --rsync-opts: rsync's options (sh reads them, as GNU parallel's).
    pub fn with_rsync_opts(mut self, opts: &str) -> Ssh {
        self.rsync_opts = opts.to_string();
        self
    }

    /// What every job's line starts with (see [`prelude`]).
    pub fn with_prelude(mut self, prelude: BString) -> Ssh {
        self.prelude = prelude;
        self
    }

    /// The private directory: control sockets, --pipe blocks on their way.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
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

    /// --basefile: `files` sent to host `host` once, before its first job
    /// (rsync or tar over the master, as --transferfile's). The error is
    /// what the transfer printed.
    pub fn send_base_files(
        &self,
        login: &SshLogin,
        host: usize,
        files: &[BString],
    ) -> Result<(), String> {
        let job_files = JobFiles {
            transfer: files.to_vec(),
            fetch: Vec::new(),
            cleanup: false,
            block: None,
        };
        let script = self.send_script(login, host, &job_files);
        let out = Command::new("sh")
            .arg("-c")
            .arg(OsStr::from_bytes(&script))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(last_line(&out.stderr).unwrap_or_else(|| "the transfer failed".to_string()))
        }
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
            .arg(OsStr::from_bytes(&remote_line(
                invocation,
                self.markers,
                files.block.as_ref().map(|(_, remote)| remote.as_str()),
                &self.prelude,
            )));
        if files.is_empty() {
            return job;
        }
        let mut script = self.send_script(login, host, files);
        script.push_str(words(&job));
        script.push_str("\nc=$?\n");
        script.push_str(self.fetch_script(login, host, files));
        script.push_str("exit $c\n");
        let mut command = Command::new("sh");
        command.arg("-c").arg(OsStr::from_bytes(&script));
        command
    }

    /// A plain session on host `host` running `remote` (tar at the other end).
    fn session(&self, login: &SshLogin, host: usize, remote: &[u8]) -> BString {
        let mut command = self.base(login, host);
        command
            .args(["-o", "ControlMaster=no", "-T"])
            .arg(&login.target)
            .arg(OsStr::from_bytes(remote));
        words(&command)
    }

    /// rsync's -e: the same ssh, options and master as the job's.
    fn rsync_shell(&self, login: &SshLogin, host: usize) -> BString {
        let mut rsync_ssh = self.base(login, host);
        rsync_ssh.args(["-o", "ControlMaster=no"]);
        shell_quote(&words(&rsync_ssh))
    }

    /// The script's lines before the job: the --pipe block and the
    /// --transferfile files go to the host. ssh's exit 255 (no connection)
    /// passes through as is: the job goes back to the queue. Other failures
    /// fail the job.
    fn send_script(&self, login: &SshLogin, host: usize, files: &JobFiles) -> BString {
        let mut script = BString::default();
        let or_fail = "|| { c=$?; printf '%s\\n' \"$out\" >&2; exit $c; }\n";
        if let Some((local, remote)) = &files.block {
            let mut upload = BString::from("cat > ");
            upload.push_str(shell_quote(remote.as_bytes()));
            script.push_str("out=$(");
            script.push_str(self.session(login, host, &upload));
            script.push_str(" < ");
            script.push_str(shell_quote(local.as_os_str().as_bytes()));
            script.push_str(" 2>&1) ");
            script.push_str(or_fail);
        }
        if !files.transfer.is_empty() {
            script.push_str("out=$(");
            if self.rsync {
                script.push_str("rsync ");
                script.push_str(&self.rsync_opts);
                script.push_str(" -e ");
                script.push_str(self.rsync_shell(login, host));
                script.push_str(" -- ");
                script.push_str(quoted(&files.transfer));
                script.push_byte(b' ');
                script.push_str(shell_quote(login.target.as_bytes()));
                script.push_byte(b':');
            } else {
                script.push_str("tar cf - -- ");
                script.push_str(quoted(&files.transfer));
                script.push_str(" | ");
                script.push_str(self.session(login, host, b"tar xf -"));
            }
            script.push_str(" 2>&1) ");
            script.push_str(or_fail);
        }
        script
    }

    /// The script's lines after the job: --return files come back, then
    /// --cleanup removes both kinds from the host.
    fn fetch_script(&self, login: &SshLogin, host: usize, files: &JobFiles) -> BString {
        let mut script = BString::default();
        if !files.fetch.is_empty() {
            if self.rsync {
                let sources: Vec<BString> = files
                    .fetch
                    .iter()
                    .map(|f| {
                        let mut source = BString::from(format!("{}:", login.target));
                        source.push_str(f);
                        source
                    })
                    .collect();
                script.push_str("rsync ");
                script.push_str(&self.rsync_opts);
                script.push_str(" -e ");
                script.push_str(self.rsync_shell(login, host));
                script.push_str(" -- ");
                script.push_str(quoted(&sources));
                script.push_str(" ./");
            } else {
                let mut tar = BString::from("tar cf - -- ");
                tar.push_str(quoted(&files.fetch));
                script.push_str(self.session(login, host, &tar));
                script.push_str(" | tar xf -");
            }
            script.push_str(" >&2 || [ $c != 0 ] || c=1\n");
        }
        if files.cleanup {
            let all: Vec<BString> = files.transfer.iter().chain(&files.fetch).cloned().collect();
            script.push_str(self.session(login, host, &cleanup_line(&all)));
            script.push_str(" </dev/null >/dev/null 2>&1\n");
        }
        script
    }
}

/// A command as one line of sh.
fn words(command: &Command) -> BString {
    let words: Vec<&[u8]> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::as_bytes)
        .collect();
    quoted(&words)
}

/// File names quoted for sh, space-separated.
fn quoted<W: AsRef<[u8]>>(list: &[W]) -> BString {
    let quoted: Vec<BString> = list.iter().map(|w| shell_quote(w.as_ref())).collect();
    BString::from(quoted.join(&b' '))
}

/// The last non-empty line of ssh's stderr, for a message.
pub fn last_line(bytes: &[u8]) -> Option<String> {
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
    fn the_remote_line_carries_the_job_as_one_quoted_argument() {
        let line = remote_line(
            &Invocation::Direct(vec!["echo".into(), "; rm -rf x".into()]),
            true,
            None,
            b"",
        );
        let line = line.to_string();
        assert!(line.contains("job started"));
        let plain = remote_line(
            &Invocation::Direct(vec!["true".into()]),
            false,
            Some("b 1"),
            b"",
        )
        .to_string();
        assert!(plain.ends_with(" 'b 1'"), "{plain}");
        assert!(!plain.contains("pool-run: job"), "{plain}");
        assert!(plain.contains("setsid"), "{plain}");
        assert!(line.starts_with("sh -c '"), "{line}");
        assert!(line.ends_with(r#" sh 'echo '\''; rm -rf x'\'''"#), "{line}");
    }

    /// Runs a remote line here, as the login shell on the host would, with
    /// a stdin kept open as the ssh session's is. Its exit code and stderr.
    fn run_here(line: &[u8]) -> (Option<i32>, Vec<u8>) {
        use std::io::Read;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(OsStr::from_bytes(line))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let session = child.stdin.take();
        let mut stderr = Vec::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        drop(session);
        (status.code(), stderr)
    }

    #[test]
    fn the_wrapper_writes_the_control_lines_frames_reads() {
        use crate::frames::{self, Frames};
        let job = Invocation::Shell("echo warning >&2; exit 255".into());
        let (code, stderr) = run_here(&remote_line(&job, true, None, b""));
        assert_eq!(code, Some(255));
        assert_eq!(
            stderr,
            [frames::START, b"warning\n", frames::EXIT_255].concat()
        );
        let mut lines = stderr.clone();
        let mut seen = Frames::default();
        seen.take_from_lines(&mut lines);
        assert!(seen.started && seen.exited_255);
        let (code, plain) = run_here(&remote_line(
            &Invocation::Direct(vec!["false".into()]),
            false,
            None,
            b"",
        ));
        assert_eq!((code, plain), (Some(1), Vec::new()), "-u: no control lines");
    }

    #[test]
    fn the_prelude_exports_env_and_enters_the_workdir() {
        // SAFETY: the test sets a variable no other test reads.
        unsafe { std::env::set_var("POOL_RUN_PRELUDE_TEST", "a b'c") };
        let fresh = crate::config::WorkDir::Fresh;
        let lines = prelude(
            &["POOL_RUN_PRELUDE_TEST".into(), "POOL_RUN_UNSET_HERE".into()],
            Some(&fresh),
        );
        let job = Invocation::Shell("echo \"$POOL_RUN_PRELUDE_TEST\"; pwd".into());
        let (code, _) = run_here(&remote_line(&job, false, None, &lines));
        assert_eq!(code, Some(0));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(OsStr::from_bytes(
                &[&lines[..], b"echo \"$POOL_RUN_PRELUDE_TEST\"; pwd"].concat(),
            ))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("a b'c"));
        let dir = lines.next().unwrap();
        assert!(dir.starts_with("/tmp/pool-run-wd."), "{dir}");
        assert!(!std::path::Path::new(dir).exists(), "removed at the end");
    }
}
