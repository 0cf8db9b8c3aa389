//! One module per command; each is a thin call into the library. Exit codes follow
//! Terraform's `-detailed-exitcode`, which CI users know: 0 success or nothing to change,
//! 1 any error (bad input, validation findings, an AWS failure, an interruption), 2 changes
//! pending (`diff`, `deploy --plan`) or drift found (`drift`). 2 never means an error.

mod alarms;
mod clients;
mod deploy;
mod docs;
mod keys;
mod logs;
mod serve;
mod synth;
mod validate;
mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command, Target};
use crate::env::Environment;
use crate::stacks::{self, Stack};
use crate::validate::Finding;

pub(crate) use crate::session::out;
pub use crate::session::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &cli.environments {
        crate::session::set_environments_flag(dir.clone());
    }
    let dir = environments_dir(cli.environments.as_deref());
    match cli.command {
        Command::Synth(args) => synth::run(&dir, args),
        Command::Validate(args) => validate::run(&dir, args),
        Command::Bootstrap(args) => deploy::bootstrap(&dir, args),
        Command::Package(args) => deploy::package(&dir, args),
        Command::Diff(args) => deploy::diff(&dir, args),
        Command::Deploy(args) => deploy::deploy(&dir, args),
        Command::Watch(args) => watch::run(&dir, args),
        Command::Rollback(args) => deploy::rollback(&dir, args),
        Command::Destroy(args) => deploy::destroy(&dir, args),
        Command::Status(args) => deploy::status(&dir, args),
        Command::Drift(args) => deploy::drift(&dir, args),
        Command::Serve(args) => serve::run(&dir, args),
        Command::Clients(args) => clients::run(&dir, args),
        Command::Keys(args) => keys::run(&dir, args),
        Command::Logs(args) => logs::run(&dir, args),
        Command::Alarms(args) => alarms::run(&dir, args),
        Command::Docs(args) => docs::run(&dir, args),
        Command::List(args) => list(&dir, args.json),
    }
}

/// `list`: the environments of the folder; with `json`, also the facts scripts read instead
/// of keeping copies: the environments pull requests plan (`ci.plan_pull_requests`), the alarm
/// catalogue, the log retentions CloudWatch accepts and the resource type registry
/// (`cfn::types`).
fn list(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let names = Environment::names(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    if !json {
        for name in names {
            out!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let alarms: Vec<serde_json::Value> = crate::alarms::ALARMS
        .iter()
        .map(|d| {
            serde_json::json!({"key": d.key, "unit": d.unit, "below": d.below, "share_of_requests": d.metric.share_of_requests()})
        })
        .collect();
    let types: Vec<serde_json::Value> = crate::cfn::types::TYPES
        .iter()
        .map(|t| {
            let mut row = serde_json::to_value(t).unwrap_or_default();
            row["service"] = t.service().into();
            row
        })
        .collect();
    let mut planned = Vec::new();
    for name in &names {
        if Environment::load_named(dir, name)?.ci.plan_pull_requests {
            planned.push(name.clone());
        }
    }
    let all = serde_json::json!({
        "environments": names,
        "pull_request_plans": planned,
        "alarms": alarms,
        "log_retention_days": crate::env::RETENTION_DAYS,
        "resource_types": types,
    });
    out!("{all}");
    Ok(ExitCode::SUCCESS)
}

/// `--environments`, else `./environments`, else the checkout's own folder (so the CLI also
/// works from a subfolder of the checkout).
fn environments_dir(given: Option<&Path>) -> PathBuf {
    crate::session::here_or_checkout(given, "environments", Path::is_dir)
}

/// The environments a command targets.
fn load(dir: &Path, target: &Target) -> anyhow::Result<Vec<Environment>> {
    let names = match (&target.env, target.all) {
        (Some(name), _) => vec![name.clone()],
        (None, _) => {
            let names =
                Environment::names(dir).with_context(|| format!("cannot list environments in {}", dir.display()))?;
            anyhow::ensure!(!names.is_empty(), "no environment files (*.yaml) in {}", dir.display());
            names
        }
    };
    let folder = folder_at(dir, &names);
    names.iter().map(|n| environment_in(&folder, dir, n)).collect()
}

/// The environment `name` of `dir` as the folder's one read holds it, so that its stacks and
/// the rules across the folder come from the same read of the file; a file that did not load or
/// build there is read again, to report why.
pub(super) fn environment(dir: &Path, name: &str) -> anyhow::Result<Environment> {
    environment_in(&folder_at(dir, &[name.to_owned()]), dir, name)
}

/// The environment `name` of `folder`, the read of `dir`.
fn environment_in(folder: &Folder, dir: &Path, name: &str) -> anyhow::Result<Environment> {
    match folder.built.iter().find(|b| b.env.name == name) {
        Some(built) => Ok(built.env.clone()),
        None => Ok(Environment::load_named(dir, name)?),
    }
}

/// An environment's stacks, shared with the folder's read of them (not copied per command).
pub type Stacks = std::sync::Arc<[Stack]>;

/// Builds and validates every stack of `env`, with the rules across the other environment
/// files of its folder (quotas and names of a shared account and region).
pub fn build(env: &Environment) -> anyhow::Result<(Stacks, Vec<Finding>)> {
    let folder = folder(env);
    let (stacks, mut findings) = match folder.built.iter().find(|b| b.env.source == env.source) {
        Some(Built { stacks, findings: Some(findings), .. }) => (stacks.clone(), findings.clone()),
        Some(Built { stacks, findings: None, .. }) => (stacks.clone(), crate::validate::all(stacks, env)),
        None => {
            let stacks = stacks::all(env).with_context(|| format!("building the stacks of `{}`", env.name))?;
            let findings = crate::validate::all(&stacks, env);
            (Stacks::from(stacks), findings)
        }
    };
    let siblings: Vec<crate::validate::Sibling<'_>> = folder
        .built
        .iter()
        .filter(|other| other.env.name != env.name)
        .map(|b| crate::validate::Sibling { env: &b.env, stacks: &b.stacks })
        .collect();
    let unreadable: Vec<String> =
        folder.unreadable.iter().filter(|(name, _)| *name != env.name).map(|(_, why)| why.clone()).collect();
    findings.extend(crate::validate::account(env, &stacks, &siblings, &unreadable));
    Ok((stacks, findings))
}

/// The environment files of a folder, loaded and built, and those that did not load (name,
/// why).
#[derive(Debug, Default)]
struct Folder {
    built: Vec<Built>,
    unreadable: Vec<(String, String)>,
}

/// An environment of a folder with its stacks, and their per-environment findings where the
/// read validated them ([`crate::validate::all`]; not the rules across the folder).
#[derive(Debug)]
struct Built {
    env: Environment,
    stacks: Stacks,
    findings: Option<Vec<Finding>>,
}

/// `env`'s folder, read once per process: `validate --all` and `synth --all` build every
/// environment, and each reads the same siblings.
fn folder(env: &Environment) -> std::sync::Arc<Folder> {
    folder_at(env.source.parent().unwrap_or(Path::new(".")), &[])
}

/// Each folder read by this process, by path ([`folder_at`]).
static FOLDERS: std::sync::LazyLock<std::sync::Mutex<BTreeMap<PathBuf, std::sync::Arc<Folder>>>> =
    std::sync::LazyLock::new(Default::default);

/// Forgets every folder read so far: the next read sees the files as they are now (`watch`
/// reads them again on every change).
fn forget_folders() {
    FOLDERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
}

/// The folder `dir`, read once per process (until [`forget_folders`]); the first read also validates the environments
/// named in `validate`, each on the thread that loads it (the command's targets: a barrier
/// less between loading and validating).
fn folder_at(dir: &Path, validate: &[String]) -> std::sync::Arc<Folder> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut folders = FOLDERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    folders.entry(dir.to_owned()).or_insert_with(|| std::sync::Arc::new(read_folder(dir, validate))).clone()
}

fn read_folder(dir: &Path, validate: &[String]) -> Folder {
    let Ok(names) = Environment::names(dir) else { return Folder::default() };
    let mut folder = Folder::default();
    let reads =
        on_threads(&names, |name| Environment::load_named(dir, name).map(|env| built(env, validate.contains(name))));
    for (name, read) in names.iter().zip(reads) {
        match read {
            Ok(Some(built)) => folder.built.push(built),
            Ok(None) => {}
            Err(e) => folder.unreadable.push((name.clone(), format!("{name}: {e}"))),
        }
    }
    folder
}

/// `env` with its stacks, validated when `validate`, or `None` when they do not build (its own
/// command reports why).
fn built(env: Environment, validate: bool) -> Option<Built> {
    let stacks = stacks::all(&env).ok()?;
    let findings = validate.then(|| crate::validate::all(&stacks, &env));
    Some(Built { env, stacks: stacks.into(), findings })
}

/// [`build`] of each of `envs`, in their order.
fn build_all(envs: &[Environment]) -> Vec<anyhow::Result<(Stacks, Vec<Finding>)>> {
    on_threads(envs, build)
}

/// `f` of each item, in the items' order, on as many threads as the machine has cores (the
/// calling thread is one): environments are few, the data they share is read-only once
/// initialized, and more threads than cores only contend for the allocator and the page
/// tables. A panic in one is the caller's.
fn on_threads<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = items.len().div_ceil(cores.max(1)).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let mut chunks = items.chunks(per_thread);
        let first = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks.map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<T>>())).collect();
        let mut out: Vec<T> = first.iter().map(f).collect();
        for t in others {
            out.extend(t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        out
    })
}

fn print_findings(findings: &[Finding]) {
    for f in findings {
        eprintln!("{f}");
    }
}
