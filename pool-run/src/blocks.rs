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
//! A boundary is where `--recend` is directly followed by `--recstart`; the
//! cut falls between the two. Either may be empty.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};

use bstr::ByteSlice;

/// What one job reads on stdin.
#[derive(Debug, Clone)]
pub enum Block {
    /// `--pipe`: bytes read from pool-run's stdin.
    Bytes(Rc<Bytes>),
    /// `--pipepart`: a byte range of a file, moved to the job by the kernel.
    Range {
        file: Rc<File>,
        start: u64,
        len: u64,
    },
}

impl PartialEq for Block {
    fn eq(&self, other: &Block) -> bool {
        match (self, other) {
            (Block::Bytes(a), Block::Bytes(b)) => a.data == b.data,
            (
                Block::Range { file, start, len },
                Block::Range {
                    file: f,
                    start: s,
                    len: l,
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
            Block::Range { len, .. } => *len,
        }
    }

    /// Writes the whole block to `out` (a file that carries it elsewhere).
    pub fn write_all_to(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Block::Bytes(bytes) => out.write_all(&bytes.data),
            Block::Range { file, start, len } => {
                let mut chunk = vec![0u8; 256 * 1024];
                let mut done = 0;
                while done < *len {
                    let want = chunk.len().min((len - done) as usize);
                    let n = file.read_at(&mut chunk[..want], start + done)?;
                    if n == 0 {
                        return Err(file_shrank());
                    }
                    out.write_all(&chunk[..n])?;
                    done += n as u64;
                }
                Ok(())
            }
        }
    }
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

/// Where one record ends and the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    pub recend: Vec<u8>,
    pub recstart: Vec<u8>,
}

impl Boundary {
    /// GNU parallel's defaults: only --recstart given means no record end;
    /// neither means a newline ends each record.
    pub fn of(recend: Option<Vec<u8>>, recstart: Option<Vec<u8>>) -> Boundary {
        match (recend, recstart) {
            (recend, Some(recstart)) => Boundary {
                recend: recend.unwrap_or_default(),
                recstart,
            },
            (recend, None) => Boundary {
                recend: recend.unwrap_or_else(|| b"\n".to_vec()),
                recstart: Vec::new(),
            },
        }
    }

    fn pattern(&self) -> Vec<u8> {
        [self.recend.as_slice(), self.recstart.as_slice()].concat()
    }
}

/// Finds boundaries in a buffer, as GNU parallel's `rindex`/`index` calls.
#[derive(Debug, Clone)]
pub struct Finder {
    pattern: Vec<u8>,
    recend_len: usize,
}

impl Finder {
    pub fn new(boundary: &Boundary) -> Finder {
        Finder {
            pattern: boundary.pattern(),
            recend_len: boundary.recend.len(),
        }
    }

    /// The cut after the last boundary in `buf`; None if there is none, or
    /// only one that would cut nothing off.
    pub fn last_cut(&self, buf: &[u8]) -> Option<usize> {
        let at = if self.pattern.is_empty() {
            buf.len()
        } else {
            buf.rfind(&self.pattern)?
        };
        Some(at + self.recend_len).filter(|&cut| cut > 0)
    }

    /// The cut after the `n`th boundary in `buf`, counting from offset 1
    /// (GNU's `nindex`: a boundary at the very start is no record).
    pub fn nth_cut(&self, buf: &[u8], n: usize) -> Option<usize> {
        if self.pattern.is_empty() {
            return None;
        }
        let mut at = 0;
        for _ in 0..n {
            let from = at + 1;
            at = from + buf.get(from..)?.find(&self.pattern)?;
        }
        Some(at + self.recend_len)
    }

    /// How many boundaries `buf` holds, counted as `nth_cut` counts them.
    pub fn count(&self, buf: &[u8]) -> usize {
        if self.pattern.is_empty() {
            return 0;
        }
        let mut n = 0;
        let mut at = 0;
        while let Some(found) = buf.get(at + 1..).and_then(|rest| rest.find(&self.pattern)) {
            at += 1 + found;
            n += 1;
        }
        n
    }

    /// The cut after the first boundary that starts at or after `from`.
    pub fn first_cut(&self, buf: &[u8], from: usize) -> Option<usize> {
        let at = from + buf.get(from..)?.find(&self.pattern)?;
        Some(at + self.recend_len)
    }

    /// How many bytes a boundary spans (a search window must overlap by
    /// one less).
    pub fn span(&self) -> usize {
        self.pattern.len()
    }
}

/// --rrs: takes the separators out of a block, as GNU parallel does: every
/// recend+recstart between two records, a recstart at its start and a
/// recend at its end.
pub fn remove_separators(data: &mut Vec<u8>, boundary: &Boundary) {
    let between = boundary.pattern();
    if !between.is_empty() {
        let mut kept = Vec::with_capacity(data.len());
        let mut rest = data.as_slice();
        while let Some(at) = rest.find(&between) {
            kept.extend_from_slice(&rest[..at]);
            rest = &rest[at + between.len()..];
        }
        kept.extend_from_slice(rest);
        data.clear();
        data.extend_from_slice(&kept);
    }
    if !boundary.recstart.is_empty() && data.starts_with(&boundary.recstart) {
        data.drain(..boundary.recstart.len());
    }
    if !boundary.recend.is_empty() && data.ends_with(&boundary.recend) {
        data.truncate(data.len() - boundary.recend.len());
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
}

impl PipeCutter {
    pub fn new(boundary: &Boundary, size: usize, records: Option<usize>) -> PipeCutter {
        PipeCutter {
            finder: Finder::new(boundary),
            size: size.max(1),
            records,
            lines: 1,
        }
    }

    /// -L N with --pipe: a record is N lines (N boundaries).
    pub fn with_lines(mut self, lines: usize) -> PipeCutter {
        self.lines = lines.max(1);
        self
    }

    /// The cut after the last whole record in `buf`.
    fn last_cut(&self, buf: &[u8]) -> Option<usize> {
        if self.lines == 1 {
            return self.finder.last_cut(buf);
        }
        let whole = self.finder.count(buf) / self.lines * self.lines;
        (whole > 0).then(|| self.finder.nth_cut(buf, whole))?
    }

    /// How long the buffer should be before the next cut: up to the next
    /// multiple of the block size.
    pub fn fill_to(&self, len: usize) -> usize {
        (len / self.size + 1) * self.size
    }

    /// The blocks to cut from a full buffer, or the last one read
    /// (`at_end`), as end offsets in order. At the end of input GNU cuts
    /// -N blocks still, and leaves a --block buffer whole.
    pub fn cuts(&self, buf: &[u8], at_end: bool) -> Vec<usize> {
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
    /// where waiting for more records is normal).
    pub fn grow(&mut self) -> Option<String> {
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
}

impl Parts {
    pub fn new(file: File, boundary: &Boundary, block: usize) -> io::Result<Parts> {
        let size = file.metadata()?.len();
        Ok(Parts {
            file: Rc::new(file),
            finder: Finder::new(boundary),
            size,
            block: block.max(1) as u64,
            next: 0,
        })
    }

    pub fn is_done(&self) -> bool {
        self.next >= self.size
    }

    /// The next range, or None after the last.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        if self.is_done() {
            return Ok(None);
        }
        let start = self.next;
        let end = match self.cut_from(start + self.block)? {
            Some(cut) => cut.min(self.size),
            None => self.size,
        };
        self.next = end;
        Ok(Some(Block::Range {
            file: Rc::clone(&self.file),
            start,
            len: end - start,
        }))
    }

    /// The cut after the first boundary at or past `from` (GNU reads on in
    /// 128 KiB windows), or None when no boundary follows.
    fn cut_from(&self, from: u64) -> io::Result<Option<u64>> {
        if from >= self.size {
            return Ok(None);
        }
        let span = self.finder.span();
        if span == 0 {
            return Ok(Some(from));
        }
        // `buf` holds the bytes from `base` on not searched yet, and the
        // end of the last window (a boundary may straddle two).
        let (mut base, mut buf) = (from, Vec::new());
        let mut chunk = vec![0u8; 128 * 1024];
        loop {
            let n = self.file.read_at(&mut chunk, base + buf.len() as u64)?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(cut) = self.finder.first_cut(&buf, 0) {
                return Ok(Some(base + cut as u64));
            }
            let searched = buf.len() - (span - 1).min(buf.len());
            buf.drain(..searched);
            base += searched as u64;
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
        let mut parts = Parts::new(file, boundary, block).unwrap();
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
        assert_eq!(Finder::new(&newline()).count(b"a\nb\nc"), 2);
    }

    #[test]
    fn removing_separators_is_gnu_parallels_three_substitutions() {
        let remove = |text: &str, boundary: &Boundary| {
            let mut data = text.as_bytes().to_vec();
            remove_separators(&mut data, boundary);
            String::from_utf8(data).unwrap()
        };
        assert_eq!(remove("a\nb\nc\n", &newline()), "abc");
        let five = Boundary::of(Some(b"5".to_vec()), None);
        assert_eq!(remove("1\n2\n5\n15\n", &five), "1\n2\n\n1\n");
        let both = Boundary::of(Some(b"}".to_vec()), Some(b"{".to_vec()));
        assert_eq!(remove("{a}{b}{c}", &both), "abc");
        assert_eq!(remove("{a}x{b}", &both), "a}x{b");
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
