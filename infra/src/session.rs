//! What every command that talks to AWS shares: the runtime with Ctrl-C recorded, the
//! connection checked against the environment's account, polling, prompts, printed next steps
//! and command output. The commands and the deploy engine (`crate::deploy`) both use it; it
//! imports neither.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::bail;

use crate::deploy::Aws;
use crate::deploy::interrupt;
use crate::deploy::stack::Polling;
use crate::env::Environment;

/// Exit codes follow Terraform's `-detailed-exitcode`: success, or nothing to change.
pub const EXIT_OK: u8 = 0;
/// Any error: bad input, validation findings, an AWS failure, an interruption.
pub const EXIT_ERROR: u8 = 1;
/// Changes pending (`diff`, `deploy --plan`) or drift found (`drift`); never an error.
pub const EXIT_CHANGES: u8 = 2;

/// `println!` for command output: a reader that went away (`infra clients dev list | head -1`)
/// ends the command quietly instead of a panic; any other write error is one line on stderr.
macro_rules! out {
    ($($arg:tt)*) => { $crate::session::write_out(format_args!($($arg)*)) };
}
pub(crate) use out;

/// Writes one line to standard output (see [`out!`]).
pub fn write_out(args: std::fmt::Arguments) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n")) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to standard output: {e}");
            std::process::exit(i32::from(EXIT_ERROR));
        }
        std::process::exit(i32::from(EXIT_OK));
    }
}

/// Now, in Unix seconds (0 on a clock before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The checkout this binary was built from (the workspace root).
pub fn checkout() -> PathBuf {
    let infra = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    infra.parent().unwrap_or(infra).to_owned()
}

/// `given`, else `relative` under the current folder where `found` holds for it, else under
/// the checkout where it holds there (so the CLI also works from a subfolder of the checkout),
/// else `relative` (whose error names it).
pub fn here_or_checkout(
    given: Option<&std::path::Path>,
    relative: &str,
    found: fn(&std::path::Path) -> bool,
) -> PathBuf {
    if let Some(p) = given {
        return p.to_owned();
    }
    let here = PathBuf::from(relative);
    if found(&here) {
        return here;
    }
    let there = checkout().join(relative);
    if found(&there) { there } else { here }
}

/// Where an output folder the user did not give goes (`relative`: `out`, `docs/runbooks`): in
/// the current folder, unless the environments folder is the checkout's, found from a subfolder
/// of it ([`here_or_checkout`]); then beside it in the checkout, so a run from `infra/` writes
/// where a run from the top does.
pub fn output_path(environments: &std::path::Path, given: Option<&std::path::Path>, relative: &str) -> PathBuf {
    match given {
        Some(p) => p.to_owned(),
        None if environments == checkout().join("environments") => checkout().join(relative),
        None => PathBuf::from(relative),
    }
}

/// The `--environments` folder the user gave, kept for the commands printed as next steps.
static ENVIRONMENTS_FLAG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Records the `--environments` folder the user gave (once per process), for [`target`].
pub fn set_environments_flag(dir: PathBuf) {
    let _ = ENVIRONMENTS_FLAG.set(dir);
}

/// How a printed next step names environment `name`: with the user's `--environments` folder,
/// so `cargo run -- status <target> --watch` works as printed.
pub fn target(name: &str) -> String {
    match ENVIRONMENTS_FLAG.get() {
        Some(dir) => format!("{name} --environments {}", dir.display()),
        None => name.to_owned(),
    }
}

/// Runs one command's AWS work with Ctrl-C recorded rather than fatal (see
/// [`crate::deploy::interrupt`]). A prompt still waiting for input when the work ends is not
/// waited for.
pub fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let out = rt.block_on(async {
        interrupt::listen();
        work.await
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    out
}

/// Polling for this run; `INFRA_POLL_MS` sets the first interval (tests against an emulator).
pub fn polling() -> Polling {
    let mut p = Polling::default();
    if let Some(ms) = std::env::var("INFRA_POLL_MS").ok().and_then(|v| v.parse().ok()) {
        p.first = std::time::Duration::from_millis(ms);
    }
    p
}

/// The AWS clients for `env`'s region, after checking that the caller is in its account
/// (refused otherwise: see [`Aws::check_account`]).
pub async fn connect(env: &Environment) -> anyhow::Result<Aws> {
    let mut aws = Aws::connect(env.region.as_str()).await;
    aws.partition = aws.check_account(&env.name, env.account_id.as_str()).await?;
    Ok(aws)
}

/// Prints `prompt` and reads one line from the terminal, trimmed.
pub fn ask(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Asks on the terminal; refuses to ask without one.
pub fn confirm(question: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question}: refusing to prompt without a terminal; pass --yes to proceed");
    }
    Ok(matches!(ask(&format!("{question} [y/N] "))?.as_str(), "y" | "Y" | "yes"))
}
