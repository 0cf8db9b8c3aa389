//! The CloudFormation execution role can do what the resource handlers of the stacks it deploys
//! need (IAM004). Which actions a handler needs comes from the CloudFormation registry schemas'
//! `handlers.*.permissions`, kept as data in `infra/data/cfn-handler-permissions.json` (each
//! type names its source; `scripts/extract-handler-permissions` writes it). A type without data
//! is a finding, never a pass.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype, strings};

/// IAM004.
pub const IAM004: Rule = Rule {
    id: "IAM004",
    severity: Severity::Error,
    summary: "the CloudFormation execution role allows every action the resource handlers (create, read, update, delete) of every type in the stacks it deploys need, per the registry schemas in `infra/data/cfn-handler-permissions.json`; a type without data is an error",
    source: "CloudFormation CLI User Guide, \"Resource type schema\" (handlers and their permissions)",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&IAM004];

/// One resource type's handler permissions.
#[derive(Debug, Default, Deserialize)]
pub struct Handlers {
    /// Where the data came from (`none` when nothing was found).
    pub source: String,
    #[serde(default)]
    pub create: Vec<String>,
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub update: Vec<String>,
    #[serde(default)]
    pub delete: Vec<String>,
}

/// The data file.
#[derive(Debug, Default, Deserialize)]
pub struct HandlerData {
    pub source: String,
    pub types: BTreeMap<String, Handlers>,
}

/// The handler permissions, read once.
pub static HANDLERS: LazyLock<HandlerData> =
    LazyLock::new(|| serde_json::from_str(include_str!("../../data/cfn-handler-permissions.json")).unwrap_or_default());

/// Handler actions a type's handler calls only when a property is set: (type, action pattern,
/// property). Where no resource of the type in a template sets the property, the action is not
/// required of the role; where one does, it is. Each names why.
pub const ONLY_WITH_PROPERTY: &[(&str, &str, &str)] = &[
    // Network interfaces in a VPC.
    ("AWS::Lambda::Function", "ec2:*", "VpcConfig"),
    // EFS and S3 file systems mounted into the function.
    ("AWS::Lambda::Function", "elasticfilesystem:*", "FileSystemConfigs"),
    ("AWS::Lambda::Function", "s3files:*", "FileSystemConfigs"),
    // Environment variables encrypted with a customer-managed key.
    ("AWS::Lambda::Function", "kms:*", "KmsKeyArn"),
    ("AWS::Lambda::Function", "lambda:GetLayerVersion", "Layers"),
    ("AWS::Lambda::Function", "lambda:PutFunctionCodeSigningConfig", "CodeSigningConfigArn"),
    ("AWS::Lambda::Function", "lambda:DeleteFunctionCodeSigningConfig", "CodeSigningConfigArn"),
    ("AWS::Lambda::Function", "lambda:GetCodeSigningConfig", "CodeSigningConfigArn"),
    ("AWS::Lambda::Function", "lambda:PassCapacityProvider", "CapacityProviderConfig"),
    ("AWS::Lambda::Function", "lambda:PutFunctionScalingConfig", "CapacityProviderConfig"),
    ("AWS::Lambda::Function", "lambda:PutFunctionRecursionConfig", "RecursiveLoop"),
    ("AWS::Lambda::Function", "lambda:PutRuntimeManagementConfig", "RuntimeManagementConfig"),
    ("AWS::Lambda::Version", "lambda:PutProvisionedConcurrencyConfig", "ProvisionedConcurrencyConfig"),
    ("AWS::Lambda::Version", "lambda:PutFunctionScalingConfig", "FunctionScalingConfig"),
    ("AWS::Lambda::Version", "lambda:PutRuntimeManagementConfig", "RuntimeManagementConfig"),
    ("AWS::Lambda::Alias", "lambda:PutProvisionedConcurrencyConfig", "ProvisionedConcurrencyConfig"),
    ("AWS::Lambda::Alias", "lambda:DeleteProvisionedConcurrencyConfig", "ProvisionedConcurrencyConfig"),
    // Log groups: customer-managed keys, data protection, resource policies, delivery.
    ("AWS::Logs::LogGroup", "logs:AssociateKmsKey", "KmsKeyId"),
    ("AWS::Logs::LogGroup", "logs:DisassociateKmsKey", "KmsKeyId"),
    ("AWS::Logs::LogGroup", "logs:PutDataProtectionPolicy", "DataProtectionPolicy"),
    ("AWS::Logs::LogGroup", "logs:DeleteDataProtectionPolicy", "DataProtectionPolicy"),
    ("AWS::Logs::LogGroup", "logs:PutResourcePolicy", "ResourcePolicyDocument"),
    ("AWS::Logs::LogGroup", "firehose:*", "DeliveryDestination"),
    ("AWS::Logs::LogGroup", "s3:*", "DeliveryDestination"),
    // Topics: data protection and delivery-status logging through a role.
    ("AWS::SNS::Topic", "sns:PutDataProtectionPolicy", "DataProtectionPolicy"),
    ("AWS::SNS::Topic", "iam:*", "DeliveryStatusLogging"),
    // Subscriptions delivering to Firehose through a role.
    ("AWS::SNS::Subscription", "iam:*", "SubscriptionRoleArn"),
    // Secrets: replicas and generated values.
    ("AWS::SecretsManager::Secret", "secretsmanager:ReplicateSecretToRegions", "ReplicaRegions"),
    ("AWS::SecretsManager::Secret", "secretsmanager:RemoveRegionsFromReplication", "ReplicaRegions"),
    ("AWS::SecretsManager::Secret", "secretsmanager:GetRandomPassword", "GenerateSecretString"),
    // A REST API imported from S3 or with a resource policy.
    ("AWS::ApiGateway::RestApi", "s3:GetObject", "BodyS3Location"),
    ("AWS::ApiGateway::RestApi", "apigateway:UpdateRestApiPolicy", "Policy"),
    ("AWS::ApiGateway::RestApi", "iam:PassRole", "Policy"),
    // An integration that calls with a role of its own.
    ("AWS::ApiGateway::Method", "iam:PassRole", "Integration.Credentials"),
    // On-premises instances.
    ("AWS::CodeDeploy::DeploymentGroup", "codedeploy:RegisterOnPremisesInstance", "OnPremisesInstanceTagFilters"),
    // Permissions boundaries: set where a role carries one; removed only when a role drops its
    // boundary, which the stacks' roles never do (and the execution role must never be able to).
    ("AWS::IAM::Role", "iam:PutRolePermissionsBoundary", "PermissionsBoundary"),
    ("AWS::IAM::Role", "iam:DeleteRolePermissionsBoundary", "-"),
    // Associations with anything but an API Gateway stage: the association's ResourceArn here
    // is always a stage (`apigateway:SetWebACL` stays required).
    ("AWS::WAFv2::WebACLAssociation", "amplify:*", "-"),
    ("AWS::WAFv2::WebACLAssociation", "apprunner:*", "-"),
    ("AWS::WAFv2::WebACLAssociation", "appsync:*", "-"),
    ("AWS::WAFv2::WebACLAssociation", "bedrock-agentcore:*", "-"),
    ("AWS::WAFv2::WebACLAssociation", "cognito-idp:*", "-"),
    ("AWS::WAFv2::WebACLAssociation", "ec2:*", "-"),
    ("AWS::WAFv2::WebACLAssociation", "elasticloadbalancing:*", "-"),
];

/// `true` when IAM's action pattern `pattern` (`*` any run of characters, `?` one character)
/// matches `action`; IAM compares actions without regard to case (IAM User Guide, "IAM JSON
/// policy elements: Action"). Resource ARNs follow other rules: [`resource_matches`].
/// Linear in practice: on a mismatch it resumes after the last `*` instead of trying every split.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.as_bytes(), action.as_bytes());
    let (mut i, mut j) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and how much of `action` it has taken.
    let mut star: Option<(usize, usize)> = None;
    while j < a.len() {
        match p.get(i) {
            Some(b'*') => {
                i += 1;
                star = Some((i, j));
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&a[j]) => {
                i += 1;
                j += 1;
            }
            _ => {
                let Some((resume, taken)) = star else { return false };
                star = Some((resume, taken + 1));
                (i, j) = (resume, taken + 1);
            }
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// `true` when the `Resource` pattern `pattern` matches `arn` as IAM matches them (IAM User
/// Guide, "IAM JSON policy elements: Resource", "Using wildcards in resource ARNs"): case
/// sensitive; `*` and `?` stand for characters within one colon-separated segment, except a
/// `*` that ends a segment (followed by `:` or the end of the pattern), which may match past
/// colons. `O(pattern × arn)`.
pub fn resource_matches(pattern: &str, arn: &str) -> bool {
    // The text before the first wildcard is compared as it is.
    let Some(first) = pattern.find(['*', '?']) else { return pattern == arn };
    let Some(rest) = arn.strip_prefix(&pattern[..first]) else { return false };
    let (p, a) = (&pattern.as_bytes()[first..], rest.as_bytes());
    // reach[j]: the pattern read so far matches `a[..j]`.
    let mut reach = vec![false; a.len() + 1];
    let mut next = vec![false; a.len() + 1];
    reach[0] = true;
    for (i, &c) in p.iter().enumerate() {
        next.fill(false);
        if c == b'*' {
            let crosses = matches!(p.get(i + 1), None | Some(b':'));
            let mut on = false;
            for j in 0..=a.len() {
                on |= reach[j];
                next[j] = on;
                on &= crosses || a.get(j) != Some(&b':');
            }
        } else {
            for j in 0..a.len() {
                next[j + 1] = reach[j] && if c == b'?' { a[j] != b':' } else { a[j] == c };
            }
        }
        std::mem::swap(&mut reach, &mut next);
    }
    reach[a.len()]
}

/// The resource ARN of `r` (logical id `id`, in `stack`) in the policy's `Fn::Sub` form, when
/// its type has a known ARN (`cfn::types`: built from a name property, `<FunctionName>`, or the
/// generated name CloudFormation gives, `<stack>-<id>-…`) and its name is written literally.
/// Only the actions of the ARN's own service (the type's service) are held against it.
fn resource_arn(stack: &str, id: &str, r: &Json) -> Option<(String, String)> {
    let ty = crate::cfn::types::find(rtype(r))?;
    let mut arn = ty.arn?.replace("<stack>", stack).replace("<id>", id);
    // A role's ARN carries its path: `role/<path>/<name>`.
    if let Some(path) = props(r, "Path").and_then(Json::as_str) {
        arn = arn.replacen(":role/", &format!(":role{path}"), 1);
    }
    if let Some(start) = arn.find('<') {
        let end = arn[start..].find('>')? + start;
        let property = arn[start + 1..end].to_owned();
        let value = props(r, &property)?.as_str()?;
        arn.replace_range(start..=end, value);
    }
    Some((ty.service(), arn))
}

/// `true` when `props` sets the dotted property path (`Integration.Credentials`).
fn sets(props: Option<&Json>, path: &str) -> bool {
    let pointer = format!("/{}", path.replace('.', "/"));
    props.and_then(|p| p.pointer(&pointer)).is_some()
}

/// What the handlers of `ty` need for the resources `instances` of a template, or why that is
/// unknown.
pub fn required(ty: &str, instances: &[&Json]) -> Result<BTreeSet<String>, String> {
    let h = HANDLERS.types.get(ty).filter(|h| h.source != "none").ok_or_else(|| {
        format!("no handler permission data for {ty}; add its source to scripts/extract-handler-permissions")
    })?;
    let all = h.create.iter().chain(&h.read).chain(&h.update).chain(&h.delete);
    // `s3:REST.PUT.OBJECT` (in the log group schema) names an S3 log operation, not an IAM action.
    Ok(all
        .filter(|action| action.contains(':') && !action.contains('.'))
        .filter(|action| {
            !ONLY_WITH_PROPERTY.iter().any(|(t, pattern, property)| {
                *t == ty
                    && action_matches(pattern, action)
                    && !instances.iter().any(|r| sets(r.get("Properties"), property))
            })
        })
        .cloned()
        .collect())
}

/// What the key policies of a template's keys allow the execution role (named `role_name`) to
/// do: a key policy naming the role grants it on that key without any IAM policy (AWS KMS
/// developer guide, "Key policies").
fn key_policy_grants(json: &Json, role_name: Option<&str>) -> Vec<Grant> {
    let Some(name) = role_name else { return Vec::new() };
    let arn = format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}");
    resources(json)
        .filter(|(_, r)| rtype(r) == "AWS::KMS::Key")
        .flat_map(|(_, r)| {
            props(r, "KeyPolicy").and_then(|p| p.get("Statement")).and_then(Json::as_array).into_iter().flatten()
        })
        .filter(|st| st.get("Effect").and_then(Json::as_str) == Some("Allow"))
        .filter(|st| {
            let named = |p: &str| st.pointer(p).and_then(Json::as_str) == Some(arn.as_str());
            named("/Principal/AWS/Fn::Sub") || named("/Condition/ArnEquals/aws:PrincipalArn/Fn::Sub")
        })
        .map(|st| Grant { actions: strings(st.get("Action")), resources: vec!["*".into()] })
        .collect()
}

/// An Allow statement's actions and resources (as written: literal or the `Fn::Sub` text).
#[derive(Clone, Debug)]
struct Grant {
    actions: Vec<String>,
    resources: Vec<String>,
}

impl Grant {
    fn allows(&self, action: &str, arn: Option<&str>) -> bool {
        self.actions.iter().any(|p| action_matches(p, action))
            && arn.is_none_or(|arn| self.resources.iter().any(|r| r == "*" || resource_matches(r, arn)))
    }
}

/// The execution role: the role CloudFormation may assume, in the template that defines it.
fn execution_role<'a>(jsons: &'a [(&'a str, Json)]) -> Option<(&'a str, String, Vec<Grant>)> {
    jsons.iter().find_map(|(stack, json)| {
        resources(json).find_map(|(id, r)| {
            let assumed = props(r, "AssumeRolePolicyDocument")?.get("Statement")?.as_array()?.iter().any(|st| {
                strings(st.pointer("/Principal/Service")).iter().any(|s| s == "cloudformation.amazonaws.com")
            });
            if rtype(r) != "AWS::IAM::Role" || !assumed {
                return None;
            }
            let statements = props(r, "Policies")?
                .as_array()?
                .iter()
                .flat_map(|p| p.pointer("/PolicyDocument/Statement").and_then(Json::as_array).into_iter().flatten());
            let sub_text = |v: &Json| v.get("Fn::Sub").and_then(Json::as_str).map(str::to_owned);
            let allowed = statements
                .filter(|st| st.get("Effect").and_then(Json::as_str) == Some("Allow"))
                .map(|st| Grant {
                    actions: strings(st.get("Action")),
                    resources: match st.get("Resource") {
                        Some(Json::Array(list)) => {
                            list.iter().map(|v| sub_text(v).unwrap_or_else(|| strings(Some(v)).concat())).collect()
                        }
                        Some(v) => vec![sub_text(v).unwrap_or_else(|| strings(Some(v)).concat())],
                        None => vec![],
                    },
                })
                .collect();
            Some((*stack, id.clone(), allowed))
        })
    })
}

/// IAM004 over an environment's templates: the role is in one of them (the bootstrap stack),
/// and deploys every other.
pub(super) fn execution_role_covers_handlers(cx: &mut Ctx<'_>, jsons: &[(&str, Json)]) {
    let Some((home, role, role_grants)) = execution_role(jsons) else { return };
    let path = format!("$.Resources.{role}.Properties.Policies");
    let role_name = jsons
        .iter()
        .find(|(s, _)| *s == home)
        .and_then(|(_, j)| j.pointer(&format!("/Resources/{role}/Properties/RoleName")));
    for (stack, json) in jsons.iter().filter(|(stack, _)| *stack != home) {
        let mut grants = key_policy_grants(json, role_name.and_then(Json::as_str));
        grants.extend(role_grants.iter().cloned());
        let mut by_type: BTreeMap<&str, Vec<(&String, &Json)>> = BTreeMap::new();
        for (id, r) in resources(json) {
            by_type.entry(rtype(r)).or_default().push((id, r));
        }
        for (ty, instances) in by_type {
            let problems = match required(ty, &instances.iter().map(|(_, r)| *r).collect::<Vec<_>>()) {
                Err(why) => vec![why],
                Ok(actions) => shortfalls(stack, ty, &instances, &actions, &grants),
            };
            for p in problems {
                cx.push_to(home, &IAM004, &path, format!("{stack}: {p}"));
            }
        }
    }
}

/// What `grants` lack of `actions` for the resources `instances` of type `ty`: actions allowed
/// nowhere, then actions allowed but not on a resource's own ARN.
fn shortfalls(
    stack: &str,
    ty: &str,
    instances: &[(&String, &Json)],
    actions: &BTreeSet<String>,
    grants: &[Grant],
) -> Vec<String> {
    let allowed = |a: &str, arn: Option<&str>| grants.iter().any(|g| g.allows(a, arn));
    let mut out = Vec::new();
    let (somewhere, missing): (Vec<&str>, Vec<&str>) =
        actions.iter().map(String::as_str).partition(|a| allowed(a, None));
    if !missing.is_empty() {
        out.push(format!("CloudFormation's {ty} handlers need {}", missing.join(", ")));
    }
    for (id, r) in instances {
        let Some((service, arn)) = resource_arn(stack, id, r) else { continue };
        let denied: Vec<&str> = somewhere
            .iter()
            .copied()
            .filter(|a| a.split(':').next() == Some(service.as_str()) && !super::iam::NO_RESOURCE_LEVEL.contains(a))
            .filter(|a| !allowed(a, Some(&arn)))
            .collect();
        if !denied.is_empty() {
            out.push(format!("{} allowed, but not on {id} ({arn})", denied.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{action_matches, resource_matches};

    /// The matcher as IAM's rule reads, trying every split at each `*`: the oracle.
    fn by_definition(p: &[u8], a: &[u8]) -> bool {
        match (p.split_first(), a.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => {
                by_definition(rest, a) || a.split_first().is_some_and(|(_, t)| by_definition(p, t))
            }
            (Some((b'?', rest)), Some((_, tail))) => by_definition(rest, tail),
            (Some((c, rest)), Some((d, tail))) => c.eq_ignore_ascii_case(d) && by_definition(rest, tail),
            _ => false,
        }
    }

    const CASES: &[(&str, &str, bool)] = &[
        ("s3:*", "s3:GetObject", true),
        ("s3:*", "s3:", true),
        ("s3:*", "s3", false),
        ("kms:Create*", "KMS:createkey", true),
        ("kms:Create*", "kms:CreateAlias", true),
        ("kms:Create*", "kms:ScheduleKeyDeletion", false),
        ("*", "", true),
        ("", "", true),
        ("", "a", false),
        ("?", "", false),
        ("?", "a", true),
        ("lambda:?etFunction", "lambda:GetFunction", true),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "aXbYcZ", false),
        ("a*b*c*", "abcabc", true),
        ("*Key*", "kms:CreateKey", true),
        ("**", "x", true),
    ];

    #[test]
    fn wildcards_match_as_iam_reads_them() {
        for &(pattern, action, want) in CASES {
            assert_eq!(action_matches(pattern, action), want, "{pattern} against {action}");
            assert_eq!(
                by_definition(pattern.as_bytes(), action.as_bytes()),
                want,
                "oracle: {pattern} against {action}"
            );
        }
    }

    /// (pattern, ARN, matches): IAM's examples, and the neighbours on each side of each rule.
    const RESOURCE_CASES: &[(&str, &str, bool)] = &[
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b", true),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/a", false),
        ("arn:aws:iam::1:user/Bob", "arn:aws:iam::1:user/bob", false),
        ("arn:aws:iam::1:user/accounting/*", "arn:aws:iam::1:user/accounting/x", true),
        ("arn:aws:iam::*:role/app-*", "arn:aws:iam::123:role/app-exec", true),
        ("arn:aws:iam::1*:role/x", "arn:aws:iam::12:role/x", true),
        ("arn:aws:iam::1*2:role/x", "arn:aws:iam::1:a:2:role/x", false),
        ("arn:aws:iam::1?2:role/x", "arn:aws:iam::1:2:role/x", false),
        ("arn:aws:iam::1?2:role/x", "arn:aws:iam::102:role/x", true),
        ("arn:aws:logs:*", "arn:aws:logs:eu-west-1:1:log-group:/a:*", true),
        ("arn:aws:logs:eu-west-1:1:log-group:/a*", "arn:aws:logs:eu-west-1:1:log-group:/a:log-stream:x", true),
        ("arn:aws:logs:eu-west-1:1:log-group:/a*b", "arn:aws:logs:eu-west-1:1:log-group:/a:b", false),
        ("arn:aws:logs:eu-west-1:1:log-group:/a*b", "arn:aws:logs:eu-west-1:1:log-group:/a/x/b", true),
        (
            "arn:${AWS::Partition}:kms:*:*:key/*",
            "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/k",
            true,
        ),
        ("arn:${AWS::Partition}:s3:::b-*/*", "arn:${AWS::Partition}:s3:::b-1/x", true),
        ("*", "arn:aws:s3:::b", true),
        ("", "", true),
        ("?", "", false),
    ];

    #[test]
    fn resource_patterns_match_as_iam_reads_them() {
        for &(pattern, arn, want) in RESOURCE_CASES {
            assert_eq!(resource_matches(pattern, arn), want, "{pattern} against {arn}");
        }
    }

    #[test]
    fn agrees_with_the_definition_on_every_short_text() {
        const ALPHABET: [&str; 6] = ["", "a", "b", "*", "?", "A"];
        let mut texts = Vec::new();
        for x in ALPHABET {
            for y in ALPHABET {
                for z in ALPHABET {
                    texts.push(format!("{x}{y}{z}"));
                }
            }
        }
        for p in &texts {
            for a in texts.iter().filter(|t| !t.contains(['*', '?'])) {
                assert_eq!(action_matches(p, a), by_definition(p.as_bytes(), a.as_bytes()), "{p} against {a}");
            }
        }
    }
}
