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
    /// `AssumeRolePolicyDocument`: the trust policy, naming who may assume the role.
    pub assume_role_policy_document: PolicyDocument,
    /// `Description`: up to 1,000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `ManagedPolicyArns`: ARNs of the managed policies attached to the role.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Value<String>>,
    /// `Policies`: the role's inline policies.
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
    /// `ManagedPolicyName`: up to 128 characters; a change replaces the policy.
    pub managed_policy_name: String,
    /// `Description`: up to 1,000 characters; a change replaces the policy.
    pub description: String,
    /// `PolicyDocument`: the policy's statements.
    pub policy_document: PolicyDocument,
}
resource!(ManagedPolicy, "AWS::IAM::ManagedPolicy" { policy_arn => "PolicyArn" });

/// An inline policy of a role.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    /// `PolicyName`: unique among the role's inline policies; up to 128 characters.
    pub policy_name: String,
    /// `PolicyDocument`: the policy's statements.
    pub policy_document: PolicyDocument,
}

/// `AWS::IAM::OIDCProvider`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OidcProvider {
    /// `Url`: the provider's issuer URL, starting with `https://`; up to 255 characters.
    pub url: String,
    /// `ClientIdList`: the audiences (client ids) tokens must name, such as `sts.amazonaws.com`.
    pub client_id_list: Vec<String>,
}
resource!(OidcProvider, "AWS::IAM::OIDCProvider" { arn => "Arn" });
