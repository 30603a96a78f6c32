//! The command line before clap reads it, rewritten as GNU parallel
//! rewrites its own:
//!
//! - pool-run as a script's interpreter: `#!/usr/bin/pool-run --shebang -k
//!   echo` over lines of input (the script's own lines are the input, its
//!   first line skipped), and `#!/usr/bin/pool-run --shebang-wrap python3`
//!   (the script runs once per argument given to it). The kernel hands the
//!   whole `#!` line after the interpreter as one argument, then the
//!   script's path, then the script's arguments.
//! - `$PARALLEL`: options to put first, as shell words.
//! - `-J NAME` / `--profile NAME`: the options in `~/.parallel/NAME`
//!   (shell words; `#` starts a comment), put first.

use std::ffi::OsString;
use std::path::PathBuf;

/// The command line pool-run reads: `#!` calls spelled out, `$PARALLEL`'s
/// options first, profiles in place of `-J`.
pub fn expand(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let args = shebang(args);
    let mut out: Vec<OsString> = args.iter().take(1).cloned().collect();
    if let Some(options) = std::env::var_os("PARALLEL").filter(|o| !o.is_empty()) {
        let text = options.to_string_lossy().into_owned();
        out.extend(words(&text).map_err(|e| format!("$PARALLEL: {e}"))?);
    }
    out.extend(args.into_iter().skip(1));
    // -J is an option clap knows: ask it whether (and which) one was given,
    // so a -J among the command's own words is never taken for ours. Only
    // when one may be there: a second parse costs memory (RSS +10%).
    let may_have_profile = out.iter().skip(1).any(|arg| {
        arg.to_str()
            .is_some_and(|a| a.starts_with("-J") || a.starts_with("--profile"))
    });
    if may_have_profile
        && let Ok(cli) = <crate::cli::Cli as clap::Parser>::try_parse_from(&out)
        && let Some(name) = cli.profile
    {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let options = profile(home.as_ref(), &OsString::from(name))?;
        out.splice(1..1, options);
    }
    Ok(out)
}

/// Shell words of `text`.
fn words(text: &str) -> Result<Vec<OsString>, String> {
    shlex::split(text)
        .map(|w| w.into_iter().map(OsString::from).collect())
        .ok_or_else(|| "unbalanced quotes".to_string())
}

/// The options in `~/.parallel/NAME`.
fn profile(home: Option<&PathBuf>, name: &OsString) -> Result<Vec<OsString>, String> {
    let path = home
        .map(|h| h.join(".parallel").join(name))
        .ok_or_else(|| "-J: no HOME to find ~/.parallel in".to_string())?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("-J: reading {} ({e})", path.display()))?;
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .collect();
    words(&lines.join(" ")).map_err(|e| format!("-J: {}: {e}", path.display()))
}

/// The command line with a `#!` call spelled out; any other one as it is.
fn shebang(args: Vec<OsString>) -> Vec<OsString> {
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
            shebang(args(&["pool-run", "--shebang -k echo", "./script"])),
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
            shebang(args(&[
                "pool-run",
                "--shebang-wrap -k python3",
                "./s.py",
                "a",
                "b"
            ])),
            args(&["pool-run", "-k", "python3", "./s.py", ":::", "a", "b"])
        );
        assert_eq!(
            shebang(args(&["pool-run", "--shebang-wrap python3", "./s.py"])),
            args(&["pool-run", "python3", "./s.py"])
        );
    }

    #[test]
    fn profiles_stop_at_the_command() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".parallel")).unwrap();
        std::fs::write(home.path().join(".parallel/fast"), "-j8 # many\n--tag\n").unwrap();
        let home = Some(home.path().to_path_buf());
        assert_eq!(
            profile(home.as_ref(), &"fast".into()).unwrap(),
            args(&["-j8", "--tag"])
        );
        assert!(profile(home.as_ref(), &"missing".into()).is_err());
    }

    #[test]
    fn other_command_lines_are_left_alone() {
        let plain = args(&["pool-run", "-k", "echo", ":::", "a"]);
        assert_eq!(shebang(plain.clone()), plain);
    }
}
