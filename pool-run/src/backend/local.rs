//! Jobs on this machine: the job's words executed directly, or through
//! `sh -c`; stdin from `/dev/null` or, under `--pipe`, its block. Programs
//! are looked up on PATH once per run (posix_spawnp would try every PATH
//! entry for every job), and `/dev/null` is opened once.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::cli::Failure;

use super::{Backend, Ended, Launch, Place, Spawn, Verdict};
use crate::config::WorkDir;
use crate::exit::Exit;
use crate::job::JobSpec;
use crate::tee::Tee;
use crate::template::Invocation;

#[derive(Debug)]
pub struct Local {
    places: Vec<Place>,
    /// Programs found on PATH.
    programs: HashMap<OsString, PathBuf>,
    null: File,
    /// --wd: where jobs run.
    workdir: Option<WorkDir>,
    /// --wd ...: each running job's own directory, removed when it ends.
    fresh_dirs: HashMap<u64, tempfile::TempDir>,
    /// --tee: every job reads all of stdin.
    tee_wanted: bool,
    /// --tee: stdin's reader, started with the first job.
    tee: Option<Tee>,
    /// --tty / --open-tty: jobs read /dev/tty (or nothing, without one).
    tty: bool,
    /// --shard / --bin: job N reads the Nth pipe (taken when it starts).
    spread: Vec<Option<File>>,
}

impl Local {
    /// This machine, with `jobs` slots.
    pub fn new(jobs: usize) -> Result<Local, Failure> {
        let null = File::open("/dev/null")
            .map_err(|e| Failure::io(Exit::Error, "opening /dev/null", &e))?;
        Ok(Local {
            places: vec![Place {
                name: ":".to_string(),
                slots: jobs,
                groups: vec![":".to_string()],
            }],
            programs: HashMap::new(),
            null,
            workdir: None,
            fresh_dirs: HashMap::new(),
            tee_wanted: false,
            tee: None,
            tty: false,
            spread: Vec::new(),
        })
    }

    /// --tty / --open-tty: jobs get the terminal as stdin.
    pub fn with_tty(mut self, tty: bool) -> Local {
        self.tty = tty;
        self
    }

    /// --tee: every job reads all of stdin, from its start.
    pub fn with_tee(mut self, tee: bool) -> Local {
        self.tee_wanted = tee;
        self
    }

    /// --tee: a job's stdin, all of pool-run's (see tee.rs). The thread
    /// that reads stdin starts with the first job: pool-run has one thread
    /// until then (the watchdog is forked before any other starts).
    fn tee_input(&mut self) -> Result<File, Failure> {
        let failed = |e: std::io::Error| Failure::io(Exit::Error, "reading stdin for --tee", &e);
        let tee = match self.tee.take() {
            Some(tee) => tee,
            None => Tee::of_stdin().map_err(failed)?,
        };
        let input = tee.job_input().map_err(failed);
        self.tee = Some(tee);
        input
    }

    /// --shard / --bin: job N reads `inputs[N - 1]`.
    pub fn with_spread(mut self, inputs: Vec<File>) -> Local {
        self.spread = inputs.into_iter().map(Some).collect();
        self
    }

    /// Jobs run in `workdir` (--wd).
    pub fn with_workdir(mut self, workdir: Option<WorkDir>) -> Local {
        self.workdir = workdir;
        self
    }

    /// The file `name` runs: looked up on PATH once, then remembered. A name
    /// with a slash, or one not found, is left to exec as is (a missing
    /// command then fails its job with "command not found").
    pub fn program(&mut self, name: &OsStr) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        if name.as_bytes().contains(&b'/') {
            return PathBuf::from(name);
        }
        if let Some(path) = self.programs.get(name) {
            return path.clone();
        }
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| is_executable(candidate))
        });
        let path = found.unwrap_or_else(|| PathBuf::from(name));
        self.programs.insert(name.to_os_string(), path.clone());
        path
    }

    /// The job's own command: its argv, or its line for `sh -c`; and the
    /// program's name.
    pub fn command(&mut self, invocation: &Invocation) -> (Command, String) {
        let name = invocation.program();
        let mut command = Command::new(self.program(name));
        command.arg0(name).args(invocation.args());
        (command, name.to_string_lossy().into_owned())
    }

    /// A copy of the one /dev/null (a dup is cheaper than an open per job).
    pub fn null(&self) -> Result<Stdio, Failure> {
        let null = self
            .null
            .try_clone()
            .map_err(|e| Failure::io(Exit::Error, "setting up a job", &e))?;
        Ok(Stdio::from(null))
    }

    /// The job's stdin: a pipe the job table feeds its --pipe block into,
    /// else /dev/null; and whether the job table feeds the block (into that
    /// pipe, or into the job's --fifo).
    pub fn stdin(&mut self, spec: &JobSpec) -> Result<(Stdio, bool), Failure> {
        let spread = usize::try_from(spec.seq)
            .ok()
            .and_then(|seq| self.spread.get_mut(seq.checked_sub(1)?))
            .and_then(Option::take);
        if let Some(input) = spread {
            return Ok((Stdio::from(input), false));
        }
        match (&spec.block, &spec.named) {
            (Some(_), None) => Ok((Stdio::piped(), true)),
            (Some(_), Some(_)) => Ok((self.null()?, true)),
            (None, _) if self.tee_wanted => Ok((Stdio::from(self.tee_input()?), false)),
            // GNU parallel: no terminal, then no input (not an error).
            (None, _) if self.tty => match File::open("/dev/tty") {
                Ok(tty) => Ok((Stdio::from(tty), false)),
                Err(_) => Ok((self.null()?, false)),
            },
            (None, _) => Ok((self.null()?, false)),
        }
    }
}

impl Backend for Local {
    fn places(&self) -> &[Place] {
        &self.places
    }

    fn prepare(&mut self, launch: &Launch<'_>) -> Result<Spawn, Failure> {
        let (mut command, program) = self.command(launch.invocation);
        let (stdin, feed) = self.stdin(launch.spec)?;
        command.stdin(stdin);
        match &self.workdir {
            None => {}
            Some(WorkDir::At(dir)) => {
                command.current_dir(dir);
            }
            Some(WorkDir::Fresh) => {
                let dir = tempfile::Builder::new()
                    .prefix("pool-run-wd")
                    .tempdir()
                    .map_err(|e| Failure::io(Exit::Error, "creating a --wd ... directory", &e))?;
                command.current_dir(dir.path());
                self.fresh_dirs.insert(launch.spec.seq, dir);
            }
        }
        Ok(Spawn {
            command,
            program,
            framed: false,
            feed,
        })
    }

    fn conclude(&mut self, ended: Ended<'_>) -> Result<Verdict, Failure> {
        // --wd ...: the job's directory goes with it.
        self.fresh_dirs.remove(&ended.spec.seq);
        // --tee: a job that ended may have had less than all of stdin.
        if let Some(why) = self.tee.as_ref().and_then(Tee::failure) {
            return Err(Failure::new(Exit::Error, format!("--tee: {why}")));
        }
        Ok(Verdict::Ran {
            host: ":".to_string(),
        })
    }
}

/// A regular file with an execute bit (as a PATH lookup takes it).
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn direct_words_run_as_they_are_and_lines_through_sh() {
        let mut local = Local::new(2).unwrap();
        assert_eq!(
            local.places(),
            [Place {
                name: ":".into(),
                slots: 2,
                groups: vec![":".into()],
            }]
        );
        let (direct, name) = local.command(&Invocation::Direct(vec!["echo".into(), "a b".into()]));
        assert_eq!(
            (name.as_str(), args(&direct)),
            ("echo", vec!["a b".to_string()])
        );
        assert!(direct.get_program().to_string_lossy().ends_with("/echo"));
        let (shell, name) = local.command(&Invocation::Shell("echo a | wc".into()));
        assert_eq!(name, "sh");
        assert_eq!(args(&shell), ["-c", "echo a | wc"]);
    }

    #[test]
    fn a_program_not_on_path_is_left_to_exec() {
        let mut local = Local::new(1).unwrap();
        assert_eq!(
            local.program(OsStr::new("no-such-program-here")),
            PathBuf::from("no-such-program-here")
        );
        assert_eq!(local.program(OsStr::new("./x")), PathBuf::from("./x"));
        let sh = local.program(OsStr::new("sh"));
        assert!(sh.is_absolute() && is_executable(&sh));
    }
}
