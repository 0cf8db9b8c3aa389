//! The deploy engine: one run of `deploy` (or of a signing-key step) over an environment's
//! stacks: bootstrap check, artifact build and upload, each stack's change set planned, shown,
//! guarded (see [`super::guards`]) and executed, the signing key pairs kept in step with the
//! key stage, and the smoke check. The commands parse, call [`run`] and print; progress goes
//! to standard error as it happens.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use token_function::jwt::Algorithm;
use token_function::key_pairs::SigningMode;

use super::guards::{guard, signing_change};
use super::key_pairs::KeyPairs;
use super::package::Artifact;
use super::registry::KeyPairsSecret;
use super::saved_plan::{self, PlannedStack, SavedPlan};
use super::stack::{self, Plan, Polling, StackSpec};
use super::status::{Meaning, StackStatus};
use super::{Aws, DeployError, change_set, events, hotswap, interrupt};
use crate::env::Environment;
use crate::keys::Stage;
use crate::session::{confirm, connect, out, polling, target, unix_now};
use crate::stacks::outputs::{BootstrapOutputs, ServiceOutputs};
use crate::stacks::{Stack, StackId, bootstrap, service};
use crate::synth::stack_tags;

/// What the user asked of one deploy (the flags of `deploy` and `diff`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Plan only (`diff`, `deploy --plan`): change sets are made, shown and deleted.
    pub plan: bool,
    /// Execute without asking.
    pub yes: bool,
    /// Deploy this zip instead of building the function.
    pub function_zip: Option<PathBuf>,
    /// Replace a stack whose first create failed.
    pub replace_failed: bool,
    /// Skip the smoke check after the service stack's update.
    pub no_smoke_check: bool,
    /// Allow a change that replaces a signing key or changes the signing mode.
    pub replace_signing_keys: bool,
    /// Keep the deployed function code (no build) where a create completed.
    pub deployed_code: bool,
    /// With `plan`: keep the change sets (and upload the function) for a saved plan
    /// ([`save`]) instead of deleting them.
    pub save: bool,
}

/// How a run ended, for the command's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// Every stack was unchanged (or, planning, would be).
    Unchanged,
    /// At least one stack changed (or, planning, would change).
    Changed,
    /// A plan showed something `deploy` would refuse: no plan to apply.
    Refused,
    /// The user declined a change set: that stack and the ones after it did not change.
    Declined,
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
    let outcome = stack::execute(&aws.cfn, plan, &target(&env.name), poll).await?;
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
            events::next_step(&outcome.status, &target(&env.name))
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
    let all = s.as_ref().filter(|s| stack::status(s).is_serving()).map(stack::outputs).unwrap_or_default();
    let outputs = BootstrapOutputs::read(&all);
    let bucket = outputs.bucket.with_context(|| {
        format!(
            "no assets bucket: stack {name} is missing or not ready; run `cargo run -- bootstrap {}` first",
            target(&env.name)
        )
    })?;
    if outputs.version.is_none_or(|v| v < bootstrap::VERSION) {
        let why = format!(
            "{name} is at bootstrap version {}; this infra needs {} (permissions its roles need): run `cargo run -- bootstrap {}` first",
            outputs.version_text,
            bootstrap::VERSION,
            target(&env.name)
        );
        if !plan {
            bail!("{why}");
        }
        eprintln!("warning: deploy would refuse this: {why}");
        return Ok((bucket, outputs.execution_role, true));
    }
    Ok((bucket, outputs.execution_role, false))
}

/// The function artifact for `env`'s architecture: the prebuilt zip at `zip`, or the function
/// built from this workspace. Prints its size, SHA-256 and the glibc it needs.
pub async fn artifact(env: &Environment, zip: Option<&Path>) -> anyhow::Result<Artifact> {
    let arch = env.function.architecture;
    let a = match zip {
        Some(p) => Artifact::from_zip(p, arch)?,
        None => {
            let bin = crate::deploy::package::build(&crate::session::checkout(), arch).await?;
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
        DeployError::Smoke(e, target(&env.name), logs)
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
            target(&env.name)
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
pub async fn served(
    aws: &Aws,
    env: &Environment,
    template: &serde_json::Value,
) -> Result<crate::deploy::served::Served, String> {
    let qualifier = crate::deploy::served::invoked_qualifier(template);
    crate::deploy::served::served(&aws.lambda, &service::function_name(env), &qualifier)
        .await
        .map_err(|e| e.to_string())
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

/// A signing-key step (`keys rotate`): the stage to set and when it begins (Unix seconds).
pub type KeyStep = (crate::keys::Stage, u64);

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

/// Brings the key pair secret named in a service stack's `outputs` from the deployed stage
/// `from` to `to` (see `crate::deploy::key_pairs`). Returns the algorithm `to`'s signing key
/// signs with: the file's in `kms` mode; in envelope mode the signing pair's, which a new
/// `signing_key.algorithm` reaches at the next rotation. A stack from before key pairs has none.
async fn sync_key_pairs(
    aws: &Aws,
    env: &Environment,
    outputs: &ServiceOutputs,
    (from, to): (Stage, Stage),
    retry: &str,
) -> anyhow::Result<Algorithm> {
    let Some(deployed) = &outputs.key_pairs else {
        return Ok(env.signing_key.algorithm);
    };
    let pairs = KeyPairs {
        secret: KeyPairsSecret::new(aws.secrets.clone(), &deployed.secret),
        kms: aws.kms.clone(),
        key_encryption_key: deployed.key_encryption_key.clone(),
        service: env.qualified(),
        algorithm: env.signing_key.algorithm,
    };
    let now = unix_now();
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
            target(&env.name)
        );
    }
    Ok(algorithm)
}

/// The artifact key the deployed service stack runs (its `ArtifactKey` parameter).
fn deployed_artifact(stack: &aws_sdk_cloudformation::types::Stack) -> Option<&str> {
    parameter(stack, service::PARAM_ARTIFACT_KEY)
}

/// The value of a deployed stack's parameter `name`, if it has one.
fn parameter<'s>(stack: &'s aws_sdk_cloudformation::types::Stack, name: &str) -> Option<&'s str> {
    stack.parameters().iter().find(|p| p.parameter_key() == Some(name)).and_then(|p| p.parameter_value())
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
    } else {
        upload_said(aws, bucket, &a).await?;
    }
    Ok(a)
}

/// Uploads the artifact ([`Aws::upload`]) and says so; Ctrl-C stops it, nothing deployed.
async fn upload_said(aws: &Aws, bucket: &str, a: &Artifact) -> anyhow::Result<()> {
    if tokio::select! {
        uploaded = aws.upload(bucket, a) => uploaded?,
        () = interrupt::wait() => bail!("interrupted while the function was checked or uploaded to the assets bucket; nothing was deployed"),
    } {
        eprintln!("function: uploaded s3://{bucket}/{}", a.key());
    } else {
        eprintln!("function: s3://{bucket}/{} already there", a.key());
    }
    Ok(())
}

/// With a canary, the critical alarms that exist as CloudFormation rollback triggers. An alarm
/// the monitoring stack has not created yet (it deploys after the service stack) is left out
/// and named: "If a specified trigger is missing, the entire stack operation fails and is
/// rolled back" (CloudFormation API reference, "RollbackTrigger").
async fn rollback_triggers(aws: &Aws, env: &Environment, spec: &mut StackSpec) -> anyhow::Result<()> {
    let Some(canary) = &env.function.canary else { return Ok(()) };
    let monitoring = stack::describe(&aws.cfn, &env.monitoring_stack_name()).await?;
    if !monitoring.is_some_and(|m| stack::status(&m).is_serving()) {
        return Ok(());
    }
    let wanted = critical_alarm_arns(env, &aws.partition);
    let names: Vec<&str> = wanted.iter().filter_map(|arn| arn.rsplit(':').next()).collect();
    let existing = super::alarms::existing(aws, &names).await?;
    let (kept, missing) = present(&wanted, &existing);
    for arn in &missing {
        eprintln!(
            "rollback trigger left out: {arn} does not exist yet (the monitoring stack, deployed after this one, creates it)"
        );
    }
    spec.rollback_alarms = kept;
    spec.rollback_monitoring_minutes = canary.rollback_monitoring_minutes.get();
    Ok(())
}

/// `arns` split into those whose alarm name is in `existing`, and the others.
fn present(arns: &[String], existing: &std::collections::BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    arns.iter().cloned().partition(|arn| arn.rsplit(':').next().is_some_and(|name| existing.contains(name)))
}

/// One deploy (or key step) under way: what each stack's step needs.
struct Run<'a> {
    aws: Aws,
    env: &'a Environment,
    opts: &'a Options,
    step: Option<KeyStep>,
    poll: Polling,
    bucket: String,
    role: Option<String>,
    existing: Option<aws_sdk_cloudformation::types::Stack>,
    /// The service stack's outputs, when it is deployed (not a failed first create).
    deployed: Option<ServiceOutputs>,
    uploaded: Option<Artifact>,
    /// A plan showed something `deploy` would refuse.
    refused: std::cell::Cell<bool>,
    /// Putting the stack's code back failed: the run goes on, and ends with this error.
    put_back_failed: std::cell::RefCell<Option<String>>,
    /// With `opts.save`: each stack as planned, its change set kept.
    kept: std::cell::RefCell<Vec<PlannedStack>>,
}

/// How one stack's step ended.
enum Done {
    Unchanged,
    Changed,
    /// The user said no: nothing of this stack changed, and later stacks are not tried.
    Declined,
}

impl<'a> Run<'a> {
    async fn start(env: &'a Environment, opts: &'a Options, step: Option<KeyStep>) -> anyhow::Result<Self> {
        let mut run = Self::connect(env, opts, step).await?;
        // A key step keeps the deployed code; a plan builds it, as the deploy would.
        let status = run.existing.as_ref().map(stack::status);
        let keep_code =
            keeps_deployed_code(status.as_ref(), step.is_some() || opts.deployed_code, opts.function_zip.is_some());
        run.uploaded = if keep_code {
            eprintln!("function: as deployed");
            None
        } else {
            let upload = !opts.plan || opts.save;
            let a = function_code(&run.aws, env, &run.bucket, opts.function_zip.as_deref(), !upload).await?;
            if let Some(deployed) = run.existing.as_ref().and_then(|s| deployed_artifact(s)) {
                if deployed == a.key() {
                    eprintln!("function: the code here is the deployed code ({deployed})");
                } else {
                    eprintln!("function: the code here differs from the deployed code ({deployed} -> {})", a.key());
                }
            }
            Some(a)
        };
        Ok(run)
    }

    /// The run without its artifact: the connection, the bootstrap stack's bucket and role, the
    /// concurrency quota check, and the service stack as deployed.
    async fn connect(env: &'a Environment, opts: &'a Options, step: Option<KeyStep>) -> anyhow::Result<Self> {
        let aws = connect(env).await?;
        let (bucket, role, outdated) = bootstrapped(&aws, env, opts.plan).await?;
        let wanted = env.function.reserved_concurrency.map(|c| c.get());
        crate::deploy::quotas::check_concurrency(&aws.lambda, &service::function_name(env), wanted)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", env.locate("function.reserved_concurrency")))?;
        let existing = stack::describe(&aws.cfn, &env.service_stack_name()).await?;
        let deployed = existing.as_ref().filter(|s| !failed_create(s)).map(stack::service_outputs).transpose()?;
        Ok(Run {
            aws,
            env,
            opts,
            step,
            poll: polling(),
            bucket,
            role,
            existing,
            deployed,
            uploaded: None,
            refused: std::cell::Cell::new(outdated),
            put_back_failed: Default::default(),
            kept: Default::default(),
        })
    }

    /// The command that runs this step again: a key step, or the deploy.
    fn retry(&self) -> String {
        match self.step {
            Some(_) => format!("cargo run -- keys {} rotate", target(&self.env.name)),
            None => self.deploy_again(),
        }
    }

    fn deploy_again(&self) -> String {
        format!("cargo run -- deploy {}", target(&self.env.name))
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
            .and_then(|o| signing_change(self.env, o, self.opts.replace_signing_keys))
        {
            if !self.opts.plan {
                bail!("{why}; nothing changed");
            }
            eprintln!("warning: deploy would refuse this: {why}");
            self.refused.set(true);
        }
        let target = target(&self.env.name);
        let Some(plan) = stack::plan(&self.aws.cfn, &spec, &target, self.opts.replace_failed, self.poll).await? else {
            eprint!("{}", change_set::render(&spec.name, &[]));
            if service && !self.opts.plan {
                self.no_change().await?;
            }
            let drifted = service && self.settle_code(s).await;
            if !self.opts.plan {
                self.protect_unchanged(&spec).await?;
            }
            self.keep(s, &spec, None).await?;
            return Ok(if drifted { Done::Changed } else { Done::Unchanged });
        };
        eprint!("{}", change_set::render(&spec.name, &plan.changes));
        if let Some(why) = guard(&plan, self.opts.replace_signing_keys).filter(|_| service) {
            if self.opts.plan {
                eprintln!("warning: deploy would refuse this: {why}");
                self.refused.set(true);
            } else {
                stack::discard(&self.aws.cfn, &plan).await?;
                bail!("{why}; the change set was deleted and nothing changed");
            }
        }
        if self.opts.plan {
            if service {
                self.settle_code(s).await;
            }
            if self.opts.save {
                self.keep(s, &spec, Some(&plan)).await?;
            } else {
                stack::discard(&self.aws.cfn, &plan).await?;
            }
            return Ok(Done::Changed);
        }
        let before = service.then(|| self.before_service());
        let Some(outputs) = apply(&self.aws, self.env, &spec, &plan, self.opts.yes, self.poll, before).await? else {
            return Ok(Done::Declined);
        };
        if service {
            let outputs = ServiceOutputs::read(outputs).map_err(|e| anyhow::anyhow!("{}: {e}", spec.name))?;
            self.after_service(s, &outputs).await?;
        }
        Ok(Done::Changed)
    }

    /// With `opts.save`: records the stack as planned, its change set (if any) kept. The record
    /// is kept even when reading the stack fails, so that the change set is deleted with the
    /// others.
    async fn keep(&self, s: &Stack, spec: &StackSpec, plan: Option<&Plan>) -> anyhow::Result<()> {
        if !self.opts.save {
            return Ok(());
        }
        let mut planned = PlannedStack {
            id: s.id,
            name: spec.name.clone(),
            change_set: plan.map(|p| p.change_set.clone()),
            create: plan.is_some_and(|p| p.create),
            template_sha256: saved_plan::template_sha256(&spec.template),
            last_updated: None,
            changes: plan.map_or_else(Vec::new, |p| p.changes.clone()),
        };
        for why in saved_plan::unplanned_changes(&planned.name, &planned.changes) {
            eprintln!("warning: deploy --from-plan would refuse this: {why}");
            self.refused.set(true);
        }
        let read = self.read_planned(&mut planned).await;
        self.kept.borrow_mut().push(planned);
        read
    }

    /// The stack's last update (none for the stack a create change set made), and whether its
    /// change set can still run.
    async fn read_planned(&self, planned: &mut PlannedStack) -> anyhow::Result<()> {
        if !planned.create {
            let now = stack::describe(&self.aws.cfn, &planned.name).await?;
            planned.last_updated = now.as_ref().and_then(stack::last_updated);
        }
        if let Some(change_set) = &planned.change_set
            && let Err(why) = stack::saved(&self.aws.cfn, &planned.name, change_set, planned.create).await?
        {
            bail!("{why}");
        }
        Ok(())
    }

    /// Before the service stack's change set runs (after it was confirmed): a slot the new
    /// stage publishes gets its key pair, so the function finds it at once.
    fn before_service(&self) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + '_>> {
        Box::pin(async move {
            let Some(outputs) = &self.deployed else { return Ok(()) };
            let from = outputs.key_stage;
            let to = self.step.map_or(from, |(stage, _)| stage);
            sync_key_pairs(&self.aws, self.env, outputs, (from, to), &self.retry()).await.map(|_| ())
        })
    }

    /// Termination protection of a stack no change set touches: only UpdateTerminationProtection
    /// changes it (CloudFormation API reference; change sets carry no such setting), so a change
    /// of `termination_protection` alone reaches the stack here.
    async fn protect_unchanged(&self, spec: &StackSpec) -> anyhow::Result<()> {
        if let Some(s) = stack::describe(&self.aws.cfn, &spec.name).await? {
            let want = spec.termination_protection;
            match stack::protect(&self.aws.cfn, &s, want).await {
                Err(e) => eprintln!(
                    "warning: {}: could not set termination protection to {want}: {e}; set it in the console",
                    spec.name
                ),
                Ok(()) if s.enable_termination_protection().unwrap_or(false) != want => {
                    eprintln!("{}: termination protection set to {want}", spec.name)
                }
                Ok(()) => {}
            }
        }
        Ok(())
    }

    /// Where the function runs other code than the service stack names (a hotswap, a change
    /// outside CloudFormation), which no change set sees: a plan names it and says what the
    /// deploy would do; a deploy puts the stack's code back where the environment allows
    /// hotswaps (its deploy role may update code), and says how otherwise. Returns whether
    /// something changes: planning, the code drifted; deploying, it was put back. A failed read
    /// is a warning; a failed put-back is recorded for the end of the run (the rest of it goes
    /// on: [`Run::finish`]).
    async fn settle_code(&self, s: &Stack) -> bool {
        let drift = match function_drift(&self.aws, self.env, &s.template.to_json()).await {
            Ok(d) => d,
            Err(e) => {
                eprintln!("warning: could not compare the function's code with its stack's: {e:#}");
                return false;
            }
        };
        let Some((target, code, lines)) = drift else { return false };
        for line in &lines {
            eprintln!("drifted: {line}");
        }
        let allowed = self.env.deploy.allow_hotswap;
        let cannot = || {
            format!(
                "{} is false, so the deploy role may not update code: deploy other code, which CloudFormation then installs, or put s3://{}/{} back in the Lambda console",
                self.env.locate("deploy.allow_hotswap"),
                code.bucket,
                code.key
            )
        };
        let planned = self.uploaded.as_ref().map(Artifact::key).filter(|k| *k != code.key);
        if self.opts.plan {
            match planned {
                Some(key) => eprintln!("the change set installs {key}, which ends this"),
                None if allowed => eprintln!("deploy puts the stack's code {} back", code.key),
                None => eprintln!("deploy cannot put the stack's code back: {}", cannot()),
            }
            return true;
        }
        if !allowed {
            eprintln!("warning: not put back: {}", cannot());
            return false;
        }
        let put = hotswap::Code { bucket: &code.bucket, key: &code.key, sha256: &code.sha256 };
        match hotswap::swap(&self.aws, &target, put).await {
            Ok(version) => {
                eprintln!("function: put the stack's code {} back ({version})", code.key);
                true
            }
            Err(e) => {
                let why = format!("putting the stack's code {} back failed: {e:#}", code.key);
                eprintln!("error: {why}; the deploy goes on");
                *self.put_back_failed.borrow_mut() = Some(why);
                false
            }
        }
    }

    /// The end of a run: a put-back that failed fails it, after every other step ran.
    fn finish(&self, summary: Summary) -> anyhow::Result<Summary> {
        match self.put_back_failed.take() {
            Some(why) => bail!("the stacks are deployed, but {why}; `{}` tries again", self.deploy_again()),
            None => Ok(summary),
        }
    }

    /// A service stack with no changes: its key pairs are brought to its stage as it is now
    /// (read again: a key step may have run meanwhile).
    async fn no_change(&self) -> anyhow::Result<()> {
        let now = stack::describe(&self.aws.cfn, &self.env.service_stack_name()).await?;
        if let Some(outputs) = now.as_ref().map(stack::service_outputs).transpose()? {
            let stage = outputs.key_stage;
            sync_key_pairs(&self.aws, self.env, &outputs, (stage, stage), &self.deploy_again()).await?;
        }
        Ok(())
    }

    /// After the service stack's update: its key pairs in step with its stage, then the smoke
    /// check.
    async fn after_service(&self, s: &Stack, outputs: &ServiceOutputs) -> anyhow::Result<()> {
        let stage = outputs.key_stage;
        let algorithm = sync_key_pairs(&self.aws, self.env, outputs, (stage, stage), &self.deploy_again()).await?;
        self.settle_code(s).await;
        if self.opts.no_smoke_check {
            return Ok(());
        }
        let first_create = self.deployed.is_none();
        // The domain is new to the stack on its first create, or when the deployed stack had no
        // domain: until DNS points at it nothing answers there, and the execute-api endpoint is
        // off (API Gateway developer guide, "Disable the default endpoint for REST APIs").
        let domain_is_new = self.deployed.as_ref().is_none_or(|outputs| outputs.domain_target.is_none());
        if let Some(domain) = self.env.api.custom_domain.as_ref().filter(|_| domain_is_new && !self.aws.emulator) {
            eprintln!(
                "smoke check: skipped: the custom domain is new to this stack, and the API answers only at https://{} (its execute-api endpoint is off), whose DNS must first point at the {} output above; then run `cargo run -- deploy {}` again, which checks it",
                domain.domain_name,
                crate::stacks::outputs::service::DOMAIN_TARGET,
                target(&self.env.name)
            );
        } else if self.aws.emulator && self.uploaded.is_none() {
            eprintln!(
                "smoke check: skipped; the function was not uploaded now, so there is no artifact to run locally"
            );
        } else {
            smoke(&self.aws, self.env, s, &outputs.all, self.uploaded.as_ref(), algorithm, first_create).await?;
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
/// Runs `deploy` over `stacks` (built and validated), or with `step` a signing-key step: the
/// same update of the service stack only, with the deployed function kept. Errors name the
/// stack and the command that finishes the run; Ctrl-C between stacks stops before the next.
pub async fn run(
    env: &Environment,
    stacks: &[Stack],
    opts: &Options,
    step: Option<KeyStep>,
) -> anyhow::Result<Summary> {
    let run = Run::start(env, opts, step).await?;
    run_stacks(&run, stacks).await
}

/// `diff --out`: plans as [`run`] does with `opts.plan`, keeping the change sets, and returns
/// the plan to write. A plan `deploy` would refuse, an error or Ctrl-C deletes the change sets
/// kept so far and returns no plan.
pub async fn save(env: &Environment, stacks: &[Stack], opts: &Options) -> anyhow::Result<(Summary, Option<SavedPlan>)> {
    let opts = Options { plan: true, save: true, ..opts.clone() };
    let file_sha256 = saved_plan::environment_file_sha256(env)?;
    let run = Run::start(env, &opts, None).await?;
    let summary = run_stacks(&run, stacks).await;
    let kept = run.kept.take();
    if !matches!(summary, Ok(Summary::Changed | Summary::Unchanged)) {
        discard_kept(&run.aws, &kept).await;
        return summary.map(|s| (s, None));
    }
    let saved = SavedPlan {
        format: saved_plan::FORMAT,
        environment: env.name.clone(),
        account_id: env.account_id.as_str().to_owned(),
        region: env.region.as_str().to_owned(),
        made_at: unix_now(),
        environment_file_sha256: file_sha256,
        artifact_key: run.uploaded.as_ref().map(Artifact::key),
        stacks: kept,
    };
    summary.map(|s| (s, Some(saved)))
}

/// `deploy --from-plan`: executes the change sets of `saved` (made by [`save`], here or by
/// another checkout) in order, after checking, before anything runs, that nothing moved since:
/// `env` and its synthesized `stacks` as planned ([`SavedPlan::mismatches`]), each stack last
/// updated when it was planned, each change set still executable and carrying what this
/// checkout would send ([`still_planned`]), the function this checkout builds (or
/// `opts.function_zip`) being the plan's artifact, and the guards `deploy` applies (signing
/// keys, replacements). Any mismatch executes nothing. The artifact is then uploaded from here
/// (create-only, [`Aws::upload`]), so what runs is built here whoever made the plan. `shown`
/// names the plan file in messages.
pub async fn apply_saved(
    env: &Environment,
    stacks: &[Stack],
    saved: &SavedPlan,
    opts: &Options,
    shown: &str,
) -> anyhow::Result<Summary> {
    let opts = Options { plan: false, save: false, ..opts.clone() };
    let mut run = Run::connect(env, &opts, None).await?;
    let mut why = saved.mismatches(env, &saved_plan::environment_file_sha256(env)?, stacks, unix_now());
    run.uploaded = planned_artifact(&run, saved, opts.function_zip.as_deref(), &mut why).await?;
    let mut plans = Vec::new();
    if run.aws.emulator {
        eprintln!(
            "note: {} answers a change set's template with its stack's and keeps a stack's LastUpdatedTime through updates, so the change sets' templates, and a stack updated since the plan, are checked on AWS only",
            run.aws.endpoint
        );
    }
    for planned in &saved.stacks {
        match still_planned(&run, stacks, planned).await? {
            Ok(Some(plan)) => plans.push((planned, plan)),
            Ok(None) => {}
            Err(e) => why.extend(e),
        }
    }
    why.extend(saved_guards(&run, &plans));
    if !why.is_empty() {
        let zip = opts.function_zip.as_ref().map(|z| format!(" --function-zip {}", z.display())).unwrap_or_default();
        bail!(
            "{shown} was not deployed, nothing executed: {}; its change sets are kept: make a new plan with `cargo run -- diff {}{zip} --out {shown}`",
            why.join("; "),
            target(&env.name)
        );
    }
    if let Some(a) = &run.uploaded {
        upload_said(&run.aws, &run.bucket, a).await?;
    }
    if !plans.iter().any(|(p, _)| p.id == StackId::Service) {
        // As `deploy` does for an unchanged service stack: its key pairs follow its stage, and
        // code that is not the stack's is put back.
        run.no_change().await?;
        if let Some(service) = stacks.iter().find(|s| s.id == StackId::Service) {
            run.settle_code(service).await;
        }
    }
    let summary = execute_saved(&run, stacks, &plans).await?;
    // As `deploy` does for a stack without changes: its termination protection follows the file.
    for s in stacks.iter().filter(|s| saved.stacks.iter().any(|p| p.id == s.id && p.change_set.is_none())) {
        run.protect_unchanged(&spec(env, s, vec![])).await?;
    }
    run.finish(summary)
}

/// The function a saved plan deploys, built here (or read from `zip`) as `deploy` would; `None`
/// when the plan keeps the deployed code, which must then be what this checkout builds (a plan
/// file cannot keep old code in place of the checkout's). A key other than the plan's (or the
/// deployed one) is added to `why`.
async fn planned_artifact(
    run: &Run<'_>,
    saved: &SavedPlan,
    zip: Option<&Path>,
    why: &mut Vec<String>,
) -> anyhow::Result<Option<Artifact>> {
    let a = artifact(run.env, zip).await?;
    let here = zip.map_or_else(|| "the function built here".to_owned(), |z| z.display().to_string());
    let Some(key) = &saved.artifact_key else {
        let deployed = run.existing.as_ref().and_then(|s| deployed_artifact(s));
        if deployed != Some(a.key().as_str()) {
            why.push(format!(
                "artifact_key: the plan keeps the deployed code ({}); {here} is {}: make the plan without --deployed-code",
                deployed.unwrap_or("none: no stack is deployed"),
                a.key()
            ));
        }
        return Ok(None);
    };
    if a.key() != *key {
        why.push(format!(
            "artifact_key: the plan deploys {key}; {here} is {} (the plan was made from other code or another zip: give the zip it was made with, --function-zip)",
            a.key()
        ));
    }
    Ok(Some(a))
}

/// `planned` as CloudFormation has it now: its change set (`None` for a stack with nothing to
/// change, which must then be as this checkout would deploy it: [`super::hotswap::differences`])
/// when the stack was not updated since, the change set is still executable, younger
/// than the environment allows, and carries what this checkout would send: its stack of
/// `stacks` with the parameters, tags and rollback triggers [`Run::spec`] gives
/// ([`saved_plan::change_set_mismatches`]) and the template synthesized here. Else why not.
/// An emulator's change sets' templates are not compared (LocalStack's `GetTemplate` answers
/// the stack's template whatever change set is named).
async fn still_planned(
    run: &Run<'_>,
    stacks: &[Stack],
    planned: &PlannedStack,
) -> anyhow::Result<Result<Option<Plan>, Vec<String>>> {
    let now = stack::describe(&run.aws.cfn, &planned.name).await?;
    let updated =
        now.as_ref().filter(|s| stack::status(s) != StackStatus::ReviewInProgress).and_then(stack::last_updated);
    if let Some(why) = planned.moved(updated.as_deref()) {
        return Ok(Err(vec![why]));
    }
    let synthesized = stacks.iter().find(|s| s.id == planned.id).context("a planned stack is not built")?;
    let spec = run.spec(synthesized).await?;
    // Whether the change set creates its stack is CloudFormation's to say, not the file's: a
    // create change set's stack waits in REVIEW_IN_PROGRESS.
    let creating = now.as_ref().is_none_or(|s| stack::status(s) == StackStatus::ReviewInProgress);
    if planned.change_set.is_some() && planned.create != creating {
        let (said, is) = if planned.create { ("creates", "exists") } else { ("updates", "waits for its first create") };
        return Ok(Err(vec![format!(
            "{}: create: the plan says its change set {said} the stack, which {is}",
            planned.name
        )]));
    }
    let Some(change_set) = &planned.change_set else {
        // Nothing to change, says the plan: so the stack must be as this checkout would deploy it
        // (termination protection apart: it is set outside change sets, after them).
        let deployed = super::hotswap::read(&run.aws, &planned.name).await?;
        let protected = deployed.as_ref().map_or(spec.termination_protection, |d| d.termination_protection);
        let spec = StackSpec { termination_protection: protected, ..spec };
        let why = super::hotswap::differences(&spec, deployed.as_ref(), "");
        return Ok(if why.is_empty() { Ok(None) } else { Err(why) });
    };
    let kept = match stack::saved(&run.aws.cfn, &planned.name, change_set, planned.create).await? {
        Ok(kept) => kept,
        Err(why) => return Ok(Err(vec![why])),
    };
    let deployed: std::collections::BTreeMap<String, String> = now
        .iter()
        .flat_map(|s| s.parameters())
        .filter_map(|p| Some((p.parameter_key()?.to_owned(), p.parameter_value()?.to_owned())))
        .collect();
    let mut why = saved_plan::change_set_mismatches(&spec, &deployed, &kept);
    let max = run.env.deploy.plan_max_age_hours.get();
    why.extend(saved_plan::change_set_too_old(&planned.name, kept.created, unix_now(), max));
    let changed = now.as_ref().and_then(|s| s.last_updated_time().or(s.creation_time())).map(|t| t.secs());
    why.extend(saved_plan::stack_changed_since(&planned.name, changed, kept.created, planned.create));
    if !run.aws.emulator {
        // Parsed from the text sent, as CloudFormation's copy is: the same numbers either way.
        let template = serde_json::from_str(&synthesized.template.to_json_string())?;
        why.extend(stack::change_set_carries(&run.aws.cfn, &planned.name, change_set, &template).await?);
    }
    Ok(if why.is_empty() { Ok(Some(kept.plan)) } else { Err(why) })
}

/// Executes the checked change sets in order. Each stack after the first is checked again just
/// before it runs (the service stack's update, its rollback monitoring and the smoke check take
/// minutes). When the run stops (an error, a refusal, a no, Ctrl-C), the change sets that did
/// not run are deleted: the plan can no longer run as a whole.
async fn execute_saved(run: &Run<'_>, stacks: &[Stack], plans: &[(&PlannedStack, Plan)]) -> anyhow::Result<Summary> {
    for (i, (planned, plan)) in plans.iter().enumerate() {
        let stop = |from: usize| {
            let rest: Vec<PlannedStack> = plans[from..].iter().map(|(p, _)| (*p).clone()).collect();
            let ran: Vec<&str> = plans[..i].iter().map(|(p, _)| p.name.as_str()).collect();
            let said = format!(
                "the plan stopped at {}; {} ran before it; the change sets that did not run were deleted; make a new plan for the rest",
                planned.name,
                if ran.is_empty() { "nothing".to_owned() } else { ran.join(", ") }
            );
            (rest, said)
        };
        if let Err(e) = ready_to_run(run, stacks, i > 0, planned).await {
            let (rest, said) = stop(i);
            discard_kept(&run.aws, &rest).await;
            return Err(e.context(said));
        }
        let went = run_saved(run, stacks, planned, plan).await;
        if !matches!(went, Ok(true)) {
            // This stack's change set ran, or `apply` deleted it: the ones after it are left.
            let (rest, said) = stop(i + 1);
            discard_kept(&run.aws, &rest).await;
            return match went {
                Ok(_) => {
                    eprintln!("{said}");
                    Ok(Summary::Declined)
                }
                Err(e) => Err(e.context(said)),
            };
        }
    }
    Ok(if plans.is_empty() { Summary::Unchanged } else { Summary::Changed })
}

/// Before one saved change set runs: no Ctrl-C, and (`again`, for every stack after the first)
/// the stack and its change set still as planned.
async fn ready_to_run(run: &Run<'_>, stacks: &[Stack], again: bool, planned: &PlannedStack) -> anyhow::Result<()> {
    if interrupt::interrupted() {
        bail!("interrupted before {}", planned.name);
    }
    if again && let Err(why) = still_planned(run, stacks, planned).await? {
        bail!("{}", why.join("; "));
    }
    Ok(())
}

/// Shows, confirms and executes one saved change set, with the service stack's steps around it;
/// `Ok(false)` when the user said no.
async fn run_saved(run: &Run<'_>, stacks: &[Stack], planned: &PlannedStack, plan: &Plan) -> anyhow::Result<bool> {
    let s = stacks.iter().find(|s| s.id == planned.id).context("a planned stack is not built")?;
    let spec = StackSpec { role_arn: run.role.clone(), ..spec(run.env, s, vec![]) };
    eprint!("{}", change_set::render(&spec.name, &plan.changes));
    let service = s.id == StackId::Service;
    let before = service.then(|| run.before_service());
    let Some(outputs) = apply(&run.aws, run.env, &spec, plan, run.opts.yes, run.poll, before).await? else {
        return Ok(false);
    };
    if service {
        let outputs = ServiceOutputs::read(outputs).map_err(|e| anyhow::anyhow!("{}: {e}", spec.name))?;
        run.after_service(s, &outputs).await?;
    }
    Ok(true)
}

/// Deletes the change sets of `kept` (and the empty stack a create change set made), saying
/// which could not be.
async fn discard_kept(aws: &Aws, kept: &[PlannedStack]) {
    for p in kept {
        let Some(change_set) = p.change_set.clone() else { continue };
        let plan = Plan { stack: p.name.clone(), change_set, create: p.create, changes: vec![] };
        if let Err(e) = stack::discard(&aws.cfn, &plan).await {
            eprintln!("warning: {}: change set {}: {e}; delete it in the console", plan.stack, plan.change_set);
        }
    }
}

/// Deletes the change sets of a plan that will not be written or run.
pub async fn discard_saved(env: &Environment, saved: &SavedPlan) -> anyhow::Result<()> {
    let aws = connect(env).await?;
    discard_kept(&aws, &saved.stacks).await;
    Ok(())
}

/// What `deploy` would refuse of a saved plan's change sets: a change that is not an add,
/// modify or remove (an import), a signing change without `--replace-signing-keys`, a replaced
/// key or kept resource in the service stack's changes.
fn saved_guards(run: &Run<'_>, plans: &[(&PlannedStack, Plan)]) -> Vec<String> {
    let mut why = Vec::new();
    for (planned, plan) in plans {
        why.extend(saved_plan::unplanned_changes(&planned.name, &plan.changes));
    }
    let replace = run.opts.replace_signing_keys;
    for (planned, plan) in plans.iter().filter(|(p, _)| p.id == StackId::Service) {
        if let Some(w) = run.deployed.as_ref().and_then(|o| signing_change(run.env, o, replace)) {
            why.push(format!("{}: {w}", planned.name));
        }
        if let Some(w) = guard(plan, replace) {
            why.push(format!("{}: {w}", planned.name));
        }
    }
    why
}

/// The stacks of one run, in order (the bootstrap stack apart; a key step only the service
/// stack).
async fn run_stacks(run: &Run<'_>, stacks: &[Stack]) -> anyhow::Result<Summary> {
    let (env, opts, step) = (run.env, run.opts, run.step);
    let mut changed = false;
    // A key step changes the service stack only.
    for s in stacks.iter().filter(|s| s.id != StackId::Bootstrap && (step.is_none() || s.id == StackId::Service)) {
        if interrupt::interrupted() {
            bail!("interrupted before {}: it and the stacks after it were not changed", s.name);
        }
        let done = run.stack(s).await.map_err(|e| match e.downcast_ref::<DeployError>() {
            // Ctrl-C while CloudFormation works: what comes after this stack's update in
            // the deploy (the key pair sync, the smoke check, the next stacks) did not run.
            Some(DeployError::Watching { .. } | DeployError::WatchLost { .. }) => e.context(format!(
                "the deploy's later steps (signing key pairs, smoke check, the stacks after {}) did not run: once the update completes, run `{}` again to finish them",
                s.name,
                run.retry()
            )),
            _ => e,
        })?;
        match done {
            Done::Unchanged => {}
            Done::Changed => changed = true,
            Done::Declined => return Ok(Summary::Declined),
        }
    }
    if opts.plan && run.deployed.is_some() {
        // Registry entries are never changed by a deploy: say where they and the file differ.
        for line in super::registry::report(&run.aws, env).await {
            eprintln!("{line}");
        }
    }
    run.finish(match (opts.plan && run.refused.get(), changed) {
        // A plan deploy would refuse is no plan to apply, whatever it changes.
        (true, _) => Summary::Refused,
        (false, true) => Summary::Changed,
        (false, false) => Summary::Unchanged,
    })
}

/// `bootstrap`: plans the bootstrap stack's change set, shows it, and (asked, or with `yes`)
/// executes it.
pub async fn bootstrap(env: &Environment, yes: bool) -> anyhow::Result<()> {
    let template = bootstrap::build(env)?;
    let s = Stack { id: StackId::Bootstrap, name: env.bootstrap_stack_name(), template };
    let spec = spec(env, &s, vec![]);
    let aws = connect(env).await?;
    let poll = polling();
    match stack::plan(&aws.cfn, &spec, &target(&env.name), false, poll).await? {
        None => eprint!("{}", change_set::render(&spec.name, &[])),
        Some(plan) => {
            eprint!("{}", change_set::render(&spec.name, &plan.changes));
            apply(&aws, env, &spec, &plan, yes, poll, None).await?;
        }
    }
    Ok(())
}

/// The code a service stack names: its `ArtifactBucket` and `ArtifactKey` parameters.
#[derive(Clone, Debug)]
pub struct StackCode {
    /// The assets bucket.
    pub bucket: String,
    /// The artifact's key.
    pub key: String,
    /// The zip's SHA-256, lowercase hex, from the key.
    pub sha256: String,
}

/// The function of `env` and the alias its API invokes in `template` (the service stack's).
pub fn hotswap_target(env: &Environment, template: &serde_json::Value) -> hotswap::Target {
    let qualifier = crate::deploy::served::invoked_qualifier(template);
    hotswap::Target { function: service::function_name(env), alias: (qualifier != "$LATEST").then_some(qualifier) }
}

/// Whether the deployed function runs other code than its service stack names
/// ([`hotswap::code_drift`]): the target, the stack's code and one line per drifted qualifier;
/// `None` when it runs the stack's code, or there is no service stack that names code.
///
/// # Errors
/// Reading the stack or the function failed.
pub async fn function_drift(
    aws: &Aws,
    env: &Environment,
    template: &serde_json::Value,
) -> anyhow::Result<Option<(hotswap::Target, StackCode, Vec<String>)>> {
    let Some(now) = stack::describe(&aws.cfn, &env.service_stack_name()).await? else { return Ok(None) };
    let (Some(bucket), Some(key)) = (parameter(&now, service::PARAM_ARTIFACT_BUCKET), deployed_artifact(&now)) else {
        return Ok(None);
    };
    // A stack never created names no code; while an operation runs, what the function runs
    // is in flux (CloudFormation or CodeDeploy moving it).
    let status = stack::status(&now);
    if status.never_created() || !status.is_settled() {
        return Ok(None);
    }
    let target = hotswap_target(env, template);
    let lines = hotswap::code_drift(aws, &target, key).await?;
    let sha256 = super::package::key_sha256(key).unwrap_or_default().to_owned();
    let code = StackCode { bucket: bucket.to_owned(), key: key.to_owned(), sha256 };
    Ok((!lines.is_empty()).then_some((target, code, lines)))
}

/// How one hotswap attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hotswapped {
    /// Lambda runs the new code: the version the API invokes (`$LATEST`, or the alias's new
    /// version), and whether that code is other than the service stack names (it has drifted).
    Swapped {
        /// The version the API invokes.
        version: String,
        /// The code is not the stack's artifact.
        drifted: bool,
    },
    /// The API's function runs this code already; whether it is other than the stack names.
    AlreadyRunning {
        /// The code is not the stack's artifact.
        drifted: bool,
    },
    /// A deploy would change more than the code: why, one line each.
    NotCodeOnly(Vec<String>),
}

impl Hotswapped {
    /// Whether the function is left running other code than its stack names (`None`: this
    /// attempt did not find out).
    pub fn drifted(&self) -> Option<bool> {
        match self {
            Hotswapped::Swapped { drifted, .. } | Hotswapped::AlreadyRunning { drifted } => Some(*drifted),
            Hotswapped::NotCodeOnly(_) => None,
        }
    }
}

/// One connection for hotswaps: `deploy --hotswap` makes one attempt, `watch` one per save.
pub struct Hotswapper<'a> {
    run: Run<'a>,
}

impl std::fmt::Debug for Hotswapper<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotswapper").field("env", &self.run.env.name).field("endpoint", &self.run.aws.endpoint).finish()
    }
}

impl<'a> Hotswapper<'a> {
    /// Connects as a deploy does (account, bootstrap stack, quotas). The caller has checked
    /// that the environment allows hotswaps.
    pub async fn connect(env: &'a Environment, opts: &'a Options) -> anyhow::Result<Self> {
        Ok(Hotswapper { run: Run::connect(env, opts, None).await? })
    }

    /// Uploads `artifact`, checks that a deploy of `stacks` with it would change only the
    /// function's code ([`hotswap::differences`] against each deployed stack), and swaps the
    /// code in ([`hotswap::swap`]).
    pub async fn attempt(&mut self, stacks: &[Stack], artifact: &Artifact) -> anyhow::Result<Hotswapped> {
        let run = &mut self.run;
        run.aws.upload(&run.bucket, artifact).await?;
        let key = artifact.key();
        let mut why = Vec::new();
        for s in stacks.iter().filter(|s| s.id != StackId::Bootstrap) {
            let deployed = hotswap::read(&run.aws, &s.name).await?;
            if s.id == StackId::Service {
                run.existing = deployed.as_ref().map(|d| d.stack.clone());
            }
            let params = match s.id {
                StackId::Service => service_parameters(
                    run.existing.as_ref(),
                    &run.bucket,
                    Some(&key),
                    None,
                    run.env.signing_key.algorithm,
                ),
                _ => vec![],
            };
            let spec = StackSpec { role_arn: run.role.clone(), ..spec(run.env, s, params) };
            why.extend(hotswap::differences(&spec, deployed.as_ref(), service::PARAM_ARTIFACT_KEY));
        }
        if !why.is_empty() {
            return Ok(Hotswapped::NotCodeOnly(why));
        }
        let service = stacks.iter().find(|s| s.id == StackId::Service).context("no service stack")?;
        let target = hotswap_target(run.env, &service.template.to_json());
        let drifted = run.existing.as_ref().and_then(deployed_artifact) != Some(key.as_str());
        if hotswap::code_drift(&run.aws, &target, &key).await?.is_empty() {
            return Ok(Hotswapped::AlreadyRunning { drifted });
        }
        let code = hotswap::Code { bucket: &run.bucket, key: &key, sha256: &artifact.sha256 };
        Ok(Hotswapped::Swapped { version: hotswap::swap(&run.aws, &target, code).await?, drifted })
    }

    /// The full deploy instead, with `artifact` (uploaded by [`Hotswapper::attempt`]).
    pub async fn deploy(mut self, stacks: &[Stack], artifact: Artifact) -> anyhow::Result<Summary> {
        self.run.uploaded = Some(artifact);
        run_stacks(&self.run, stacks).await
    }
}

#[cfg(test)]
mod tests {
    /// Rollback triggers name only alarms that exist: a new critical alarm is created by the
    /// monitoring stack after the service stack's update, and a missing trigger fails it.
    #[test]
    fn rollback_triggers_name_only_alarms_that_exist() {
        let arn = |name: &str| format!("arn:aws:cloudwatch:eu-west-1:1:alarm:{name}");
        let wanted = vec![arn("p-prod-api-5xx-rate"), arn("p-prod-token-success-rate"), arn("p-prod-new")];
        let rows: [(&[&str], usize, usize); 4] = [
            (&["p-prod-api-5xx-rate", "p-prod-token-success-rate", "p-prod-new"], 3, 0),
            (&["p-prod-api-5xx-rate", "p-prod-token-success-rate"], 2, 1),
            (&["p-prod-api-5xx-rate-old", "p-prod"], 0, 3),
            (&[], 0, 3),
        ];
        for (existing, kept, missing) in rows {
            let existing = existing.iter().map(|n| n.to_string()).collect();
            let (k, m) = super::present(&wanted, &existing);
            assert_eq!((k.len(), m.len()), (kept, missing), "{existing:?}");
            assert!(m.iter().all(|a| !k.contains(a)));
        }
        let (_, missing) =
            super::present(&wanted, &["p-prod-api-5xx-rate".into(), "p-prod-token-success-rate".into()].into());
        assert_eq!(missing, vec![arn("p-prod-new")]);
    }

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
}
