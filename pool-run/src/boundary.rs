//! Where `--pipe` and `--pipe-part` may cut: a record end (`--recend`)
//! directly followed by a record start (`--recstart`), the cut between the
//! two. Both are fixed strings, or with `--regexp` regexes matched as GNU
//! parallel 20221122 matches them; `--rrs` takes them out of a block again.
//!
//! GNU parallel's regex rules, kept here:
//! - `--pipe` matches line by line (perl's `/m`: `^` and `$` at every line);
//!   `--pipe-part` matches the window as one string (`/s`) and cuts at the
//!   *last* boundary in it, not the first.
//! - An empty `--recend` with no `--recstart` means "any one character".
//! - The strings are not unescaped: `\n` is the regex's newline.

use bstr::ByteSlice;
use regex::bytes::{CaptureLocations, Regex};

/// Where one record ends and the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    pub recend: Vec<u8>,
    pub recstart: Vec<u8>,
    /// --regexp: the two are regexes, compiled here.
    pub regexp: Option<Patterns>,
}

impl Boundary {
    /// GNU parallel's defaults: only --recstart given means no record end;
    /// neither means a newline ends each record.
    pub fn of(recend: Option<Vec<u8>>, recstart: Option<Vec<u8>>) -> Boundary {
        let (recend, recstart) = match (recend, recstart) {
            (recend, Some(recstart)) => (recend.unwrap_or_default(), recstart),
            (recend, None) => (recend.unwrap_or_else(|| b"\n".to_vec()), Vec::new()),
        };
        Boundary {
            recend,
            recstart,
            regexp: None,
        }
    }

    /// --regexp: the same defaults, but an empty --recend alone is any one
    /// character; compiled for --pipe-part's rules when `part`. Err: the
    /// one line to print.
    pub fn of_regexp(
        recend: Option<&str>,
        recstart: Option<&str>,
        part: bool,
    ) -> Result<Boundary, String> {
        for (flag, given) in [("--recend", recend), ("--recstart", recstart)] {
            if let Some(Err(e)) = given.map(Regex::new) {
                // The crate's message draws the pattern over lines: its
                // last line is the reason.
                let text = e.to_string();
                let reason = text.lines().last().unwrap_or_default();
                let reason = reason.trim_start_matches("error: ");
                return Err(format!(
                    "--regexp: {flag} '{}' is not a regex: {reason}",
                    given.unwrap_or_default()
                ));
            }
        }
        let (recend, recstart) = match (recend, recstart) {
            (recend, Some(recstart)) => (recend.unwrap_or(""), recstart),
            (None, None) => ("\n", ""),
            (Some(""), None) => ("(?s:.)", ""),
            (Some(recend), None) => (recend, ""),
        };
        Ok(Boundary {
            recend: recend.as_bytes().to_vec(),
            recstart: recstart.as_bytes().to_vec(),
            regexp: Some(
                Patterns::new(recend, recstart, part).map_err(|e| format!("--regexp: {e}"))?,
            ),
        })
    }

    fn pattern(&self) -> Vec<u8> {
        [self.recend.as_slice(), self.recstart.as_slice()].concat()
    }
}

/// --regexp's compiled forms of `R` (--recend) and `S` (--recstart).
#[derive(Debug, Clone)]
pub struct Patterns {
    /// `(R)S`: a boundary; the cut is where the group ends.
    boundary: Regex,
    /// `\AS`: the buffer starts with a record (-N's first one).
    starts: Regex,
    /// --rrs, GNU's three substitutions: every `RS` (line by line), an `S`
    /// at the start and an `R` at the end (or before a last newline, as
    /// perl's `$`).
    between: Regex,
    at_start: Regex,
    at_end: Regex,
}

impl PartialEq for Patterns {
    fn eq(&self, other: &Patterns) -> bool {
        self.boundary.as_str() == other.boundary.as_str()
    }
}

impl Eq for Patterns {}

impl Patterns {
    fn new(recend: &str, recstart: &str, part: bool) -> Result<Patterns, regex::Error> {
        let (r, s) = (format!("(?:{recend})"), format!("(?:{recstart})"));
        let cut_flags = if part { "(?s)" } else { "(?m)" };
        // Bytes first, as perl sees a block; a pattern that needs Unicode
        // (a class of non-ASCII letters) is compiled as such.
        let build = |prefix: &str| -> Result<Patterns, regex::Error> {
            let one = |source: String| Regex::new(&format!("{prefix}{source}"));
            Ok(Patterns {
                boundary: one(format!("{cut_flags}({r}){s}"))?,
                starts: one(format!("(?m)\\A{s}"))?,
                between: one(format!("(?m){r}{s}"))?,
                at_start: one(format!("(?s)\\A{s}"))?,
                at_end: one(format!("(?s)({r})\n?\\z"))?,
            })
        };
        build("(?-u)").or_else(|_| build(""))
    }

    /// Every boundary in `buf` at or after `from`, one per start position:
    /// (where it starts, the cut). Overlapping boundaries count, as perl's
    /// backtracking finds them.
    fn boundaries<'b>(&'b self, buf: &'b [u8], from: usize) -> impl Iterator<Item = Found> + 'b {
        let mut locations = self.boundary.capture_locations();
        let mut at = Some(from);
        std::iter::from_fn(move || {
            let found = self.boundary_at(buf, at?, &mut locations);
            at = found.map(|f| f.start + 1).filter(|&next| next <= buf.len());
            found
        })
    }

    fn boundary_at(
        &self,
        buf: &[u8],
        from: usize,
        locations: &mut CaptureLocations,
    ) -> Option<Found> {
        let whole = self.boundary.captures_read_at(locations, buf, from)?;
        let (_, cut) = locations.get(1)?;
        Some(Found {
            start: whole.start(),
            cut,
            end: whole.end(),
        })
    }

    /// The cut of the boundary that starts last in `buf` (perl's greedy
    /// `^(.*R)S`), looking back from the end in growing windows.
    fn last_cut(&self, buf: &[u8]) -> Option<usize> {
        let mut window = 4096;
        loop {
            let from = buf.len().saturating_sub(window);
            if let Some(found) = self.boundaries(buf, from).last() {
                return Some(found.cut);
            }
            if from == 0 {
                return None;
            }
            window = window.saturating_mul(4);
        }
    }

    /// -N: the cut after `n` records from the start, each `S` then the
    /// fewest bytes up to a boundary (GNU's `(?:S(?:(?!RS).)*?R){n}(?=S)`).
    fn nth_cut(&self, buf: &[u8], n: usize) -> Option<usize> {
        let mut from = self.starts.find(buf)?.end();
        let mut locations = self.boundary.capture_locations();
        let mut cut = 0;
        for _ in 0..n {
            let found = self.boundary_at(buf, from, &mut locations)?;
            cut = found.cut;
            from = found.end;
        }
        Some(cut)
    }

    /// -N's first block, once per run: bytes before the first record
    /// start are a block of their own (GNU's "garbage").
    fn garbage_cut(&self, buf: &[u8]) -> Option<usize> {
        if self.starts.is_match(buf) {
            return None;
        }
        let mut locations = self.boundary.capture_locations();
        Some(self.boundary_at(buf, 0, &mut locations)?.cut).filter(|&cut| cut > 0)
    }

    fn remove_separators(&self, data: &mut Vec<u8>) {
        let kept = self.between.replace_all(data, &b""[..]);
        let kept = self.at_start.replace(&kept, &b""[..]).into_owned();
        *data = kept;
        let mut locations = self.at_end.capture_locations();
        if self.at_end.captures_read(&mut locations, data).is_some()
            && let Some((start, end)) = locations.get(1)
        {
            data.drain(start..end);
        }
    }
}

/// One boundary found by a regex.
#[derive(Debug, Clone, Copy)]
struct Found {
    start: usize,
    /// Where the record end stops and the record start begins.
    cut: usize,
    end: usize,
}

/// Finds boundaries in a buffer, as GNU parallel's `rindex`/`index` calls
/// or, with --regexp, its regexes.
#[derive(Debug, Clone)]
pub enum Finder {
    Fixed { pattern: Vec<u8>, recend_len: usize },
    Regexp(Box<Patterns>),
}

impl Finder {
    pub fn new(boundary: &Boundary) -> Finder {
        match &boundary.regexp {
            Some(patterns) => Finder::Regexp(Box::new(patterns.clone())),
            None => Finder::Fixed {
                pattern: boundary.pattern(),
                recend_len: boundary.recend.len(),
            },
        }
    }

    /// The cut after the last boundary in `buf`; None if there is none, or
    /// only one that would cut nothing off.
    pub fn last_cut(&self, buf: &[u8]) -> Option<usize> {
        let cut = match self {
            Finder::Fixed { pattern, .. } if pattern.is_empty() => buf.len(),
            Finder::Fixed {
                pattern,
                recend_len,
            } => buf.rfind(pattern)? + recend_len,
            Finder::Regexp(patterns) => patterns.last_cut(buf)?,
        };
        Some(cut).filter(|&cut| cut > 0)
    }

    /// The cut after the `n`th record in `buf`. Fixed strings count
    /// boundaries from offset 1 (GNU's `nindex`: a boundary at the very
    /// start is no record).
    pub fn nth_cut(&self, buf: &[u8], n: usize) -> Option<usize> {
        let (pattern, recend_len) = match self {
            Finder::Fixed {
                pattern,
                recend_len,
            } => (pattern, recend_len),
            Finder::Regexp(patterns) => return patterns.nth_cut(buf, n),
        };
        if pattern.is_empty() {
            return None;
        }
        let mut at = 0;
        for _ in 0..n {
            let from = at + 1;
            at = from + buf.get(from..)?.find(pattern)?;
        }
        Some(at + recend_len)
    }

    /// -N, once at the start of input: the cut that makes the bytes before
    /// the first record a block of their own (--regexp only, as GNU).
    pub fn garbage_cut(&self, buf: &[u8]) -> Option<usize> {
        match self {
            Finder::Fixed { .. } => None,
            Finder::Regexp(patterns) => patterns.garbage_cut(buf),
        }
    }

    /// --pipe-part: the cut in a window read from a file past a block's
    /// size. Fixed strings cut at the first boundary; regexes at the last
    /// (GNU's greedy `^(.*R)S`).
    pub fn part_cut(&self, window: &[u8]) -> Option<usize> {
        match self {
            Finder::Fixed {
                pattern,
                recend_len,
            } => Some(window.find(pattern)? + recend_len),
            Finder::Regexp(patterns) => patterns.last_cut(window),
        }
    }

    /// How many bytes of a searched window the next must hold again (a
    /// boundary may straddle two); None: a regex needs the whole window.
    pub fn overlap(&self) -> Option<usize> {
        match self {
            Finder::Fixed { pattern, .. } => Some(pattern.len().saturating_sub(1)),
            Finder::Regexp(_) => None,
        }
    }

    /// A boundary can be nowhere but anywhere: cut right at the block size.
    pub fn cuts_anywhere(&self) -> bool {
        matches!(self, Finder::Fixed { pattern, .. } if pattern.is_empty())
    }
}

/// --rrs: takes the separators out of a block, as GNU parallel does: every
/// recend+recstart between two records, a recstart at its start and a
/// recend at its end.
pub fn remove_separators(data: &mut Vec<u8>, boundary: &Boundary) {
    if let Some(patterns) = &boundary.regexp {
        patterns.remove_separators(data);
        return;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn regexp(recend: Option<&str>, recstart: Option<&str>) -> Boundary {
        Boundary::of_regexp(recend, recstart, false).unwrap()
    }

    fn remove(text: &str, boundary: &Boundary) -> String {
        let mut data = text.as_bytes().to_vec();
        remove_separators(&mut data, boundary);
        String::from_utf8(data).unwrap()
    }

    #[test]
    fn removing_separators_is_gnu_parallels_three_substitutions() {
        assert_eq!(remove("a\nb\nc\n", &Boundary::of(None, None)), "abc");
        let five = Boundary::of(Some(b"5".to_vec()), None);
        assert_eq!(remove("1\n2\n5\n15\n", &five), "1\n2\n\n1\n");
        let both = Boundary::of(Some(b"}".to_vec()), Some(b"{".to_vec()));
        assert_eq!(remove("{a}{b}{c}", &both), "abc");
        assert_eq!(remove("{a}x{b}", &both), "a}x{b");
    }

    #[test]
    fn regexp_separators_go_as_perl_substitutes_them() {
        // GNU parallel 20221122: printf 'a1b22c3\n' | parallel --pipe
        // --regexp --recend '[0-9]+' --rrs cat
        let digits = regexp(Some("[0-9]+"), None);
        assert_eq!(
            remove("a1b22c3\n", &digits),
            "abc\n",
            "perl's $ before a last newline"
        );
        let fasta = regexp(None, Some("^>"));
        assert_eq!(remove(">a\nx\n>b\ny\n", &fasta), "a\nx\nb\ny\n");
    }

    #[test]
    fn a_regexp_cut_is_after_the_last_boundary_line_by_line() {
        let fasta = regexp(None, Some("^>"));
        let finder = Finder::new(&fasta);
        assert_eq!(
            finder.last_cut(b">a\nx>y\n>b\ny\n"),
            Some(7),
            "^ is a line start"
        );
        assert_eq!(
            finder.last_cut(b">a\nxy\n"),
            None,
            "a boundary at 0 cuts nothing"
        );
        let far = [
            vec![b'>'],
            vec![b'a'; 100_000],
            b"\n>b".to_vec(),
            vec![b'c'; 9000],
        ]
        .concat();
        assert_eq!(
            finder.last_cut(&far),
            Some(100_002),
            "found past the first window"
        );
    }

    #[test]
    fn regexp_records_are_counted_from_each_record_start() {
        let both = regexp(Some("\n"), Some(">[ab]"));
        let finder = Finder::new(&both);
        let input = b"junk\n>a\nx\n>c\n>b\ny\n>a\n";
        assert_eq!(finder.garbage_cut(input), Some(5));
        assert_eq!(
            finder.nth_cut(&input[5..], 1),
            Some(8),
            ">c starts no record"
        );
        assert_eq!(finder.nth_cut(&input[5..], 2), Some(13));
        assert_eq!(finder.nth_cut(&input[5..], 3), None, "the last is open");
        assert_eq!(finder.garbage_cut(&input[5..]), None);
    }

    #[test]
    fn an_empty_regexp_recend_alone_is_any_one_character() {
        let any = regexp(Some(""), None);
        let finder = Finder::new(&any);
        assert_eq!(finder.nth_cut(b"abcdefg", 3), Some(3));
        assert_eq!(finder.nth_cut(b"ab", 3), None);
        assert_eq!(finder.last_cut(b"abc\n"), Some(4));
        assert_eq!(remove("abc", &any), "");
    }

    #[test]
    fn a_bad_regexp_is_an_error_not_a_panic() {
        assert!(Boundary::of_regexp(Some("(unclosed"), None, false).is_err());
        let unicode = Boundary::of_regexp(Some("[é]"), None, true);
        assert!(
            unicode.is_ok(),
            "compiled as Unicode when bytes cannot: {unicode:?}"
        );
    }
}
