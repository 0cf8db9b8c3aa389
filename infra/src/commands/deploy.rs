//! `bootstrap`, `diff`, `deploy`, `rollback`, `destroy`, `status`, `drift`: thin commands over
//! `crate::deploy`. Each loads the environment, checks the caller's account, then acts.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::out;
use anyhow::{Context, bail};

use crate::cli::{BootstrapArgs, DeployArgs, DestroyArgs, DiffArgs, StackArgs, StatusArgs};
use crate::deploy::interrupt;
use crate::deploy::key_pairs::KeyPairs;
use crate::deploy::package::Artifact;
use crate::deploy::registry::KeyPairsSecret;
use crate::deploy::stack::{self, Plan, Polling, StackSpec};
use crate::deploy::status::{Meaning, StackStatus};
use crate::deploy::{Aws, DeployError, change_set, events};
use crate::env::Environment;
use crate::keys::Stage;
use crate::stacks::{Stack, StackId, bootstrap, service};
use crate::synth::stack_tags;
use token_function::jwt::Algorithm;
use token_function::key_pairs::SigningMode;

/// Runs one command's AWS work with Ctrl-C recorded rather than fatal (see
/// [`crate::deploy::interrupt`]). A prompt still waiting for input when the work ends is not
/// waited for.
pub(super) fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let out = rt.block_on(async {
        interrupt::listen();
        work.await
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    out
}

/// Polling for this run; `INFRA_POLL_MS` sets the first interval (tests against an emulator).
fn polling() -> Polling {
    let mut p = Polling::default();
    if let Some(ms) = std::env::var("INFRA_POLL_MS").ok().and_then(|v| v.parse().ok()) {
        p.first = std::time::Duration::from_millis(ms);
    }
    p
}

pub(super) async fn connect(env: &Environment) -> anyhow::Result<Aws> {
    let mut aws = Aws::connect(env.region.as_str()).await;
    aws.partition = aws.check_account(&env.name, env.account_id.as_str()).await?;
    Ok(aws)
}

/// Prints `prompt` and reads one line from the terminal, trimmed.
fn ask(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Asks on the terminal; refuses to ask without one.
fn confirm(question: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question}: refusing to prompt without a terminal; pass --yes to proceed");
    }
    Ok(matches!(ask(&format!("{question} [y/N] "))?.as_str(), "y" | "Y" | "yes"))
}

fn spec(env: &Environment, s: &Stack, parameters: Vec<(String, Option<String>)>) -> StackSpec {
    StackSpec {
        name: s.name.clone(),
        template: s.template.to_json_string(),
        parameters,
        capabilities: s.template.capabilities(),
        tags: stack_tags(env),
        termination_protection: env.termination_protection,
        role_arn: None,
        rollback_alarms: vec![],
        rollback_monitoring_minutes: 0,
    }
}

/// ARNs of the critical alarms, for CloudFormation's rollback triggers.
fn critical_alarm_arns(env: &Environment, partition: &str) -> Vec<String> {
    use crate::stacks::alarms;
    alarms::critical(env)
        .map(|d| {
            format!("arn:{partition}:cloudwatch:{}:{}:alarm:{}", env.region, env.account_id, alarms::alarm_name(env, d))
        })
        .collect()
}

fn validated(env: &Environment) -> anyhow::Result<Vec<Stack>> {
    let (stacks, findings) = super::build(env)?;
    super::print_findings(&findings);
    if crate::validate::has_errors(&findings) {
        bail!("{}: validation failed; nothing deployed", env.name);
    }
    Ok(stacks)
}

/// Runs a plan: prints it, asks, runs `before` (when given), executes, reports. `Ok(None)` when
/// the user said no, else the stack's outputs.
async fn apply(
    aws: &Aws,
    env: &Environment,
    spec: &StackSpec,
    plan: &Plan,
    yes: bool,
    poll: Polling,
    before: Option<std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + '_>>>,
) -> anyhow::Result<Option<std::collections::BTreeMap<String, String>>> {
    let question = format!("execute this change set on {}?", spec.name);
    let answer = tokio::select! {
        a = tokio::task::spawn_blocking(move || confirm(&question, yes)) => a.unwrap_or(Ok(false)),
        () = interrupt::wait() => Err(DeployError::Interrupted(spec.name.clone()).into()),
    };
    // Ctrl-C after the answer but before execution still changes nothing.
    let answer = answer.and_then(|yes| match interrupt::interrupted() {
        true => Err(DeployError::Interrupted(spec.name.clone()).into()),
        false => Ok(yes),
    });
    if !matches!(answer, Ok(true)) {
        stack::discard(&aws.cfn, plan).await?;
    }
    if !answer? {
        eprintln!("{}: change set discarded; nothing changed", spec.name);
        return Ok(None);
    }
    if let Some(before) = before {
        let done = before.await;
        if done.is_err() || interrupt::interrupted() {
            if let Err(e) = stack::discard(&aws.cfn, plan).await {
                eprintln!(
                    "warning: {}: the change set could not be deleted ({e}); delete it in the console",
                    spec.name
                );
            }
            if let Err(e) = done {
                bail!("{} did not change (its change set was deleted): {e:#}", spec.name);
            }
            return Err(DeployError::Interrupted(spec.name.clone()).into());
        }
    }
    let outcome = stack::execute(&aws.cfn, plan, &super::target(&env.name), poll).await?;
    if !outcome.ok() {
        if let Some(cause) = events::root_cause(&outcome.events) {
            eprintln!(
                "\nroot cause: {} ({}) {}: {}",
                cause.logical_id,
                cause.resource_type,
                cause.status,
                cause.reason.as_deref().unwrap_or("no reason given")
            );
        }
        bail!(
            "{} ended {}: {}",
            spec.name,
            outcome.status.as_str(),
            events::next_step(&outcome.status, &super::target(&env.name))
        );
    }
    let mut outputs = Default::default();
    if let Some(s) = stack::describe(&aws.cfn, &spec.name).await? {
        if let Err(e) = stack::protect(&aws.cfn, &s, spec.termination_protection).await {
            eprintln!(
                "warning: {}: could not set termination protection to {}: {e}; set it in the console",
                spec.name, spec.termination_protection
            );
        }
        eprintln!("{}: {}", spec.name, outcome.status.as_str());
        outputs = stack::outputs(&s);
        for (k, v) in &outputs {
            out!("{}.{k} = {v}", spec.name);
        }
    }
    Ok(Some(outputs))
}

/// The assets bucket and the execution role from the bootstrap stack, and whether the stack is
/// older than this infra needs (refused, or with `plan` a warning).
async fn bootstrapped(aws: &Aws, env: &Environment, plan: bool) -> anyhow::Result<(String, Option<String>, bool)> {
    let name = env.bootstrap_stack_name();
    let s = stack::describe(&aws.cfn, &name).await?;
    let outputs = s.as_ref().filter(|s| stack::status(s).is_serving()).map(stack::outputs).unwrap_or_default();
    let bucket = outputs.get(bootstrap::OUTPUT_BUCKET).cloned().with_context(|| {
        format!(
            "no assets bucket: stack {name} is missing or not ready; run `cargo run -- bootstrap {}` first",
            super::target(&env.name)
        )
    })?;
    let version = outputs.get(bootstrap::OUTPUT_VERSION).map_or("1 (no BootstrapVersion output)", String::as_str);
    if version.parse::<u32>().ok().is_none_or(|v| v < bootstrap::VERSION) {
        let why = format!(
            "{name} is at bootstrap version {version}; this infra needs {} (permissions its roles need): run `cargo run -- bootstrap {}` first",
            bootstrap::VERSION,
            super::target(&env.name)
        );
        if !plan {
            bail!("{why}");
        }
        eprintln!("warning: deploy would refuse this: {why}");
        return Ok((bucket, outputs.get(bootstrap::OUTPUT_EXECUTION_ROLE).cloned(), true));
    }
    Ok((bucket, outputs.get(bootstrap::OUTPUT_EXECUTION_ROLE).cloned(), false))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn artifact(env: &Environment, zip: Option<&Path>) -> anyhow::Result<Artifact> {
    let arch = env.function.architecture;
    let a = match zip {
        Some(p) => Artifact::from_zip(p, arch)?,
        None => {
            let bin = crate::deploy::package::build(&workspace(), arch).await?;
            let bytes = std::fs::read(&bin).with_context(|| format!("cannot read {}", bin.display()))?;
            Artifact::from_binary(&bytes, arch, &bin.display().to_string())?
        }
    };
    eprintln!(
        "function: {} bytes zipped ({} unzipped), sha256 {}, needs glibc {}",
        a.zip.len(),
        a.binary_bytes,
        a.sha256,
        a.glibc.map(|(x, y)| format!("{x}.{y}")).unwrap_or_else(|| "none".into())
    );
    Ok(a)
}

/// The smoke check after the service stack deployed: against the API URL on AWS; on an emulator
/// (which runs no Lambda) against the uploaded artifact run locally by `crate::local`, with
/// the deployed key and registry.
async fn smoke(
    aws: &Aws,
    env: &Environment,
    service: &Stack,
    outputs: &std::collections::BTreeMap<String, String>,
    artifact: Option<&Artifact>,
    algorithm: Algorithm,
    first_create: bool,
) -> anyhow::Result<()> {
    // A new key's tags and aliases may take up to five minutes to authorize the function's
    // GetPublicKey (AWS KMS developer guide, "ABAC for AWS KMS"): until then every cold start
    // fails. On AWS, a first create's check is retried for that long.
    let settle = if first_create && !aws.emulator { KMS_AUTHORIZATION_LAG } else { std::time::Duration::ZERO };
    let failed = |e: String| {
        let logs = format!("/aws/lambda/{}", service::function_name(env));
        DeployError::Smoke(e, super::target(&env.name), logs)
    };
    let mut running = None;
    let mut checked = outputs.clone();
    if aws.emulator {
        let artifact = artifact.context("no artifact to smoke-check locally")?;
        let template = service.template.to_json();
        let served = served(aws, env, &template).await.map_err(failed)?;
        let local = crate::local::start(crate::local::Options {
            env,
            template: &template,
            served,
            artifact,
            aws: crate::local::aws_variables(&aws.config).await?,
            listener: crate::local::bind(0).await?,
            max_environments: 1,
            quiet: true,
        })
        .await
        .map_err(|e| failed(format!("cannot run the function locally: {e:#}")))?;
        eprintln!(
            "smoke check: {} runs no Lambda; checking the uploaded artifact run locally at {}",
            aws.endpoint, local.url
        );
        checked = local.outputs(outputs);
        running = Some(local);
    }
    let checked = settled_check(&checked, algorithm.name(), settle).await;
    if checked.is_err() && interrupt::interrupted() {
        bail!(
            "interrupted during the smoke check; {} is deployed: `cargo run -- deploy {}` checks it again",
            service.name,
            super::target(&env.name)
        );
    }
    let lines = checked.map_err(|e| failed(e.to_string()))?;
    for line in lines {
        eprintln!("smoke check: {line}");
    }
    drop(running);
    Ok(())
}

/// What the deployed API invokes: the function's configuration at the qualifier its
/// integration targets, read from Lambda.
async fn served(
    aws: &Aws,
    env: &Environment,
    template: &serde_json::Value,
) -> Result<crate::deploy::served::Served, String> {
    let qualifier = crate::deploy::served::invoked_qualifier(template);
    crate::deploy::served::served(&aws.lambda, &service::function_name(env), &qualifier).await
}

/// How long KMS may take to honour a new key's tags and aliases (five minutes, "ABAC for AWS
/// KMS"), with a minute to spare.
const KMS_AUTHORIZATION_LAG: std::time::Duration = std::time::Duration::from_secs(360);

/// The smoke check, tried again every 15 s for up to `settle` while it fails (Ctrl-C stops).
async fn settled_check(
    outputs: &std::collections::BTreeMap<String, String>,
    alg: &str,
    settle: std::time::Duration,
) -> Result<Vec<String>, crate::deploy::smoke::SmokeError> {
    let until = std::time::Instant::now() + settle;
    loop {
        let result = crate::deploy::smoke::check(outputs, alg).await;
        match result {
            Err(e) if std::time::Instant::now() < until && !interrupt::interrupted() => {
                eprintln!(
                    "smoke check: {e}; a new KMS key can take up to 5 minutes to authorize, retrying in 15 s (for {} s more)",
                    until.saturating_duration_since(std::time::Instant::now()).as_secs()
                );
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_secs(15)) => {}
                    () = interrupt::wait() => {}
                }
            }
            other => return other,
        }
    }
}

/// `serve <env> --lambda`: the artifact (built, or `--function-zip`) run locally against the
/// deployed stack's key and registry, until Ctrl-C.
pub fn serve_lambda(dir: &Path, args: crate::cli::ServeArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let stacks = validated(&env)?;
    let service = stacks.iter().find(|s| s.id == StackId::Service).context("no service stack")?;
    let template = service.template.to_json();
    block_on(async {
        // What can fail fast is checked before the build: the port, the account, the stack.
        let listener = crate::local::bind(args.port).await?;
        let aws = connect(&env).await?;
        let name = env.service_stack_name();
        let deployed = stack::describe(&aws.cfn, &name).await?.with_context(|| {
            format!("{name} is not deployed; deploy it first: `cargo run -- deploy {}`", super::target(&env.name))
        })?;
        let outputs = stack::outputs(&deployed);
        let served = served(&aws, &env, &template).await.map_err(|e| anyhow::anyhow!(e))?;
        let artifact = artifact(&env, args.function_zip.as_deref()).await?;
        eprintln!(
            "running the configuration of {}:{} (version {}: its variables, timeout, memory and log level; TOKEN_ISSUER is this server's URL), read from the deployed stack at {}; it keeps serving what it read then: after a deploy or `keys rotate`, restart it",
            service::function_name(&env),
            served.qualifier,
            served.version,
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        );
        if served.runs_code(&artifact.sha256) == Some(false) {
            eprintln!(
                "note: the code here ({}) is not the deployed version's; pass --function-zip with the deployed zip to run exactly that",
                artifact.key()
            );
        }
        for (version, weight) in &served.routing {
            eprintln!(
                "note: the alias also sends {:.0} % of requests to version {version} (a canary in progress); only version {} runs here",
                weight * 100.0,
                served.version
            );
        }
        let running = crate::local::start(crate::local::Options {
            env: &env,
            template: &template,
            served,
            artifact: &artifact,
            aws: crate::local::aws_variables(&aws.config).await?,
            listener,
            max_environments: usize::from(args.max_environments),
            quiet: false,
        })
        .await?;
        eprintln!("serving `{}`'s function on {} (the issuer of its tokens; Ctrl-C stops)", env.name, running.url);
        for (k, v) in running.outputs(&outputs).iter().filter(|(k, _)| k.ends_with("Url")) {
            eprintln!("  {k} = {v}");
        }
        interrupt::wait().await;
        eprintln!("stopped after {} cold start(s)", running.api.function().cold_starts());
        Ok(ExitCode::SUCCESS)
    })
}

pub fn package(dir: &Path, args: crate::cli::PackageArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let a = block_on(artifact(&env, None))?;
    if let Some(out) = &args.out {
        std::fs::write(out, &a.zip).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    out!("{} {} {}", a.key(), a.zip.len(), a.binary_bytes);
    Ok(ExitCode::SUCCESS)
}

pub fn bootstrap(dir: &Path, args: BootstrapArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let template = bootstrap::build(&env)?;
    let s = Stack { id: StackId::Bootstrap, name: env.bootstrap_stack_name(), template };
    let mut spec = spec(&env, &s, vec![]);
    spec.termination_protection = env.termination_protection;
    block_on(async {
        let aws = connect(&env).await?;
        let poll = polling();
        match stack::plan(&aws.cfn, &spec, &super::target(&env.name), false, poll).await? {
            None => eprint!("{}", change_set::render(&spec.name, &[])),
            Some(plan) => {
                eprint!("{}", change_set::render(&spec.name, &plan.changes));
                apply(&aws, &env, &spec, &plan, args.yes, poll, None).await?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn diff(dir: &Path, args: DiffArgs) -> anyhow::Result<ExitCode> {
    deploy(
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
        },
    )
}

pub fn deploy(dir: &Path, args: DeployArgs) -> anyhow::Result<ExitCode> {
    deploy_step(dir, args, None)
}

/// A signing-key step (`keys rotate`): the stage to set and when it begins (Unix seconds).
pub(super) type KeyStep = (crate::keys::Stage, u64);

/// The service stack's parameters: the artifact (`None`: keep the deployed one) and the signing
/// key stage, set by a key step or else kept as deployed (a new stack starts at the defaults).
fn service_parameters(
    existing: Option<&aws_sdk_cloudformation::types::Stack>,
    bucket: &str,
    code: Option<&String>,
    step: Option<KeyStep>,
    algorithm: Algorithm,
) -> Vec<(String, Option<String>)> {
    let mut params = vec![
        (service::PARAM_ARTIFACT_BUCKET.to_owned(), code.map(|_| bucket.to_owned())),
        (service::PARAM_ARTIFACT_KEY.to_owned(), code.cloned()),
    ];
    // A failed first create (replaced with --replace-failed) has no values to keep.
    let kept = existing.filter(|s| !failed_create(s));
    let deployed = |name: &str| kept.is_some_and(|s| s.parameters().iter().any(|p| p.parameter_key() == Some(name)));
    // A parameter the deployed stack does not have yet gets its default, given explicitly
    // (LocalStack applies no default to a parameter an update omits).
    let values = match step {
        Some((stage, since)) => [Some(stage.as_str().to_owned()), Some(since.to_string())],
        None => [Some(crate::keys::Stage::A.as_str().to_owned()), Some("0".to_owned())],
    };
    for (name, value) in [service::PARAM_KEY_STAGE, service::PARAM_KEY_STAGE_SINCE].into_iter().zip(values) {
        let keep = step.is_none() && deployed(name);
        params.push((name.to_owned(), if keep { None } else { value }));
    }
    // The kms-mode keys keep the spec they were created with.
    let spec = service::kms_key_spec(algorithm).as_str().to_owned();
    params
        .push((service::PARAM_KEY_SPEC.to_owned(), if deployed(service::PARAM_KEY_SPEC) { None } else { Some(spec) }));
    params
}

/// Why a plan must not run: it replaces a signing key (unless allowed), or loses the client
/// registry, the signing key pairs or the key they are encrypted under.
fn guard(plan: &Plan, replace_keys: bool) -> Option<String> {
    use change_set::Guarded;
    let keys: Vec<&str> = service::KEY_SLOT_IDS.iter().map(|(_, id)| *id).collect();
    let kept = [service::REGISTRY_ID, service::KEY_PAIRS_ID, service::KEY_ENCRYPTION_KEY_ID];
    match change_set::guarded(&plan.changes, &keys, &kept)? {
        Guarded::SigningKeyReplaced(_) if replace_keys => None,
        Guarded::SigningKeyReplaced(id) => Some(format!(
            "this change replaces the signing key {id}: every token it signed stops verifying at once. Rotate with `keys rotate` instead, or pass --replace-signing-keys if that is intended"
        )),
        Guarded::KeySpecChanged(id) => Some(format!(
            "this change gives the signing key {id} another key spec (signing_key.algorithm), which KMS cannot change on an existing key; keep the deployed algorithm (a new environment can start with the other one)"
        )),
        Guarded::DataLost(id) => Some(format!(
            "this change replaces or removes {id}, whose contents cannot be made again (the client registry: every registered client; the signing key pairs or the key they are encrypted under: every signing key); keep its name and properties"
        )),
    }
}

/// The deployed stage of a service stack's outputs: `a` for a stack from before rotation (no
/// output); an output this version cannot read is an error, never taken for `a`.
fn deployed_stage(outputs: &BTreeMap<String, String>) -> anyhow::Result<Stage> {
    match outputs.get(service::OUTPUT_KEY_STAGE) {
        None => Ok(Stage::A),
        Some(v) => {
            Stage::parse(v).with_context(|| format!("the deployed signing key stage `{v}` is not one this infra knows"))
        }
    }
}

/// Why the file's signing settings cannot be deployed over `outputs` (the deployed service
/// stack's): in kms mode a new algorithm needs another key spec, which KMS cannot give an existing
/// key; a change of mode signs with the other mode's key at once, so every token signed before
/// stops verifying (allowed with `--replace-signing-keys`); envelope mode needs the key pairs,
/// which a stack from before signing modes does not have yet.
fn signing_change(env: &Environment, outputs: &BTreeMap<String, String>, replace_keys: bool) -> Option<String> {
    let spec = service::kms_key_spec(env.signing_key.algorithm).as_str();
    if let Some(deployed_spec) = outputs.get(service::OUTPUT_KEY_SPEC).filter(|d| *d != spec)
        && env.signing_key.mode == SigningMode::Kms
    {
        return Some(format!(
            "{}'s kms-mode signing keys are {deployed_spec} and signing_key.algorithm {} needs {spec}, but KMS cannot change a key's spec: keep the deployed algorithm, or use signing_key.mode: envelope, whose key pairs follow signing_key.algorithm from the next `keys rotate`",
            env.service_stack_name(),
            env.signing_key.algorithm.name()
        ));
    }
    let deployed = outputs.get(service::OUTPUT_SIGNING_MODE).map_or("kms", String::as_str);
    let wanted = env.signing_key.mode.as_str();
    if deployed == wanted {
        return None;
    }
    if env.signing_key.mode == SigningMode::Envelope && !outputs.contains_key(service::OUTPUT_KEY_PAIRS_SECRET) {
        return Some(format!(
            "{} has no key pairs yet (it was deployed by an older infra): deploy it once with signing_key.mode: kms (which creates them), then switch",
            env.service_stack_name()
        ));
    }
    (!replace_keys).then(|| format!(
        "{} signs in {deployed} mode and the file says signing_key.mode: {wanted}: the change signs with the other mode's key at once, and every token signed before stops verifying. Pass --replace-signing-keys if that is intended (docs/operations.md, \"Changing the signing mode\")",
        env.service_stack_name()
    ))
}

/// Brings the key pair secret named in a service stack's `outputs` from the deployed stage
/// `from` to `to` (see `crate::deploy::key_pairs`). Returns the algorithm `to`'s signing key
/// signs with: the file's in `kms` mode; in envelope mode the signing pair's, which a new
/// `signing_key.algorithm` reaches at the next rotation. A stack from before key pairs has none.
async fn sync_key_pairs(
    aws: &Aws,
    env: &Environment,
    outputs: &BTreeMap<String, String>,
    (from, to): (Stage, Stage),
    retry: &str,
) -> anyhow::Result<Algorithm> {
    let (Some(secret), Some(kek)) =
        (outputs.get(service::OUTPUT_KEY_PAIRS_SECRET), outputs.get(service::OUTPUT_KEY_ENCRYPTION_KEY))
    else {
        return Ok(env.signing_key.algorithm);
    };
    let pairs = KeyPairs {
        secret: KeyPairsSecret::new(aws.secrets.clone(), secret),
        kms: aws.kms.clone(),
        key_encryption_key: kek.clone(),
        service: env.qualified(),
        algorithm: env.signing_key.algorithm,
    };
    let now = super::unix_now();
    let (lines, algorithm) = pairs.sync(from, to, now).await.map_err(|e| {
        anyhow::anyhow!(
            "the signing key pairs of {} could not be brought to stage {to} ({e}); once that is fixed, `{retry}` does it",
            env.service_stack_name()
        )
    })?;
    let mode = env.signing_key.mode;
    for line in lines {
        eprintln!(
            "{line}{}",
            if mode == SigningMode::Kms { " (for envelope mode; kms mode signs with KMS keys)" } else { "" }
        );
    }
    if mode == SigningMode::Kms {
        return Ok(env.signing_key.algorithm);
    }
    if algorithm != env.signing_key.algorithm {
        eprintln!(
            "note: signing_key.algorithm is {} but the signing key pair is {}: key pairs generated from now on are {} and sign once a rotation (`cargo run -- keys {} rotate`) reaches them",
            env.signing_key.algorithm.name(),
            algorithm.name(),
            env.signing_key.algorithm.name(),
            super::target(&env.name)
        );
    }
    Ok(algorithm)
}

/// Refuses a deploy outside the environment's change window.
fn in_change_window(env: &Environment) -> anyhow::Result<()> {
    let now = super::unix_now();
    if let Some(w) = &env.deploy.change_window
        && !w.contains(now)
    {
        bail!(
            "{} is outside its change window ({:?} {:02}:00-{:02}:00 UTC); wait, or pass --ignore-change-window if this is an emergency",
            env.name,
            w.days,
            w.start_hour_utc.get(),
            w.end_hour_utc.get()
        );
    }
    Ok(())
}

/// What a `destroy` that stops has done: the stacks it deleted already, and how to finish.
fn destroyed_so_far(deleted: &[String], target: &str) -> String {
    match deleted {
        [] => "nothing was deleted".to_owned(),
        d => format!("{} was deleted already; `cargo run -- destroy {target}` again deletes the rest", d.join(", ")),
    }
}

/// The artifact key the deployed service stack runs (its `ArtifactKey` parameter).
fn deployed_artifact(stack: &aws_sdk_cloudformation::types::Stack) -> Option<&str> {
    stack
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some(service::PARAM_ARTIFACT_KEY))
        .and_then(|p| p.parameter_value())
}

/// Builds (or reads `zip`) and uploads the function; with `plan`, only says where it would go.
async fn function_code(
    aws: &Aws,
    env: &Environment,
    bucket: &str,
    zip: Option<&Path>,
    plan: bool,
) -> anyhow::Result<Artifact> {
    let a = artifact(env, zip).await?;
    if plan {
        match aws.uploaded(bucket, &a.key()).await {
            true => eprintln!("function: s3://{bucket}/{} is uploaded already", a.key()),
            false => eprintln!("function: would upload s3://{bucket}/{}", a.key()),
        }
    } else if tokio::select! {
        uploaded = aws.upload(bucket, &a) => uploaded?,
        () = interrupt::wait() => bail!("interrupted during the upload of the function; nothing was deployed"),
    } {
        eprintln!("function: uploaded s3://{bucket}/{}", a.key());
    } else {
        eprintln!("function: s3://{bucket}/{} already there", a.key());
    }
    Ok(a)
}

/// With a canary, the critical alarms as CloudFormation rollback triggers, once the monitoring
/// stack (which holds them) exists.
async fn rollback_triggers(aws: &Aws, env: &Environment, spec: &mut StackSpec) -> anyhow::Result<()> {
    let Some(canary) = &env.function.canary else { return Ok(()) };
    let monitoring = stack::describe(&aws.cfn, &env.monitoring_stack_name()).await?;
    if monitoring.is_some_and(|m| stack::status(&m).is_serving()) {
        spec.rollback_alarms = critical_alarm_arns(env, &aws.partition);
        spec.rollback_monitoring_minutes = canary.rollback_monitoring_minutes.get();
    }
    Ok(())
}

/// One deploy (or key step) under way: what each stack's step needs.
struct Run<'a> {
    aws: Aws,
    env: &'a Environment,
    args: &'a DeployArgs,
    step: Option<KeyStep>,
    poll: Polling,
    bucket: String,
    role: Option<String>,
    existing: Option<aws_sdk_cloudformation::types::Stack>,
    /// The service stack's outputs, when it is deployed (not a failed first create).
    deployed: Option<BTreeMap<String, String>>,
    uploaded: Option<Artifact>,
    /// A plan showed something `deploy` would refuse.
    refused: std::cell::Cell<bool>,
}

/// How one stack's step ended.
enum Done {
    Unchanged,
    Changed,
    /// The user said no: nothing of this stack changed, and later stacks are not tried.
    Declined,
}

impl<'a> Run<'a> {
    async fn start(env: &'a Environment, args: &'a DeployArgs, step: Option<KeyStep>) -> anyhow::Result<Self> {
        let aws = connect(env).await?;
        let (bucket, role, outdated) = bootstrapped(&aws, env, args.plan).await?;
        let wanted = env.function.reserved_concurrency.map(|c| c.get());
        crate::deploy::quotas::check_concurrency(&aws.lambda, &service::function_name(env), wanted)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", env.locate("function.reserved_concurrency")))?;
        let existing = stack::describe(&aws.cfn, &env.service_stack_name()).await?;
        let deployed = existing.as_ref().filter(|s| !failed_create(s)).map(stack::outputs);
        // A key step keeps the deployed code; a plan builds it, as the deploy would.
        let status = existing.as_ref().map(stack::status);
        let keep_code =
            keeps_deployed_code(status.as_ref(), step.is_some() || args.deployed_code, args.function_zip.is_some());
        let uploaded = if keep_code {
            eprintln!("function: as deployed");
            None
        } else {
            let a = function_code(&aws, env, &bucket, args.function_zip.as_deref(), args.plan).await?;
            if let Some(deployed) = existing.as_ref().and_then(|s| deployed_artifact(s)) {
                if deployed == a.key() {
                    eprintln!("function: the code here is the deployed code ({deployed})");
                } else {
                    eprintln!("function: the code here differs from the deployed code ({deployed} -> {})", a.key());
                }
            }
            Some(a)
        };
        let refused = std::cell::Cell::new(outdated);
        Ok(Run { aws, env, args, step, poll: polling(), bucket, role, existing, deployed, uploaded, refused })
    }

    /// The command that runs this step again: a key step, or the deploy.
    fn retry(&self) -> String {
        match self.step {
            Some(_) => format!("cargo run -- keys {} rotate", super::target(&self.env.name)),
            None => self.deploy_again(),
        }
    }

    fn deploy_again(&self) -> String {
        format!("cargo run -- deploy {}", super::target(&self.env.name))
    }

    async fn spec(&self, s: &Stack) -> anyhow::Result<StackSpec> {
        let params = match s.id {
            StackId::Service => service_parameters(
                self.existing.as_ref(),
                &self.bucket,
                self.uploaded.as_ref().map(Artifact::key).as_ref(),
                self.step,
                self.env.signing_key.algorithm,
            ),
            _ => vec![],
        };
        let mut spec = spec(self.env, s, params);
        spec.role_arn = self.role.clone();
        if s.id == StackId::Service {
            rollback_triggers(&self.aws, self.env, &mut spec).await?;
        }
        Ok(spec)
    }

    /// Plans, shows, guards and (unless `--plan`) executes one stack's change set.
    async fn stack(&self, s: &Stack) -> anyhow::Result<Done> {
        let service = s.id == StackId::Service;
        let spec = self.spec(s).await?;
        if let Some(why) = self
            .deployed
            .as_ref()
            .filter(|_| service)
            .and_then(|o| signing_change(self.env, o, self.args.replace_signing_keys))
        {
            if !self.args.plan {
                bail!("{why}; nothing changed");
            }
            eprintln!("warning: deploy would refuse this: {why}");
            self.refused.set(true);
        }
        let target = super::target(&self.env.name);
        let Some(plan) = stack::plan(&self.aws.cfn, &spec, &target, self.args.replace_failed, self.poll).await? else {
            eprint!("{}", change_set::render(&spec.name, &[]));
            if service && !self.args.plan {
                self.no_change().await?;
            }
            return Ok(Done::Unchanged);
        };
        eprint!("{}", change_set::render(&spec.name, &plan.changes));
        if let Some(why) = guard(&plan, self.args.replace_signing_keys).filter(|_| service) {
            if self.args.plan {
                eprintln!("warning: deploy would refuse this: {why}");
                self.refused.set(true);
            } else {
                stack::discard(&self.aws.cfn, &plan).await?;
                bail!("{why}; the change set was deleted and nothing changed");
            }
        }
        if self.args.plan {
            stack::discard(&self.aws.cfn, &plan).await?;
            return Ok(Done::Changed);
        }
        let before = service.then(|| self.before_service());
        let Some(outputs) = apply(&self.aws, self.env, &spec, &plan, self.args.yes, self.poll, before).await? else {
            return Ok(Done::Declined);
        };
        if service {
            self.after_service(s, &outputs).await?;
        }
        Ok(Done::Changed)
    }

    /// Before the service stack's change set runs (after it was confirmed): a slot the new
    /// stage publishes gets its key pair, so the function finds it at once.
    fn before_service(&self) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + '_>> {
        Box::pin(async move {
            let Some(outputs) = &self.deployed else { return Ok(()) };
            let from = deployed_stage(outputs)?;
            let to = self.step.map_or(from, |(stage, _)| stage);
            sync_key_pairs(&self.aws, self.env, outputs, (from, to), &self.retry()).await.map(|_| ())
        })
    }

    /// A service stack with no changes: its key pairs are brought to its stage as it is now
    /// (read again: a key step may have run meanwhile).
    async fn no_change(&self) -> anyhow::Result<()> {
        let now = stack::describe(&self.aws.cfn, &self.env.service_stack_name()).await?;
        if let Some(outputs) = now.as_ref().map(stack::outputs) {
            let stage = deployed_stage(&outputs)?;
            sync_key_pairs(&self.aws, self.env, &outputs, (stage, stage), &self.deploy_again()).await?;
        }
        Ok(())
    }

    /// After the service stack's update: its key pairs in step with its stage, then the smoke
    /// check.
    async fn after_service(&self, s: &Stack, outputs: &BTreeMap<String, String>) -> anyhow::Result<()> {
        let stage = deployed_stage(outputs)?;
        let algorithm = sync_key_pairs(&self.aws, self.env, outputs, (stage, stage), &self.deploy_again()).await?;
        if self.args.no_smoke_check {
            return Ok(());
        }
        let first_create = self.deployed.is_none();
        // The domain is new to the stack on its first create, or when the deployed stack had no
        // domain: until DNS points at it nothing answers there, and the execute-api endpoint is
        // off (API Gateway developer guide, "Disable the default endpoint for REST APIs").
        let domain_is_new =
            self.deployed.as_ref().is_none_or(|outputs| !outputs.contains_key(service::OUTPUT_DOMAIN_TARGET));
        if let Some(domain) = self.env.api.custom_domain.as_ref().filter(|_| domain_is_new && !self.aws.emulator) {
            eprintln!(
                "smoke check: skipped: the custom domain is new to this stack, and the API answers only at https://{} (its execute-api endpoint is off), whose DNS must first point at the {} output above; then run `cargo run -- deploy {}` again, which checks it",
                domain.domain_name,
                service::OUTPUT_DOMAIN_TARGET,
                super::target(&self.env.name)
            );
        } else if self.aws.emulator && self.uploaded.is_none() {
            eprintln!(
                "smoke check: skipped; the function was not uploaded now, so there is no artifact to run locally"
            );
        } else {
            smoke(&self.aws, self.env, s, outputs, self.uploaded.as_ref(), algorithm, first_create).await?;
        }
        Ok(())
    }
}

/// A stack whose first create failed (or never ran): it has nothing deployed to keep.
/// The stack has no completed create: nothing deployed to keep or compare.
fn failed_create(s: &aws_sdk_cloudformation::types::Stack) -> bool {
    stack::status(s).never_created()
}

/// Whether the deployed code is kept (`UsePreviousValue` on the artifact parameters) rather
/// than built: when it is asked for (a key step, `--deployed-code`) without `--function-zip`,
/// and a create completed. A stack that was never created (none, `REVIEW_IN_PROGRESS`, a
/// failed first create replaced with `--replace-failed`) gets a CREATE change set, for which
/// CloudFormation refuses `UsePreviousValue` (API reference, "Parameter"): the code is built.
fn keeps_deployed_code(status: Option<&StackStatus>, asked: bool, zip_given: bool) -> bool {
    asked && !zip_given && status.is_some_and(|s| !s.never_created())
}

/// `deploy`, or with `step` a signing-key step: the same update of the service stack with the
/// deployed function kept.
pub(super) fn deploy_step(dir: &Path, args: DeployArgs, step: Option<KeyStep>) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let stacks = validated(&env)?;
    if !args.plan && !args.ignore_change_window {
        in_change_window(&env)?;
    }
    block_on(async {
        let run = Run::start(&env, &args, step).await?;
        let mut changed = false;
        // A key step changes the service stack only.
        for s in stacks.iter().filter(|s| s.id != StackId::Bootstrap && (step.is_none() || s.id == StackId::Service)) {
            if interrupt::interrupted() {
                bail!("interrupted before {}: it and the stacks after it were not changed", s.name);
            }
            let done = run.stack(s).await.map_err(|e| match e.downcast_ref::<DeployError>() {
                // Ctrl-C while CloudFormation works: what comes after this stack's update in
                // the deploy (the key pair sync, the smoke check, the next stacks) did not run.
                Some(DeployError::Watching { .. }) => e.context(format!(
                    "the deploy's later steps (signing key pairs, smoke check, the stacks after {}) did not run: once the update completes, run `{}` again to finish them",
                    s.name,
                    run.retry()
                )),
                _ => e,
            })?;
            match done {
                Done::Unchanged => {}
                Done::Changed => changed = true,
                Done::Declined => return Ok(ExitCode::from(super::EXIT_ERROR)),
            }
        }
        if args.plan && run.deployed.is_some() {
            // Registry entries are never changed by a deploy: say where they and the file differ.
            for line in super::clients::report(&run.aws, &env).await {
                eprintln!("{line}");
            }
        }
        Ok(match (args.plan, changed) {
            // A plan deploy would refuse is no plan to apply: an error, whatever it changes.
            (true, _) if run.refused.get() => ExitCode::from(super::EXIT_ERROR),
            (true, true) => ExitCode::from(super::EXIT_CHANGES),
            _ => ExitCode::SUCCESS,
        })
    })
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
            match stack::recover(&aws.cfn, &name, &super::target(&env.name), polling()).await? {
                None => eprintln!("{name}: nothing to roll back"),
                Some(o) => {
                    any = true;
                    eprintln!("{name}: {}", o.status.as_str());
                    if !o.status.is_settled() || o.status.as_str().ends_with("_FAILED") {
                        let next = events::next_step(&o.status, &super::target(&env.name));
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
        let target = super::target(&env.name);
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
            let outcome = stack::delete(&aws.cfn, &name, &super::target(&env.name), polling()).await?;
            if outcome.status != StackStatus::DeleteComplete {
                bail!(
                    "{name} ended {}: {}",
                    outcome.status.as_str(),
                    events::next_step(&outcome.status, &super::target(&env.name))
                );
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
                for line in super::clients::report(&aws, &env).await {
                    out!("  {line}");
                }
            }
            if args.watch && !st.is_settled() {
                let seen = stack::recent_events(&aws.cfn, &name, 100).await?.into_iter().map(|e| e.id).collect();
                let o = stack::watch(&aws.cfn, &name, seen, 0, &super::target(&env.name), polling()).await?;
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
        let mut drifted = false;
        for (_, name) in targets {
            let (status, drifts) = stack::drift(&aws.cfn, &name, polling()).await?;
            out!("{name}: {status}");
            for d in &drifts {
                out!("  {:<10} {} ({})", d.status, d.logical_id, d.resource_type);
            }
            drifted |= status == "DRIFTED";
        }
        Ok(if drifted { ExitCode::from(super::EXIT_CHANGES) } else { ExitCode::SUCCESS })
    })
}

#[cfg(test)]
mod tests {
    /// The deployed code is kept only where a create completed and nobody gave a zip.
    #[test]
    fn deployed_code_is_kept_only_where_a_create_completed() {
        let rows = [
            (Some("UPDATE_COMPLETE"), true, false, true),
            (Some("UPDATE_ROLLBACK_COMPLETE"), true, false, true),
            (Some("CREATE_COMPLETE"), true, true, false),
            (Some("CREATE_COMPLETE"), false, false, false),
            (None, true, false, false),
            (Some("REVIEW_IN_PROGRESS"), true, false, false),
            (Some("ROLLBACK_COMPLETE"), true, false, false),
            (Some("CREATE_FAILED"), true, false, false),
            (Some("ROLLBACK_FAILED"), true, false, false),
        ];
        for (status, asked, zip, want) in rows {
            let status = status.map(crate::deploy::status::parse);
            assert_eq!(
                super::keeps_deployed_code(status.as_ref(), asked, zip),
                want,
                "{status:?} asked {asked} zip {zip}"
            );
        }
    }

    /// A destroy that stops says what it deleted already, never "nothing" after a deletion.
    #[test]
    fn a_stopped_destroy_says_what_it_deleted() {
        assert_eq!(super::destroyed_so_far(&[], "dev"), "nothing was deleted");
        assert_eq!(
            super::destroyed_so_far(&["token-service-dev-monitoring".into()], "dev"),
            "token-service-dev-monitoring was deleted already; `cargo run -- destroy dev` again deletes the rest"
        );
    }

    use super::*;
    use token_function::key_pairs::SigningMode;

    /// Changing the signing mode of a deployed stack is refused unless asked for; a stack from
    /// before modes counts as `kms`, and cannot go to envelope mode before it has key pairs.
    #[test]
    fn mode_changes_need_replace_signing_keys() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        let mut env = Environment::load_named(&dir, "dev").unwrap();
        let deployed = |mode: Option<&str>, pairs: bool| -> BTreeMap<String, String> {
            let mut o: BTreeMap<String, String> =
                mode.map(|m| (service::OUTPUT_SIGNING_MODE.to_owned(), m.to_owned())).into_iter().collect();
            if pairs {
                o.insert(service::OUTPUT_KEY_PAIRS_SECRET.to_owned(), "arn".to_owned());
            }
            o
        };
        let replace = "--replace-signing-keys";
        let rows = [
            (None, false, SigningMode::Kms, false, None),
            (
                None,
                false,
                SigningMode::Envelope,
                true,
                Some("has no key pairs yet (it was deployed by an older infra)"),
            ),
            (Some("kms"), false, SigningMode::Envelope, true, Some("has no key pairs yet")),
            (None, true, SigningMode::Envelope, false, Some(replace)),
            (None, true, SigningMode::Envelope, true, None),
            (Some("kms"), true, SigningMode::Kms, false, None),
            (Some("kms"), true, SigningMode::Envelope, false, Some(replace)),
            (Some("envelope"), true, SigningMode::Envelope, false, None),
            (Some("envelope"), true, SigningMode::Kms, false, Some(replace)),
            (Some("envelope"), true, SigningMode::Kms, true, None),
        ];
        for (was, pairs, mode, replace_keys, refused) in rows {
            env.signing_key.mode = mode;
            let got = signing_change(&env, &deployed(was, pairs), replace_keys);
            match (&got, refused) {
                (None, None) => {}
                (Some(why), Some(want)) => assert!(why.contains(want), "{why}"),
                _ => panic!("{was:?} -> {mode:?} pairs={pairs} replace={replace_keys}: {got:?}"),
            }
        }
    }

    /// KMS cannot change a key's spec: a new signing_key.algorithm is refused in kms mode, even
    /// with --replace-signing-keys; envelope mode takes it (its key pairs follow it).
    #[test]
    fn kms_key_specs_stay_as_created() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        let mut env = Environment::load_named(&dir, "dev").unwrap();
        let outputs = |mode: &str, spec: &str| -> BTreeMap<String, String> {
            [
                (service::OUTPUT_SIGNING_MODE, mode),
                (service::OUTPUT_KEY_SPEC, spec),
                (service::OUTPUT_KEY_PAIRS_SECRET, "arn"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
        };
        let rows = [
            ("kms", "ECC_NIST_P256", SigningMode::Kms, Algorithm::ES256, true, None),
            ("kms", "ECC_NIST_P256", SigningMode::Kms, Algorithm::RS256, true, Some("KMS cannot change a key's spec")),
            ("kms", "RSA_2048", SigningMode::Kms, Algorithm::ES256, false, Some("keys are RSA_2048")),
            ("envelope", "ECC_NIST_P256", SigningMode::Envelope, Algorithm::RS256, false, None),
            ("kms", "ECC_NIST_P256", SigningMode::Envelope, Algorithm::RS256, true, None),
        ];
        for (was, spec, mode, alg, replace, refused) in rows {
            (env.signing_key.mode, env.signing_key.algorithm) = (mode, alg);
            let got = signing_change(&env, &outputs(was, spec), replace);
            match (&got, refused) {
                (None, None) => {}
                (Some(why), Some(want)) => assert!(why.contains(want), "{why}"),
                _ => panic!("{was} {spec} -> {mode:?} {alg:?} replace={replace}: {got:?}"),
            }
        }
    }
}
