//! The tutorial catalogue: README.md's table maps each of the 44 listings of
//! the five tutorials to the prockit command that prints what it prints.
//! This test reads that table (so the README cannot name a command that is
//! not run), runs every command, and compares its stdout with the listing's
//! own output, recorded by `tests/listings/record.sh` into
//! `tests/listings/expected/`. The table's last column says what the
//! comparison forgives, because the listing's own output varies there too:
//! pids and timings (`numbers masked`), the scheduler's order (`sorted`),
//! how two processes' words interleave on one line (`words counted`), or
//! also how many of each word there are (`words total`: only which words and
//! how many in all).

use std::path::PathBuf;
use std::time::Duration;

use crate::support::{bin_path, shell};

/// A row of the README's catalogue.
#[derive(Debug, Clone)]
struct Listing {
    id: String,
    command: String,
    compared: String,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rows between the catalogue's markers in README.md.
fn catalogue() -> Vec<Listing> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- listings:start -->")
        .expect("README.md has the catalogue's start marker");
    let end = readme
        .find("<!-- listings:end -->")
        .expect("README.md has the catalogue's end marker");
    readme[start..end]
        .lines()
        .filter(|line| line.starts_with("| 00"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a catalogue row has 4 cells: {line}");
            let command = cells[2]
                .strip_prefix('`')
                .and_then(|c| c.strip_suffix('`'))
                .unwrap_or_else(|| panic!("the command cell is one code span: {line}"))
                .replace("\\|", "|");
            Listing {
                id: cells[0].to_string(),
                command,
                compared: cells[3].to_string(),
            }
        })
        .collect()
}

/// Every number (a pid, a time, a count the listing drew at random) as `#`,
/// its sign too (a balance of `-8` and one of `3` both read `#`; the `-` of
/// `Thread-1` follows a letter and stays).
fn mask_numbers(line: &str) -> String {
    let mut masked = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        let sign = c == '-'
            && chars.peek().is_some_and(char::is_ascii_digit)
            && !previous.is_some_and(char::is_alphanumeric);
        previous = Some(c);
        if sign {
            continue;
        }
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|&next| next.is_ascii_digit() || next == '.')
            {
                chars.next();
            }
            masked.push('#');
        } else {
            masked.push(c);
        }
    }
    masked
}

/// The words of a line such as `PingPongPing`: each capitalised word alone.
fn words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for c in text.chars() {
        if c.is_uppercase() || found.is_empty() {
            found.push(String::new());
        }
        if !c.is_whitespace()
            && let Some(word) = found.last_mut()
        {
            word.push(c);
        }
    }
    found.retain(|word| !word.is_empty());
    found
}

/// What of `text` the comparison looks at, as the row's last cell says.
fn compared_lines(text: &str, compared: &str) -> Vec<String> {
    let mut lines: Vec<String> = if compared.contains("words") {
        words(text)
    } else {
        text.lines().map(str::to_string).collect()
    };
    if compared.contains("numbers") {
        lines = lines.iter().map(|line| mask_numbers(line)).collect();
    }
    if compared.contains("sorted") || compared.contains("words") {
        lines.sort();
    }
    if compared.contains("words total") {
        // Which words, and how many in all: the split between them is the
        // listing's chance too.
        let total = lines.len();
        lines.dedup();
        lines.push(format!("{total} words"));
    }
    lines
}

fn expected_path(id: &str) -> PathBuf {
    repo_root()
        .join("tests/listings/expected")
        .join(format!("{id}.txt"))
}

#[test]
fn compare_modes_mask_what_they_say() {
    assert_eq!(
        mask_numbers("pid: 4807, took 8.0067s [1]"),
        "pid: #, took #s [#]"
    );
    assert_eq!(mask_numbers("-8304"), "#");
    assert_eq!(mask_numbers("Thread-1 -3"), "Thread-# #");
    assert_eq!(words("PingPongPing"), ["Ping", "Pong", "Ping"]);
    assert_eq!(
        compared_lines("b 12\na 3\n", "numbers masked, sorted"),
        ["a #", "b #"]
    );
    assert_eq!(compared_lines("b\na\n", "exact"), ["b", "a"]);
    assert_eq!(
        compared_lines("PingPongPing", "words total"),
        ["Ping", "Pong", "3 words"]
    );
}

#[test]
fn the_catalogue_has_every_listing_once_with_its_fixture() {
    let rows = catalogue();
    assert_eq!(rows.len(), 44, "44 listings in the five tutorials");
    let mut ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 44, "each listing has one row");
    for row in &rows {
        assert!(
            expected_path(&row.id).exists(),
            "{}: no fixture {}",
            row.id,
            expected_path(&row.id).display()
        );
        let known = ["exact", "sorted", "numbers", "words"];
        assert!(
            known.iter().any(|mode| row.compared.contains(mode)),
            "{}: unknown comparison `{}`",
            row.id,
            row.compared
        );
    }
}

/// Runs one row in a fresh directory (002-3 copies `me`, 002-11 writes
/// `TEXT/`); returns a description of the difference, if any.
fn check(row: &Listing, path_var: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("me")).unwrap();
    let out = shell(
        &format!(
            "cd {} && PATH={path_var} && {}",
            dir.path().display(),
            row.command
        ),
        b"",
        Duration::from_secs(90),
    );
    let expected = std::fs::read_to_string(expected_path(&row.id)).unwrap();
    let got = String::from_utf8_lossy(&out.stdout);
    let (want, have) = (
        compared_lines(&expected, &row.compared),
        compared_lines(&got, &row.compared),
    );
    if !out.status.success() {
        return Some(format!(
            "{} `{}` exited with {}: {}",
            row.id,
            row.command,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    (want != have).then(|| {
        format!(
            "{} `{}` ({}):\n  listing: {want:?}\n  prockit: {have:?}",
            row.id, row.command, row.compared
        )
    })
}

/// Every catalogue command prints the listing's lines. The rows run at the
/// same time: most of them sleep as their listing does (003-6 for 20 s).
#[test]
fn every_listing_command_prints_the_listings_lines() {
    let bin_dir = bin_path("fork-demo").parent().unwrap().to_path_buf();
    let path_var = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let rows = catalogue();
    let differences: Vec<String> = std::thread::scope(|scope| {
        let running: Vec<_> = rows
            .iter()
            .map(|row| scope.spawn(|| check(row, &path_var)))
            .collect();
        running
            .into_iter()
            .filter_map(|handle| handle.join().unwrap())
            .collect()
    });
    let passed = rows.len() - differences.len();
    eprintln!("tutorial listings: {passed} of {} match", rows.len());
    assert!(
        differences.is_empty(),
        "{} of {} listings differ:\n{}",
        differences.len(),
        rows.len(),
        differences.join("\n")
    );
}

/// The fixtures are what the listings print, not what prockit prints: each
/// names its listing in record.sh, which reruns them.
#[test]
fn every_fixture_is_recorded_by_the_script() {
    let script = std::fs::read_to_string(repo_root().join("tests/listings/record.sh")).unwrap();
    for row in catalogue() {
        assert!(
            script
                .lines()
                .any(|line| line.split_whitespace().next() == Some(row.id.as_str())),
            "{} is not in record.sh's table",
            row.id
        );
    }
}
