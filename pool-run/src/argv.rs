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
//! - Profiles, put before those: `-J NAME` / `--profile NAME` (NAME in
//!   GNU parallel's config directories, or a path starting `./` or `/`),
//!   else the default ones that exist (`/etc/parallel/config`, `config` in
//!   each config directory, `~/.parallelrc`). Each line is shell words; a
//!   line starting with `#` is a comment. `--plain` reads no profile and
//!   no `$PARALLEL`.

use std::ffi::OsString;
use std::path::PathBuf;

/// The command line pool-run reads: `#!` calls spelled out, `$PARALLEL`'s
/// options first, profiles in place of `-J`.
pub fn expand(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let args = shebang(args);
    let mut out: Vec<OsString> = args.iter().take(1).cloned().collect();
    let mut from_env = 0;
    if let Some(options) = std::env::var_os("PARALLEL").filter(|o| !o.is_empty()) {
        let text = options.to_string_lossy().into_owned();
        let options = words(&text).map_err(|e| format!("$PARALLEL: {e}"))?;
        from_env = options.len();
        out.extend(options);
    }
    out.extend(args.into_iter().skip(1));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let dirs = config_dirs(&Places::from_env(home.clone()));
    let defaults = default_profiles(&dirs, home.as_ref());
    // -J and --plain are options clap knows: ask it whether they were
    // given, so a -J among the command's own words is never taken for
    // ours. Only when it can matter: a second parse costs memory (RSS +10%).
    let may_matter = !defaults.is_empty()
        || out.iter().skip(1).any(|arg| {
            arg.to_str().is_some_and(|a| {
                a.starts_with("-J") || a.starts_with("--profile") || a == "--plain"
            })
        });
    if !may_matter {
        return Ok(out);
    }
    let Ok(cli) = <crate::cli::Cli as clap::Parser>::try_parse_from(&out) else {
        return Ok(out);
    };
    if cli.plain {
        out.drain(1..1 + from_env);
        return Ok(out);
    }
    let files = match &cli.profile {
        Some(name) => named_profiles(name, &dirs)?,
        None => defaults,
    };
    let mut options = Vec::new();
    for file in &files {
        options.extend(profile_words(file)?);
    }
    out.splice(1..1, options);
    Ok(out)
}

/// What GNU parallel's config directories are made of.
#[derive(Debug, Default)]
struct Places {
    parallel_home: Option<OsString>,
    xdg_config_home: Option<OsString>,
    xdg_config_dirs: Option<OsString>,
    home: Option<PathBuf>,
}

impl Places {
    fn from_env(home: Option<PathBuf>) -> Places {
        Places {
            parallel_home: std::env::var_os("PARALLEL_HOME"),
            xdg_config_home: std::env::var_os("XDG_CONFIG_HOME"),
            xdg_config_dirs: std::env::var_os("XDG_CONFIG_DIRS"),
            home,
        }
    }
}

/// GNU parallel's config directories that exist: $PARALLEL_HOME,
/// $XDG_CONFIG_HOME/parallel (~/.config/parallel), each
/// $XDG_CONFIG_DIRS/parallel, ~/.parallel.
fn config_dirs(places: &Places) -> Vec<PathBuf> {
    let xdg_home = places
        .xdg_config_home
        .clone()
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| places.home.as_ref().map(|h| h.join(".config")));
    let xdg_dirs = places
        .xdg_config_dirs
        .as_ref()
        .map(|dirs| std::env::split_paths(dirs).collect::<Vec<_>>())
        .unwrap_or_default();
    places
        .parallel_home
        .iter()
        .map(PathBuf::from)
        .chain(
            xdg_home
                .into_iter()
                .chain(xdg_dirs)
                .map(|d| d.join("parallel")),
        )
        .chain(places.home.iter().map(|h| h.join(".parallel")))
        .filter(|d| !d.as_os_str().is_empty() && d.is_dir())
        .collect()
}

/// The profiles read when no -J names one, those that exist.
fn default_profiles(dirs: &[PathBuf], home: Option<&PathBuf>) -> Vec<PathBuf> {
    std::iter::once(PathBuf::from("/etc/parallel/config"))
        .chain(dirs.iter().map(|d| d.join("config")))
        .chain(home.map(|h| h.join(".parallelrc")))
        .filter(|p| p.is_file())
        .collect()
}

/// -J NAME: `./NAME` or `/NAME` as written, else NAME in every config
/// directory that has it. Err: none has it.
fn named_profiles(name: &str, dirs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let found: Vec<PathBuf> = if name.starts_with("./") || name.starts_with('/') {
        vec![PathBuf::from(name)]
    } else {
        dirs.iter().map(|d| d.join(name)).collect()
    };
    let found: Vec<PathBuf> = found.into_iter().filter(|p| p.is_file()).collect();
    if found.is_empty() {
        return Err(format!(
            "-J {name}: no such profile (looked in {})",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(found)
}

/// A profile's options: each line's shell words; lines starting with `#`
/// (after blanks) are comments, as GNU parallel reads them.
fn profile_words(path: &std::path::Path) -> Result<Vec<OsString>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("-J: reading {} ({e})", path.display()))?;
    let mut options = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        options.extend(words(line).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(options)
}

/// Shell words of `text`.
fn words(text: &str) -> Result<Vec<OsString>, String> {
    shlex::split(text)
        .map(|w| w.into_iter().map(OsString::from).collect())
        .ok_or_else(|| "unbalanced quotes".to_string())
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
    fn profiles_come_from_gnu_parallels_config_directories() {
        let home = tempfile::tempdir().unwrap();
        let dot = home.path().join(".parallel");
        std::fs::create_dir(&dot).unwrap();
        std::fs::write(
            dot.join("fast"),
            "# many jobs\n-j8 --tag\n  # indented\n-k 'a b'\n",
        )
        .unwrap();
        std::fs::write(dot.join("config"), "--will-cite\n").unwrap();
        let places = Places {
            home: Some(home.path().to_path_buf()),
            ..Places::default()
        };
        let dirs = config_dirs(&places);
        assert_eq!(
            dirs,
            std::slice::from_ref(&dot),
            "only the directories that exist"
        );
        let fast = named_profiles("fast", &dirs).unwrap();
        assert_eq!(
            profile_words(&fast[0]).unwrap(),
            args(&["-j8", "--tag", "-k", "a b"])
        );
        assert!(named_profiles("missing", &dirs).is_err());
        let by_path = dot.join("fast").display().to_string();
        assert_eq!(named_profiles(&by_path, &[]).unwrap(), [dot.join("fast")]);
        let home_path = home.path().to_path_buf();
        let defaults = default_profiles(&dirs, Some(&home_path));
        assert!(defaults.contains(&dot.join("config")), "{defaults:?}");
        let elsewhere = tempfile::tempdir().unwrap();
        let with_home = Places {
            parallel_home: Some(elsewhere.path().into()),
            ..places
        };
        assert_eq!(
            config_dirs(&with_home)[0],
            elsewhere.path(),
            "$PARALLEL_HOME first"
        );
    }

    #[test]
    fn other_command_lines_are_left_alone() {
        let plain = args(&["pool-run", "-k", "echo", ":::", "a"]);
        assert_eq!(shebang(plain.clone()), plain);
    }
}
