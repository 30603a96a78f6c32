//! What a user installs: the package cargo would build from this checkout
//! carries both licence files, the README and every tool's source.

/// `cargo package --list` for the root package (no build, no network).
#[test]
fn the_package_lists_the_licences_readme_and_every_tool() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "package",
            "--list",
            "--allow-dirty",
            "--offline",
            "-p",
            "prockit",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = list.lines().collect();
    for needed in ["LICENSE-MIT", "LICENSE-APACHE", "README.md", "Cargo.lock"] {
        assert!(files.contains(&needed), "{needed} missing: {list}");
    }
    for tool in [
        "fork-demo",
        "lock-demo",
        "pingpong",
        "pool-run",
        "spin-cores",
        "subproc",
    ] {
        let bin = format!("src/bin/{tool}.rs");
        assert!(files.contains(&bin.as_str()), "{bin} missing");
    }
}

/// Run only by `a_skip_fails_under_ci`: a test that skips.
#[test]
#[ignore = "run by a_skip_fails_under_ci, in a child test process"]
fn skip_probe() {
    crate::support::skipped("the probe skips on purpose");
}

/// A skipped test says why in the normal output, and under `.ci/run`
/// (PROCKIT_NO_SKIPS set) the skip is a failure.
#[test]
fn a_skip_fails_under_ci() {
    let run = |no_skips: bool| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "install::skip_probe", "--include-ignored"]);
        if no_skips {
            command.env("PROCKIT_NO_SKIPS", "1");
        } else {
            command.env_remove("PROCKIT_NO_SKIPS");
        }
        command.output().unwrap()
    };
    let local = run(false);
    assert!(local.status.success());
    let shown = String::from_utf8_lossy(&local.stderr).into_owned()
        + &String::from_utf8_lossy(&local.stdout);
    assert!(
        shown.contains("SKIPPED: the probe skips on purpose"),
        "{shown}"
    );
    let ci = run(true);
    assert!(!ci.status.success(), "under CI a skip fails");
    assert!(String::from_utf8_lossy(&ci.stdout).contains("would be skipped under CI"));
}
