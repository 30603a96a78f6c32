//! Time as the tools need it: the duration syntax every `--timeout`-style
//! flag accepts, durations printed for people, and latency summaries with
//! percentiles.

use std::fmt;
use std::time::Duration;

/// Why a duration string was refused. The message names the bad text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid duration '{}': {}", self.input, self.reason)
    }
}

impl std::error::Error for DurationError {}

/// The units `parse_duration` knows, with their length in nanoseconds.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Parses `250ms`, `1.5s`, `2m`, `1h`, `3d`, `10us`, `5ns`, or a bare number
/// of seconds (`0.5`), as `sleep` and `timeout` accept. Exact: the decimal
/// digits are kept as integers, so `0.1s` is exactly 100ms.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(fail("it is empty"));
    }
    if text.starts_with('-') {
        return Err(fail("it is negative"));
    }
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_len);
    let unit_nanos = if unit.is_empty() {
        1_000_000_000
    } else {
        UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, nanos)| *nanos)
            .ok_or_else(|| {
                fail("unknown unit (use ns, us, ms, s, m, h or d; a bare number is seconds)")
            })?
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(fail("no number before the unit"));
    }
    if fraction.contains('.') {
        return Err(fail("more than one decimal point"));
    }
    let too_long = || fail("too long");
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_long())?
    };
    // Digits beyond nanosecond precision of the largest unit cannot matter.
    let fraction = &fraction[..fraction.len().min(24)];
    let fraction_value: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| too_long())?
    };
    let scale = 10u128.pow(u32::try_from(fraction.len()).map_err(|_| too_long())?);
    let nanos = whole_value
        .checked_mul(unit_nanos)
        .and_then(|n| n.checked_add(fraction_value * unit_nanos / scale))
        .ok_or_else(too_long)?;
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
    // The remainder is below 1e9, so it fits.
    let subsec = (nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, subsec))
}

/// Formats a duration exactly, in the largest of s, ms, us, ns that keeps it at
/// or above 1, with as many decimals as needed: `1.5s`, `250ms`, `12us`. What
/// it prints, `parse_duration` reads back to the same value.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    let (unit, unit_nanos) = match nanos {
        n if n >= 1_000_000_000 => ("s", 1_000_000_000u128),
        n if n >= 1_000_000 => ("ms", 1_000_000),
        n if n >= 1_000 => ("us", 1_000),
        _ => ("ns", 1),
    };
    let whole = nanos / unit_nanos;
    let rest = nanos % unit_nanos;
    if rest == 0 {
        return format!("{whole}{unit}");
    }
    let digits = unit_nanos.ilog10() as usize;
    let fraction = format!("{rest:0digits$}");
    format!("{whole}.{}{unit}", fraction.trim_end_matches('0'))
}

/// Seconds with millisecond precision for reports (`0.012`).
pub fn format_seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// A latency distribution boiled down to the figures benchmarks report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencySummary {
    pub count: usize,
    pub min: Duration,
    pub mean: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

/// A summary needs at least one sample: there is no honest mean of nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSamples;

impl fmt::Display for NoSamples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no latency samples to summarize")
    }
}

impl std::error::Error for NoSamples {}

impl LatencySummary {
    /// Summarizes the samples (sorted in place). Percentiles use the
    /// nearest-rank method, so every reported value is a real sample.
    pub fn from_samples(samples: &mut [Duration]) -> Result<Self, NoSamples> {
        if samples.is_empty() {
            return Err(NoSamples);
        }
        samples.sort_unstable();
        let total: u128 = samples.iter().map(Duration::as_nanos).sum();
        let mean_nanos = total / samples.len() as u128;
        let mean = Duration::from_nanos(u64::try_from(mean_nanos).unwrap_or(u64::MAX));
        Ok(LatencySummary {
            count: samples.len(),
            min: samples[0],
            mean,
            p50: nearest_rank(samples, 500),
            p90: nearest_rank(samples, 900),
            p99: nearest_rank(samples, 990),
            p999: nearest_rank(samples, 999),
            max: samples[samples.len() - 1],
        })
    }
}

/// Buckets of a latency histogram: log-spaced, because latencies have
/// long tails that a linear scale would squash into one bar.
const HISTOGRAM_BUCKETS: usize = 12;

/// A text histogram of sorted latency samples: one line per log-spaced
/// bucket (its lower edge, a bar of `width` at most, its count), and the
/// buckets holding p50, p90 and p99 marked, so the tail is seen, not only
/// the median.
pub fn histogram(sorted: &[Duration], summary: &LatencySummary, width: usize) -> String {
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return String::new();
    };
    let low = first.as_nanos().max(1) as f64;
    let high = (last.as_nanos().max(1) as f64).max(low);
    let buckets = if high > low { HISTOGRAM_BUCKETS } else { 1 };
    let ratio = (high / low).powf(1.0 / buckets as f64);
    let edge = |i: usize| low * ratio.powi(i as i32);
    // Bucket i holds samples from edge(i) up to edge(i+1); the last one
    // holds the maximum too.
    let bucket_of = |d: Duration| -> usize {
        let n = d.as_nanos().max(1) as f64;
        ((n / low).ln() / ratio.ln().max(f64::MIN_POSITIVE))
            .floor()
            .max(0.0) as usize
    };
    let mut counts = vec![0usize; buckets];
    for sample in sorted {
        counts[bucket_of(*sample).min(buckets - 1)] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(1).max(1);
    let marks = [
        (summary.p50, "p50"),
        (summary.p90, "p90"),
        (summary.p99, "p99"),
    ];
    let mut text = String::new();
    for (i, count) in counts.iter().enumerate() {
        let bar_len = (count * width).div_ceil(most);
        let label = format_duration(Duration::from_nanos(edge(i) as u64 / 100 * 100));
        let marked: Vec<&str> = marks
            .iter()
            .filter(|(at, _)| bucket_of(*at).min(buckets - 1) == i)
            .map(|(_, name)| *name)
            .collect();
        let marker = if marked.is_empty() {
            String::new()
        } else {
            format!("  <- {}", marked.join(" "))
        };
        text.push_str(&format!(
            "  {label:>10} | {:<width$} {count}{marker}\n",
            "#".repeat(bar_len)
        ));
    }
    text
}

/// The sample at `per_mille`/1000 by nearest rank; `sorted` is non-empty.
fn nearest_rank(sorted: &[Duration], per_mille: usize) -> Duration {
    let rank = (sorted.len() * per_mille).div_ceil(1000).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_histogram_counts_every_sample_and_marks_the_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        samples.push(Duration::from_millis(50));
        let summary = LatencySummary::from_samples(&mut samples).unwrap();
        let text = histogram(&samples, &summary, 20);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), HISTOGRAM_BUCKETS);
        let counted: usize = lines
            .iter()
            .map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.parse::<usize>().ok())
                    .unwrap()
            })
            .sum();
        assert_eq!(counted, samples.len(), "{text}");
        assert!(text.contains("p50"), "{text}");
        assert!(text.contains("p99"), "{text}");
        assert!(
            lines.last().unwrap().trim_end().ends_with(" 1"),
            "the 50ms outlier: {text}"
        );
        let one = [Duration::from_micros(7)];
        let single = LatencySummary::from_samples(&mut one.clone()).unwrap();
        assert_eq!(histogram(&one, &single, 10).lines().count(), 1);
    }

    #[test]
    fn parses_every_unit_and_bare_seconds() {
        let cases = [
            ("250ms", Duration::from_millis(250)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1d", Duration::from_secs(86400)),
            ("10us", Duration::from_micros(10)),
            ("10µs", Duration::from_micros(10)),
            ("7ns", Duration::from_nanos(7)),
            ("0.5", Duration::from_millis(500)),
            ("3", Duration::from_secs(3)),
            (".25s", Duration::from_millis(250)),
            ("0.1", Duration::from_millis(100)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refuses_bad_durations_with_a_message_naming_the_input() {
        for (text, reason) in [
            ("5x", "unknown unit"),
            ("-1s", "negative"),
            ("", "empty"),
            ("  ", "empty"),
            ("ms", "no number"),
            ("1.2.3s", "decimal point"),
            ("99999999999999999999999999999999999999999d", "too long"),
        ] {
            let err = parse_duration(text).expect_err(text);
            let message = err.to_string();
            assert!(message.contains(reason), "{text}: {message}");
            assert!(message.contains(&format!("'{text}'")), "{message}");
        }
    }

    #[test]
    fn formats_in_the_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(
            format_duration(Duration::from_nanos(1_234_567)),
            "1.234567ms"
        );
        assert_eq!(format_duration(Duration::from_nanos(12)), "12ns");
        assert_eq!(format_duration(Duration::ZERO), "0ns");
        assert_eq!(format_seconds(Duration::from_millis(12)), "0.012");
    }

    #[test]
    fn summary_of_nothing_is_an_error() {
        assert_eq!(LatencySummary::from_samples(&mut []), Err(NoSamples));
    }

    #[test]
    fn summary_uses_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=1000).rev().map(Duration::from_micros).collect();
        let s = LatencySummary::from_samples(&mut samples).unwrap();
        assert_eq!(s.count, 1000);
        assert_eq!(s.min, Duration::from_micros(1));
        assert_eq!(s.p50, Duration::from_micros(500));
        assert_eq!(s.p90, Duration::from_micros(900));
        assert_eq!(s.p99, Duration::from_micros(990));
        assert_eq!(s.p999, Duration::from_micros(999));
        assert_eq!(s.max, Duration::from_micros(1000));
        assert_eq!(s.mean, Duration::from_nanos(500_500));

        let mut one = [Duration::from_millis(3)];
        let s = LatencySummary::from_samples(&mut one).unwrap();
        assert_eq!(
            (s.min, s.p50, s.p999, s.max),
            (one[0], one[0], one[0], one[0])
        );
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(secs in 0u64..10_000_000, nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn whole_units_parse_exactly(n in 0u64..1_000_000, unit in 0usize..UNITS.len()) {
            let (name, nanos) = UNITS[unit];
            let total = u128::from(n) * nanos;
            let expected = Duration::new(u64::try_from(total / 1_000_000_000).unwrap(), (total % 1_000_000_000) as u32);
            prop_assert_eq!(parse_duration(&format!("{n}{name}")), Ok(expected));
        }

        #[test]
        fn percentiles_are_ordered(mut raw in proptest::collection::vec(0u64..1_000_000, 1..500)) {
            let mut samples: Vec<Duration> = raw.drain(..).map(Duration::from_nanos).collect();
            let s = LatencySummary::from_samples(&mut samples).unwrap();
            prop_assert!(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99);
            prop_assert!(s.p99 <= s.p999 && s.p999 <= s.max);
            prop_assert!(s.min <= s.mean && s.mean <= s.max);
        }
    }
}
