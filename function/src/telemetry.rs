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

/// The application log levels Lambda knows, most detailed first (Lambda API reference,
/// `LoggingConfig.ApplicationLogLevel`).
pub const LAMBDA_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// The level every metric line carries. Lambda's log-level filtering drops lines below the
/// function's `ApplicationLogLevel`, so the environment's log level may be at most this, or the
/// success-rate alarm and the dashboard would read no metrics (`infra` refuses a higher one).
pub const METRIC_LEVEL: &str = "INFO";

/// The subscriber the Lambda `bootstrap` logs with: one JSON object per line on standard output,
/// with `timestamp` (RFC 3339, UTC) and `level` at the top and the event's message and fields
/// under `fields` (`{"timestamp":"2026-12-07T10:00:00.000000Z","level":"ERROR","fields":{"message":
/// "signing failed","error":"…"}}`), no target. Lambda filters JSON lines by `level` only when
/// they carry an RFC 3339 `timestamp`; any other line it files as INFO (Lambda developer guide,
/// "Log-level filtering"). Events below `max_level` (Lambda passes the function's
/// `ApplicationLogLevel` as `AWS_LAMBDA_LOG_LEVEL`) are not written at all. With
/// `LoggingConfig.LogFormat: JSON` Lambda stores each line as it is, so these are the names the
/// dashboard's Logs Insights queries read; `infra` tests its queries against lines written by
/// this builder.
#[cfg(any(feature = "lambda", feature = "local"))]
pub fn json_logs(
    max_level: Option<&str>,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<
        tracing_subscriber::fmt::format::Json,
        tracing_subscriber::fmt::time::SystemTime,
    >,
> {
    let level = match max_level.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => tracing::Level::TRACE,
        Some("DEBUG") => tracing::Level::DEBUG,
        Some("WARN") => tracing::Level::WARN,
        Some("ERROR" | "FATAL") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .json()
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .with_target(false)
        .with_max_level(level)
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
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(timestamp_ms).unwrap_or(u64::MAX));
    let mut line = serde_json::json!({
        // Lambda's log-level filtering reads these two (see `json_logs`); EMF ignores them.
        "timestamp": humantime::format_rfc3339_millis(at).to_string(),
        "level": METRIC_LEVEL,
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
