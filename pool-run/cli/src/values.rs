//! The values of pool-run's flags that need reading: job counts relative
//! to the CPUs, --timeout, --termseq, --halt, sizes with GNU's units,
//! escapes; each a parser clap calls and the type it gives.

/// --timeout: a fixed limit, or a share of the median runtime.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timeout {
    After(std::time::Duration),
    /// N% of the median runtime of the finished jobs.
    OfMedian(f64),
}

pub(super) fn parse_timeout(text: &str) -> Result<Timeout, String> {
    match text.strip_suffix('%') {
        Some(percent) => match percent.parse::<f64>() {
            Ok(p) if p > 0.0 && p.is_finite() => Ok(Timeout::OfMedian(p)),
            _ => Err(format!(
                "'{text}' is not a share of the median runtime (use N%, N > 0)"
            )),
        },
        None => common::time::parse_duration(text)
            .map(Timeout::After)
            .map_err(|e| e.to_string()),
    }
}

/// The most jobs `-j 0` starts at once.
pub const MAX_JOBS: usize = 256;

/// `-j`: a count, or one relative to the CPUs (which CPUs count is
/// --use-cores-instead-of-threads's and the like's, so it is resolved
/// after parsing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobsSpec {
    Count(usize),
    More(usize),
    Fewer(usize),
    Percent(usize),
    /// GNU parallel's `-j PROCFILE`: the count is the file's content, read
    /// again as each job ends (E6: the job count changes while running).
    File(std::path::PathBuf),
}

impl JobsSpec {
    /// The job count for a machine of `cpus`.
    pub fn resolve(&self, cpus: usize) -> usize {
        match *self {
            JobsSpec::File(ref path) => std::fs::read_to_string(path)
                .ok()
                .and_then(|text| parse_jobs(text.trim()).ok())
                .filter(|spec| !matches!(spec, JobsSpec::File(_)))
                .map_or(cpus, |spec| spec.resolve(cpus)),
            JobsSpec::Count(0) => MAX_JOBS,
            JobsSpec::Count(n) => n.min(MAX_JOBS * 16),
            JobsSpec::More(n) => cpus + n,
            JobsSpec::Fewer(n) => cpus.saturating_sub(n).max(1),
            JobsSpec::Percent(p) => (cpus * p / 100).max(1),
        }
    }
}

pub(super) fn parse_jobs(text: &str) -> Result<JobsSpec, String> {
    let bad = || format!("'{text}' is not a job count (use N, +N, -N, N%, 0 or a file)");
    if std::path::Path::new(text).is_file() {
        return Ok(JobsSpec::File(text.into()));
    }
    let number = |t: &str| t.parse::<usize>().map_err(|_| bad());
    if let Some(percent) = text.strip_suffix('%') {
        return Ok(JobsSpec::Percent(number(percent)?));
    }
    if let Some(more) = text.strip_prefix('+') {
        return Ok(JobsSpec::More(number(more)?));
    }
    if let Some(fewer) = text.strip_prefix('-') {
        return Ok(JobsSpec::Fewer(number(fewer)?));
    }
    Ok(JobsSpec::Count(number(text)?))
}

/// --termseq: the signals a timed-out job gets, each followed by a wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermSeq(pub Vec<(common::signal::Signal, std::time::Duration)>);

pub(super) fn parse_termseq(text: &str) -> Result<TermSeq, String> {
    let fields: Vec<&str> = text.split(',').collect();
    if fields.is_empty() || !fields.len().is_multiple_of(2) {
        return Err(format!("'{text}' is not SIG,MS,SIG,MS,..."));
    }
    fields
        .chunks(2)
        .map(|pair| {
            let signal = common::signal::Signal::parse(pair[0]).map_err(|e| e.to_string())?;
            let ms: u64 = pair[1]
                .parse()
                .map_err(|_| format!("'{}' is not a number of milliseconds", pair[1]))?;
            Ok((signal, std::time::Duration::from_millis(ms)))
        })
        .collect::<Result<Vec<_>, String>>()
        .map(TermSeq)
}

pub(super) fn parse_regex(text: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::Regex::new(text)
        .map_err(|e| format!("'{text}' is not a regular expression ({e})"))
}

pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("'{text}' is not a size (like 1M, 10k, 1.5G or 10000)");
    // GNU parallel's multipliers: K M G T P (and Ki, mi, ...) are powers
    // of 1024, k m g t p powers of 1000.
    let (number, unit) = match text.strip_suffix(['i', 'I']) {
        Some(rest) => (rest, rest.chars().last().map(|c| c.to_ascii_uppercase())),
        None => (text, text.chars().last()),
    };
    let (number, scale) =
        match unit.and_then(|c| "kmgtp".find(c.to_ascii_lowercase()).map(|p| (c, p))) {
            Some((c, power)) => {
                let base: f64 = if c.is_ascii_uppercase() {
                    1024.0
                } else {
                    1000.0
                };
                (&number[..number.len() - 1], base.powi(power as i32 + 1))
            }
            None if number.len() != text.len() => return Err(bad()),
            None => (number, 1.0),
        };
    let n: f64 = number.parse().map_err(|_| bad())?;
    let bytes = n * scale;
    if !(bytes >= 1.0 && bytes < usize::MAX as f64) {
        return Err(bad());
    }
    Ok(bytes as usize)
}

/// --block: a size, or (negative, --pipe-part) blocks per job slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockSize {
    Bytes(usize),
    /// `-N`: the files cut into N blocks per job slot, as GNU parallel.
    PerSlot(usize),
}

pub fn parse_block_size(text: &str) -> Result<BlockSize, String> {
    match text.strip_prefix('-') {
        Some(per_slot) => parse_size(per_slot).map(BlockSize::PerSlot),
        None => parse_size(text).map(BlockSize::Bytes),
    }
}

/// `\n`, `\t`, `\0` and `\\` in a --recend, as GNU parallel reads them.
pub fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('t') => out.push(b'\t'),
                Some('0') => out.push(0),
                Some(other) => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                }
                None => out.push(b'\\'),
            },
            (c, false) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

/// When --halt stops the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Halt {
    /// true: kill running jobs; false ("soon"): let them finish.
    pub now: bool,
    pub condition: HaltCondition,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HaltCondition {
    Failed(u64),
    FailedPercent(f64),
    Succeeded(u64),
    Done(u64),
}

pub(super) fn parse_halt(text: &str) -> Result<Halt, String> {
    let bad =
        || format!("'{text}' is not a halt rule (use now|soon,fail=N|fail=N%|success=N|done=N)");
    let (when, condition) = text.split_once(',').ok_or_else(bad)?;
    let now = match when {
        "now" => true,
        "soon" => false,
        _ => return Err(bad()),
    };
    let (kind, value) = condition.split_once('=').ok_or_else(bad)?;
    let count = || value.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(bad);
    let condition = match kind {
        "fail" => match value.strip_suffix('%') {
            Some(pct) => HaltCondition::FailedPercent(
                pct.parse::<f64>()
                    .ok()
                    .filter(|p| *p > 0.0 && *p <= 100.0)
                    .ok_or_else(bad)?,
            ),
            None => HaltCondition::Failed(count()?),
        },
        "success" => HaltCondition::Succeeded(count()?),
        "done" => HaltCondition::Done(count()?),
        _ => return Err(bad()),
    };
    Ok(Halt { now, condition })
}
