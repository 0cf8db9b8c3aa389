//! AWS CodeDeploy, for gradual Lambda deployments.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::CodeDeploy::Application`. `Ref` returns its name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    pub application_name: String,
    pub compute_platform: &'static str,
}
resource!(Application, "AWS::CodeDeploy::Application" {});

/// `AWS::CodeDeploy::DeploymentGroup`. `Ref` returns its name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentGroup {
    pub application_name: Value<String>,
    pub deployment_group_name: String,
    pub service_role_arn: Value<String>,
    pub deployment_config_name: String,
    pub deployment_style: serde_json::Value,
    pub auto_rollback_configuration: serde_json::Value,
    pub alarm_configuration: AlarmConfiguration,
}
resource!(DeploymentGroup, "AWS::CodeDeploy::DeploymentGroup" {});

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmConfiguration {
    pub enabled: bool,
    pub alarms: Vec<AlarmName>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmName {
    pub name: String,
}
