//! `deploy --hotswap` and `watch`: the function's code updated directly in Lambda when a deploy
//! would change nothing else, as `cdk deploy --hotswap` and `sam sync` do.
//!
//! A change is code-only when every stack a deploy updates would get the template, parameters
//! (the artifact key apart), tags and termination protection it has now: then
//! the only difference a change set could show is the function's code, since the code reaches
//! the stack through the `ArtifactKey` parameter alone. The check compares the synthesized
//! stacks with CloudFormation's own copies (`GetTemplate`, `DescribeStacks`), not with a local
//! record, so a change made by anyone else is seen.
//!
//! The swap is Lambda's: `UpdateFunctionCode` from the uploaded artifact, then a wait until
//! `LastUpdateStatus` leaves `InProgress` (Lambda developer guide, "Lambda function states":
//! a function cannot be updated or published while an update is in progress). Only `$LATEST`
//! is swapped: an alias in front of the function is a canary's, which CodeDeploy shifts, and
//! no environment allowing hotswaps has one (DEPLOY004). The stack then names code the function no longer runs: it has
//! drifted, which CloudFormation's drift detection does not see (a function's `Code` is not
//! read back), so [`code_drift`] compares the code Lambda runs with the stack's `ArtifactKey`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::TemplateStage;
use aws_sdk_lambda::types::LastUpdateStatus;
use serde_json::Value as Json;

use super::stack::{self, StackSpec};
use super::status::{Meaning, StackStatus};
use super::{Aws, DeployError, interrupt};

/// A stack as CloudFormation holds it: what a change set is computed against.
#[derive(Clone, Debug)]
pub struct Deployed {
    /// Its status.
    pub status: StackStatus,
    /// The template it runs (`GetTemplate`, stage `Original`), parsed; `Null` when it is not
    /// JSON.
    pub template: Json,
    /// Its parameter values, by key (`NoEcho` values read as `****`).
    pub parameters: BTreeMap<String, String>,
    /// Its stack tags.
    pub tags: BTreeMap<String, String>,
    /// Whether termination protection is on.
    pub termination_protection: bool,
    /// The stack as `DescribeStacks` gave it.
    pub stack: aws_sdk_cloudformation::types::Stack,
}

/// Reads stack `name` as [`Deployed`]; `None` when there is no such stack.
///
/// # Errors
/// `DescribeStacks` or `GetTemplate` failed.
pub async fn read(aws: &Aws, name: &str) -> Result<Option<Deployed>, DeployError> {
    let Some(s) = stack::describe(&aws.cfn, name).await? else { return Ok(None) };
    let status = stack::status(&s);
    // A stack no create completed (`REVIEW_IN_PROGRESS`) may have no template to read; one that
    // is not serving is not compared anyway (see [`differences`]).
    let mut template = Json::Null;
    if status.is_serving() && status.is_settled() {
        let body = aws
            .cfn
            .get_template()
            .stack_name(name)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| stack::sdk(&format!("GetTemplate {name}"), e))?;
        template = body.template_body().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Json::Null);
    }
    let pairs = |k: Option<&str>, v: Option<&str>| Some((k?.to_owned(), v?.to_owned()));
    Ok(Some(Deployed {
        status,
        template,
        parameters: s.parameters().iter().filter_map(|p| pairs(p.parameter_key(), p.parameter_value())).collect(),
        tags: s.tags().iter().filter_map(|t| pairs(t.key(), t.value())).collect(),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
        stack: s,
    }))
}

/// What a full deploy of `spec` would change on `deployed` beyond the value of parameter
/// `code` (the artifact key), one line each; empty when the change is code-only. A parameter
/// `spec` keeps (`None`) is not compared.
pub fn differences(spec: &StackSpec, deployed: Option<&Deployed>, code: &str) -> Vec<String> {
    let name = &spec.name;
    let Some(d) = deployed else { return vec![format!("{name} is not deployed")] };
    if !d.status.is_serving() || !d.status.is_settled() {
        return vec![format!("{name} is {}", d.status.as_str())];
    }
    let mut why = Vec::new();
    let wanted: Json = serde_json::from_str(&spec.template).unwrap_or(Json::Null);
    if wanted != d.template {
        why.push(format!(
            "{name}: the template changes ({})",
            stack::template_differences(&wanted, &d.template).join(", ")
        ));
    }
    for (key, value) in &spec.parameters {
        let Some(value) = value.as_ref().filter(|_| key != code) else { continue };
        match d.parameters.get(key) {
            // A `NoEcho` value reads back masked: it cannot be compared.
            Some(now) if now == value || now == "****" => {}
            Some(now) => why.push(format!("{name}: parameter {key} changes from `{now}` to `{value}`")),
            None => why.push(format!("{name}: parameter {key} is new")),
        }
    }
    for key in d.parameters.keys().filter(|k| !spec.parameters.iter().any(|(p, _)| p == *k)) {
        why.push(format!("{name}: parameter {key} is no longer given (an update would take its default)"));
    }
    if spec.tags != d.tags {
        let keys: Vec<&str> = spec
            .tags
            .keys()
            .chain(d.tags.keys())
            .filter(|k| spec.tags.get(*k) != d.tags.get(*k))
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        why.push(format!("{name}: stack tags change ({})", keys.join(", ")));
    }
    if spec.termination_protection != d.termination_protection {
        why.push(format!("{name}: termination protection changes to {}", spec.termination_protection));
    }
    why
}

/// The function a hotswap updates, and the alias the API invokes, if any.
#[derive(Clone, Debug)]
pub struct Target {
    /// The function's name.
    pub function: String,
    /// The alias the API invokes (`live`); `None` when it invokes the function (`$LATEST`).
    pub alias: Option<String>,
}

/// Where a hotswap's code comes from: the assets bucket's object and its SHA-256.
#[derive(Clone, Copy, Debug)]
pub struct Code<'a> {
    /// The assets bucket.
    pub bucket: &'a str,
    /// The object's key (`token-function/<sha256>.zip`).
    pub key: &'a str,
    /// Lowercase hex SHA-256 of the zip.
    pub sha256: &'a str,
}

/// How long a code update may stay `InProgress` before the swap gives up waiting (Lambda
/// usually finishes in seconds; the update itself goes on).
pub const UPDATE_WAIT: Duration = Duration::from_secs(300);

/// Whether a code update was sent since [`forget_sent`]: after Ctrl-C stops an attempt, what
/// to tell (Lambda goes on with an update it received; nothing changed otherwise).
static SENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts an attempt with no code update sent.
pub fn forget_sent() {
    SENT.store(false, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`swap`] sent a code update since [`forget_sent`].
pub fn sent() -> bool {
    SENT.load(std::sync::atomic::Ordering::SeqCst)
}

/// Puts `code` on `target`'s `$LATEST`: after an update under way ends, `UpdateFunctionCode`
/// pinned to the function's `RevisionId`, then the wait for this update. Returns the version
/// the API invokes (`$LATEST`).
///
/// # Errors
/// The API invokes an alias (only a canary makes one, and CodeDeploy owns it: DEPLOY004); the
/// call was refused and the function does not run `code` (nothing changed); this update
/// failed or outlasted [`UPDATE_WAIT`]; Lambda runs other code than `code` (an update ran
/// meanwhile); or Ctrl-C. Each message says what was left.
pub async fn swap(aws: &Aws, target: &Target, code: Code<'_>) -> anyhow::Result<String> {
    let function = &target.function;
    if let Some(alias) = &target.alias {
        anyhow::bail!(
            "the API invokes {function}:{alias}, an alias CodeDeploy shifts (DEPLOY004): nothing is hotswapped behind it"
        );
    }
    let want = super::package::base64_sha256(code.sha256);
    // An update under way (CloudFormation's, another hotswap's) ends first; its revision then
    // guards against one that starts meanwhile (the call fails instead of racing it).
    let (_, revision) = updated(aws, function, code.key, false).await?;
    if interrupt::interrupted() {
        anyhow::bail!("interrupted before {function}'s code was updated; nothing changed");
    }
    SENT.store(true, std::sync::atomic::Ordering::SeqCst);
    let sent = aws
        .lambda
        .update_function_code()
        .function_name(function)
        .s3_bucket(code.bucket)
        .s3_key(code.key)
        .set_revision_id(revision)
        .send()
        .await;
    let runs = match sent {
        Ok(_) => updated(aws, function, code.key, true).await?.0,
        // Refused: only a retried call whose first attempt went through leaves `code` in place.
        Err(e) => {
            let e = format!("UpdateFunctionCode {function}: {}", stack::sdk_text(&e));
            let runs = updated(aws, function, code.key, false).await?.0;
            if runs != want {
                anyhow::bail!(
                    "{e}; nothing changed: {function} runs code of SHA-256 {}",
                    super::package::hex_sha256(&runs)
                );
            }
            runs
        }
    };
    if runs != want {
        anyhow::bail!(
            "{function} runs code of SHA-256 {}, not {}: another update ran meanwhile",
            super::package::hex_sha256(&runs),
            code.key
        );
    }
    Ok("$LATEST".to_owned())
}

/// Waits until the function's last update is no longer `InProgress` and returns the
/// `CodeSha256` it runs and its `RevisionId`; polls from 200 ms up to every 2 s. With `ours`,
/// the last update is this swap's, and `Failed` is its failure; otherwise a `Failed` update
/// left the previous code in place, and another may follow (Lambda developer guide, "Lambda
/// function states").
async fn updated(aws: &Aws, function: &str, key: &str, ours: bool) -> anyhow::Result<(String, Option<String>)> {
    let until = Instant::now() + UPDATE_WAIT;
    let mut wait = Duration::from_millis(200);
    let going_on = format!("an update of {function} goes on in Lambda; `drift` shows the code it runs once it ends");
    loop {
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("GetFunctionConfiguration {function}: {}", stack::sdk_text(&e)))?;
        match c.last_update_status() {
            Some(LastUpdateStatus::InProgress) => {}
            Some(LastUpdateStatus::Failed) if ours => anyhow::bail!(
                "Lambda failed to update {function} to {key}: {} ({}); it runs its previous code",
                c.last_update_status_reason().unwrap_or("no reason given"),
                c.last_update_status_reason_code().map_or("", |r| r.as_str())
            ),
            _ => return Ok((c.code_sha256().unwrap_or_default().to_owned(), c.revision_id().map(str::to_owned))),
        }
        if Instant::now() >= until {
            anyhow::bail!("{going_on}: still in progress after {} s", UPDATE_WAIT.as_secs());
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = interrupt::wait() => anyhow::bail!("interrupted while waiting; {going_on}"),
        }
        wait = (wait * 3 / 2).min(Duration::from_secs(2));
    }
}

/// Where the function runs other code than the stack's artifact `key` (its `ArtifactKey`):
/// `$LATEST` and, where the API invokes one, the alias's version. One line per qualifier that
/// differs, each saying the stack has drifted; empty when both run the stack's code. An alias
/// that does not exist is not read.
///
/// # Errors
/// Reading the function failed, or `key` is not an artifact key (`token-function/<hex>.zip`).
pub async fn code_drift(aws: &Aws, target: &Target, key: &str) -> anyhow::Result<Vec<String>> {
    let Some(hex) = super::package::key_sha256(key) else {
        anyhow::bail!("the stack's ArtifactKey `{key}` is not an artifact key this infra writes");
    };
    let mut qualifiers = vec!["$LATEST"];
    qualifiers.extend(target.alias.as_deref());
    let mut lines = Vec::new();
    for q in qualifiers {
        let served = match super::served::served(&aws.lambda, &target.function, q).await {
            Ok(s) => s,
            Err(super::served::ServedError::Missing(_)) if q != "$LATEST" => continue,
            Err(e) => anyhow::bail!("{e}"),
        };
        if served.runs_code(hex) == Some(false) {
            let runs = served.code_sha256.as_deref().map_or_else(|| "?".to_owned(), super::package::hex_sha256);
            lines.push(format!(
                "{}:{q} runs code of SHA-256 {runs}, not the stack's artifact {key} (hotswapped, or changed outside CloudFormation)",
                target.function
            ));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(template: Json, parameters: &[(&str, Option<&str>)]) -> StackSpec {
        StackSpec {
            name: "s".into(),
            template: template.to_string(),
            parameters: parameters.iter().map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned))).collect(),
            capabilities: vec![],
            tags: BTreeMap::from([("team".into(), "identity".into())]),
            termination_protection: false,
            role_arn: Some("arn:aws:iam::1:role/exec".into()),
            rollback_alarms: vec![],
            rollback_monitoring_minutes: 0,
        }
    }

    fn deployed(template: Json, parameters: &[(&str, &str)]) -> Deployed {
        Deployed {
            status: StackStatus::UpdateComplete,
            template,
            parameters: parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            tags: BTreeMap::from([("team".into(), "identity".into())]),
            termination_protection: false,
            stack: aws_sdk_cloudformation::types::Stack::builder().build(),
        }
    }

    /// Code-only is every input of a change set but the artifact key: each kind of other
    /// change is named, and nothing else is.
    #[test]
    fn only_a_change_of_the_artifact_key_is_code_only() {
        let t = serde_json::json!({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": 256}}, "Log": {"Type": "AWS::Logs::LogGroup"}}, "Outputs": {}});
        let params = [("ArtifactKey", Some("new")), ("KeyStage", None), ("ArtifactBucket", Some("b"))];
        let now = deployed(t.clone(), &[("ArtifactKey", "old"), ("KeyStage", "B"), ("ArtifactBucket", "b")]);
        let mut bigger = t.clone();
        bigger["Resources"]["Fn"]["Properties"]["MemorySize"] = 512.into();
        bigger["Outputs"]["Url"] = "x".into();
        let mut tagged = spec(t.clone(), &params);
        tagged.tags.insert("cost-center".into(), "42".into());
        let mut protected = spec(t.clone(), &params);
        protected.termination_protection = true;
        let mut failed = now.clone();
        failed.status = StackStatus::UpdateRollbackFailed;
        let mut running = now.clone();
        running.status = StackStatus::UpdateInProgress;
        let masked = deployed(t.clone(), &[("ArtifactKey", "old"), ("KeyStage", "B"), ("ArtifactBucket", "****")]);
        let dropped =
            deployed(t.clone(), &[("ArtifactKey", "old"), ("KeyStage", "B"), ("ArtifactBucket", "b"), ("Old", "x")]);
        let rolled_back = Deployed { status: StackStatus::UpdateRollbackComplete, ..now.clone() };
        let cases: Vec<(&str, StackSpec, Option<&Deployed>, Vec<&str>)> = vec![
            ("code only", spec(t.clone(), &params), Some(&now), vec![]),
            ("a rolled-back update serves", spec(t.clone(), &params), Some(&rolled_back), vec![]),
            ("template", spec(bigger, &params), Some(&now), vec!["s: the template changes (Outputs, resources Fn)"]),
            (
                "parameter",
                spec(t.clone(), &[("ArtifactKey", Some("new")), ("KeyStage", None), ("ArtifactBucket", Some("c"))]),
                Some(&now),
                vec!["s: parameter ArtifactBucket changes from `b` to `c`"],
            ),
            (
                "new parameter",
                spec(t.clone(), &[params.as_slice(), &[("KeySpec", Some("ECC_NIST_P256"))]].concat()),
                Some(&now),
                vec!["s: parameter KeySpec is new"],
            ),
            ("tags", tagged, Some(&now), vec!["s: stack tags change (cost-center)"]),
            ("protection", protected, Some(&now), vec!["s: termination protection changes to true"]),
            ("absent", spec(t.clone(), &params), None, vec!["s is not deployed"]),
            ("masked", spec(t.clone(), &params), Some(&masked), vec![]),
            (
                "dropped",
                spec(t.clone(), &params),
                Some(&dropped),
                vec!["s: parameter Old is no longer given (an update would take its default)"],
            ),
            ("failed", spec(t.clone(), &params), Some(&failed), vec!["s is UPDATE_ROLLBACK_FAILED"]),
            ("running", spec(t.clone(), &params), Some(&running), vec!["s is UPDATE_IN_PROGRESS"]),
        ];
        for (case, spec, deployed, want) in cases {
            assert_eq!(differences(&spec, deployed, "ArtifactKey"), want, "{case}");
        }
    }
}
