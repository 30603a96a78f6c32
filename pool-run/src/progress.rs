//! `--bar`: a one-line progress report (done out of total, running,
//! failed, ETA), redrawn at most ten times a second and once more at the
//! end, on stderr. On a terminal it is drawn in place (`\r`, erase to the
//! end of the line), and the output sink hides it before any job output
//! and draws it again after, so output never lands on the bar's line. Where
//! nobody looks (stderr not a terminal, `TERM=dumb`) there is no bar unless
//! `--bar=always`, and then plain lines, once a second, no escape codes.
//! It has no colours, so `NO_COLOR` has nothing to turn off.

use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(100);
/// Plain lines (`--bar=always` off a terminal) come less often.
const REPRINT: Duration = Duration::from_secs(1);

/// How the bar is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarMode {
    Off,
    /// On a terminal: one line, redrawn in place.
    InPlace,
    /// Anywhere else, when forced: a plain line now and then.
    Lines,
}

impl BarMode {
    /// `--bar[=auto|always|never]` (None: not given) for a stderr that is,
    /// or is not, a terminal that understands escape codes.
    pub fn resolve(when: Option<&str>, terminal: bool) -> BarMode {
        match (when, terminal) {
            (None | Some("never"), _) => BarMode::Off,
            (Some(_), true) => BarMode::InPlace,
            (Some("always"), false) => BarMode::Lines,
            (Some(_), false) => BarMode::Off,
        }
    }

    /// Whether stderr is a terminal a bar can be drawn on in place.
    pub fn stderr_is_terminal() -> bool {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    }
}

#[derive(Debug)]
pub struct Progress {
    mode: BarMode,
    /// Jobs in all, when the input was known up front.
    total: Option<u64>,
    began: Instant,
    drawn_at: Option<Instant>,
    /// What the last drawing showed (to draw it again after output).
    last: Option<Counts>,
    /// An in-place bar is on the screen now.
    shown: bool,
}

/// What the bar shows.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub done: u64,
    pub running: usize,
    pub failed: u64,
}

impl Progress {
    pub fn new(mode: BarMode, total: Option<u64>) -> Progress {
        Progress {
            mode,
            total: total.filter(|t| *t > 0),
            began: Instant::now(),
            drawn_at: None,
            last: None,
            shown: false,
        }
    }

    pub fn mode(&self) -> BarMode {
        self.mode
    }

    /// A job ended: the line to draw, unless the last drawing is too
    /// recent (or there is no bar).
    pub fn tick(&mut self, counts: Counts) -> Option<String> {
        let every = match self.mode {
            BarMode::Off => return None,
            BarMode::InPlace => REDRAW,
            BarMode::Lines => REPRINT,
        };
        self.last = Some(counts);
        if self.drawn_at.is_some_and(|at| at.elapsed() < every) {
            return None;
        }
        self.drawn_at = Some(Instant::now());
        Some(self.draw(counts))
    }

    /// The run ended: the final state, ending the line.
    pub fn finish(&mut self, counts: Counts) -> Option<String> {
        if self.mode == BarMode::Off {
            return None;
        }
        let line = self.draw(counts);
        self.shown = false;
        Some(match self.mode {
            BarMode::InPlace => format!("{line}\n"),
            _ => line,
        })
    }

    /// Output is about to be written: what takes the bar off the screen.
    pub fn hide(&mut self) -> Option<&'static str> {
        std::mem::take(&mut self.shown).then_some("\r\x1b[K")
    }

    /// Output was written: the bar again, as it was.
    pub fn show(&mut self) -> Option<String> {
        if self.mode != BarMode::InPlace || self.shown {
            return None;
        }
        let counts = self.last?;
        Some(self.draw(counts))
    }

    fn draw(&mut self, counts: Counts) -> String {
        let text = self.text(counts);
        match self.mode {
            BarMode::InPlace => {
                self.shown = true;
                format!("\r{text}\x1b[K")
            }
            _ => format!("{text}\n"),
        }
    }

    fn text(&self, c: Counts) -> String {
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
                    "{pct:3.0}% {}/{total} done, {} running, {} failed, ETA {eta:.0}s",
                    c.done, c.running, c.failed
                )
            }
            None => format!(
                "{} done, {} running, {} failed, {elapsed:.0}s",
                c.done, c.running, c.failed
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNTS: Counts = Counts {
        done: 1,
        running: 2,
        failed: 1,
    };

    #[test]
    fn the_line_shows_a_share_when_the_total_is_known() {
        let mut bar = Progress::new(BarMode::InPlace, Some(4));
        let line = bar.draw(COUNTS);
        assert!(
            line.starts_with("\r 25% 1/4 done, 2 running, 1 failed, ETA "),
            "{line}"
        );
        assert!(line.ends_with("s\x1b[K"));
    }

    #[test]
    fn the_bar_is_redrawn_at_most_ten_times_a_second_and_at_the_end() {
        let mut bar = Progress::new(BarMode::InPlace, None);
        assert!(bar.tick(COUNTS).is_some());
        assert!(bar.tick(COUNTS).is_none(), "too soon");
        assert!(bar.finish(COUNTS).unwrap().ends_with("s\x1b[K\n"));
        let mut off = Progress::new(BarMode::Off, None);
        assert!(off.tick(COUNTS).is_none() && off.finish(COUNTS).is_none());
    }

    #[test]
    fn an_in_place_bar_steps_aside_for_output_and_comes_back() {
        let mut bar = Progress::new(BarMode::InPlace, Some(2));
        assert_eq!(bar.hide(), None, "nothing drawn yet");
        assert_eq!(bar.show(), None, "nothing to draw again");
        let drawn = bar.tick(COUNTS).unwrap();
        assert_eq!(bar.hide(), Some("\r\x1b[K"));
        assert_eq!(bar.hide(), None, "hidden once");
        assert_eq!(bar.show().unwrap(), drawn);
        assert_eq!(bar.show(), None, "already shown");
    }

    #[test]
    fn off_a_terminal_the_bar_is_plain_lines_only_when_forced() {
        assert_eq!(BarMode::resolve(None, true), BarMode::Off);
        assert_eq!(BarMode::resolve(Some("auto"), true), BarMode::InPlace);
        assert_eq!(BarMode::resolve(Some("auto"), false), BarMode::Off);
        assert_eq!(BarMode::resolve(Some("always"), false), BarMode::Lines);
        assert_eq!(BarMode::resolve(Some("never"), true), BarMode::Off);
        let mut lines = Progress::new(BarMode::Lines, None);
        let line = lines.tick(COUNTS).unwrap();
        assert!(line.ends_with("s\n") && !line.contains('\x1b') && !line.contains('\r'));
        assert_eq!(lines.hide(), None);
        assert_eq!(lines.show(), None);
    }

    #[test]
    fn without_a_total_it_shows_counts_and_time() {
        let bar = Progress::new(BarMode::InPlace, Some(0));
        assert!(
            bar.text(Counts {
                done: 3,
                running: 0,
                failed: 0
            })
            .starts_with("3 done, 0 running, 0 failed, "),
        );
    }
}
