//! `bootstrap`, `package`, `diff`, `deploy`, `rollback`, `destroy`, `status`, `drift` and
//! `serve --lambda`: thin commands over `crate::deploy` (the engine is
//! [`crate::deploy::pipeline`]). Each loads the environment, checks the caller's account, then
//! acts.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::{BootstrapArgs, DeployArgs, DestroyArgs, DiffArgs, StackArgs, StatusArgs};
use crate::deploy::pipeline::{self, Hotswapped, KeyStep, Summary};
use crate::deploy::status::{Meaning, StackDriftStatus, StackStatus};
use crate::deploy::{events, guards, stack};
use crate::env::Environment;
use crate::session::{EXIT_CHANGES, EXIT_ERROR, ask, block_on, connect, out, polling, target, unix_now};
use crate::stacks::{Stack, StackId};

pub(super) fn validated(env: &Environment) -> anyhow::Result<Vec<Stack>> {
    let (stacks, findings) = super::build(env)?;
    super::print_findings(&findings);
    if crate::validate::has_errors(&findings) {
        bail!("{}: validation failed; nothing deployed", env.name);
    }
    Ok(stacks.to_vec())
}

pub fn package(dir: &Path, args: crate::cli::PackageArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let a = block_on(pipeline::artifact(&env, None))?;
    if let Some(out) = &args.out {
        std::fs::write(out, &a.zip).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    out!("{} {} {}", a.key(), a.zip.len(), a.binary_bytes);
    Ok(ExitCode::SUCCESS)
}

pub fn bootstrap(dir: &Path, args: BootstrapArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    block_on(pipeline::bootstrap(&env, args.yes))?;
    Ok(ExitCode::SUCCESS)
}

pub fn diff(dir: &Path, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let Some(out) = args.out else {
        return deploy(
            dir,
            DeployArgs {
                env: args.env,
                plan: true,
                yes: false,
                function_zip: args.function_zip,
                replace_failed: false,
                ignore_change_window: true,
                no_smoke_check: true,
                replace_signing_keys: false,
                deployed_code: args.deployed_code,
                from_plan: None,
                hotswap: false,
            },
        );
    };
    crate::deploy::saved_plan::SavedPlan::writable("--out", &out)?;
    if let Some(summary) = &args.summary {
        crate::deploy::saved_plan::SavedPlan::writable("--summary", summary)?;
        anyhow::ensure!(
            std::path::absolute(summary)? != std::path::absolute(&out)?,
            "--summary {}: is the plan's own file (--out); give another",
            summary.display()
        );
    }
    let env = super::environment(dir, &args.env)?;
    let stacks = validated(&env)?;
    let opts =
        pipeline::Options { function_zip: args.function_zip, deployed_code: args.deployed_code, ..Default::default() };
    let (summary, saved) = block_on(pipeline::save(&env, &stacks, &opts))?;
    let Some(saved) = saved else {
        eprintln!("no plan written: deploy would refuse this plan, and its change sets were deleted");
        return Ok(ExitCode::from(EXIT_ERROR));
    };
    // The summary first: a plan file is written only when everything was.
    let markdown = args.summary.as_deref().map(|path| {
        crate::synth::write_whole(path, saved.markdown().as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write the summary {}: {e}", path.display()))
    });
    if let Err(e) = markdown.transpose().and_then(|_| saved.write(&out)) {
        if let Some(path) = &args.summary {
            let _ = std::fs::remove_file(path);
        }
        block_on(pipeline::discard_saved(&env, &saved))?;
        return Err(e.context("no plan written, and its change sets were deleted"));
    }
    let zip = opts.function_zip.as_ref().map(|z| format!(" --function-zip {}", z.display())).unwrap_or_default();
    let what = match saved.change_sets().count() {
        0 => "no change set: nothing to change; it checks that this still holds".to_owned(),
        n => format!("{n} change set(s); it executes exactly these"),
    };
    eprintln!(
        "wrote the plan {} ({what}): `cargo run -- deploy {} --from-plan {}{zip}`",
        out.display(),
        target(&env.name),
        out.display()
    );
    Ok(if summary == Summary::Changed { ExitCode::from(EXIT_CHANGES) } else { ExitCode::SUCCESS })
}

pub fn deploy(dir: &Path, args: DeployArgs) -> anyhow::Result<ExitCode> {
    match args.from_plan.clone() {
        Some(path) => deploy_saved(dir, args, &path),
        None if args.hotswap => hotswap(dir, args),
        None => deploy_step(dir, args, None),
    }
}

/// A hotswap attempt that Ctrl-C stops at once (an AWS call may take its whole time limit),
/// saying whether Lambda had received the code update, which goes on there.
pub(super) async fn interruptible<T>(
    env: &Environment,
    attempt: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    crate::deploy::hotswap::forget_sent();
    tokio::select! {
        done = attempt => done,
        () = crate::deploy::interrupt::wait() => match crate::deploy::hotswap::sent() {
            true => bail!(
                "interrupted; the code update sent goes on in Lambda: `cargo run -- drift {}` shows what the function runs",
                target(&env.name)
            ),
            false => bail!("interrupted before the function's code was updated; nothing changed"),
        },
    }
}

/// The options of a run that executes what was decided elsewhere (a saved plan, a hotswap's
/// fallback): no building or planning flags.
fn executing(args: &DeployArgs) -> pipeline::Options {
    pipeline::Options {
        yes: args.yes,
        no_smoke_check: args.no_smoke_check,
        replace_signing_keys: args.replace_signing_keys,
        ..Default::default()
    }
}

/// `deploy --hotswap`: the function's code alone where that is the whole change, else a full
/// deploy, said first.
fn hotswap(dir: &Path, args: DeployArgs) -> anyhow::Result<ExitCode> {
    let env = super::environment(dir, &args.env)?;
    guards::allows_hotswap(&env, &format!("deploy {} --hotswap", args.env))?;
    let stacks = validated(&env)?;
    if !args.ignore_change_window {
        guards::in_change_window(&env, unix_now())?;
    }
    let opts = executing(&args);
    block_on(async {
        let artifact = pipeline::artifact(&env, args.function_zip.as_deref()).await?;
        let started = std::time::Instant::now();
        let mut swapper = pipeline::Hotswapper::connect(&env, &opts).await?;
        let attempt = interruptible(&env, swapper.attempt(&stacks, &artifact)).await?;
        match attempt {
            Hotswapped::NotCodeOnly(why) => {
                eprintln!("not a code-only change, so a full deploy instead:");
                for line in why {
                    eprintln!("  {line}");
                }
                Ok(match swapper.deploy(&stacks, artifact).await? {
                    Summary::Declined | Summary::Refused => ExitCode::from(EXIT_ERROR),
                    Summary::Changed | Summary::Unchanged => ExitCode::SUCCESS,
                })
            }
            done => {
                report(&env, &artifact, &done, started.elapsed());
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// `deploy --from-plan`: the saved plan's change sets, exactly, or nothing.
fn deploy_saved(dir: &Path, args: DeployArgs, path: &Path) -> anyhow::Result<ExitCode> {
    let saved = crate::deploy::saved_plan::SavedPlan::read(path)?;
    anyhow::ensure!(
        saved.environment == args.env,
        "{}: environment: the plan is for `{}`, not `{}`",
        path.display(),
        saved.environment,
        args.env
    );
    // A prompt that cannot be answered would stop the plan half way: say so before anything.
    anyhow::ensure!(
        args.yes || std::io::IsTerminal::is_terminal(&std::io::stdin()),
        "refusing to prompt without a terminal; pass --yes (nothing was checked or executed)"
    );
    let env = super::environment(dir, &args.env)?;
    let stacks = validated(&env)?;
    if !args.ignore_change_window {
        guards::in_change_window(&env, unix_now())?;
    }
    let opts = pipeline::Options { function_zip: args.function_zip.clone(), ..executing(&args) };
    let shown = path.display().to_string();
    Ok(match block_on(pipeline::apply_saved(&env, &stacks, &saved, &opts, &shown))? {
        Summary::Declined | Summary::Refused => ExitCode::from(EXIT_ERROR),
        Summary::Changed | Summary::Unchanged => ExitCode::SUCCESS,
    })
}

/// `deploy`, or with `step` a signing-key step: the same update of the service stack with the
/// deployed function kept (see [`pipeline::run`]).
pub(super) fn deploy_step(dir: &Path, args: DeployArgs, step: Option<KeyStep>) -> anyhow::Result<ExitCode> {
    let env = super::environment(dir, &args.env)?;
    let stacks = validated(&env)?;
    if !args.plan && !args.ignore_change_window {
        guards::in_change_window(&env, unix_now())?;
    }
    let opts = pipeline::Options {
        plan: args.plan,
        yes: args.yes,
        function_zip: args.function_zip,
        replace_failed: args.replace_failed,
        no_smoke_check: args.no_smoke_check,
        replace_signing_keys: args.replace_signing_keys,
        deployed_code: args.deployed_code,
        save: false,
    };
    Ok(match block_on(pipeline::run(&env, &stacks, &opts, step))? {
        Summary::Declined | Summary::Refused => ExitCode::from(EXIT_ERROR),
        Summary::Changed if args.plan => ExitCode::from(EXIT_CHANGES),
        Summary::Changed | Summary::Unchanged => ExitCode::SUCCESS,
    })
}

/// Says how a hotswap attempt ended; `elapsed` excludes the build.
pub(super) fn report(
    env: &Environment,
    artifact: &crate::deploy::package::Artifact,
    done: &Hotswapped,
    elapsed: std::time::Duration,
) {
    let function = crate::stacks::function_name(env);
    let name = target(&env.name);
    let standing = |drifted: bool| match drifted {
        true => format!(
            "{} no longer matches CloudFormation: `cargo run -- drift {name}` shows it until a full deploy (`cargo run -- deploy {name}`)",
            env.service_stack_name()
        ),
        false => format!("this is the code {} names, so nothing has drifted", env.service_stack_name()),
    };
    match done {
        Hotswapped::Swapped { version, drifted } => eprintln!(
            "hotswapped {function} ({version}) to {} in {:.1} s; {}",
            artifact.key(),
            elapsed.as_secs_f64(),
            standing(*drifted)
        ),
        Hotswapped::AlreadyRunning { drifted } => {
            eprintln!("{function} runs {} already; nothing to hotswap; {}", artifact.key(), standing(*drifted))
        }
        Hotswapped::NotCodeOnly(why) => {
            eprintln!("not hotswapped: a deploy would change more than the function's code:");
            for line in why {
                eprintln!("  {line}");
            }
            eprintln!("`cargo run -- deploy {name}` deploys it");
        }
    }
}

/// What a `destroy` that stops has done: the stacks it deleted already, and how to finish.
fn destroyed_so_far(deleted: &[String], target: &str) -> String {
    match deleted {
        [] => "nothing was deleted".to_owned(),
        d => format!("{} was deleted already; `cargo run -- destroy {target}` again deletes the rest", d.join(", ")),
    }
}

/// The stacks `rollback`, `destroy` and `status --stack` act on: the service and monitoring
/// stacks (the bootstrap stack has commands of its own).
fn selected(env: &Environment, only: Option<StackId>) -> anyhow::Result<Vec<(StackId, String)>> {
    let all = [(StackId::Service, env.service_stack_name()), (StackId::Monitoring, env.monitoring_stack_name())];
    match only {
        None => Ok(all.to_vec()),
        Some(id) => all
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|s| vec![s])
            .with_context(|| format!("`--stack {id}` is not one this command acts on; stacks: service, monitoring")),
    }
}

pub fn rollback(dir: &Path, args: StackArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let targets = selected(&env, args.stack)?;
    block_on(async {
        let aws = connect(&env).await?;
        let mut any = false;
        for (_, name) in targets {
            match stack::recover(&aws.cfn, &name, &target(&env.name), polling()).await? {
                None => eprintln!("{name}: nothing to roll back"),
                Some(o) => {
                    any = true;
                    eprintln!("{name}: {}", o.status.as_str());
                    if !o.status.is_settled() || o.status.is_failed() {
                        let next = events::next_step(&o.status, &target(&env.name));
                        bail!("{name} ended {}: {next}", o.status.as_str());
                    }
                }
            }
        }
        if !any {
            eprintln!("no stack needed recovery");
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn destroy(dir: &Path, args: DestroyArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let names = [env.monitoring_stack_name(), env.service_stack_name()];
    block_on(async {
        let aws = connect(&env).await?;
        let target = target(&env.name);
        // What this run deleted already, for the message of a step that stops.
        let mut deleted: Vec<String> = Vec::new();
        let kept = |deleted: &[String]| destroyed_so_far(deleted, &target);
        for name in names {
            let Some(s) = stack::describe(&aws.cfn, &name).await? else {
                eprintln!("{name}: not deployed");
                continue;
            };
            if s.enable_termination_protection() == Some(true) {
                bail!(
                    "{name} has termination protection; set termination_protection: false in environments/{}.yaml and deploy first",
                    env.name
                );
            }
            if !(args.yes && args.force) {
                if !std::io::stdin().is_terminal() {
                    bail!("destroying {name}: type its name at a terminal, or pass --yes --force; {}", kept(&deleted));
                }
                if ask(&format!("type `{name}` to delete it: "))? != name {
                    bail!("{name}: name not confirmed, so it is kept; {}", kept(&deleted));
                }
            }
            let outcome = stack::delete(&aws.cfn, &name, &target, polling()).await?;
            if outcome.status != StackStatus::DeleteComplete {
                bail!("{name} ended {}: {}", outcome.status.as_str(), events::next_step(&outcome.status, &target));
            }
            eprintln!("{name}: deleted");
            deleted.push(name);
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn status(dir: &Path, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    block_on(async {
        let aws = connect(&env).await?;
        for name in [env.bootstrap_stack_name(), env.service_stack_name(), env.monitoring_stack_name()] {
            let Some(s) = stack::describe(&aws.cfn, &name).await? else {
                out!("{name}: not deployed");
                continue;
            };
            let st = stack::status(&s);
            out!(
                "{name}: {}{}{}",
                st.as_str(),
                s.stack_status_reason().map(|r| format!(" ({r})")).unwrap_or_default(),
                if s.enable_termination_protection() == Some(true) { ", termination protection on" } else { "" }
            );
            for e in stack::recent_events(&aws.cfn, &name, 5).await? {
                out!("  {}", events::render(&e, 0, 0).replacen("[0/0] ", "", 1));
            }
            for (k, v) in stack::outputs(&s) {
                out!("  {k} = {v}");
            }
            if name == env.service_stack_name() {
                for line in crate::deploy::registry::report(&aws, &env).await {
                    out!("  {line}");
                }
            }
            if args.watch && !st.is_settled() {
                let seen = stack::recent_events(&aws.cfn, &name, 100).await?.into_iter().map(|e| e.id).collect();
                let o = stack::watch(&aws.cfn, &name, seen, 0, &target(&env.name), polling()).await?;
                out!("{name}: {}", o.status.as_str());
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn drift(dir: &Path, args: StackArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let targets = selected(&env, args.stack)?;
    block_on(async {
        let aws = connect(&env).await?;
        let (mut drifted, mut noted, mut unread) = (false, false, None);
        for (id, name) in targets {
            if stack::describe(&aws.cfn, &name).await?.is_none() {
                out!("{name}: not deployed");
                continue;
            }
            let (mut status, drifts) = match stack::drift(&aws.cfn, &name, polling()).await {
                // LocalStack answers DetectStackDrift with "not yet been emulated".
                Err(e) if aws.emulator && e.to_string().contains("emulated") => {
                    if !std::mem::replace(&mut noted, true) {
                        eprintln!("note: {} does not detect drift; only the function's code is compared", aws.endpoint);
                    }
                    (StackDriftStatus::NotChecked, vec![])
                }
                other => other?,
            };
            // CloudFormation does not read a function's code back: the code Lambda runs is
            // compared with the stack's artifact here.
            let code = match id {
                StackId::Service => {
                    let template = crate::stacks::service::build(&env)?.to_json();
                    match pipeline::function_drift(&aws, &env, &template).await {
                        Ok(d) => d.map(|(_, _, lines)| lines).unwrap_or_default(),
                        Err(e) => {
                            unread = Some(format!("{name}: the function's code could not be compared: {e:#}"));
                            vec![]
                        }
                    }
                }
                _ => vec![],
            };
            if !code.is_empty() {
                status = StackDriftStatus::Drifted;
            }
            out!("{name}: {}", status.as_str());
            for d in &drifts {
                out!("  {:<10} {} ({})", d.status.as_str(), d.logical_id, d.resource_type);
            }
            for line in &code {
                out!("  {:<10} {} (AWS::Lambda::Function): {line}", "MODIFIED", crate::stacks::service::FUNCTION_ID);
            }
            drifted |= status == StackDriftStatus::Drifted;
        }
        if let Some(why) = unread {
            bail!("{why}");
        }
        Ok(if drifted { ExitCode::from(EXIT_CHANGES) } else { ExitCode::SUCCESS })
    })
}

#[cfg(test)]
mod tests {
    /// A destroy that stops says what it deleted already, never "nothing" after a deletion.
    #[test]
    fn a_stopped_destroy_says_what_it_deleted() {
        assert_eq!(super::destroyed_so_far(&[], "dev"), "nothing was deleted");
        assert_eq!(
            super::destroyed_so_far(&["token-service-dev-monitoring".into()], "dev"),
            "token-service-dev-monitoring was deleted already; `cargo run -- destroy dev` again deletes the rest"
        );
    }
}
