//! `--line-buffer`: whole lines printed as jobs write them. Under -k only
//! the job whose turn it is streams; the others hold their lines until
//! their turn comes (GNU parallel's behaviour).

use std::io::Write;

use common::cli::Failure;

use super::{Flow, Output, Stream, capture_failure, color};
use crate::capture::Capture;
use crate::config::OutputMode;
use crate::exit::Exit;

impl<O: Write, E: Write> Output<O, E> {
    /// A streaming job's bytes: its whole lines go out now, the rest waits.
    pub(super) fn stream_lines(
        &mut self,
        slot: usize,
        stream: Stream,
        bytes: &[u8],
    ) -> Result<(), Failure> {
        let Some(live) = self.live.get_mut(slot).and_then(Option::as_mut) else {
            return Ok(());
        };
        let flow = live.flow(stream);
        flow.partial.extend_from_slice(bytes);
        let Some(last) = flow.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let rest = flow.partial.split_off(last + 1);
        let mut lines = std::mem::replace(&mut flow.partial, rest);
        if stream == Stream::Err && live.framed {
            live.frames.take_from_lines(&mut lines);
        }
        let tag = live.tag.as_deref().map(Vec::as_slice);
        let color = self
            .palette
            .as_ref()
            .map(|p| (p.of(live.seq), color::RESET));
        if let Some(erase) = self.progress.hide() {
            let _ = self.stderr.write_all(erase.as_bytes());
        }
        let written = match stream {
            Stream::Out => write_lines(&mut self.stdout, lines, (tag, color), &mut live.out, true),
            Stream::Err => write_lines(&mut self.stderr, lines, (tag, color), &mut live.err, false),
        };
        self.bar_show();
        written
    }

    /// --line-buffer -k: the running job whose turn it is now prints the
    /// whole lines it has held back, and from now on prints as they come.
    pub(super) fn promote_next(&mut self) -> Result<(), Failure> {
        if self.mode != OutputMode::LineBuffer {
            return Ok(());
        }
        self.bar_hide();
        let promoted = self.stream_held_lines();
        self.bar_show();
        promoted
    }

    fn stream_held_lines(&mut self) -> Result<(), Failure> {
        let next = self.next_to_print;
        let Some(live) = self.live.iter_mut().flatten().find(|l| l.seq == next) else {
            return Ok(());
        };
        live.streaming = true;
        let tag = live.tag.as_deref().map(Vec::as_slice);
        let color = self
            .palette
            .as_ref()
            .map(|p| (p.of(live.seq), color::RESET));
        for stream in [Stream::Out, Stream::Err] {
            let flow = match stream {
                Stream::Out => &mut live.out,
                Stream::Err => &mut live.err,
            };
            let mut bytes = std::mem::take(&mut flow.held)
                .read_all()
                .map_err(capture_failure)?;
            bytes.append(&mut flow.partial);
            let cut = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            flow.partial = bytes.split_off(cut);
            if stream == Stream::Err && live.framed {
                live.frames.take_from_lines(&mut bytes);
            }
            match stream {
                Stream::Out => write_lines(&mut self.stdout, bytes, (tag, color), flow, true)?,
                Stream::Err => write_lines(&mut self.stderr, bytes, (tag, color), flow, false)?,
            }
        }
        Ok(())
    }
}

/// Writes whole lines a job streams, counting them (and keeping a copy
/// under --results). The one error policy of every output path: a stdout
/// that cannot be written ends the run (`fatal`); a stderr that cannot is
/// skipped, and the jobs go on.
fn write_lines(
    to: &mut impl Write,
    lines: Vec<u8>,
    (tag, color): (Option<&[u8]>, Option<color::LineColor<'_>>),
    flow: &mut Flow,
    fatal: bool,
) -> Result<(), Failure> {
    if lines.is_empty() {
        return Ok(());
    }
    flow.printed += lines.len() as u64;
    if let Some(saved) = flow.saved.as_mut() {
        saved.push(&lines).map_err(capture_failure)?;
    }
    let mut lines = Capture::from_bytes(lines);
    let written = match color {
        Some(color) => lines.write_colored_to(to, tag, color),
        None => lines.write_to(to, tag),
    }
    .and_then(|()| to.flush());
    match written {
        Err(e) if fatal => Err(Failure::io(Exit::Error, "writing output", &e)),
        _ => Ok(()),
    }
}
