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
