//! IAM policy documents as typed values.

use serde::Serialize;

use super::Value;

/// An IAM policy document: the policy language version and the statements.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// `Version`: the policy language version; [`PolicyDocument::new`] sets `2012-10-17`.
    pub version: &'static str,
    /// `Statement`: the statements, each allowing or denying actions.
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    /// A document in the current policy language (`2012-10-17`) with these statements.
    pub fn new(statement: Vec<Statement>) -> Self {
        PolicyDocument { version: "2012-10-17", statement }
    }
}

/// `Effect`: whether a statement allows or denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// `Allow`: grants the actions.
    Allow,
    /// `Deny`: refuses the actions, whatever any other statement allows.
    Deny,
}

/// `Principal`: a service, an AWS account or role, or `*`.
#[derive(Clone, Debug, Serialize)]
pub enum Principal {
    /// `{"Service": [...]}`: AWS services, such as `lambda.amazonaws.com`.
    Service(Vec<String>),
    /// `{"AWS": ...}`: an account, role or user, by ARN, or `*`.
    #[serde(rename = "AWS")]
    Aws(Value<String>),
    /// A web identity provider (an OIDC provider's ARN).
    Federated(Value<String>),
    /// A bare `"*"`: anyone.
    #[serde(untagged)]
    Any(&'static str),
}

impl Principal {
    /// One AWS service, such as `apigateway.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        Principal::Service(vec![name.to_owned()])
    }
    /// `"*"`
    pub fn anyone() -> Self {
        Principal::Any("*")
    }
}

/// One statement of a policy document.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// `Sid`: an optional statement id, unique within the document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Effect`: whether the statement allows or denies.
    pub effect: Effect,
    /// `Principal`: who the statement applies to; only in resource-based policies (trust, key,
    /// bucket and topic policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// `Action`: the actions, such as `kms:Decrypt`; `*` wildcards are allowed.
    pub action: Vec<String>,
    /// `Resource`: the ARNs the actions apply to, or `*`; omitted when empty, as in trust policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Value<String>>,
    /// `Condition`: operator → condition key → value(s), as IAM writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
}

/// What CloudFormation does with a key once it exists: the `AWS::KMS::Key` handlers' create
/// (after `CreateKey`), read, update and delete permissions, and the key's side of the alias
/// handlers (`infra/data/cfn-handler-permissions.json`).
pub const KEY_ADMINISTRATION: [&str; 17] = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:UpdateKeyDescription",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:GetKeyRotationStatus",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ListResourceTags",
    "kms:GetPublicKey",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
];

impl Statement {
    /// Allow `actions` on `resources`.
    pub fn allow(actions: &[&str], resources: Vec<Value<String>>) -> Self {
        Statement {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            action: actions.iter().map(|a| (*a).to_owned()).collect(),
            resource: resources,
            condition: None,
        }
    }
    /// Deny `actions` on `resources`.
    pub fn deny(actions: &[&str], resources: Vec<Value<String>>) -> Self {
        Statement { effect: Effect::Deny, ..Self::allow(actions, resources) }
    }
    /// The statement every key policy starts with: the account administers the key, through
    /// IAM policies.
    pub fn account_administers_key() -> Self {
        Statement::allow(&["kms:*"], vec!["*".into()])
            .sid("AccountAdministersKeyThroughIam")
            .principal(Principal::Aws(Value::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")))
    }
    /// The key policy statement that lets CloudFormation's execution role (`role`, an ARN)
    /// administer the key: what the `AWS::KMS::Key` and `AWS::KMS::Alias` handlers call after
    /// the key exists ([`KEY_ADMINISTRATION`]). A key policy takes effect with the key, where a
    /// tag condition in an IAM policy may take up to five minutes to (AWS KMS developer guide,
    /// "ABAC for AWS KMS").
    ///
    /// The role is named by a condition on `aws:PrincipalArn`, not as the principal: KMS turns a
    /// role principal into the role's unique id, so a role deleted and made again under the same
    /// name would no longer match, and every later update of the key would be denied (IAM User
    /// Guide, "IAM identifiers", unique identifiers).
    pub fn key_administered_by(role: Value<String>) -> Self {
        Statement::allow(&KEY_ADMINISTRATION, vec!["*".into()])
            .sid("CloudFormationAdministersKey")
            .principal(Principal::Aws(Value::Lit("*".into())))
            .condition(serde_json::json!({
                "ArnEquals": {"aws:PrincipalArn": role},
                "StringEquals": {"kms:CallerAccount": {"Ref": "AWS::AccountId"}},
            }))
    }
    /// Sets the statement id (`Sid`).
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_owned());
        self
    }
    /// Sets the `Principal`.
    pub fn principal(mut self, p: Principal) -> Self {
        self.principal = Some(p);
        self
    }
    /// Sets the `Condition` block.
    pub fn condition(mut self, c: serde_json::Value) -> Self {
        self.condition = Some(c);
        self
    }
}
