//! The alarm catalogue: what each alarm watches, what it means, and what to do. The monitoring
//! stack builds alarms from it and the runbook is written from it, so the two cannot disagree.

use crate::cfn::ModelError;
use crate::env::{AlarmSettings, Environment};

/// One alarm of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct AlarmDef {
    /// Key under `monitoring.alarms` in the environment file, and the runbook anchor.
    pub key: &'static str,
    /// Logical id of the alarm resource.
    pub id: &'static str,
    pub title: &'static str,
    /// The threshold's unit, as the runbook prints it.
    pub unit: &'static str,
    /// `true` when the alarm fires below the threshold.
    pub below: bool,
    /// How often the metric is stored: periods must be multiples of it. Every AWS/Lambda and
    /// AWS/ApiGateway metric has one-minute resolution (their developer guides, "Metrics"); the
    /// function's Embedded Metric Format lines set no `StorageResolution`, so standard (60 s).
    pub resolution_seconds: u32,
    pub meaning: &'static str,
    pub checks: &'static [&'static str],
    pub remedies: &'static [&'static str],
}

pub const ALARMS: [AlarmDef; 10] = [
    AlarmDef {
        key: "lambda_errors",
        id: "LambdaErrorsAlarm",
        title: "Lambda errors",
        unit: "errors per period",
        below: false,
        resolution_seconds: 60,
        meaning: "The token function returned errors or crashed: callers get 5XX answers and cannot get tokens.",
        checks: &[
            "Open the dashboard's Recent errors widget and read the newest error lines.",
            "Check whether a deploy happened just before the alarm (`cargo run -- status <env>`).",
            "Look for KMS `Sign` or Secrets Manager `GetSecretValue` failures (access denied, throttling, key disabled).",
        ],
        remedies: &[
            "If a deploy caused it, roll back (`cargo run -- rollback <env>`).",
            "If KMS or Secrets Manager is failing, check the key is enabled and the role's policy is intact.",
        ],
    },
    AlarmDef {
        key: "lambda_throttles",
        id: "LambdaThrottlesAlarm",
        title: "Lambda throttles",
        unit: "throttled invocations per period",
        below: false,
        resolution_seconds: 60,
        meaning: "Invocations were refused for lack of concurrency: callers get 429/5XX answers.",
        checks: &[
            "Compare concurrent executions with the reserved concurrency on the dashboard.",
            "Check request volume for a traffic spike or a misbehaving client.",
        ],
        remedies: &[
            "Raise `function.reserved_concurrency` in the environment file and deploy.",
            "If one client floods the endpoint, lower the WAF rate limit or block it.",
        ],
    },
    AlarmDef {
        key: "lambda_duration_p95",
        id: "LambdaDurationP95Alarm",
        title: "Lambda duration p95",
        unit: "ms",
        below: false,
        resolution_seconds: 60,
        meaning: "One request in twenty takes longer than the latency target inside the function.",
        checks: &[
            "Check KMS `Sign` latency in X-Ray traces: signing dominates a warm request.",
            "Check for cold starts after a deploy or a scale-up.",
        ],
        remedies: &[
            "Raise `function.memory_mb` (more CPU) and deploy.",
            "If KMS is slow region-wide, follow the AWS Health Dashboard and wait it out.",
        ],
    },
    AlarmDef {
        key: "lambda_duration_p99",
        id: "LambdaDurationP99Alarm",
        title: "Lambda duration p99",
        unit: "ms",
        below: false,
        resolution_seconds: 60,
        meaning: "The slowest requests inside the function are far above target: usually cold starts or slow dependencies.",
        checks: &[
            "Check the Init Duration of recent invocations (cold starts) in the logs.",
            "Check the client registry refreshes (Secrets Manager calls) in X-Ray.",
        ],
        remedies: &["Consider provisioned concurrency, or raise `function.memory_mb`."],
    },
    AlarmDef {
        key: "lambda_concurrency",
        id: "LambdaConcurrencyAlarm",
        title: "Lambda concurrency near its reserved limit",
        unit: "% of reserved concurrency",
        below: false,
        resolution_seconds: 60,
        meaning: "Concurrent executions are close to the reserved limit: throttling is next.",
        checks: &["Check the request rate on the dashboard and which clients drive it (access logs)."],
        remedies: &["Raise `function.reserved_concurrency` and deploy, or lower the API throttling limits."],
    },
    AlarmDef {
        key: "api_5xx_rate",
        id: "Api5xxRateAlarm",
        title: "API 5XX rate",
        unit: "% of requests",
        below: false,
        resolution_seconds: 60,
        meaning: "The API answers server errors: the function fails, times out, or API Gateway cannot invoke it.",
        checks: &[
            "Compare with Lambda errors and throttles: if they are quiet, check the integration (permission, timeout).",
            "Search the access logs for `status` 5XX and their `errorMessage`.",
        ],
        remedies: &["Roll back a recent deploy (`cargo run -- rollback <env>`)."],
    },
    AlarmDef {
        key: "api_4xx_rate",
        id: "Api4xxRateAlarm",
        title: "API 4XX rate",
        unit: "% of requests",
        below: false,
        resolution_seconds: 60,
        meaning: "Many requests are refused: bad credentials, bad scopes, throttling (429) or WAF blocks.",
        checks: &[
            "Break down auth failures by reason on the dashboard.",
            "Check the WAF's blocked requests and the API's 429s in the access logs.",
        ],
        remedies: &[
            "If one client uses a wrong or rotated secret, contact its owner.",
            "If limits are too tight for real traffic, raise `api.throttling` or the WAF rate limit.",
        ],
    },
    AlarmDef {
        key: "api_latency_p90",
        id: "ApiLatencyP90Alarm",
        title: "API latency p90",
        unit: "ms",
        below: false,
        resolution_seconds: 60,
        meaning: "One request in ten takes longer than target end to end, as callers see it.",
        checks: &["Compare API latency with Lambda duration: a gap points at API Gateway or WAF, not the function."],
        remedies: &["Follow the Lambda duration alarms' remedies when the function is the slow part."],
    },
    AlarmDef {
        key: "api_latency_p95",
        id: "ApiLatencyP95Alarm",
        title: "API latency p95",
        unit: "ms",
        below: false,
        resolution_seconds: 60,
        meaning: "One request in twenty takes longer than target end to end.",
        checks: &["Compare API latency with Lambda duration p95."],
        remedies: &["Follow the Lambda duration alarms' remedies when the function is the slow part."],
    },
    AlarmDef {
        key: "token_success_rate",
        id: "TokenSuccessRateAlarm",
        title: "Token success rate",
        unit: "% of token requests",
        below: true,
        resolution_seconds: 60,
        meaning: "Too few token requests succeed: clients cannot authenticate or ask for scopes they lack.",
        checks: &[
            "Break down AuthFailures by Reason on the dashboard: invalid_client points at secrets, invalid_scope at client config.",
            "Check whether the client registry secret changed recently (Secrets Manager versions).",
        ],
        remedies: &[
            "Restore the previous registry version if a change broke clients.",
            "Tell the owner of a client that sends wrong secrets.",
        ],
    },
];

/// The alarm's name in CloudWatch: `<prefix>-<env>-<key>` with hyphens.
pub fn alarm_name(env: &Environment, def: &AlarmDef) -> String {
    format!("{}-{}", env.qualified(), def.key.replace('_', "-"))
}

/// The settings of `def` in `env`.
pub fn settings<'e>(env: &'e Environment, def: &AlarmDef) -> Result<&'e AlarmSettings, ModelError> {
    env.monitoring
        .alarms
        .all()
        .into_iter()
        .find(|(k, _)| *k == def.key)
        .map(|(_, s)| s)
        .ok_or_else(|| ModelError::Definition(format!("alarm `{}` has no settings in Environment", def.key)))
}

/// Whether the alarm exists in `env` (the concurrency alarm needs reserved concurrency).
pub fn applies(env: &Environment, def: &AlarmDef) -> bool {
    def.key != "lambda_concurrency" || env.function.reserved_concurrency.is_some()
}

/// The alarms of `env` that page (severity `critical`): CodeDeploy and CloudFormation roll
/// back on them.
pub fn critical(env: &Environment) -> impl Iterator<Item = &'static AlarmDef> + '_ {
    ALARMS
        .iter()
        .filter(|d| applies(env, d))
        .filter(|d| settings(env, d).is_ok_and(|s| s.severity == crate::env::AlarmSeverity::Critical))
}

/// The threshold CloudWatch compares against (the concurrency alarm's is absolute).
pub fn cloudwatch_threshold(env: &Environment, def: &AlarmDef) -> Result<f64, ModelError> {
    let s = settings(env, def)?;
    Ok(match (def.key, env.function.reserved_concurrency) {
        ("lambda_concurrency", Some(r)) => (f64::from(r.get()) * s.threshold / 100.0).floor(),
        _ => s.threshold,
    })
}

/// API Gateway's maximum integration timeout, in milliseconds (API Gateway developer guide,
/// "Amazon API Gateway quotas": 50 ms to 29 seconds for REST APIs).
pub const API_MAX_INTEGRATION_TIMEOUT_MS: f64 = 29_000.0;

/// The largest value the alarm's metric can reach in `env`, in CloudWatch's threshold unit
/// (see [`cloudwatch_threshold`]): concurrent executions cannot pass the reserved concurrency,
/// a rate 100 %, a function's duration its timeout, API latency the integration timeout.
/// `None` when the metric has no ceiling (counts).
pub fn ceiling(env: &Environment, def: &AlarmDef) -> Option<f64> {
    match def.key {
        "lambda_concurrency" => env.function.reserved_concurrency.map(|r| f64::from(r.get())),
        _ if share_of_requests(def) => Some(100.0),
        "lambda_duration_p95" | "lambda_duration_p99" => Some(f64::from(env.function.timeout_seconds.get()) * 1000.0),
        "api_latency_p90" | "api_latency_p95" => Some(API_MAX_INTEGRATION_TIMEOUT_MS),
        _ => None,
    }
}

/// Whether the alarm's metric is a share of all requests (a percentage of the API's or the
/// function's traffic), which a canary moves by at most its own share of traffic.
pub fn share_of_requests(def: &AlarmDef) -> bool {
    matches!(def.key, "api_5xx_rate" | "api_4xx_rate" | "token_success_rate")
}

/// Why the alarm can never fire in `env`, if it cannot: an alarm above its threshold needs a
/// threshold under the metric's [`ceiling`] (the comparison is strict), one below it a
/// threshold above 0.
pub fn unreachable(env: &Environment, def: &AlarmDef) -> Option<String> {
    let threshold = cloudwatch_threshold(env, def).ok()?;
    let set = settings(env, def).ok()?.threshold;
    if def.below {
        return (threshold <= 0.0)
            .then(|| format!("{set}: {} can never be below 0, so the alarm never fires", def.title));
    }
    if def.key == "lambda_concurrency" && threshold < 1.0 && env.function.reserved_concurrency.is_some() {
        return Some(format!(
            "{set} % of reserved concurrency {} rounds down to 0 concurrent executions, so the alarm fires whenever the function runs; use at least {}",
            ceiling(env, def).unwrap_or_default(),
            (1000.0 / ceiling(env, def).unwrap_or(100.0)).ceil() / 10.0
        ));
    }
    let ceiling = ceiling(env, def)?;
    (threshold >= ceiling).then(|| match def.key {
        "lambda_concurrency" => format!(
            "{set} % of reserved concurrency {ceiling} is {threshold} concurrent executions, which the function can never exceed; use less than 100"
        ),
        _ => format!("{set} {}: {} can never exceed {ceiling}, so the alarm never fires", def.unit, def.title),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alarm_has_settings_and_a_unique_id() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        let env = Environment::load_named(&dir, "prod").unwrap();
        let mut ids = std::collections::BTreeSet::new();
        for def in &ALARMS {
            assert!(settings(&env, def).is_ok(), "{}", def.key);
            assert!(ids.insert(def.id), "{}", def.id);
        }
        assert_eq!(env.monitoring.alarms.all().len(), ALARMS.len());
    }
}
