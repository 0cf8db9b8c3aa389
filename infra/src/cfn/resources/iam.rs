//! AWS Identity and Access Management.

use serde::Serialize;

use crate::cfn::policy::PolicyDocument;
use crate::cfn::{Value, resource};

/// `AWS::IAM::Role`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    /// A fixed name, where other stacks must know the role's ARN before it exists (a key
    /// policy naming it); `None` lets CloudFormation name it. Up to 64 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// The role's path (`/<prefix>-<env>/`): policies scope the stacks' roles by it, since the
    /// name CloudFormation generates (stack name, logical id, suffix) is cut to IAM's 64
    /// characters and may lose the stack name (IAM User Guide, "IAM identifiers", paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub assume_role_policy_document: PolicyDocument,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Value<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
    /// The managed policy that caps what the role may do, whatever its policies say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<Value<String>>,
}
resource!(Role, "AWS::IAM::Role" { arn => "Arn", role_id => "RoleId" });

/// `AWS::IAM::ManagedPolicy`. `Ref` returns its ARN.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicy {
    pub managed_policy_name: String,
    pub description: String,
    pub policy_document: PolicyDocument,
}
resource!(ManagedPolicy, "AWS::IAM::ManagedPolicy" { policy_arn => "PolicyArn" });

/// An inline policy of a role.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

/// `AWS::IAM::OIDCProvider`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OidcProvider {
    pub url: String,
    pub client_id_list: Vec<String>,
}
resource!(OidcProvider, "AWS::IAM::OIDCProvider" { arn => "Arn" });
