//! Identity policies name what they allow (IAM).

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype, strings};

/// IAM001.
pub const IAM001: Rule = Rule {
    id: "IAM001",
    severity: Severity::Error,
    summary: "no `\"Resource\": \"*\"` in an identity policy for actions that can be scoped to resources",
    source: "IAM User Guide, \"Security best practices in IAM\" (grant least privilege)",
};
/// IAM002.
pub const IAM002: Rule = Rule {
    id: "IAM002",
    severity: Severity::Error,
    summary: "no `*` or `service:*` actions in an identity policy",
    source: "IAM User Guide, \"Security best practices in IAM\" (grant least privilege)",
};
/// IAM003.
pub const IAM003: Rule = Rule {
    id: "IAM003",
    severity: Severity::Error,
    summary: "no `Allow` with `NotAction` / `NotResource`",
    source: "IAM User Guide, \"IAM JSON policy elements: NotAction\" and \"NotResource\"",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&IAM001, &IAM002, &IAM003];

/// Actions that support no resource-level permissions, so `"Resource": "*"` is the only form
/// (Service Authorization Reference, each service's "Actions" table).
pub(super) const NO_RESOURCE_LEVEL: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "cloudwatch:PutMetricData",
    "sts:GetCallerIdentity",
    "s3:ListAllMyBuckets",
    "logs:DescribeLogGroups",
    "kms:CreateKey",
    "lambda:GetAccountSettings",
    "kms:ListAliases",
    "logs:DescribeResourcePolicies",
    "logs:CreateLogDelivery",
    "sns:Unsubscribe",
    "sns:GetSubscriptionAttributes",
    "sns:SetSubscriptionAttributes",
    "codedeploy:StopDeployment",
    "lambda:ListFunctions",
    "cloudformation:DescribeStackDriftDetectionStatus",
];

/// Identity policy documents of a resource, with their paths.
fn identity_policies<'a>(id: &str, r: &'a Json) -> Vec<(String, &'a Json)> {
    let base = format!("$.Resources.{id}.Properties");
    match rtype(r) {
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => props(r, "Policies")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, p)| p.get("PolicyDocument").map(|d| (format!("{base}.Policies[{i}].PolicyDocument"), d)))
            .collect(),
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            props(r, "PolicyDocument").map(|d| vec![(format!("{base}.PolicyDocument"), d)]).unwrap_or_default()
        }
        _ => vec![],
    }
}

pub(super) fn iam(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json) {
        for (doc_path, doc) in identity_policies(id, r) {
            let statements = doc.get("Statement").and_then(Json::as_array).into_iter().flatten();
            for (i, st) in statements.enumerate() {
                let path = format!("{doc_path}.Statement[{i}]");
                if st.get("Effect").and_then(Json::as_str) != Some("Allow") {
                    continue;
                }
                let actions = strings(st.get("Action"));
                let resources = strings(st.get("Resource"));
                for a in &actions {
                    if a == "*" || a.ends_with(":*") {
                        cx.push(
                            &IAM002,
                            format!("{path}.Action"),
                            format!("`{a}` allows every action; list the actions the role needs"),
                        );
                    }
                }
                if st.get("NotAction").is_some() || st.get("NotResource").is_some() {
                    cx.push(
                        &IAM003,
                        &path,
                        "Allow with NotAction or NotResource grants more than it names; list actions and resources",
                    );
                }
                if resources.iter().any(|r| r == "*") {
                    let scoped: Vec<&String> =
                        actions.iter().filter(|a| !NO_RESOURCE_LEVEL.contains(&a.as_str())).collect();
                    if !scoped.is_empty() {
                        cx.push(
                            &IAM001,
                            format!("{path}.Resource"),
                            format!(
                                "`*` resource for {}, which can be scoped to named resources; name them",
                                scoped.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                            ),
                        );
                    }
                }
            }
        }
    }
}
