//! A no-op deploy (nothing changed) of the dev environment against LocalStack on 127.0.0.1:
//! the time from `infra deploy` starting to it reporting no changes. Target: under 2 s.
//!
//! `cargo bench -p infra --bench noop_deploy` (installs and starts LocalStack with
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
    let prefix = format!("bench{}", std::process::id());
    let dev = std::fs::read_to_string(root.join("environments/dev.yaml"))?
        .replace("account_id: \"111111111111\"", "account_id: \"000000000000\"")
        .replace("stack_prefix: token-service", &format!("stack_prefix: {prefix}"));
    std::fs::write(dir.path().join("dev.yaml"), dev)?;
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
    elf.resize(18, 0);
    elf.extend(0xB7u16.to_le_bytes());
    elf.resize(64, 0);
    let zip = dir.path().join("function.zip");
    std::fs::write(&zip, infra::deploy::package::zip_bootstrap(&elf)?)?;

    // Cargo builds the binary with the bench profile for this benchmark.
    let infra = Path::new(env!("CARGO_BIN_EXE_infra"));
    let run = |args: &[&str]| -> Result<Duration, Box<dyn std::error::Error>> {
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
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        Ok(t.elapsed())
    };
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
