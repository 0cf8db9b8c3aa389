//! Names of the CloudWatch metrics the function writes as Embedded Metric Format lines, and the
//! shape of its JSON log lines. `infra` imports these for alarms and dashboards, so a rename
//! cannot leave an alarm watching nothing or a dashboard query reading a field no line has.

/// The CloudWatch namespace of the function's business metrics.
pub const NAMESPACE: &str = "TokenService";
/// The dimension naming the environment's service (`<prefix>-<env>`).
pub const DIMENSION_SERVICE: &str = "Service";
/// Count of access tokens issued.
pub const TOKENS_ISSUED: &str = "TokensIssued";
/// Count of failed token requests, written twice: by `Service` alone (the total, for the
/// success-rate alarm) and by `Service` and `Reason` (the RFC 6749 error code).
pub const AUTH_FAILURES: &str = "AuthFailures";
/// The dimension on `AUTH_FAILURES` that holds the error code.
pub const DIMENSION_REASON: &str = "Reason";

use crate::http::Outcome;

/// The subscriber the Lambda `bootstrap` logs with: one JSON object per line on standard output,
/// `level` at the top and the event's message and fields under `fields`
/// (`{"level":"ERROR","fields":{"message":"signing failed","error":"…"}}`), no timestamp (Lambda
/// adds its own) and no target. With `LoggingConfig.LogFormat: JSON` Lambda stores each such line
/// as it is, so these are the names the dashboard's Logs Insights queries read; `infra` tests its
/// queries against lines written by this builder.
#[cfg(any(feature = "lambda", feature = "local"))]
pub fn json_logs() -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json, ()>,
> {
    tracing_subscriber::fmt().json().without_time().with_target(false)
}

/// The CloudWatch Embedded Metric Format line for a token request's outcome, or `None` for
/// requests that are not token requests. `service` is the value of the `Service` dimension.
pub fn emf_line(outcome: &Outcome, service: &str, timestamp_ms: u128) -> Option<String> {
    let (metric, dimensions, extra) = match outcome {
        Outcome::Issued { .. } => (TOKENS_ISSUED, serde_json::json!([[DIMENSION_SERVICE]]), None),
        Outcome::Failed { reason, .. } => (
            AUTH_FAILURES,
            serde_json::json!([[DIMENSION_SERVICE], [DIMENSION_SERVICE, DIMENSION_REASON]]),
            Some(*reason),
        ),
        Outcome::Other => return None,
    };
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        DIMENSION_SERVICE: service,
        metric: 1,
    });
    if let (Some(reason), Some(obj)) = (extra, line.as_object_mut()) {
        obj.insert(DIMENSION_REASON.into(), reason.into());
    }
    Some(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_carry_metric_and_dimensions() {
        let l: serde_json::Value = serde_json::from_str(
            &emf_line(&Outcome::Failed { reason: "invalid_client", client_id: None }, "svc", 5).unwrap(),
        )
        .unwrap();
        assert_eq!(l["AuthFailures"], 1);
        assert_eq!(l["Reason"], "invalid_client");
        assert_eq!(l["Service"], "svc");
        assert_eq!(l["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(
            l["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Service"], ["Service", "Reason"]])
        );
        let l: serde_json::Value =
            serde_json::from_str(&emf_line(&Outcome::Issued { client_id: "c".into() }, "svc", 5).unwrap()).unwrap();
        assert_eq!(l["TokensIssued"], 1);
        assert!(emf_line(&Outcome::Other, "svc", 5).is_none());
    }
}
