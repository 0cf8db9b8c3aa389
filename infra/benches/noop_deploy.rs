//! A no-op deploy (nothing changed) of the dev environment against LocalStack on 127.0.0.1:
//! the time from `infra deploy` starting to it reporting no changes. Target: under 2 s.
//!
//! `cargo bench -p infra --bench noop_deploy` (installs and starts LocalStack with
//! scripts/localstack).

use std::path::Path;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let url = support::localstack(&root)?;
    let dir = tempfile::tempdir()?;
    support::dev_environment(&root, dir.path(), &format!("bench{}", std::process::id()))?;
    let zip = support::stub_zip(dir.path(), "function.zip", 64)?;

    let run = |args: &[&str]| support::run_infra(&url, dir.path(), args).map(|(took, _)| took);
    let zip = zip.to_str().ok_or("path")?;
    run(&["bootstrap", "dev", "--yes"])?;
    let first = run(&["deploy", "dev", "--yes", "--no-smoke-check", "--function-zip", zip])?;
    let mut noop: Vec<Duration> = (0..10)
        .map(|_| run(&["deploy", "dev", "--yes", "--no-smoke-check", "--function-zip", zip]))
        .collect::<Result<_, _>>()?;
    noop.sort();
    run(&["destroy", "dev", "--yes", "--force"])?;
    println!(
        "deploy against LocalStack: first (create) {:.0} ms; no-op, 10 runs: median {:.0} ms, max {:.0} ms (target < 2000 ms)",
        first.as_secs_f64() * 1e3,
        noop[noop.len() / 2].as_secs_f64() * 1e3,
        noop[noop.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}
