//! `--color`, `--ctag`, `--ctagstring`: each job's output lines drawn in a
//! colour of its own, the one GNU parallel gives the job with the same
//! number (so a script's colours are the same under either tool), and
//! `--color-failed`'s white on red. A line is the colour, the tag, the
//! text, then the reset before its newline; the colour ends with "clear to
//! the end of line", so the background fills the terminal's width.

/// Clear to the end of line, after each colour (GNU parallel's `tput el`
/// without a terminal).
const CLEAR_TO_EOL: &str = "\x1b[K";
/// The end of each coloured line (GNU parallel's `tput sgr0` without a
/// terminal).
pub const RESET: &[u8] = b"\x1b[m";
/// A line's colour: what starts it, and the reset before its newline.
pub type LineColor<'a> = (&'a [u8], &'a [u8]);

/// --color-failed: white on red.
pub const FAILED: &[u8] = b"\x1b[48;5;196;38;5;231m\x1b[K";

/// GNU parallel's readable pairs of 256-colour background and text: black
/// text on these backgrounds...
const ON_BLACK_TEXT: &[(u8, u8)] = &[
    (6, 7),
    (9, 11),
    (13, 15),
    (40, 51),
    (75, 87),
    (113, 123),
    (147, 159),
    (171, 182),
    (185, 231),
    (249, 254),
];
/// ...and white text on these.
const ON_WHITE_TEXT: &[(u8, u8)] = &[
    (1, 9),
    (12, 13),
    (16, 45),
    (52, 81),
    (88, 114),
    (124, 149),
    (160, 178),
    (180, 180),
    (182, 184),
    (196, 214),
    (232, 250),
];

/// The colours in GNU parallel's order: the pairs listed, then reordered
/// so that neighbours differ (by index mod 23, then mod 7 descending, a
/// stable sort, as its perl does).
fn palette() -> Vec<String> {
    let pairs: Vec<(u8, &str)> = ON_BLACK_TEXT
        .iter()
        .flat_map(|&(from, to)| (from..=to).map(|bg| (bg, "000")))
        .chain(
            ON_WHITE_TEXT
                .iter()
                .flat_map(|&(from, to)| (from..=to).map(|bg| (bg, "231"))),
        )
        .collect();
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| (i % 23, std::cmp::Reverse(i % 7)));
    order
        .into_iter()
        .map(|i| {
            let (bg, fg) = pairs[i];
            format!("\x1b[48;5;{bg:03};38;5;{fg}m{CLEAR_TO_EOL}")
        })
        .collect()
}

/// The colours of a run's jobs, by job number.
#[derive(Debug)]
pub struct Palette(Vec<String>);

impl Palette {
    pub fn new() -> Palette {
        Palette(palette())
    }

    /// Job `seq`'s colour.
    pub fn of(&self, seq: u64) -> &[u8] {
        let at = (seq % self.0.len() as u64) as usize;
        self.0[at].as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_palette_is_gnu_parallels() {
        let palette = Palette::new();
        assert_eq!(palette.0.len(), 307, "its readable pairs");
        // GNU parallel 20221122's colours of jobs 1 to 4.
        assert_eq!(palette.of(1), b"\x1b[48;5;134;38;5;231m\x1b[K");
        assert_eq!(palette.of(2), b"\x1b[48;5;021;38;5;231m\x1b[K");
        assert_eq!(palette.of(3), b"\x1b[48;5;243;38;5;231m\x1b[K");
        assert_eq!(palette.of(4), b"\x1b[48;5;149;38;5;000m\x1b[K");
        assert_eq!(palette.of(307 + 1), palette.of(1), "round again");
    }
}
