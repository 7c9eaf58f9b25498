//! The `slo-eval` command line: everything lives in the library.

fn main() -> std::process::ExitCode {
    slo_eval::main()
}
