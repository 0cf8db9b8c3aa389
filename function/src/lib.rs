//! The token function. `telemetry` names the metrics it emits, for `infra`'s alarms and dashboards.

pub mod telemetry;
