//! `infra synth`: validate, then write templates and a manifest (or print one template).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::SynthArgs;
use crate::stacks::Stack;
use crate::synth;
use crate::validate::has_errors;

pub fn run(dir: &Path, args: SynthArgs) -> anyhow::Result<ExitCode> {
    let envs = super::load(dir, &args.target)?;
    let mut failed = false;
    let mut printed = Vec::new();
    for (env, built) in envs.iter().zip(super::build_all(&envs)) {
        let (stacks, findings) = built?;
        super::print_findings(&findings);
        if has_errors(&findings) {
            eprintln!("{}: validation failed; nothing written", env.name);
            failed = true;
            continue;
        }
        let stacks: Vec<&Stack> = stacks.iter().filter(|s| args.stack.is_none_or(|id| s.id == id)).collect();
        if args.stdout {
            printed.extend(stacks.into_iter().cloned());
            continue;
        }
        let out = args.out.join(&env.name);
        for file in synth::write(&out, env, &stacks, args.format)? {
            eprintln!("{} {}", if file.changed { "wrote" } else { "unchanged" }, file.path.display());
        }
    }
    if args.stdout {
        anyhow::ensure!(
            printed.len() <= 1 || failed,
            "--stdout prints one template; {} stacks match: choose one environment and --stack",
            printed.len()
        );
        for s in &printed {
            let text = synth::render(s, args.format)?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())
                .context("cannot write to standard output")?;
        }
    }
    Ok(if failed { ExitCode::from(super::EXIT_ERROR) } else { ExitCode::SUCCESS })
}
