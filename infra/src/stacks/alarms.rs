//! The catalogue's alarms in an environment (`crate::alarms`): their settings, names and
//! thresholds there, whether they can fire. The monitoring stack builds alarms from these and
//! the runbook is written from them, so the two cannot disagree.

use crate::cfn::ModelError;
use crate::env::{AlarmSettings, Environment};

pub use crate::alarms::{ALARMS, AlarmDef, Metric};

/// The alarm's name in CloudWatch: `<prefix>-<env>-<key>` with hyphens.
pub fn alarm_name(env: &Environment, def: &AlarmDef) -> String {
    format!("{}-{}", env.qualified(), def.key.replace('_', "-"))
}

/// The part of an `alarms test` drill queue's name after the environment's qualified name
/// (`<prefix>-<env>-alarm-drill-<unix seconds>`): the deploy role may make and remove only
/// queues so named (`stacks::bootstrap`).
pub const DRILL_QUEUE_MARK: &str = "-alarm-drill-";

/// The settings of `def` in `env`.
pub fn settings<'e>(env: &'e Environment, def: &AlarmDef) -> Result<&'e AlarmSettings, ModelError> {
    env.monitoring
        .alarms
        .all()
        .find(|(k, _)| *k == def.key)
        .map(|(_, s)| s)
        .ok_or_else(|| ModelError::Definition(format!("alarm `{}` has no settings in Environment", def.key)))
}

/// Whether the alarm exists in `env` (the concurrency alarm needs reserved concurrency).
pub fn applies(env: &Environment, def: &AlarmDef) -> bool {
    def.metric != Metric::LambdaConcurrency || env.function.reserved_concurrency.is_some()
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
    Ok(match (def.metric, env.function.reserved_concurrency) {
        (Metric::LambdaConcurrency, Some(r)) => (f64::from(r.get()) * s.threshold / 100.0).floor(),
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
    match def.metric {
        Metric::LambdaConcurrency => env.function.reserved_concurrency.map(|r| f64::from(r.get())),
        m if m.share_of_requests() => Some(100.0),
        Metric::Lambda { name: "Duration", .. } => Some(f64::from(env.function.timeout_seconds.get()) * 1000.0),
        Metric::Api { name: "Latency", .. } => Some(API_MAX_INTEGRATION_TIMEOUT_MS),
        _ => None,
    }
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
    if def.metric == Metric::LambdaConcurrency && threshold < 1.0 && env.function.reserved_concurrency.is_some() {
        return Some(format!(
            "{set} % of reserved concurrency {} rounds down to 0 concurrent executions, so the alarm fires whenever the function runs; use at least {}",
            ceiling(env, def).unwrap_or_default(),
            (1000.0 / ceiling(env, def).unwrap_or(100.0)).ceil() / 10.0
        ));
    }
    let ceiling = ceiling(env, def)?;
    (threshold >= ceiling).then(|| match def.metric {
        Metric::LambdaConcurrency => format!(
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
        for def in ALARMS {
            assert!(settings(&env, def).is_ok(), "{}", def.key);
            assert!(ids.insert(def.id), "{}", def.id);
        }
        assert_eq!(env.monitoring.alarms.all().count(), ALARMS.len());
    }
}
