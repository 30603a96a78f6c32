//! `--pipe --tee`: every job reads all of stdin, as it comes.
//!
//! When stdin is a regular file (`< FILE`), each job opens it anew at
//! where stdin stood, and nothing is copied. Otherwise one thread copies
//! stdin into an unlinked spool file in $TMPDIR; each
//! job's stdin is a pipe that a thread of its own fills from the spool, from
//! its start and at the job's pace, waiting for more while stdin is open.
//! So jobs see input the moment it arrives (`tail -f log | pool-run --pipe
//! --tee grep {} ::: ERROR WARN` works, as GNU parallel's tee streams), a
//! slow job never holds stdin or the other jobs back (the spool takes what
//! it has not read yet), and a job that starts after others (more ::: values
//! than -j slots) still gets all of stdin from the start, where GNU parallel
//! refuses to run.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Bytes moved per read or write.
const CHUNK: usize = 64 * 1024;

/// Where the jobs get stdin from.
#[derive(Debug)]
pub enum Tee {
    /// stdin is a regular file: each job opens it anew at `at`.
    File { at: u64 },
    /// stdin as read so far, shared by the thread that reads it and the
    /// threads that feed the jobs.
    Stream(Arc<Shared>),
}

#[derive(Debug)]
pub struct Shared {
    spool: File,
    progress: Mutex<Progress>,
    /// The spool grew, or stdin ended.
    grew: Condvar,
}

#[derive(Debug, Default)]
struct Progress {
    /// Bytes of stdin in the spool.
    len: u64,
    /// No more will come: stdin ended, or could not be read or spooled.
    ended: bool,
    /// Why stdin could not be read or spooled to its end.
    failed: Option<String>,
}

impl Tee {
    /// For pool-run's own stdin.
    pub fn of_stdin() -> io::Result<Tee> {
        use std::io::Seek;
        use std::os::fd::AsFd;
        let mut stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
        if stdin.metadata()?.is_file() {
            return Ok(Tee::File {
                at: stdin.stream_position()?,
            });
        }
        Tee::start(io::stdin())
    }

    /// Starts copying `input` into a spool file.
    fn start(input: impl Read + Send + 'static) -> io::Result<Tee> {
        let shared = Arc::new(Shared {
            spool: tempfile::tempfile()?,
            progress: Mutex::new(Progress::default()),
            grew: Condvar::new(),
        });
        let reader = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("tee-stdin".into())
            .spawn(move || reader.spool_all(input))?;
        Ok(Tee::Stream(shared))
    }

    /// Why the jobs got less than all of stdin, once that has happened
    /// (GNU parallel's O9: a full disk is an error, never input silently
    /// cut short).
    pub fn failure(&self) -> Option<String> {
        match self {
            Tee::File { .. } => None,
            Tee::Stream(shared) => shared.progress().failed.clone(),
        }
    }

    /// A job's stdin: its own open of stdin's file, or the read end of a
    /// pipe that gets all of stdin.
    pub fn job_input(&self) -> io::Result<File> {
        let shared = match self {
            Tee::File { at } => {
                use std::io::{Seek, SeekFrom};
                let mut own = File::open("/proc/self/fd/0")?;
                own.seek(SeekFrom::Start(*at))?;
                return Ok(own);
            }
            Tee::Stream(shared) => Arc::clone(shared),
        };
        let (read, write) = io::pipe()?;
        std::thread::Builder::new()
            .name("tee-job".into())
            .spawn(move || shared.feed(write))?;
        Ok(File::from(OwnedFd::from(read)))
    }
}

impl Shared {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Copies `input` to the spool to its end. A read or write error ends
    /// the input there, and is kept for `Tee::failure`.
    fn spool_all(&self, mut input: impl Read) {
        let mut chunk = vec![0u8; CHUNK];
        let mut len = 0u64;
        let failed = loop {
            let n = match input.read(&mut chunk) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(format!("reading stdin: {e}")),
            };
            if let Err(e) = self.spool.write_all_at(&chunk[..n], len) {
                break Some(format!("keeping stdin in $TMPDIR: {e}"));
            }
            len += n as u64;
            self.progress().len = len;
            self.grew.notify_all();
        };
        let mut progress = self.progress();
        progress.failed = failed;
        progress.ended = true;
        drop(progress);
        self.grew.notify_all();
    }

    /// Writes all of stdin into `pipe`, as the spool grows. A job that
    /// stops reading (its pipe breaks) loses only its own input.
    fn feed(&self, mut pipe: impl Write) {
        let mut chunk = vec![0u8; CHUNK];
        let mut done = 0u64;
        loop {
            let len = {
                let mut progress = self.progress();
                while progress.len == done && !progress.ended {
                    progress = self.grew.wait(progress).unwrap_or_else(|e| e.into_inner());
                }
                progress.len
            };
            if len == done {
                return; // all of stdin is in the pipe: dropping it is the job's EOF
            }
            let want = (len - done).min(CHUNK as u64) as usize;
            let n = match self.spool.read_at(&mut chunk[..want], done) {
                Ok(n) if n > 0 => n,
                _ => return,
            };
            if pipe.write_all(&chunk[..n]).is_err() {
                return;
            }
            done += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A stdin whose bytes arrive when the test sends them.
    struct Trickle(mpsc::Receiver<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.recv() {
                Ok(bytes) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                Err(_) => Ok(0),
            }
        }
    }

    /// What `read` gives, read on another thread, within 10 s.
    fn within_10s<T: Send + 'static>(read: impl FnOnce() -> T + Send + 'static) -> T {
        let (sender, got) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(read());
        });
        got.recv_timeout(Duration::from_secs(10))
            .expect("the read ended within 10 s")
    }

    /// The next line of `input`.
    fn line_from(input: &File) -> String {
        let mut input = input.try_clone().unwrap();
        within_10s(move || {
            let mut got = Vec::new();
            let mut byte = [0u8];
            while input.read(&mut byte).unwrap_or(0) == 1 {
                got.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            String::from_utf8(got).unwrap()
        })
    }

    /// The rest of `input`, to its EOF.
    fn rest_of(mut input: File) -> Vec<u8> {
        within_10s(move || {
            let mut got = Vec::new();
            input.read_to_end(&mut got).unwrap();
            got
        })
    }

    #[test]
    fn jobs_get_each_line_before_stdin_ends_and_a_late_job_gets_it_all() {
        let (send, stdin) = mpsc::channel();
        let tee = Tee::start(Trickle(stdin)).unwrap();
        let first = tee.job_input().unwrap();
        let second = tee.job_input().unwrap();
        send.send(b"one\n".to_vec()).unwrap();
        assert_eq!(line_from(&first), "one\n", "streamed while stdin is open");
        assert_eq!(line_from(&second), "one\n");
        send.send(b"two\n".to_vec()).unwrap();
        assert_eq!(line_from(&first), "two\n");
        drop(send);
        let late = tee.job_input().unwrap();
        assert_eq!(rest_of(late), b"one\ntwo\n", "from the start, then EOF");
        assert_eq!(rest_of(first), b"", "EOF once stdin ended");
        assert_eq!(tee.failure(), None);
    }

    #[test]
    fn a_job_that_stops_reading_holds_back_no_other() {
        let input = vec![b'x'; 4 * 1024 * 1024];
        let tee = Tee::start(io::Cursor::new(input.clone())).unwrap();
        let quitter = tee.job_input().unwrap();
        drop(quitter);
        let reader = tee.job_input().unwrap();
        assert_eq!(rest_of(reader).len(), input.len());
    }

    /// A stdin that fails after its first bytes.
    struct Broken(bool);

    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if std::mem::replace(&mut self.0, true) {
                return Err(io::Error::other("the device went away"));
            }
            buf[..3].copy_from_slice(b"ab\n");
            Ok(3)
        }
    }

    #[test]
    fn a_stdin_that_fails_ends_every_jobs_input_and_is_kept_as_the_failure() {
        let tee = Tee::start(Broken(false)).unwrap();
        let input = tee.job_input().unwrap();
        assert_eq!(rest_of(input), b"ab\n", "what came before, then EOF");
        let why = tee.failure().expect("the failure is kept");
        assert!(why.contains("the device went away"), "{why}");
    }
}
