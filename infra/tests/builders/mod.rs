//! Small templates the validation tests break on purpose.

#![allow(dead_code)]

use infra::cfn::Resource;
use infra::cfn::policy::{PolicyDocument, Principal, Statement};
use infra::cfn::resources::{iam, logs};

/// A raw CloudWatch alarm, for shapes the typed model would not build.
#[derive(serde::Serialize)]
pub struct RawAlarm(pub serde_json::Value);
impl Resource for RawAlarm {
    const TYPE: &'static str = "AWS::CloudWatch::Alarm";
    const ATTRIBUTES: &'static [&'static str] = &["Arn"];
}

/// A sound alarm on Lambda errors with `patch` applied (`null` removes a property).
pub fn alarm_properties(patch: &serde_json::Value) -> serde_json::Value {
    let mut props = serde_json::json!({
        "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 5, "DatapointsToAlarm": 3, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"
    });
    for (k, v) in patch.as_object().into_iter().flatten() {
        if v.is_null() {
            props.as_object_mut().map(|p| p.remove(k));
        } else {
            props[k] = v.clone();
        }
    }
    props
}

pub fn log_group(name: &str, days: u32) -> logs::LogGroup {
    logs::LogGroup { log_group_name: name.into(), retention_in_days: days, kms_key_id: None }
}

/// A Lambda role with one inline policy of `statements`.
pub fn role(statements: Vec<Statement>) -> iam::Role {
    iam::Role {
        role_name: None,
        path: None,
        assume_role_policy_document: PolicyDocument::new(vec![
            Statement::allow(&["sts:AssumeRole"], vec![]).principal(Principal::service("lambda.amazonaws.com")),
        ]),
        description: None,
        managed_policy_arns: vec![],
        policies: vec![iam::InlinePolicy { policy_name: "p".into(), policy_document: PolicyDocument::new(statements) }],
        permissions_boundary: None,
    }
}
