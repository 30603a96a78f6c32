//! The `pool-run` binary: a shim so the root package owns it (see HACKING.md).
fn main() -> std::process::ExitCode {
    pool_run::main()
}
