//! `infra docs`: write (or check) every environment's runbook under docs/runbooks/, and the rule
//! table of docs/validation.md (generated from `crate::validate::rules`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::DocsArgs;
use crate::env::Environment;

/// Runs `docs`: writes what is out of date, or with `--check` names it and exits 1.
pub fn run(dir: &Path, args: DocsArgs) -> anyhow::Result<ExitCode> {
    let names = Environment::names(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let out = crate::session::output_path(dir, args.out.as_deref(), "docs/runbooks");
    let mut stale = Vec::new();
    for name in &names {
        let env = Environment::load_named(dir, name)?;
        let text = crate::runbook::render(&env)?;
        let path = out.join(format!("{name}.md"));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if args.check {
            stale.push(path.display().to_string());
        } else {
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            crate::synth::write_whole(&path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    let rules_page = crate::session::here_or_checkout(args.rules_page.as_deref(), "docs/validation.md", Path::is_file);
    let page = std::fs::read_to_string(&rules_page)
        .with_context(|| format!("cannot read {} (pass --rules-page FILE)", rules_page.display()))?;
    let (start, end) = crate::validate::RULES_TABLE_MARKERS;
    let text = crate::validate::with_rules_table(&page).with_context(|| {
        format!(
            "{}: no rule table markers; put the lines `{start}` and `{end}` where the table goes",
            rules_page.display()
        )
    })?;
    if text != page {
        if args.check {
            stale.push(rules_page.display().to_string());
        } else {
            crate::synth::write_whole(&rules_page, text.as_bytes())
                .with_context(|| format!("cannot write {}", rules_page.display()))?;
            eprintln!("wrote {}", rules_page.display());
        }
    }
    if stale.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("out of date: {}; run `cargo run -- docs` and commit", stale.join(", "));
        Ok(ExitCode::from(super::EXIT_ERROR))
    }
}
