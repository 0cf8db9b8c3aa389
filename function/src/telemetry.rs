//! Names of the CloudWatch metrics the function writes as Embedded Metric Format lines. `infra`
//! imports these for alarms and dashboards, so a rename cannot leave an alarm watching nothing.

/// The CloudWatch namespace of the function's business metrics.
pub const NAMESPACE: &str = "TokenService";
/// The dimension naming the environment's service (`<prefix>-<env>`).
pub const DIMENSION_SERVICE: &str = "Service";
/// Count of access tokens issued.
pub const TOKENS_ISSUED: &str = "TokensIssued";
/// Count of failed token requests; dimension `Reason` holds the RFC 6749 error code.
pub const AUTH_FAILURES: &str = "AuthFailures";
/// The dimension on `AUTH_FAILURES` that holds the error code.
pub const DIMENSION_REASON: &str = "Reason";
