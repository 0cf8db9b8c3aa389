//! `infra docs`: write (or check) every environment's runbook under docs/runbooks/.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::DocsArgs;
use crate::env::Environment;

pub fn run(dir: &Path, args: DocsArgs) -> anyhow::Result<ExitCode> {
    let names = Environment::names(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut stale = Vec::new();
    for name in &names {
        let env = Environment::load_named(dir, name)?;
        let text = crate::runbook::render(&env)?;
        let path = args.out.join(format!("{name}.md"));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if args.check {
            stale.push(path.display().to_string());
        } else {
            std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    if stale.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("out of date: {}; run `cargo run -- docs` and commit", stale.join(", "));
        Ok(ExitCode::from(super::EXIT_ERROR))
    }
}
