//! The README's table of GNU parallel's options is made from one file,
//! `pool-run/gnu-options.tsv`, and this test keeps the three true together:
//! the file lists every option of GNU parallel's man page (when GNU
//! parallel is installed, as under CI), pool-run accepts exactly the options
//! not marked `no`, and the README holds the table the file makes.

use std::path::Path;

const START: &str = "<!-- gnu-options:start -->\n";
const END: &str = "<!-- gnu-options:end -->";

struct Row {
    option: String,
    status: String,
    note: String,
}

fn rows() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pool-run/gnu-options.tsv");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut fields = l.splitn(3, '\t');
            Row {
                option: fields.next().unwrap().to_string(),
                status: fields.next().unwrap().to_string(),
                note: fields.next().unwrap_or("").to_string(),
            }
        })
        .collect()
}

/// The README's table, as the file makes it.
fn table(rows: &[Row]) -> String {
    let mut text =
        String::from("| GNU parallel option | pool-run | how, or why not |\n|---|---|---|\n");
    for row in rows {
        text.push_str(&format!(
            "| `{}` | {} | {} |\n",
            row.option,
            row.status,
            row.note.replace('|', "\\|")
        ));
    }
    text
}

#[test]
fn the_readme_table_is_the_one_the_options_file_makes() {
    let rows = rows();
    for row in &rows {
        assert!(
            ["same", "differs", "no"].contains(&row.status.as_str()),
            "{}: {}",
            row.option,
            row.status
        );
        assert!(
            row.status == "same" || !row.note.is_empty(),
            "{}: a difference or a gap says why",
            row.option
        );
    }
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find(START).expect("README marks the table's start") + START.len();
    let end = readme[start..]
        .find(END)
        .expect("README marks the table's end")
        + start;
    let expected = table(&rows);
    assert!(
        readme[start..end] == expected,
        "README's GNU options table is stale; it should read:\n{expected}"
    );
}

/// Whether pool-run's command line knows `option` (with or without a value).
/// It runs in a scratch directory: options such as `--joblog` take the next
/// word ("echo" or "1") as a file to create.
fn accepted(option: &str) -> bool {
    let scratch = tempfile::tempdir().unwrap();
    let known = |args: &[&str]| {
        let out = crate::support::tool("pool-run")
            .current_dir(scratch.path())
            .arg("--dry-run")
            .args(args)
            .args(["echo", ":::", "x"])
            .write_stdin("")
            .output()
            .unwrap();
        let errors = String::from_utf8_lossy(&out.stderr);
        !errors.contains("unexpected argument") && !errors.contains("unrecognized")
    };
    known(&[option]) || known(&[option, "1"])
}

#[test]
fn pool_run_accepts_exactly_the_options_not_marked_no() {
    let wrong: Vec<String> = rows()
        .iter()
        .filter(|row| accepted(&row.option) != (row.status != "no"))
        .map(|row| format!("{} ({})", row.option, row.status))
        .collect();
    assert!(
        wrong.is_empty(),
        "the table and pool-run disagree: {wrong:?}"
    );
}

/// Every option of GNU parallel's man page is in the table.
#[test]
fn the_table_lists_every_gnu_parallel_option() {
    let man = Path::new("/usr/share/man/man1/parallel.1.gz");
    if crate::reliability::gnu_parallel().is_none() || !man.exists() {
        crate::support::skipped(
            "GNU parallel's man page is not installed (bash .ci/run installs it)",
        );
        return;
    }
    let out = std::process::Command::new("zcat")
        .arg(man)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut options: Vec<String> = text
        .lines()
        // An option with a quoted argument is an `.ie n .IP` line.
        .filter_map(|l| {
            l.strip_prefix(".IP \"\\fB")
                .or_else(|| l.strip_prefix(".ie n .IP \"\\fB"))
        })
        .map(|l| {
            l.replace("\\fR", "")
                .replace("\\fI", "")
                .replace("\\fB", "")
                .replace("\\-", "-")
        })
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            let option = l.split_whitespace().next()?.trim_end_matches('"');
            Some(option.split('[').next().unwrap_or(option).to_string())
        })
        .collect();
    options.sort();
    options.dedup();
    let listed: Vec<String> = rows().into_iter().map(|r| r.option).collect();
    let missing: Vec<&String> = options.iter().filter(|o| !listed.contains(o)).collect();
    assert!(
        missing.is_empty(),
        "GNU options missing from the table: {missing:?}"
    );
    assert!(options.len() >= 200, "{}", options.len());
}

/// The README's table of GNU parallel's comparison legend (`man
/// parallel_alternatives`): all 41 features, in its order, each naming a
/// test that exists.
#[test]
fn the_readme_legend_names_a_real_test_for_each_of_the_41_features() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("<!-- legend:start -->")
        .expect("legend start marker");
    let end = readme
        .find("<!-- legend:end -->")
        .expect("legend end marker");
    let rows: Vec<(String, String)> = readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| |"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let id = cells[0].trim_start_matches("| ").to_string();
            let test = cells[2].split('`').nth(1).unwrap_or_default().to_string();
            (id, test)
        })
        .collect();
    let expected: Vec<String> = [("I", 7), ("M", 6), ("O", 10), ("E", 7), ("R", 9), ("S", 2)]
        .iter()
        .flat_map(|&(letter, n)| (1..=n).map(move |i| format!("{letter}{i}")))
        .collect();
    let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, expected, "the legend's 41 features, in order");
    let mut sources = String::new();
    for dir in ["tests/cli", "pool-run/src", "pool-run/cli/src"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    for (id, test) in &rows {
        assert!(
            sources.contains(&format!("fn {test}(")),
            "{id}: no test named `{test}`"
        );
    }
}
