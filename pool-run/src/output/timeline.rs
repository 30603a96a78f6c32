//! `--timeline FILE.svg`: a picture of the run. One lane per job slot (per
//! host and slot with `-S`), each job a bar from its start to its end,
//! coloured by outcome, its number, command and exit in a tooltip
//! (`<title>`), a time axis below. At a glance: slots that sat idle, the
//! job that held up `-k`, a slow host.
//!
//! The file is self-contained SVG (no script, no external file). It is
//! rewritten whole as jobs end, at most twice a second, into a temporary
//! file renamed over the old one, so it is valid at every moment; the last
//! rewrite happens when the timeline is dropped, which the supervisor's
//! Ctrl-C path does too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use bstr::ByteSlice;
use common::exit::ChildExit;

use crate::job::Record;

/// Rewrites of the file while the run goes on, at most this often.
const REWRITE: Duration = Duration::from_millis(500);
const LANE_HEIGHT: f64 = 22.0;
const BAR_HEIGHT: f64 = 16.0;
const LABEL_WIDTH: f64 = 130.0;
const PLOT_WIDTH: f64 = 1000.0;
const TOP: f64 = 34.0;
const AXIS: f64 = 36.0;

/// How a job's attempt ended, as its bar's colour says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    /// Ended by a signal, or by --timeout.
    Killed,
    /// Failed and runs again (--retries), or never reached its host.
    Retried,
}

impl Outcome {
    /// The outcome of an attempt that ran; `retried` if it runs again.
    pub fn of(record: &Record, retried: bool) -> Outcome {
        if retried {
            Outcome::Retried
        } else if record.succeeded() {
            Outcome::Ok
        } else if record.timed_out || matches!(record.exit, ChildExit::Signaled { .. }) {
            Outcome::Killed
        } else {
            Outcome::Failed
        }
    }

    fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Killed => "killed",
            Outcome::Retried => "retried",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Outcome::Ok => "#43a047",
            Outcome::Failed => "#e53935",
            Outcome::Killed => "#8e24aa",
            Outcome::Retried => "#fb8c00",
        }
    }
}

/// One attempt's bar.
#[derive(Debug, Clone)]
struct Bar {
    lane: usize,
    start_s: f64,
    end_s: f64,
    outcome: Outcome,
    tooltip: String,
}

#[derive(Debug)]
pub struct Timeline {
    path: PathBuf,
    began: SystemTime,
    /// (host, slot) of each lane, in the order lanes first appeared.
    lanes: BTreeMap<(String, usize), usize>,
    bars: Vec<Bar>,
    written_at: Option<Instant>,
}

impl Timeline {
    pub fn new(path: PathBuf) -> Timeline {
        Timeline {
            path,
            began: SystemTime::now(),
            lanes: BTreeMap::new(),
            bars: Vec::new(),
            written_at: None,
        }
    }

    /// An attempt ended on `slot` of `host`.
    pub fn add(&mut self, slot: usize, record: &Record, outcome: Outcome) {
        let next = self.lanes.len();
        let lane = *self
            .lanes
            .entry((record.host.clone(), slot))
            .or_insert(next);
        let start_s = record
            .started_wall
            .duration_since(self.began)
            .map_or(0.0, |d| d.as_secs_f64());
        let end_s = start_s + record.runtime.as_secs_f64();
        let exit = match record.exit {
            _ if record.timed_out => "timed out".to_string(),
            ChildExit::Exited(code) => format!("exit {code}"),
            ChildExit::Signaled { signal, .. } => common::signal::Signal::from_number(signal)
                .map_or(format!("signal {signal}"), |s| {
                    format!("killed by {}", s.name())
                }),
        };
        let tooltip = format!(
            "job {} (attempt {}): {}\n{}, {}, {:.3} s, {} on {}",
            record.spec.seq,
            record.spec.attempt,
            record.command.to_str_lossy(),
            outcome.name(),
            exit,
            record.runtime.as_secs_f64(),
            slot_name(slot),
            record.host
        );
        self.bars.push(Bar {
            lane,
            start_s,
            end_s,
            outcome,
            tooltip,
        });
        if self.written_at.is_none_or(|at| at.elapsed() >= REWRITE) {
            self.write();
        }
    }

    /// Writes the picture as it stands: a temporary file renamed over the
    /// old one, so the file is never half written. A failure loses the
    /// picture, never the run (one warning).
    pub fn write(&mut self) {
        self.written_at = Some(Instant::now());
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let written =
            std::fs::write(&tmp, self.svg()).and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(err) = written {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "pool-run: warning: cannot write --timeline '{}' ({err})",
                self.path.display()
            );
        }
    }

    /// The whole picture.
    pub fn svg(&self) -> String {
        let duration = self
            .bars
            .iter()
            .map(|b| b.end_s)
            .fold(0.0_f64, f64::max)
            .max(0.001);
        let scale = PLOT_WIDTH / duration;
        let lanes = self.lanes.len().max(1);
        let width = LABEL_WIDTH + PLOT_WIDTH + 20.0;
        let height = TOP + lanes as f64 * LANE_HEIGHT + AXIS;
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
             viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <title>pool-run timeline: {} attempts, {duration:.3} s</title>\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
            self.bars.len()
        );
        // Legend.
        let mut x = LABEL_WIDTH;
        for outcome in [
            Outcome::Ok,
            Outcome::Failed,
            Outcome::Killed,
            Outcome::Retried,
        ] {
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.0}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/>\
                 <text x=\"{:.0}\" y=\"18\">{}</text>",
                outcome.colour(),
                x + 16.0,
                outcome.name()
            );
            x += 90.0;
        }
        // Lanes and their labels.
        for ((host, slot), lane) in &self.lanes {
            let y = TOP + *lane as f64 * LANE_HEIGHT;
            let label = if host == ":" {
                slot_name(*slot)
            } else {
                format!("{host} {}", slot_name(*slot))
            };
            let _ = writeln!(
                svg,
                "<rect class=\"lane\" x=\"{LABEL_WIDTH:.0}\" y=\"{y:.1}\" width=\"{PLOT_WIDTH:.0}\" \
                 height=\"{LANE_HEIGHT:.0}\" fill=\"{}\"/>\
                 <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                if lane % 2 == 0 { "#f5f5f5" } else { "#ebebeb" },
                LABEL_WIDTH - 6.0,
                y + LANE_HEIGHT / 2.0 + 4.0,
                xml_text(&label)
            );
        }
        // One bar per attempt.
        for bar in &self.bars {
            let y = TOP + bar.lane as f64 * LANE_HEIGHT + (LANE_HEIGHT - BAR_HEIGHT) / 2.0;
            let x = LABEL_WIDTH + bar.start_s * scale;
            let w = ((bar.end_s - bar.start_s) * scale).max(1.0);
            let _ = writeln!(
                svg,
                "<rect class=\"job {}\" data-lane=\"{}\" x=\"{x:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" \
                 height=\"{BAR_HEIGHT:.0}\" fill=\"{}\"><title>{}</title></rect>",
                bar.outcome.name(),
                bar.lane,
                bar.outcome.colour(),
                xml_text(&bar.tooltip)
            );
        }
        // The time axis.
        let axis_y = TOP + lanes as f64 * LANE_HEIGHT + 4.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{LABEL_WIDTH:.0}\" y1=\"{axis_y:.1}\" x2=\"{:.0}\" y2=\"{axis_y:.1}\" stroke=\"black\"/>",
            LABEL_WIDTH + PLOT_WIDTH
        );
        let step = tick_step(duration);
        let mut t = 0.0;
        while t <= duration + step * 1e-9 {
            let x = LABEL_WIDTH + t * scale;
            let _ = writeln!(
                svg,
                "<line x1=\"{x:.2}\" y1=\"{axis_y:.1}\" x2=\"{x:.2}\" y2=\"{:.1}\" stroke=\"black\"/>\
                 <text x=\"{x:.2}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                axis_y + 5.0,
                axis_y + 18.0,
                format_seconds(t, step)
            );
            t += step;
        }
        svg.push_str("</svg>\n");
        svg
    }
}

impl Drop for Timeline {
    /// The final picture, however the run ends (a Ctrl-C included).
    fn drop(&mut self) {
        self.write();
    }
}

fn slot_name(slot: usize) -> String {
    format!("slot {slot}")
}

/// A round step for about ten ticks over `duration` seconds: 1, 2 or 5
/// times a power of ten.
fn tick_step(duration: f64) -> f64 {
    let rough = duration / 10.0;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(power * 10.0)
}

fn format_seconds(t: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{t:.decimals$}s")
}

/// Text for XML: the five special characters escaped, and characters XML
/// 1.0 cannot hold (control characters, lone invalid bytes already became
/// U+FFFD) replaced.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::tests::record;

    #[test]
    fn outcomes_follow_the_attempts_end() {
        let mut r = record(1, 0);
        assert_eq!(Outcome::of(&r, false), Outcome::Ok);
        assert_eq!(Outcome::of(&r, true), Outcome::Retried);
        r.exit = ChildExit::Exited(2);
        assert_eq!(Outcome::of(&r, false), Outcome::Failed);
        r.exit = ChildExit::Signaled {
            signal: 9,
            core_dumped: false,
        };
        assert_eq!(Outcome::of(&r, false), Outcome::Killed);
        let mut slow = record(2, 0);
        slow.timed_out = true;
        assert_eq!(Outcome::of(&slow, false), Outcome::Killed);
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(10.0), 1.0);
        assert_eq!(tick_step(0.35), 0.05);
        assert_eq!(tick_step(73.0), 10.0);
        assert_eq!(format_seconds(0.15, 0.05), "0.15s");
        assert_eq!(format_seconds(20.0, 10.0), "20s");
    }

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            xml_text("a<b>&\"c'\u{7}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{fffd}"
        );
    }
}
