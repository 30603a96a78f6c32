//! The control lines the ssh and srun wrappers write on a job's stderr,
//! `\x1fpool-run: key[=value]\x1f\n`: the remote job started, the remote job
//! itself exited 255 (not ssh), the Slurm node it ran on. They are taken out
//! of a finished capture, or out of whole lines while output streams
//! (`--line-buffer`), and never reach the user.

use std::io;

use common::exit::ChildExit;

use crate::capture::Capture;

/// Written on stderr by the remote wrapper before the job starts.
pub const START: &[u8] = b"\x1fpool-run: job started\x1f\n";
/// Written on stderr by the remote wrapper after a job that exited 255, so
/// that exit is the job's and not a lost connection.
pub const EXIT_255: &[u8] = b"\x1fpool-run: job exited 255\x1f\n";
/// The Slurm task's first line: `NODE_PREFIX` node name `END`.
pub const NODE_PREFIX: &[u8] = b"\x1fpool-run: node=";
const END: &[u8] = b"\x1f\n";

/// What a job's wrapper said.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Frames {
    pub started: bool,
    pub exited_255: bool,
    pub node: Option<String>,
}

impl Frames {
    /// Removes control lines from whole lines of stderr, noting them.
    pub fn take_from_lines(&mut self, lines: &mut Vec<u8>) {
        if !lines.contains(&0x1f) {
            return;
        }
        let mut kept = Vec::with_capacity(lines.len());
        for line in lines.split_inclusive(|&b| b == b'\n') {
            if line == START {
                self.started = true;
            } else if line == EXIT_255 {
                self.exited_255 = true;
            } else if let Some(node) = node_of(line) {
                self.node = Some(node);
            } else {
                kept.extend_from_slice(line);
            }
        }
        *lines = kept;
    }

    /// Takes the control lines off a finished job's stderr: the start or
    /// node line at the front, and after an exit of 255 the last end line
    /// (`--return`'s messages may follow it).
    pub fn take_from_capture(&mut self, err: &mut Capture, exit: ChildExit) -> io::Result<()> {
        if err.strip_prefix(START)? {
            self.started = true;
        }
        let head = err.head(NODE_PREFIX.len() + 256)?;
        if let Some(end) = head.iter().position(|&b| b == b'\n')
            && let Some(node) = node_of(&head[..=end])
        {
            err.strip_prefix(&head[..=end])?;
            self.node = Some(node);
        }
        if exit == ChildExit::Exited(255)
            && self.started
            && !self.exited_255
            && remove_last(err, EXIT_255)?
        {
            self.exited_255 = true;
        }
        Ok(())
    }
}

/// The node named by a whole node line.
fn node_of(line: &[u8]) -> Option<String> {
    let name = line.strip_prefix(NODE_PREFIX)?.strip_suffix(END)?;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// Removes the last `marker` in `capture`; true if found. Only jobs that
/// exited 255 get here, so reading it all is rare.
fn remove_last(capture: &mut Capture, marker: &[u8]) -> io::Result<bool> {
    if capture.strip_suffix(marker)? {
        return Ok(true);
    }
    let bytes = capture.read_all()?;
    let Some(at) = bytes.windows(marker.len()).rposition(|w| w == marker) else {
        return Ok(false);
    };
    let mut rebuilt = Capture::new();
    rebuilt.push(&bytes[..at])?;
    rebuilt.push(&bytes[at + marker.len()..])?;
    *capture = rebuilt;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(bytes: &[u8]) -> Capture {
        Capture::from_bytes(bytes.to_vec())
    }

    #[test]
    fn start_and_end_lines_come_off_a_capture_that_exited_255() {
        let mut err = capture(&[START, b"oops\n", EXIT_255, b"rsync: sent\n"].concat());
        let mut frames = Frames::default();
        frames
            .take_from_capture(&mut err, ChildExit::Exited(255))
            .unwrap();
        assert!(frames.started && frames.exited_255);
        assert_eq!(err.read_all().unwrap(), b"oops\nrsync: sent\n");
    }

    #[test]
    fn without_a_start_line_a_255_is_ssh_failing() {
        let mut err = capture(b"ssh: connect to host x: Connection refused\n");
        let mut frames = Frames::default();
        frames
            .take_from_capture(&mut err, ChildExit::Exited(255))
            .unwrap();
        assert_eq!(frames, Frames::default());
        assert_eq!(err.len(), 43);
    }

    #[test]
    fn the_end_line_stays_unless_the_job_exited_255() {
        let mut err = capture(&[START, EXIT_255].concat());
        let mut frames = Frames::default();
        frames
            .take_from_capture(&mut err, ChildExit::Exited(0))
            .unwrap();
        assert!(frames.started && !frames.exited_255);
        assert_eq!(err.read_all().unwrap(), EXIT_255);
    }

    #[test]
    fn the_node_line_comes_off_the_front() {
        let mut err = capture(b"\x1fpool-run: node=n07\x1f\nwarning\n");
        let mut frames = Frames::default();
        frames
            .take_from_capture(&mut err, ChildExit::Exited(0))
            .unwrap();
        assert_eq!(frames.node.as_deref(), Some("n07"));
        assert_eq!(err.read_all().unwrap(), b"warning\n");
        let mut plain = capture(b"srun: error: no partition\n");
        let mut none = Frames::default();
        none.take_from_capture(&mut plain, ChildExit::Exited(1))
            .unwrap();
        assert_eq!(none.node, None);
        assert_eq!(plain.len(), 26);
    }

    #[test]
    fn control_lines_leave_streamed_lines_and_are_noted() {
        let mut lines = [b"a\n".as_slice(), START, b"b\n", EXIT_255].concat();
        let mut frames = Frames::default();
        frames.take_from_lines(&mut lines);
        assert_eq!(lines, b"a\nb\n");
        assert!(frames.started && frames.exited_255);
        let mut node = b"\x1fpool-run: node=n1\x1f\nc\n".to_vec();
        frames.take_from_lines(&mut node);
        assert_eq!(
            (node.as_slice(), frames.node.as_deref()),
            (&b"c\n"[..], Some("n1"))
        );
        let mut plain = b"\x1fnot ours\n".to_vec();
        frames.take_from_lines(&mut plain);
        assert_eq!(plain, b"\x1fnot ours\n");
    }
}
