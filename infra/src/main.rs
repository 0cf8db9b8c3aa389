use std::process::ExitCode;

use clap::Parser;
use infra::commands::EXIT_ERROR;

/// mimalloc instead of the system allocator: synth and validate build many small JSON values,
/// and a `validate --all` process spends about a third less CPU time (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap's own usage errors would exit 2, which here means "changes pending".
    let cli = match infra::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(EXIT_ERROR) } else { ExitCode::SUCCESS };
        }
    };
    match infra::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // One line, whatever a value in the message holds.
            let text = format!("{e:#}").replace('\n', "\\n").replace('\r', "\\r");
            eprintln!("error: {text}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
