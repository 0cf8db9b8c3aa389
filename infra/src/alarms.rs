//! The alarm catalogue: one row per alarm with what it watches, how it compares, what it means
//! and what to do. Everything else reads it: the environment file's `monitoring.alarms` keys
//! (`crate::env::Alarms`), the monitoring stack's alarms and dashboard, the runbook, the
//! validation rules and `infra list --json`. Adding an alarm is a row here, its settings in the
//! environment files, and its row in docs/environments.md (a test holds the two lists equal).

use token_function::telemetry;

/// What an alarm watches, in the unit of its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// An `AWS/Lambda` metric of the function with a statistic (Lambda developer guide, "Types
    /// of metrics for Lambda functions"): `Duration` in milliseconds, counts per period.
    Lambda {
        /// The metric name, e.g. `Errors`, `Throttles` or `Duration`.
        name: &'static str,
        /// The CloudWatch statistic, e.g. `Sum` or a percentile such as `p95`.
        statistic: &'static str,
    },
    /// Peak `ConcurrentExecutions` as a percentage of the function's reserved concurrency: it
    /// exists only with a reservation, and CloudWatch compares the absolute count.
    LambdaConcurrency,
    /// An `AWS/ApiGateway` metric of the stage with a statistic (API Gateway developer guide,
    /// "Amazon API Gateway dimensions and metrics"): `Latency` in milliseconds.
    Api {
        /// The metric name, e.g. `Latency`.
        name: &'static str,
        /// The CloudWatch statistic, e.g. a percentile such as `p90`.
        statistic: &'static str,
    },
    /// An API Gateway error count as a percentage of the stage's `Count` (metric math).
    ApiRate {
        /// The error count metric, `5XXError` or `4XXError`.
        errors: &'static str,
    },
    /// Tokens issued as a percentage of token requests, from the function's own metrics
    /// (`token_function::telemetry`), 100 when there were none.
    TokenSuccess,
}

impl Metric {
    /// Whether the metric is a share of all requests (a percentage of the API's or the
    /// function's traffic), which a canary moves by at most its own share of traffic.
    pub fn share_of_requests(self) -> bool {
        matches!(self, Metric::ApiRate { .. } | Metric::TokenSuccess)
    }

    /// The namespace and metric names it reads, for the dashboard and the rules that check
    /// what alarms watch.
    pub fn names(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Metric::Lambda { name, .. } => vec![("AWS/Lambda", name)],
            Metric::LambdaConcurrency => vec![("AWS/Lambda", "ConcurrentExecutions")],
            Metric::Api { name, .. } => vec![("AWS/ApiGateway", name)],
            Metric::ApiRate { errors } => vec![("AWS/ApiGateway", errors), ("AWS/ApiGateway", "Count")],
            Metric::TokenSuccess => {
                vec![(telemetry::NAMESPACE, telemetry::TOKENS_ISSUED), (telemetry::NAMESPACE, telemetry::AUTH_FAILURES)]
            }
        }
    }
}

/// One alarm of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct AlarmDef {
    /// Key under `monitoring.alarms` in the environment file, and the runbook anchor.
    pub key: &'static str,
    /// Logical id of the alarm resource.
    pub id: &'static str,
    /// Human-readable name, for the runbook heading and validation messages.
    pub title: &'static str,
    /// The threshold's unit, as the runbook prints it.
    pub unit: &'static str,
    /// What it watches.
    pub metric: Metric,
    /// `true` when the alarm fires below the threshold.
    pub below: bool,
    /// How often the metric is stored: periods must be multiples of it. Every AWS/Lambda and
    /// AWS/ApiGateway metric has one-minute resolution (their developer guides, "Metrics"); the
    /// function's Embedded Metric Format lines set no `StorageResolution`, so standard (60 s).
    pub resolution_seconds: u32,
    /// What it means when the alarm fires, for the alarm description and the runbook.
    pub meaning: &'static str,
    /// What to check first, one runbook step per entry.
    pub checks: &'static [&'static str],
    /// What to do about it, one runbook step per entry.
    pub remedies: &'static [&'static str],
}

/// The alarm catalogue, in the order of `monitoring.alarms` and of the runbook.
pub const ALARMS: &[AlarmDef] = &[
    AlarmDef {
        key: "lambda_errors",
        metric: Metric::Lambda { name: "Errors", statistic: "Sum" },
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
        metric: Metric::Lambda { name: "Throttles", statistic: "Sum" },
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
        metric: Metric::Lambda { name: "Duration", statistic: "p95" },
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
        metric: Metric::Lambda { name: "Duration", statistic: "p99" },
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
        metric: Metric::LambdaConcurrency,
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
        metric: Metric::ApiRate { errors: "5XXError" },
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
        metric: Metric::ApiRate { errors: "4XXError" },
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
        metric: Metric::Api { name: "Latency", statistic: "p90" },
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
        metric: Metric::Api { name: "Latency", statistic: "p95" },
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
        metric: Metric::TokenSuccess,
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

/// Every alarm's key under `monitoring.alarms`, in catalogue order.
pub const KEYS: [&str; ALARMS.len()] = {
    let mut keys = [""; ALARMS.len()];
    let mut i = 0;
    while i < ALARMS.len() {
        keys[i] = ALARMS[i].key;
        i += 1;
    }
    keys
};

/// The row of `key`, if it is one.
pub fn find(key: &str) -> Option<&'static AlarmDef> {
    ALARMS.iter().find(|d| d.key == key)
}
