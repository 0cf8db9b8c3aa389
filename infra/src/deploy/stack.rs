//! CloudFormation operations: describe, plan (change set), execute and watch, roll back,
//! delete. Every wait polls with backoff and stops on Ctrl-C, leaving the stack running.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetType, Parameter, RollbackConfiguration, RollbackTrigger, Stack, Tag,
};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::DeployError;
use super::change_set::Change;
use super::events::{self, Event};
pub use super::status::Recovery;
use super::status::{
    ChangeSetStatus, ExecutionStatus, Meaning, ResourceMeaning, StackDriftDetectionStatus, StackDriftStatus,
    StackResourceDriftStatus, StackStatus,
};

/// Everything needed to create or update one stack.
#[derive(Clone, Debug)]
pub struct StackSpec {
    /// The stack's name.
    pub name: String,
    /// The template body, JSON.
    pub template: String,
    /// Parameter values; `None` keeps the value the stack has now.
    pub parameters: Vec<(String, Option<String>)>,
    /// The capabilities the template needs acknowledged (`CAPABILITY_NAMED_IAM`).
    pub capabilities: Vec<&'static str>,
    /// Stack tags, by key.
    pub tags: BTreeMap<String, String>,
    /// Whether the stack is to have termination protection.
    pub termination_protection: bool,
    /// The role CloudFormation acts with (the bootstrap stack's execution role).
    pub role_arn: Option<String>,
    /// Alarm ARNs CloudFormation watches during and after an update (rollback triggers).
    pub rollback_alarms: Vec<String>,
    /// How long CloudFormation keeps watching `rollback_alarms` after the operation, in minutes.
    pub rollback_monitoring_minutes: u32,
}

/// A change set waiting to be executed or discarded.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The stack's name.
    pub stack: String,
    /// The change set's ARN (its name if CloudFormation gave none).
    pub change_set: String,
    /// Whether the change set creates the stack rather than updating it.
    pub create: bool,
    /// The resource changes it makes.
    pub changes: Vec<Change>,
}

/// How often to poll: start, growth factor, ceiling.
#[derive(Clone, Copy, Debug)]
pub struct Polling {
    /// The first wait; each next one is half again as long (in a watch, back to this when new
    /// events arrive).
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling { first: Duration::from_millis(250), max: Duration::from_secs(5) }
    }
}

/// An SDK error as one line: the service's code and message when it answered, else what went
/// wrong on the way (a time limit, a refused connection, missing credentials) with its causes,
/// each by its message; never a Debug dump.
pub fn sdk_text<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(_) => match e.as_service_error() {
            Some(s) if s.code().is_some() => {
                format!("{}: {}", s.code().unwrap_or_default(), s.message().unwrap_or_default())
            }
            _ => causes(e),
        },
        SdkError::TimeoutError(_) => "no answer within the time limit".to_owned(),
        _ => causes(e),
    }
}

/// An error and its sources, by their messages, on one line.
pub fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut at = Some(e);
    while let Some(err) = at {
        let text = err.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        at = err.source();
    }
    parts.join(": ")
}

/// An SDK error of the call `what` (`DescribeStacks`) as a [`DeployError`]: expired or missing
/// credentials and throttling by their own variants, anything else as one line naming the call.
pub(crate) fn sdk<E, R>(what: &str, e: SdkError<E, R>) -> DeployError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = sdk_text(&e);
    if text.contains("ExpiredToken") || text.contains("expired") && text.contains("token") {
        return DeployError::Credentials(text);
    }
    if matches!(e, SdkError::DispatchFailure(_)) && text.contains("credential") {
        return DeployError::Credentials(
            "no credentials found in the environment, profile, SSO cache or instance".into(),
        );
    }
    if text.contains("Throttling") || text.contains("Rate exceeded") {
        return DeployError::Throttled(format!("{what}: {text}"));
    }
    DeployError::Aws(format!("{what}: {text}"))
}

/// The stack, or `None` when there is none of that name.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<Stack>, DeployError> {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e) => {
            let text = format!("{}", DisplayErrorContext(&e));
            if text.contains("does not exist") { Ok(None) } else { Err(sdk("DescribeStacks", e)) }
        }
    }
}

/// The stack's status (`UNKNOWN` when CloudFormation gave none).
pub fn status(stack: &Stack) -> StackStatus {
    stack.stack_status().cloned().unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// A service stack's outputs, read (`stacks::outputs::ServiceOutputs::read`); an output this
/// version cannot read is an error naming the stack.
pub fn service_outputs(stack: &Stack) -> anyhow::Result<crate::stacks::outputs::ServiceOutputs> {
    crate::stacks::outputs::ServiceOutputs::read(outputs(stack))
        .map_err(|e| anyhow::anyhow!("{}: {e}", stack.stack_name().unwrap_or("the service stack")))
}

/// The stack's outputs by key.
pub fn outputs(stack: &Stack) -> BTreeMap<String, String> {
    stack.outputs().iter().filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned()))).collect()
}

/// Creates a change set for `spec` and waits for it. `None` means nothing would change (the
/// empty change set is deleted).
pub async fn plan(
    cfn: &Client,
    spec: &StackSpec,
    env: &str,
    replace_failed: bool,
    poll: Polling,
) -> Result<Option<Plan>, DeployError> {
    let create = creates(cfn, spec, env, replace_failed, poll).await?;
    let name = format!(
        "infra-{}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
    );
    let created = request(cfn, spec, &name, create).send().await.map_err(|e| sdk("CreateChangeSet", e))?;
    let arn = created.id().unwrap_or(&name).to_owned();
    let plan = Plan { stack: spec.name.clone(), change_set: arn, create, changes: Vec::new() };
    match settle(cfn, plan, poll).await {
        Ok(Settled::Ready(plan)) => Ok(Some(plan)),
        Ok(Settled::Empty) => Ok(None),
        Err((plan, e)) => {
            // Whatever went wrong after the change set was made, it must not stay behind.
            if let Err(cleanup) = discard(cfn, &plan).await {
                eprintln!(
                    "warning: could not delete change set {} of {}: {cleanup}; delete it in the console",
                    plan.change_set, plan.stack
                );
            }
            Err(e)
        }
    }
}

/// Whether `spec`'s change set creates the stack (none yet, or a failed first create replaced
/// with `replace_failed`) or updates it; a stack in a state that takes neither is refused with
/// the command that recovers it.
async fn creates(
    cfn: &Client,
    spec: &StackSpec,
    env: &str,
    replace_failed: bool,
    poll: Polling,
) -> Result<bool, DeployError> {
    let existing = describe(cfn, &spec.name).await?;
    Ok(match existing.as_ref().map(status) {
        None | Some(StackStatus::ReviewInProgress) => true,
        Some(s) if s.is_failed_create() && replace_failed => {
            eprintln!("{}: deleting the failed first create before creating it again", spec.name);
            let outcome = delete(cfn, &spec.name, env, poll).await?;
            // A create must not start before the old stack is gone ("already exists").
            if outcome.status != StackStatus::DeleteComplete || describe(cfn, &spec.name).await?.is_some() {
                return Err(DeployError::Blocked {
                    stack: spec.name.clone(),
                    status: outcome.status.clone(),
                    next: format!(
                        "deleting the failed stack did not finish; see `cargo run -- status {env}`, delete what is left in the console, then deploy again"
                    ),
                });
            }
            true
        }
        Some(s) if s.is_failed_create() => {
            return Err(DeployError::Blocked {
                stack: spec.name.clone(),
                status: s.clone(),
                next: format!(
                    "its first create failed; `cargo run -- deploy {env} --replace-failed` deletes and recreates it"
                ),
            });
        }
        Some(s @ (StackStatus::UpdateRollbackFailed | StackStatus::UpdateFailed)) => {
            return Err(DeployError::Blocked {
                stack: spec.name.clone(),
                status: s.clone(),
                next: format!("recover it first with `cargo run -- rollback {env}`"),
            });
        }
        Some(s) if !s.is_settled() => {
            return Err(DeployError::Blocked {
                stack: spec.name.clone(),
                status: s.clone(),
                next: format!(
                    "another operation is running; wait for it (`cargo run -- status {env} --watch`) or cancel it (`cargo run -- rollback {env}`)"
                ),
            });
        }
        // A stack looked up by name is never DELETE_COMPLETE, and DELETE_IN_PROGRESS is not
        // settled: what is left is DELETE_FAILED, which takes neither an update nor a create
        // ("already exists"), only another delete.
        Some(s @ StackStatus::DeleteFailed) => {
            return Err(DeployError::Blocked {
                stack: spec.name.clone(),
                status: s.clone(),
                next: events::next_step(&s, env),
            });
        }
        Some(_) => false,
    })
}

/// The CreateChangeSet request for `spec`: parameters (`None`: `UsePreviousValue`),
/// capabilities, tags and rollback triggers.
fn request(
    cfn: &Client,
    spec: &StackSpec,
    name: &str,
    create: bool,
) -> aws_sdk_cloudformation::operation::create_change_set::builders::CreateChangeSetFluentBuilder {
    let mut req = cfn
        .create_change_set()
        .stack_name(&spec.name)
        .change_set_name(name)
        .change_set_type(if create { ChangeSetType::Create } else { ChangeSetType::Update })
        .template_body(&spec.template)
        .set_role_arn(spec.role_arn.clone())
        .description("created by infra");
    for (k, v) in &spec.parameters {
        let p = Parameter::builder().parameter_key(k);
        req = req.parameters(match v {
            Some(v) => p.parameter_value(v).build(),
            None => p.use_previous_value(true).build(),
        });
    }
    for c in &spec.capabilities {
        req = req.capabilities(Capability::from(*c));
    }
    for (k, v) in &spec.tags {
        req = req.tags(Tag::builder().key(k).value(v).build());
    }
    // Always given, an empty list too: without it CloudFormation keeps the triggers of the
    // stack's last update ("RollbackConfiguration", API reference), so a canary turned off, or a
    // monitoring stack gone, would still roll back on (or fail for) the old alarms.
    let triggers = spec
        .rollback_alarms
        .iter()
        .map(|arn| RollbackTrigger::builder().arn(arn).r#type("AWS::CloudWatch::Alarm").build())
        .collect::<Vec<_>>();
    let minutes = if spec.rollback_alarms.is_empty() { 0 } else { spec.rollback_monitoring_minutes as i32 };
    let rc = RollbackConfiguration::builder().set_rollback_triggers(Some(triggers)).monitoring_time_in_minutes(minutes);
    req.rollback_configuration(rc.build())
}

/// A change set once CloudFormation has computed it.
enum Settled {
    Ready(Plan),
    /// Nothing would change; the change set is already deleted.
    Empty,
}

/// Waits for the change set to be computed and reads its changes. On failure, the plan comes
/// back so the caller can delete the change set.
async fn settle(cfn: &Client, mut plan: Plan, poll: Polling) -> Result<Settled, (Plan, DeployError)> {
    let mut wait = poll.first;
    loop {
        let (status, reason, changes) = match read_change_set(cfn, &plan).await {
            Ok(read) => read,
            Err(e) => return Err((plan, e)),
        };
        plan.changes = changes;
        match status {
            ChangeSetStatus::CreateComplete => return Ok(Settled::Ready(plan)),
            ChangeSetStatus::Failed => {
                let empty =
                    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed");
                if empty {
                    let _ = discard(cfn, &plan).await;
                    return Ok(Settled::Empty);
                }
                let e = DeployError::ChangeSet { stack: plan.stack.clone(), reason };
                return Err((plan, e));
            }
            ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress => {
                if sleep(wait).await.is_err() {
                    let e = DeployError::Interrupted(plan.stack.clone());
                    return Err((plan, e));
                }
                wait = (wait * 3 / 2).min(poll.max);
            }
            // Deleted or being deleted by someone else, or a status newer than this SDK: it will
            // not become executable by waiting (API reference, "ChangeSetSummary": Status).
            other => {
                let said = if reason.is_empty() { String::new() } else { format!(": {reason}") };
                let reason = format!("it is {}{said}, and will not become executable", other.as_str());
                let e = DeployError::ChangeSet { stack: plan.stack.clone(), reason };
                return Err((plan, e));
            }
        }
    }
}

/// The change set's status, status reason and changes, every page read.
async fn read_change_set(cfn: &Client, plan: &Plan) -> Result<(ChangeSetStatus, String, Vec<Change>), DeployError> {
    let mut token = None;
    let mut first = None;
    let mut changes = Vec::new();
    loop {
        let page = cfn
            .describe_change_set()
            .change_set_name(&plan.change_set)
            .stack_name(&plan.stack)
            // Property paths with their values before and after.
            .include_property_values(true)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk("DescribeChangeSet", e))?;
        changes.extend(page.changes().iter().filter_map(|c| c.resource_change()).map(Change::from_sdk));
        token = page.next_token().map(str::to_owned);
        if first.is_none() {
            first = Some((
                page.status().cloned().unwrap_or_else(|| ChangeSetStatus::from("")),
                page.status_reason().unwrap_or_default().to_owned(),
            ));
        }
        if token.is_none() {
            let (status, reason) = first.unwrap_or_else(|| (ChangeSetStatus::from(""), String::new()));
            return Ok((status, reason, changes));
        }
    }
}

/// The stack's last update, or its creation if it was never updated, RFC 3339: what a saved
/// plan records and `deploy --from-plan` compares (API reference, "Stack": LastUpdatedTime,
/// CreationTime).
pub fn last_updated(stack: &Stack) -> Option<String> {
    stack
        .last_updated_time()
        .or(stack.creation_time())
        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

/// A kept change set as CloudFormation describes it (API reference, "DescribeChangeSet"): what
/// `deploy --from-plan` checks against the checkout that applies it, so that nothing a plan
/// file says about its change sets is taken on trust.
#[derive(Clone, Debug)]
pub struct Kept {
    /// The change set, with its changes.
    pub plan: Plan,
    /// Its parameters: key, value (`None` when CloudFormation gives none), and whether it keeps
    /// the stack's value (`UsePreviousValue`).
    pub parameters: Vec<(String, Option<String>, bool)>,
    /// When it was created, Unix seconds (`CreationTime`).
    pub created: Option<i64>,
    /// Its stack tags.
    pub tags: BTreeMap<String, String>,
    /// The capabilities it acknowledges.
    pub capabilities: Vec<String>,
    /// The SNS topics it notifies (`NotificationARNs`).
    pub notification_arns: Vec<String>,
    /// Its rollback triggers' ARNs, and how long they are watched, in minutes.
    pub rollback: (Vec<String>, u32),
    /// What it asks for that `infra` never does: `IncludeNestedStacks`,
    /// `ImportExistingResources`, an `OnStackFailure` other than `ROLLBACK`, a
    /// `DeploymentMode`, a `DeploymentConfig` other than a standard one with rollback.
    pub extras: Vec<String>,
}

/// What a described change set asks for that `infra` never does (see [`Kept::extras`]).
fn extras(first: &aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput) -> Vec<String> {
    let mut extras = Vec::new();
    if first.include_nested_stacks() == Some(true) {
        extras.push("IncludeNestedStacks".to_owned());
    }
    if first.import_existing_resources() == Some(true) {
        extras.push("ImportExistingResources".to_owned());
    }
    if let Some(f) = first.on_stack_failure().filter(|f| **f != aws_sdk_cloudformation::types::OnStackFailure::Rollback)
    {
        extras.push(format!("OnStackFailure {}", f.as_str()));
    }
    if let Some(m) = first.deployment_mode() {
        extras.push(format!("DeploymentMode {}", m.as_str()));
    }
    if let Some(c) = first.deployment_config() {
        if let Some(m) = c.mode().filter(|m| **m != aws_sdk_cloudformation::types::DeploymentConfigMode::Standard) {
            extras.push(format!("DeploymentConfig Mode {}", m.as_str()));
        }
        if c.disable_rollback() == Some(true) {
            extras.push("DeploymentConfig DisableRollback".to_owned());
        }
    }
    extras
}

/// A saved change set read again: `Ok(Ok(kept))` with its changes when CloudFormation can
/// still execute it (`CREATE_COMPLETE` and `AVAILABLE`), `Ok(Err(why))` when it cannot
/// (deleted, executed, failed, obsolete: "the stack was updated" since, its stack gone), `Err`
/// when CloudFormation could not be asked (API reference, "DescribeChangeSet": Status,
/// ExecutionStatus).
pub async fn saved(
    cfn: &Client,
    stack: &str,
    change_set: &str,
    create: bool,
) -> Result<Result<Kept, String>, DeployError> {
    let first = match cfn.describe_change_set().change_set_name(change_set).stack_name(stack).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|se| se.is_change_set_not_found_exception()) => {
            return Ok(Err(format!("{stack}: its change set no longer exists (executed or deleted since)")));
        }
        Err(e) if e.as_service_error().and_then(|se| se.message()).is_some_and(|m| m.contains("does not exist")) => {
            return Ok(Err(format!("{stack}: the stack no longer exists")));
        }
        Err(e) => return Err(sdk("DescribeChangeSet", e)),
    };
    let status = first.status().cloned().unwrap_or_else(|| ChangeSetStatus::from(""));
    let execution = first.execution_status().cloned().unwrap_or_else(|| ExecutionStatus::from(""));
    if status != ChangeSetStatus::CreateComplete || execution != ExecutionStatus::Available {
        return Ok(Err(format!(
            "{stack}: its change set is {} and {}, not CREATE_COMPLETE and AVAILABLE{}",
            status.as_str(),
            execution.as_str(),
            first.status_reason().map(|r| format!(" ({r})")).unwrap_or_default()
        )));
    }
    if first.stack_name().is_some_and(|n| n != stack) {
        return Ok(Err(format!("{stack}: its change set belongs to {}", first.stack_name().unwrap_or_default())));
    }
    // By ARN only: a name may be deleted and made again, with anything in it, between the
    // checks and the execution (API reference, "CreateChangeSet": ChangeSetName).
    if first.change_set_id() != Some(change_set) {
        return Ok(Err(format!(
            "{stack}: the plan names its change set `{change_set}`, not by its ARN ({})",
            first.change_set_id().unwrap_or("none given")
        )));
    }
    let parameters = first
        .parameters()
        .iter()
        .map(|p| {
            let key = p.parameter_key().unwrap_or_default().to_owned();
            (key, p.parameter_value().map(str::to_owned), p.use_previous_value() == Some(true))
        })
        .collect();
    let rollback = first.rollback_configuration().map_or((vec![], 0), |r| {
        let arns = r.rollback_triggers().iter().filter_map(|t| t.arn().map(str::to_owned)).collect();
        (arns, r.monitoring_time_in_minutes().map_or(0, |m| u32::try_from(m).unwrap_or(0)))
    });
    let kept = Kept {
        plan: Plan { stack: stack.to_owned(), change_set: change_set.to_owned(), create, changes: Vec::new() },
        parameters,
        created: first.creation_time().map(|t| t.secs()),
        tags: first.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect(),
        capabilities: first.capabilities().iter().map(|c| c.as_str().to_owned()).collect(),
        notification_arns: first.notification_arns().to_vec(),
        rollback,
        extras: extras(&first),
    };
    let (_, _, changes) = read_change_set(cfn, &kept.plan).await?;
    Ok(Ok(Kept { plan: Plan { changes, ..kept.plan.clone() }, ..kept }))
}

/// The top-level sections of two templates that differ; within `Resources`, the logical ids
/// added, removed or changed.
pub fn template_differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (a.as_object().unwrap_or(&empty), b.as_object().unwrap_or(&empty));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for k in keys.into_iter().filter(|k| a.get(*k) != b.get(*k)) {
        if k != "Resources" {
            out.push(k.clone());
            continue;
        }
        let (ra, rb) = (a[k].as_object().unwrap_or(&empty), b[k].as_object().unwrap_or(&empty));
        let ids: std::collections::BTreeSet<&String> = ra.keys().chain(rb.keys()).collect();
        let changed: Vec<&str> = ids.into_iter().filter(|id| ra.get(*id) != rb.get(*id)).map(String::as_str).collect();
        out.push(format!("resources {}", changed.join(", ")));
    }
    out
}

/// Whether change set `change_set` of `stack` carries `template`: CloudFormation's own copy
/// (`GetTemplate` with `ChangeSetName`, stage `Original`), compared as JSON. `Ok(None)` when it
/// does, else why not, naming what differs: a saved plan executes only change sets whose
/// templates are the ones synthesized from the checkout that applies it, whoever made them.
///
/// # Errors
/// `GetTemplate` failed.
pub async fn change_set_carries(
    cfn: &Client,
    stack: &str,
    change_set: &str,
    template: &serde_json::Value,
) -> Result<Option<String>, DeployError> {
    let body = cfn
        .get_template()
        .stack_name(stack)
        .change_set_name(change_set)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
        .map_err(|e| sdk(&format!("GetTemplate {stack} (its change set)"), e))?;
    let carried: serde_json::Value =
        body.template_body().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(serde_json::Value::Null);
    Ok((carried != *template).then(|| {
        format!(
            "{stack}: its change set's template is not the one synthesized here ({})",
            template_differences(template, &carried).join(", ")
        )
    }))
}

/// Deletes a change set that will not run (and the empty stack a create change set made).
pub async fn discard(cfn: &Client, plan: &Plan) -> Result<(), DeployError> {
    cfn.delete_change_set()
        .change_set_name(&plan.change_set)
        .stack_name(&plan.stack)
        .send()
        .await
        .map_err(|e| sdk("DeleteChangeSet", e))?;
    if plan.create
        && let Some(s) = describe(cfn, &plan.stack).await?
        && status(&s) == StackStatus::ReviewInProgress
    {
        cfn.delete_stack().stack_name(&plan.stack).send().await.map_err(|e| {
            DeployError::Aws(format!(
                "its change set was deleted, but not the empty stack it made (REVIEW_IN_PROGRESS; the next create reuses it): DeleteStack: {}",
                sdk_text(&e)
            ))
        })?;
    }
    Ok(())
}

/// Event ids already in the stack's history, so a watch prints only new ones.
async fn seen_events(cfn: &Client, stack: &str) -> Result<HashSet<String>, DeployError> {
    match cfn.describe_stack_events().stack_name(stack).send().await {
        Ok(out) => Ok(out.stack_events().iter().filter_map(|e| e.event_id().map(str::to_owned)).collect()),
        Err(e) if format!("{}", DisplayErrorContext(&e)).contains("does not exist") => Ok(HashSet::new()),
        Err(e) => Err(sdk("DescribeStackEvents", e)),
    }
}

/// Executes exactly the change set that was shown and watches it to the end.
pub async fn execute(cfn: &Client, plan: &Plan, env: &str, poll: Polling) -> Result<Outcome, DeployError> {
    let seen = seen_events(cfn, &plan.stack).await?;
    cfn.execute_change_set()
        .change_set_name(&plan.change_set)
        .stack_name(&plan.stack)
        .send()
        .await
        .map_err(|e| sdk("ExecuteChangeSet", e))?;
    watch(cfn, &plan.stack, seen, plan.changes.len(), env, poll).await
}

/// How an operation ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The stack's status once settled.
    pub status: StackStatus,
    /// The events printed while watching, oldest first.
    pub events: Vec<Event>,
}

impl Outcome {
    /// Whether the stack ended in a success status (`CREATE_COMPLETE`, `UPDATE_COMPLETE`,
    /// `DELETE_COMPLETE`, `IMPORT_COMPLETE`).
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }
}

/// Waits `d`; `Err(())` when Ctrl-C is pressed first (or was already).
async fn sleep(d: Duration) -> Result<(), ()> {
    tokio::select! {
        _ = tokio::time::sleep(d) => Ok(()),
        _ = super::interrupt::wait() => Err(()),
    }
}

/// How many reads in a row may fail (a throttle, a timeout, a dropped connection) before
/// watching gives up; the operation goes on either way.
const WATCH_RETRIES: u32 = 5;

/// Prints new events until the stack settles. Ctrl-C stops watching, not the operation; so do
/// [`WATCH_RETRIES`] failed reads in a row ([`DeployError::WatchLost`]), each said as it happens.
pub async fn watch(
    cfn: &Client,
    stack: &str,
    mut seen: HashSet<String>,
    total: usize,
    env: &str,
    poll: Polling,
) -> Result<Outcome, DeployError> {
    let mut all = Vec::new();
    let mut done = HashSet::new();
    let mut wait = poll.first;
    let mut failures = 0;
    loop {
        if sleep(wait).await.is_err() {
            return Err(DeployError::Watching { stack: stack.to_owned(), env: env.to_owned() });
        }
        let (status, fresh) = match progress(cfn, stack, &mut seen).await {
            Ok(read) => {
                failures = 0;
                read
            }
            Err(e) => {
                failures += 1;
                if failures >= WATCH_RETRIES {
                    return Err(DeployError::WatchLost {
                        stack: stack.to_owned(),
                        env: env.to_owned(),
                        cause: e.to_string(),
                    });
                }
                eprintln!("warning: {stack}: {e}; still watching");
                wait = poll.max;
                continue;
            }
        };
        wait = if fresh.is_empty() { (wait * 3 / 2).min(poll.max) } else { poll.first };
        for ev in fresh {
            if ev.resource_type != "AWS::CloudFormation::Stack" && ev.status.is_complete() {
                done.insert(ev.logical_id.clone());
            }
            // Resources the change set did not list still count.
            eprintln!("{}", events::render(&ev, done.len(), total.max(done.len())));
            all.push(ev);
        }
        if status.is_settled() {
            return Ok(Outcome { status, events: all });
        }
    }
}

/// The stack's status and its events not in `seen` (added to it), oldest first; a stack that
/// no longer exists is `DELETE_COMPLETE`.
async fn progress(
    cfn: &Client,
    stack: &str,
    seen: &mut HashSet<String>,
) -> Result<(StackStatus, Vec<Event>), DeployError> {
    // The status first: every event up to a final status is written before it, so the events
    // read next include the last ones.
    let status = match describe(cfn, stack).await? {
        None => return Ok((StackStatus::DeleteComplete, Vec::new())),
        Some(s) => status(&s),
    };
    let mut fresh = Vec::new();
    let mut token = None;
    'pages: loop {
        let page = match cfn.describe_stack_events().stack_name(stack).set_next_token(token.clone()).send().await {
            Ok(p) => p,
            Err(e) if format!("{}", DisplayErrorContext(&e)).contains("does not exist") => {
                return Ok((StackStatus::DeleteComplete, fresh));
            }
            Err(e) => return Err(sdk("DescribeStackEvents", e)),
        };
        for e in page.stack_events() {
            let ev = Event::from_sdk(e);
            if seen.contains(&ev.id) {
                break 'pages;
            }
            fresh.push(ev);
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    // Marked seen only once every page was read: a read that fails half-way is read again.
    seen.extend(fresh.iter().map(|e| e.id.clone()));
    fresh.reverse();
    Ok((status, fresh))
}

/// Deletes a stack and waits.
pub async fn delete(cfn: &Client, stack: &str, env: &str, poll: Polling) -> Result<Outcome, DeployError> {
    let seen = seen_events(cfn, stack).await?;
    cfn.delete_stack().stack_name(stack).send().await.map_err(|e| sdk("DeleteStack", e))?;
    watch(cfn, stack, seen, 0, env, poll).await
}

/// Sets termination protection when it differs from what the environment asks.
pub async fn protect(cfn: &Client, stack: &Stack, want: bool) -> Result<(), DeployError> {
    if stack.enable_termination_protection() == Some(want) || (!want && stack.enable_termination_protection().is_none())
    {
        return Ok(());
    }
    let name = stack.stack_name().unwrap_or_default();
    cfn.update_termination_protection()
        .stack_name(name)
        .enable_termination_protection(want)
        .send()
        .await
        .map_err(|e| sdk("UpdateTerminationProtection", e))?;
    Ok(())
}

/// Runs the recovery for the stack's status and watches it.
pub async fn recover(cfn: &Client, stack: &str, env: &str, poll: Polling) -> Result<Option<Outcome>, DeployError> {
    let Some(s) = describe(cfn, stack).await? else {
        return Ok(None);
    };
    let seen = seen_events(cfn, stack).await?;
    match status(&s).recovery() {
        Recovery::Cancel => {
            cfn.cancel_update_stack().stack_name(stack).send().await.map_err(|e| sdk("CancelUpdateStack", e))?;
        }
        Recovery::Continue => {
            cfn.continue_update_rollback()
                .stack_name(stack)
                .send()
                .await
                .map_err(|e| sdk("ContinueUpdateRollback", e))?;
        }
        Recovery::Rollback => {
            cfn.rollback_stack().stack_name(stack).send().await.map_err(|e| sdk("RollbackStack", e))?;
        }
        Recovery::Nothing => return Ok(None),
    }
    watch(cfn, stack, seen, 0, env, poll).await.map(Some)
}

/// The newest `n` events, oldest first.
pub async fn recent_events(cfn: &Client, stack: &str, n: usize) -> Result<Vec<Event>, DeployError> {
    let out = cfn.describe_stack_events().stack_name(stack).send().await.map_err(|e| sdk("DescribeStackEvents", e))?;
    let mut v: Vec<Event> = out.stack_events().iter().take(n).map(Event::from_sdk).collect();
    v.reverse();
    Ok(v)
}

/// Where a stage's completion was found in the stack's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The stack's first successful completion at or after the time asked, Unix seconds.
    At(i64),
    /// Events older than the time asked were reached with no completion after it: the
    /// completion is at or before it by CloudFormation's clock (this machine's runs ahead).
    Before,
    /// The pages read ran out first.
    NotFound,
}

/// When the stack first completed successfully (its own `*_COMPLETE` event) at or after
/// `since`, reading `DescribeStackEvents` page by page, newest first, until an event older than
/// `since`, the last page or `max_pages` pages. A page holds the most recent events only
/// (CloudFormation API reference, "DescribeStackEvents"), so one page can miss a completion
/// behind a long update's events.
pub async fn first_success_since(
    cfn: &Client,
    stack: &str,
    since: i64,
    max_pages: usize,
) -> Result<Completion, DeployError> {
    let mut found = None;
    let mut token: Option<String> = None;
    for _ in 0..max_pages {
        let page = cfn
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk("DescribeStackEvents", e))?;
        let events: Vec<Event> = page.stack_events().iter().map(Event::from_sdk).collect();
        for e in events.iter().filter(|e| {
            e.epoch_seconds >= since && e.is_stack() && super::status::parse(e.status.as_str()).is_success()
        }) {
            found = Some(found.map_or(e.epoch_seconds, |f: i64| f.min(e.epoch_seconds)));
        }
        let older = events.iter().any(|e| e.epoch_seconds < since);
        token = page.next_token().map(str::to_owned);
        match (found, older) {
            (Some(t), true) => return Ok(Completion::At(t)),
            (None, true) => return Ok(Completion::Before),
            _ if token.is_none() => break,
            _ => {}
        }
    }
    Ok(found.map_or(Completion::NotFound, Completion::At))
}

/// A resource that differs from its template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The resource's logical id.
    pub logical_id: String,
    /// Its CloudFormation type.
    pub resource_type: String,
    /// Its drift status (`MODIFIED`, `DELETED`, `NOT_CHECKED`).
    pub status: StackResourceDriftStatus,
}

/// Runs drift detection: the stack's drift status and the resources not in sync.
pub async fn drift(cfn: &Client, stack: &str, poll: Polling) -> Result<(StackDriftStatus, Vec<Drift>), DeployError> {
    let id = cfn
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| sdk("DetectStackDrift", e))?
        .stack_drift_detection_id()
        .unwrap_or_default()
        .to_owned();
    let mut wait = poll.first;
    let status = loop {
        let s = cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| sdk("DescribeStackDriftDetectionStatus", e))?;
        match s.detection_status() {
            Some(StackDriftDetectionStatus::DetectionInProgress) => {
                sleep(wait)
                    .await
                    .map_err(|()| DeployError::Aws(format!("interrupted; drift detection of {stack} goes on")))?;
                wait = (wait * 3 / 2).min(poll.max);
            }
            Some(StackDriftDetectionStatus::DetectionFailed) => {
                return Err(DeployError::Aws(format!(
                    "drift detection of {stack} failed: {}",
                    s.detection_status_reason().unwrap_or("no reason given")
                )));
            }
            _ => break s.stack_drift_status().cloned().unwrap_or_else(|| StackDriftStatus::from("")),
        }
    };
    let mut drifts = Vec::new();
    if status == StackDriftStatus::Drifted {
        let mut token = None;
        loop {
            let out = cfn
                .describe_stack_resource_drifts()
                .stack_name(stack)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk("DescribeStackResourceDrifts", e))?;
            for d in out.stack_resource_drifts() {
                let st = d.stack_resource_drift_status().cloned().unwrap_or_else(|| StackResourceDriftStatus::from(""));
                if st != StackResourceDriftStatus::InSync {
                    drifts.push(Drift {
                        logical_id: d.logical_resource_id().unwrap_or_default().to_owned(),
                        resource_type: d.resource_type().unwrap_or_default().to_owned(),
                        status: st,
                    });
                }
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    Ok((status, drifts))
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::types::{DeploymentConfig, DeploymentConfigMode, DeploymentMode, OnStackFailure};

    /// What a change set asks beyond what `infra` sends: each option named, the defaults not.
    #[test]
    fn a_change_set_asking_for_more_than_infra_sends_says_what() {
        let config = |mode: DeploymentConfigMode, off: bool| {
            DeploymentConfig::builder().mode(mode).disable_rollback(off).build()
        };
        let b = DescribeChangeSetOutput::builder;
        let cases: Vec<(DescribeChangeSetOutput, &[&str])> = vec![
            (b().build(), &[]),
            (b().on_stack_failure(OnStackFailure::Rollback).build(), &[]),
            (b().include_nested_stacks(false).import_existing_resources(false).build(), &[]),
            (b().deployment_config(config(DeploymentConfigMode::Standard, false)).build(), &[]),
            (b().on_stack_failure(OnStackFailure::DoNothing).build(), &["OnStackFailure DO_NOTHING"]),
            (b().on_stack_failure(OnStackFailure::Delete).build(), &["OnStackFailure DELETE"]),
            (b().include_nested_stacks(true).build(), &["IncludeNestedStacks"]),
            (b().import_existing_resources(true).build(), &["ImportExistingResources"]),
            (b().deployment_mode(DeploymentMode::RevertDrift).build(), &["DeploymentMode REVERT_DRIFT"]),
            (
                b().deployment_config(config(DeploymentConfigMode::Express, false)).build(),
                &["DeploymentConfig Mode EXPRESS"],
            ),
            (
                b().deployment_config(config(DeploymentConfigMode::Standard, true)).build(),
                &["DeploymentConfig DisableRollback"],
            ),
        ];
        for (described, want) in cases {
            assert_eq!(super::extras(&described), want, "{described:?}");
        }
    }
}
