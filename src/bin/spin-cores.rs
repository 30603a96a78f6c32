//! The `spin-cores` binary: a shim so the root package owns it (see HACKING.md).
fn main() -> std::process::ExitCode {
    spin_cores::main()
}
