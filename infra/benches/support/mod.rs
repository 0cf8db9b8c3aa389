//! What the benchmarks against LocalStack share: starting it, and a dev environment with a
//! stand-in function zip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// LocalStack's URL, installed and started with scripts/localstack; started here, it stops
/// when this process ends.
pub fn localstack(root: &Path) -> Result<String, Error> {
    let script = root.join("scripts/localstack");
    if !Command::new(&script).arg("install").status()?.success() {
        return Err("installing LocalStack failed".into());
    }
    let start =
        Command::new(&script).arg("start").env("LOCALSTACK_OWNER_PID", std::process::id().to_string()).output()?;
    if !start.status.success() {
        return Err(String::from_utf8_lossy(&start.stderr).into_owned().into());
    }
    Ok(String::from_utf8(start.stdout)?.trim().to_owned())
}

/// Writes dev.yaml into `dir` for LocalStack's account, with stack prefix `prefix`.
pub fn dev_environment(root: &Path, dir: &Path, prefix: &str) -> Result<(), Error> {
    let dev = std::fs::read_to_string(root.join("environments/dev.yaml"))?
        .replace("account_id: \"111111111111\"", "account_id: \"000000000000\"")
        .replace("stack_prefix: token-service", &format!("stack_prefix: {prefix}"));
    std::fs::write(dir.join("dev.yaml"), dev)?;
    Ok(())
}

/// A zip of the smallest arm64 ELF the packaging checks accept, `len` bytes long (64 or more;
/// lengths give different zips); LocalStack never runs it.
pub fn stub_zip(dir: &Path, name: &str, len: usize) -> Result<PathBuf, Error> {
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
    elf.resize(18, 0);
    elf.extend(0xB7u16.to_le_bytes());
    elf.resize(len, 0);
    let zip = dir.join(name);
    std::fs::write(&zip, infra::deploy::package::zip_bootstrap(&elf)?)?;
    Ok(zip)
}

/// Runs the `infra` binary against LocalStack at `url` with the environments in `dir`; its
/// time and stderr, or stderr as the error when it fails.
pub fn run_infra(url: &str, dir: &Path, args: &[&str]) -> Result<(std::time::Duration, String), Error> {
    // Cargo builds the binary with the bench profile for the benchmark.
    let t = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .arg("--environments")
        .arg(dir)
        .args(args)
        .env("AWS_ENDPOINT_URL", url)
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
}
