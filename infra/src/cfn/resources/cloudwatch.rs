//! Amazon CloudWatch alarms and dashboards.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::CloudWatch::Alarm`: either one metric (`metric`) or metric math (`metrics`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    pub alarm_description: String,
    pub actions_enabled: bool,
    pub alarm_actions: Vec<Value<String>>,
    #[serde(rename = "OKActions")]
    pub ok_actions: Vec<Value<String>>,
    pub comparison_operator: &'static str,
    pub threshold: f64,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub treat_missing_data: &'static str,
    #[serde(flatten)]
    pub metric: AlarmMetric,
}
resource!(Alarm, "AWS::CloudWatch::Alarm" { arn => "Arn" });

/// What an alarm watches.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum AlarmMetric {
    Single(SingleMetric),
    Math {
        #[serde(rename = "Metrics")]
        metrics: Vec<MetricDataQuery>,
    },
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SingleMetric {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
    pub period: u32,
    /// `Sum`, `Maximum`, … (absent when `extended_statistic` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<&'static str>,
    /// A percentile such as `p95`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQuery {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    pub return_data: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    pub metric: Metric,
    pub period: u32,
    pub stat: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
}

/// `AWS::CloudWatch::Dashboard`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dashboard {
    pub dashboard_name: String,
    pub dashboard_body: Value<String>,
}
resource!(Dashboard, "AWS::CloudWatch::Dashboard" {});
