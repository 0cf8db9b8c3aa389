//! AWS WAF (v2).

use serde::Serialize;

use super::Empty;
use crate::cfn::{Value, resource};

/// `AWS::WAFv2::WebACL`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WebAcl {
    pub name: String,
    pub description: String,
    pub scope: &'static str,
    pub default_action: Action,
    pub rules: Vec<Rule>,
    pub visibility_config: VisibilityConfig,
}
resource!(WebAcl, "AWS::WAFv2::WebACL" { arn => "Arn", web_acl_id => "Id" });

#[derive(Clone, Debug, Serialize)]
pub enum Action {
    Allow(Empty),
    Block(Empty),
    Count(Empty),
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub name: String,
    pub priority: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Required instead of `Action` for rule group references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_action: Option<OverrideAction>,
    pub statement: Statement,
    pub visibility_config: VisibilityConfig,
}

#[derive(Clone, Debug, Serialize)]
pub enum OverrideAction {
    None(Empty),
    Count(Empty),
}

#[derive(Clone, Debug, Serialize)]
pub enum Statement {
    RateBasedStatement(RateBased),
    ManagedRuleGroupStatement(ManagedRuleGroup),
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateBased {
    pub limit: u32,
    pub aggregate_key_type: &'static str,
    pub evaluation_window_sec: u32,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedRuleGroup {
    pub vendor_name: &'static str,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VisibilityConfig {
    pub cloud_watch_metrics_enabled: bool,
    pub metric_name: String,
    pub sampled_requests_enabled: bool,
}

/// `AWS::WAFv2::WebACLAssociation`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WebAclAssociation {
    pub resource_arn: Value<String>,
    #[serde(rename = "WebACLArn")]
    pub web_acl_arn: Value<String>,
}
resource!(WebAclAssociation, "AWS::WAFv2::WebACLAssociation" {});
