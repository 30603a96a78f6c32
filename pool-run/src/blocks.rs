//! `--pipe` and `--pipe-part`: what a job reads on its stdin (or through
//! `--cat`'s file or `--fifo`'s named pipe), where blocks are cut, and the
//! budget that bounds the memory blocks take.
//!
//! The cuts follow GNU parallel 20221122 exactly, so `wc -l` per block gives
//! the same numbers with either tool:
//! - `--pipe` fills a buffer up to the next multiple of `--block` and cuts
//!   it at the *last* record boundary in it; a buffer without any boundary
//!   grows the block size by 1.3x + 1 (with GNU's warning) and reads on.
//!   With `-N`, each block is N records, cut at the Nth boundary.
//! - `--pipepart` cuts a file at the *first* boundary at or past each
//!   `--block` bytes after the previous cut.
//!
//! Where a boundary is (`--recend`, `--recstart`, `--regexp`) is
//! `boundary`'s.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};

use bstr::ByteSlice;

use crate::boundary::{Boundary, Finder};

/// What one job reads on stdin.
#[derive(Debug, Clone)]
pub enum Block {
    /// `--pipe`: bytes read from pool-run's stdin.
    Bytes(Rc<Bytes>),
    /// `--pipepart`: a byte range of a file, moved to the job by the kernel,
    /// after the file's `--header` (if any).
    Range {
        file: Rc<File>,
        start: u64,
        len: u64,
        head: Option<Rc<[u8]>>,
    },
}

impl PartialEq for Block {
    fn eq(&self, other: &Block) -> bool {
        match (self, other) {
            (Block::Bytes(a), Block::Bytes(b)) => a.data == b.data,
            (
                Block::Range {
                    file, start, len, ..
                },
                Block::Range {
                    file: f,
                    start: s,
                    len: l,
                    ..
                },
            ) => Rc::ptr_eq(file, f) && (start, len) == (s, l),
            _ => false,
        }
    }
}

impl Eq for Block {}

impl Block {
    pub fn len(&self) -> u64 {
        match self {
            Block::Bytes(bytes) => bytes.data.len() as u64,
            Block::Range { len, head, .. } => head.as_ref().map_or(0, |h| h.len() as u64) + len,
        }
    }

    /// What is left of the block from byte `done` on, as its next piece:
    /// bytes in memory (a --pipe block, or a range's --header) or a stretch
    /// of the --pipe-part file. None: all of it is written. One place reads
    /// a block's shape, for both the pipe feeder and `write_all_to`.
    pub fn rest_from(&self, done: u64) -> Option<Rest<'_>> {
        fn in_memory(bytes: &[u8], done: u64) -> Option<&[u8]> {
            bytes.get(done as usize..).filter(|rest| !rest.is_empty())
        }
        match self {
            Block::Bytes(bytes) => in_memory(&bytes.data, done).map(Rest::Memory),
            Block::Range {
                file,
                start,
                len,
                head,
            } => {
                let head = head.as_deref().unwrap_or_default();
                if let Some(rest) = in_memory(head, done) {
                    return Some(Rest::Memory(rest));
                }
                let done = done - head.len() as u64;
                (done < *len).then_some(Rest::File {
                    file,
                    offset: start + done,
                    len: len - done,
                })
            }
        }
    }

    /// Writes the whole block to `out` (a file that carries it elsewhere).
    pub fn write_all_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut chunk = Vec::new();
        let mut done = 0;
        while let Some(rest) = self.rest_from(done) {
            done += match rest {
                Rest::Memory(bytes) => {
                    out.write_all(bytes)?;
                    bytes.len() as u64
                }
                Rest::File { file, offset, len } => {
                    chunk.resize(256 * 1024, 0);
                    let want = len.min(chunk.len() as u64) as usize;
                    let n = file.read_at(&mut chunk[..want], offset)?;
                    if n == 0 {
                        return Err(file_shrank());
                    }
                    out.write_all(&chunk[..n])?;
                    n as u64
                }
            };
        }
        Ok(())
    }
}

/// The next piece of a block still to write (see `Block::rest_from`).
#[derive(Debug)]
pub enum Rest<'a> {
    Memory(&'a [u8]),
    File {
        file: &'a File,
        offset: u64,
        len: u64,
    },
}

/// A --pipe-part file that ended before a range it was cut into.
pub fn file_shrank() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the --pipe-part file got shorter",
    )
}

/// `--cat` and `--fifo`: where a job finds its block by name (`{}`): a
/// temporary file holding it, or a named pipe pool-run feeds it through.
/// Removed when the job is done with it (after its last retry).
#[derive(Debug)]
pub enum Named {
    File(tempfile::TempPath),
    Fifo {
        path: std::path::PathBuf,
        /// The fifo's private directory, removed with it.
        _dir: tempfile::TempDir,
    },
}

impl PartialEq for Named {
    fn eq(&self, other: &Named) -> bool {
        self.path() == other.path()
    }
}

impl Eq for Named {}

impl Named {
    /// --cat: the block, written to a new temporary file.
    pub fn file(block: &Block) -> io::Result<Named> {
        let mut file = tempfile::Builder::new().prefix("pool-run-cat").tempfile()?;
        block.write_all_to(&mut file)?;
        file.flush()?;
        Ok(Named::File(file.into_temp_path()))
    }

    /// --fifo: a new named pipe, in a directory of its own.
    pub fn fifo() -> io::Result<Named> {
        let dir = tempfile::Builder::new().prefix("pool-run-fifo").tempdir()?;
        let path = dir.path().join("block");
        nix::unistd::mkfifo(
            &path,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )?;
        Ok(Named::Fifo { path, _dir: dir })
    }

    pub fn path(&self) -> &std::path::Path {
        match self {
            Named::File(path) => path,
            Named::Fifo { path, .. } => path,
        }
    }

    pub fn is_fifo(&self) -> bool {
        matches!(self, Named::Fifo { .. })
    }
}

/// Bytes of one `--pipe` block, counted against the budget while they live.
#[derive(Debug)]
pub struct Bytes {
    pub data: Vec<u8>,
    budget: Arc<Budget>,
}

impl Drop for Bytes {
    fn drop(&mut self) {
        self.budget.give_back(std::mem::take(&mut self.data));
    }
}

/// How many `--pipe` blocks may be in memory at once: one per job slot
/// (the blocks being fed to running jobs) and one being read. The stdin
/// thread waits for a free place before it reads more: that is the
/// back-pressure which keeps pool-run's memory at (jobs + 1) x block.
///
/// Buffers are recycled, never freed: a freed 10 MB buffer would stay in
/// the allocator's heap (fragmented, still counted in RSS), and a fresh
/// mapping per block costs its page faults again.
#[derive(Debug)]
pub struct Budget {
    pool: Mutex<Pool>,
    freed: Condvar,
    limit: usize,
}

#[derive(Debug, Default)]
struct Pool {
    live: usize,
    spare: Vec<Vec<u8>>,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            limit: limit.max(1),
        })
    }

    /// An empty block with room for `capacity` bytes, once the budget has
    /// room for one more block.
    pub fn take(self: &Arc<Self>, capacity: usize) -> Bytes {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        while pool.live >= self.limit {
            pool = self.freed.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
        pool.live += 1;
        let mut data = pool.spare.pop().unwrap_or_default();
        drop(pool);
        data.reserve(capacity);
        Bytes {
            data,
            budget: Arc::clone(self),
        }
    }

    fn give_back(&self, mut data: Vec<u8>) {
        data.clear();
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        pool.live -= 1;
        pool.spare.push(data);
        self.freed.notify_one();
    }
}

/// `--pipe`'s rule for cutting stdin, step by step as GNU parallel reads.
#[derive(Debug, Clone)]
pub struct PipeCutter {
    finder: Finder,
    /// --block, grown when a record is longer than it.
    pub size: usize,
    /// -N: records per block.
    records: Option<usize>,
    /// -L with --pipe: a record is this many lines (boundaries).
    lines: usize,
    /// -N with --regexp: the bytes before the first record were looked at.
    garbage_checked: bool,
    /// --block-timeout: a buffer read this long is cut as it is.
    pub block_timeout: Option<std::time::Duration>,
}

impl PipeCutter {
    pub fn new(boundary: &Boundary, size: usize, records: Option<usize>) -> PipeCutter {
        PipeCutter {
            finder: Finder::new(boundary),
            size: size.max(1),
            records,
            lines: 1,
            garbage_checked: false,
            block_timeout: None,
        }
    }

    /// -L N with --pipe: a record is N lines (N boundaries).
    pub fn with_lines(mut self, lines: usize) -> PipeCutter {
        self.lines = lines.max(1);
        self
    }

    /// --block-timeout: read no longer than this for one block.
    pub fn with_block_timeout(mut self, timeout: Option<std::time::Duration>) -> PipeCutter {
        self.block_timeout = timeout;
        self
    }

    /// The cut after the last whole record in `buf`. GNU parallel counts
    /// -L's lines by newlines, whatever --recend says.
    fn last_cut(&self, buf: &[u8]) -> Option<usize> {
        if self.lines == 1 {
            return self.finder.last_cut(buf);
        }
        let newlines = buf.iter().filter(|&&b| b == b'\n').count();
        if newlines < self.lines {
            return None;
        }
        // The cut is after the last whole group: step back over the lines
        // of the short group after it (fewer than -L), not forward over all.
        let mut after_cut = newlines % self.lines;
        let mut end = buf.len();
        loop {
            let at = buf[..end].rfind_byte(b'\n')?;
            if after_cut == 0 {
                return Some(at + 1);
            }
            after_cut -= 1;
            end = at;
        }
    }

    /// How long the buffer should be before the next cut: up to the next
    /// multiple of the block size.
    pub fn fill_to(&self, len: usize) -> usize {
        (len / self.size + 1) * self.size
    }

    /// The blocks to cut from a full buffer, or the last one read
    /// (`at_end`), as end offsets in order. At the end of input GNU cuts
    /// -N blocks still, and leaves a --block buffer whole.
    pub fn cuts(&mut self, buf: &[u8], at_end: bool) -> Vec<usize> {
        match self.records {
            // GNU parallel: under -L a last record short of its lines is
            // a block of its own.
            None if at_end && self.lines > 1 => self
                .last_cut(buf)
                .filter(|&cut| cut < buf.len())
                .into_iter()
                .collect(),
            None if at_end => Vec::new(),
            None => self.last_cut(buf).into_iter().collect(),
            Some(n) => {
                let mut cuts = Vec::new();
                let mut from = 0;
                if !std::mem::replace(&mut self.garbage_checked, true)
                    && let Some(cut) = self.finder.garbage_cut(buf)
                {
                    cuts.push(cut);
                    from = cut;
                }
                while let Some(cut) = self.finder.nth_cut(&buf[from..], n * self.lines) {
                    if cut == 0 {
                        break;
                    }
                    from += cut;
                    cuts.push(from);
                    if from == buf.len() {
                        break;
                    }
                }
                cuts
            }
        }
    }

    /// Nothing could be cut: a record is longer than a block. GNU parallel
    /// grows the block size for the rest of the run and warns (not for -N,
    /// where waiting for more records is normal; never under
    /// --block-timeout, where a block may be short of records on purpose).
    pub fn grow(&mut self) -> Option<String> {
        if self.block_timeout.is_some() {
            return None;
        }
        let old = self.size;
        self.size = ((old as f64) * 1.3 + 1.0).ceil() as usize;
        self.records.is_none().then(|| {
            format!(
                "a record was longer than {old}: increasing --block to {} (as GNU parallel)",
                self.size
            )
        })
    }
}

/// `--pipepart`: the byte ranges of a file, found by reading a little
/// around each cut and never the rest.
#[derive(Debug)]
pub struct Parts {
    file: Rc<File>,
    finder: Finder,
    size: u64,
    block: u64,
    /// Where the next range starts; `size` once all are out.
    next: u64,
    /// The file's header, given to every job before its range.
    head: Option<Rc<[u8]>>,
    /// --group-by: the cuts, found before the first range goes out.
    group_cuts: Option<std::collections::VecDeque<u64>>,
}

/// What comes before a --pipe-part file's records: a first line dropped
/// (--skip-first-line) and a header every job gets (--header, or the
/// line of --group-by's column names).
#[derive(Debug, Default)]
pub struct Lead {
    /// Bytes before the first record.
    pub skip: u64,
    pub head: Option<Vec<u8>>,
}

impl Lead {
    /// Reads the lead of `file`, as GNU parallel: the first line if it is
    /// skipped, then the header `rule` matches at what follows (read in
    /// growing windows until it does, or the file ends), or one line.
    pub fn read(
        file: &File,
        skip_first_line: bool,
        rule: Option<&regex::bytes::Regex>,
        header_line: bool,
    ) -> io::Result<Lead> {
        let mut skip = 0;
        if skip_first_line {
            skip = line_end(file, 0)?;
        }
        let head = if header_line {
            let end = line_end(file, skip)?;
            Some(read_range(file, skip, end - skip)?)
        } else if let Some(rule) = rule {
            let mut window = 64 * 1024;
            loop {
                let bytes = read_range(file, skip, window)?;
                if let Some(found) = rule.find(&bytes) {
                    break Some(bytes[..found.end()].to_vec());
                }
                if (bytes.len() as u64) < window {
                    break None;
                }
                window *= 4;
            }
        } else {
            None
        };
        Ok(Lead { skip, head })
    }
}

/// Where the line that starts at `from` ends (past its newline), or the
/// end of the file.
fn line_end(file: &File, from: u64) -> io::Result<u64> {
    let mut at = from;
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = file.read_at(&mut chunk, at)?;
        if n == 0 {
            return Ok(at);
        }
        if let Some(i) = chunk[..n].iter().position(|&b| b == b'\n') {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
}

/// Up to `len` bytes of `file` from `at` (fewer at its end).
fn read_range(file: &File, at: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len as usize];
    let mut done = 0;
    while done < bytes.len() {
        let n = file.read_at(&mut bytes[done..], at + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    bytes.truncate(done);
    Ok(bytes)
}

impl Parts {
    pub fn new(file: File, boundary: &Boundary, block: usize, lead: Lead) -> io::Result<Parts> {
        let size = file.metadata()?.len();
        let head = lead.head.map(|h| Rc::from(h.into_boxed_slice()));
        Ok(Parts {
            file: Rc::new(file),
            finder: Finder::new(boundary),
            size,
            block: block.max(1) as u64,
            next: (lead.skip + head.as_ref().map_or(0, |h: &Rc<[u8]>| h.len() as u64)).min(size),
            head,
            group_cuts: None,
        })
    }

    pub fn is_done(&self) -> bool {
        self.next >= self.size
    }

    /// Where the first record starts (past the lead).
    pub fn start(&self) -> u64 {
        self.next
    }

    /// --group-by: cut at these offsets instead of at boundaries.
    pub fn with_cuts(mut self, cuts: Vec<u64>) -> Parts {
        self.group_cuts = Some(cuts.into_iter().filter(|&cut| cut > self.next).collect());
        self
    }

    /// The next range, or None after the last.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        if self.is_done() {
            return Ok(None);
        }
        let start = self.next;
        // A regex that finds no boundary from one place may from a later
        // one (`^` is the window's start): GNU looks again a block on.
        if let Some(cuts) = self.group_cuts.as_mut() {
            let end = cuts.pop_front().unwrap_or(self.size).min(self.size);
            self.next = end;
            return Ok(Some(Block::Range {
                file: Rc::clone(&self.file),
                start,
                len: end - start,
                head: self.head.clone(),
            }));
        }
        let mut from = start + self.block;
        let end = loop {
            match self.cut_from(from)? {
                Some(cut) => break cut.min(self.size),
                None if self.finder.overlap().is_none() && from < self.size => from += self.block,
                None => break self.size,
            }
        };
        self.next = end;
        Ok(Some(Block::Range {
            file: Rc::clone(&self.file),
            start,
            len: end - start,
            head: self.head.clone(),
        }))
    }

    /// The cut after the first boundary at or past `from` (GNU reads on in
    /// 128 KiB windows), or None when no boundary follows.
    fn cut_from(&self, from: u64) -> io::Result<Option<u64>> {
        if from >= self.size {
            return Ok(None);
        }
        if self.finder.cuts_anywhere() {
            return Ok(Some(from));
        }
        // `buf` holds the bytes from `base` on not searched yet, and the
        // end of the last window (a boundary may straddle two); a regex
        // searches all read since `from` again, as GNU's does.
        let (mut base, mut buf) = (from, Vec::new());
        let mut chunk = vec![0u8; 128 * 1024];
        loop {
            let n = self.file.read_at(&mut chunk, base + buf.len() as u64)?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(cut) = self.finder.part_cut(&buf) {
                return Ok(Some(base + cut as u64));
            }
            if let Some(overlap) = self.finder.overlap() {
                let searched = buf.len() - overlap.min(buf.len());
                buf.drain(..searched);
                base += searched as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newline() -> Boundary {
        Boundary::of(None, None)
    }

    /// The block lengths `--pipe` cuts `input` into, reading it as GNU does.
    fn pipe_blocks(input: &[u8], mut cutter: PipeCutter) -> Vec<usize> {
        let mut blocks = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut at = 0;
        loop {
            let want = cutter.fill_to(buf.len()) - buf.len();
            let take = want.min(input.len() - at);
            buf.extend_from_slice(&input[at..at + take]);
            at += take;
            let at_end = take < want;
            let cuts = cutter.cuts(&buf, at_end);
            let mut from = 0;
            for &cut in &cuts {
                blocks.push(cut - from);
                from = cut;
            }
            buf.drain(..from);
            if at_end {
                break;
            }
            if cuts.is_empty() {
                cutter.grow();
            }
        }
        if !buf.is_empty() {
            blocks.push(buf.len());
        }
        blocks
    }

    fn seq(n: u32) -> Vec<u8> {
        (1..=n)
            .map(|i| format!("{i}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn pipe_cuts_at_the_last_record_end_within_the_block_as_gnu() {
        // GNU parallel 20221122: seq 30 | parallel --pipe --block 20 wc -c
        assert_eq!(
            pipe_blocks(&seq(30), PipeCutter::new(&newline(), 20, None)),
            [18, 18, 18, 18, 9]
        );
    }

    #[test]
    fn a_record_longer_than_the_block_grows_it_as_gnu() {
        let input = [&b"a\n"[..], &[b'b'; 34], b"\nc\nd\n"].concat();
        let mut cutter = PipeCutter::new(&newline(), 10, None);
        assert_eq!(pipe_blocks(&input, cutter.clone()), [2, 37, 2]);
        let grown: Vec<usize> = (0..4)
            .map(|_| {
                cutter.grow();
                cutter.size
            })
            .collect();
        assert_eq!(grown, [14, 20, 27, 37], "GNU's warnings name these sizes");
    }

    #[test]
    fn recstart_cuts_before_each_record_start() {
        let fasta = b">a\nxx\n>b\nyy\nzz\n>c\nq\n";
        for recend in [None, Some(b"\n".to_vec()), Some(Vec::new())] {
            let boundary = Boundary::of(recend, Some(b">".to_vec()));
            assert_eq!(
                pipe_blocks(fasta, PipeCutter::new(&boundary, 8, None)),
                [6, 9, 5]
            );
        }
    }

    #[test]
    fn records_per_block_count_boundaries_from_offset_one() {
        let boundary = Boundary::of(None, Some(b">".to_vec()));
        let fasta = b">a\nxx\n>b\nyy\nzz\n>c\nq\n";
        assert_eq!(
            pipe_blocks(fasta, PipeCutter::new(&boundary, 1024 * 1024, Some(1))),
            [6, 9, 5]
        );
        let both = Boundary::of(Some(b"\n".to_vec()), Some(b">".to_vec()));
        let junk = b"junk\n>a\nxx\n>b\nyy\n>c\n";
        assert_eq!(
            pipe_blocks(junk, PipeCutter::new(&both, 7, Some(1))),
            [5, 6, 6, 3]
        );
        assert_eq!(
            pipe_blocks(&seq(10), PipeCutter::new(&newline(), 4, Some(3))),
            [6, 6, 6, 3]
        );
    }

    fn part_blocks(input: &[u8], boundary: &Boundary, block: usize) -> Vec<u64> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(input).unwrap();
        let mut parts = Parts::new(file, boundary, block, Lead::default()).unwrap();
        let mut lens = Vec::new();
        while let Some(block) = parts.next_block().unwrap() {
            lens.push(block.len());
        }
        lens
    }

    #[test]
    fn pipepart_cuts_at_the_first_boundary_past_each_block_as_gnu() {
        // GNU parallel 20221122 with --pipepart -a FILE ... wc -c
        assert_eq!(part_blocks(&seq(30), &newline(), 20), [21, 21, 21, 18]);
        let s1000 = seq(1000);
        assert_eq!(part_blocks(&s1000, &newline(), 99)[..3], [102, 102, 100]);
        assert_eq!(part_blocks(&s1000, &newline(), 98)[..3], [99, 99, 102]);
        let long = [&b"a\n"[..], &[b'b'; 34], b"\nc\nd\n"].concat();
        assert_eq!(part_blocks(&long, &newline(), 10), [37, 4]);
        let fasta = b">a\nxx\n>b\nyy\nzz\n>c\nq\n";
        let recstart = Boundary::of(None, Some(b">".to_vec()));
        assert_eq!(part_blocks(fasta, &recstart, 3), [6, 9, 5]);
        let xx = Boundary::of(Some(b"x".to_vec()), Some(b"x".to_vec()));
        assert_eq!(part_blocks(fasta, &xx, 1), [4, 16]);
    }

    #[test]
    fn a_boundary_far_past_the_block_is_found_across_windows() {
        let mut input = vec![b'a'; 1_000_000];
        input.extend_from_slice(b"\nend\n");
        assert_eq!(part_blocks(&input, &newline(), 10), [1_000_001, 4]);
        let two = Boundary::of(Some(b"\n".to_vec()), Some(b">".to_vec()));
        let mut input = vec![b'a'; 300_000];
        input.extend_from_slice(b"\n>b\n");
        assert_eq!(part_blocks(&input, &two, 5), [300_001, 3]);
    }

    #[test]
    fn lines_per_record_cut_after_the_last_whole_group_of_lines() {
        let cutter = |lines| PipeCutter::new(&newline(), 100, None).with_lines(lines);
        let buf = b"1\n2\n3\n4\n5";
        assert_eq!(cutter(2).last_cut(buf), Some(8), "two groups of 2");
        assert_eq!(cutter(3).last_cut(buf), Some(6), "one group of 3");
        assert_eq!(cutter(4).last_cut(buf), Some(8), "one group of 4");
        assert_eq!(cutter(5).last_cut(buf), None, "only 4 whole lines");
    }

    #[test]
    fn lines_per_record_cut_whole_groups_and_leave_a_short_one_alone() {
        // GNU parallel 20221122: seq 10 | parallel --pipe -L 3 [--block 10 | -N2] wc -l
        let wc = |lengths: Vec<usize>, input: &[u8]| {
            let mut from = 0;
            let mut counts = Vec::new();
            for len in lengths {
                counts.push(
                    input[from..from + len]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count(),
                );
                from += len;
            }
            counts
        };
        let input = seq(10);
        let lines = |size, records| PipeCutter::new(&newline(), size, records).with_lines(3);
        assert_eq!(
            wc(pipe_blocks(&input, lines(1 << 20, None)), &input),
            [9, 1]
        );
        assert_eq!(
            wc(pipe_blocks(&input, lines(10, None)), &input),
            [3, 3, 3, 1]
        );
        assert_eq!(
            wc(pipe_blocks(&input, lines(1 << 20, Some(2))), &input),
            [6, 4]
        );
    }

    #[test]
    fn budget_holds_back_a_block_past_its_limit() {
        let budget = Budget::new(2);
        let a = budget.take(10);
        let _b = budget.take(10);
        let (sender, taken) = std::sync::mpsc::channel();
        let waiter = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || sender.send(budget.take(10).data.capacity()))
        };
        let wait = std::time::Duration::from_millis(50);
        assert!(taken.recv_timeout(wait).is_err(), "a third block waits");
        drop(a);
        let capacity = taken.recv_timeout(std::time::Duration::from_secs(10));
        assert!(
            capacity.is_ok_and(|c| c >= 10),
            "and goes once one is freed"
        );
        waiter.join().unwrap().unwrap();
    }
}
