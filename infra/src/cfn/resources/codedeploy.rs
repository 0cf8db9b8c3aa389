//! AWS CodeDeploy, for gradual Lambda deployments.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::CodeDeploy::Application`. `Ref` returns its name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    /// `ApplicationName`: up to 100 characters.
    pub application_name: String,
    /// `ComputePlatform`: `Lambda`, `Server` or `ECS`.
    pub compute_platform: &'static str,
}
resource!(Application, "AWS::CodeDeploy::Application" {});

/// `AWS::CodeDeploy::DeploymentGroup`. `Ref` returns its name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentGroup {
    /// `ApplicationName`: the name of the CodeDeploy application.
    pub application_name: Value<String>,
    /// `DeploymentGroupName`: up to 100 characters.
    pub deployment_group_name: String,
    /// `ServiceRoleArn`: the ARN of the role CodeDeploy assumes to act on the deployment's targets.
    pub service_role_arn: Value<String>,
    /// `DeploymentConfigName`: how traffic shifts, such as
    /// `CodeDeployDefault.LambdaCanary10Percent5Minutes` or `CodeDeployDefault.LambdaAllAtOnce`.
    pub deployment_config_name: String,
    /// `DeploymentStyle`: `DeploymentType` (`IN_PLACE` or `BLUE_GREEN`) and `DeploymentOption`
    /// (`WITH_TRAFFIC_CONTROL` or not); Lambda takes `BLUE_GREEN` with traffic control.
    pub deployment_style: serde_json::Value,
    /// `AutoRollbackConfiguration`: `Enabled`, and the `Events` that roll back:
    /// `DEPLOYMENT_FAILURE`, `DEPLOYMENT_STOP_ON_ALARM` or `DEPLOYMENT_STOP_ON_REQUEST`.
    pub auto_rollback_configuration: serde_json::Value,
    /// `AlarmConfiguration`: the CloudWatch alarms that stop a deployment.
    pub alarm_configuration: AlarmConfiguration,
}
resource!(DeploymentGroup, "AWS::CodeDeploy::DeploymentGroup" {});

/// `AlarmConfiguration`: the CloudWatch alarms that stop a deployment group's deployments.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmConfiguration {
    /// `Enabled`: whether the alarms are watched.
    pub enabled: bool,
    /// `Alarms`: the alarms; at most 10.
    pub alarms: Vec<AlarmName>,
}

/// `Alarm`: one CloudWatch alarm, by name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmName {
    /// `Name`: the alarm's name.
    pub name: String,
}
