//! Rules across the environments that share an account and region (ACCT): quotas AWS counts per
//! account, singletons the account has one of, and names AWS keeps unique per account or region.
//! `validate <env>`, `synth` and `deploy` read every other environment file of the folder for
//! them ([`crate::commands`]); each environment is checked against the others, so the finding
//! lands in each file that takes part.

use std::collections::BTreeMap;

use super::{Ctx, Finding, Rule, Severity};
use crate::cfn::names::{NameScope, fixed_name};
use crate::env::Environment;
use crate::stacks::Stack;

/// ACCT001.
pub const ACCT001: Rule = Rule {
    id: "ACCT001",
    severity: Severity::Error,
    summary: "the reserved concurrency of every environment in one account and region leaves Lambda's 100 unreserved executions of `account_quotas.lambda_concurrent_executions` (default 1,000); Lambda refuses the function otherwise (Lambda developer guide, \"Configuring reserved concurrency\")",
};
/// ACCT002.
pub const ACCT002: Rule = Rule {
    id: "ACCT002",
    severity: Severity::Error,
    summary: "the stage rate limits of every environment in one account and region add up to at most API Gateway's account throttle (`account_quotas.api_requests_per_second`, default 10,000), and each burst fits `account_quotas.api_burst` (default 5,000): past it API Gateway answers 429 before any stage limit (API Gateway developer guide, \"Amazon API Gateway quotas\")",
};
/// ACCT003.
pub const ACCT003: Rule = Rule {
    id: "ACCT003",
    severity: Severity::Error,
    summary: "at most one environment of an account and region sets `api.manage_account_logging_role`: `AWS::ApiGateway::Account` is the region's one setting, and two stacks owning it overwrite each other",
};
/// ACCT004.
pub const ACCT004: Rule = Rule {
    id: "ACCT004",
    severity: Severity::Error,
    summary: "resource names are unique where AWS keeps them unique (IAM and dashboards and budgets per account, most per account and region; IAM names without regard to case) across the environments of the folder: a second stack would fail on \"already exists\" or, for alarms and dashboards, silently overwrite the first's",
};
/// ACCT005.
pub const ACCT005: Rule = Rule {
    id: "ACCT005",
    severity: Severity::Warning,
    summary: "every other environment file of the folder loads, so the account rules see it",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&ACCT001, &ACCT002, &ACCT003, &ACCT004, &ACCT005];

/// Another environment of the folder, as the account rules need it.
#[derive(Clone, Copy, Debug)]
pub struct Sibling<'a> {
    pub env: &'a Environment,
    pub stacks: &'a [Stack],
}

/// The ACCT rules for `env` (its stacks `stacks`) against the other environments `others`;
/// `unreadable` lists other files that did not load, with why.
pub fn account(env: &Environment, stacks: &[Stack], others: &[Sibling<'_>], unreadable: &[String]) -> Vec<Finding> {
    let mut cx = Ctx { stack: "-", out: Vec::new() };
    for why in unreadable {
        cx.push(&ACCT005, env.source.display().to_string(), format!("the account rules skipped {why}"));
    }
    let same: Vec<&Environment> = others
        .iter()
        .map(|s| s.env)
        .filter(|o| o.account_id.as_str() == env.account_id.as_str() && o.region.as_str() == env.region.as_str())
        .collect();
    concurrency(&mut cx, env, &same);
    throttle(&mut cx, env, &same);
    if env.api.manage_account_logging_role
        && let Some(o) = same.iter().find(|o| o.api.manage_account_logging_role)
    {
        cx.push(
            &ACCT003,
            env.locate("api.manage_account_logging_role"),
            format!(
                "{} also manages account {}'s API Gateway logging role in {}; set it in one environment only",
                o.source.display(),
                env.account_id,
                env.region
            ),
        );
    }
    names(&mut cx, env, stacks, others);
    cx.out
}

/// ACCT001.
fn concurrency(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment]) {
    let Some(own) = env.function.reserved_concurrency.map(|c| c.get()) else { return };
    let quota = env.account_quotas.lambda_concurrent_executions.get();
    let reservable = quota.saturating_sub(quota.min(100));
    let others: u32 = same.iter().filter_map(|o| o.function.reserved_concurrency).map(|c| c.get()).sum();
    if own + others > reservable {
        let who: Vec<String> =
            same.iter().filter_map(|o| o.function.reserved_concurrency.map(|c| format!("{} {c}", o.name))).collect();
        cx.push(
            &ACCT001,
            env.locate("function.reserved_concurrency"),
            format!(
                "{own}{} reserved executions exceed the {reservable} account {} can reserve in {} ({quota} concurrent executions less the 100 Lambda keeps unreserved); lower it, or declare a raised quota in account_quotas.lambda_concurrent_executions",
                if who.is_empty() { String::new() } else { format!(" + {} ({})", others, who.join(", ")) },
                env.account_id,
                env.region
            ),
        );
    }
}

/// ACCT002.
fn throttle(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment]) {
    let q = &env.account_quotas;
    let t = &env.api.throttling;
    let rate: u32 = t.rate_limit.get() + same.iter().map(|o| o.api.throttling.rate_limit.get()).sum::<u32>();
    if rate > q.api_requests_per_second.get() {
        cx.push(
            &ACCT002,
            env.locate("api.throttling.rate_limit"),
            format!(
                "the stages of account {} in {} allow {rate} requests/s together, past the account's throttle of {}; lower the rate limits or declare a raised quota in account_quotas.api_requests_per_second",
                env.account_id,
                env.region,
                q.api_requests_per_second
            ),
        );
    }
    if t.burst_limit.get() > q.api_burst.get() {
        cx.push(
            &ACCT002,
            env.locate("api.throttling.burst_limit"),
            format!("a burst of {} is past the account's burst of {} in {}", t.burst_limit, q.api_burst, env.region),
        );
    }
}

/// ACCT004: every fixed name of `stacks` against the other environments' names in its scope.
fn names<'a>(cx: &mut Ctx<'a>, env: &Environment, stacks: &'a [Stack], others: &[Sibling<'_>]) {
    let key = |e: &Environment, scope: NameScope, ty: &str, name: &str| -> Option<String> {
        let name = if ty.starts_with("AWS::IAM::") { name.to_lowercase() } else { name.to_owned() };
        match scope {
            NameScope::Partition => Some(format!("{ty}|{name}")),
            NameScope::Account => Some(format!("{}|{ty}|{name}", e.account_id)),
            NameScope::Region => Some(format!("{}|{}|{ty}|{name}", e.account_id, e.region)),
            NameScope::Parent => None,
        }
    };
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for o in others {
        for s in o.stacks {
            for r in s.template.to_json()["Resources"].as_object().into_iter().flatten().map(|(_, r)| r) {
                if let Some((ty, name)) = fixed_name(r)
                    && let Some(k) = key(o.env, ty.scope, ty.r#type, &name)
                {
                    taken.insert(k, format!("{} ({})", o.env.source.display(), s.name));
                }
            }
        }
    }
    for s in stacks {
        cx.stack = &s.name;
        for (id, r) in s.template.to_json()["Resources"].as_object().into_iter().flatten() {
            let Some((ty, name)) = fixed_name(r) else { continue };
            let Some(by) = key(env, ty.scope, ty.r#type, &name).and_then(|k| taken.get(&k)) else { continue };
            cx.push(
                &ACCT004,
                format!("$.Resources.{id}.Properties{}", ty.name_pointer.replace('/', ".")),
                format!("{} `{name}` is also {by}'s; change stack_prefix or the environment's name", ty.r#type),
            );
        }
    }
    cx.stack = "-";
}
