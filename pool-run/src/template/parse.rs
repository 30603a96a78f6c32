//! Reading a command's words into pieces: the default replacement strings
//! and their renames (-I, --er, ...), `{= perl =}` with its --parens, and
//! the --rpl and --plus strings that run in perl. What comes out is the
//! template's words; filling them in per job is the parent module's.

use bstr::{BString, ByteSlice, ByteVec};

use super::{Part, Piece, Word};
use crate::perl::{self, Rpl};

/// A default replacement string renamed by -I, --er, --bnr, --dnr, --bner,
/// --seqreplace or --slotreplace: the new token stands for what the brace
/// form stood for, and the brace form becomes plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renamed {
    Whole,
    NoExtension,
    Basename,
    Dirname,
    BasenameNoExtension,
    Seq,
    Slot,
}

impl Renamed {
    /// The brace form it replaces, without the braces.
    fn default_inner(self) -> &'static str {
        match self {
            Renamed::Whole => "",
            Renamed::NoExtension => ".",
            Renamed::Basename => "/",
            Renamed::Dirname => "//",
            Renamed::BasenameNoExtension => "/.",
            Renamed::Seq => "#",
            Renamed::Slot => "%",
        }
    }

    fn piece(self) -> Piece {
        let value = |part| Piece::Value { source: None, part };
        match self {
            Renamed::Whole => value(Part::Whole),
            Renamed::NoExtension => value(Part::NoExtension),
            Renamed::Basename => value(Part::Basename),
            Renamed::Dirname => value(Part::Dirname),
            Renamed::BasenameNoExtension => value(Part::BasenameNoExtension),
            Renamed::Seq => Piece::Seq,
            Renamed::Slot => Piece::Slot,
        }
    }
}

/// Which replacement strings the command's words have, besides the
/// defaults: GNU parallel's renames (-I and friends), --plus, and --rpl.
#[derive(Debug, Clone, Default)]
pub struct Strings {
    pub plus: bool,
    pub renamed: Vec<(BString, Renamed)>,
    /// --rpl definitions, tried before --plus's.
    pub rpls: Vec<Rpl>,
    /// The perl code of every `Piece::Perl` of the templates parsed under
    /// these strings, by id: one co-process runs them all.
    pub codes: std::cell::RefCell<Vec<String>>,
    /// What encloses a perl expression: `{=` and `=}` unless --parens.
    pub parens: Parens,
}

/// --parens: the left and right halves of its string (default `{==}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parens {
    pub open: BString,
    pub close: BString,
}

impl Default for Parens {
    fn default() -> Parens {
        Parens::of("{==}")
    }
}

impl Parens {
    /// GNU parallel's --parens: the string's two halves.
    pub fn of(text: &str) -> Parens {
        let half = text.len() / 2;
        let half = (half..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(half);
        Parens {
            open: BString::from(&text[..half]),
            close: BString::from(&text[half..]),
        }
    }
}

/// Reads words into pieces under one set of `Strings`, adding the perl code
/// the words need to `strings.codes`.
pub(super) struct Parser<'a> {
    strings: &'a Strings,
    plus_rpls: Vec<(Rpl, bool)>,
}

/// `{= code =}` may span words (`{= s/a/b/ =}` unquoted is three shell
/// words): GNU parallel reads the command as one line, so words from an
/// unclosed `{=` to its `=}` are joined back with spaces.
pub(super) fn join_perl_words(command: &[BString], parens: &Parens) -> Vec<BString> {
    let mut words: Vec<BString> = Vec::new();
    let mut open = false;
    for word in command {
        if open && let Some(last) = words.last_mut() {
            last.push_byte(b' ');
            last.push_str(word);
        } else {
            words.push(word.clone());
        }
        let last = words.last().map_or(&b""[..], |w| &w[..]);
        open = unclosed_perl(last, parens);
    }
    words
}

/// Whether `word` has a `{=` with no `=}` after it.
fn unclosed_perl(word: &[u8], parens: &Parens) -> bool {
    let (open, close) = (&parens.open[..], &parens.close[..]);
    let mut rest = word;
    while let Some(at) = rest.find(open) {
        let inside = &rest[at + open.len()..];
        match inside.find(close) {
            Some(end) => rest = &inside[end + close.len()..],
            None => return true,
        }
    }
    false
}

impl<'a> Parser<'a> {
    pub(super) fn new(strings: &'a Strings) -> Parser<'a> {
        let plus_rpls = if strings.plus {
            perl::PLUS
                .iter()
                .filter_map(|(tag, code)| {
                    let once = matches!(*tag, "##" | "0%" | "0#");
                    Rpl::new(tag, code).ok().map(|rpl| (rpl, once))
                })
                .collect()
        } else {
            Vec::new()
        };
        Parser { strings, plus_rpls }
    }

    /// The id of `code` (groups bound), added if new.
    fn code(&mut self, code: &str) -> usize {
        let code = perl::bind_groups(code);
        let mut codes = self.strings.codes.borrow_mut();
        match codes.iter().position(|c| *c == code) {
            Some(id) => id,
            None => {
                codes.push(code);
                codes.len() - 1
            }
        }
    }

    /// Splits a word into text and placeholders. `{{}}` is a literal `{}`.
    pub(super) fn word(&mut self, word: &[u8]) -> Word {
        let mut pieces = Vec::new();
        let mut text = BString::default();
        let mut rest = word;
        let flush = |text: &mut BString, pieces: &mut Vec<Piece>| {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(text)));
            }
        };
        'scan: while !rest.is_empty() {
            for (token, renamed) in &self.strings.renamed {
                if !token.is_empty() && rest.starts_with(token) {
                    flush(&mut text, &mut pieces);
                    pieces.push(renamed.piece());
                    rest = &rest[token.len()..];
                    continue 'scan;
                }
            }
            if let Some((piece, used)) = self.perl_expression(rest) {
                flush(&mut text, &mut pieces);
                pieces.push(piece);
                rest = &rest[used..];
                continue;
            }
            if rest[0] != b'{' {
                text.push_byte(rest[0]);
                rest = &rest[1..];
                continue;
            }
            if let Some(stripped) = rest.strip_prefix(b"{{}}") {
                text.push_str("{}");
                rest = stripped;
                continue;
            }
            match rest
                .find_byte(b'}')
                .and_then(|close| self.placeholder(&rest[1..close]).map(|p| (p, close)))
            {
                Some((piece, close)) => {
                    flush(&mut text, &mut pieces);
                    pieces.push(piece);
                    rest = &rest[close + 1..];
                }
                None => {
                    text.push_byte(b'{');
                    rest = &rest[1..];
                }
            }
        }
        flush(&mut text, &mut pieces);
        Word(pieces)
    }

    /// `{= code =}` or `{=N code =}` at the start of `rest`: the piece and
    /// the bytes it took.
    fn perl_expression(&mut self, rest: &[u8]) -> Option<(Piece, usize)> {
        let (open, end) = (
            &self.strings.parens.open[..],
            &self.strings.parens.close[..],
        );
        let inside = rest.strip_prefix(open)?;
        let close = inside.find(end)?;
        let body = &inside[..close];
        let digits = body.iter().take_while(|b| b.is_ascii_digit()).count();
        let source = if digits > 0 {
            let n: usize = std::str::from_utf8(&body[..digits]).ok()?.parse().ok()?;
            Some(n.checked_sub(1)?)
        } else {
            None
        };
        let code = String::from_utf8_lossy(&body[digits..]).trim().to_string();
        let id = self.code(&code);
        Some((
            Piece::Perl {
                id,
                source,
                groups: Vec::new(),
                once: false,
            },
            open.len() + close + end.len(),
        ))
    }

    /// The placeholder named by the text between braces, if it is one.
    fn placeholder(&mut self, inner: &[u8]) -> Option<Piece> {
        let renamed_away = self
            .strings
            .renamed
            .iter()
            .any(|(_, r)| r.default_inner().as_bytes() == inner);
        if !renamed_away && let Some(piece) = builtin_placeholder(inner, self.strings.plus) {
            return Some(piece);
        }
        // As GNU parallel: the longest tag first (`{%%x}` before `{%x}`),
        // --rpl's before --plus's of the same length.
        let mut candidates: Vec<(&Rpl, bool)> = self
            .strings
            .rpls
            .iter()
            .map(|rpl| (rpl, false))
            .chain(self.plus_rpls.iter().map(|(rpl, once)| (rpl, *once)))
            .collect();
        candidates.sort_by_key(|(rpl, _)| std::cmp::Reverse(rpl.tag.as_str().len()));
        let found = candidates.into_iter().find_map(|(rpl, once)| {
            rpl.matches(inner)
                .map(|(code, groups)| (code, groups, once))
        });
        let (code, groups, once) = found?;
        let once = once || code.starts_with("1 ");
        let id = self.code(code.strip_prefix("1 ").unwrap_or(&code));
        Some(Piece::Perl {
            id,
            source: None,
            groups,
            once,
        })
    }
}

/// The built-in placeholder named by the text between braces, if it is one.
fn builtin_placeholder(inner: &[u8], plus: bool) -> Option<Piece> {
    // Every placeholder is ASCII; other bytes make this plain text.
    let inner = std::str::from_utf8(inner).ok()?;
    if plus {
        let part = match inner {
            ".." => Some(Part::NoExtensions(2)),
            "..." => Some(Part::NoExtensions(3)),
            "/.." => Some(Part::BasenameNoExtensions(2)),
            "/..." => Some(Part::BasenameNoExtensions(3)),
            "+." => Some(Part::Extensions(1)),
            "+.." => Some(Part::Extensions(2)),
            "+..." => Some(Part::Extensions(3)),
            "+/" => Some(Part::Directory),
            _ => None,
        };
        if let Some(part) = part {
            return Some(Piece::Value { source: None, part });
        }
    }
    match inner {
        "#" => return Some(Piece::Seq),
        "%" => return Some(Piece::Slot),
        "host" => return Some(Piece::Host),
        _ => {}
    }
    let digits = inner.len() - inner.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, suffix) = inner.split_at(digits);
    let part = match suffix {
        "" => Part::Whole,
        "." => Part::NoExtension,
        "/" => Part::Basename,
        "//" => Part::Dirname,
        "/." => Part::BasenameNoExtension,
        _ => return None,
    };
    let source = if number.is_empty() {
        None
    } else {
        let n: usize = number.parse().ok()?;
        Some(n.checked_sub(1)?)
    };
    Some(Piece::Value { source, part })
}
