//! Ctrl-C during the function build stops the build (cargo and every compiler it started) at
//! once, names the phase, and leaves nothing running: the signal reaches `infra` alone, as a CI
//! runner sends it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

/// Ctrl-C (SIGINT), and SIGTERM as a CI runner's cancel sends after it, stop the build alike.
#[test]
fn ctrl_c_stops_the_function_build() {
    for signal in ["-INT", "-TERM"] {
        stops_the_function_build(signal);
    }
}

fn stops_the_function_build(signal: &str) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // A target folder of its own, so the build really compiles (and holds no lock of the tests').
    let target = tempfile::tempdir().unwrap();
    let marker = target.path().to_string_lossy().into_owned();
    // This machine's architecture, so the build needs no cross toolchain.
    let envs = tempfile::tempdir().unwrap();
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" };
    let dev = std::fs::read_to_string(workspace.join("environments/dev.yaml")).unwrap();
    std::fs::write(envs.path().join("dev.yaml"), dev.replace("architecture: arm64", &format!("architecture: {arch}")))
        .unwrap();
    let mut infra = Command::new(env!("CARGO_BIN_EXE_infra"))
        .arg("--environments")
        .arg(envs.path())
        .args(["package", "dev"])
        .current_dir(&workspace)
        .env("CARGO_TARGET_DIR", target.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(infra.stderr.take().unwrap()).lines();
    let started = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("building bootstrap"));
    assert!(started.is_some(), "infra package never started the build");
    // Let cargo start its compilers.
    let deadline = Instant::now() + Duration::from_secs(30);
    while processes_mentioning(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!processes_mentioning(&marker).is_empty(), "no compiler started within 30 s");
    let sent = Instant::now();
    let kill = Command::new("kill").args([signal, &infra.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = infra.wait().unwrap();
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(1), "{signal}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted during the function build, which was stopped")), "{rest:?}");
    assert!(took < Duration::from_secs(10), "infra took {took:?} to stop after {signal}");
    // Nothing of the build outlives it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_mentioning(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(processes_mentioning(&marker), Vec::<String>::new());
}
