//! A hotswap of the dev environment against LocalStack on 127.0.0.1: the time from
//! `infra deploy dev --hotswap` starting to it reporting the new code in place, with a prebuilt
//! zip (the build is excluded). Each run swaps in the other of two zips, so every run updates
//! the code. Target: under 3 s.
//!
//! `cargo bench -p infra --bench hotswap` (installs and starts LocalStack with
//! scripts/localstack).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("scripts/localstack");
    if !Command::new(&script).arg("install").status()?.success() {
        return Err("installing LocalStack failed".into());
    }
    let start = Command::new(&script)
        .arg("start")
        // Started here, it stops when this process ends.
        .env("LOCALSTACK_OWNER_PID", std::process::id().to_string())
        .output()?;
    if !start.status.success() {
        return Err(String::from_utf8_lossy(&start.stderr).into_owned().into());
    }
    let url = String::from_utf8(start.stdout)?.trim().to_owned();

    let dir = tempfile::tempdir()?;
    let prefix = format!("swap{}", std::process::id());
    let dev = std::fs::read_to_string(root.join("environments/dev.yaml"))?
        .replace("account_id: \"111111111111\"", "account_id: \"000000000000\"")
        .replace("stack_prefix: token-service", &format!("stack_prefix: {prefix}"));
    std::fs::write(dir.path().join("dev.yaml"), dev)?;
    // Two arm64 ELF stand-ins the packaging checks accept: LocalStack never runs them.
    let mut zips = Vec::new();
    for (i, len) in [64, 65].into_iter().enumerate() {
        let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
        elf.resize(18, 0);
        elf.extend(0xB7u16.to_le_bytes());
        elf.resize(len, 0);
        let zip = dir.path().join(format!("function-{i}.zip"));
        std::fs::write(&zip, infra::deploy::package::zip_bootstrap(&elf)?)?;
        zips.push(zip.to_str().ok_or("path")?.to_owned());
    }

    // Cargo builds the binary with the bench profile for this benchmark.
    let infra = Path::new(env!("CARGO_BIN_EXE_infra"));
    let run = |args: &[&str]| -> Result<(Duration, String), Box<dyn std::error::Error>> {
        let t = Instant::now();
        let out = Command::new(infra)
            .arg("--environments")
            .arg(dir.path())
            .args(args)
            .env("AWS_ENDPOINT_URL", &url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("INFRA_POLL_MS", "50")
            .output()?;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            return Err(err.into());
        }
        Ok((t.elapsed(), err))
    };
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
