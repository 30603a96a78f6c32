//! The `pingpong` binary: a shim so the root package owns it (see HACKING.md).
fn main() -> std::process::ExitCode {
    pingpong::main()
}
