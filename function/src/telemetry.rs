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
    tracing_subscriber::fmt()
        .json()
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .with_target(false)
        .with_max_level(level(max_level))
}

/// A Lambda log level's name (`LAMBDA_LEVELS`, any case) as a `tracing` level; INFO for none.
#[cfg(any(feature = "lambda", feature = "local"))]
fn level(max_level: Option<&str>) -> tracing::Level {
    match max_level.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => tracing::Level::TRACE,
        Some("DEBUG") => tracing::Level::DEBUG,
        Some("WARN") => tracing::Level::WARN,
        Some("ERROR" | "FATAL") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    }
}

/// Which events `json_logs` writes by where they come from: this crate's down to `max_level`,
/// every other crate's (the AWS SDK, hyper, the Lambda runtime) down to INFO at most. So a
/// function at DEBUG writes its own debug lines and not the SDK's wire-level ones (some forty
/// lines a request, each an ingested CloudWatch Logs event).
#[cfg(any(feature = "lambda", feature = "local"))]
pub fn log_targets(max_level: Option<&str>) -> tracing_subscriber::filter::Targets {
    let own = level(max_level);
    tracing_subscriber::filter::Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), own)
        .with_default(own.min(tracing::Level::INFO))
}

/// Installs the Lambda `bootstrap`'s subscriber: [`json_logs`] filtered by [`log_targets`].
#[cfg(any(feature = "lambda", feature = "local"))]
pub fn install(max_level: Option<&str>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    json_logs(max_level).finish().with(log_targets(max_level)).init();
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

    /// At DEBUG the function's own debug lines are written and other crates' are not; their
    /// INFO and above are. At WARN nobody's INFO is.
    #[cfg(any(feature = "lambda", feature = "local"))]
    #[test]
    fn own_debug_lines_only() {
        use tracing_subscriber::layer::SubscriberExt;
        let written = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let rows = [
            ("DEBUG", ["own debug", "sdk info", "own info"].as_slice(), ["sdk debug"].as_slice()),
            ("WARN", ["own warn"].as_slice(), ["own info", "sdk info", "sdk debug"].as_slice()),
        ];
        for (level, shown, hidden) in rows {
            written.lock().unwrap().clear();
            let sink = written.clone();
            let writer = move || Sink(sink.clone());
            let subscriber = json_logs(Some(level)).with_writer(writer).finish().with(log_targets(Some(level)));
            tracing::subscriber::with_default(subscriber, || {
                tracing::debug!("own debug");
                tracing::info!("own info");
                tracing::warn!("own warn");
                tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "sdk debug");
                tracing::info!(target: "aws_smithy_runtime::client::orchestrator", "sdk info");
            });
            let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
            for s in shown {
                assert!(text.contains(s), "{level}: {s} missing from {text}");
            }
            for s in hidden {
                assert!(!text.contains(s), "{level}: {s} written: {text}");
            }
        }
    }

    #[cfg(any(feature = "lambda", feature = "local"))]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    #[cfg(any(feature = "lambda", feature = "local"))]
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

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
