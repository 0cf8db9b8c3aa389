//! Rules across the environments that share an account and region (ACCT): quotas AWS counts per
//! account, singletons the account has one of, and names AWS keeps unique per account or region.
//! `validate <env>`, `synth` and `deploy` read every other environment file of the folder for
//! them ([`crate::commands`]); each environment is checked against the others, so the finding
//! lands in each file that takes part.

use std::collections::BTreeMap;

use super::bounds::Admissible;
use super::reservation;
use super::{Ctx, Finding, Rule, Severity};
use crate::cfn::names::{NameScope, fixed_name_in};
use crate::env::Environment;
use crate::stacks::Stack;

/// ACCT001.
pub const ACCT001: Rule = Rule {
    id: "ACCT001",
    severity: Severity::Error,
    summary: "the reserved concurrency of every environment in one account and region leaves Lambda's 100 unreserved executions of `account_quotas.lambda_concurrent_executions` (default 1,000); Lambda refuses the function otherwise",
    source: "Lambda developer guide, \"Configuring reserved concurrency\"",
};
/// ACCT002.
pub const ACCT002: Rule = Rule {
    id: "ACCT002",
    severity: Severity::Error,
    summary: "the stage rate limits of every environment in one account and region add up to at most API Gateway's account throttle (`account_quotas.api_requests_per_second`, default 10,000), and each burst fits `account_quotas.api_burst` (default 5,000): past it API Gateway answers 429 before any stage limit",
    source: "API Gateway developer guide, \"Amazon API Gateway quotas\"",
};
/// ACCT003.
pub const ACCT003: Rule = Rule {
    id: "ACCT003",
    severity: Severity::Error,
    summary: "an account's singletons have one owner: at most one environment of an account and region sets `api.manage_account_logging_role` (`AWS::ApiGateway::Account` is the region's one setting; two stacks owning it overwrite each other), and at most one environment of an account sets `ci.create_oidc_provider` (IAM has one OIDC provider per URL in an account; a second bootstrap fails on \"already exists\")",
    source: "API Gateway API reference, \"UpdateAccount\"; IAM API reference, \"CreateOpenIDConnectProvider\"",
};
/// ACCT004.
pub const ACCT004: Rule = Rule {
    id: "ACCT004",
    severity: Severity::Error,
    summary: "resource names are unique where AWS keeps them unique (IAM and dashboards and budgets per account, most per account and region; IAM names without regard to case) across the environments of the folder: a second stack would fail on \"already exists\" or, for alarms and dashboards, silently overwrite the first's",
    source: "each service's naming rules (IAM User Guide, \"IAM identifiers\"; CloudWatch API reference, \"PutMetricAlarm\", \"PutDashboard\")",
};
/// ACCT006.
pub const ACCT006: Rule = Rule {
    id: "ACCT006",
    severity: Severity::Error,
    summary: "the environments of one account and region declare the same `account_quotas` and `signing_key.kms_quotas`: they describe one account, and each file's rules use its own",
    source: "this project: one account and region has one set of quotas",
};
/// ACCT007.
pub const ACCT007: Rule = Rule {
    id: "ACCT007",
    severity: Severity::Error,
    summary: "in kms mode every token is a KMS `Sign`, and KMS's request quota is the account's in the region: the stage rate limits of all kms-mode environments of one account and region signing with one key type add up to at most its quota (`signing_key.kms_quotas`; AWS KMS developer guide, \"Request quotas\")",
    source: "AWS KMS developer guide, \"Request quotas\"",
};
/// ACCT005.
pub const ACCT005: Rule = Rule {
    id: "ACCT005",
    severity: Severity::Warning,
    summary: "every other environment file of the folder loads, so the account rules see it",
    source: "this project: the account rules read every environment file of the folder",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&ACCT001, &ACCT002, &ACCT003, &ACCT004, &ACCT005, &ACCT006, &ACCT007];

/// Another environment of the folder, as the account rules need it.
#[derive(Clone, Copy, Debug)]
pub struct Sibling<'a> {
    /// The environment.
    pub env: &'a Environment,
    /// Its stacks, built.
    pub stacks: &'a [Stack],
}

/// The ACCT rules for `env` (its stacks `stacks`) against the other environments `others`;
/// `unreadable` lists other files that did not load, with why.
pub fn account(env: &Environment, stacks: &[Stack], others: &[Sibling<'_>], unreadable: &[String]) -> Vec<Finding> {
    let mut cx = Ctx { stack: "-", out: Vec::new() };
    for why in unreadable {
        cx.push(
            &ACCT005,
            env.source.display().to_string(),
            format!("the account rules skipped {why}; fix that file or move it out of the folder"),
        );
    }
    let same: Vec<&Environment> = others
        .iter()
        .map(|s| s.env)
        .filter(|o| o.account_id.as_str() == env.account_id.as_str() && o.region.as_str() == env.region.as_str())
        .collect();
    concurrency(&mut cx, env, &same);
    let rates_conflict = rate_conflict(&mut cx, env, &same);
    throttle(&mut cx, env, &same, rates_conflict);
    singletons(&mut cx, env, &same, others);
    quotas_agree(&mut cx, env, &same);
    if !rates_conflict {
        kms_requests(&mut cx, env, &same);
    }
    names(&mut cx, env, stacks, others);
    cx.out
}

/// ACCT003.
fn singletons(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment], others: &[Sibling<'_>]) {
    if env.api.manage_account_logging_role
        && let Some(o) = same.iter().find(|o| o.api.manage_account_logging_role)
    {
        cx.push(
            &ACCT003,
            env.locate("api.manage_account_logging_role"),
            format!(
                "{} also manages account {}'s API Gateway logging role in {}; set it true in one of the two files only",
                o.source.display(),
                env.account_id,
                env.region
            ),
        );
    }
    if env.ci.create_oidc_provider
        && let Some(o) = others
            .iter()
            .map(|s| s.env)
            .find(|o| o.account_id.as_str() == env.account_id.as_str() && o.ci.create_oidc_provider)
    {
        cx.push(
            &ACCT003,
            env.locate("ci.create_oidc_provider"),
            format!(
                "{} also creates account {}'s GitHub OIDC provider, which IAM holds once per account; set it true in one of the two files only",
                o.source.display(),
                env.account_id
            ),
        );
    }
}

/// ACCT006.
fn quotas_agree(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment]) {
    let declared = |e: &Environment| {
        let (a, k) = (&e.account_quotas, &e.signing_key.kms_quotas);
        [
            ("account_quotas.lambda_concurrent_executions", a.lambda_concurrent_executions.get()),
            ("account_quotas.api_requests_per_second", a.api_requests_per_second.get()),
            ("account_quotas.api_burst", a.api_burst.get()),
            ("signing_key.kms_quotas.ecc", k.ecc.get()),
            ("signing_key.kms_quotas.rsa", k.rsa.get()),
            ("signing_key.kms_quotas.symmetric", k.symmetric.get()),
        ]
    };
    for o in same {
        for ((key, mine), (_, theirs)) in declared(env).into_iter().zip(declared(o)) {
            if mine != theirs {
                cx.push(
                    &ACCT006,
                    env.locate(key),
                    format!(
                        "{key} is {mine} here but {theirs} in {}, the same account and region; declare the account's real quota in both",
                        o.source.display()
                    ),
                );
            }
        }
    }
}

/// ACCT007.
fn kms_requests(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment]) {
    let Some((quota, sharing)) = kms_sharing(env, same) else { return };
    let alg = env.signing_key.algorithm;
    let total: u32 =
        env.api.throttling.rate_limit.get() + sharing.iter().map(|o| o.api.throttling.rate_limit.get()).sum::<u32>();
    if !sharing.is_empty() && total > quota {
        let who: Vec<String> =
            sharing.iter().map(|o| format!("{} {}", o.source.display(), o.api.throttling.rate_limit)).collect();
        cx.push(
            &ACCT007,
            env.locate("api.throttling.rate_limit"),
            format!(
                "{} and {} sign with KMS in account {} in {} at up to {total} requests/s together, over its {quota}/s quota for {} keys; use signing_key.mode: envelope, lower the rate limits, or declare a raised quota in both files",
                env.api.throttling.rate_limit,
                who.join(", "),
                env.account_id,
                env.region,
                alg.name()
            ),
        );
    }
}

/// ACCT001, with every other bound on the reservation (`super::reservation`): where they leave
/// no value and the account's is the tightest, one finding says so and what to change instead.
fn concurrency(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment]) {
    if !reservation::applies(env) {
        return;
    }
    let own = env.function.reserved_concurrency.map(|c| c.get());
    let quota = env.account_quotas.lambda_concurrent_executions.get();
    let reservable = reservation::reservable(env);
    let others: u32 = same.iter().filter_map(|o| o.function.reserved_concurrency).map(|c| c.get()).sum();
    let who: Vec<String> =
        same.iter().filter_map(|o| o.function.reserved_concurrency.map(|c| format!("{} {c}", o.name))).collect();
    let mut bounds = reservation::bounds(env);
    if others > 0 {
        bounds = bounds.upper(
            f64::from(reservable.saturating_sub(others)),
            false,
            ACCT001.id,
            format!(
                "what account {} can reserve in {}: {quota} concurrent executions less the 100 Lambda keeps unreserved, less {others} reserved by {}",
                env.account_id,
                env.region,
                who.join(", ")
            ),
        );
    }
    let at = env.locate(reservation::key(env));
    if let Some((_, hi)) = bounds.conflict() {
        if hi.rule == ACCT001.id {
            let whose = Some(who.join(", ")).filter(|w| !w.is_empty());
            let instead = reservation::instead(env, hi.rule, whose.as_deref());
            if let Some(m) = bounds.message("function.reserved_concurrency", &instead) {
                cx.push(&ACCT001, at, m);
            }
        }
        return;
    }
    let Some(own) = own else { return };
    if own + others > reservable {
        cx.push(
            &ACCT001,
            at,
            format!(
                "{own}{} reserved executions exceed the {reservable} account {} can reserve in {} ({quota} concurrent executions less the 100 Lambda keeps unreserved); lower it, or declare a raised quota in account_quotas.lambda_concurrent_executions",
                if who.is_empty() { String::new() } else { format!(" + {} ({})", others, who.join(", ")) },
                env.account_id,
                env.region
            ),
        );
    }
}

/// Every bound on `api.throttling.rate_limit` across the account: at least 1 request/s, at most
/// the account's throttle less the other stages' (ACCT002) and, in kms mode, the account's KMS
/// quota for the key type less the other kms-mode stages' (ACCT007). Where they leave no value,
/// one finding from the tightest bound's rule; returns whether there was one.
fn rate_conflict(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment]) -> bool {
    let q = &env.account_quotas;
    let taken: u32 = same.iter().map(|o| o.api.throttling.rate_limit.get()).sum();
    let others: Vec<String> = same.iter().map(|o| format!("{} {}", o.name, o.api.throttling.rate_limit)).collect();
    let mut bounds = Admissible::new()
        .lower(1.0, false, "the key's range", "API Gateway takes a stage rate of at least 1 request/s")
        .upper(
            f64::from(q.api_requests_per_second.get().saturating_sub(taken)),
            false,
            ACCT002.id,
            format!(
                "the account's throttle of {} less {taken} taken by {}",
                q.api_requests_per_second,
                others.join(", ")
            ),
        );
    if let Some((quota, signing)) = kms_sharing(env, same).filter(|(_, s)| !s.is_empty()) {
        let taken: u32 = signing.iter().map(|o| o.api.throttling.rate_limit.get()).sum();
        let names: Vec<String> =
            signing.iter().map(|o| format!("{} {}", o.name, o.api.throttling.rate_limit)).collect();
        bounds = bounds.upper(
            f64::from(quota.saturating_sub(taken)),
            false,
            ACCT007.id,
            format!(
                "the account's KMS {} quota of {quota}/s less {taken} signed for by {}",
                env.signing_key.algorithm.name(),
                names.join(", ")
            ),
        );
    }
    let Some((_, hi)) = bounds.conflict() else { return false };
    let (rule, instead) = if hi.rule == ACCT007.id {
        (
            &ACCT007,
            "use signing_key.mode: envelope here, lower the other kms-mode stages' rate limits, or declare a raised quota in signing_key.kms_quotas of every file of the account",
        )
    } else {
        (
            &ACCT002,
            "lower the other stages' rate limits, or declare a raised quota in account_quotas.api_requests_per_second",
        )
    };
    if let Some(m) = bounds.message("api.throttling.rate_limit", instead) {
        cx.push(rule, env.locate("api.throttling.rate_limit"), m);
    }
    true
}

/// In kms mode: the account's KMS quota for the environment's key type, and the other kms-mode
/// environments that sign with that key type (every token one `Sign`).
fn kms_sharing<'a>(env: &Environment, same: &[&'a Environment]) -> Option<(u32, Vec<&'a Environment>)> {
    use token_function::jwt::Algorithm;
    use token_function::key_pairs::SigningMode;
    if env.signing_key.mode != SigningMode::Kms {
        return None;
    }
    let alg = env.signing_key.algorithm;
    let quota = match alg {
        Algorithm::ES256 => env.signing_key.kms_quotas.ecc.get(),
        Algorithm::RS256 => env.signing_key.kms_quotas.rsa.get(),
    };
    let sharing = same
        .iter()
        .copied()
        .filter(|o| o.signing_key.mode == SigningMode::Kms && o.signing_key.algorithm == alg)
        .collect();
    Some((quota, sharing))
}

/// ACCT002; `rates_conflict`: [`rate_conflict`] already said what to change about the rate.
fn throttle(cx: &mut Ctx<'_>, env: &Environment, same: &[&Environment], rates_conflict: bool) {
    let q = &env.account_quotas;
    let t = &env.api.throttling;
    let taken: u32 = same.iter().map(|o| o.api.throttling.rate_limit.get()).sum();
    let rate: u32 = t.rate_limit.get() + taken;
    if rates_conflict {
        // One finding said what to change instead.
    } else if rate > q.api_requests_per_second.get() {
        let who: Vec<String> =
            same.iter().map(|o| format!("{} {}", o.source.display(), o.api.throttling.rate_limit)).collect();
        cx.push(
            &ACCT002,
            env.locate("api.throttling.rate_limit"),
            format!(
                "the stages of account {} in {} allow {rate} requests/s together ({}{}{}), past the account's throttle of {}; lower the rate limits or declare a raised quota in account_quotas.api_requests_per_second",
                env.account_id,
                env.region,
                t.rate_limit,
                if who.is_empty() { "" } else { " here, " },
                who.join(", "),
                q.api_requests_per_second
            ),
        );
    }
    if t.burst_limit.get() > q.api_burst.get() {
        cx.push(
            &ACCT002,
            env.locate("api.throttling.burst_limit"),
            format!(
                "a burst of {} is past account {}'s burst of {} in {}, which API Gateway applies before any stage limit; lower api.throttling.burst_limit to {} or less",
                t.burst_limit, env.account_id, q.api_burst, env.region, q.api_burst
            ),
        );
    }
}

/// ACCT004: every fixed name of `stacks` against the other environments' names in its scope,
/// one finding per other file (the custom domain apart, whose key differs).
fn names(cx: &mut Ctx<'_>, env: &Environment, stacks: &[Stack], others: &[Sibling<'_>]) {
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
            for r in s.template.resources().values() {
                if let Some((ty, name)) = fixed_name_in(r.r#type, &r.properties)
                    && let Some(k) = key(o.env, ty.scope, ty.r#type, &name)
                {
                    taken.insert(k, o.env.source.display().to_string());
                }
            }
        }
    }
    // (other file, the colliding value is the custom domain) -> the names.
    let mut clashes: BTreeMap<(String, bool), Vec<String>> = BTreeMap::new();
    for s in stacks {
        for r in s.template.resources().values() {
            let Some((ty, name)) = fixed_name_in(r.r#type, &r.properties) else { continue };
            let Some(by) = key(env, ty.scope, ty.r#type, &name).and_then(|k| taken.get(&k)) else { continue };
            let domain = ty.r#type == "AWS::ApiGateway::DomainName";
            clashes.entry((by.clone(), domain)).or_default().push(format!("{} `{name}`", ty.r#type));
        }
    }
    for ((by, domain), names) in clashes {
        let (at, advice) = if domain {
            ("api.custom_domain.domain_name", "give each environment its own api.custom_domain.domain_name")
        } else {
            (
                "stack_prefix",
                "give the two a different stack_prefix, or rename one file (its name is the environment's)",
            )
        };
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        cx.push(
            &ACCT004,
            env.locate(at),
            format!(
                "{} name(s) are also {by}'s in the same account ({}{}): the second stack would fail on \"already exists\" or overwrite the first's; {advice}",
                names.len(),
                shown.join(", "),
                if names.len() > 3 { ", ..." } else { "" }
            ),
        );
    }
}
