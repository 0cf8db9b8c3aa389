//! Every rule's bound on `function.reserved_concurrency`, in one place, so that where they leave
//! no value one finding says so (from the rule whose bound is tightest) and the others are silent:
//! - ALARM008: a reservation brings the concurrency alarm, which tells near-full from full only
//!   with two executions or more;
//! - ACCT001: at most what the account can reserve (its quota less the 100 Lambda keeps
//!   unreserved; the account rules also take the other environments' reservations off);
//! - SIGN001: in envelope mode at most a third of the account's KMS symmetric quota (three
//!   requests per cold start), and a reservation is needed at all where the account's 1,000
//!   unreserved executions would exceed it;
//! - POL004: a reservation where the policy requires one.

use super::bounds::{Admissible, Bound};
use crate::env::Environment;
use token_function::key_pairs::SigningMode;

/// KMS symmetric requests one cold start makes in envelope mode: `Decrypt` of the signing key
/// pair, and one `Decrypt` by Secrets Manager for each of the two secrets read (the key pairs and
/// the client registry, encrypted with `aws/secretsmanager`; requests made on your behalf count
/// against your quota, AWS KMS developer guide, "Request quotas").
pub const SYMMETRIC_REQUESTS_PER_COLD_START: u32 = 3;

/// Lambda's default concurrency per account and region: what an environment without reserved
/// concurrency may scale to (Lambda developer guide, "Lambda quotas").
pub const ACCOUNT_CONCURRENCY: u32 = 1_000;

/// Which rule makes a reservation necessary, if any.
pub fn required_by(env: &Environment) -> Option<&'static str> {
    if env.policy.require_reserved_concurrency { Some("POL004") } else { required_by_sign(env) }
}

/// What the account can reserve: its concurrency quota less the 100 executions Lambda keeps
/// unreserved (Lambda developer guide, "Configuring reserved concurrency").
pub fn reservable(env: &Environment) -> u32 {
    env.account_quotas.lambda_concurrent_executions.get().saturating_sub(100)
}

/// The file's own bounds on the reservation (the account rules add the other environments').
pub fn bounds(env: &Environment) -> Admissible {
    let quota = env.account_quotas.lambda_concurrent_executions.get();
    let mut a = Admissible::new()
        .lower(
            2.0,
            false,
            "ALARM008",
            "the concurrency alarm that comes with a reservation tells near-full from full only with two executions or more",
        )
        .upper(
            f64::from(reservable(env)),
            false,
            "ACCT001",
            format!(
                "what account {} can reserve in {}: {quota} concurrent executions less the 100 Lambda keeps unreserved",
                env.account_id, env.region
            ),
        );
    if env.signing_key.mode == SigningMode::Envelope {
        let symmetric = env.signing_key.kms_quotas.symmetric.get();
        a = a.upper(
            f64::from(symmetric / SYMMETRIC_REQUESTS_PER_COLD_START),
            false,
            "SIGN001",
            format!(
                "envelope mode starts each execution environment with {SYMMETRIC_REQUESTS_PER_COLD_START} KMS symmetric requests, within the account's {symmetric}/s (signing_key.kms_quotas.symmetric)"
            ),
        );
    }
    a
}

/// Whether the reservation is in play: set, or required.
pub fn applies(env: &Environment) -> bool {
    env.function.reserved_concurrency.is_some() || required_by(env).is_some()
}

/// The file's own conflict, if no reservation fits it: the tightest lower and upper bound.
pub fn conflict(env: &Environment) -> Option<(Bound, Bound)> {
    let b = bounds(env);
    b.conflict().filter(|_| applies(env)).map(|(lo, hi)| (lo.clone(), hi.clone()))
}

/// What to change instead, for a conflict whose tightest upper bound is `upper_rule`;
/// `others` names the other environments' reservations (the account rules), if any.
pub fn instead(env: &Environment, upper_rule: &str, others: Option<&str>) -> String {
    let mut ways = vec![match upper_rule {
        "SIGN001" => {
            "declare a raised quota in signing_key.kms_quotas.symmetric, or use signing_key.mode: kms".to_owned()
        }
        _ => "raise the quota through Service Quotas and declare it in account_quotas.lambda_concurrent_executions"
            .to_owned(),
    }];
    if let Some(who) = others {
        ways.push(format!("lower the other reservations ({who})"));
    }
    let set = env.function.reserved_concurrency.is_some();
    match (required_by(env), set) {
        (None, true) => ways.push("remove function.reserved_concurrency (the alarm goes with it)".into()),
        (Some("POL004"), _) if required_by_sign(env).is_none() => {
            ways.push(format!(
                "set policy.require_reserved_concurrency: false{}",
                if set { " and remove function.reserved_concurrency" } else { "" }
            ));
        }
        _ => {}
    }
    ways.join(", or ")
}

/// SIGN001's own need for a reservation, whatever the policy says.
fn required_by_sign(env: &Environment) -> Option<&'static str> {
    let unreserved_requests = ACCOUNT_CONCURRENCY * SYMMETRIC_REQUESTS_PER_COLD_START;
    (env.signing_key.mode == SigningMode::Envelope && unreserved_requests > env.signing_key.kms_quotas.symmetric.get())
        .then_some("SIGN001")
}

/// Where a finding about the reservation points: the key when set, else what requires it.
pub fn key(env: &Environment) -> &'static str {
    match (env.function.reserved_concurrency.is_some(), required_by(env)) {
        (true, _) | (false, None) => "function.reserved_concurrency",
        (false, Some("POL004")) => "policy.require_reserved_concurrency",
        (false, Some(_)) => "signing_key.mode",
    }
}
