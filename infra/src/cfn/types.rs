//! The registry of the CloudFormation resource types the stacks use: one row per type with what
//! the checks and the scripts need of it (its IAM service, its name property and a limit the
//! schema lacks, its ARN shape, the properties that hold IAM policies). The handler and limit
//! checks (`validate::handlers`, `validate::limits`) read it, and the scripts read it through
//! `infra list --json`.
//!
//! Adding a resource type: its struct and `resource!` line in `cfn::resources`, its row here (a
//! test holds the two lists equal), then `scripts/extract-cfn-schemas` and
//! `scripts/extract-handler-permissions` fetch its schema and handler permissions, and the
//! handler check (HANDLER001) names what the execution role in `stacks::bootstrap` lacks.

use serde::Serialize;

/// What kind of IAM policy a property holds (IAM User Guide, "Identity-based policies and
/// resource-based policies").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// A role's trust policy: who may assume it.
    Trust,
    /// An identity-based policy: what a role may do.
    Identity,
    /// A resource-based policy: who may use the resource.
    Resource,
}

/// A property that holds an IAM policy document: its path (`Policies[*].PolicyDocument`, where
/// `[*]` walks a list) and kind.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PolicyProperty {
    /// Dotted path under `Properties`; `[*]` is every item of a list.
    pub path: &'static str,
    /// What the policy governs.
    pub kind: PolicyKind,
}

/// One resource type the stacks use.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ResourceType {
    /// The CloudFormation type name (`AWS::Lambda::Function`).
    #[serde(rename = "type")]
    pub name: &'static str,
    /// The property that sets the physical name, when the type has one.
    pub name_property: Option<&'static str>,
    /// The longest name the service's API accepts, where the type's registry schema sets no
    /// `maxLength` (the schema's own limits are checked by SCHEMA001). The source is on the row.
    pub name_limit: Option<usize>,
    /// The resource's ARN in the `Fn::Sub` form policies write (`${AWS::Partition}`, ...), with
    /// `<Property>` for a property's value, `<stack>` and `<id>` for CloudFormation's generated
    /// name (`<stack>-<id>-<suffix>`); `None` where no IAM statement names it.
    pub arn: Option<&'static str>,
    /// The properties holding IAM policy documents.
    pub policies: &'static [PolicyProperty],
    /// A resource-based permission that is not a policy document (`AWS::Lambda::Permission`).
    pub permission: bool,
}

impl ResourceType {
    /// The IAM service prefix of the type's actions: its middle segment in lower case
    /// (`AWS::SecretsManager::Secret` → `secretsmanager`).
    pub fn service(&self) -> String {
        self.name.split("::").nth(1).unwrap_or_default().to_ascii_lowercase()
    }
}

const fn row(name: &'static str, name_property: Option<&'static str>) -> ResourceType {
    ResourceType { name, name_property, name_limit: None, arn: None, policies: &[], permission: false }
}

const RESOURCE: PolicyKind = PolicyKind::Resource;

/// Every resource type the stacks use, sorted by name.
pub const TYPES: &[ResourceType] = &[
    row("AWS::ApiGateway::Account", None),
    row("AWS::ApiGateway::BasePathMapping", None),
    row("AWS::ApiGateway::Deployment", None),
    row("AWS::ApiGateway::DomainName", Some("DomainName")),
    row("AWS::ApiGateway::GatewayResponse", None),
    row("AWS::ApiGateway::Method", None),
    row("AWS::ApiGateway::Resource", None),
    // API Gateway `CreateRestApi`: name up to 1024 characters.
    ResourceType {
        name_limit: Some(1024),
        policies: &[PolicyProperty { path: "Policy", kind: RESOURCE }],
        ..row("AWS::ApiGateway::RestApi", Some("Name"))
    },
    // API Gateway `CreateStage`: stage names up to 128 characters.
    ResourceType { name_limit: Some(128), ..row("AWS::ApiGateway::Stage", Some("StageName")) },
    row("AWS::Budgets::Budget", None),
    ResourceType {
        arn: Some("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:<AlarmName>"),
        ..row("AWS::CloudWatch::Alarm", Some("AlarmName"))
    },
    // CloudWatch `PutDashboard`: dashboard names up to 255 characters.
    ResourceType {
        name_limit: Some(255),
        arn: Some("arn:${AWS::Partition}:cloudwatch::${AWS::AccountId}:dashboard/<DashboardName>"),
        ..row("AWS::CloudWatch::Dashboard", Some("DashboardName"))
    },
    row("AWS::CodeDeploy::Application", Some("ApplicationName")),
    row("AWS::CodeDeploy::DeploymentGroup", Some("DeploymentGroupName")),
    ResourceType {
        policies: &[PolicyProperty { path: "PolicyDocument", kind: PolicyKind::Identity }],
        ..row("AWS::IAM::ManagedPolicy", Some("ManagedPolicyName"))
    },
    row("AWS::IAM::OIDCProvider", None),
    ResourceType {
        arn: Some("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/<stack>-<id>-AbCdEf123456"),
        policies: &[
            PolicyProperty { path: "AssumeRolePolicyDocument", kind: PolicyKind::Trust },
            PolicyProperty { path: "Policies[*].PolicyDocument", kind: PolicyKind::Identity },
        ],
        ..row("AWS::IAM::Role", Some("RoleName"))
    },
    // KMS `CreateAlias`: up to 256 characters (also in the schema; checked here for NAME002's
    // prefix rule).
    ResourceType {
        name_limit: Some(256),
        arn: Some("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:<AliasName>"),
        ..row("AWS::KMS::Alias", Some("AliasName"))
    },
    ResourceType { policies: &[PolicyProperty { path: "KeyPolicy", kind: RESOURCE }], ..row("AWS::KMS::Key", None) },
    row("AWS::Lambda::Alias", Some("Name")),
    ResourceType {
        arn: Some("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:<FunctionName>"),
        ..row("AWS::Lambda::Function", Some("FunctionName"))
    },
    ResourceType { permission: true, ..row("AWS::Lambda::Permission", None) },
    row("AWS::Lambda::Version", None),
    ResourceType {
        arn: Some("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:<LogGroupName>"),
        ..row("AWS::Logs::LogGroup", Some("LogGroupName"))
    },
    row("AWS::S3::Bucket", Some("BucketName")),
    ResourceType {
        policies: &[PolicyProperty { path: "PolicyDocument", kind: RESOURCE }],
        ..row("AWS::S3::BucketPolicy", None)
    },
    row("AWS::SNS::Subscription", None),
    ResourceType {
        arn: Some("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:<TopicName>"),
        policies: &[PolicyProperty { path: "TopicPolicy", kind: RESOURCE }],
        ..row("AWS::SNS::Topic", Some("TopicName"))
    },
    ResourceType {
        policies: &[PolicyProperty { path: "PolicyDocument", kind: RESOURCE }],
        ..row("AWS::SNS::TopicPolicy", None)
    },
    ResourceType {
        arn: Some("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:<Name>-AbCdEf"),
        ..row("AWS::SecretsManager::Secret", Some("Name"))
    },
    row("AWS::WAFv2::WebACL", Some("Name")),
    row("AWS::WAFv2::WebACLAssociation", None),
];

/// The row of CloudFormation type `name`, when the stacks use it.
pub fn find(name: &str) -> Option<&'static ResourceType> {
    TYPES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry and the typed resources of `cfn::resources` name the same types, once each,
    /// sorted.
    #[test]
    fn every_typed_resource_has_one_row() {
        let sources = [
            include_str!("resources/apigateway.rs"),
            include_str!("resources/budgets.rs"),
            include_str!("resources/cloudwatch.rs"),
            include_str!("resources/codedeploy.rs"),
            include_str!("resources/iam.rs"),
            include_str!("resources/kms.rs"),
            include_str!("resources/lambda.rs"),
            include_str!("resources/logs.rs"),
            include_str!("resources/s3.rs"),
            include_str!("resources/secretsmanager.rs"),
            include_str!("resources/sns.rs"),
            include_str!("resources/wafv2.rs"),
        ];
        let modules = include_str!("resources/mod.rs").matches("\npub mod ").count();
        assert_eq!(modules, sources.len(), "a module of cfn::resources is missing from this test");
        let mut declared: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.split("resource!(").skip(1))
            .filter_map(|rest| rest.split('"').nth(1))
            .collect();
        declared.sort_unstable();
        let listed: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
        assert_eq!(listed, declared);
    }

    #[test]
    fn services_are_the_middle_segment() {
        let got: Vec<String> = ["AWS::SecretsManager::Secret", "AWS::WAFv2::WebACL", "AWS::IAM::Role"]
            .iter()
            .map(|n| find(n).unwrap().service())
            .collect();
        assert_eq!(got, ["secretsmanager", "wafv2", "iam"]);
    }
}
