//! Amazon API Gateway (REST APIs).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cfn::{Value, resource};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfiguration {
    pub types: Vec<&'static str>,
}

impl EndpointConfiguration {
    pub fn regional() -> Self {
        EndpointConfiguration { types: vec!["REGIONAL"] }
    }
}

/// `AWS::ApiGateway::RestApi`. `Ref` returns the API id.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestApi {
    pub name: String,
    pub description: String,
    pub endpoint_configuration: EndpointConfiguration,
    pub disable_execute_api_endpoint: bool,
}
resource!(RestApi, "AWS::ApiGateway::RestApi" { root_resource_id => "RootResourceId", rest_api_id => "RestApiId" });

/// `AWS::ApiGateway::Resource`: one path segment. `Ref` returns the resource id.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiResource {
    pub rest_api_id: Value<String>,
    pub parent_id: Value<String>,
    pub path_part: String,
}
resource!(ApiResource, "AWS::ApiGateway::Resource" { resource_id => "ResourceId" });

/// `AWS::ApiGateway::Method`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Method {
    pub rest_api_id: Value<String>,
    pub resource_id: Value<String>,
    pub http_method: &'static str,
    pub authorization_type: &'static str,
    pub operation_name: String,
    pub integration: Integration,
}
resource!(Method, "AWS::ApiGateway::Method" {});

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Integration {
    pub r#type: &'static str,
    pub integration_http_method: &'static str,
    pub uri: Value<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_millis: Option<u32>,
}

/// `AWS::ApiGateway::GatewayResponse`: what API Gateway itself answers for one response type
/// (API Gateway developer guide, "Gateway response types"). Takes effect with the next
/// deployment of the API.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GatewayResponse {
    pub rest_api_id: Value<String>,
    /// `DEFAULT_4XX`, `MISSING_AUTHENTICATION_TOKEN`, `THROTTLED`, ...
    pub response_type: &'static str,
    /// The HTTP status, as a string; `None` keeps the response type's own status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    /// `gatewayresponse.header.<Name>` → a quoted static value (`'application/json'`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, String>,
    /// Content type → body.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub response_templates: BTreeMap<String, String>,
}
resource!(GatewayResponse, "AWS::ApiGateway::GatewayResponse" {});

/// `AWS::ApiGateway::Deployment`. `Ref` returns the deployment id.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    pub rest_api_id: Value<String>,
    pub description: String,
}
resource!(Deployment, "AWS::ApiGateway::Deployment" { deployment_id => "DeploymentId" });

/// `AWS::ApiGateway::Stage`. `Ref` returns the stage name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stage {
    pub rest_api_id: Value<String>,
    pub deployment_id: Value<String>,
    pub stage_name: String,
    pub description: String,
    pub tracing_enabled: bool,
    pub method_settings: Vec<MethodSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log_setting: Option<AccessLogSetting>,
}
resource!(Stage, "AWS::ApiGateway::Stage" {});

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MethodSetting {
    pub resource_path: &'static str,
    pub http_method: &'static str,
    pub throttling_rate_limit: f64,
    pub throttling_burst_limit: u32,
    pub metrics_enabled: bool,
    pub data_trace_enabled: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessLogSetting {
    pub destination_arn: Value<String>,
    pub format: String,
}

/// `AWS::ApiGateway::Account`: the account-wide role API Gateway uses to write logs.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    pub cloud_watch_role_arn: Value<String>,
}
resource!(Account, "AWS::ApiGateway::Account" { account_id => "Id" });

/// `AWS::ApiGateway::DomainName`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainName {
    pub domain_name: String,
    pub regional_certificate_arn: String,
    pub endpoint_configuration: EndpointConfiguration,
    pub security_policy: &'static str,
}
resource!(DomainName, "AWS::ApiGateway::DomainName" {
    regional_domain_name => "RegionalDomainName",
    regional_hosted_zone_id => "RegionalHostedZoneId",
    distribution_domain_name => "DistributionDomainName",
});

/// `AWS::ApiGateway::BasePathMapping`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BasePathMapping {
    pub domain_name: Value<String>,
    pub rest_api_id: Value<String>,
    pub stage: Value<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
}
resource!(BasePathMapping, "AWS::ApiGateway::BasePathMapping" {});
