//! The documentation users get from the tools themselves: `--help` ends
//! with examples that run as printed, `-h` stays short, and `--generate`
//! makes a man page and bash/zsh/fish completions that name every flag.

use std::time::Duration;

use crate::support::{bin_path, tool};

const TOOLS: [&str; 6] = [
    "fork-demo",
    "lock-demo",
    "pingpong",
    "pool-run",
    "spin-cores",
    "subproc",
];

fn stdout_of(name: &str, args: &[&str]) -> String {
    let out = tool(name)
        .args(args)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `--help` lists (not `help` itself).
fn subcommands(help: &str) -> Vec<String> {
    let Some(start) = help.find("\nCommands:\n") else {
        return Vec::new();
    };
    help[start + 11..]
        .lines()
        .take_while(|line| line.starts_with("  "))
        // A wrapped description continues further in: not a name.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Long flags of an options list (`  -n, --name <N>  ...` lines).
fn long_flags(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| {
            let at = line.find("--")?;
            let name: String = line[at + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// Every long flag of a tool and of its subcommands, read off `--help`.
fn every_long_flag(name: &str) -> Vec<String> {
    let help = stdout_of(name, &["--help"]);
    let mut flags = long_flags(&help);
    for sub in subcommands(&help) {
        flags.extend(long_flags(&stdout_of(name, &[&sub, "--help"])));
    }
    flags.sort();
    flags.dedup();
    assert!(flags.len() >= 3, "{name}: {flags:?}");
    flags
}

#[test]
fn generated_man_pages_and_completions_name_every_flag() {
    for name in TOOLS {
        let flags = every_long_flag(name);
        let man = stdout_of(name, &["--generate", "man"]);
        assert!(
            man.starts_with(".ie") || man.contains(".TH"),
            "{name}: {man}"
        );
        assert!(
            man.contains("Exit codes") || man.contains("Exit status"),
            "{name}: no exit codes"
        );
        assert!(man.contains("Examples:"), "{name}: no examples");
        for (kind, spelled) in [
            (
                "man",
                &(|f: &str| format!("\\-\\-{}", f.replace('-', "\\-"))) as &dyn Fn(&str) -> String,
            ),
            ("complete-bash", &|f: &str| format!("--{f}")),
            ("complete-zsh", &|f: &str| format!("--{f}")),
            ("complete-fish", &|f: &str| format!("-l {f}")),
        ] {
            let text = if kind == "man" {
                man.clone()
            } else {
                stdout_of(name, &["--generate", kind])
            };
            for flag in &flags {
                assert!(
                    text.contains(&spelled(flag)),
                    "{name} --generate {kind} does not name --{flag}"
                );
            }
        }
    }
    let out = tool("subproc")
        .args(["--generate", "troff"])
        .assert()
        .code(125)
        .get_output()
        .clone();
    let errors = String::from_utf8(out.stderr).unwrap();
    assert_eq!(errors.lines().count(), 1, "{errors}");
}

#[test]
fn short_help_is_short_and_long_help_ends_with_examples() {
    for name in TOOLS {
        let short = stdout_of(name, &["-h"]);
        let long = stdout_of(name, &["--help"]);
        assert!(!short.contains("Examples:"), "{name} -h");
        assert!(
            short.trim_end().ends_with("examples."),
            "{name} -h: {short}"
        );
        assert!(short.lines().count() < long.lines().count(), "{name}");
        let examples = examples_of(&long);
        assert!(
            (3..=6).contains(&examples.len()),
            "{name}: {} examples",
            examples.len()
        );
    }
}

/// The commands of the `Examples:` section, without their comments.
fn examples_of(help: &str) -> Vec<String> {
    let start = help.find("\nExamples:\n").expect("an Examples section") + 11;
    help[start..]
        .lines()
        .take_while(|line| line.starts_with("  "))
        .map(|line| line.split("  #").next().unwrap().trim().to_string())
        .collect()
}

/// Each example runs as printed, with the tools on PATH, in a scratch
/// directory, and succeeds (those that show a failure end `|| echo $?`).
#[test]
fn every_help_example_runs() {
    let bin_dir = bin_path("subproc").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for name in TOOLS {
        for example in examples_of(&stdout_of(name, &["--help"])) {
            let dir = tempfile::tempdir().unwrap();
            let out = crate::support::shell(
                &format!("cd {} && PATH={path} && {example}", dir.path().display()),
                b"",
                Duration::from_secs(30),
            );
            assert!(
                out.status.success(),
                "{name}: `{example}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !out.stdout.is_empty(),
                "{name}: `{example}` printed nothing"
            );
        }
    }
}

/// A renamed flag: the tool, the new and the old spelling of one run, the
/// subcommand whose help to read ("" for the top), the old spelling.
struct Renamed {
    tool: &'static str,
    new: &'static [&'static str],
    old: &'static [&'static str],
    sub: &'static str,
    old_spelling: &'static str,
}

/// The renamed flags (CHANGELOG.md): the new spelling works, the old one
/// still works for one release, and only the new one is shown.
#[test]
fn old_flag_spellings_still_work_but_are_hidden() {
    let cases = [
        Renamed {
            tool: "lock-demo",
            new: &["bench", "-n", "1", "-i", "1000", "--json"],
            old: &["bench", "-t", "1", "-i", "1000", "--json"],
            sub: "bench",
            old_spelling: "-t,",
        },
        Renamed {
            tool: "pingpong",
            new: &["-i", "2", "--delay", "0"],
            old: &["--count", "2", "--delay", "0"],
            sub: "",
            old_spelling: "--count",
        },
        Renamed {
            tool: "pingpong",
            new: &["bench", "-i", "10", "--transport", "pipe"],
            old: &["bench", "--rounds", "10", "--transport", "pipe"],
            sub: "bench",
            old_spelling: "--rounds",
        },
        Renamed {
            tool: "spin-cores",
            new: &["-n", "1", "-t", "0.2", "--interval", "1s"],
            old: &["-n", "1", "-d", "0.2", "--interval", "1s"],
            sub: "",
            old_spelling: "--duration",
        },
    ];
    for case in cases {
        tool(case.tool).args(case.new).assert().success();
        tool(case.tool).args(case.old).assert().success();
        let help_args: Vec<&str> = [case.sub, "--help"]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        let help = stdout_of(case.tool, &help_args);
        assert!(
            !help.contains(case.old_spelling),
            "{} {}: {} shown",
            case.tool,
            case.sub,
            case.old_spelling
        );
    }
}
