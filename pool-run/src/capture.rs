//! A job's captured stdout or stderr: in memory up to a bound, then in an
//! anonymous temporary file (O_TMPFILE: it has no name and disappears when
//! closed, so it is cleaned up on every exit path, SIGKILL included). So
//! memory stays bounded whatever a job prints and however long `-k` keeps
//! finished outputs waiting for a slow early job. Out of descriptors for
//! the file, it keeps the bytes in memory: never lost.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Bytes kept in memory per stream before spilling to disk.
pub const MEMORY_LIMIT: usize = 256 * 1024;

#[derive(Debug, Default)]
pub struct Capture {
    memory: Vec<u8>,
    spill: Option<File>,
    len: u64,
}

impl Capture {
    pub fn new() -> Capture {
        Capture::default()
    }

    /// A capture holding `bytes` (for messages pool-run writes itself).
    pub fn from_bytes(bytes: Vec<u8>) -> Capture {
        Capture {
            len: bytes.len() as u64,
            memory: bytes,
            spill: None,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Descriptors it holds open: 1 once spilled to a file.
    pub fn files(&self) -> usize {
        usize::from(self.spill.is_some())
    }

    pub fn push(&mut self, data: &[u8]) -> io::Result<()> {
        self.len += data.len() as u64;
        if let Some(file) = self.spill.as_mut() {
            return file.write_all(data);
        }
        if self.memory.len() + data.len() <= MEMORY_LIMIT {
            self.memory.extend_from_slice(data);
            return Ok(());
        }
        let mut file = match tempfile::tempfile() {
            Ok(file) => file,
            // Out of descriptors for the spill file: keep the bytes in
            // memory rather than lose them (the gate holds back new jobs).
            Err(err) if matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                self.memory.extend_from_slice(data);
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        file.write_all(&self.memory)?;
        file.write_all(data)?;
        self.memory = Vec::new();
        self.spill = Some(file);
        Ok(())
    }

    /// Up to `n` first bytes.
    pub fn head(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let n = n.min(usize::try_from(self.len).unwrap_or(usize::MAX));
        let mut head = vec![0u8; n];
        match self.spill.as_mut() {
            None => head.copy_from_slice(&self.memory[..n]),
            Some(file) => {
                file.seek(SeekFrom::Start(0))?;
                file.read_exact(&mut head)?;
                file.seek(SeekFrom::End(0))?;
            }
        }
        Ok(head)
    }

    /// Removes `prefix` from the start if the capture begins with it; true
    /// if it did. (A remote job's start marker on stderr.)
    pub fn strip_prefix(&mut self, prefix: &[u8]) -> io::Result<bool> {
        if self.len < prefix.len() as u64 || prefix.is_empty() {
            return Ok(false);
        }
        let mut head = vec![0u8; prefix.len()];
        match self.spill.as_mut() {
            None => head.copy_from_slice(&self.memory[..prefix.len()]),
            Some(file) => {
                file.seek(SeekFrom::Start(0))?;
                file.read_exact(&mut head)?;
            }
        }
        if head != prefix {
            return Ok(false);
        }
        let rest = match self.spill.take() {
            None => self.memory.split_off(prefix.len()),
            Some(mut file) => {
                // Rare (a marker in front of more than 256 KiB of stderr):
                // copy the rest into a new capture.
                file.seek(SeekFrom::Start(prefix.len() as u64))?;
                let mut rest = Capture::new();
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    let n = file.read(&mut chunk)?;
                    if n == 0 {
                        break;
                    }
                    rest.push(&chunk[..n])?;
                }
                *self = rest;
                return Ok(true);
            }
        };
        *self = Capture::from_bytes(rest);
        Ok(true)
    }

    /// Removes `suffix` from the end if the capture ends with it; true if
    /// it did. (A remote job's end marker.)
    pub fn strip_suffix(&mut self, suffix: &[u8]) -> io::Result<bool> {
        let n = suffix.len() as u64;
        if self.len < n || suffix.is_empty() {
            return Ok(false);
        }
        let mut tail = vec![0u8; suffix.len()];
        match self.spill.as_mut() {
            None => tail.copy_from_slice(&self.memory[self.memory.len() - suffix.len()..]),
            Some(file) => {
                file.seek(SeekFrom::Start(self.len - n))?;
                file.read_exact(&mut tail)?;
            }
        }
        if tail != suffix {
            return Ok(false);
        }
        self.len -= n;
        match self.spill.as_mut() {
            None => self.memory.truncate(self.memory.len() - suffix.len()),
            Some(file) => {
                file.set_len(self.len)?;
                file.seek(SeekFrom::End(0))?;
            }
        }
        Ok(true)
    }

    /// Everything captured, in order, in chunks.
    pub fn for_each_chunk(
        &mut self,
        mut each: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        match self.spill.as_mut() {
            None => {
                if !self.memory.is_empty() {
                    each(&self.memory)?;
                }
                Ok(())
            }
            Some(file) => {
                file.seek(SeekFrom::Start(0))?;
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    let n = file.read(&mut chunk)?;
                    if n == 0 {
                        return Ok(());
                    }
                    each(&chunk[..n])?;
                }
            }
        }
    }

    /// The whole capture in memory (for --json).
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut all = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.for_each_chunk(|chunk| {
            all.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(all)
    }

    /// Writes the capture to `out`, each line between `color`'s start and
    /// end (the tag inside), as GNU parallel's --color-failed draws a
    /// failed job's lines; an unterminated last line gets its newline.
    pub fn write_colored_to(
        &mut self,
        out: &mut (impl Write + ?Sized),
        tag: Option<&[u8]>,
        (start, end): (&[u8], &[u8]),
    ) -> io::Result<()> {
        let mut at_line_start = true;
        self.for_each_chunk(|chunk| {
            for piece in chunk.split_inclusive(|&b| b == b'\n') {
                if at_line_start {
                    out.write_all(start)?;
                    if let Some(tag) = tag {
                        out.write_all(tag)?;
                        out.write_all(b"\t")?;
                    }
                }
                match piece.strip_suffix(b"\n") {
                    Some(line) => {
                        out.write_all(line)?;
                        out.write_all(end)?;
                        out.write_all(b"\n")?;
                        at_line_start = true;
                    }
                    None => {
                        out.write_all(piece)?;
                        at_line_start = false;
                    }
                }
            }
            Ok(())
        })?;
        if !at_line_start {
            // GNU parallel ends a coloured last line too.
            out.write_all(end)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Writes the capture to `out`, each line prefixed with `tag` + TAB when
    /// given.
    pub fn write_to(
        &mut self,
        out: &mut (impl Write + ?Sized),
        tag: Option<&[u8]>,
    ) -> io::Result<()> {
        let mut at_line_start = true;
        self.for_each_chunk(|chunk| match tag {
            None => out.write_all(chunk),
            Some(tag) => {
                for piece in chunk.split_inclusive(|&b| b == b'\n') {
                    if at_line_start {
                        out.write_all(tag)?;
                        out.write_all(b"\t")?;
                    }
                    out.write_all(piece)?;
                    at_line_start = piece.ends_with(b"\n");
                }
                Ok(())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_stays_in_memory_large_spills_and_reads_back_whole() {
        let mut small = Capture::new();
        small.push(b"hello\n").unwrap();
        assert!(small.spill.is_none());
        let mut out = Vec::new();
        small.write_to(&mut out, None).unwrap();
        assert_eq!(out, b"hello\n");

        let mut large = Capture::new();
        let block: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        for _ in 0..10 {
            large.push(&block).unwrap();
        }
        assert!(large.spill.is_some(), "a megabyte goes to disk");
        assert!(large.memory.is_empty());
        assert_eq!(large.len(), 1_000_000);
        let all = large.read_all().unwrap();
        assert_eq!(all.len(), 1_000_000);
        assert!(all.chunks(100_000).all(|c| c == block.as_slice()));
    }

    #[test]
    fn markers_strip_from_either_end_in_memory_and_on_disk() {
        let mut small = Capture::from_bytes(b"<S>body<E>".to_vec());
        assert!(!small.strip_prefix(b"<E>").unwrap());
        assert!(small.strip_prefix(b"<S>").unwrap());
        assert!(small.strip_suffix(b"<E>").unwrap());
        assert!(!small.strip_suffix(b"<E>").unwrap());
        assert_eq!(small.read_all().unwrap(), b"body");
        assert_eq!(small.len(), 4);

        let mut large = Capture::new();
        large.push(b"<S>").unwrap();
        large.push(&vec![b'x'; MEMORY_LIMIT + 10]).unwrap();
        large.push(b"<E>").unwrap();
        assert!(large.spill.is_some());
        assert!(large.strip_suffix(b"<E>").unwrap());
        assert!(large.strip_prefix(b"<S>").unwrap());
        let all = large.read_all().unwrap();
        assert_eq!(all.len(), MEMORY_LIMIT + 10);
        assert!(all.iter().all(|&b| b == b'x'));
        large.push(b"y").unwrap();
        assert_eq!(large.read_all().unwrap().last(), Some(&b'y'));
    }

    #[test]
    fn tags_go_at_every_line_start_across_chunks() {
        let mut capture = Capture::new();
        capture.push(b"a\nb").unwrap();
        capture.push(b"c\nd").unwrap();
        let mut out = Vec::new();
        capture.write_to(&mut out, Some(b"x")).unwrap();
        let mut colored = Vec::new();
        let mut again = Capture::from_bytes(b"a\nb".to_vec());
        again
            .write_colored_to(&mut colored, Some(b"t"), (b"<", b">"))
            .unwrap();
        assert_eq!(colored, b"<t\ta>\n<t\tb>\n");
        assert_eq!(out, b"x\ta\nx\tbc\nx\td");
    }
}
