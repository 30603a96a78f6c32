//! `--bar`: a one-line progress report (done out of total, running,
//! failed, ETA), redrawn at most ten times a second and once more at the
//! end. The output sink writes it on stderr.

use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    /// Jobs in all, when the input was known up front.
    total: Option<u64>,
    began: Instant,
    drawn_at: Option<Instant>,
}

/// What the bar shows.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub done: u64,
    pub running: usize,
    pub failed: u64,
}

impl Progress {
    pub fn new(enabled: bool, total: Option<u64>) -> Progress {
        Progress {
            enabled,
            total: total.filter(|t| *t > 0),
            began: Instant::now(),
            drawn_at: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// A job ended: the line to draw, unless the last drawing is too
    /// recent (or there is no bar).
    pub fn tick(&mut self, counts: Counts) -> Option<String> {
        if !self.enabled || self.drawn_at.is_some_and(|at| at.elapsed() < REDRAW) {
            return None;
        }
        self.drawn_at = Some(Instant::now());
        Some(self.line(counts))
    }

    /// The run ended: the final state, and a newline.
    pub fn finish(&mut self, counts: Counts) -> Option<String> {
        self.enabled.then(|| format!("{}\n", self.line(counts)))
    }

    fn line(&self, c: Counts) -> String {
        let elapsed = self.began.elapsed().as_secs_f64();
        match self.total {
            Some(total) => {
                let pct = c.done as f64 * 100.0 / total as f64;
                let eta = if c.done > 0 {
                    elapsed / c.done as f64 * total.saturating_sub(c.done) as f64
                } else {
                    0.0
                };
                format!(
                    "\r{pct:3.0}% {}/{total} done, {} running, {} failed, ETA {eta:.0}s\x1b[K",
                    c.done, c.running, c.failed
                )
            }
            None => format!(
                "\r{} done, {} running, {} failed, {elapsed:.0}s\x1b[K",
                c.done, c.running, c.failed
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_a_share_when_the_total_is_known() {
        let bar = Progress::new(true, Some(4));
        let line = bar.line(Counts {
            done: 1,
            running: 2,
            failed: 1,
        });
        assert!(
            line.starts_with("\r 25% 1/4 done, 2 running, 1 failed, ETA "),
            "{line}"
        );
        assert!(line.ends_with("s\x1b[K"));
    }

    #[test]
    fn the_bar_is_redrawn_at_most_ten_times_a_second_and_at_the_end() {
        let counts = Counts {
            done: 1,
            running: 0,
            failed: 0,
        };
        let mut bar = Progress::new(true, None);
        assert!(bar.tick(counts).is_some());
        assert!(bar.tick(counts).is_none(), "too soon");
        assert!(bar.finish(counts).unwrap().ends_with("s\x1b[K\n"));
        let mut off = Progress::new(false, None);
        assert!(off.tick(counts).is_none() && off.finish(counts).is_none());
    }

    #[test]
    fn without_a_total_it_shows_counts_and_time() {
        let bar = Progress::new(true, Some(0));
        let line = bar.line(Counts {
            done: 3,
            running: 0,
            failed: 0,
        });
        assert!(
            line.starts_with("\r3 done, 0 running, 0 failed, "),
            "{line}"
        );
    }
}
