//! The command template: GNU parallel's placeholders, parsed once, filled in
//! per job in a single pass (text coming from the input is never parsed
//! again), and the choice between running the words directly and running
//! them through `sh -c` with every substituted value quoted.
//!
//! Everything here is bytes (`BString`), never UTF-8 text: an input value
//! that is not UTF-8 reaches the job's argv exactly as it was read.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use bstr::{BString, ByteSlice, ByteVec};

use crate::perl::{self, Perl};

mod parse;

pub use parse::{Parens, Renamed, Strings};
use parse::{Parser, join_perl_words};

/// What a placeholder takes from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `{}`: the value as is.
    Whole,
    /// `{.}`: without its extension.
    NoExtension,
    /// `{/}`: the base name.
    Basename,
    /// `{//}`: the directory.
    Dirname,
    /// `{/.}`: the base name without its extension.
    BasenameNoExtension,
    /// --plus `{..}`, `{...}`: without its last 2 or 3 extensions.
    NoExtensions(usize),
    /// --plus `{/..}`, `{/...}`: the base name without 2 or 3 extensions.
    BasenameNoExtensions(usize),
    /// --plus `{+.}`, `{+..}`, `{+...}`: the last 1, 2 or 3 extensions
    /// (what `{.}`, `{..}`, `{...}` take off, without the first dot).
    Extensions(usize),
    /// --plus `{+/}`: the directory part as written (empty when none).
    Directory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(BString),
    /// `source`: None for all sources joined by spaces, Some(n) for the n-th (0-based).
    Value {
        source: Option<usize>,
        part: Part,
    },
    /// `{#}`: the job's sequence number.
    Seq,
    /// `{%}`: the job's slot number.
    Slot,
    /// `{host}`: the sshlogin the job runs on (`:` for this machine).
    Host,
    /// `{= code =}`, an --rpl or a --plus string run in perl: `id` is the
    /// code's number in `Template::codes`, `groups` what the replacement
    /// string's tag captured, `once` a code that does not read the value
    /// (GNU's `1 ` prefix: `{##}` is one number, however many values).
    Perl {
        id: usize,
        source: Option<usize>,
        groups: Vec<BString>,
        once: bool,
    },
}

impl Piece {
    /// Stands for all of the job's values (spread by -m and -X).
    fn all_values(&self) -> bool {
        matches!(
            self,
            Piece::Value { source: None, .. }
                | Piece::Perl {
                    source: None,
                    once: false,
                    ..
                }
        )
    }
}

/// One word of the command, as pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word(Vec<Piece>);

/// The values one job fills in.
#[derive(Debug, Clone, Copy)]
pub struct Fill<'a> {
    pub values: &'a [BString],
    pub seq: u64,
    pub slot: usize,
    /// The sshlogin the job runs on (`:` for this machine).
    pub host: &'a str,
    pub spread: Spread,
    /// Jobs in all, when the input was read up front (`{##}`, total_jobs()).
    pub total: Option<u64>,
    /// The perl co-process, when the command has perl expressions.
    pub perl: Option<&'a Perl>,
}

impl<'a> Fill<'a> {
    /// A job's values, numbers and host; one record per job (`Joined`), no
    /// total known, no perl.
    pub fn of(values: &'a [BString], seq: u64, slot: usize, host: &'a str) -> Fill<'a> {
        Fill {
            values,
            seq,
            slot,
            host,
            spread: Spread::Joined,
            total: None,
            perl: None,
        }
    }
}

/// How `{}` (all values) lands in the command when a job has several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spread {
    /// Joined with spaces into the word (one record per job, several sources).
    #[default]
    Joined,
    /// A word that is just a placeholder becomes one word per value (-n, -m).
    Words,
    /// Every word holding an all-values placeholder is repeated per value (-X).
    Context,
}

/// How a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// argv, executed directly.
    Direct(Vec<BString>),
    /// A command line for `sh -c`.
    Shell(BString),
}

impl Invocation {
    /// How the command reads, for --dry-run and the joblog.
    pub fn display(&self) -> BString {
        match self {
            Invocation::Direct(argv) => join(argv.iter().map(|w| shell_quote(w))),
            Invocation::Shell(line) => line.clone(),
        }
    }

    /// The program to run: argv's first word, or `sh`.
    pub fn program(&self) -> &OsStr {
        match self {
            Invocation::Direct(argv) => OsStr::from_bytes(&argv[0]),
            Invocation::Shell(_) => OsStr::new("sh"),
        }
    }

    /// The arguments after the program (`-c LINE` for a shell line).
    pub fn args(&self) -> Vec<&OsStr> {
        match self {
            Invocation::Direct(argv) => argv[1..].iter().map(|w| OsStr::from_bytes(w)).collect(),
            Invocation::Shell(line) => vec![OsStr::new("-c"), OsStr::from_bytes(line)],
        }
    }
}

/// Whether a command runs directly or through `sh -c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Through sh when it needs one: shell syntax, or a builtin or keyword
    /// as its first word.
    AsNeeded,
    /// Always through sh (--shell).
    Shell,
    /// Never (-q): the words as they are, shell syntax included.
    Direct,
}

/// Shell builtins and keywords that have no program of their own on PATH:
/// a command starting with one must run through sh.
const BUILTINS: &[&str] = &[
    "exit", "cd", "export", "unset", "set", "eval", "exec", "source", ".", "alias", "read", "wait",
    "trap", "shift", "return", "break", "continue", "ulimit", "umask", "if", "for", "while",
    "until", "case", "{", "(", "!", "local", "readonly", "times", "type", "hash", "command",
    "getopts", "jobs", "fg", "bg", "unalias",
];

/// Whether `name` is a bash function exported to pool-run (`export -f`
/// puts it in the environment as `BASH_FUNC_name%%`).
fn is_exported_function(name: &[u8]) -> bool {
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    !name.is_empty() && std::env::var_os(format!("BASH_FUNC_{name}%%")).is_some()
}

fn is_builtin(word: &[u8]) -> bool {
    BUILTINS.iter().any(|b| b.as_bytes() == word)
}

/// A parsed command template.
#[derive(Debug, Clone)]
pub struct Template {
    words: Vec<Word>,
    /// No placeholder anywhere: the values are appended as arguments.
    append: bool,
    shell: bool,
    /// The first word is a bash function exported to us (`export -f f`):
    /// only bash can run it, so the line goes to `bash -c`.
    bash: bool,
}

/// Bytes that make a command word shell syntax rather than a plain word.
const SHELL_SYNTAX: &[u8] = b"|&;<>()$`\\\"' \t\n*?[#~";

impl Template {
    /// Parses the command words. `run` says whether they go through sh.
    /// `strings`: the renamed defaults (-I STR stands for all values in
    /// place of `{}`, which is then plain text), --plus and --rpl.
    pub fn parse_full(command: &[BString], run: Run, strings: &Strings) -> Template {
        let mut parser = Parser::new(strings);
        let words: Vec<Word> = join_perl_words(command, &strings.parens)
            .iter()
            .map(|w| parser.word(w))
            .collect();
        let append = !words
            .iter()
            .any(|w| w.0.iter().any(|p| !matches!(p, Piece::Text(_))));
        let syntax = words.iter().any(|w| {
            w.0.iter()
                .any(|p| matches!(p, Piece::Text(t) if t.find_byteset(SHELL_SYNTAX).is_some()))
        });
        // `exit`, `cd`, `for`...: only a shell can run them (GNU parallel
        // runs every command through one).
        let builtin = matches!(
            words.first().and_then(|w| w.0.first()),
            Some(Piece::Text(t)) if is_builtin(t)
        );
        let function = match words.first().and_then(|w| w.0.first()) {
            Some(Piece::Text(t)) => is_exported_function(t),
            _ => false,
        };
        let shell = match run {
            Run::Direct => false,
            Run::Shell => true,
            Run::AsNeeded => syntax || builtin || function,
        };
        Template {
            words,
            append,
            shell,
            bash: shell && function,
        }
    }

    /// A text with placeholders that is not a command (--tagstring).
    pub fn text(text: &[u8]) -> Template {
        Template::text_with(text, &Strings::default())
    }

    /// A text with placeholders, under `strings`.
    pub fn text_with(text: &[u8], strings: &Strings) -> Template {
        let mut parser = Parser::new(strings);
        let words = vec![parser.word(text)];
        Template {
            words,
            append: false,
            shell: false,
            bash: false,
        }
    }

    /// The text for one job: values filled in as they are, unquoted.
    pub fn fill_text(&self, fill: Fill<'_>) -> BString {
        join(self.words.iter().map(|word| render(word, fill, as_is)))
    }

    /// The command for one job.
    pub fn fill(&self, fill: Fill<'_>) -> Invocation {
        let quote: fn(&[u8]) -> BString = if self.shell { shell_quote } else { as_is };
        let mut words: Vec<BString> = Vec::new();
        for word in &self.words {
            // GNU parallel: a word that is only `{N}`, for a value this job
            // lacks (the last -N batch is short), is left out, not empty.
            if let [
                Piece::Value {
                    source: Some(n), ..
                },
            ] = word.0.as_slice()
                && fill.values.get(*n).is_none()
            {
                continue;
            }
            let spreads = word.0.iter().any(Piece::all_values);
            let alone = word.0.len() == 1;
            let per_value = match fill.spread {
                Spread::Joined => false,
                Spread::Words => spreads && alone,
                Spread::Context => spreads,
            };
            if per_value {
                for value in fill.values {
                    words.push(render(
                        word,
                        Fill {
                            values: std::slice::from_ref(value),
                            ..fill
                        },
                        quote,
                    ));
                }
            } else {
                words.push(render(word, fill, quote));
            }
        }
        if self.append {
            words.extend(fill.values.iter().map(|v| quote(v)));
        }
        if self.bash {
            Invocation::Direct(vec!["bash".into(), "-c".into(), join(words)])
        } else if self.shell {
            Invocation::Shell(join(words))
        } else {
            Invocation::Direct(words)
        }
    }
}

fn render(word: &Word, fill: Fill<'_>, quote: fn(&[u8]) -> BString) -> BString {
    let mut out = BString::default();
    for piece in &word.0 {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Seq => out.push_str(fill.seq.to_string()),
            Piece::Slot => out.push_str(fill.slot.to_string()),
            Piece::Host => out.push_str(quote(fill.host.as_bytes())),
            Piece::Value { source, part } => {
                let value = match source {
                    None => join(fill.values.iter().map(|v| apply(v, *part))),
                    // A value the job lacks is nothing, not a quoted ''
                    // (GNU parallel: `sh -c 'echo c {2} x'` prints `c x`).
                    Some(n) => match fill.values.get(*n) {
                        Some(value) => apply(value, *part),
                        None => continue,
                    },
                };
                out.push_str(quote(&value));
            }
            Piece::Perl {
                id,
                source,
                groups,
                once,
            } => {
                let at = perl::Context {
                    seq: fill.seq,
                    slot: fill.slot,
                    total: fill.total,
                };
                let run = |value: &[u8]| -> BString {
                    match fill.perl {
                        Some(perl) => {
                            let result = perl.eval(*id, value, groups, at);
                            if result.unquoted {
                                result.value
                            } else {
                                quote(&result.value)
                            }
                        }
                        None => BString::default(),
                    }
                };
                let text = match (once, source) {
                    (true, _) => run(b""),
                    (false, Some(n)) => run(fill.values.get(*n).map_or(&b""[..], |v| &v[..])),
                    (false, None) => join(fill.values.iter().map(|v| run(v))),
                };
                out.push_str(text);
            }
        }
    }
    out
}

/// Words joined by single spaces.
fn join(words: impl IntoIterator<Item = BString>) -> BString {
    let mut line = BString::default();
    for (i, word) in words.into_iter().enumerate() {
        if i > 0 {
            line.push_byte(b' ');
        }
        line.push_str(word);
    }
    line
}

fn as_is(text: &[u8]) -> BString {
    BString::from(text)
}

fn apply(value: &[u8], part: Part) -> BString {
    let base = || value.rsplit_str("/").next().unwrap_or(value);
    let strip_ext = |s: &[u8]| -> BString {
        match s.rfind_byte(b'.') {
            // GNU parallel's `s:\.[^/.]*$::`: from the last dot, unless a
            // directory follows it (`.hidden` loses everything, as there).
            Some(i) if !s[i..].contains(&b'/') => BString::from(&s[..i]),
            _ => BString::from(s),
        }
    };
    match part {
        Part::Whole => BString::from(value),
        Part::NoExtension => strip_ext(value),
        Part::Basename => BString::from(base()),
        Part::BasenameNoExtension => strip_ext(base()),
        Part::Dirname => dirname(value),
        Part::NoExtensions(n) => match extensions_start(value, n) {
            Some(at) => BString::from(&value[..at]),
            None => BString::from(value),
        },
        Part::BasenameNoExtensions(n) => {
            let name = base();
            match extensions_start(name, n) {
                Some(at) => BString::from(&name[..at]),
                None => BString::from(name),
            }
        }
        Part::Extensions(1) => {
            let stripped = strip_ext(value);
            BString::from(value.get(stripped.len() + 1..).unwrap_or_default())
        }
        Part::Extensions(n) => match extensions_start(value, n) {
            Some(at) => BString::from(&value[at + 1..]),
            None => BString::default(),
        },
        Part::Directory => match value.rfind_byte(b'/') {
            Some(at) => BString::from(&value[..at]),
            None => BString::default(),
        },
    }
}

/// Where the last `n` extensions of `value` start (each a dot and at least
/// one byte that is neither `/` nor `.`), if it has that many: GNU
/// parallel's `s:(\.[^/.]+){n}$::`.
fn extensions_start(value: &[u8], n: usize) -> Option<usize> {
    let mut end = value.len();
    for _ in 0..n {
        let dot = value[..end].rfind_byte(b'.')?;
        let ext = &value[dot + 1..end];
        if ext.is_empty() || ext.contains(&b'/') {
            return None;
        }
        end = dot;
    }
    Some(end)
}

/// POSIX dirname, as GNU parallel's `{//}`: trailing slashes do not count
/// (`/a/` is in `/`), no slash is `.`, the root is `/`.
fn dirname(value: &[u8]) -> BString {
    let trimmed = value.trim_end_with(|c| c == '/');
    if trimmed.is_empty() {
        return BString::from(if value.is_empty() { "." } else { "/" });
    }
    match trimmed.rfind_byte(b'/') {
        None => BString::from("."),
        Some(i) => {
            let parent = trimmed[..i].trim_end_with(|c| c == '/');
            BString::from(if parent.is_empty() { &b"/"[..] } else { parent })
        }
    }
}

/// Quotes `text` for sh so it is one word of data, never code. Bytes
/// that are not UTF-8 go inside the single quotes as they are: sh passes
/// them through unchanged.
pub fn shell_quote(text: &[u8]) -> BString {
    if !text.is_empty()
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b))
    {
        return BString::from(text);
    }
    let mut quoted = BString::from("'");
    quoted.push_str(text.replace("'", r"'\''"));
    quoted.push_byte(b'\'');
    quoted
}

/// GNU parallel's own quoting (its `--shell-quote` output): as is when
/// only `-_.+/`, letters and digits, else in single quotes, a quote inside
/// as '"'"', the empty '' dropped from either end.
pub fn gnu_shell_quote(text: &[u8]) -> BString {
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"-_.+/".contains(b);
    if text.is_empty() {
        return BString::from("''");
    }
    if text.iter().all(plain) {
        return BString::from(text);
    }
    let mut quoted = BString::from("'");
    quoted.push_str(text.replace("'", r#"'"'"'"#));
    quoted.push_byte(b'\'');
    let quoted = quoted.strip_prefix(b"''").unwrap_or(&quoted);
    let quoted = quoted.strip_suffix(b"''").unwrap_or(quoted);
    BString::from(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_quoting_is_gnu_parallels_shell_quote() {
        let cases: &[(&str, &str)] = &[
            ("abc", "abc"),
            ("a-b_c/d.e+f", "a-b_c/d.e+f"),
            ("a b", "'a b'"),
            ("a,b", "'a,b'"),
            ("", "''"),
            ("c'd", r#"'c'"'"'d'"#),
            ("'x'", r#""'"'x'"'""#),
            ("e$f", "'e$f'"),
        ];
        for (text, quoted) in cases {
            assert_eq!(gnu_shell_quote(text.as_bytes()), *quoted, "{text}");
        }
    }

    fn plus() -> Strings {
        Strings {
            plus: true,
            ..Strings::default()
        }
    }

    fn renamed(token: &str, what: Renamed) -> Strings {
        Strings {
            renamed: vec![(token.into(), what)],
            ..Strings::default()
        }
    }

    fn run(command: &[&str], values: &[&str]) -> Invocation {
        let command: Vec<BString> = command.iter().map(|s| BString::from(*s)).collect();
        let values: Vec<BString> = values.iter().map(|s| BString::from(*s)).collect();
        Template::parse_full(&command, Run::AsNeeded, &Strings::default())
            .fill(Fill::of(&values, 7, 2, ":"))
    }

    fn direct(words: &[&str]) -> Invocation {
        Invocation::Direct(words.iter().map(|s| BString::from(*s)).collect())
    }

    #[test]
    fn placeholders_fill_like_gnu_parallel() {
        let cases: &[(&str, &str)] = &[
            ("{}", "dir/sub/file.tar.gz"),
            ("{.}", "dir/sub/file.tar"),
            ("{/}", "file.tar.gz"),
            ("{//}", "dir/sub"),
            ("{/.}", "file.tar"),
            ("{#}", "7"),
            ("{%}", "2"),
            ("x{}y", "xdir/sub/file.tar.gzy"),
            ("{1}", "dir/sub/file.tar.gz"),
            ("{1.}", "dir/sub/file.tar"),
        ];
        for (word, expected) in cases {
            assert_eq!(
                run(&["echo", word], &["dir/sub/file.tar.gz"]),
                direct(&["echo", expected]),
                "{word}"
            );
        }
        assert_eq!(run(&["echo", "{//}"], &["file"]), direct(&["echo", "."]));
        // Not placeholders: literal text, and the value is appended.
        assert_eq!(run(&["echo", "{{}}"], &["v"]), direct(&["echo", "{}", "v"]));
        assert_eq!(
            run(&["echo", "{print}"], &["v"]),
            direct(&["echo", "{print}", "v"])
        );
        assert_eq!(run(&["echo", "{.}"], &[".hidden"]), direct(&["echo", ""]));
        for (value, dir) in [
            ("/a", "/"),
            ("/a/", "/"),
            ("a", "."),
            ("a//b", "a"),
            ("/", "/"),
        ] {
            assert_eq!(
                run(&["echo", "{//}"], &[value]),
                direct(&["echo", dir]),
                "{value}"
            );
        }
        assert_eq!(
            run(&["echo", "{.}"], &["a.b/c"]),
            direct(&["echo", "a.b/c"])
        );
    }

    #[test]
    fn several_sources_by_number_and_all_together() {
        assert_eq!(
            run(&["cmp", "{2}", "{1}"], &["a", "b"]),
            direct(&["cmp", "b", "a"])
        );
        assert_eq!(run(&["echo", "{}"], &["a", "b"]), direct(&["echo", "a b"]));
    }

    #[test]
    fn a_word_of_only_a_missing_numbered_value_is_left_out() {
        // GNU parallel 20221122: `-N2 echo {1} {2} x ::: a b c` ends with
        // `echo c x`; `{2}z` stays as `z`.
        assert_eq!(
            run(&["echo", "{1}", "{2}", "{2}z", "x"], &["c"]),
            direct(&["echo", "c", "z", "x"])
        );
        assert_eq!(
            run(&["echo {1} {2} x"], &["c"]),
            Invocation::Shell("echo c  x".into()),
            "through sh, nothing where it stood"
        );
    }

    #[test]
    fn no_placeholder_appends_the_values() {
        assert_eq!(
            run(&["echo", "x"], &["a", "b"]),
            direct(&["echo", "x", "a", "b"])
        );
    }

    #[test]
    fn substitution_is_single_pass() {
        assert_eq!(
            run(&["echo", "{}"], &["{} {#}"]),
            direct(&["echo", "{} {#}"])
        );
    }

    #[test]
    fn shell_syntax_quotes_values_as_data() {
        let invocation = run(&["echo {} | wc -c"], &["; rm -rf x"]);
        assert_eq!(
            invocation,
            Invocation::Shell("echo '; rm -rf x' | wc -c".into())
        );
        let invocation = run(&["echo {}"], &["it's"]);
        assert_eq!(invocation, Invocation::Shell(r"echo 'it'\''s'".into()));
        let forced = Template::parse_full(&["echo".into()], Run::Shell, &Strings::default())
            .fill(Fill::of(&["$HOME".into()], 1, 1, ":"));
        assert_eq!(forced, Invocation::Shell("echo '$HOME'".into()));
    }

    #[test]
    fn several_records_spread_as_words_or_in_context() {
        let values: Vec<BString> = vec!["a".into(), "b".into()];
        let fill = |command: &[&str], spread| {
            let command: Vec<BString> = command.iter().map(|s| BString::from(*s)).collect();
            Template::parse_full(&command, Run::AsNeeded, &Strings::default()).fill(Fill {
                values: &values,
                seq: 1,
                slot: 1,
                host: ":",
                spread,
                total: None,
                perl: None,
            })
        };
        assert_eq!(
            fill(&["echo", "{}"], Spread::Words),
            direct(&["echo", "a", "b"])
        );
        assert_eq!(
            fill(&["echo", "x{}"], Spread::Words),
            direct(&["echo", "xa b"])
        );
        assert_eq!(
            fill(&["echo", "x{}y"], Spread::Context),
            direct(&["echo", "xay", "xby"])
        );
        assert_eq!(
            fill(&["echo", "{2}", "{1}"], Spread::Words),
            direct(&["echo", "b", "a"])
        );
    }

    #[test]
    fn builtins_run_through_sh_and_q_runs_words_as_they_are() {
        let parse = |words: &[&str], run| {
            let words: Vec<BString> = words.iter().map(|s| BString::from(*s)).collect();
            Template::parse_full(&words, run, &Strings::default()).fill(Fill::of(
                &[BString::from("1")],
                1,
                1,
                ":",
            ))
        };
        assert_eq!(
            parse(&["exit"], Run::AsNeeded),
            Invocation::Shell("exit 1".into())
        );
        assert_eq!(
            parse(&["cd"], Run::AsNeeded),
            Invocation::Shell("cd 1".into())
        );
        assert_eq!(
            parse(&["echo", "a|b"], Run::Direct),
            direct(&["echo", "a|b", "1"])
        );
        assert_eq!(
            parse(&["exit-code"], Run::AsNeeded),
            direct(&["exit-code", "1"])
        );
    }

    #[test]
    fn a_replacement_string_stands_for_the_values() {
        let words: Vec<BString> = ["echo", ",,", "x,,y", "{}", "{.}"]
            .iter()
            .map(|s| BString::from(*s))
            .collect();
        let filled = Template::parse_full(&words, Run::AsNeeded, &renamed(",,", Renamed::Whole))
            .fill(Fill::of(&[BString::from("a.b")], 1, 1, ":"));
        assert_eq!(filled, direct(&["echo", "a.b", "xa.by", "{}", "a"]));
    }

    #[test]
    fn plus_strings_take_extensions_and_directories_as_gnu_parallel() {
        let fill = |word: &str, value: &str| {
            let words = vec![BString::from("echo"), BString::from(word)];
            Template::parse_full(&words, Run::Direct, &plus()).fill(Fill::of(
                &[BString::from(value)],
                1,
                1,
                ":",
            ))
        };
        let value = "dir/sub/a.tar.gz.x";
        for (word, expected) in [
            ("{+/}", "dir/sub"),
            ("{+.}", "x"),
            ("{+..}", "gz.x"),
            ("{+...}", "tar.gz.x"),
            ("{..}", "dir/sub/a.tar"),
            ("{...}", "dir/sub/a"),
            ("{/..}", "a.tar"),
            ("{/...}", "a"),
        ] {
            assert_eq!(fill(word, value), direct(&["echo", expected]), "{word}");
        }
        assert_eq!(
            fill("{..}", "c.d"),
            direct(&["echo", "c.d"]),
            "one extension only"
        );
        assert_eq!(fill("{+..}", "c.d"), direct(&["echo", ""]));
        let without = Template::parse_full(
            &[BString::from("echo"), BString::from("{..}")],
            Run::Direct,
            &Strings::default(),
        );
        assert!(without.append, "without --plus {{..}} is text");
    }

    #[test]
    fn shell_quote_leaves_plain_words_alone() {
        assert_eq!(shell_quote(b"file-1.txt"), "file-1.txt");
        assert_eq!(shell_quote(b""), "''");
        assert_eq!(shell_quote(b"a b"), "'a b'");
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through_every_part_and_quote() {
        let value = BString::from(&b"d\xff/f\xfe.t\x80"[..]);
        let fill = |command: &[&[u8]]| {
            let command: Vec<BString> = command.iter().map(|s| BString::from(*s)).collect();
            Template::parse_full(&command, Run::AsNeeded, &Strings::default()).fill(Fill::of(
                std::slice::from_ref(&value),
                1,
                1,
                ":",
            ))
        };
        let expect =
            |words: &[&[u8]]| Invocation::Direct(words.iter().map(|s| BString::from(*s)).collect());
        assert_eq!(
            fill(&[b"e\xe9", b"{}"]),
            expect(&[b"e\xe9", b"d\xff/f\xfe.t\x80"])
        );
        assert_eq!(fill(&[b"e", b"{/.}"]), expect(&[b"e", b"f\xfe"]));
        assert_eq!(fill(&[b"e", b"{//}"]), expect(&[b"e", b"d\xff"]));
        assert_eq!(
            fill(&[b"e {}"]),
            Invocation::Shell(BString::from(&b"e 'd\xff/f\xfe.t\x80'"[..]))
        );
        assert_eq!(shell_quote(b"\xff'"), BString::from(&b"'\xff'\\'''"[..]));
    }
}
