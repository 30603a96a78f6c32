//! The output sink: the only writer of pool-run's stdout and stderr on
//! behalf of jobs, of the joblog, of `--results` and of the `--bar`, and
//! the only counter of the bytes jobs wrote. The output mode is chosen once, here: grouped (each
//! job's output whole when it ends), `--line-buffer` (whole lines as they
//! come, lines.rs), `--latest-line` (a row per job, latest.rs), `--json`
//! (one object per job), or `-u` (jobs write themselves).
//! `-k` holds finished outputs until their turn; `--tag` prefixes lines.
//!
//! Per-job state is keyed by slot (dense and unique among running jobs), so
//! the hot path, `data`, is a vector index.

pub mod color;
pub mod latest;
mod lines;
pub mod report;
pub mod timeline;

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use bstr::BString;
use common::cli::Failure;
use common::exit::ChildExit;

use crate::capture::Capture;
use crate::config::{Config, OutputMode};
use crate::exit::Exit;
use crate::frames::Frames;
use crate::job::Record;
use crate::progress::{BarMode, Counts, Progress};

/// Which of a job's streams bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// A finished job's output, as the sink hands it back at `close`: what has
/// not been printed yet, and what the wrappers said.
#[derive(Debug, Default)]
pub struct Captured {
    pub out: Capture,
    pub err: Capture,
    pub frames: Frames,
    tag: Option<BString>,
    /// Bytes the job wrote (control lines not counted).
    received: u64,
    /// --results under --line-buffer: the lines already printed.
    printed: Option<(Capture, Capture)>,
}

impl Captured {
    /// Output pool-run writes in a job's place (it could not start).
    pub fn message(line: String, tag: Option<BString>) -> Captured {
        let err = Capture::from_bytes(line.into_bytes());
        Captured {
            received: 0,
            err,
            tag,
            ..Captured::default()
        }
    }
}

/// One stream of a running job.
#[derive(Debug, Default)]
struct Flow {
    /// Bytes not printed yet (all of them unless the job streams).
    held: Capture,
    /// --line-buffer: the unfinished last line.
    partial: Vec<u8>,
    /// Bytes printed as lines, counted; kept too under --results.
    printed: u64,
    saved: Option<Capture>,
}

/// A running job's output state.
#[derive(Debug)]
struct Live {
    seq: u64,
    tag: Option<BString>,
    /// Its stderr carries a wrapper's control lines.
    framed: bool,
    /// It prints whole lines as they come (--line-buffer, its turn under -k).
    streaming: bool,
    out: Flow,
    err: Flow,
    frames: Frames,
    /// --latest-line: its latest line.
    latest: latest::Latest,
}

impl Live {
    /// The state of one of its streams.
    fn flow(&mut self, stream: Stream) -> &mut Flow {
        match stream {
            Stream::Out => &mut self.out,
            Stream::Err => &mut self.err,
        }
    }
}

/// A finished output waiting for its turn under -k.
#[derive(Debug)]
struct Held {
    out: Capture,
    err: Capture,
    tag: Option<BString>,
    /// --color, --color-failed: the colour its lines are drawn in.
    color: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct Output<O: Write = io::Stdout, E: Write = io::Stderr> {
    stdout: O,
    stderr: E,
    mode: OutputMode,
    keep_order: bool,
    results: Option<PathBuf>,
    joblog: Option<File>,
    /// `--joblog -`: the joblog's lines go to stdout, after each job's output.
    joblog_on_stdout: bool,
    /// --resume: jobs the joblog says are done.
    skip: HashSet<u64>,
    live: Vec<Option<Live>>,
    waiting: BTreeMap<u64, Held>,
    /// Spill files the outputs in `waiting` keep open.
    held_files: usize,
    next_to_print: u64,
    progress: Progress,
    timeline: Option<timeline::Timeline>,
    /// -v: each job's command line before its output.
    show_command: bool,
    /// --files: stdout goes to a kept file in this directory; its name is
    /// what is printed.
    files_in: Option<PathBuf>,
    /// --color-failed: a failed job's lines in red.
    color_failed: bool,
    /// --color, --ctag: each job's lines in its colour.
    palette: Option<color::Palette>,
    /// --compress: what spills goes through these programs.
    compression: Option<std::rc::Rc<crate::capture::Compression>>,
    /// --latest-line on a terminal: the rows redrawn in place.
    board: Option<latest::Board>,
}

impl Output {
    /// The sink of a run: its mode, the joblog opened, `--resume` read.
    pub fn new(cfg: &Config) -> Result<Output, Failure> {
        // Jobs' output is owed to a stdout that is closed: run nothing
        // (under -u the jobs write for themselves and see it closed).
        let owes_stdout = cfg.output.captures() || cfg.dry_run || cfg.joblog_on_stdout();
        if owes_stdout && common::stdio::was_closed(1) {
            return Err(Failure::new(Exit::Error, common::cli::CLOSED_STDOUT));
        }
        let mut output =
            Output::with_writers(io::stdout(), io::stderr(), cfg.output, cfg.keep_order);
        output.results = cfg.results.clone();
        output.timeline = cfg.timeline.clone().map(timeline::Timeline::new);
        output.show_command = cfg.show_command_stdout;
        output.files_in = cfg.files_in.clone();
        output.color_failed = cfg.color_failed;
        output.palette = cfg.color.then(color::Palette::new);
        output.compression = cfg.compression.clone().map(std::rc::Rc::new);
        output.progress = Progress::new(cfg.bar, None);
        if cfg.output == OutputMode::LatestLine {
            output.board = latest::Board::on_stdout(cfg.keep_order);
        }
        if cfg.joblog_on_stdout() {
            // GNU parallel's `--joblog -`: no file named `-`, and nothing
            // to resume from.
            output.joblog_on_stdout = true;
            output.write_stdout(report::JOBLOG_HEADER)?;
        } else if let Some(joblog) = &cfg.joblog {
            let (file, skip) = report::open_joblog(joblog, cfg.resume).map_err(|e| {
                let what = format!("opening the joblog '{}'", joblog.path.display());
                Failure::io(Exit::Error, what, &e)
            })?;
            output.joblog = Some(file);
            output.skip = skip;
        }
        Ok(output)
    }
}

impl<O: Write, E: Write> Output<O, E> {
    pub fn with_writers(stdout: O, stderr: E, mode: OutputMode, keep_order: bool) -> Self {
        Output {
            stdout,
            stderr,
            mode,
            keep_order,
            results: None,
            joblog: None,
            joblog_on_stdout: false,
            skip: HashSet::new(),
            live: Vec::new(),
            waiting: BTreeMap::new(),
            held_files: 0,
            next_to_print: 1,
            progress: Progress::new(BarMode::Off, None),
            timeline: None,
            show_command: false,
            files_in: None,
            color_failed: false,
            palette: None,
            compression: None,
            board: None,
        }
    }

    /// --bar: jobs in all, once the source knows.
    pub fn set_total(&mut self, total: Option<u64>) {
        self.progress = Progress::new(self.progress.mode(), total);
    }

    /// --bar: a job was counted (or, `last`, the run ended).
    pub fn progress(&mut self, counts: Counts, last: bool) {
        let line = match last {
            false => self.progress.tick(counts),
            true => self.progress.finish(counts),
        };
        if let Some(line) = line {
            self.bar_write(line.as_bytes());
        }
    }

    /// -t: a job's command line on stderr as it starts.
    pub fn announce(&mut self, command_line: &[u8]) {
        self.bar_hide();
        let mut line = command_line.to_vec();
        line.push(b'\n');
        self.bar_write(&line);
        self.bar_show();
    }

    /// --timeline: an attempt ended on `slot`.
    pub fn timeline(&mut self, slot: usize, record: &Record, outcome: timeline::Outcome) {
        if let Some(timeline) = self.timeline.as_mut() {
            timeline.add(slot, record, outcome);
        }
    }

    /// The bar off the screen before output is written...
    fn bar_hide(&mut self) {
        if let Some(erase) = self.progress.hide() {
            self.bar_write(erase.as_bytes());
        }
    }

    /// ...and back after it.
    fn bar_show(&mut self) {
        if let Some(line) = self.progress.show() {
            self.bar_write(line.as_bytes());
        }
    }

    /// The bar's own writes: a stderr that fails loses the bar, nothing else.
    fn bar_write(&mut self, bytes: &[u8]) {
        let _ = self.stderr.write_all(bytes);
        let _ = self.stderr.flush();
    }

    /// Whether jobs' output comes through pool-run (not under -u).
    pub fn captures(&self) -> bool {
        self.mode != OutputMode::Ungrouped
    }

    /// Descriptors held by finished outputs waiting for their turn (-k):
    /// admission leaves them room, so they never starve job starts.
    pub fn held_files(&self) -> usize {
        self.held_files
    }

    /// -u: a job that died of SIGPIPE wrote to pool-run's own stdout,
    /// whose reader has gone (`pool-run -u ... | head -1`): true then, and
    /// the run stops as quietly as grouped output stops at a broken pipe.
    pub fn reader_gone(&self, exit: ChildExit) -> bool {
        use std::os::fd::AsFd;
        let sigpipe = matches!(exit, ChildExit::Signaled { signal, .. } if signal == libc::SIGPIPE);
        if self.mode != OutputMode::Ungrouped || !sigpipe {
            return false;
        }
        // A pipe whose read end is closed polls as POLLERR for its writer.
        let stdout = io::stdout();
        let mut fds = [nix::poll::PollFd::new(
            stdout.as_fd(),
            nix::poll::PollFlags::POLLOUT,
        )];
        nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).is_ok()
            && fds[0]
                .revents()
                .is_some_and(|r| r.contains(nix::poll::PollFlags::POLLERR))
    }

    /// --resume: job `seq` finished in an earlier run.
    pub fn resumed(&self, seq: u64) -> bool {
        self.skip.contains(&seq)
    }

    /// Job `seq` started on `slot`.
    pub fn open(&mut self, slot: usize, seq: u64, tag: Option<BString>, framed: bool) {
        if self.live.len() <= slot {
            self.live.resize_with(slot + 1, || None);
        }
        let line_buffer = self.mode == OutputMode::LineBuffer;
        let streaming = line_buffer && (!self.keep_order || seq == self.next_to_print);
        // --results must get the lines printed as they came too.
        let flow = || Flow {
            held: Capture::compressed(self.compression.clone()),
            saved: (line_buffer && self.results.is_some()).then(Capture::new),
            ..Flow::default()
        };
        self.live[slot] = Some(Live {
            seq,
            tag,
            framed,
            streaming,
            out: flow(),
            err: flow(),
            frames: Frames::default(),
            latest: latest::Latest::default(),
        });
    }

    /// Bytes a job on `slot` wrote.
    pub fn data(&mut self, slot: usize, stream: Stream, bytes: &[u8]) -> Result<(), Failure> {
        let Some(live) = self.live.get_mut(slot).and_then(Option::as_mut) else {
            return Ok(());
        };
        if self.mode == OutputMode::LatestLine {
            return self.latest_data(slot, stream, bytes);
        }
        let streaming = live.streaming;
        let flow = live.flow(stream);
        if !streaming {
            return flow.held.push(bytes).map_err(capture_failure);
        }
        self.stream_lines(slot, stream, bytes)
    }

    /// The job on `slot` ended: its output, for the back-end to read and
    /// for `record`.
    pub fn close(&mut self, slot: usize, exit: ChildExit) -> Result<Captured, Failure> {
        if self.mode == OutputMode::LatestLine {
            return self.close_latest(slot, exit);
        }
        let Some(live) = self.live.get_mut(slot).and_then(Option::take) else {
            return Ok(Captured::default());
        };
        let finish = |flow: Flow| -> io::Result<(Capture, u64, Option<Capture>)> {
            let mut rest = flow.held;
            rest.push(&flow.partial)?;
            Ok((rest, flow.printed, flow.saved))
        };
        let (out, printed_out, saved_out) = finish(live.out).map_err(capture_failure)?;
        let (mut err, printed_err, saved_err) = finish(live.err).map_err(capture_failure)?;
        let mut frames = live.frames;
        if live.framed {
            frames
                .take_from_capture(&mut err, exit)
                .map_err(capture_failure)?;
        }
        Ok(Captured {
            received: printed_out + printed_err + out.len() + err.len(),
            out,
            err,
            frames,
            tag: live.tag,
            printed: saved_out.zip(saved_err),
        })
    }

    /// A job is over for good: log it, save it, print it or hold it.
    pub fn record(&mut self, record: &Record, mut captured: Captured) -> Result<(), Failure> {
        let captured_received = captured.received;
        if let Some(file) = self.joblog.as_mut() {
            file.write_all(&report::joblog_line(record, captured.received))
                .map_err(|e| Failure::io(Exit::Error, "writing the joblog", &e))?;
        }
        if let Some(dir) = &self.results {
            let saved = match captured.printed.take() {
                // --line-buffer: what was printed, then what is left.
                Some((mut out, mut err)) => {
                    append(&mut out, &mut captured.out)?;
                    append(&mut err, &mut captured.err)?;
                    report::save_results(
                        dir,
                        record,
                        (&mut out, &mut err),
                        self.compression.as_deref(),
                    )
                }
                None => report::save_results(
                    dir,
                    record,
                    (&mut captured.out, &mut captured.err),
                    self.compression.as_deref(),
                ),
            };
            saved.map_err(|e| Failure::io(Exit::Error, "writing --results", &e))?;
        }
        let held = if self.mode == OutputMode::Json {
            let line = report::json_line(record, &mut captured.out, &mut captured.err)
                .map_err(|e| Failure::io(Exit::Error, "reading captured output", &e))?;
            Held {
                out: Capture::from_bytes(line),
                err: Capture::new(),
                tag: None,
                color: None,
            }
        } else {
            let out = if self.show_command {
                // -v: the command line, then what the job printed.
                let mut line = Vec::from(record.command.as_slice());
                line.push(b'\n');
                let mut out = Capture::from_bytes(line);
                append(&mut out, &mut captured.out)?;
                out
            } else {
                captured.out
            };
            let out = match &self.files_in {
                Some(dir) => save_in_file(dir, out, self.compression.as_deref())?,
                None => out,
            };
            Held {
                out,
                err: captured.err,
                tag: captured.tag,
                color: if self.color_failed && !record.succeeded() {
                    Some(color::FAILED.to_vec())
                } else {
                    self.color_of(record.spec.seq)
                },
            }
        };
        self.print_or_hold(record.spec.seq, held)?;
        if self.joblog_on_stdout {
            let line = report::joblog_line(record, captured_received);
            self.write_stdout(&line)?;
        }
        Ok(())
    }

    /// pool-run's own lines on stdout (`--joblog -`).
    fn write_stdout(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.bar_hide();
        self.stdout
            .write_all(bytes)
            .and_then(|()| self.stdout.flush())
            .map_err(|e| Failure::io(Exit::Error, "writing output", &e))?;
        self.bar_show();
        Ok(())
    }

    /// A job that takes its turn without running: skipped by --resume
    /// (nothing), or shown by --dry-run (its command line).
    pub fn placeholder(&mut self, seq: u64, line: Option<Vec<u8>>) -> Result<(), Failure> {
        let out = line.map_or_else(Capture::new, Capture::from_bytes);
        self.print_or_hold(
            seq,
            Held {
                out,
                err: Capture::new(),
                tag: None,
                color: None,
            },
        )
    }

    /// Writes an output now, or (with -k) when its turn comes.
    fn print_or_hold(&mut self, seq: u64, held: Held) -> Result<(), Failure> {
        if !self.keep_order {
            return self.write_whole(held);
        }
        self.held_files += held.out.files() + held.err.files();
        self.waiting.insert(seq, held);
        let before = self.next_to_print;
        while let Some(held) = self.waiting.remove(&self.next_to_print) {
            self.held_files -= held.out.files() + held.err.files();
            self.next_to_print += 1;
            self.write_whole(held)?;
        }
        if self.next_to_print != before {
            self.promote_next()?;
        }
        Ok(())
    }

    /// --color: job `seq`'s colour.
    fn color_of(&self, seq: u64) -> Option<Vec<u8>> {
        self.palette.as_ref().map(|p| p.of(seq).to_vec())
    }

    /// One job's stdout, then its stderr, each whole. A stdout that cannot
    /// be written ends the run; a stderr that cannot is skipped.
    fn write_whole(&mut self, mut held: Held) -> Result<(), Failure> {
        if held.out.is_empty() && held.err.is_empty() {
            return Ok(());
        }
        self.bar_hide();
        let tag = held.tag.as_deref().map(Vec::as_slice);
        let color = held.color.as_deref().map(|start| (start, color::RESET));
        let write = |capture: &mut Capture, to: &mut dyn Write| match color {
            Some(color) => capture.write_colored_to(to, tag, color),
            None => capture.write_to(to, tag),
        };
        if !held.out.is_empty() {
            write(&mut held.out, &mut self.stdout)
                .and_then(|()| self.stdout.flush())
                .map_err(|e| Failure::io(Exit::Error, "writing output", &e))?;
        }
        if !held.err.is_empty() {
            let _ = write(&mut held.err, &mut self.stderr).and_then(|()| self.stderr.flush());
        }
        self.bar_show();
        Ok(())
    }

    #[cfg(test)]
    fn writers(&self) -> (&O, &E) {
        (&self.stdout, &self.stderr)
    }
}

/// --files: a job's stdout saved in a new file in `dir`, named as GNU
/// parallel names them (parXXXXX.par) and kept; the name, on a line, is
/// what is printed in its place.
fn save_in_file(
    dir: &std::path::Path,
    mut out: Capture,
    compression: Option<&crate::capture::Compression>,
) -> Result<Capture, Failure> {
    let failed = |e: io::Error| {
        Failure::io(
            Exit::Error,
            format!("writing a file in {}", dir.display()),
            &e,
        )
    };
    let (file, path) = tempfile::Builder::new()
        .prefix("par")
        .suffix(".par")
        .rand_bytes(5)
        .tempfile_in(dir)
        .and_then(|file| file.keep().map_err(|e| e.error))
        .map_err(failed)?;
    crate::capture::write_kept(&mut out, file, compression).map_err(failed)?;
    let mut line = path.into_os_string().into_encoded_bytes();
    line.push(b'\n');
    Ok(Capture::from_bytes(line))
}

/// Appends all of `from` to `to`.
fn append(to: &mut Capture, from: &mut Capture) -> Result<(), Failure> {
    from.for_each_chunk(|chunk| to.push(chunk))
        .map_err(capture_failure)
}

fn capture_failure(err: io::Error) -> Failure {
    Failure::io(Exit::Error, "capturing output", &err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames;
    use crate::job::tests::record;

    type TestOutput = Output<Vec<u8>, Vec<u8>>;

    fn sink(mode: OutputMode, keep_order: bool) -> TestOutput {
        Output::with_writers(Vec::new(), Vec::new(), mode, keep_order)
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    /// Runs job `seq` on `slot` start to end: open, `chunks`, close, record.
    fn job(out: &mut TestOutput, slot: usize, seq: u64, chunks: &[(Stream, &[u8])]) {
        out.open(slot, seq, None, false);
        for (stream, bytes) in chunks {
            out.data(slot, *stream, bytes).unwrap();
        }
        end(out, slot, seq);
    }

    fn end(out: &mut TestOutput, slot: usize, seq: u64) {
        let captured = out.close(slot, ChildExit::Exited(0)).unwrap();
        out.record(&record(seq, 0), captured).unwrap();
    }

    #[test]
    fn grouped_output_is_written_whole_when_a_job_ends() {
        let mut out = sink(OutputMode::Grouped, false);
        out.open(1, 1, None, false);
        out.open(2, 2, None, false);
        out.data(1, Stream::Out, b"a1 ").unwrap();
        out.data(2, Stream::Out, b"b1 ").unwrap();
        out.data(1, Stream::Out, b"a2\n").unwrap();
        out.data(2, Stream::Err, b"b-err\n").unwrap();
        assert!(out.writers().0.is_empty(), "nothing before a job ends");
        end(&mut out, 2, 2);
        end(&mut out, 1, 1);
        assert_eq!(text(out.writers().0), "b1 a1 a2\n");
        assert_eq!(text(out.writers().1), "b-err\n");
    }

    #[test]
    fn keep_order_prints_in_input_order_whatever_the_completion_order() {
        let mut out = sink(OutputMode::Grouped, true);
        job(&mut out, 3, 3, &[(Stream::Out, b"three\n")]);
        job(&mut out, 2, 2, &[(Stream::Out, b"two\n")]);
        assert!(out.writers().0.is_empty(), "held behind job 1");
        job(&mut out, 1, 1, &[(Stream::Out, b"one\n")]);
        assert_eq!(text(out.writers().0), "one\ntwo\nthree\n");
    }

    #[test]
    fn held_outputs_count_the_files_they_keep_open() {
        let mut out = sink(OutputMode::Grouped, true);
        let big = vec![b'x'; crate::capture::MEMORY_LIMIT + 1];
        job(&mut out, 2, 2, &[(Stream::Out, &big)]);
        job(&mut out, 3, 3, &[(Stream::Out, &big), (Stream::Err, &big)]);
        job(&mut out, 4, 4, &[(Stream::Out, b"small\n")]);
        assert_eq!(out.held_files(), 3, "two spilled stdouts and a stderr");
        job(&mut out, 1, 1, &[]);
        assert_eq!(out.held_files(), 0, "printed and closed");
        assert_eq!(out.writers().0.len(), 2 * big.len() + 6);
    }

    #[test]
    fn placeholders_keep_the_order_moving() {
        let mut out = sink(OutputMode::Grouped, true);
        job(&mut out, 1, 2, &[(Stream::Out, b"two\n")]);
        out.placeholder(3, Some("echo 3\n".into())).unwrap();
        out.placeholder(1, None).unwrap();
        assert_eq!(text(out.writers().0), "two\necho 3\n");
    }

    #[test]
    fn line_buffer_prints_whole_lines_as_they_come() {
        let mut out = sink(OutputMode::LineBuffer, false);
        out.open(1, 1, None, false);
        out.data(1, Stream::Out, b"first\nsec").unwrap();
        assert_eq!(text(out.writers().0), "first\n");
        out.data(1, Stream::Out, b"ond\nthird").unwrap();
        assert_eq!(text(out.writers().0), "first\nsecond\n");
        end(&mut out, 1, 1);
        assert_eq!(
            text(out.writers().0),
            "first\nsecond\nthird",
            "the unfinished line at the end"
        );
    }

    #[test]
    fn line_buffer_with_keep_order_streams_only_the_job_whose_turn_it_is() {
        let mut out = sink(OutputMode::LineBuffer, true);
        out.open(1, 1, None, false);
        out.open(2, 2, None, false);
        out.data(2, Stream::Out, b"b1\nb2").unwrap();
        out.data(1, Stream::Out, b"a1\n").unwrap();
        assert_eq!(text(out.writers().0), "a1\n", "job 2 waits for its turn");
        end(&mut out, 1, 1);
        assert_eq!(
            text(out.writers().0),
            "a1\nb1\n",
            "job 2's whole lines, at once"
        );
        out.data(2, Stream::Out, b"\nb3\n").unwrap();
        assert_eq!(
            text(out.writers().0),
            "a1\nb1\nb2\nb3\n",
            "then as they come"
        );
        end(&mut out, 2, 2);
        assert_eq!(text(out.writers().0), "a1\nb1\nb2\nb3\n");
    }

    #[test]
    fn streamed_lines_are_counted_and_saved_for_results() {
        let dir = tempfile::tempdir().unwrap();
        for keep_order in [false, true] {
            let mut out = sink(OutputMode::LineBuffer, keep_order);
            out.results = Some(dir.path().join(format!("r{keep_order}")));
            out.open(1, 1, Some("t".into()), false);
            out.data(1, Stream::Out, b"one\ntw").unwrap();
            out.data(1, Stream::Err, b"e\n").unwrap();
            out.data(1, Stream::Out, b"o\n").unwrap();
            let captured = out.close(1, ChildExit::Exited(0)).unwrap();
            assert_eq!(captured.received, 10, "every byte counts, tags do not");
            out.record(&record(1, 0), captured).unwrap();
            let saved = dir.path().join(format!("r{keep_order}/1/v1"));
            assert_eq!(
                std::fs::read_to_string(saved.join("stdout")).unwrap(),
                "one\ntwo\n"
            );
            assert_eq!(
                std::fs::read_to_string(saved.join("stderr")).unwrap(),
                "e\n"
            );
            assert_eq!(text(out.writers().0), "t\tone\nt\ttwo\n", "printed once");
        }
    }

    #[test]
    fn tags_prefix_every_line_in_each_mode() {
        for mode in [OutputMode::Grouped, OutputMode::LineBuffer] {
            let mut out = sink(mode, false);
            out.open(1, 1, Some("t".into()), false);
            out.data(1, Stream::Out, b"x\ny\n").unwrap();
            out.data(1, Stream::Err, b"e\n").unwrap();
            end(&mut out, 1, 1);
            assert_eq!(text(out.writers().0), "t\tx\nt\ty\n", "{mode:?}");
            assert_eq!(text(out.writers().1), "t\te\n", "{mode:?}");
        }
    }

    #[test]
    fn json_prints_one_object_per_job_and_no_raw_output() {
        let mut out = sink(OutputMode::Json, false);
        job(
            &mut out,
            1,
            1,
            &[(Stream::Out, b"hi\n"), (Stream::Err, b"oops\n")],
        );
        let line = text(out.writers().0);
        assert_eq!(line.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            (value["stdout"].as_str(), value["stderr"].as_str()),
            (Some("hi\n"), Some("oops\n"))
        );
        assert!(out.writers().1.is_empty());
    }

    #[test]
    fn control_lines_never_reach_the_user() {
        for mode in [OutputMode::Grouped, OutputMode::LineBuffer] {
            let mut out = sink(mode, false);
            out.open(1, 1, None, true);
            out.data(1, Stream::Err, frames::START).unwrap();
            out.data(1, Stream::Err, b"real\n").unwrap();
            out.data(1, Stream::Err, frames::EXIT_255).unwrap();
            let captured = out.close(1, ChildExit::Exited(255)).unwrap();
            assert!(
                captured.frames.started && captured.frames.exited_255,
                "{mode:?}"
            );
            out.record(&record(1, 255), captured).unwrap();
            assert_eq!(text(out.writers().1), "real\n", "{mode:?}");
        }
    }

    #[test]
    fn a_job_that_could_not_start_prints_its_line_in_its_place() {
        let mut out = sink(OutputMode::Grouped, true);
        job(&mut out, 2, 2, &[(Stream::Out, b"two\n")]);
        let line = "pool-run: job 1: cannot run 'x': command not found\n".to_string();
        out.record(&record(1, 127), Captured::message(line.clone(), None))
            .unwrap();
        assert_eq!(text(out.writers().1), line);
        assert_eq!(text(out.writers().0), "two\n");
    }

    #[test]
    fn ungrouped_jobs_write_for_themselves() {
        let out = sink(OutputMode::Ungrouped, false);
        assert!(!out.captures());
        assert!(sink(OutputMode::Json, false).captures());
    }

    /// A writer that refuses everything, as a closed pipe does.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_stderr_loses_stderr_lines_only_in_every_mode() {
        for mode in [OutputMode::Grouped, OutputMode::LineBuffer] {
            let mut out = Output::with_writers(Vec::new(), Closed, mode, true);
            for seq in 1..=3 {
                out.open(seq as usize, seq, None, false);
                out.data(seq as usize, Stream::Err, b"e\n").unwrap();
                out.data(seq as usize, Stream::Out, b"o\n").unwrap();
                let captured = out.close(seq as usize, ChildExit::Exited(0)).unwrap();
                out.record(&record(seq, 0), captured).unwrap();
            }
            assert_eq!(text(out.writers().0), "o\no\no\n", "{mode:?}");
        }
    }

    #[test]
    fn a_closed_stdout_ends_the_run_quietly() {
        let mut out = Output::with_writers(Closed, Vec::new(), OutputMode::Grouped, false);
        out.open(1, 1, None, false);
        out.data(1, Stream::Out, b"x\n").unwrap();
        let captured = out.close(1, ChildExit::Exited(0)).unwrap();
        let failure = out.record(&record(1, 0), captured).unwrap_err();
        assert_eq!(
            (failure.code, failure.message.as_str()),
            (0, ""),
            "broken pipe policy"
        );
    }
}
