//! `--limit CMD`: GNU parallel's dynamic job limit. Before a job starts,
//! and every little while as jobs run, a command says where the machine
//! stands: exit 0, below the limit (start another job); 1, over it (start
//! none); 2, way over it (kill the youngest job). The command runs through
//! `sh -c` with `SSHLOGIN` set to the host (`:` for this machine), as GNU
//! parallel runs it.
//!
//! GNU parallel's three predefined limits (`io N`, `load N`, `mem N`) are
//! shell scripts that run iostat, ps or awk each time; here they read
//! /proc themselves, so asking costs no process.

use std::process::{Command, Stdio};
use std::time::Instant;

/// What the limit says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Below,
    Over,
    WayOver,
}

impl Verdict {
    /// A limit command's exit code as GNU parallel reads it: 0 below, 2 way
    /// over, anything else (a failing command too) over.
    fn of_code(code: Option<i32>) -> Verdict {
        match code {
            Some(0) => Verdict::Below,
            Some(2) => Verdict::WayOver,
            _ => Verdict::Over,
        }
    }
}

/// The --limit the user gave.
#[derive(Debug, Clone, PartialEq)]
pub enum LimitSpec {
    /// Any shell command.
    Command(String),
    /// `io N`: over when a disk is busier than N percent.
    Io(f64),
    /// `load N`: over when more than N processes run or wait on a disk.
    Load(f64),
    /// `mem N`: over below N bytes free, way over below half of it.
    Mem(u64),
}

impl LimitSpec {
    /// GNU parallel's reading: a predefined name and its number, or else
    /// the whole text as a command.
    pub fn parse(text: &str, size: impl Fn(&str) -> Option<u64>) -> LimitSpec {
        let mut words = text.split_whitespace();
        let (name, arg, rest) = (words.next(), words.next(), words.next());
        let number = |arg: &str| arg.parse::<f64>().ok().filter(|n| *n >= 0.0);
        match (name, arg, rest) {
            (Some("io"), Some(arg), None) => number(arg).map(LimitSpec::Io),
            (Some("load"), Some(arg), None) => number(arg).map(LimitSpec::Load),
            (Some("mem"), Some(arg), None) => size(arg).map(LimitSpec::Mem),
            _ => None,
        }
        .unwrap_or_else(|| LimitSpec::Command(text.to_string()))
    }
}

/// A --limit and what it needs between two asks.
#[derive(Debug)]
pub struct Limit {
    spec: LimitSpec,
    /// `io N`: the disks' busy milliseconds at the last look.
    disks: Option<(Instant, Vec<u64>)>,
    /// `io N`: the busiest disk's share over the last interval measured.
    busiest: f64,
}

impl Limit {
    pub fn new(spec: LimitSpec) -> Limit {
        Limit {
            spec,
            disks: None,
            busiest: 0.0,
        }
    }

    /// Where the machine (`host`, for SSHLOGIN) stands now.
    pub fn ask(&mut self, host: &str) -> Verdict {
        match &self.spec {
            LimitSpec::Command(command) => {
                let status = Command::new("sh")
                    .args(["-c", command])
                    .env("SSHLOGIN", host)
                    .stdin(Stdio::null())
                    .status();
                Verdict::of_code(status.ok().and_then(|s| s.code()))
            }
            LimitSpec::Mem(need) => {
                let free = std::fs::read_to_string("/proc/meminfo")
                    .ok()
                    .and_then(|text| free_memory(&text));
                match free {
                    Some(free) if free < need / 2 => Verdict::WayOver,
                    Some(free) if free < *need => Verdict::Over,
                    // Unknown: no reason to hold back.
                    _ => Verdict::Below,
                }
            }
            LimitSpec::Load(max) => {
                if (active_processes() as f64) > *max {
                    Verdict::Over
                } else {
                    Verdict::Below
                }
            }
            LimitSpec::Io(max) => {
                let max = *max;
                self.look_at_disks();
                if self.busiest > max {
                    Verdict::Over
                } else {
                    Verdict::Below
                }
            }
        }
    }

    /// `io N`: the busiest disk's share of the time since the last look
    /// (kept until at least a tenth of a second has passed, so close asks
    /// do not divide by nothing).
    fn look_at_disks(&mut self) {
        let Ok(text) = std::fs::read_to_string("/proc/diskstats") else {
            return;
        };
        let now = Instant::now();
        let ticks = busy_ticks(&text);
        match &self.disks {
            Some((at, _)) if now.duration_since(*at).as_millis() < 100 => {}
            Some((at, before)) => {
                let elapsed = now.duration_since(*at).as_secs_f64() * 1000.0;
                self.busiest = busiest_share(before, &ticks, elapsed);
                self.disks = Some((now, ticks));
            }
            None => self.disks = Some((now, ticks)),
        }
    }
}

/// GNU parallel's `mem` measure: MemFree + Buffers + Cached + SwapCached,
/// in bytes.
fn free_memory(meminfo: &str) -> Option<u64> {
    let mut sum = 0;
    let mut seen = false;
    for line in meminfo.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        if matches!(key, "MemFree" | "Buffers" | "Cached" | "SwapCached") {
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            sum += kib * 1024;
            seen = true;
        }
    }
    seen.then_some(sum)
}

/// GNU parallel's `load` measure: processes running or waiting on a disk
/// (states R and D), kernel threads left out.
pub(crate) fn active_processes() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| is_active_user_process(stat))
        .count()
}

/// Whether a /proc/PID/stat line is a user process in state R or D. A
/// kernel thread has no parent but kthreadd (2) or is kthreadd itself.
fn is_active_user_process(stat: &str) -> bool {
    // The command is in parentheses and may hold spaces: read after it.
    let Some((_, after)) = stat.rsplit_once(") ") else {
        return false;
    };
    let mut fields = after.split(' ');
    let state = fields.next();
    let parent = fields.next();
    let kernel = parent == Some("2") || parent == Some("0") && stat.starts_with("2 ");
    matches!(state, Some("R" | "D")) && !kernel
}

/// Each disk's milliseconds spent doing I/O (the 13th field of
/// /proc/diskstats), in the file's order.
fn busy_ticks(diskstats: &str) -> Vec<u64> {
    diskstats
        .lines()
        .filter_map(|line| line.split_whitespace().nth(12)?.parse().ok())
        .collect()
}

/// The busiest disk's percent of `elapsed_ms` spent doing I/O.
fn busiest_share(before: &[u64], after: &[u64], elapsed_ms: f64) -> f64 {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| a.saturating_sub(*b) as f64 * 100.0 / elapsed_ms)
        .fold(0.0, f64::max)
        .min(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> Option<u64> {
        match text.strip_suffix('G') {
            Some(n) => n.parse::<u64>().ok().map(|n| n << 30),
            None => text.parse().ok(),
        }
    }

    #[test]
    fn the_three_names_are_gnu_parallels_limits_and_the_rest_a_command() {
        assert_eq!(LimitSpec::parse("mem 2G", size), LimitSpec::Mem(2 << 30));
        assert_eq!(LimitSpec::parse("load 3", size), LimitSpec::Load(3.0));
        assert_eq!(LimitSpec::parse("io 10", size), LimitSpec::Io(10.0));
        for command in ["mem", "load x", "io 1 2", "exit 1", "myscript mem 1"] {
            assert_eq!(
                LimitSpec::parse(command, size),
                LimitSpec::Command(command.to_string())
            );
        }
    }

    #[test]
    fn exit_codes_read_as_gnu_parallel_reads_them() {
        assert_eq!(Verdict::of_code(Some(0)), Verdict::Below);
        assert_eq!(Verdict::of_code(Some(1)), Verdict::Over);
        assert_eq!(Verdict::of_code(Some(2)), Verdict::WayOver);
        assert_eq!(Verdict::of_code(Some(127)), Verdict::Over);
        assert_eq!(Verdict::of_code(None), Verdict::Over, "killed");
    }

    #[test]
    fn a_command_runs_with_sshlogin_set() {
        let mut limit = Limit::new(LimitSpec::Command(
            r#"[ "$SSHLOGIN" = : ] && exit 2; exit 1"#.into(),
        ));
        assert_eq!(limit.ask(":"), Verdict::WayOver);
        assert_eq!(limit.ask("host"), Verdict::Over);
    }

    #[test]
    fn free_memory_sums_gnu_parallels_four_fields() {
        let meminfo = "MemTotal: 100 kB\nMemFree: 1 kB\nMemAvailable: 50 kB\n\
                       Buffers: 2 kB\nCached: 3 kB\nSwapCached: 4 kB\nActive: 9 kB\n";
        assert_eq!(free_memory(meminfo), Some(10 * 1024));
        assert_eq!(free_memory("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn mem_is_over_below_the_size_and_way_over_below_half() {
        let free = free_memory(&std::fs::read_to_string("/proc/meminfo").unwrap()).unwrap();
        let verdict = |need| Limit::new(LimitSpec::Mem(need)).ask(":");
        assert_eq!(verdict(free / 4), Verdict::Below);
        assert_eq!(verdict(u64::MAX), Verdict::WayOver);
        assert_eq!(verdict(free + free / 2), Verdict::Over);
    }

    #[test]
    fn load_counts_running_user_processes_not_sleeping_or_kernel_ones() {
        assert!(is_active_user_process("123 (a b) R 1 123 123 0"));
        assert!(is_active_user_process("124 (x) y) D 77 1 1"));
        assert!(!is_active_user_process("125 (sleep) S 1 1 1"));
        assert!(!is_active_user_process("9 (kworker/0:1) R 2 0 0"));
        // A busy child is running: at least one.
        let mut busy = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let mut seen = active_processes();
        while seen == 0 && Instant::now() < deadline {
            seen = active_processes();
        }
        let _ = busy.kill();
        let _ = busy.wait();
        assert!(seen >= 1, "a busy loop is a running process");
        let mut limit = Limit::new(LimitSpec::Load(1e9));
        assert_eq!(limit.ask(":"), Verdict::Below);
    }

    #[test]
    fn io_is_the_busiest_disks_share_of_the_interval() {
        assert_eq!(
            busy_ticks("   8 0 sda 1 2 3 4 5 6 7 8 9 700 11\n"),
            vec![700]
        );
        assert_eq!(busiest_share(&[100, 0], &[150, 90], 100.0), 90.0);
        assert_eq!(busiest_share(&[0], &[500], 100.0), 100.0, "at most 100");
        assert_eq!(busiest_share(&[5], &[3], 100.0), 0.0);
    }
}
