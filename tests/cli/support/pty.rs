//! A tool run on a fresh pseudo-terminal, as from an interactive prompt: it
//! leads its own session with the terminal as its controlling terminal and
//! its group in the foreground, so bytes typed at the master (Ctrl-C is
//! 0x03) become the signals the line discipline sends.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Pty {
    master: File,
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    /// The reader thread saw the end of the terminal's output.
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl Pty {
    /// Starts `command` as the session leader of a new pseudo-terminal.
    pub fn spawn(mut command: Command) -> Pty {
        // SAFETY: plain libc calls on a descriptor we own; each result is
        // checked.
        let (master, slave_path) = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(fd >= 0, "posix_openpt");
            assert_eq!(libc::grantpt(fd), 0, "grantpt");
            assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
            let path = std::ffi::CStr::from_ptr(name.as_ptr()).to_owned();
            (File::from_raw_fd(fd), path)
        };
        let slave: CString = slave_path;
        // SAFETY: between fork and exec only async-signal-safe calls
        // (setsid, open, ioctl, dup2, close) on data prepared before.
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let fd = libc::open(slave.as_ptr(), libc::O_RDWR);
                if fd < 0 || libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for target in 0..3 {
                    if libc::dup2(fd, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if fd > 2 {
                    libc::close(fd);
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("the tool starts on the pty");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("master clone");
        let shared = Arc::clone(&screen);
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let finished = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // EIO once the last slave descriptor is closed: the end.
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                shared.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
            finished.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        Pty {
            master,
            child,
            screen,
            done,
        }
    }

    /// Everything the terminal has shown so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits, at most `limit`, until the terminal shows `text`.
    pub fn wait_for(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.screen().contains(text) {
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?}; it shows {:?}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `bytes` at the keyboard.
    pub fn type_keys(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("typing at the pty");
    }

    /// The tool's exit, waited for at most `limit`, then what the terminal
    /// still had to show (read until the last writer closed it).
    pub fn wait_and_keep(&mut self, limit: Duration) -> ExitStatus {
        let status = self.wait_child(limit);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.reader_done() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        status
    }

    /// The tool's exit, waited for at most `limit` (then it is killed and
    /// the test fails).
    pub fn wait(mut self, limit: Duration) -> ExitStatus {
        self.wait_child(limit)
    }

    fn reader_done(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn wait_child(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the tool did not end within {limit:?}: {}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// What a terminal shows for `screen`: each line after carriage returns and
/// "erase to the end of the line" have done their work.
pub fn visible_lines(screen: &str) -> Vec<String> {
    screen
        .split('\n')
        .map(|raw| {
            let mut line: Vec<char> = Vec::new();
            let mut col = 0;
            let mut chars = raw.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\r' => col = 0,
                    '\x1b' => {
                        // CSI K: erase from the cursor to the end of the line.
                        let seq: String = chars.by_ref().take(2).collect();
                        assert_eq!(seq, "[K", "only erase-line is expected");
                        line.truncate(col);
                    }
                    c => {
                        if col < line.len() {
                            line[col] = c;
                        } else {
                            line.push(c);
                        }
                        col += 1;
                    }
                }
            }
            line.into_iter().collect()
        })
        .filter(|line: &String| !line.is_empty())
        .collect()
}

/// What a terminal shows for `screen`, rows in order, where the output
/// also moves the cursor up (`ESC [ A`) to redraw a row in place.
pub fn screen_rows(screen: &str) -> Vec<String> {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0, 0);
    let mut chars = screen.chars();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                if rows.len() <= row {
                    rows.push(Vec::new());
                }
            }
            '\x1b' => match chars.by_ref().take(2).collect::<String>().as_str() {
                "[A" => row = row.saturating_sub(1),
                "[K" => rows[row].truncate(col),
                other => panic!("unexpected escape {other:?} in {screen:?}"),
            },
            c => {
                let line = &mut rows[row];
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.resize(col, ' ');
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    rows.into_iter()
        .map(|line| line.into_iter().collect::<String>())
        .filter(|line| !line.is_empty())
        .collect()
}
