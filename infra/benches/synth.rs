//! Times load + synth + validate of every environment, the work `infra synth --all` does before
//! writing files. Prints min / median / p99 over many runs. Target: all three under 30 ms.
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
}
