//! `--pipe`'s input on its way to the block cutter: stdin itself or the
//! `--group-by` filter's output, the `--header` found at its start, and what
//! each cut block gets before a job reads it (--rrs, then the header). The
//! cutting rule is `blocks`; the thread and channel are `input`'s.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

use crate::blocks::{Budget, Bytes, PipeCutter};
use crate::boundary::Boundary;
use crate::config::PipeSpec;
use crate::group_by;
use crate::input::{Chunk, Handover, StdinFeed, spawn_feed, stdin_copy};

/// --pipe's input, ready to cut: stdin itself, or the --group-by filter's
/// output; and what each block gets on its way to a job.
#[derive(Debug)]
pub struct PipeInput {
    file: std::fs::File,
    header: Header,
    /// --rrs: the separators taken out of each block.
    remove: Option<Boundary>,
    filter: Option<group_by::Filter>,
}

/// --header with --pipe: the input's first lines, put before every block.
#[derive(Debug)]
enum Header {
    None,
    /// Read already (before the --group-by filter started).
    Known(Vec<u8>),
    /// To find at the start of the input.
    Find(regex::bytes::Regex),
}

impl PipeInput {
    /// Opens --pipe's input; with --group-by, reads the header line (if
    /// any) and starts the filter. Err: the one line to print.
    pub fn open(pipe: &PipeSpec) -> Result<PipeInput, String> {
        let header = match &pipe.header {
            Some(pattern) => {
                Some(header_regex(pattern).map_err(|e| format!("--header '{pattern}': {e}"))?)
            }
            None => None,
        };
        let remove = pipe.remove_separators.then(|| pipe.boundary.clone());
        let Some(group) = &pipe.group_by else {
            return Ok(PipeInput {
                file: stdin_copy().map_err(|e| format!("reading stdin: {e}"))?,
                header: header.map_or(Header::None, Header::Find),
                remove,
                filter: None,
            });
        };
        let read = if group.reads_header_line() {
            Some(group_by::read_first_line())
        } else {
            header.map(|regex| group_by::read_header_from_fd0(|h| regex.is_match(h)))
        };
        let known = read
            .transpose()
            .map_err(|e| format!("reading stdin: {e}"))?;
        let filter = group_by::start(group, known.as_deref())?;
        Ok(PipeInput {
            file: filter
                .output
                .try_clone()
                .map_err(|e| format!("--group-by: {e}"))?,
            header: known.map_or(Header::None, Header::Known),
            remove,
            filter: Some(filter),
        })
    }
}

/// GNU parallel's --header rule: `:` is one line, N is N lines, anything
/// else a regex matched at the start of the input.
pub(crate) fn header_regex(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    let lines = |n: usize| format!("(?-u)^(?:(?:.*\n){{{n}}})");
    let anchored = match pattern {
        ":" => lines(1),
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => lines(digits.parse().unwrap_or(1)),
        regex => format!("(?-u)^(?:{regex})"),
    };
    regex::bytes::Regex::new(&anchored)
        .or_else(|_| regex::bytes::Regex::new(&anchored.replacen("(?-u)", "", 1)))
}

/// --pipe: stdin cut into blocks as GNU parallel cuts them (see
/// `blocks`), each held in memory only while the budget has room.
pub fn stream_blocks(
    cutter: PipeCutter,
    budget: Arc<Budget>,
    input: PipeInput,
) -> io::Result<StdinFeed> {
    let PipeInput {
        file,
        header,
        remove,
        filter,
    } = input;
    // The blocks are read straight from the descriptor: no BufReader copy.
    spawn_feed(file, move |file, handover| {
        let mut dress = Dress {
            header: Vec::new(),
            remove,
        };
        let read = feed_pipe(file, handover, cutter, &budget, header, &mut dress);
        match filter {
            Some(filter) => {
                let whole = matches!(read, Ok(true));
                read.and(filter.finish(whole))
            }
            None => read.map(drop),
        }
    })
}

/// What each --pipe block gets on its way to a job, in GNU parallel's
/// order: the separators out (--rrs), then the header in front.
#[derive(Debug)]
struct Dress {
    header: Vec<u8>,
    remove: Option<Boundary>,
}

impl Dress {
    /// None: --rrs left nothing, and GNU parallel starts no job for an
    /// empty block (its header does not count).
    fn apply(&self, mut block: Bytes) -> Option<Chunk> {
        if let Some(boundary) = &self.remove {
            crate::boundary::remove_separators(&mut block.data, boundary);
            if block.data.is_empty() {
                return None;
            }
        }
        if !self.header.is_empty() {
            block.data.splice(0..0, self.header.iter().copied());
        }
        Some(Chunk::Block(block))
    }

    /// Hands a dressed block over; false when the run takes no more.
    fn send(&self, handover: &mut Handover, block: Bytes) -> bool {
        match self.apply(block) {
            Some(chunk) => handover.send(chunk),
            None => true,
        }
    }
}

/// Reads stdin into a buffer up to the block size's next multiple, cuts
/// what the rule says and hands each block over; bytes past the last cut
/// start the next buffer. What is left at the end of input is the last
/// block. A buffer is taken from the budget only after the block before it
/// has gone, so the reader never holds two. True: the input was read to
/// its end (false: the run stopped taking blocks first).
fn feed_pipe(
    stdin: std::fs::File,
    handover: &mut Handover,
    mut cutter: PipeCutter,
    budget: &Arc<Budget>,
    header: Header,
    dress: &mut Dress,
) -> io::Result<bool> {
    let mut stdin = Unread {
        early: Vec::new(),
        file: stdin,
    };
    // Bytes past the last cut, for the next buffer (one allocation, reused).
    let mut rest: Vec<u8> = Vec::new();
    match header {
        Header::None => {}
        Header::Known(known) => dress.header = known,
        Header::Find(regex) => {
            // GNU parallel reads until the header rule matches the start.
            loop {
                let more = read_some(&mut stdin.file, &mut rest, 4096)?;
                if let Some(found) = regex.find(&rest) {
                    dress.header = rest.drain(..found.end()).collect();
                    break;
                }
                if !more {
                    break;
                }
            }
            // What was read past the header is cut as if not read yet, as
            // GNU parallel cuts it.
            stdin.early = std::mem::take(&mut rest);
            stdin.early.reverse();
        }
    }
    loop {
        let mut buffer = budget.take(cutter.fill_to(rest.len()));
        buffer.data.extend_from_slice(&rest);
        rest.clear();
        loop {
            let target = cutter.fill_to(buffer.data.len());
            let deadline = cutter.block_timeout.map(|t| Instant::now() + t);
            let at_end = read_up_to(&mut stdin, &mut buffer.data, target, deadline)? == Read::End;
            let cuts = cutter.cuts(&buffer.data, at_end);
            let Some((&last, earlier)) = cuts.split_last() else {
                if at_end {
                    if !buffer.data.is_empty() {
                        dress.send(handover, buffer);
                    }
                    return Ok(true);
                }
                if let Some(warning) = cutter.grow() {
                    let _ = writeln!(io::stderr(), "pool-run: warning: {warning}");
                }
                continue;
            };
            // -N: several blocks in one buffer; all but the last are copied.
            let mut from = 0;
            for &cut in earlier {
                let mut block = budget.take(cut - from);
                block.data.extend_from_slice(&buffer.data[from..cut]);
                if !dress.send(handover, block) {
                    return Ok(false);
                }
                from = cut;
            }
            // The last keeps the buffer's allocation; the short rest moves.
            rest.extend_from_slice(&buffer.data[last..]);
            buffer.data.truncate(last);
            buffer.data.drain(..from);
            if !dress.send(handover, buffer) {
                return Ok(false);
            }
            if at_end {
                if !rest.is_empty() {
                    let mut block = budget.take(rest.len());
                    block.data.extend_from_slice(&rest);
                    dress.send(handover, block);
                }
                return Ok(true);
            }
            break;
        }
    }
}

/// One read(2) of up to `most` bytes onto the end of `buffer`, as GNU's
/// sysread: what has arrived, without waiting for more. False at the end.
fn read_some(stdin: &mut std::fs::File, buffer: &mut Vec<u8>, most: usize) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    buffer.reserve(most);
    loop {
        let spare = buffer.spare_capacity_mut();
        // SAFETY: read(2) writes at most `most` bytes into the spare room,
        // which is at least that long; only what it wrote is added below.
        let n = unsafe { libc::read(stdin.as_raw_fd(), spare.as_mut_ptr().cast(), most) };
        match n {
            0 => return Ok(false),
            -1 => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
            // SAFETY: the kernel initialised these n bytes.
            n => {
                unsafe { buffer.set_len(buffer.len() + n as usize) };
                return Ok(true);
            }
        }
    }
}

/// --pipe's input: bytes read early (past a --header), then the file.
#[derive(Debug)]
struct Unread {
    /// In reverse order: taken from the end.
    early: Vec<u8>,
    file: std::fs::File,
}

/// How a read for one block ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Full,
    /// The input ended.
    End,
    /// --block-timeout: the deadline passed first.
    TimedOut,
}

/// Reads into `buffer` until it holds `target` bytes, the input ends, or
/// `deadline` passes. Reads go straight into the buffer's spare room.
fn read_up_to(
    stdin: &mut Unread,
    buffer: &mut Vec<u8>,
    target: usize,
    deadline: Option<Instant>,
) -> io::Result<Read> {
    while buffer.len() < target && !stdin.early.is_empty() {
        let take = (target - buffer.len()).min(stdin.early.len());
        let from = stdin.early.len() - take;
        buffer.extend(stdin.early.drain(from..).rev());
    }
    while buffer.len() < target {
        if let Some(deadline) = deadline
            && !readable_before(&stdin.file, deadline)?
        {
            return Ok(Read::TimedOut);
        }
        let want = target - buffer.len();
        if !read_some(&mut stdin.file, buffer, want)? {
            return Ok(Read::End);
        }
    }
    Ok(Read::Full)
}

/// Whether `file` has something to read (or its end) before `deadline`.
fn readable_before(file: &std::fs::File, deadline: Instant) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // Rounded up: a deadline a few microseconds away is not "now".
        let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        // SAFETY: poll(2) on one pollfd we own, for at most `ms`.
        match unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) } {
            0 => return Ok(false),
            -1 => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
            _ => return Ok(true),
        }
    }
}
