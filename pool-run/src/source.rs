//! The source of job specs: what runs next. Jobs sent back by a lost host
//! come first, then failed jobs to retry, then `--pipe` blocks, then input
//! records batched by `-n`/`-X`/`-m` and split by `--colsep`. It numbers new
//! jobs in input order and knows when the input is over. Stdin is read by
//! the thread in `input.rs`; this side takes what it has handed over.

use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::rc::Rc;
use std::sync::mpsc::TryRecvError;

use bstr::{BString, ByteSlice};
use common::cli::Failure;

use std::os::unix::ffi::OsStrExt;

use crate::backend::PlaceId;
use crate::blocks::{Block, Budget, Lead, Named, Parts, PipeCutter};
use crate::config::{Batch, Config, NamedBlocks};
use crate::exit::Exit;
use crate::input::{self, Chunk, StdinFeed};
use crate::job::JobSpec;

/// Bytes of arguments -X and -m put into one command: far below the
/// kernel's limit (ARG_MAX, 2 MiB here, shared with the environment).
pub const FIT_BUDGET: usize = 128 * 1024;

/// Input records held from the stdin thread at least, whatever `-j` is.
const MIN_PENDING: usize = 64;

#[derive(Debug)]
pub struct Source {
    batch: Batch,
    colsep: Option<regex::bytes::Regex>,
    /// --trim: spaces and tabs taken off each value.
    trim: crate::config::Trim,
    /// -X/-m with input known up front: the job slots the records spread
    /// over, and, once set, at most this many records per job (GNU
    /// parallel's split of what is left once it would fit one job: all
    /// records, unless -n N or the line length cuts them first).
    fit_slots: Option<usize>,
    fit_share: Option<usize>,
    /// Jobs to run again, first to last: lost ones go in front, retries at the back.
    again: VecDeque<JobSpec>,
    blocks: VecDeque<Block>,
    /// --pipe-part: the files still to cut, first to last.
    parts: VecDeque<Parts>,
    /// --cat, --fifo: a block goes to its job through a file or a named
    /// pipe named by `{}`.
    named: NamedBlocks,
    pending: VecDeque<Vec<BString>>,
    /// Bytes of the pending records, as -X/-m count them.
    pending_bytes: usize,
    /// The stdin thread, until it has handed over its last input.
    feed: Option<StdinFeed>,
    next_seq: u64,
    /// Jobs in all, when the input was known up front (for --bar).
    total: Option<u64>,
    /// --skip-first-line: the first record is still to be dropped.
    skip_first: bool,
    /// How many records -X/-m put on one command line.
    fit: Fit,
    /// --csv: records are CSV lines with this separator.
    csv: Option<u8>,
    /// --onall / --nonall: every record once per place (each host runs all
    /// the jobs, as GNU parallel's --onall does), record by record so the
    /// hosts work at the same time.
    onall: Option<VecDeque<(Vec<BString>, PlaceId)>>,
    /// --hostgroups: values carry `@group+group` suffixes.
    hostgroups: bool,
}

/// -X/-m's limit on a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// Bytes of records (each value and a separator) one job takes at most.
    pub budget: usize,
    /// The command's own bytes and a space (for -x's message).
    pub command_len: usize,
    /// -x: a record that does not fit alone ends the run; the -s given.
    pub exit_past: Option<usize>,
    /// -n N with -m/-X: at most N records a job; 0: no limit, but none of
    /// the records reaches the command line.
    pub cap: Option<usize>,
}

impl Default for Fit {
    fn default() -> Fit {
        Fit {
            budget: FIT_BUDGET,
            command_len: 0,
            exit_past: None,
            cap: None,
        }
    }
}

impl Source {
    /// Reads `:::`/`::::` sources now, or starts the stdin thread. Call it
    /// after every fork pool-run makes (the thread must not be cloned).
    pub fn open(cfg: &Config) -> Result<Source, Failure> {
        let io_failure = |what: &str, e: &std::io::Error| Failure::io(Exit::Error, what, e);
        let mut pending = VecDeque::new();
        if cfg.pipe.is_some() || cfg.sources.is_empty() {
            say_if_reading_the_terminal();
        }
        let mut parts = VecDeque::new();
        let feed = if let Some(pipe) = cfg.pipe.as_ref().filter(|p| p.part) {
            let block = part_block_size(pipe, &cfg.sources, cfg.job_slots());
            let rule = match &pipe.header {
                Some(pattern) => Some(crate::pipe_input::header_regex(pattern).map_err(|e| {
                    Failure::new(Exit::Error, format!("--header '{pattern}': {e}"))
                })?),
                None => None,
            };
            for spec in &cfg.sources {
                if let input::Source::File(path) = &spec.source {
                    let failed =
                        |e: std::io::Error| io_failure(&format!("reading {}", path.display()), &e);
                    let file = std::fs::File::open(path).map_err(failed)?;
                    let group = pipe.group_by.as_ref();
                    let names = group.is_some_and(crate::group_by::GroupBy::reads_header_line);
                    let lead = Lead::read(&file, cfg.skip_first_line, rule.as_ref(), names)
                        .map_err(failed)?;
                    let header = lead.head.clone();
                    let mut open = Parts::new(file, &pipe.boundary, block, lead).map_err(failed)?;
                    if let Some(group) = group {
                        let cuts = group
                            .part_cuts(path, open.start(), block as u64, header.as_deref())
                            .map_err(|e| Failure::new(Exit::Error, e))?;
                        open = open.with_cuts(cuts);
                    }
                    parts.push_back(open);
                }
            }
            None
        } else if let Some(pipe) = &cfg.pipe {
            // A block per job slot, and the one being read.
            let cutter = PipeCutter::new(&pipe.boundary, pipe.block, pipe.records)
                .with_lines(pipe.lines)
                .with_block_timeout(pipe.block_timeout);
            let input = crate::pipe_input::PipeInput::open(pipe)
                .map_err(|e| Failure::new(Exit::Error, e))?;
            Some(
                crate::pipe_input::stream_blocks(cutter, Budget::new(cfg.job_slots() + 1), input)
                    .map_err(|e| io_failure("reading stdin", &e))?,
            )
        } else if cfg.spread.is_some() {
            // --shard / --bin: one job per slot, each reading its pipe.
            pending = (0..cfg.job_slots()).map(|_| Vec::new()).collect();
            None
        } else if cfg.nonall {
            // --nonall: one job of no values (the command alone) per host.
            pending = VecDeque::from([Vec::new()]);
            None
        } else if cfg.sources.is_empty() && !reads_stdin_first(cfg) {
            Some(
                input::stream_stdin(cfg.records.clone())
                    .map_err(|e| io_failure("reading stdin", &e))?,
            )
        } else if cfg.sources.is_empty() {
            // total_jobs() ({##}) and --shuf need them all first, as GNU
            // parallel reads them; so does --csv (a quoted field may go on
            // over the next lines).
            let stdin = input::SourceSpec {
                source: input::Source::File("-".into()),
                linked: crate::input::Link::Product,
                skip_header: false,
            };
            pending = input::combine(&[stdin], &cfg.records)
                .map_err(|e| io_failure("reading stdin", &e))?
                .into();
            None
        } else {
            pending = input::combine(&cfg.sources, &cfg.records)
                .map_err(|e| io_failure("reading the input", &e))?
                .into();
            None
        };
        let mut source = Source::from_records(cfg.batch, cfg.colsep.clone(), pending);
        if feed.is_some() || !parts.is_empty() {
            source.total = None;
        }
        source.parts = parts;
        source.named = cfg.pipe.as_ref().map_or(NamedBlocks::No, |p| p.named);
        if cfg.csv.is_some() {
            source.pending =
                crate::values::join_quoted_newlines(std::mem::take(&mut source.pending));
            source.total = source.total.map(|_| source.pending.len() as u64);
        }
        if cfg.shuffle {
            shuffle(&mut source.pending);
        }
        if feed.is_none() && cfg.spread_fit && matches!(cfg.batch, Batch::Fit { .. }) {
            source.fit_slots = Some(cfg.job_slots());
        }
        source.feed = feed;
        source.trim = cfg.trim;
        source.skip_first = cfg.skip_first_line;
        source.fit = cfg.fit;
        source.csv = cfg.csv;
        source.hostgroups = cfg.remote.hostgroups;
        if cfg.skip_first_line {
            source.total = source.total.map(|t| t.saturating_sub(1));
        }
        // --total-jobs: the user's count wins (GNU parallel takes it as given).
        source.total = cfg.total_jobs.or(source.total);
        Ok(source)
    }

    /// A source of records known up front (no stdin thread).
    pub fn from_records(
        batch: Batch,
        colsep: Option<regex::bytes::Regex>,
        pending: VecDeque<Vec<BString>>,
    ) -> Source {
        Source {
            total: (batch == Batch::One).then_some(pending.len() as u64),
            batch,
            colsep,
            trim: crate::config::Trim::default(),
            fit_slots: None,
            fit_share: None,
            again: VecDeque::new(),
            blocks: VecDeque::new(),
            parts: VecDeque::new(),
            named: NamedBlocks::No,
            pending_bytes: pending.iter().map(|r| record_size(r)).sum(),
            pending,
            feed: None,
            next_seq: 1,
            skip_first: false,
            hostgroups: false,
            fit: Fit::default(),
            csv: None,
            onall: None,
        }
    }

    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Takes what the stdin thread has read, while there is room for it.
    pub fn fill(&mut self, capacity: usize) -> Result<(), Failure> {
        // --pipe-part: the next ranges, cut as jobs are about to take them.
        while self.blocks.len() < capacity
            && let Some(parts) = self.parts.front_mut()
        {
            match parts.next_block() {
                Ok(Some(block)) => self.blocks.push_back(block),
                Ok(None) => {
                    self.parts.pop_front();
                }
                Err(err) => {
                    return Err(Failure::io(Exit::Error, "reading a --pipe-part file", &err));
                }
            }
        }
        while let Some(feed) = &self.feed {
            if !self.wants_input(capacity) {
                break;
            }
            match feed.batches.try_recv() {
                Ok(Ok(Chunk::Records(batch))) => {
                    self.pending_bytes += batch.iter().map(|r| r.len() + 1).sum::<usize>();
                    self.pending.extend(batch.into_iter().map(|r| vec![r]));
                }
                Ok(Ok(Chunk::Block(bytes))) => {
                    self.blocks.push_back(Block::Bytes(Rc::new(bytes)));
                }
                Ok(Err(err)) => return Err(Failure::io(Exit::Error, "reading stdin", &err)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.feed = None,
            }
        }
        Ok(())
    }

    /// Whether to take more from the stdin thread now: while there is
    /// room, and always while no job can be cut from what is pending (an
    /// -n or -X batch waits for more records, or for the end of input).
    fn wants_input(&self, capacity: usize) -> bool {
        (self.pending.len() < capacity.max(MIN_PENDING) && self.blocks.len() < capacity)
            || !self.job_ready()
    }

    /// The stdin thread's wake-up pipe, while this source wants more input.
    pub fn wake_fd(&self, capacity: usize) -> Option<BorrowedFd<'_>> {
        let feed = self.feed.as_ref()?;
        let room = self.pending.len() < capacity && self.blocks.len() < capacity;
        (room || !self.job_ready()).then(|| feed.wake.as_fd())
    }

    /// Whether a job can start from what is here without more input.
    fn job_ready(&self) -> bool {
        if !self.again.is_empty() || !self.blocks.is_empty() {
            return true;
        }
        match self.batch {
            Batch::One => !self.pending.is_empty(),
            Batch::Max(n) => self.pending.len() >= n.max(1),
            // As take_values: a batch is cut once the records overflow it.
            Batch::Fit { .. } => {
                self.pending.len() >= 2 && self.pending_bytes > self.fit.budget
                    || self
                        .fit
                        .cap
                        .is_some_and(|cap| cap > 0 && self.pending.len() >= cap)
            }
        }
    }

    /// Empties the wake-up pipe after a poll.
    pub fn drain_wake(&mut self) {
        if let Some(feed) = &self.feed {
            let mut drain = [0u8; 256];
            while matches!((&feed.wake).read(&mut drain), Ok(n) if n > 0) {}
        }
    }

    /// --onall / --nonall: the records (read up front) become one job per
    /// record and place.
    pub fn run_on_all(&mut self, places: &[PlaceId]) {
        let records: Vec<Vec<BString>> = self.pending.drain(..).collect();
        self.pending_bytes = 0;
        let jobs = records
            .iter()
            .flat_map(|r| places.iter().map(move |&place| (r.clone(), place)))
            .collect::<VecDeque<_>>();
        self.total = Some(jobs.len() as u64);
        self.onall = Some(jobs);
    }

    /// The next job to start, or None until more input comes (or ever).
    pub fn next(&mut self) -> Result<Option<JobSpec>, Failure> {
        if let Some(spec) = self.again.pop_front() {
            return Ok(Some(spec));
        }
        if let Some(jobs) = self.onall.as_mut() {
            let Some((record, place)) = jobs.pop_front() else {
                return Ok(None);
            };
            let values = crate::values::split_columns(self.colsep.as_ref(), record);
            let mut spec = self.new_spec(values);
            spec.place = Some(place);
            return Ok(Some(spec));
        }
        if let Some(block) = self.blocks.pop_front() {
            let mut spec = self.new_spec(Vec::new());
            let named = match self.named {
                NamedBlocks::No => None,
                NamedBlocks::File => Some(
                    Named::file(&block)
                        .map_err(|e| Failure::io(Exit::Error, "writing a --cat file", &e))?,
                ),
                NamedBlocks::Fifo => Some(
                    Named::fifo().map_err(|e| Failure::io(Exit::Error, "making a --fifo", &e))?,
                ),
            };
            if let Some(named) = named {
                spec.values = vec![BString::from(named.path().as_os_str().as_bytes())];
                spec.named = Some(Rc::new(named));
            }
            // A --cat job has its block in the file; the others are fed it.
            if self.named != NamedBlocks::File {
                spec.block = Some(block);
            }
            return Ok(Some(spec));
        }
        if let (Some(max), Some(first)) = (self.fit.exit_past, self.pending.front())
            && matches!(self.batch, Batch::Fit { .. } | Batch::One)
            && record_size(first) > self.fit.budget
        {
            // -x: GNU parallel's words, with the line's length as it counts it.
            let length = self.fit.command_len + record_size(first);
            let value = first
                .iter()
                .map(|v| v.to_str_lossy())
                .collect::<Vec<_>>()
                .join(" ");
            return Err(Failure::new(
                Exit::Error,
                format!(
                    "command line too long ({length} >= {max}) at input {}: {value}",
                    self.next_seq - 1
                ),
            ));
        }
        Ok(self.take_values().map(|values| self.new_spec(values)))
    }

    fn new_spec(&mut self, mut values: Vec<BString>) -> JobSpec {
        let groups = if self.hostgroups {
            crate::values::cut_host_groups(&mut values)
        } else {
            None
        };
        let mut spec = JobSpec::new(self.next_seq, values);
        spec.groups = groups;
        self.next_seq += 1;
        spec
    }

    /// --round-robin: the next block, for a job already running.
    pub fn take_block(&mut self) -> Option<Block> {
        self.blocks.pop_front()
    }

    /// --round-robin: a block no running job took, first again.
    pub fn put_back_block(&mut self, block: Block) {
        self.blocks.push_front(block);
    }

    /// A job whose host was lost: it runs next, on any host.
    pub fn requeue(&mut self, spec: JobSpec) {
        self.again.push_front(spec);
    }

    /// A failed job to try again, after the others waiting to.
    pub fn retry(&mut self, spec: JobSpec) {
        self.again.push_back(spec);
    }

    /// Nothing left to start, now or later.
    pub fn is_done(&self) -> bool {
        self.again.is_empty()
            && self.blocks.is_empty()
            && self.parts.is_empty()
            && self.pending.is_empty()
            && self.feed.is_none()
            && self.onall.as_ref().is_none_or(VecDeque::is_empty)
    }

    /// The values of the next job from the pending records, or None to
    /// wait for more input (a batch is not cut short while input may come).
    fn take_values(&mut self) -> Option<Vec<BString>> {
        if self.skip_first
            && let Some(first) = self.pending.pop_front()
        {
            self.skip_first = false;
            self.pending_bytes -= record_size(&first);
        }
        let input_done = self.feed.is_none();
        let take = match self.batch {
            Batch::One => usize::from(!self.pending.is_empty()),
            Batch::Max(n) => {
                let n = n.max(1);
                if self.pending.len() < n && !input_done {
                    return None;
                }
                n.min(self.pending.len())
            }
            Batch::Fit { .. } => {
                let fit = records_that_fit(&self.pending, self.fit.budget);
                let cap = self.fit.cap.filter(|&cap| cap > 0).unwrap_or(usize::MAX);
                if fit == self.pending.len() && fit < cap && !input_done {
                    return None;
                }
                // GNU parallel spreads what is left once it would fit one
                // job (under -n N and -s N too), not all of it up front.
                if let Some(slots) = self.fit_slots
                    && self.fit_share.is_none()
                    && self.pending.len() <= cap
                    && fit == self.pending.len()
                {
                    self.fit_share = Some(self.pending.len().div_ceil(slots).max(1));
                }
                fit.min(cap).min(self.fit_share.unwrap_or(usize::MAX))
            }
        };
        if take == 0 {
            return None;
        }
        self.pending_bytes -= self
            .pending
            .iter()
            .take(take)
            .map(|r| record_size(r))
            .sum::<usize>();
        // -n0, -N0 (alone or with -m/-X): the records make jobs, not words.
        let no_values = match self.batch {
            Batch::Max(n) => n == 0,
            Batch::Fit { .. } => self.fit.cap == Some(0),
            Batch::One => false,
        };
        if no_values {
            self.pending.drain(..take);
            return Some(Vec::new());
        }
        let colsep = &self.colsep;
        let csv = self.csv;
        let trim = self.trim;
        Some(
            self.pending
                .drain(..take)
                .flat_map(|record| match csv {
                    Some(sep) => record
                        .iter()
                        .flat_map(|v| crate::values::csv_fields(v, sep))
                        .collect(),
                    None => crate::values::split_columns(colsep.as_ref(), record),
                })
                .map(|mut value| {
                    trim.apply(&mut value);
                    value
                })
                .collect(),
        )
    }
}

/// Whether stdin's records are all read before the first job: {##} (the
/// total) and --shuf need them all, --onall runs each on every host, and
/// --csv joins a quoted field's lines.
fn reads_stdin_first(cfg: &Config) -> bool {
    (cfg.needs_total() && cfg.total_jobs.is_none()) || cfg.onall || cfg.shuffle || cfg.csv.is_some()
}

/// --pipe-part's block size: as given, or GNU parallel's share of the
/// files' total size (1 + size / slots / blocks per slot). A file that
/// cannot be read counts 0 here; opening it reports why.
fn part_block_size(
    pipe: &crate::config::PipeSpec,
    sources: &[input::SourceSpec],
    slots: usize,
) -> usize {
    let Some(per_slot) = pipe.part_blocks_per_slot else {
        return pipe.block;
    };
    let total: u64 = sources
        .iter()
        .filter_map(|spec| match &spec.source {
            input::Source::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            input::Source::Args(_) => None,
        })
        .sum();
    1 + (total / slots.max(1) as u64 / per_slot.max(1) as u64) as usize
}

/// --shuf: the records in a random order (Fisher-Yates over a xorshift
/// seeded by the clock and the pid: unpredictable enough to spread jobs,
/// no crate needed).
fn shuffle(records: &mut VecDeque<Vec<BString>>) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut state = nanos ^ (u64::from(std::process::id()) << 32) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let slice = records.make_contiguous();
    for i in (1..slice.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        slice.swap(i, j);
    }
}

/// Input from stdin on a terminal: a user who typed `pool-run echo` and
/// sees nothing happen should learn that pool-run waits for them (as GNU
/// parallel says), once, on stderr.
fn say_if_reading_the_terminal() {
    use std::io::{IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        let _ = writeln!(
            std::io::stderr(),
            "pool-run: reading input from the terminal, one record per line; end it with Ctrl-D"
        );
    }
}

/// A record's bytes on a command line (each value and a separator).
fn record_size(record: &[BString]) -> usize {
    record.iter().map(|v| v.len() + 1).sum()
}

/// How many of the first records fit `budget` bytes (at least one).
fn records_that_fit(pending: &VecDeque<Vec<BString>>, budget: usize) -> usize {
    let mut bytes = 0;
    let mut take = 0;
    for record in pending {
        let size = record_size(record);
        if take > 0 && bytes + size > budget {
            break;
        }
        bytes += size;
        take += 1;
    }
    take
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(values: &[&str]) -> VecDeque<Vec<BString>> {
        values.iter().map(|v| vec![BString::from(*v)]).collect()
    }

    fn drain(source: &mut Source) -> Vec<(u64, Vec<String>)> {
        std::iter::from_fn(|| source.next().unwrap())
            .map(|s| (s.seq, s.values.iter().map(|v| v.to_string()).collect()))
            .collect()
    }

    #[test]
    fn shuffling_keeps_every_record() {
        let mut records: VecDeque<Vec<BString>> = (0..100)
            .map(|n| vec![BString::from(n.to_string())])
            .collect();
        let before = records.clone();
        shuffle(&mut records);
        let mut sorted: Vec<_> = records.iter().cloned().collect();
        sorted.sort();
        let mut expected: Vec<_> = before.iter().cloned().collect();
        expected.sort();
        assert_eq!(sorted, expected);
        assert_ne!(records, before, "100 records in the same order: no shuffle");
    }

    #[test]
    fn one_record_per_job_numbered_in_input_order() {
        let mut source = Source::from_records(Batch::One, None, records(&["a", "b", "c"]));
        assert_eq!(source.total(), Some(3));
        let got = drain(&mut source);
        assert_eq!(
            got,
            [
                (1, vec!["a".to_string()]),
                (2, vec!["b".to_string()]),
                (3, vec!["c".to_string()])
            ]
        );
        assert!(source.is_done());
    }

    #[test]
    fn max_zero_takes_one_record_per_job_and_gives_no_value() {
        let mut source = Source::from_records(Batch::Max(0), None, records(&["a", "b"]));
        assert_eq!(source.take_values(), Some(Vec::new()));
        assert_eq!(source.take_values(), Some(Vec::new()));
        assert_eq!(source.take_values(), None, "one job per record");
    }

    #[test]
    fn max_args_cuts_batches_and_the_last_one_short() {
        let mut source = Source::from_records(Batch::Max(2), None, records(&["a", "b", "c"]));
        assert_eq!(source.total(), None, "jobs in all is not known with -n");
        let got: Vec<Vec<String>> = drain(&mut source).into_iter().map(|j| j.1).collect();
        assert_eq!(got, [vec!["a", "b"], vec!["c"]]);
    }

    #[test]
    fn fit_spreads_over_the_slots_what_is_left_once_it_fits_one_job() {
        // GNU parallel 20221122: `-j2 -m -n4 echo ::: 1 2 3 4 5 6 7`
        // prints `1 2 3 4` / `5 6` / `7`.
        let mut source =
            Source::from_records(Batch::Fit { context: false }, None, records(&["1"; 7]));
        source.fit.cap = Some(4);
        source.fit_slots = Some(2);
        let sizes: Vec<usize> = drain(&mut source).iter().map(|j| j.1.len()).collect();
        assert_eq!(sizes, [4, 2, 1]);
        // A line that takes 2 records (-s): 2, 2, then the last 2 spread
        // (`-j2 -X -s 10 echo ::: 1 2 3 4 5 6` in GNU parallel).
        let mut source =
            Source::from_records(Batch::Fit { context: true }, None, records(&["1"; 6]));
        source.fit.budget = 4;
        source.fit_slots = Some(2);
        let sizes: Vec<usize> = drain(&mut source).iter().map(|j| j.1.len()).collect();
        assert_eq!(sizes, [2, 2, 1, 1]);
        // -n0: -m's batches (3 and 2 over 2 slots), no values given.
        let mut source =
            Source::from_records(Batch::Fit { context: false }, None, records(&["1"; 5]));
        source.fit.cap = Some(0);
        source.fit_slots = Some(2);
        let sizes: Vec<usize> = drain(&mut source).iter().map(|j| j.1.len()).collect();
        assert_eq!(sizes, [0, 0]);
    }

    #[test]
    fn fit_batches_stay_within_the_budget() {
        let long = "x".repeat(FIT_BUDGET / 3);
        let many: VecDeque<Vec<BString>> = (0..7).map(|_| vec![long.as_str().into()]).collect();
        let mut source = Source::from_records(Batch::Fit { context: false }, None, many);
        let sizes: Vec<usize> = drain(&mut source).iter().map(|j| j.1.len()).collect();
        assert_eq!(sizes, [2, 2, 2, 1]);
        let mut huge = Source::from_records(
            Batch::Fit { context: true },
            None,
            records(&[&"y".repeat(FIT_BUDGET * 2)]),
        );
        assert_eq!(drain(&mut huge).len(), 1, "one record always makes a job");
    }

    #[test]
    fn a_batch_waiting_for_input_keeps_the_stdin_thread_read() {
        let mut source = Source::from_records(Batch::Max(100), None, records(&["1"; 70]));
        // As if the stdin thread still ran: the end of input is not seen yet.
        let (_sender, batches) = std::sync::mpsc::sync_channel(1);
        let (wake, _waker) = common::ipc::pipe().unwrap();
        source.feed = Some(StdinFeed { batches, wake });
        assert!(!source.job_ready(), "70 of 100 records");
        assert!(source.wants_input(2), "past the usual room, it reads on");
        assert!(source.wake_fd(2).is_some(), "and polls for more");
        assert_eq!(source.next().unwrap(), None);
        let mut fit =
            Source::from_records(Batch::Fit { context: false }, None, records(&["1"; 70]));
        assert!(!fit.job_ready());
        fit.pending.push_back(vec!["x".repeat(FIT_BUDGET).into()]);
        fit.pending_bytes += FIT_BUDGET + 1;
        assert!(fit.job_ready(), "the records overflow a command line");
        let taken = fit.next().unwrap().unwrap().values.len();
        assert_eq!(taken, 70);
        assert_eq!(
            fit.pending_bytes,
            FIT_BUDGET + 1,
            "the rest is still counted"
        );
    }

    #[test]
    fn colsep_splits_every_record_into_columns() {
        let colsep = regex::bytes::Regex::new(",").unwrap();
        let mut source = Source::from_records(Batch::Max(2), Some(colsep), records(&["a,b", "c"]));
        assert_eq!(drain(&mut source)[0].1, ["a", "b", "c"]);
    }

    #[test]
    fn lost_jobs_come_first_then_retries_then_new_input() {
        let mut source = Source::from_records(Batch::One, None, records(&["a", "b", "c"]));
        let first = source.next().unwrap().unwrap();
        let second = source.next().unwrap().unwrap();
        source.retry(first.clone().next_attempt());
        source.requeue(second.clone());
        assert!(!source.is_done());
        let order: Vec<(u64, u32)> = std::iter::from_fn(|| source.next().unwrap())
            .map(|s| (s.seq, s.attempt))
            .collect();
        assert_eq!(order, [(2, 1), (1, 2), (3, 1)]);
    }
}
