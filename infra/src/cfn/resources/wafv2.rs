//! AWS WAF (v2).

use serde::Serialize;

use super::Empty;
use crate::cfn::{Value, resource};

/// `AWS::WAFv2::WebACL`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WebAcl {
    /// `Name`: 1 to 128 letters, digits, `-` and `_`; a change replaces the web ACL.
    pub name: String,
    /// `Description`: 1 to 256 characters.
    pub description: String,
    /// `Scope`: `REGIONAL` (API Gateway, Application Load Balancer, ...) or `CLOUDFRONT` (created
    /// in `us-east-1` only).
    pub scope: &'static str,
    /// `DefaultAction`: what happens to requests no rule matches: `Allow` or `Block`.
    pub default_action: Action,
    /// `Rules`: evaluated in order of `Priority`.
    pub rules: Vec<Rule>,
    /// `VisibilityConfig`: CloudWatch metrics and request sampling for the web ACL.
    pub visibility_config: VisibilityConfig,
}
resource!(WebAcl, "AWS::WAFv2::WebACL" { arn => "Arn", web_acl_id => "Id" });

/// A rule's `Action`, or a web ACL's `DefaultAction`.
#[derive(Clone, Debug, Serialize)]
pub enum Action {
    /// `{"Allow": {}}`: let the request through.
    Allow(Empty),
    /// `{"Block": {}}`: refuse the request (403 by default).
    Block(Empty),
    /// `{"Count": {}}`: count the match and go on to the next rule.
    Count(Empty),
}

/// `Rule`: one rule of a web ACL.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// `Name`: unique within the web ACL; 1 to 128 characters.
    pub name: String,
    /// `Priority`: the order of evaluation, lowest first; unique within the web ACL.
    pub priority: u32,
    /// `Action`: what to do with matching requests, for rules with a statement of their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Required instead of `Action` for rule group references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_action: Option<OverrideAction>,
    /// `Statement`: what the rule matches.
    pub statement: Statement,
    /// `VisibilityConfig`: CloudWatch metrics and request sampling for the rule.
    pub visibility_config: VisibilityConfig,
}

/// `OverrideAction`: what a rule that references a rule group does with the group's actions.
#[derive(Clone, Debug, Serialize)]
pub enum OverrideAction {
    /// `{"None": {}}`: keeps the rule group's own actions.
    None(Empty),
    /// `{"Count": {}}`: only counts matches, overriding the group's actions.
    Count(Empty),
}

/// `Statement`: what a rule matches.
#[derive(Clone, Debug, Serialize)]
pub enum Statement {
    /// `RateBasedStatement`: requests beyond a rate.
    RateBasedStatement(RateBased),
    /// `ManagedRuleGroupStatement`: the rules of a managed rule group.
    ManagedRuleGroupStatement(ManagedRuleGroup),
}

/// `RateBasedStatement`: counts requests per aggregation key and matches those beyond a limit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateBased {
    /// `Limit`: requests allowed per key within the evaluation window; 10 to 2,000,000,000.
    pub limit: u32,
    /// `AggregateKeyType`: what requests are counted by: `IP`, `FORWARDED_IP`, `CONSTANT` or
    /// `CUSTOM_KEYS`.
    pub aggregate_key_type: &'static str,
    /// `EvaluationWindowSec`: how far back requests are counted, in seconds: 60, 120, 300 (the
    /// default) or 600.
    pub evaluation_window_sec: u32,
}

/// `ManagedRuleGroupStatement`: a rule group a vendor maintains.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedRuleGroup {
    /// `VendorName`: the group's vendor, such as `AWS`.
    pub vendor_name: &'static str,
    /// `Name`: the group's name, such as `AWSManagedRulesCommonRuleSet`.
    pub name: String,
}

/// `VisibilityConfig`: CloudWatch metrics and request sampling for a web ACL or rule.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VisibilityConfig {
    /// `CloudWatchMetricsEnabled`: whether WAF sends metrics to CloudWatch.
    pub cloud_watch_metrics_enabled: bool,
    /// `MetricName`: 1 to 128 letters, digits, `-` and `_`; not `All` or `Default_Action`.
    pub metric_name: String,
    /// `SampledRequestsEnabled`: whether WAF keeps a sample of the matching requests.
    pub sampled_requests_enabled: bool,
}

/// `AWS::WAFv2::WebACLAssociation`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WebAclAssociation {
    /// `ResourceArn`: the ARN of the resource to protect, such as an API Gateway stage
    /// (`arn:aws:apigateway:{region}::/restapis/{id}/stages/{stage}`).
    pub resource_arn: Value<String>,
    /// `WebACLArn`: the ARN of the web ACL.
    #[serde(rename = "WebACLArn")]
    pub web_acl_arn: Value<String>,
}
resource!(WebAclAssociation, "AWS::WAFv2::WebACLAssociation" {});
