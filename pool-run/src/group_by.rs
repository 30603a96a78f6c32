//! `--group-by VAL`: consecutive lines with the same value become one
//! record, so a --pipe block (and a job, with -N1) never splits a group.
//! GNU parallel computes the value in perl (a column split at the --colsep
//! regex, then an optional perl expression on it) and marks each group's
//! start with a random record start that --rrs takes out again. pool-run
//! does the same through the same kind of perl filter between stdin and the
//! block cutter, so the values, the regexes and the expressions mean what
//! they mean in GNU parallel; everything after the filter is plain --pipe.
//! A line's value (`Key`) and perl's start are --shard's and --bin's too.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};

/// The parsed `--group-by` and the --colsep its columns are split at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBy {
    /// VAL as given: a column number or name, then perl code (either part
    /// may be missing).
    pub value: String,
    /// --colsep (a perl regex), `\t` when not given, as GNU parallel.
    pub colsep: String,
    /// The random record start that marks each group (the boundary's
    /// recstart, taken out of the blocks again as --rrs does).
    pub marker: String,
}

/// Where a line's value comes from (GNU's `column_perlexpr`, shared by
/// --group-by, --shard and --bin), once a column name is looked up.
#[derive(Debug, PartialEq, Eq)]
pub struct Key {
    /// 1-based column, or the whole line.
    column: Option<i64>,
    /// Perl code run with the value in `$_`; may be empty.
    code: String,
}

/// A VAL that starts like a name (GNU: `^[a-z_][a-z_0-9]*(\s|$)`) makes
/// the input's first line a header, read before the filter starts.
pub fn names_a_column(value: &str) -> bool {
    let mut chars = value.chars();
    let starts = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest: String = chars.take_while(|c| !c.is_whitespace()).collect::<String>();
    starts && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Key {
    /// VAL split into its column and its code, a column name looked up in
    /// `header` (split at `colsep`). Err: the one line to print.
    pub fn of(value: &str, colsep: &str, header: Option<&[u8]>, flag: &str) -> Result<Key, String> {
        let word_end = value.find(char::is_whitespace).unwrap_or(value.len());
        let (word, code) = value.split_at(word_end);
        let code = code.trim_start().to_string();
        if let Ok(column) = word.parse::<i64>() {
            return Ok(Key {
                column: Some(column),
                code,
            });
        }
        let is_name =
            !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name || !names_a_column(value) {
            return Ok(Key {
                column: None,
                code: value.to_string(),
            });
        }
        let header = header.unwrap_or_default();
        let header = header.strip_suffix(b"\n").unwrap_or(header);
        let splitter =
            regex::bytes::Regex::new(colsep).map_err(|e| format!("--colsep '{colsep}': {e}"))?;
        let position = splitter
            .split(header)
            .position(|name| name == word.as_bytes())
            .ok_or_else(|| format!("{flag}: column '{word}' is not in the header line"))?;
        Ok(Key {
            column: Some(position as i64 + 1),
            code,
        })
    }

    /// perl's `-a -F SEP` arguments when a column is split off, and the
    /// perl expression for the column (or `$_`, the whole line).
    pub fn perl_value(&self, colsep: &str) -> (Vec<String>, String) {
        match self.column {
            Some(column) => {
                // perlrun: -F's pattern cannot hold literal whitespace.
                let sep = colsep
                    .replace('\t', "\\t")
                    .replace('"', "\\\"")
                    .replace(' ', "\\040{1}");
                // perl numbers fields from 0; GNU parallel's -1 stays -2.
                (
                    vec!["-a".to_string(), format!("-F{sep}")],
                    format!("$F[{}]", column - 1),
                )
            }
            None => (Vec::new(), "$_".to_string()),
        }
    }

    /// The perl code run on the value in `$_` (may be empty).
    pub fn code(&self) -> &str {
        &self.code
    }
}

/// The perl program that finds --pipe-part's cuts for --group-by without
/// reading the whole file: GNU parallel's search, in our words. From each
/// cut it looks a block ahead and two blocks ahead (the line starting
/// there), and bisects to where the value there begins or ends, so no
/// group is split and a long group is passed over block by block.
/// Arguments: file, first record's offset, block size, column separator,
/// 0-based column (or ''), perl code; prints one cut per line.
const PART_CUTS: &str = r#"
no strict; no warnings;
my ($file, $start, $block, $sep, $col, $code) = @ARGV;
open(my $fh, '<', $file) or die "$file: $!
";
my $size = -s $fh;
my $value = eval "sub { $code; }" or die $@;
# The value of the first whole line at or after $pos, its start, and
# whether it is the last line.
sub line_at {
    my $pos = shift;
    if ($pos > 0) { seek($fh, $pos - 1, 0); my $rest = <$fh>; }
    else { seek($fh, 0, 0); }
    my $at = tell($fh);
    my $line = <$fh>;
    return (undef, $at, 1) unless defined $line;
    local $_ = $col eq '' ? $line : (split /$sep/, $line)[$col];
    $value->();
    return ($_, $at, eof($fh));
}
# Where the run of $v that covers $from ends, before $to.
sub run_end {
    my ($v, $from, $to) = @_;
    my ($w, $at);
    for (my $step = $to - $from; $step; $step = int($step / 2)) {
        ($w, $at) = line_at($from + $step);
        if ($w eq $v) { $from = $at; $step = $to - $from; } else { $to = $at; }
    }
    return ($w, $at);
}
# Where the run of $v that covers $to starts, after $from.
sub run_start {
    my ($v, $from, $to) = @_;
    my ($w, $at);
    for (my $step = $to - $from; $step; $step = int($step / 2)) {
        ($w, $at) = line_at($from + $step);
        if ($w eq $v) { $to = $at; } else { $from = $at; $step = $to - $from; }
    }
    return ($w, $at);
}
$| = 1;
my ($a, $apos) = line_at($start);
my $last;
while ($apos < $size) {
    print "$apos
"; $last = $apos;
    my ($b, $bpos, $end) = line_at($apos + $block);
    last if $end;
    my ($c, $cpos) = line_at($bpos + $block);
    if ($a eq $b) {
        while ($b eq $c) {
            $bpos = $cpos;
            ($c, $cpos) = line_at($cpos + $block);
            if ($cpos >= $size) { $cpos = $size; last; }
        }
        ($b, $bpos) = run_end($b, $bpos, $cpos);
    } elsif ($b eq $c) {
        ($b, $bpos) = run_start($b, $apos, $bpos);
    } else {
        ($b, $bpos) = run_end($b, $bpos, $cpos);
    }
    ($a, $apos) = ($b, $bpos);
}
print "$size
";
"#;

impl GroupBy {
    /// --pipe-part: where to cut `file` so that no group is split, from
    /// `start` (past any header) in blocks of about `block` bytes; the last
    /// cut is the file's end. Err: the one line to print.
    pub fn part_cuts(
        &self,
        file: &std::path::Path,
        start: u64,
        block: u64,
        header: Option<&[u8]>,
    ) -> Result<Vec<u64>, String> {
        let key = Key::of(&self.value, &self.colsep, header, "--group-by")?;
        let column = key.column.map_or(String::new(), |c| (c - 1).to_string());
        let args = [
            "-e".to_string(),
            PART_CUTS.to_string(),
            file.display().to_string(),
            start.to_string(),
            block.max(1).to_string(),
            self.colsep.clone(),
            column,
            key.code.clone(),
        ];
        let out = Command::new("perl")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("--group-by computes its values in perl, as GNU parallel: {e}"))?;
        if !out.status.success() {
            let message = String::from_utf8_lossy(&out.stderr);
            let first = message.lines().next().unwrap_or("perl failed");
            return Err(format!("--group-by: the perl code does not run: {first}"));
        }
        let mut cuts: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| line.parse().ok())
            .collect();
        cuts.dedup();
        Ok(cuts)
    }
}

impl GroupBy {
    /// A column name makes the input's first line a header, given to every
    /// job ahead of its block.
    pub fn reads_header_line(&self) -> bool {
        names_a_column(&self.value)
    }

    /// perl's arguments: `-a -F SEP` to split columns when there is one,
    /// and the loop that prints `marker` before each group's first line.
    fn perl_args(&self, header: Option<&[u8]>, marker: &str) -> Result<Vec<String>, String> {
        let key = Key::of(&self.value, &self.colsep, header, "--group-by")?;
        let (mut args, value) = key.perl_value(&self.colsep);
        args.push("-pe".to_string());
        args.push(format!(
            "BEGIN{{ $last = \"{marker}\"; }} {{ local $_={value}; {code}; if(($last) ne $_) {{ print \"{marker}\"; $last = $_; }} }}",
            code = key.code,
        ));
        Ok(args)
    }
}

/// A record start no input holds: 20 letters and digits at random, as GNU
/// parallel's (119 bits).
pub fn marker() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut seed = [0u8; 20];
    let from_kernel = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed));
    if from_kernel.is_err() {
        // No /dev/urandom (a chroot): the clock and the pid, mixed.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut state = nanos ^ (u64::from(std::process::id()) << 32) | 1;
        for byte in &mut seed {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
    }
    seed.iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Reads stdin's first line one byte at a time, so that the rest stays on
/// descriptor 0 for the filter.
pub fn read_first_line() -> io::Result<Vec<u8>> {
    read_header_from_fd0(|line| line.ends_with(b"\n"))
}

/// Reads descriptor 0 one byte at a time until `done` holds for what was
/// read (or the input ends).
pub fn read_header_from_fd0(mut done: impl FnMut(&[u8]) -> bool) -> io::Result<Vec<u8>> {
    let mut header = Vec::new();
    let fd = io::stdin().as_raw_fd();
    loop {
        let mut byte = 0u8;
        // SAFETY: read(2) of one byte into a local.
        let n = unsafe { libc::read(fd, (&raw mut byte).cast(), 1) };
        match n {
            0 => return Ok(header),
            1 => {
                header.push(byte);
                if done(&header) {
                    return Ok(header);
                }
            }
            _ => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}

/// The running filter: perl reads pool-run's stdin, the cutter its output.
#[derive(Debug)]
pub struct Filter {
    pub child: Child,
    pub output: std::fs::File,
}

/// Starts perl on descriptor 0. Err: the one line to print.
pub fn start(group: &GroupBy, header: Option<&[u8]>) -> Result<Filter, String> {
    let args = group.perl_args(header, &group.marker)?;
    let mut child = spawn_perl(&args, "--group-by", Stdio::piped(), &[])?;
    let output = child
        .stdout
        .take()
        .ok_or_else(|| "--group-by: perl has no output pipe".to_string())?;
    Ok(Filter {
        child,
        output: std::fs::File::from(std::os::fd::OwnedFd::from(output)),
    })
}

/// Starts `perl ARGS` on descriptor 0 once `perl -c` passes, with `keep`
/// (descriptors it writes to) inherited. perl waits on the user's stdin,
/// which pool-run cannot close for it: a parent-death signal ends it with
/// pool-run, however pool-run ends (it is started from the main thread,
/// which lives as long as pool-run). Err: the one line to print.
pub fn spawn_perl(
    args: &[String],
    flag: &'static str,
    stdout: Stdio,
    keep: &[std::os::fd::RawFd],
) -> Result<Child, String> {
    check_compiles(args, flag)?;
    let parent = std::process::id();
    let keep = keep.to_vec();
    let mut command = Command::new("perl");
    command
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(stdout)
        .stderr(Stdio::inherit());
    // SAFETY: prctl, getppid, fcntl and _exit are async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            for &fd in &keep {
                libc::fcntl(fd, libc::F_SETFD, 0);
            }
            Ok(())
        });
    }
    command
        .spawn()
        .map_err(|e| format!("{flag} computes its values in perl, as GNU parallel: {e}"))
}

/// `perl -c`: a syntax error in VAL fails the run before any job, with
/// perl's own message, as a {= =} expression's does.
fn check_compiles(args: &[String], flag: &str) -> Result<(), String> {
    let checked = Command::new("perl")
        .arg("-c")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{flag} computes its values in perl, as GNU parallel: {e}"))?;
    if checked.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&checked.stderr);
    let first = message.lines().next().unwrap_or("perl failed");
    Err(format!("{flag}: the perl code does not compile: {first}"))
}

impl Filter {
    /// After the cutter is done: perl's status if it read all the input, or
    /// perl stopped if the run ended first (nobody reads its output).
    pub fn finish(mut self, read_to_the_end: bool) -> io::Result<()> {
        if !read_to_the_end {
            // Only while it is still ours: a reaped pid may be another's.
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.kill();
            }
            return Ok(());
        }
        // The supervisor reaps every child of pool-run, perl too: its status
        // may be gone (ECHILD), and a failure to compile was seen before.
        match self.child.wait() {
            Ok(status) if !status.success() => Err(io::Error::other(format!(
                "--group-by: perl failed ({status})"
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(value: &str) -> GroupBy {
        GroupBy {
            value: value.to_string(),
            colsep: "\t".to_string(),
            marker: marker(),
        }
    }

    #[test]
    fn a_column_number_is_a_column_and_the_rest_is_code() {
        assert_eq!(
            Key::of("3 s/\\D//g", "\t", None, "--group-by"),
            Ok(Key {
                column: Some(3),
                code: "s/\\D//g".to_string()
            })
        );
        assert_eq!(
            Key::of("2", "\t", None, "--group-by"),
            Ok(Key {
                column: Some(2),
                code: String::new()
            })
        );
    }

    #[test]
    fn a_name_is_looked_up_in_the_header_and_code_alone_is_the_whole_line() {
        let by_name = GroupBy {
            value: "UserID s/\\D//g".to_string(),
            colsep: ",".to_string(),
            marker: marker(),
        };
        assert!(by_name.reads_header_line());
        assert_eq!(
            Key::of(
                &by_name.value,
                ",",
                Some(b"Name,UserID,Consumption\n"),
                "--group-by"
            ),
            Ok(Key {
                column: Some(2),
                code: "s/\\D//g".to_string()
            })
        );
        assert!(Key::of(&by_name.value, ",", Some(b"a,b\n"), "--group-by").is_err());
        let code = group("$_ = substr($_, 0, 1)");
        assert!(!code.reads_header_line());
        assert_eq!(
            Key::of(&code.value, "\t", None, "--group-by").map(|k| k.column),
            Ok(None)
        );
        assert!(!group("2 s/a/b/").reads_header_line());
    }

    #[test]
    fn markers_are_twenty_letters_or_digits_and_differ() {
        let (a, b) = (marker(), marker());
        assert_eq!(a.len(), 20);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
