//! `{= perl expression =}`, `--rpl` and the bash-like `--plus` strings
//! (`{:2:3}`, `{%.gz}`, `{/a/b}`, `{##}`, ...): GNU parallel defines these
//! as perl code run on the value, so pool-run runs them in perl too, in one
//! long-lived `perl` co-process started when the command has any. Every
//! expression is compiled once at start (a syntax error is one line and
//! exit 255 before any job runs); each job then costs one round trip on a
//! pipe per placeholder.
//!
//! The code sees what GNU parallel gives it: `$_` is the value (the result
//! is what `$_` holds after), `seq()`, `slot()`, `total_jobs()`,
//! `$job->seq()`, `$job->slot()`, `Q()` to quote for the shell, and `uq()`
//! to leave this result unquoted. A replacement string's captured groups are
//! `$$1`, `$$2`, ... as in GNU parallel's `--rpl`.

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use bstr::BString;

/// The perl side: compiles the codes given as arguments, then answers
/// requests on stdin. A request is a header line `ID SEQ SLOT TOTAL
/// VALUE_LEN GROUP_LEN...` and then the value and the groups' bytes; the
/// answer is `UQ LEN` and the result's bytes.
const SCRIPT: &str = r#"
no strict; no warnings;
binmode STDIN; binmode STDOUT; $| = 1;
package Job; sub seq { $main::__seq } sub slot { $main::__slot }
package main;
$job = bless {}, 'Job';
sub seq { $__seq } sub slot { $__slot } sub total_jobs { $__total }
sub uq { $__uq = 1; }
sub Q { my $s = @_ ? shift : $_;
  return $s if $s =~ m{^[-_.+a-zA-Z0-9/:=,\@%^]+$};
  $s =~ s/'/'"'"'/g; return "'$s'"; }
sub make_regexp_ungreedy { my $r = shift; $r =~ s/(?<!\\)([*+])(?!\?)/$1?/g; $r }
@__subs = map { my $c = $_; my $s = eval "sub { $c\n;}";
  if (!defined $s) { my $e = $@; $e =~ s/\n.*//s; print "error $e\n"; exit 2 } $s } @ARGV;
print "ready\n";
while (defined(my $head = <STDIN>)) {
  chomp $head;
  my ($id, $seq, $slot, $total, $len, @glens) = split / /, $head;
  read STDIN, $_, $len;
  my @groups = map { my $g; read STDIN, $g, $_; $g } @glens;
  ($__seq, $__slot, $__total, $__uq) = ($seq, $slot, $total, 0);
  for my $i (1 .. @groups) { ${"__g$i"} = $groups[$i - 1]; }
  if ($id eq "filter") { my $code = $_; $_ = (eval $code) ? 1 : 0; }
  else { eval { $__subs[$id]->(); 1 } or do { my $e = $@; $e =~ s/\n.*//s;
    print STDERR "pool-run: warning: {= =}: $e\n"; }; }
  $_ = "" unless defined $_;
  print "$__uq ", length($_), "\n", $_;
}
"#;

/// GNU parallel's `--plus` strings that need code, as `(tag, code)`: the tag
/// is a regex over the text between the braces; `$$N` is its N-th group.
pub const PLUS: &[(&str, &str)] = &[
    (r"##", "$_ = total_jobs()"),
    (
        r"0%",
        "my $f = 1 + int(log(($ENV{POOL_RUN_SLOTS} || 1)) / log(10)); $_ = sprintf(\"%0${f}d\", slot())",
    ),
    (
        r"0#",
        "my $f = 1 + int(log(total_jobs() || 1) / log(10)); $_ = sprintf(\"%0${f}d\", seq())",
    ),
    (r":-([^}]+?)", "$_ ||= $$1"),
    (r":(\d+?)", "substr($_, 0, $$1) = \"\""),
    (r":(\d+?):(\d+?)", "$_ = substr($_, $$1, $$2);"),
    (
        r"#([^#}][^}]*?)",
        "my $n = make_regexp_ungreedy($$1); s/^$n(.*)/$1/;",
    ),
    (r"##([^#}][^}]*?)", "s/^$$1//;"),
    (
        r"%([^}]+?)",
        "my $n = make_regexp_ungreedy($$1); s/(.*)$n$/$1/;",
    ),
    (r"%%([^}]+?)", "s/$$1$//;"),
    (r"/([^#%}/]+?)/([^}]*?)", "s/$$1/$$2/;"),
    (r"/#([^}]+?)/([^}]*?)", "s/^$$1/$$2/g;"),
    (r"/%([^}]+?)/([^}]*?)", "s/$$1$/$$2/g;"),
    (r"//([^}]+?)/([^}]*?)", "s/$$1/$$2/g;"),
    (r"\^([^}]+?)", "s/^($$1)/uc($1)/e;"),
    (r"\^\^([^}]+?)", "s/($$1)/uc($1)/eg;"),
    (r",([^}]+?)", "s/^($$1)/lc($1)/e;"),
    (r",,([^}]+?)", "s/($$1)/lc($1)/eg;"),
];

/// A replacement string: the regex over the text between the braces, and
/// the code it runs.
#[derive(Debug, Clone)]
pub struct Rpl {
    pub tag: regex::bytes::Regex,
    pub code: String,
}

impl Rpl {
    /// `--rpl 'TAG CODE'`: TAG is `{...}` (its inside is a regex whose
    /// groups the code reads as `$$1`...); a leading `1 ` of the code (GNU
    /// parallel's "once per job") changes nothing here.
    pub fn parse(definition: &str) -> Result<Rpl, String> {
        let (tag, code) = definition
            .split_once(' ')
            .ok_or_else(|| format!("--rpl '{definition}': want 'TAG perl-expression'"))?;
        let inner = tag
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| format!("--rpl '{definition}': the tag is written {{...}}"))?;
        Rpl::new(inner, code.strip_prefix("1 ").unwrap_or(code))
    }

    pub fn new(inner: &str, code: &str) -> Result<Rpl, String> {
        let tag = regex::bytes::Regex::new(&format!("^(?s:{inner})$"))
            .map_err(|e| format!("replacement string {{{inner}}}: {e}"))?;
        Ok(Rpl {
            tag,
            code: code.to_string(),
        })
    }

    /// The code and the captured groups, if `inner` (the text between the
    /// braces) is this replacement string.
    pub fn matches(&self, inner: &[u8]) -> Option<(String, Vec<BString>)> {
        let caps = self.tag.captures(inner)?;
        let groups = caps
            .iter()
            .skip(1)
            .map(|g| BString::from(g.map_or(&b""[..], |m| m.as_bytes())))
            .collect();
        Some((self.code.clone(), groups))
    }
}

/// `$$1` in GNU's replacement code is the first group: a variable here.
pub fn bind_groups(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("$$") {
        let digits: String = rest[at + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if digits.is_empty() {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
        } else {
            out.push_str(&rest[..at]);
            out.push_str(&format!("${{__g{digits}}}"));
            rest = &rest[at + 2 + digits.len()..];
        }
    }
    out.push_str(rest);
    out
}

/// The running co-process.
#[derive(Debug)]
pub struct Perl {
    io: RefCell<Channel>,
}

#[derive(Debug)]
struct Channel {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Set once the co-process failed: later values are empty, one warning.
    broken: bool,
}

/// What one evaluation gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    pub value: BString,
    /// The code called uq(): the value goes in unquoted.
    pub unquoted: bool,
}

/// What the code is given besides the value.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub seq: u64,
    pub slot: usize,
    pub total: Option<u64>,
}

impl Perl {
    /// Starts perl with every code compiled. Err is the one line to print:
    /// perl missing, or the compile error of a code.
    /// `slots`: the job slots, for `{0%}`'s width.
    pub fn start(codes: &[String], slots: usize) -> Result<Perl, String> {
        let mut child = Command::new("perl")
            .args(["-e", SCRIPT, "--"])
            .args(codes)
            .env("POOL_RUN_SLOTS", slots.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Runtime warnings go straight to the user, as GNU parallel's do.
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!("{{= perl expression =}} and --plus/--rpl strings need perl ({e})")
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("starting perl: no pipes".to_string());
        };
        let mut stdout = BufReader::new(stdout);
        let mut ready = String::new();
        let _ = stdout.read_line(&mut ready);
        if ready != "ready\n" {
            let _ = child.wait();
            let why = ready
                .trim_end()
                .strip_prefix("error ")
                .unwrap_or("perl ended");
            return Err(format!("a perl expression does not compile: {why}"));
        }
        Ok(Perl {
            io: RefCell::new(Channel {
                child,
                stdin,
                stdout,
                broken: false,
            }),
        })
    }

    /// Runs code number `id` on `value`.
    pub fn eval(&self, id: usize, value: &[u8], groups: &[BString], at: Context) -> Evaluated {
        let mut channel = self.io.borrow_mut();
        if channel.broken {
            return Evaluated {
                value: BString::default(),
                unquoted: false,
            };
        }
        match channel.ask(id, value, groups, at) {
            Ok(answer) => answer,
            Err(err) => {
                channel.broken = true;
                let _ = writeln!(
                    io::stderr(),
                    "pool-run: warning: the perl co-process failed ({err}); perl expressions are empty from now on"
                );
                Evaluated {
                    value: BString::default(),
                    unquoted: false,
                }
            }
        }
    }
}

impl Perl {
    /// --filter: whether `code` (its replacement strings already filled
    /// in) is true in perl. A code that does not run is false.
    pub fn holds(&self, code: &[u8], at: Context) -> bool {
        let mut channel = self.io.borrow_mut();
        if channel.broken {
            return false;
        }
        match channel.ask_raw("filter", code, &[], at) {
            Ok(answer) => answer.value == "1",
            Err(_) => {
                channel.broken = true;
                false
            }
        }
    }
}

impl Channel {
    fn ask(
        &mut self,
        id: usize,
        value: &[u8],
        groups: &[BString],
        at: Context,
    ) -> io::Result<Evaluated> {
        self.ask_raw(&id.to_string(), value, groups, at)
    }

    fn ask_raw(
        &mut self,
        id: &str,
        value: &[u8],
        groups: &[BString],
        at: Context,
    ) -> io::Result<Evaluated> {
        let mut head = format!(
            "{id} {} {} {} {}",
            at.seq,
            at.slot,
            at.total.map_or(String::new(), |t| t.to_string()),
            value.len()
        );
        for group in groups {
            head.push_str(&format!(" {}", group.len()));
        }
        head.push('\n');
        let mut request = head.into_bytes();
        request.extend_from_slice(value);
        for group in groups {
            request.extend_from_slice(group);
        }
        self.stdin.write_all(&request)?;
        self.stdin.flush()?;
        let mut answer = String::new();
        if self.stdout.read_line(&mut answer)? == 0 {
            return Err(io::Error::other("perl ended"));
        }
        let (uq, len) = answer
            .trim_end()
            .split_once(' ')
            .ok_or_else(|| io::Error::other("a garbled answer"))?;
        let len: usize = len
            .parse()
            .map_err(|_| io::Error::other("a garbled answer"))?;
        let mut bytes = vec![0; len];
        self.stdout.read_exact(&mut bytes)?;
        Ok(Evaluated {
            value: BString::from(bytes),
            unquoted: uq == "1",
        })
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq: u64) -> Context {
        Context {
            seq,
            slot: 1,
            total: Some(10),
        }
    }

    #[test]
    fn groups_become_variables() {
        assert_eq!(bind_groups("s/$$1/$$2/;"), "s/${__g1}/${__g2}/;");
        assert_eq!(bind_groups("$$ and $$x"), "$$ and $$x");
    }

    #[test]
    fn rpl_tags_match_the_whole_inside_and_capture() {
        let rpl = Rpl::parse("{:(\\d+):(\\d+)} $_ = substr($_, $$1, $$2)").unwrap();
        let (code, groups) = rpl.matches(b":2:3").unwrap();
        assert_eq!(code, "$_ = substr($_, $$1, $$2)");
        assert_eq!(groups, [BString::from("2"), BString::from("3")]);
        assert!(rpl.matches(b":2:3x").is_none());
        assert!(Rpl::parse("nospace").is_err());
        assert!(Rpl::parse("tag code").is_err());
    }

    #[test]
    fn perl_runs_the_codes_with_the_value_and_the_job() {
        if Command::new("perl").arg("-v").output().is_err() {
            return;
        }
        let codes = [
            "s/a/b/g".to_string(),
            "$_ = seq() . '/' . total_jobs()".to_string(),
            bind_groups("s/$$1/X/"),
            "$_ = 'a b'; uq()".to_string(),
        ];
        let perl = Perl::start(&codes, 2).unwrap();
        assert_eq!(perl.eval(0, b"banana", &[], at(1)).value, "bbnbnb");
        assert_eq!(perl.eval(1, b"", &[], at(7)).value, "7/10");
        assert_eq!(perl.eval(2, b"a.b.c", &["b".into()], at(1)).value, "a.X.c");
        let unquoted = perl.eval(3, b"", &[], at(1));
        assert!(unquoted.unquoted);
        // Bytes that are not UTF-8 pass through.
        assert_eq!(perl.eval(0, b"\xffa", &[], at(1)).value, &b"\xffb"[..]);
    }

    #[test]
    fn a_code_that_does_not_compile_is_one_line() {
        if Command::new("perl").arg("-v").output().is_err() {
            return;
        }
        let err = Perl::start(&["s/a/".to_string()], 1).unwrap_err();
        assert!(
            err.starts_with("a perl expression does not compile"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
