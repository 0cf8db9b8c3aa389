//! Which resource types the stacks give a name of their own, where that name must be unique, and
//! where it is written. One row per type: the retention rule (LIFE001), the replacement check
//! (a named resource is never replaced under its own name) and the account-wide uniqueness rule
//! (ACCT004) read this table.
//!
//! Sources: the CloudFormation resource reference page of each type (the name property, and
//! "Update requires: Replacement" for it), and each service's API reference for the scope in
//! which names are unique.

/// Where a name must be unique.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameScope {
    /// Across every account of the partition (S3 bucket names).
    Partition,
    /// Within the account, in every region (IAM, CloudWatch dashboards, AWS Budgets).
    Account,
    /// Within the account and region.
    Region,
    /// Within the parent resource (a stage in its API, an alias in its function).
    Parent,
}

/// A resource type whose name the template may set.
#[derive(Clone, Copy, Debug)]
pub struct NamedType {
    /// The CloudFormation type, `AWS::Lambda::Function`.
    pub r#type: &'static str,
    /// The JSON pointer of the name under `Properties` (`/FunctionName`, `/Budget/BudgetName`).
    pub name_pointer: &'static str,
    /// Where the name must be unique.
    pub scope: NameScope,
}

const fn named(r#type: &'static str, name_pointer: &'static str, scope: NameScope) -> NamedType {
    NamedType { r#type, name_pointer, scope }
}

/// Every named type the stacks use. `AWS::ApiGateway::RestApi`'s `Name` is not here: API names
/// need not be unique and a new API may take the old one's name.
pub const NAMED_TYPES: &[NamedType] = &[
    // AWS Budgets: "budget names must be unique within an account" (Budgets API, CreateBudget).
    named("AWS::Budgets::Budget", "/Budget/BudgetName", NameScope::Account),
    // CloudWatch: dashboards belong to the account, not a region (PutDashboard).
    named("AWS::CloudWatch::Dashboard", "/DashboardName", NameScope::Account),
    named("AWS::CloudWatch::Alarm", "/AlarmName", NameScope::Region),
    // IAM names are unique within the account, in every region (IAM User Guide, "IAM identifiers").
    named("AWS::IAM::Role", "/RoleName", NameScope::Account),
    named("AWS::IAM::ManagedPolicy", "/ManagedPolicyName", NameScope::Account),
    named("AWS::S3::Bucket", "/BucketName", NameScope::Partition),
    named("AWS::Lambda::Function", "/FunctionName", NameScope::Region),
    named("AWS::Lambda::Alias", "/Name", NameScope::Parent),
    named("AWS::Logs::LogGroup", "/LogGroupName", NameScope::Region),
    named("AWS::SecretsManager::Secret", "/Name", NameScope::Region),
    named("AWS::SNS::Topic", "/TopicName", NameScope::Region),
    named("AWS::KMS::Alias", "/AliasName", NameScope::Region),
    named("AWS::CodeDeploy::Application", "/ApplicationName", NameScope::Region),
    named("AWS::CodeDeploy::DeploymentGroup", "/DeploymentGroupName", NameScope::Parent),
    named("AWS::ApiGateway::Stage", "/StageName", NameScope::Parent),
    named("AWS::ApiGateway::DomainName", "/DomainName", NameScope::Region),
    named("AWS::WAFv2::WebACL", "/Name", NameScope::Region),
];

/// The row of `ty`, when the type is named.
pub fn named_type(ty: &str) -> Option<&'static NamedType> {
    NAMED_TYPES.iter().find(|n| n.r#type == ty)
}

/// The name a resource (`{"Type": .., "Properties": ..}` as JSON) sets for itself, when it sets
/// one literally. A name CloudFormation computes (`Fn::Sub`...) is returned as its JSON text.
pub fn fixed_name(resource: &serde_json::Value) -> Option<(&'static NamedType, String)> {
    fixed_name_in(resource.get("Type")?.as_str()?, resource.get("Properties")?)
}

/// [`fixed_name`] of a resource of type `r#type` with these `Properties`, as a template's
/// resource entry holds them.
pub fn fixed_name_in(r#type: &str, properties: &serde_json::Value) -> Option<(&'static NamedType, String)> {
    let ty = named_type(r#type)?;
    let value = properties.pointer(ty.name_pointer)?;
    Some((ty, value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
}

/// `<base>-<8 hex digits>`: a name that changes whenever `create_only` (the resource's
/// create-only properties other than its name, serialized) changes, so a change that makes
/// CloudFormation replace the resource also gives the new one a new name. FNV-1a, stable
/// across runs and platforms.
pub fn name_with_digest(base: &str, create_only: &impl serde::Serialize) -> String {
    let text = serde_json::to_string(create_only).unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{base}-{h:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_follows_the_value() {
        let a = name_with_digest("x-monthly", &serde_json::json!([{"Address": "a@example.com"}]));
        let b = name_with_digest("x-monthly", &serde_json::json!([{"Address": "b@example.com"}]));
        assert_ne!(a, b);
        assert_eq!(a, name_with_digest("x-monthly", &serde_json::json!([{"Address": "a@example.com"}])));
        assert_eq!(a.len(), "x-monthly-".len() + 8);
    }

    #[test]
    fn every_row_is_a_distinct_type_with_a_pointer() {
        let mut seen = std::collections::BTreeSet::new();
        for n in NAMED_TYPES {
            assert!(seen.insert(n.r#type), "{} twice", n.r#type);
            assert!(n.name_pointer.starts_with('/'), "{}", n.r#type);
        }
    }

    #[test]
    fn fixed_name_reads_nested_and_literal_names() {
        let b =
            serde_json::json!({"Type": "AWS::Budgets::Budget", "Properties": {"Budget": {"BudgetName": "x-monthly"}}});
        assert_eq!(fixed_name(&b).map(|(_, n)| n), Some("x-monthly".into()));
        let api = serde_json::json!({"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "x"}});
        assert!(fixed_name(&api).is_none());
        let unnamed = serde_json::json!({"Type": "AWS::SNS::Topic", "Properties": {}});
        assert!(fixed_name(&unnamed).is_none());
    }
}
