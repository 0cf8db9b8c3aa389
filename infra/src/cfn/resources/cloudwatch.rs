//! Amazon CloudWatch alarms and dashboards.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::CloudWatch::Alarm`: either one metric (`metric`) or metric math (`metrics`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    /// `AlarmName`: unique within the account and region; up to 255 characters.
    pub alarm_name: String,
    /// `AlarmDescription`: up to 1,024 characters.
    pub alarm_description: String,
    /// `ActionsEnabled`: whether state changes run the alarm's actions.
    pub actions_enabled: bool,
    /// `AlarmActions`: ARNs of what to run on entering `ALARM`, such as SNS topics; up to 5.
    pub alarm_actions: Vec<Value<String>>,
    /// `OKActions`: ARNs of what to run on returning to `OK`; up to 5.
    #[serde(rename = "OKActions")]
    pub ok_actions: Vec<Value<String>>,
    /// `ComparisonOperator`: `GreaterThanThreshold`, `GreaterThanOrEqualToThreshold`,
    /// `LessThanThreshold` or `LessThanOrEqualToThreshold`.
    pub comparison_operator: &'static str,
    /// `Threshold`: the value the statistic is compared with.
    pub threshold: f64,
    /// `EvaluationPeriods`: how many recent periods are evaluated (N in "M out of N").
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm`: how many of them must breach for `ALARM` (M in "M out of N").
    pub datapoints_to_alarm: u32,
    /// `TreatMissingData`: `breaching`, `notBreaching`, `ignore` or `missing` (the default).
    pub treat_missing_data: &'static str,
    /// What the alarm watches; its properties are written into the alarm's own.
    #[serde(flatten)]
    pub metric: AlarmMetric,
}
resource!(Alarm, "AWS::CloudWatch::Alarm" { arn => "Arn" });

/// What an alarm watches.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum AlarmMetric {
    /// One metric: `Namespace`, `MetricName`, `Dimensions`, `Period` and a statistic.
    Single(SingleMetric),
    /// Metric math: `Metrics`, the queries the alarm evaluates.
    Math {
        /// `Metrics`: metrics and expressions over them; exactly one has `ReturnData` `true`.
        #[serde(rename = "Metrics")]
        metrics: Vec<MetricDataQuery>,
    },
}

/// One metric, and the statistic an alarm applies to it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SingleMetric {
    /// `Namespace`: the metric's namespace, such as `AWS/Lambda`.
    pub namespace: String,
    /// `MetricName`: the metric's name, such as `Errors`.
    pub metric_name: String,
    /// `Dimensions`: the dimensions that pick out the metric; up to 30.
    pub dimensions: Vec<Dimension>,
    /// `Period`: seconds per data point: a multiple of 60, or 10, 20 or 30 for high-resolution
    /// metrics.
    pub period: u32,
    /// `Sum`, `Maximum`, … (absent when `extended_statistic` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<&'static str>,
    /// A percentile such as `p95`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
}

/// `Dimension`: a name/value pair that identifies a metric.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    /// `Name`: the dimension's name, such as `FunctionName`; 1 to 255 characters.
    pub name: String,
    /// `Value`: the dimension's value; 1 to 1,024 characters.
    pub value: String,
}

/// `MetricDataQuery`: one metric, or one math expression, of a metric math alarm.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQuery {
    /// `Id`: how expressions refer to this query; unique in the alarm, starting with a lowercase
    /// letter.
    pub id: String,
    /// `Expression`: math over other queries' ids, such as `100 * errors / requests`; set this or
    /// `MetricStat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// `Label`: a human-readable name for the result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `MetricStat`: a metric to fetch; set this or `Expression`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    /// `ReturnData`: `true` for the one query whose result the alarm compares, else `false`.
    pub return_data: bool,
}

/// `MetricStat`: a metric, with the period and statistic to fetch it at.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    /// `Metric`: the metric.
    pub metric: Metric,
    /// `Period`: seconds per data point: a multiple of 60, or 10, 20 or 30 for high-resolution
    /// metrics.
    pub period: u32,
    /// `Stat`: the statistic, such as `Sum`, `Average` or a percentile like `p99`.
    pub stat: String,
}

/// `Metric`: a metric, identified by namespace, name and dimensions.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    /// `Namespace`: the metric's namespace, such as `AWS/ApiGateway`.
    pub namespace: String,
    /// `MetricName`: the metric's name, such as `Count`.
    pub metric_name: String,
    /// `Dimensions`: the dimensions that pick out the metric; up to 30.
    pub dimensions: Vec<Dimension>,
}

/// `AWS::CloudWatch::Dashboard`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dashboard {
    /// `DashboardName`: up to 255 letters, digits, `-` and `_`.
    pub dashboard_name: String,
    /// `DashboardBody`: the widgets, as a JSON string (CloudWatch API reference, "Dashboard Body
    /// Structure and Syntax").
    pub dashboard_body: Value<String>,
}
resource!(Dashboard, "AWS::CloudWatch::Dashboard" {});
