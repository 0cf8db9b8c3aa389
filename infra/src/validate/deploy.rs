//! What deploy relies on exists and what it sends fits the APIs (DEPLOY): the alarms a canary
//! watches, and every count limit of a `CreateChangeSet` call, checked before anything is created.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype};
use crate::env::Environment;
use crate::stacks::alarms;

/// DEPLOY001.
pub const DEPLOY001: Rule = Rule {
    id: "DEPLOY001",
    severity: Severity::Error,
    summary: "every alarm a canary deployment group watches is defined by a stack of the environment",
    source: "CodeDeploy User Guide, \"Monitoring deployments with CloudWatch alarms in CodeDeploy\"",
};
/// DEPLOY002.
pub const DEPLOY002: Rule = Rule {
    id: "DEPLOY002",
    severity: Severity::Warning,
    summary: "a canary deployment group watches at least one alarm, or a bad version is never rolled back automatically",
    source: "CodeDeploy User Guide, \"Monitoring deployments with CloudWatch alarms in CodeDeploy\"",
};

/// DEPLOY003.
pub const DEPLOY003: Rule = Rule {
    id: "DEPLOY003",
    severity: Severity::Error,
    summary: "what deploy sends fits the API's count limits: at most 5 rollback triggers, 10 alarms per CodeDeploy deployment group, 50 stack tags",
    source: "CloudFormation API reference, \"RollbackConfiguration\"; CodeDeploy User Guide, \"CodeDeploy quotas\"; CloudFormation User Guide, \"CloudFormation quotas\"",
};

/// DEPLOY004.
pub const DEPLOY004: Rule = Rule {
    id: "DEPLOY004",
    severity: Severity::Error,
    summary: "an environment with a canary does not allow hotswaps: CodeDeploy owns its `live` alias, and a version published outside it makes the next deploy's version resource fail (Lambda publishes no version of unchanged code and configuration) or shift from a version CloudFormation does not know",
    source: "Lambda API reference, \"PublishVersion\"; CloudFormation User Guide, \"UpdatePolicy attribute\" (CodeDeployLambdaAliasUpdate)",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&DEPLOY001, &DEPLOY002, &DEPLOY003, &DEPLOY004];

/// CloudFormation `RollbackConfiguration.RollbackTriggers`: at most 5 (CloudFormation API
/// reference, `RollbackConfiguration`).
pub const MAX_ROLLBACK_TRIGGERS: usize = 5;
/// CodeDeploy deployment group alarms: at most 10 (CodeDeploy API reference,
/// `AlarmConfiguration`).
pub const MAX_DEPLOYMENT_GROUP_ALARMS: usize = 10;
/// Stack tags: at most 50 (CloudFormation API reference, `CreateStack`, `Tags`).
pub const MAX_STACK_TAGS: usize = 50;

/// The counts deploy sends for `env`, against their limits.
pub(super) fn limits(cx: &mut Ctx<'_>, env: &Environment) {
    if env.function.canary.is_some() {
        let critical = alarms::critical(env).count();
        let names = || alarms::critical(env).map(|d| d.key).collect::<Vec<_>>().join(", ");
        if critical > MAX_ROLLBACK_TRIGGERS {
            cx.push(
                &DEPLOY003,
                env.locate("monitoring.alarms"),
                format!(
                    "{critical} critical alarms ({}) become CloudFormation rollback triggers, which take at most {MAX_ROLLBACK_TRIGGERS}: make some `severity: warning`",
                    names()
                ),
            );
        }
        if critical > MAX_DEPLOYMENT_GROUP_ALARMS {
            cx.push(
                &DEPLOY003,
                env.locate("monitoring.alarms"),
                format!("{critical} critical alarms; a CodeDeploy deployment group watches at most {MAX_DEPLOYMENT_GROUP_ALARMS}"),
            );
        }
    }
    if env.deploy.allow_hotswap && env.function.canary.is_some() {
        cx.push(
            &DEPLOY004,
            env.locate("deploy.allow_hotswap"),
            "a hotswap would move the canary's `live` alias outside CodeDeploy: set it to false, or remove function.canary",
        );
    }
    let tags = crate::synth::stack_tags(env).len();
    if tags > MAX_STACK_TAGS {
        cx.push(
            &DEPLOY003,
            env.locate("tags"),
            format!("{tags} stack tags (yours plus `service` and `environment`); CloudFormation takes at most {MAX_STACK_TAGS}"),
        );
    }
}

pub(super) fn deployment_alarms(cx: &mut Ctx<'_>, jsons: &[(&str, Json)]) {
    let names: BTreeSet<&str> = jsons
        .iter()
        .flat_map(|(_, j)| {
            resources(j)
                .filter(|(_, r)| rtype(r) == "AWS::CloudWatch::Alarm")
                .filter_map(|(_, r)| props(r, "AlarmName").and_then(Json::as_str))
        })
        .collect();
    for (stack, json) in jsons {
        for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::CodeDeploy::DeploymentGroup") {
            let alarms = props(r, "AlarmConfiguration").and_then(|a| a.get("Alarms")).and_then(Json::as_array);
            if alarms.is_none_or(Vec::is_empty) {
                cx.push_to(
                    stack,
                    &DEPLOY002,
                    format!("$.Resources.{id}.Properties.AlarmConfiguration"),
                    "the canary watches no alarm, so a bad version is never rolled back automatically",
                );
            }
            for (i, a) in alarms.into_iter().flatten().enumerate() {
                let name = a.get("Name").and_then(Json::as_str).unwrap_or_default();
                if !names.contains(name) {
                    cx.push_to(
                        stack,
                        &DEPLOY001,
                        format!("$.Resources.{id}.Properties.AlarmConfiguration.Alarms[{i}]"),
                        format!("alarm `{name}` is defined by no stack of this environment"),
                    );
                }
            }
        }
    }
}
