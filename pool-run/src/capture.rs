//! A job's captured stdout or stderr: in memory up to a bound, then in an
//! anonymous temporary file (O_TMPFILE: it has no name and disappears when
//! closed, so it is cleaned up on every exit path, SIGKILL included). So
//! memory stays bounded whatever a job prints and however long `-k` keeps
//! finished outputs waiting for a slow early job. Out of descriptors for
//! the file, it keeps the bytes in memory: never lost.
//!
//! `--compress`: what spills goes through the compress program into the
//! file, and comes back through the decompress program (into a plain
//! temporary file) when it is first read, to be printed. Output that fits
//! in memory never runs either program.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::rc::Rc;

/// Bytes kept in memory per stream before spilling to disk.
pub const MEMORY_LIMIT: usize = 256 * 1024;

#[derive(Debug, Default)]
pub struct Capture {
    memory: Vec<u8>,
    spill: Option<File>,
    len: u64,
    /// --compress: the programs a spill goes through.
    compression: Option<Rc<Compression>>,
    /// --compress: the spill, on its way through the compress program.
    compressing: Option<Compressing>,
}

/// --compress's two shell commands: stdin to stdout each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    pub compress: String,
    pub decompress: String,
}

impl Compression {
    /// GNU parallel's choice without --compress-program: the first of its
    /// programs on PATH, fastest first, run as `P -c -1` and `P -dc`;
    /// `cat` when none is.
    pub fn found_on_path() -> Compression {
        Compression::found_in(&std::env::var_os("PATH").unwrap_or_default())
    }

    /// The same choice in the directories of `path` (a PATH value).
    fn found_in(path: &std::ffi::OsStr) -> Compression {
        const PROGRAMS: &[&str] = &[
            "pzstd", "lbzip2", "pbzip2", "zstd", "pixz", "lz4", "pigz", "lzop", "plzip", "lzip",
            "gzip", "lrz", "pxz", "bzip2", "lzma", "xz", "clzip",
        ];
        let found = PROGRAMS.iter().find(|program| {
            std::env::split_paths(path)
                .any(|dir| crate::backend::local::is_executable(&dir.join(program)))
        });
        match found {
            Some(program) => Compression {
                compress: format!("{program} -c -1"),
                decompress: format!("{program} -dc"),
            },
            None => Compression {
                compress: "cat".into(),
                decompress: "cat".into(),
            },
        }
    }
}

/// How a kept file (--files, --results) gets a job's output: plain, or
/// through the --compress program, as GNU parallel leaves them.
pub fn write_kept(
    capture: &mut Capture,
    file: File,
    compression: Option<&Compression>,
) -> io::Result<()> {
    let Some(compression) = compression else {
        let mut file = file;
        return capture.write_to(&mut file, None);
    };
    let mut child = Command::new("sh")
        .args(["-c", &compression.compress])
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .map_err(|e| program_failed("--compress-program", &compression.compress, e))?;
    let written = match child.stdin.take() {
        Some(mut stdin) => capture.for_each_chunk(|chunk| stdin.write_all(chunk)),
        None => Err(io::Error::other("the --compress-program has no stdin")),
    };
    let status = child.wait()?;
    written.map_err(|e| program_failed("--compress-program", &compression.compress, e))?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "--compress-program `{}` failed ({status})",
            compression.compress
        )));
    }
    Ok(())
}

/// A spill being written through the compress program into `file`.
#[derive(Debug)]
struct Compressing {
    child: Child,
    stdin: ChildStdin,
    file: File,
    compression: Rc<Compression>,
}

impl Capture {
    pub fn new() -> Capture {
        Capture::default()
    }

    /// A capture whose spill goes through `compression`'s programs.
    pub fn compressed(compression: Option<Rc<Compression>>) -> Capture {
        Capture {
            compression,
            ..Capture::default()
        }
    }

    /// A capture holding `bytes` (for messages pool-run writes itself).
    pub fn from_bytes(bytes: Vec<u8>) -> Capture {
        Capture {
            len: bytes.len() as u64,
            memory: bytes,
            ..Capture::default()
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Descriptors it holds open: 1 once spilled to a file, 2 while the
    /// spill is being compressed (the file and the program's stdin).
    pub fn files(&self) -> usize {
        usize::from(self.spill.is_some()) + 2 * usize::from(self.compressing.is_some())
    }

    pub fn push(&mut self, data: &[u8]) -> io::Result<()> {
        self.len += data.len() as u64;
        if let Some(compressing) = self.compressing.as_mut() {
            return compressing.write_all(data);
        }
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
        if let Some(compression) = self.compression.as_ref() {
            let mut child = Command::new("sh")
                .args(["-c", &compression.compress])
                .stdin(Stdio::piped())
                .stdout(file.try_clone()?)
                .spawn()
                .map_err(|e| program_failed("--compress-program", &compression.compress, e))?;
            let Some(stdin) = child.stdin.take() else {
                return Err(io::Error::other("the --compress-program has no stdin"));
            };
            let mut compressing = Compressing {
                child,
                stdin,
                file,
                compression: Rc::clone(compression),
            };
            compressing.write_all(&self.memory)?;
            compressing.write_all(data)?;
            self.memory = Vec::new();
            self.compressing = Some(compressing);
            return Ok(());
        }
        file.write_all(&self.memory)?;
        file.write_all(data)?;
        self.memory = Vec::new();
        self.spill = Some(file);
        Ok(())
    }

    /// --compress: the compressed spill, once complete, decompressed into a
    /// plain spill file, so it reads like any other. Checked by its length:
    /// a program that failed or lost bytes is an error, never a short
    /// output printed as if whole.
    fn settle(&mut self) -> io::Result<()> {
        let Some(Compressing {
            mut child,
            stdin,
            file,
            compression,
        }) = self.compressing.take()
        else {
            return Ok(());
        };
        drop(stdin);
        // The poll loop may have reaped it already (it reaps any child).
        let _ = child.wait();
        let mut compressed = file;
        compressed.seek(SeekFrom::Start(0))?;
        let mut plain = tempfile::tempfile()?;
        let status = Command::new("sh")
            .args(["-c", &compression.decompress])
            .stdin(compressed)
            .stdout(plain.try_clone()?)
            .status()
            .map_err(|e| program_failed("--decompress-program", &compression.decompress, e))?;
        let got = plain.seek(SeekFrom::End(0))?;
        if !status.success() || got != self.len {
            return Err(io::Error::other(format!(
                "--compress-program `{}` / --decompress-program `{}` gave back {got} of {} bytes ({status})",
                compression.compress, compression.decompress, self.len
            )));
        }
        self.spill = Some(plain);
        Ok(())
    }

    /// Up to `n` first bytes.
    pub fn head(&mut self, n: usize) -> io::Result<Vec<u8>> {
        self.settle()?;
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
        self.settle()?;
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
        self.settle()?;
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
        self.settle()?;
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
                let (text, whole) = match piece.strip_suffix(b"\n") {
                    Some(line) => (line, true),
                    None => (piece, false),
                };
                // A carriage return starts the line over on a terminal:
                // the colour and tag start over after it, as in GNU parallel.
                for (i, part) in text.split(|&b| b == b'\r').enumerate() {
                    if i > 0 {
                        out.write_all(end)?;
                        out.write_all(b"\r")?;
                        out.write_all(start)?;
                        if let Some(tag) = tag {
                            out.write_all(tag)?;
                            out.write_all(b"\t")?;
                        }
                    }
                    out.write_all(part)?;
                }
                if whole {
                    out.write_all(end)?;
                    out.write_all(b"\n")?;
                }
                at_line_start = whole;
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

impl Compressing {
    /// Into the compress program. Its failure is named, and is never a
    /// broken pipe (which would read as pool-run's own stdout closed).
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.stdin.write_all(data).map_err(|e| {
            io::Error::other(format!(
                "--compress-program `{}`: {e}",
                self.compression.compress
            ))
        })
    }
}

/// A --compress program that could not start, named.
fn program_failed(flag: &str, command: &str, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{flag} `{command}`: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_takes_gnu_parallels_fastest_program_found() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let install = |dir: &tempfile::TempDir, name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, "").unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        };
        let path = std::env::join_paths(dirs.iter().map(|d| d.path())).unwrap();
        assert_eq!(Compression::found_in(&path).compress, "cat", "none: cat");
        install(&dirs[1], "gzip");
        std::fs::write(dirs[0].path().join("zstd"), "").unwrap();
        let found = Compression::found_in(&path);
        assert_eq!(found.compress, "gzip -c -1", "zstd is not executable");
        assert_eq!(found.decompress, "gzip -dc");
        install(&dirs[0], "lz4");
        assert_eq!(
            Compression::found_in(&path).compress,
            "lz4 -c -1",
            "lz4 before gzip"
        );
    }

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
