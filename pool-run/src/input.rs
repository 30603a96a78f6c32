//! Where the jobs' values come from: stdin records, streamed as they arrive,
//! or `:::` / `::::` sources combined as GNU parallel does (a cartesian
//! product, first source outermost; `:::+` / `::::+` pair a source with the
//! one before it instead).
//!
//! Values are bytes: a record that is not UTF-8 reaches its job unchanged.
//! The one thing argv cannot carry is a NUL byte, so a record holding one
//! (without `-0`) is skipped, with one warning for the run.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use bstr::{BString, ByteSlice};
use common::ipc::{PipeReader, PipeWriter, pipe};

use crate::blocks::Bytes;

/// One input source as written on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `::: a b c`
    Args(Vec<BString>),
    /// `:::: FILE` or `-a FILE` (`-` is stdin)
    File(PathBuf),
}

/// How a source joins the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Not at all: the jobs run over every combination of the groups.
    Product,
    /// `:::+` / `::::+`: paired by position; the shortest source sets how
    /// many (GNU parallel: "values do not wrap").
    Shortest,
    /// `--link`: paired by position; the shorter sources are repeated.
    Wrap,
}

/// A source and how it joins the one before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub source: Source,
    pub linked: Link,
    /// --header: a file's first record names it; it is no value.
    pub skip_header: bool,
}

/// Splits the words after the command into sources. Returns the command
/// words (before the first marker) and the sources.
/// The words that start sources: `:::` and `::::` by default (GNU
/// parallel's `--arg-sep`, `--arg-file-sep`), each with a `+` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Separators {
    pub args: BString,
    pub files: BString,
}

impl Default for Separators {
    fn default() -> Separators {
        Separators {
            args: BString::from(":::"),
            files: BString::from("::::"),
        }
    }
}

impl Separators {
    /// What `word` starts: a source of files (true) or of arguments
    /// (false), and whether it is linked (`+`); None for other words.
    fn marker(&self, word: &[u8]) -> Option<(bool, bool)> {
        let (base, linked) = match word.strip_suffix(b"+") {
            Some(base) => (base, true),
            None => (word, false),
        };
        if base == self.files.as_slice() {
            Some((true, linked))
        } else if base == self.args.as_slice() {
            Some((false, linked))
        } else {
            None
        }
    }
}

/// How input records are read: what ends one (`-0`, `-d`), and the record
/// that ends the input (`-E`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSyntax {
    pub delimiter: u8,
    pub eof: Option<BString>,
    /// -L / -l: a record that ends in a blank goes on with the next one
    /// (xargs' rule, which GNU parallel keeps).
    pub continued: bool,
}

impl Default for RecordSyntax {
    fn default() -> RecordSyntax {
        RecordSyntax {
            delimiter: b'\n',
            eof: None,
            continued: false,
        }
    }
}

pub fn split_sources(
    words: &[BString],
    separators: &Separators,
) -> Result<(Vec<BString>, Vec<SourceSpec>), String> {
    let is_marker = |w: &[u8]| separators.marker(w).is_some();
    let first = words
        .iter()
        .position(|w| is_marker(w))
        .unwrap_or(words.len());
    let command = words[..first].to_vec();
    let mut sources = Vec::new();
    let mut i = first;
    while i < words.len() {
        let marker = words[i].to_str_lossy();
        let (files, linked) = separators.marker(&words[i]).unwrap_or((false, false));
        let end = words[i + 1..]
            .iter()
            .position(|w| is_marker(w))
            .map_or(words.len(), |p| i + 1 + p);
        let values = &words[i + 1..end];
        if files {
            if values.is_empty() {
                return Err(format!("{marker} needs at least one file"));
            }
            for (n, file) in values.iter().enumerate() {
                sources.push(SourceSpec {
                    source: Source::File(PathBuf::from(OsStr::from_bytes(file))),
                    linked: if linked && n == 0 {
                        Link::Shortest
                    } else {
                        Link::Product
                    },
                    skip_header: false,
                });
            }
        } else {
            if values.is_empty() {
                return Err(format!("{marker} needs at least one argument"));
            }
            sources.push(SourceSpec {
                source: Source::Args(values.to_vec()),
                linked: if linked {
                    Link::Shortest
                } else {
                    Link::Product
                },
                skip_header: false,
            });
        }
        i = end;
    }
    if sources.first().is_some_and(|s| s.linked != Link::Product) {
        return Err("the first input source cannot be linked (+) to a previous one".to_string());
    }
    Ok((command, sources))
}

/// Reads all records of a file (or stdin for `-`).
fn read_records(path: &PathBuf, syntax: &RecordSyntax) -> io::Result<Vec<BString>> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
        )
    };
    let mut records = Vec::new();
    let mut reader = BufReader::new(reader);
    let mut ended = false;
    while let Some(record) = next_record(&mut reader, syntax, &mut ended)? {
        records.push(record);
    }
    Ok(records)
}

/// The next record, its delimiter removed; a record holding a NUL (which
/// no argument can hold) is skipped; the `-E` record ends the input
/// (`ended`, so that a -L record it cut short is the last one).
fn next_record(
    reader: &mut impl BufRead,
    syntax: &RecordSyntax,
    ended: &mut bool,
) -> io::Result<Option<BString>> {
    if *ended {
        return Ok(None);
    }
    let delimiter = syntax.delimiter;
    // -L: the records so far that ended in a blank, to go before the next.
    let mut begun: Option<Vec<u8>> = None;
    loop {
        let mut bytes = Vec::new();
        if reader.read_until(delimiter, &mut bytes)? == 0 {
            return Ok(begun.map(BString::from));
        }
        if bytes.last() == Some(&delimiter) {
            bytes.pop();
        }
        if bytes.contains(&0) {
            warn_nul_once();
            continue;
        }
        if syntax
            .eof
            .as_ref()
            .is_some_and(|eof| eof.as_slice() == bytes.as_slice())
        {
            *ended = true;
            return Ok(begun.map(BString::from));
        }
        let bytes = match begun.take() {
            Some(mut before) => {
                before.extend_from_slice(&bytes);
                before
            }
            None => bytes,
        };
        // perl's \s: space, tab, newline, vertical tab, form feed, return.
        if syntax.continued && bytes.last().is_some_and(|b| b" \t\n\x0b\x0c\r".contains(b)) {
            begun = Some(bytes);
            continue;
        }
        return Ok(Some(BString::from(bytes)));
    }
}

/// A record with a NUL byte cannot become an argument (argv strings end at
/// NUL): rather than run it cut short, it is skipped, and the run says so
/// once.
fn warn_nul_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        let _ = writeln!(
            io::stderr(),
            "pool-run: warning: skipping input records that hold a NUL byte (an argument cannot); use -0 for NUL-separated input"
        );
    }
}

/// Combines fully read sources into the jobs' value lists.
pub fn combine(sources: &[SourceSpec], syntax: &RecordSyntax) -> io::Result<Vec<Vec<BString>>> {
    // Groups of linked columns, and whether they wrap (--link); the
    // product runs over groups.
    let mut groups: Vec<(bool, Vec<Vec<BString>>)> = Vec::new();
    for spec in sources {
        let values = match &spec.source {
            // GNU parallel: -E ends a ::: list too.
            Source::Args(values) => values
                .iter()
                .take_while(|v| syntax.eof.as_ref() != Some(*v))
                .cloned()
                .collect(),
            Source::File(path) => {
                let mut records = read_records(path, syntax)?;
                if spec.skip_header && !records.is_empty() {
                    records.remove(0);
                }
                records
            }
        };
        match groups.last_mut() {
            Some((wraps, group)) if spec.linked != Link::Product => {
                *wraps |= spec.linked == Link::Wrap;
                group.push(values);
            }
            _ => groups.push((false, vec![values])),
        }
    }
    // Each group becomes rows: linked columns paired by index, as many as
    // the longest with the shorter ones repeated (--link), else as many as
    // the shortest (`:::+`).
    let rows_per_group: Vec<Vec<Vec<BString>>> = groups
        .into_iter()
        .map(|(wraps, columns)| {
            let lengths = columns.iter().map(Vec::len);
            let len = if wraps { lengths.max() } else { lengths.min() }.unwrap_or(0);
            if columns.iter().any(Vec::is_empty) {
                return Vec::new();
            }
            (0..len)
                .map(|i| columns.iter().map(|c| c[i % c.len()].clone()).collect())
                .collect()
        })
        .collect();
    let mut jobs: Vec<Vec<BString>> = vec![Vec::new()];
    for rows in rows_per_group {
        let mut next = Vec::with_capacity(jobs.len() * rows.len());
        for job in &jobs {
            for row in &rows {
                let mut values = job.clone();
                values.extend(row.iter().cloned());
                next.push(values);
            }
        }
        jobs = next;
    }
    Ok(jobs)
}

/// Stdin records read by a thread and handed over in batches, with a byte
/// on a pipe for each batch so the supervisor's poll wakes up. Memory stays
/// bounded: the thread blocks when the supervisor is this many batches behind.
#[derive(Debug)]
pub struct StdinFeed {
    pub batches: Receiver<io::Result<Chunk>>,
    pub wake: PipeReader,
}

/// What the stdin thread hands over.
#[derive(Debug)]
pub enum Chunk {
    /// Input records, for jobs' arguments.
    Records(Vec<BString>),
    /// --pipe: a block of whole records, for one job's stdin.
    Block(Bytes),
}

/// How far the stdin thread reads ahead: one batch waiting in the channel
/// and one being filled. Jobs take hundreds of microseconds each and a batch
/// is read in microseconds, so more gains nothing; 8 batches of 1024 held
/// 9,000 records (600 KiB of small allocations) in every long run.
const BATCHES_AHEAD: usize = 1;
const BATCH: usize = 256;

pub fn stream_stdin(syntax: RecordSyntax) -> io::Result<StdinFeed> {
    spawn_feed(stdin_copy()?, move |stdin, handover| {
        // Our own buffer: std's stdin hides its own, and `buffer()` tells
        // whether more input is already here.
        feed(
            BufReader::with_capacity(64 * 1024, stdin),
            handover,
            &syntax,
        )
    })
}

/// The stdin thread's side: the channel and the wake-up pipe.
pub(crate) struct Handover {
    sender: SyncSender<io::Result<Chunk>>,
    waker: PipeWriter,
}

impl Handover {
    /// Hands a chunk over and wakes the supervisor; false once nobody
    /// takes chunks any more (the run ended).
    pub(crate) fn send(&mut self, chunk: Chunk) -> bool {
        let sent = match self.sender.try_send(Ok(chunk)) {
            Ok(()) => true,
            Err(TrySendError::Full(chunk)) => self.sender.send(chunk).is_ok(),
            Err(TrySendError::Disconnected(_)) => false,
        };
        if sent {
            let _ = self.waker.write_all(b".");
        }
        sent
    }
}

/// Starts the stdin thread: `body` reads stdin and hands chunks over; an
/// error it returns is handed over last. Dropping the sender and the waker
/// at the end says: no more input.
pub(crate) fn spawn_feed(
    input: std::fs::File,
    body: impl FnOnce(std::fs::File, &mut Handover) -> io::Result<()> + Send + 'static,
) -> io::Result<StdinFeed> {
    let (sender, batches) = sync_channel(BATCHES_AHEAD);
    let (wake, waker) = pipe()?;
    common::ipc::set_nonblocking(&wake, true)?;
    let mut handover = Handover { sender, waker };
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            if let Err(err) = body(input, &mut handover) {
                let _ = handover.sender.send(Err(err));
                let _ = handover.waker.write_all(b"!");
            }
        })?;
    Ok(StdinFeed { batches, wake })
}

/// A copy of descriptor 0, for the stdin thread to own.
pub(crate) fn stdin_copy() -> io::Result<std::fs::File> {
    use std::os::fd::AsFd;
    Ok(std::fs::File::from(
        io::stdin().as_fd().try_clone_to_owned()?,
    ))
}

fn feed(
    mut reader: BufReader<std::fs::File>,
    handover: &mut Handover,
    syntax: &RecordSyntax,
) -> io::Result<()> {
    let mut batch = Vec::new();
    let mut ended = false;
    loop {
        let record = next_record(&mut reader, syntax, &mut ended)?;
        let done = record.is_none();
        batch.extend(record);
        // Hand over when nothing more is buffered (so a slow producer's
        // lines start jobs at once), when the batch is full, or at the end.
        if done || batch.len() >= BATCH || reader.buffer().is_empty() {
            if !batch.is_empty() && !handover.send(Chunk::Records(std::mem::take(&mut batch))) {
                return Ok(());
            }
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_sources_default(words: &[BString]) -> Result<(Vec<BString>, Vec<SourceSpec>), String> {
        split_sources(words, &Separators::default())
    }

    fn nul() -> RecordSyntax {
        RecordSyntax {
            delimiter: 0,
            eof: None,
            continued: false,
        }
    }

    #[test]
    fn other_separators_and_an_eof_record() {
        let seps = Separators {
            args: BString::from("--"),
            files: BString::from("++"),
        };
        let (command, sources) =
            split_sources(&words(&["echo", "--", "a", "--+", "b"]), &seps).unwrap();
        assert_eq!(command, ["echo"]);
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[1].linked, Link::Shortest);
        let mut syntax = RecordSyntax {
            delimiter: b',',
            eof: Some(BString::from("STOP")),
            continued: false,
        };
        let records = |syntax: &RecordSyntax, text: &[u8]| {
            let mut reader = io::Cursor::new(text.to_vec());
            let mut got = Vec::new();
            let mut ended = false;
            while let Some(r) = next_record(&mut reader, syntax, &mut ended).unwrap() {
                got.push(r);
            }
            got
        };
        assert_eq!(records(&syntax, b"a,b,STOP,c,"), ["a", "b"]);
        // -L: xargs' continuation, as GNU parallel reads it.
        syntax.continued = true;
        assert_eq!(
            records(&syntax, b"a ,b\t,c,d,e ,STOP,f"),
            ["a b\tc", "d", "e "]
        );
    }

    fn words(list: &[&str]) -> Vec<BString> {
        list.iter().map(|s| BString::from(*s)).collect()
    }

    #[test]
    fn sources_split_at_markers() {
        let (command, sources) =
            split_sources_default(&words(&["echo", "{}", ":::", "a", "b", ":::+", "1", "2"]))
                .unwrap();
        assert_eq!(command, ["echo", "{}"]);
        assert_eq!(sources.len(), 2);
        assert_eq!(
            sources[0],
            SourceSpec {
                source: Source::Args(words(&["a", "b"])),
                linked: Link::Product,
                skip_header: false,
            }
        );
        assert_eq!(sources[1].linked, Link::Shortest);
        assert!(split_sources_default(&words(&["echo", ":::"])).is_err());
        assert!(split_sources_default(&words(&["echo", ":::+", "a"])).is_err());
    }

    #[test]
    fn cartesian_product_first_source_outermost() {
        let (_, sources) =
            split_sources_default(&words(&["x", ":::", "a", "b", ":::", "1", "2"])).unwrap();
        let jobs = combine(&sources, &RecordSyntax::default()).unwrap();
        assert_eq!(
            jobs,
            [
                words(&["a", "1"]),
                words(&["a", "2"]),
                words(&["b", "1"]),
                words(&["b", "2"])
            ]
        );
    }

    #[test]
    fn linked_sources_pair_by_position() {
        let (_, sources) =
            split_sources_default(&words(&["x", ":::", "a", "b", "c", ":::+", "1", "2", "3"]))
                .unwrap();
        let jobs = combine(&sources, &RecordSyntax::default()).unwrap();
        assert_eq!(
            jobs,
            [words(&["a", "1"]), words(&["b", "2"]), words(&["c", "3"])]
        );
    }

    #[test]
    fn plus_linked_sources_stop_at_the_shortest_and_link_wraps() {
        // GNU parallel 20221122: `echo ::: a b c :::+ 1 2` runs 2 jobs,
        // `--link echo ::: a b c ::: 1 2` runs 3 (1 again with c).
        let (_, mut sources) =
            split_sources_default(&words(&["x", ":::", "a", "b", "c", ":::+", "1", "2"])).unwrap();
        let jobs = combine(&sources, &RecordSyntax::default()).unwrap();
        assert_eq!(jobs, [words(&["a", "1"]), words(&["b", "2"])]);
        sources[1].linked = Link::Wrap;
        let jobs = combine(&sources, &RecordSyntax::default()).unwrap();
        assert_eq!(
            jobs,
            [words(&["a", "1"]), words(&["b", "2"]), words(&["c", "1"])]
        );
    }

    #[test]
    fn records_split_on_the_delimiter() {
        assert_eq!(all_records(b"a b\nc\n\nd"), ["a b", "c", "", "d"]);
        let mut reader = io::Cursor::new(b"x\ny\0z\0".to_vec());
        let first = next_record(&mut reader, &nul(), &mut false).unwrap();
        assert_eq!(first.unwrap(), "x\ny");
    }

    #[test]
    fn records_keep_their_bytes_and_skip_a_nul() {
        assert_eq!(
            all_records(b"a\xff\xfeb\nbad\0x\nc\n"),
            [BString::from(&b"a\xff\xfeb"[..]), BString::from("c")]
        );
    }

    fn all_records(text: &[u8]) -> Vec<BString> {
        let mut reader = io::Cursor::new(text.to_vec());
        let (mut got, mut ended) = (Vec::new(), false);
        while let Some(r) = next_record(&mut reader, &RecordSyntax::default(), &mut ended).unwrap()
        {
            got.push(r);
        }
        got
    }
}
