//! Amazon API Gateway (REST APIs).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `EndpointConfiguration`: the endpoint type of a REST API or custom domain name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfiguration {
    /// `Types`: one of `EDGE`, `REGIONAL` or `PRIVATE`.
    pub types: Vec<&'static str>,
}

impl EndpointConfiguration {
    /// A regional endpoint (`REGIONAL`), served in the API's own region.
    pub fn regional() -> Self {
        EndpointConfiguration { types: vec!["REGIONAL"] }
    }
}

/// `AWS::ApiGateway::RestApi`. `Ref` returns the API id.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestApi {
    /// `Name`: the API's name.
    pub name: String,
    /// `Description`: a description of the API.
    pub description: String,
    /// `EndpointConfiguration`: edge-optimized, regional or private.
    pub endpoint_configuration: EndpointConfiguration,
    /// `DisableExecuteApiEndpoint`: `true` turns off the default `execute-api` endpoint, so clients
    /// can only call the API through a custom domain name.
    pub disable_execute_api_endpoint: bool,
}
resource!(RestApi, "AWS::ApiGateway::RestApi" { root_resource_id => "RootResourceId", rest_api_id => "RestApiId" });

/// `AWS::ApiGateway::Resource`: one path segment. `Ref` returns the resource id.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiResource {
    /// `RestApiId`: the id of the REST API the resource belongs to.
    pub rest_api_id: Value<String>,
    /// `ParentId`: the id of the parent resource; the API's `RootResourceId` for a top-level path.
    pub parent_id: Value<String>,
    /// `PathPart`: the last path segment, such as `token` or `{proxy+}`.
    pub path_part: String,
}
resource!(ApiResource, "AWS::ApiGateway::Resource" { resource_id => "ResourceId" });

/// `AWS::ApiGateway::Method`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Method {
    /// `RestApiId`: the id of the REST API.
    pub rest_api_id: Value<String>,
    /// `ResourceId`: the id of the resource (path) the method is on.
    pub resource_id: Value<String>,
    /// `HttpMethod`: the method clients call, such as `GET` or `POST`, or `ANY`.
    pub http_method: &'static str,
    /// `AuthorizationType`: `NONE`, `AWS_IAM`, `CUSTOM` (a Lambda authorizer) or
    /// `COGNITO_USER_POOLS`.
    pub authorization_type: &'static str,
    /// `OperationName`: a friendly name for the method, used by generated SDKs.
    pub operation_name: String,
    /// `Integration`: the backend the method calls.
    pub integration: Integration,
}
resource!(Method, "AWS::ApiGateway::Method" {});

/// `Integration`: the backend a method calls.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Integration {
    /// `Type`: `AWS`, `AWS_PROXY` (Lambda proxy integration), `HTTP`, `HTTP_PROXY` or `MOCK`.
    pub r#type: &'static str,
    /// `IntegrationHttpMethod`: the method API Gateway calls the backend with; `POST` for Lambda.
    pub integration_http_method: &'static str,
    /// `Uri`: the backend's URI; for Lambda,
    /// `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function ARN}/invocations`.
    pub uri: Value<String>,
    /// `TimeoutInMillis`: in milliseconds, 50 to 29,000; `None` keeps the default, 29,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_millis: Option<u32>,
}

/// `AWS::ApiGateway::GatewayResponse`: what API Gateway itself answers for one response type
/// (API Gateway developer guide, "Gateway response types"). Takes effect with the next
/// deployment of the API.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GatewayResponse {
    /// `RestApiId`: the id of the REST API.
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
    /// `RestApiId`: the id of the REST API to deploy.
    pub rest_api_id: Value<String>,
    /// `Description`: a description of the deployment.
    pub description: String,
}
resource!(Deployment, "AWS::ApiGateway::Deployment" { deployment_id => "DeploymentId" });

/// `AWS::ApiGateway::Stage`. `Ref` returns the stage name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stage {
    /// `RestApiId`: the id of the REST API.
    pub rest_api_id: Value<String>,
    /// `DeploymentId`: the id of the deployment the stage serves.
    pub deployment_id: Value<String>,
    /// `StageName`: the first path segment of the default endpoint's URLs; up to 128 letters,
    /// digits, `-` and `_`.
    pub stage_name: String,
    /// `Description`: a description of the stage.
    pub description: String,
    /// `TracingEnabled`: whether X-Ray traces the stage's requests.
    pub tracing_enabled: bool,
    /// `MethodSettings`: throttling, metrics and logging for all or some of the stage's methods.
    pub method_settings: Vec<MethodSetting>,
    /// `AccessLogSetting`: where and how the stage writes access logs; `None` writes none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log_setting: Option<AccessLogSetting>,
}
resource!(Stage, "AWS::ApiGateway::Stage" {});

/// `MethodSetting`: settings for one method of a stage, or for all of them.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MethodSetting {
    /// `ResourcePath`: the path with each `/` after the first written `~1` (`/~1token`); `/*`, with
    /// `HttpMethod` `*`, for every method.
    pub resource_path: &'static str,
    /// `HttpMethod`: the method, or `*` for all.
    pub http_method: &'static str,
    /// `ThrottlingRateLimit`: the steady-state rate, in requests per second.
    pub throttling_rate_limit: f64,
    /// `ThrottlingBurstLimit`: the burst allowed above the rate, in requests.
    pub throttling_burst_limit: u32,
    /// `MetricsEnabled`: whether the methods publish detailed CloudWatch metrics.
    pub metrics_enabled: bool,
    /// `DataTraceEnabled`: whether full requests and responses are written to CloudWatch Logs; it
    /// can log sensitive data, so not for production.
    pub data_trace_enabled: bool,
}

/// `AccessLogSetting`: where a stage writes its access logs, and in what format.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessLogSetting {
    /// `DestinationArn`: the ARN of a CloudWatch Logs log group, or of a Firehose stream named
    /// `amazon-apigateway-...`.
    pub destination_arn: Value<String>,
    /// `Format`: one line per request, built from `$context` variables; must include
    /// `$context.requestId` or `$context.extendedRequestId`.
    pub format: String,
}

/// `AWS::ApiGateway::Account`: the account-wide role API Gateway uses to write logs.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// `CloudWatchRoleArn`: the ARN of the IAM role API Gateway assumes to write to CloudWatch
    /// Logs, for the whole account and region.
    pub cloud_watch_role_arn: Value<String>,
}
resource!(Account, "AWS::ApiGateway::Account" { account_id => "Id" });

/// `AWS::ApiGateway::DomainName`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainName {
    /// `DomainName`: the custom domain name, such as `api.example.com`.
    pub domain_name: String,
    /// `RegionalCertificateArn`: the ARN of the ACM certificate for the name, in the API's region.
    pub regional_certificate_arn: String,
    /// `EndpointConfiguration`: the domain name's endpoint type.
    pub endpoint_configuration: EndpointConfiguration,
    /// `SecurityPolicy`: the minimum TLS version and its cipher suites, such as `TLS_1_2` (TLS 1.2
    /// and 1.3) or `TLS_1_0`.
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
    /// `DomainName`: the custom domain name to map.
    pub domain_name: Value<String>,
    /// `RestApiId`: the id of the REST API served under it.
    pub rest_api_id: Value<String>,
    /// `Stage`: the name of the stage served.
    pub stage: Value<String>,
    /// `BasePath`: the path after the domain name, without a leading `/`; `None` maps the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
}
resource!(BasePathMapping, "AWS::ApiGateway::BasePathMapping" {});
