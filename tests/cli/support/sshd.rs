//! Real ssh servers for pool-run's `-S` tests: OpenSSH's sshd, started by
//! the suite on loopback addresses only (127.0.0.2, 127.0.0.3, ...), with a
//! throwaway host key and user key in a temporary directory. Each server is
//! started once per test run and stopped when the test binary exits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

const SSHD: &str = "/usr/sbin/sshd";

/// The keys, the `--ssh` command that uses them, and the port every
/// loopback server listens on.
pub struct SshSetup {
    pub dir: PathBuf,
    pub port: u16,
    /// For `--ssh`: ssh with the user key and no host-key prompts.
    pub ssh: String,
}

/// pid files of the servers this run started, for the exit hook.
static STARTED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The shared setup, or None (with the reason printed) when sshd is not
/// installed; `.ci/run` installs it.
pub fn setup() -> Option<&'static SshSetup> {
    static SETUP: OnceLock<Option<SshSetup>> = OnceLock::new();
    SETUP.get_or_init(create).as_ref()
}

fn create() -> Option<SshSetup> {
    if !Path::new(SSHD).exists() || which("ssh-keygen").is_none() {
        super::skipped("ssh tests need openssh-server (bash .ci/run installs it)");
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("prockit-sshd")
        .tempdir()
        .expect("temp dir")
        .keep();
    for key in ["host_key", "user_key"] {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(key))
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success(), "ssh-keygen failed");
    }
    std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    // A free port, the same on every loopback address the tests use.
    let port = std::net::TcpListener::bind("127.0.0.2:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // SAFETY: registering a plain extern "C" function with no arguments.
    unsafe { libc::atexit(stop_all) };
    let ssh = format!(
        "ssh -i {} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        dir.join("user_key").display()
    );
    Some(SshSetup { dir, port, ssh })
}

impl SshSetup {
    /// Starts (once) an sshd on `address` (loopback only) and returns its
    /// login for `-S`: `root@ADDRESS:PORT`.
    pub fn host(&self, address: &str) -> String {
        assert!(address.starts_with("127."), "test servers stay on loopback");
        let pid_file = self.dir.join(format!("sshd-{address}.pid"));
        let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
        if !started.contains(&pid_file) {
            self.start(address, &pid_file);
            started.push(pid_file);
        }
        format!("root@{address}:{}", self.port)
    }

    fn start(&self, address: &str, pid_file: &Path) {
        let config = self.dir.join(format!("sshd-{address}.conf"));
        std::fs::write(
            &config,
            format!(
                "ListenAddress {address}:{port}\n\
                 HostKey {dir}/host_key\n\
                 AuthorizedKeysFile {dir}/authorized_keys\n\
                 PidFile {pid}\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PermitRootLogin prohibit-password\n\
                 MaxSessions 200\n\
                 MaxStartups 200:30:400\n\
                 LogLevel ERROR\n",
                port = self.port,
                dir = self.dir.display(),
                pid = pid_file.display()
            ),
        )
        .unwrap();
        // sshd goes to the background once it listens; its pid file is there then.
        let status = Command::new(SSHD)
            .arg("-f")
            .arg(&config)
            .status()
            .expect("sshd runs");
        assert!(status.success(), "sshd on {address} did not start");
        // The daemon writes its pid file just after the foreground sshd exits.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while read_pid(pid_file).is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(
            read_pid(pid_file).is_some(),
            "sshd on {address} wrote no pid file"
        );
    }

    /// Kills the sshd on `address` and every session it serves, as a host
    /// that goes down mid-run. The next `host(address)` starts it again.
    pub fn kill(&self, address: &str) {
        let pid_file = self.dir.join(format!("sshd-{address}.pid"));
        if let Some(pid) = read_pid(&pid_file) {
            for victim in std::iter::once(pid).chain(descendants(pid)) {
                // SAFETY: kill(2) with a pid and a valid signal.
                unsafe { libc::kill(victim as i32, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_file(&pid_file);
        STARTED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p != &pid_file);
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Every process below `pid` (children, their children, ...), from /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((child, ppid))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// At exit: stop every server this run started, and their sessions.
extern "C" fn stop_all() {
    let Ok(started) = STARTED.lock() else { return };
    for pid_file in started.iter() {
        if let Some(pid) = read_pid(pid_file) {
            for victim in std::iter::once(pid).chain(descendants(pid)) {
                // SAFETY: kill(2) with a pid and a valid signal.
                unsafe { libc::kill(victim as i32, libc::SIGTERM) };
            }
        }
    }
    if let Some(setup) = setup() {
        let _ = std::fs::remove_dir_all(&setup.dir);
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.exists())
    })
}
