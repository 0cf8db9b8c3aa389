//! Times load + synth + validate of every environment, the work `infra synth --all` does before
//! writing files (min / median / p99 over many runs; target: under 30 ms), and `infra synth` as
//! a process, start to exit, as a user runs it (median; targets in this build, the release
//! profile: `synth --all` under 10 ms).
//!
//! `cargo bench -p infra --bench synth`

use std::path::Path;
use std::time::{Duration, Instant};

use infra::env::Environment;

fn once(dir: &Path, names: &[String]) -> usize {
    let mut bytes = 0;
    for n in names {
        let env = Environment::load_named(dir, n).expect("environment loads");
        let stacks = infra::stacks::all(&env).expect("stacks build");
        let findings = infra::validate::all(&stacks, &env);
        assert!(!infra::validate::has_errors(&findings));
        for s in &stacks {
            bytes += s.template.to_json_string().len();
        }
    }
    bytes
}

/// Median wall time, ms, of `runs` runs of the `infra` binary with `args` (each must exit 0).
fn process_ms(args: &[&str], runs: usize) -> f64 {
    let out = std::env::temp_dir().join(format!("infra-synth-bench-{}", std::process::id()));
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = std::process::Command::new(env!("CARGO_BIN_EXE_infra"))
                .args(args)
                .arg("--out")
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("infra runs");
            assert!(status.success(), "infra {args:?} failed");
            start.elapsed()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&out);
    times.sort();
    times[runs / 2].as_secs_f64() * 1e3
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    let names = Environment::names(&dir).expect("environments folder");
    let bytes = once(&dir, &names); // warm-up
    let runs = 300;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(once(&dir, &names));
            start.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "synth+validate of {} environments ({} KiB of templates), {runs} runs: min {:.3} ms, median {:.3} ms, p99 {:.3} ms (target < 30 ms)",
        names.len(),
        bytes / 1024,
        ms(times[0]),
        ms(times[runs / 2]),
        ms(times[runs * 99 / 100]),
    );
    let dir = dir.display().to_string();
    let all = process_ms(&["--environments", &dir, "synth", "--all"], 30);
    let prod = process_ms(&["--environments", &dir, "synth", "prod"], 30);
    println!(
        "infra synth as a process (release build), median of 30: --all {all:.1} ms (target < 10 ms), prod {prod:.1} ms"
    );
}
