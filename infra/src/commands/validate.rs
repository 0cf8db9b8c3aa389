//! `infra validate`: run every rule and report findings; exit 1 on errors.

use std::path::Path;
use std::process::ExitCode;

use super::out;
use crate::cli::ValidateArgs;
use crate::validate::has_errors;

pub fn run(dir: &Path, args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let envs = super::load(dir, &args.target)?;
    let mut all = Vec::new();
    for (env, built) in envs.iter().zip(super::build_all(&envs)) {
        let (stacks, findings) = built?;
        if !args.json {
            super::print_findings(&findings);
            let errors = findings.iter().filter(|f| f.severity == crate::validate::Severity::Error).count();
            eprintln!(
                "{}: {} stack(s), {} resource(s), {errors} error(s), {} warning(s)",
                env.name,
                stacks.len(),
                stacks.iter().map(|s| s.template.resources().len()).sum::<usize>(),
                findings.len() - errors
            );
        }
        all.extend(findings);
    }
    if args.json {
        out!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(if has_errors(&all) { ExitCode::from(super::EXIT_ERROR) } else { ExitCode::SUCCESS })
}
