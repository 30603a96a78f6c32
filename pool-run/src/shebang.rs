//! pool-run as a script's interpreter, as GNU parallel: `#!/usr/bin/pool-run
//! --shebang -k echo` over lines of input (the script's own lines are the
//! input, its first line skipped), and `#!/usr/bin/pool-run --shebang-wrap
//! /usr/bin/python3` (the script runs once per argument given to it). The
//! kernel hands the whole `#!` line after the interpreter as one argument,
//! then the script's path, then the script's arguments: this rewrites that
//! into the command line pool-run reads.

use std::ffi::OsString;

/// The command line with a `#!` call spelled out; any other one as it is.
pub fn expand(args: Vec<OsString>) -> Vec<OsString> {
    let Some(line) = args.get(1).and_then(|a| a.to_str()) else {
        return args;
    };
    let words: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
    let Some(script) = args.get(2) else {
        return args;
    };
    let rest = &args[3..];
    let mut out = vec![args[0].clone()];
    match words.first().and_then(|w| w.to_str()) {
        Some("--shebang" | "--hashbang") => {
            // The script's lines are the input; its `#!` line is not.
            out.extend(["--skip-first-line".into(), "-a".into(), script.clone()]);
            out.extend(words[1..].iter().cloned());
            out.extend(rest.iter().cloned());
        }
        Some("--shebang-wrap") => {
            // The script runs under its interpreter once per argument (or
            // per line of stdin when it was given none).
            out.extend(words[1..].iter().cloned());
            out.push(script.clone());
            if !rest.is_empty() {
                out.push(":::".into());
                out.extend(rest.iter().cloned());
            }
        }
        _ => return args,
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_shebang_script_is_the_input_without_its_first_line() {
        assert_eq!(
            expand(args(&["pool-run", "--shebang -k echo", "./script"])),
            args(&[
                "pool-run",
                "--skip-first-line",
                "-a",
                "./script",
                "-k",
                "echo"
            ])
        );
    }

    #[test]
    fn a_wrapped_script_runs_once_per_argument() {
        assert_eq!(
            expand(args(&[
                "pool-run",
                "--shebang-wrap -k python3",
                "./s.py",
                "a",
                "b"
            ])),
            args(&["pool-run", "-k", "python3", "./s.py", ":::", "a", "b"])
        );
        assert_eq!(
            expand(args(&["pool-run", "--shebang-wrap python3", "./s.py"])),
            args(&["pool-run", "python3", "./s.py"])
        );
    }

    #[test]
    fn other_command_lines_are_left_alone() {
        let plain = args(&["pool-run", "-k", "echo", ":::", "a"]);
        assert_eq!(expand(plain.clone()), plain);
    }
}
