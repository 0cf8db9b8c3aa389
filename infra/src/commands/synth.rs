//! `infra synth`: validate, then write templates and a manifest (or print one template).

use std::path::Path;
use std::process::ExitCode;

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
        let out = crate::session::output_path(dir, args.out.as_deref(), "out").join(&env.name);
        for file in synth::write(&out, env, &stacks, args.format)? {
            eprintln!("{} {}", file.change.verb(), file.path.display());
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
            // A reader that went away (`| head`) ends the command quietly, as `out!` does.
            crate::session::write_out(format_args!("{}", text.strip_suffix('\n').unwrap_or(&text)));
        }
    }
    Ok(if failed { ExitCode::from(super::EXIT_ERROR) } else { ExitCode::SUCCESS })
}
