//! A hotswap of the dev environment against LocalStack on 127.0.0.1: the time from
//! `infra deploy dev --hotswap` starting to it reporting the new code in place, with a prebuilt
//! zip (the build is excluded). Each run swaps in the other of two zips, so every run updates
//! the code. Target: under 3 s.
//!
//! `cargo bench -p infra --bench hotswap` (installs and starts LocalStack with
//! scripts/localstack).

use std::path::Path;

#[path = "support/mod.rs"]
mod support;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let url = support::localstack(&root)?;
    let dir = tempfile::tempdir()?;
    support::dev_environment(&root, dir.path(), &format!("swap{}", std::process::id()))?;
    // Two stand-ins of different code.
    let mut zips = Vec::new();
    for (i, len) in [64, 65].into_iter().enumerate() {
        let zip = support::stub_zip(dir.path(), &format!("function-{i}.zip"), len)?;
        zips.push(zip.to_str().ok_or("path")?.to_owned());
    }

    let run = |args: &[&str]| support::run_infra(&url, dir.path(), args);
    run(&["bootstrap", "dev", "--yes"])?;
    run(&["deploy", "dev", "--yes", "--no-smoke-check", "--function-zip", &zips[0]])?;
    let mut swaps = Vec::new();
    for i in 1..=10 {
        let (took, err) = run(&["deploy", "dev", "--hotswap", "--function-zip", &zips[i % 2]])?;
        if !err.contains("hotswapped") {
            return Err(format!("run {i} did not hotswap:\n{err}").into());
        }
        swaps.push(took);
    }
    swaps.sort();
    run(&["destroy", "dev", "--yes", "--force"])?;
    println!(
        "hotswap against LocalStack (a process of `deploy dev --hotswap`, prebuilt zip), 10 runs: median {:.0} ms, max {:.0} ms (target < 3000 ms)",
        swaps[swaps.len() / 2].as_secs_f64() * 1e3,
        swaps[swaps.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}
