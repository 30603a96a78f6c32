//! `--latest-line` (`--ll`): each job shows only the latest line it wrote.
//! On a terminal every job has one row, redrawn in place as its output
//! comes (GNU parallel 20221122's rows: the job number's row under -k, else
//! rows in the order jobs first print; rows scrolled off the screen are
//! left alone). Anywhere else a redraw means nothing, so each job's last
//! line is printed once, when it ends (in job order under -k): GNU
//! parallel's alpha version spins there, printing the same rows over and
//! over.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use common::cli::Failure;
use common::exit::ChildExit;

use super::{Captured, Output, Stream, capture_failure, color};
use crate::capture::Capture;
use crate::exit::Exit;

/// A job's latest whole line, from the bytes it writes (either stream).
#[derive(Debug, Default)]
pub struct Latest {
    /// The last whole line seen (without its end).
    pub line: Vec<u8>,
    /// Bytes after the last line end, per stream (stdout, stderr).
    partial: [Vec<u8>; 2],
}

impl Latest {
    /// Takes `bytes` from stream `index` (0 stdout, 1 stderr); true if a
    /// new whole line arrived. A line ends at `\n`, or at `\r` where no
    /// `\n` follows (a progress meter's redraw), as GNU parallel reads them.
    pub fn take(&mut self, index: usize, bytes: &[u8]) -> bool {
        let partial = &mut self.partial[index];
        partial.extend_from_slice(bytes);
        let Some(end) = last_line_end(partial) else {
            return false;
        };
        let rest = partial.split_off(end + 1);
        let whole = std::mem::replace(partial, rest);
        let body = &whole[..end];
        let start = last_line_end(body).map_or(0, |at| at + 1);
        self.line = body[start..].to_vec();
        true
    }

    /// At the job's end: an unfinished last line counts too.
    pub fn finish(&mut self) {
        for index in 0..2 {
            let partial = std::mem::take(&mut self.partial[index]);
            if !partial.is_empty() {
                self.line = partial;
            }
        }
    }
}

fn last_line_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .or_else(|| bytes.iter().rposition(|&b| b == b'\r'))
}

/// The rows on a terminal, and where the cursor is among them.
#[derive(Debug)]
pub struct Board {
    keep_order: bool,
    /// Rows are numbered from 1; the cursor sits on `cursor` (one past the
    /// lowest row drawn, after a draw).
    cursor: u64,
    bottom: u64,
    next_row: u64,
    row_of: HashMap<u64, u64>,
}

impl Board {
    /// A board when stdout is a terminal; None elsewhere.
    pub fn on_stdout(keep_order: bool) -> Option<Board> {
        std::io::stdout()
            .is_terminal()
            .then(|| Board::new(keep_order))
    }

    fn new(keep_order: bool) -> Board {
        Board {
            keep_order,
            cursor: 1,
            bottom: 0,
            next_row: 1,
            row_of: HashMap::new(),
        }
    }

    fn row(&mut self, seq: u64) -> u64 {
        if self.keep_order {
            return seq;
        }
        *self.row_of.entry(seq).or_insert_with(|| {
            self.next_row += 1;
            self.next_row - 1
        })
    }

    /// The bytes that redraw job `seq`'s row with `line` on a screen
    /// `size` (columns, rows); empty if the row has scrolled off.
    pub fn draw(
        &mut self,
        seq: u64,
        tag: &[u8],
        line: &[u8],
        color: Option<(&[u8], &[u8])>,
        size: (usize, usize),
    ) -> Vec<u8> {
        let (columns, rows) = size;
        let row = self.row(seq);
        if self.cursor > row && self.cursor - row >= rows as u64 {
            return Vec::new();
        }
        let mut out = b"\x1b[A".repeat(self.cursor.saturating_sub(row) as usize);
        out.extend(std::iter::repeat_n(
            b'\n',
            row.saturating_sub(self.cursor) as usize,
        ));
        out.push(b'\r');
        let tag = String::from_utf8_lossy(tag);
        let tag: String = untabify(&tag)
            .chars()
            .take(columns.saturating_sub(1))
            .collect();
        let room = columns.saturating_sub(tag.chars().count() + 1);
        let text = untabify(&String::from_utf8_lossy(line));
        let shown: String = text.chars().take(room).collect();
        let cut = text.chars().count() > room;
        out.extend_from_slice(tag.as_bytes());
        if let Some((start, _)) = color {
            out.extend_from_slice(start);
        }
        out.extend_from_slice(shown.as_bytes());
        if cut {
            out.push(b'>');
        }
        if let Some((_, reset)) = color {
            out.extend_from_slice(reset);
        }
        // What an earlier, longer line left on the row goes.
        out.extend_from_slice(b"\x1b[K");
        self.bottom = self.bottom.max(row);
        out.extend(std::iter::repeat_n(b'\n', (self.bottom - row + 1) as usize));
        self.cursor = self.bottom + 1;
        out
    }
}

/// Tabs as spaces to the next multiple of 8, so widths add up.
fn untabify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\t' {
            let pad = 8 - out.chars().count() % 8;
            out.extend(std::iter::repeat_n(' ', pad));
        } else if !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// The terminal's (columns, rows), or 80x24 when it does not say.
pub fn screen_size() -> (usize, usize) {
    // SAFETY: TIOCGWINSZ fills a winsize we own; fd 1 may be anything.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let asked = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &raw mut size) };
    if asked == 0 && size.ws_col > 0 && size.ws_row > 0 {
        (usize::from(size.ws_col), usize::from(size.ws_row))
    } else {
        (80, 24)
    }
}

impl<O: Write, E: Write> Output<O, E> {
    /// --latest-line: a job's bytes only move its latest line (control
    /// lines of a wrapper taken out first); on a terminal its row is
    /// redrawn.
    pub(super) fn latest_data(
        &mut self,
        slot: usize,
        stream: Stream,
        bytes: &[u8],
    ) -> Result<(), Failure> {
        let Some(live) = self.live.get_mut(slot).and_then(Option::as_mut) else {
            return Ok(());
        };
        let (index, flow) = match stream {
            Stream::Out => (0, &mut live.out),
            Stream::Err => (1, &mut live.err),
        };
        flow.printed += bytes.len() as u64;
        let moved = if stream == Stream::Err && live.framed {
            // Whole lines only reach the frames; the rest waits.
            flow.partial.extend_from_slice(bytes);
            let cut = flow
                .partial
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let rest = flow.partial.split_off(cut);
            let mut lines = std::mem::replace(&mut flow.partial, rest);
            let control = lines.len();
            live.frames.take_from_lines(&mut lines);
            flow.printed -= (control - lines.len()) as u64;
            live.latest.take(index, &lines)
        } else {
            live.latest.take(index, bytes)
        };
        if moved {
            self.redraw(slot)?;
        }
        Ok(())
    }

    /// --latest-line on a terminal: the job on `slot`'s row, drawn again.
    fn redraw(&mut self, slot: usize) -> Result<(), Failure> {
        let (Some(board), Some(live)) = (
            self.board.as_mut(),
            self.live.get(slot).and_then(Option::as_ref),
        ) else {
            return Ok(());
        };
        let color = self
            .palette
            .as_ref()
            .map(|p| (p.of(live.seq), color::RESET));
        let tag = live.tag.as_deref().map_or(&[][..], Vec::as_slice);
        let row = board.draw(live.seq, tag, &live.latest.line, color, screen_size());
        if row.is_empty() {
            return Ok(());
        }
        self.bar_hide();
        self.stdout
            .write_all(&row)
            .and_then(|()| self.stdout.flush())
            .map_err(|e| Failure::io(Exit::Error, "writing output", &e))?;
        self.bar_show();
        Ok(())
    }

    /// --latest-line: the job on `slot` ended. Its row is drawn a last
    /// time; off a terminal its last line is what it prints.
    pub(super) fn close_latest(
        &mut self,
        slot: usize,
        exit: ChildExit,
    ) -> Result<Captured, Failure> {
        if let Some(live) = self.live.get_mut(slot).and_then(Option::as_mut) {
            // A wrapper's stderr: its last control lines out first.
            let mut rest = Capture::from_bytes(std::mem::take(&mut live.err.partial));
            if live.framed {
                live.frames
                    .take_from_capture(&mut rest, exit)
                    .map_err(capture_failure)?;
            }
            let rest = rest.read_all().map_err(capture_failure)?;
            live.latest.take(1, &rest);
            live.latest.finish();
        }
        self.redraw(slot)?;
        let Some(live) = self.live.get_mut(slot).and_then(Option::take) else {
            return Ok(Captured::default());
        };
        let mut line = live.latest.line;
        let out = if self.board.is_some() || line.is_empty() {
            Capture::new()
        } else {
            line.push(b'\n');
            Capture::from_bytes(line)
        };
        Ok(Captured {
            received: live.out.printed + live.err.printed,
            out,
            frames: live.frames,
            tag: live.tag,
            ..Captured::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_line_is_the_last_whole_one_of_either_stream() {
        let mut latest = Latest::default();
        assert!(!latest.take(0, b"half"));
        assert!(latest.take(0, b" one\ntwo\nthr"));
        assert_eq!(latest.line, b"two");
        assert!(latest.take(1, b"err\n"));
        assert_eq!(latest.line, b"err");
        assert!(latest.take(0, b"ee 10%\r20%\r"));
        assert_eq!(latest.line, b"20%", "a redraw ends a line too");
        latest.take(0, b"tail");
        latest.finish();
        assert_eq!(latest.line, b"tail");
    }

    #[test]
    fn rows_are_redrawn_in_place_and_cut_to_the_width() {
        let mut board = Board::new(true);
        let size = (12, 24);
        assert_eq!(board.draw(1, b"", b"first", None, size), b"\rfirst\x1b[K\n");
        assert_eq!(
            board.draw(3, b"t ", b"a much longer line", None, size),
            b"\n\rt a much lo>\x1b[K\n"
        );
        assert_eq!(
            board.draw(1, b"", b"x\ty", None, size),
            b"\x1b[A\x1b[A\x1b[A\rx       y\x1b[K\n\n\n"
        );
        let mut far = Board::new(true);
        far.draw(1, b"", b"a", None, (80, 2));
        far.draw(5, b"", b"b", None, (80, 2));
        assert!(
            far.draw(1, b"", b"c", None, (80, 2)).is_empty(),
            "scrolled off"
        );
    }

    #[test]
    fn without_keep_order_rows_follow_the_first_print() {
        let mut board = Board::new(false);
        board.draw(7, b"", b"a", None, (80, 24));
        assert_eq!(board.row(7), 1);
        assert_eq!(board.row(3), 2);
    }
}
