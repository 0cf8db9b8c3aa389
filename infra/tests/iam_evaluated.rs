//! IAM evaluated, not matched: the roles of every shipped environment are held against the calls
//! made in their name, with the request context AWS builds, by an offline IAM evaluator
//! (`scripts/iam-simulate`, the npm package `@cloud-copilot/iam-simulate`, a test tool only). It
//! evaluates conditions, permissions boundaries and KMS key policies as AWS does.
//!
//! The calls and their contexts are the table [`CONTEXT_RULES`] (each with its source) applied to
//! the synthesized templates: CloudFormation's resource handlers (create, update, delete) per
//! resource, as the execution role; the calls `deploy`, `diff`, `keys`, `rollback` make in CI,
//! as the deploy role ([`DEPLOY_CALLS`], held against the SDK calls in `infra/src`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use infra::cfn::names::fixed_name;
use infra::env::Environment;
use infra::stacks::{self, Stack};
use infra::validate::{HANDLERS, ONLY_WITH_PROPERTY, action_matches};
use serde_json::{Value as Json, json};

/// How AWS builds a request's context, with the page that says so. Applied in [`Requests`].
pub const CONTEXT_RULES: &[(&str, &str)] = &[
    (
        "On create, the tags of the request (the stack's tags and the resource's own) are `aws:RequestTag/<key>` and their keys `aws:TagKeys`; the resource has no `aws:ResourceTag` yet",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html",
    ),
    (
        "To add tags while creating a KMS key, the principal must have kms:TagResource in an IAM policy that isn't restricted to particular KMS keys",
        "https://docs.aws.amazon.com/kms/latest/developerguide/tag-permissions.html",
    ),
    (
        "After the create, a tagged resource's tags are `aws:ResourceTag/<key>`; for a new KMS key they may take up to five minutes to affect authorization, so create-time calls are evaluated without them",
        "https://docs.aws.amazon.com/kms/latest/developerguide/abac.html",
    ),
    (
        "Every KMS key has a key policy; IAM policies count only where it allows the account",
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html",
    ),
    (
        "iam:PassRole carries iam:PassedToService, the service the role is handed to",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html",
    ),
    (
        "CreateRole, PutRolePolicy, AttachRolePolicy and PutRolePermissionsBoundary carry iam:PermissionsBoundary; AttachRolePolicy carries iam:PolicyARN",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html",
    ),
    (
        "kms:GenerateDataKeyPairWithoutPlaintext carries the request's encryption context as kms:EncryptionContext:<key>",
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html",
    ),
];

/// Every CloudFormation and S3 call `infra` makes with the deploy role in CI (`deploy`, `diff`,
/// `keys rotate`, `rollback`, and the recovery of a failed first create): SDK operation, IAM
/// action, and which stack or object it is on.
pub const DEPLOY_CALLS: &[(&str, &str, Target)] = &[
    ("create_change_set", "cloudformation:CreateChangeSet", Target::Stack),
    ("describe_change_set", "cloudformation:DescribeChangeSet", Target::Stack),
    ("execute_change_set", "cloudformation:ExecuteChangeSet", Target::Stack),
    ("delete_change_set", "cloudformation:DeleteChangeSet", Target::Stack),
    ("describe_stacks", "cloudformation:DescribeStacks", Target::Stack),
    ("describe_stack_events", "cloudformation:DescribeStackEvents", Target::Stack),
    ("delete_stack", "cloudformation:DeleteStack", Target::Stack),
    ("update_termination_protection", "cloudformation:UpdateTerminationProtection", Target::Stack),
    ("cancel_update_stack", "cloudformation:CancelUpdateStack", Target::Stack),
    ("continue_update_rollback", "cloudformation:ContinueUpdateRollback", Target::Stack),
    ("rollback_stack", "cloudformation:RollbackStack", Target::Stack),
    ("detect_stack_drift", "cloudformation:DetectStackDrift", Target::Stack),
    ("describe_stack_resource_drifts", "cloudformation:DescribeStackResourceDrifts", Target::Stack),
    ("describe_stack_drift_detection_status", "cloudformation:DescribeStackDriftDetectionStatus", Target::Any),
    ("get_account_settings", "lambda:GetAccountSettings", Target::Any),
    ("get_function_concurrency", "lambda:GetFunctionConcurrency", Target::Function),
    // Envelope signing: deploy generates and stores the key pairs (crate::deploy::key_pairs).
    ("generate_data_key_pair_without_plaintext", "kms:GenerateDataKeyPairWithoutPlaintext", Target::KeyEncryptionKey),
    ("get_secret_value", "secretsmanager:GetSecretValue", Target::KeyPairs),
    ("put_secret_value", "secretsmanager:PutSecretValue", Target::KeyPairs),
    ("update_secret_version_stage", "secretsmanager:UpdateSecretVersionStage", Target::KeyPairs),
    ("list_secret_version_ids", "secretsmanager:ListSecretVersionIds", Target::KeyPairs),
    ("put_object", "s3:PutObject", Target::Artifact),
    ("head_object", "s3:GetObject", Target::Artifact),
    ("get_object", "s3:GetObject", Target::Artifact),
    // Rollback triggers name only alarms that exist; `alarms list|test` (crate::deploy::alarms).
    ("describe_alarms", "cloudwatch:DescribeAlarms", Target::Alarm),
    ("set_alarm_state", "cloudwatch:SetAlarmState", Target::Alarm),
    ("list_subscriptions_by_topic", "sns:ListSubscriptionsByTopic", Target::Topic),
    ("get_topic_attributes", "sns:GetTopicAttributes", Target::Topic),
    ("subscribe", "sns:Subscribe", Target::DrillSubscription),
    ("unsubscribe", "sns:Unsubscribe", Target::Topic),
    ("create_queue", "sqs:CreateQueue", Target::DrillQueue),
    ("get_queue_attributes", "sqs:GetQueueAttributes", Target::DrillQueue),
    ("set_queue_attributes", "sqs:SetQueueAttributes", Target::DrillQueue),
    ("delete_queue", "sqs:DeleteQueue", Target::DrillQueue),
    ("get_queue_url", "sqs:GetQueueUrl", Target::DrillQueue),
    ("receive_message", "sqs:ReceiveMessage", Target::DrillQueue),
    // diff, deploy and drift compare the code the function runs with its stack's
    // (crate::deploy::hotswap::code_drift).
    ("get_function_configuration", "lambda:GetFunctionConfiguration", Target::Function),
    ("get_alias", "lambda:GetAlias", Target::Function),
    // deploy --from-plan compares change sets' templates; a hotswap, the deployed ones.
    ("get_template", "cloudformation:GetTemplate", Target::Stack),
    // deploy --hotswap and watch: only where the environment file allows hotswaps.
    ("update_function_code", "lambda:UpdateFunctionCode", Target::Hotswap),
];

/// What a deploy call is on.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Stack,
    Function,
    /// A hotswap's call on the function: allowed exactly where the environment file sets
    /// `deploy.allow_hotswap`.
    Hotswap,
    /// The key the signing key pairs are encrypted under, with the context deploy sends.
    KeyEncryptionKey,
    /// The secret holding the key pairs.
    KeyPairs,
    Artifact,
    Any,
    /// One of the environment's alarms.
    Alarm,
    /// One of the environment's alert topics.
    Topic,
    /// An alert topic, subscribed by the drill's queue (`sns:Protocol`, `sns:Endpoint`).
    DrillSubscription,
    /// The `alarms test` drill's temporary queue.
    DrillQueue,
}

/// SDK operations of these clients that `infra` calls from outside CI only (each with why).
const NOT_IN_CI: &[(&str, &str)] = &[
    ("get_caller_identity", "STS GetCallerIdentity needs no permission"),
    ("create_stack", "bootstrap runs with administrator rights, once"),
    ("update_stack", "bootstrap runs with administrator rights, once"),
    ("list_objects_v2", "not called in CI"),
    ("filter_log_events", "infra logs runs with an operator's credentials"),
];

fn environments() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments")
}

/// Resolves a template's intrinsics to concrete strings, as CloudFormation would in `env`'s
/// account and region, with a stable stand-in for each physical id CloudFormation generates.
struct Resolver<'a> {
    account: String,
    region: String,
    stack_name: String,
    template: &'a Json,
    /// Values of the template's parameters (`ArtifactBucket`, ...), as deploy passes them.
    parameters: BTreeMap<String, String>,
}

impl Resolver<'_> {
    fn name(&self, id: &str) -> String {
        let r = &self.template["Resources"][id];
        fixed_name(r).map(|(_, n)| n).unwrap_or_else(|| format!("{}-{id}-AbCdEf123456", self.stack_name))
    }

    fn arn(&self, id: &str) -> String {
        let (a, r, n) = (&self.account, &self.region, self.name(id));
        match self.template["Resources"][id]["Type"].as_str().unwrap_or_default() {
            "AWS::KMS::Key" => format!("arn:aws:kms:{r}:{a}:key/{}", self.key_id(id)),
            "AWS::KMS::Alias" => format!("arn:aws:kms:{r}:{a}:{n}"),
            "AWS::IAM::Role" => {
                let path = self.template["Resources"][id]["Properties"]["Path"].as_str().unwrap_or("/");
                format!("arn:aws:iam::{a}:role{path}{n}")
            }
            "AWS::IAM::ManagedPolicy" => format!("arn:aws:iam::{a}:policy/{n}"),
            "AWS::Lambda::Function" => format!("arn:aws:lambda:{r}:{a}:function:{n}"),
            "AWS::Logs::LogGroup" => format!("arn:aws:logs:{r}:{a}:log-group:{n}"),
            "AWS::SecretsManager::Secret" => format!("arn:aws:secretsmanager:{r}:{a}:secret:{n}-AbCdEf"),
            "AWS::SNS::Topic" => format!("arn:aws:sns:{r}:{a}:{n}"),
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{}", n.to_lowercase()),
            "AWS::Lambda::Alias" => {
                let f = self.resolve(&self.template["Resources"][id]["Properties"]["FunctionName"]);
                format!("arn:aws:lambda:{r}:{a}:function:{}:{n}", f.as_str().unwrap_or_default())
            }
            "AWS::CloudWatch::Alarm" => format!("arn:aws:cloudwatch:{r}:{a}:alarm:{n}"),
            "AWS::CloudWatch::Dashboard" => format!("arn:aws:cloudwatch::{a}:dashboard/{n}"),
            "AWS::Budgets::Budget" => format!("arn:aws:budgets::{a}:budget/{n}"),
            "AWS::CodeDeploy::Application" => format!("arn:aws:codedeploy:{r}:{a}:application:{n}"),
            "AWS::IAM::OIDCProvider" => format!("arn:aws:iam::{a}:oidc-provider/token.actions.githubusercontent.com"),
            other => panic!("no ARN for {other} ({id})"),
        }
    }

    fn key_id(&self, id: &str) -> String {
        let h = id.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        format!("0000abcd-0000-4000-8000-{:012x}", h & 0xffff_ffff_ffff)
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => self.account.clone(),
            "AWS::StackName" => self.stack_name.clone(),
            _ if self.parameters.contains_key(name) => self.parameters[name].clone(),
            _ => match name.split_once('.') {
                // CloudFormation's `Arn` of a log group ends in `:*` (its streams).
                Some((id, "Arn")) if self.template["Resources"][id]["Type"] == "AWS::Logs::LogGroup" => {
                    format!("{}:*", self.arn(id))
                }
                Some((id, "Arn")) => self.arn(id),
                Some((id, attr)) => panic!("no stand-in for {id}.{attr}"),
                None => match self.template["Resources"][name]["Type"].as_str() {
                    Some("AWS::KMS::Key") => self.key_id(name),
                    Some(
                        "AWS::SecretsManager::Secret"
                        | "AWS::SNS::Topic"
                        | "AWS::IAM::ManagedPolicy"
                        | "AWS::Lambda::Alias",
                    ) => self.arn(name),
                    Some(_) => self.name(name),
                    None => panic!("no stand-in for Ref {name}"),
                },
            },
        }
    }

    fn resolve(&self, v: &Json) -> Json {
        match v {
            Json::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().unwrap();
                match (k.as_str(), arg) {
                    ("Ref", Json::String(n)) => json!(self.reference(n)),
                    ("Fn::GetAtt", Json::Array(a)) => {
                        json!(self.reference(&format!("{}.{}", a[0].as_str().unwrap(), a[1].as_str().unwrap())))
                    }
                    ("Fn::Sub", Json::String(text)) => {
                        let mut out = text.clone();
                        for var in infra::cfn::deps::sub_variables(text) {
                            out = out.replace(&format!("${{{var}}}"), &self.reference(var));
                        }
                        json!(out)
                    }
                    (k, _) if k.starts_with("Fn::") => panic!("no resolution of {k} here: {v}"),
                    _ => json!({ k.clone(): self.resolve(arg) }),
                }
            }
            Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
            Json::Array(a) => Json::Array(a.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }
}

/// The evaluator's input, built up request by request.
#[derive(Default)]
struct Requests {
    principals: serde_json::Map<String, Json>,
    resource_policies: serde_json::Map<String, Json>,
    requests: Vec<Json>,
}

impl Requests {
    fn push(&mut self, principal: &str, action: &str, resource: &str, context: Json, expect: &str, why: String) {
        self.requests.push(json!({
            "principal": principal, "action": action, "resource": resource, "context": context,
            "expect": expect, "why": why,
        }));
    }

    fn to_json(&self) -> Json {
        json!({"principals": self.principals, "resourcePolicies": self.resource_policies, "requests": self.requests})
    }
}

/// A role's inline policies (resolved) as the evaluator's identity policies.
fn identity(r: &Resolver<'_>, id: &str) -> Vec<Json> {
    r.template["Resources"][id]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| r.resolve(&p["PolicyDocument"]))
        .collect()
}

/// Types whose handlers' calls are evaluated, and actions that take no resource ARN (they are
/// evaluated on `*`, as IAM matches them).
const EVALUATED_TYPES: &[&str] = &[
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::IAM::Role",
    "AWS::Lambda::Function",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Budgets::Budget",
    "AWS::CodeDeploy::Application",
];
const WILDCARD_ACTIONS: &[&str] = &[
    "kms:CreateKey",
    "kms:ListKeys",
    "kms:ListAliases",
    "logs:DescribeLogGroups",
    "logs:CreateLogDelivery",
    "logs:DescribeResourcePolicies",
    "lambda:ListTags",
    "sns:Unsubscribe",
    "sns:GetSubscriptionAttributes",
    "sns:SetSubscriptionAttributes",
];

/// Lambda actions whose resource is a qualified function ARN.
const QUALIFIED_ACTIONS: &[&str] = &[
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:PutProvisionedConcurrencyConfig",
    "lambda:DeleteProvisionedConcurrencyConfig",
];

/// The resources a handler's `action` on resource `id` (of type `ty`) is on: the resource's own
/// ARN, or for the types that act on another (a version on its function, an alias on its alias
/// and its key, a subscription on its topic) that one's. Empty: not evaluated here (IAM004 holds
/// it by name).
fn targets(r: &Resolver<'_>, ty: &str, id: &str, res: &Json, action: &str) -> Vec<String> {
    if WILDCARD_ACTIONS.contains(&action) {
        return vec!["*".to_owned()];
    }
    let (a, region) = (&r.account, &r.region);
    let service = action.split(':').next().unwrap_or_default();
    let own = ty.split("::").nth(1).unwrap_or_default().to_lowercase();
    let p = &res["Properties"];
    match (ty, service) {
        ("AWS::Lambda::Version" | "AWS::Lambda::Alias" | "AWS::Lambda::Permission", "lambda") => {
            let f = r.resolve(&p["FunctionName"]);
            let f = f.as_str().unwrap();
            // A name, or (`Fn::GetAtt` Arn) already an ARN.
            let function =
                if f.starts_with("arn:") { f.to_owned() } else { format!("arn:aws:lambda:{region}:{a}:function:{f}") };
            // Actions on one version or alias take a qualified ARN, which the evaluator cannot
            // tell apart ("function alias" and "function version" share its shape): IAM004 holds
            // those by name.
            if QUALIFIED_ACTIONS.contains(&action) { Vec::new() } else { vec![function] }
        }
        // Lambda reads the code with the caller's credentials.
        ("AWS::Lambda::Function", "s3") if action == "s3:GetObject" => {
            let bucket = r.resolve(&p["Code"]["S3Bucket"]);
            let key = r.resolve(&p["Code"]["S3Key"]);
            vec![format!("arn:aws:s3:::{}/{}", bucket.as_str().unwrap(), key.as_str().unwrap())]
        }
        ("AWS::SNS::Subscription", "sns") => vec![r.resolve(&p["TopicArn"]).as_str().unwrap().to_owned()],
        ("AWS::SNS::TopicPolicy", "sns") => {
            p["Topics"].as_array().into_iter().flatten().map(|t| r.resolve(t).as_str().unwrap().to_owned()).collect()
        }
        ("AWS::KMS::Alias", "kms") => {
            let key = r.resolve(&p["TargetKeyId"]);
            vec![r.arn(id), format!("arn:aws:kms:{region}:{a}:key/{}", key.as_str().unwrap())]
        }
        (_, s) if s == own || (own == "cloudwatch" && s == "cloudwatch") => vec![r.arn(id)],
        _ => Vec::new(),
    }
}

/// The handler actions of `ty` for operation `op` that this resource needs.
fn handler_actions(ty: &str, op: &str, resource: &Json) -> Vec<String> {
    let h = HANDLERS.types.get(ty).unwrap_or_else(|| panic!("no handler data for {ty}"));
    let list = match op {
        "create" => &h.create,
        "update" => &h.update,
        _ => &h.delete,
    };
    list.iter()
        .filter(|a| a.contains(':') && !a.contains('.'))
        .filter(|a| {
            !ONLY_WITH_PROPERTY.iter().any(|(t, pattern, property)| {
                *t == ty
                    && action_matches(pattern, a)
                    && resource["Properties"].pointer(&format!("/{}", property.replace('.', "/"))).is_none()
            })
        })
        .cloned()
        .collect()
}

/// The execution role's requests for one stack's resources.
fn handler_requests(out: &mut Requests, env: &Environment, r: &Resolver<'_>, tags: &BTreeMap<String, String>) {
    let resources = r.template["Resources"].as_object().unwrap();
    for (id, res) in resources {
        let ty = res["Type"].as_str().unwrap();
        // Roles handed to a service by the resource that uses them.
        let passed = match ty {
            "AWS::Lambda::Function" => Some(("Role", "lambda.amazonaws.com")),
            "AWS::ApiGateway::Account" => Some(("CloudWatchRoleArn", "apigateway.amazonaws.com")),
            "AWS::CodeDeploy::DeploymentGroup" => Some(("ServiceRoleArn", "codedeploy.amazonaws.com")),
            _ => None,
        };
        if let Some((property, service)) = passed {
            let role = r.resolve(&res["Properties"][property]);
            let c = json!({"iam:PassedToService": service});
            let why = format!("{} create {id}: pass its role to {service}", env.name);
            out.push("ExecutionRole", "iam:PassRole", role.as_str().unwrap(), c, "Allow", why);
        }
        if !EVALUATED_TYPES.contains(&ty) {
            continue;
        }
        if ty == "AWS::KMS::Key" {
            out.resource_policies.insert(r.arn(id), r.resolve(&res["Properties"]["KeyPolicy"]));
        }
        for op in ["create", "update", "delete"] {
            for (action, resource) in handler_actions(ty, op, res)
                .into_iter()
                .flat_map(|a| targets(r, ty, id, res, &a).into_iter().map(move |t| (a.clone(), t)))
            {
                let mut context = serde_json::Map::new();
                if op == "create" {
                    for (k, v) in tags {
                        context.insert(format!("aws:RequestTag/{k}"), json!(v));
                    }
                    context.insert("aws:TagKeys".into(), json!(tags.keys().collect::<Vec<_>>()));
                } else {
                    for (k, v) in tags {
                        context.insert(format!("aws:ResourceTag/{k}"), json!(v));
                    }
                }
                if ty == "AWS::IAM::Role" && res["Properties"]["PermissionsBoundary"].is_object() {
                    context
                        .insert("iam:PermissionsBoundary".into(), r.resolve(&res["Properties"]["PermissionsBoundary"]));
                }
                if action == "iam:AttachRolePolicy" {
                    for policy in res["Properties"]["ManagedPolicyArns"].as_array().into_iter().flatten() {
                        let mut c = context.clone();
                        c.insert("iam:PolicyARN".into(), r.resolve(policy));
                        out.push(
                            "ExecutionRole",
                            &action,
                            &resource,
                            Json::Object(c),
                            "Allow",
                            format!("{} {op} {id}", env.name),
                        );
                    }
                    continue;
                }
                out.push(
                    "ExecutionRole",
                    &action,
                    &resource,
                    Json::Object(context),
                    "Allow",
                    format!("{} {op} {id} ({ty})", env.name),
                );
            }
        }
    }
}

/// The function role against the function's own calls (`token_function::permissions`), with
/// its permissions boundary, the keys' policies and the encryption context the function sends.
fn function_requests(out: &mut Requests, env: &Environment, boot: &Resolver<'_>, svc: &Resolver<'_>) {
    let role = "TokenFunctionRole";
    let boundary = boot.resolve(&boot.template["Resources"]["StackRoleBoundary"]["Properties"]["PolicyDocument"]);
    out.principals
        .insert(role.into(), json!({"arn": svc.arn(role), "identity": identity(svc, role), "boundary": boundary}));
    let q = env.qualified();
    let why = |call: &str| format!("{} the function {call}", env.name);
    let log_group = svc.reference("TokenFunctionLogGroup");
    let stream = format!(
        "arn:aws:logs:{}:{}:log-group:{log_group}:log-stream:2026/12/07/[$LATEST]0123",
        svc.region, svc.account
    );
    for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        out.push(role, action, &stream, json!({}), "Allow", why("writes its logs"));
    }
    out.push(
        role,
        "secretsmanager:GetSecretValue",
        &svc.arn("ClientRegistrySecret"),
        json!({}),
        "Allow",
        why("reads its registry"),
    );
    let tags: serde_json::Map<String, Json> =
        env.own_tags().iter().map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v))).collect();
    match env.signing_key.mode {
        token_function::key_pairs::SigningMode::Kms => {
            for (key, alias) in
                [("TokenSigningKey", "TokenSigningKeyAlias"), ("TokenSigningKeyB", "TokenSigningKeyBAlias")]
            {
                let alias_name = svc.template["Resources"][alias]["Properties"]["AliasName"].clone();
                let mut context = tags.clone();
                context.insert("kms:ResourceAliases".into(), json!([alias_name]));
                for action in ["kms:Sign", "kms:GetPublicKey"] {
                    out.push(role, action, &svc.arn(key), Json::Object(context.clone()), "Allow", why("signs"));
                }
            }
            // A key of the account without the slots' aliases.
            let other = json!({"kms:ResourceAliases": ["alias/other"], "aws:ResourceTag/service": "other"});
            out.push(role, "kms:Sign", &svc.arn("TokenSigningKey"), other, "Deny", why("signs with another key"));
        }
        token_function::key_pairs::SigningMode::Envelope => {
            out.push(
                role,
                "secretsmanager:GetSecretValue",
                &svc.arn("TokenSigningKeyPairs"),
                json!({}),
                "Allow",
                why("reads its key pairs"),
            );
            let kek = svc.arn("TokenSigningKeyEncryptionKey");
            for slot in ["a", "b"] {
                let c = json!({"kms:EncryptionContext:service": q, "kms:EncryptionContext:slot": slot, "kms:EncryptionContextKeys": ["service", "slot"]});
                out.push(role, "kms:Decrypt", &kek, c, "Allow", why(&format!("decrypts slot {slot}'s key pair")));
            }
            let other = json!({"kms:EncryptionContext:service": "other-service", "kms:EncryptionContext:slot": "a", "kms:EncryptionContextKeys": ["service", "slot"]});
            out.push(role, "kms:Decrypt", &kek, other, "Deny", why("decrypts another service's key pair"));
        }
    }
}

/// A resolver of one (stack name, template) of `env`, without parameter values.
fn resolver_of<'a>(env: &Environment, (name, template): &'a (String, Json)) -> Resolver<'a> {
    Resolver {
        account: env.account_id.as_str().to_owned(),
        region: env.region.as_str().to_owned(),
        stack_name: name.clone(),
        template,
        parameters: BTreeMap::new(),
    }
}

/// The artifact parameters deploy passes the service stack: the bootstrap bucket, a key under
/// `token-function/` (the place deploy uploads to).
fn artifact_parameters(boot: &Resolver<'_>) -> BTreeMap<String, String> {
    let bucket = boot.name("AssetsBucket").to_lowercase();
    BTreeMap::from([
        ("ArtifactBucket".to_owned(), bucket),
        ("ArtifactKey".to_owned(), format!("token-function/{}.zip", "0".repeat(64))),
    ])
}

/// The evaluator's input for one environment.
fn environment_requests(env: &Environment, stacks: &[Stack]) -> Requests {
    let mut out = Requests::default();
    let jsons: Vec<(String, Json)> = stacks.iter().map(|s| (s.name.clone(), s.template.to_json())).collect();
    let boot = resolver_of(env, &jsons[0]);
    let resolver = |i: usize| Resolver { parameters: artifact_parameters(&boot), ..resolver_of(env, &jsons[i]) };
    let roles: &[&str] = match env.ci.plan_pull_requests {
        true => &["ExecutionRole", "DeployRole", "PlanRole"],
        false => &["ExecutionRole", "DeployRole"],
    };
    for role in roles {
        out.principals.insert(
            (*role).into(),
            json!({"arn": boot.arn(role), "identity": identity(&boot, role), "boundary": null}),
        );
    }
    let tags = infra::synth::stack_tags(env);
    for i in 1..jsons.len() {
        handler_requests(&mut out, env, &resolver(i), &tags);
    }
    function_requests(&mut out, env, &boot, &resolver(1));
    deploy_requests(&mut out, env, &boot, &jsons);
    if env.ci.plan_pull_requests {
        plan_requests(&mut out, env, &boot, &jsons);
    }
    refusals(&mut out, env, &boot, &tags);
    out
}

/// The deploy role against every call `infra` makes in CI.
fn deploy_requests(out: &mut Requests, env: &Environment, boot: &Resolver<'_>, jsons: &[(String, Json)]) {
    let (a, r) = (env.account_id.as_str(), env.region.as_str());
    let svc = Resolver { parameters: artifact_parameters(boot), ..resolver_of(env, &jsons[1]) };
    let q = env.qualified();
    for (_, action, target) in DEPLOY_CALLS {
        if let Target::Hotswap = target {
            hotswap_requests(out, env, action);
            continue;
        }
        if let Target::KeyEncryptionKey = target {
            let c = json!({"kms:EncryptionContext:service": q, "kms:EncryptionContext:slot": "b"});
            let kek = svc.arn("TokenSigningKeyEncryptionKey");
            out.push("DeployRole", action, &kek, c, "Allow", format!("{} deploy generates a key pair", env.name));
            let other = json!({"kms:EncryptionContext:service": "other-service", "kms:EncryptionContext:slot": "b"});
            out.push("DeployRole", action, &kek, other, "Deny", format!("{} a key pair for another service", env.name));
            continue;
        }
        let resources: Vec<String> = match target {
            Target::Stack => jsons[1..]
                .iter()
                .map(|(name, _)| format!("arn:aws:cloudformation:{r}:{a}:stack/{name}/0000-1111"))
                .collect(),
            Target::Artifact => vec![format!("{}/token-function/{}.zip", boot.arn("AssetsBucket"), "0".repeat(64))],
            Target::Any => vec!["*".into()],
            Target::KeyPairs => vec![svc.arn("TokenSigningKeyPairs")],
            Target::KeyEncryptionKey | Target::Hotswap => unreachable!("handled above"),
            Target::Function => {
                let f = format!("arn:aws:lambda:{r}:{a}:function:{}", infra::stacks::service::function_name(env));
                vec![format!("{f}:live"), f]
            }
            Target::Alarm => vec![format!("arn:aws:cloudwatch:{r}:{a}:alarm:{q}-api-5xx-rate")],
            Target::Topic => {
                vec![format!("arn:aws:sns:{r}:{a}:{q}-critical"), format!("arn:aws:sns:{r}:{a}:{q}-warning")]
            }
            Target::DrillSubscription => {
                drill_requests(out, env);
                continue;
            }
            Target::DrillQueue => vec![drill_queue(env)],
        };
        for resource in resources {
            out.push(
                "DeployRole",
                action,
                &resource,
                json!({}),
                "Allow",
                format!("{} deploy calls {action}", env.name),
            );
        }
    }
    // HeadObject answers 404 for a missing artifact only to a caller that may list the bucket.
    let why = format!("{} HeadObject tells a missing artifact (404) from a refusal", env.name);
    out.push("DeployRole", "s3:ListBucket", &boot.arn("AssetsBucket"), json!({}), "Allow", why);
    let exec = boot.arn("ExecutionRole");
    out.push(
        "DeployRole",
        "iam:PassRole",
        &exec,
        json!({"iam:PassedToService": "cloudformation.amazonaws.com"}),
        "Allow",
        format!("{} change sets run as the execution role", env.name),
    );
}

/// The calls a pull request's plan (`diff --out`) makes with the plan role, and on what; each
/// allowed (CreateChangeSet and PutObject, allowed only in some contexts, are in
/// `plan_requests`).
const PLAN_CALLS: &[(&str, Target)] = &[
    ("cloudformation:DescribeChangeSet", Target::Stack),
    ("cloudformation:DeleteChangeSet", Target::Stack),
    ("cloudformation:DescribeStacks", Target::Stack),
    ("cloudformation:GetTemplate", Target::Stack),
    ("s3:GetObject", Target::Artifact),
    ("cloudwatch:DescribeAlarms", Target::Alarm),
    ("lambda:GetFunctionConfiguration", Target::Function),
    ("lambda:GetAlias", Target::Function),
    ("lambda:GetFunctionConcurrency", Target::Function),
    ("lambda:GetAccountSettings", Target::Any),
];

/// What a pull request's job may never do with the plan role, though the deploy role may:
/// action and target.
const NOT_FROM_A_PULL_REQUEST: &[(&str, Target)] = &[
    ("cloudformation:ExecuteChangeSet", Target::Stack),
    ("cloudformation:DeleteStack", Target::Stack),
    ("cloudformation:UpdateTerminationProtection", Target::Stack),
    ("cloudformation:CancelUpdateStack", Target::Stack),
    ("cloudformation:RollbackStack", Target::Stack),
    ("lambda:UpdateFunctionCode", Target::Function),
    ("cloudwatch:SetAlarmState", Target::Alarm),
    ("secretsmanager:PutSecretValue", Target::KeyPairs),
    ("secretsmanager:GetSecretValue", Target::KeyPairs),
];

/// The plan role: what a plan calls is allowed; executing, deleting, overwriting an artifact,
/// and everything else the deploy role changes, denied.
fn plan_requests(out: &mut Requests, env: &Environment, boot: &Resolver<'_>, jsons: &[(String, Json)]) {
    let (a, r) = (env.account_id.as_str(), env.region.as_str());
    let svc = Resolver { parameters: artifact_parameters(boot), ..resolver_of(env, &jsons[1]) };
    let artifact = format!("{}/token-function/{}.zip", boot.arn("AssetsBucket"), "0".repeat(64));
    let on = |target: &Target| -> Vec<String> {
        match target {
            Target::Stack => jsons[1..]
                .iter()
                .map(|(name, _)| format!("arn:aws:cloudformation:{r}:{a}:stack/{name}/0000-1111"))
                .collect(),
            Target::Artifact => vec![artifact.clone()],
            Target::Alarm => vec![format!("arn:aws:cloudwatch:{r}:{a}:alarm:{}-api-5xx-rate", env.qualified())],
            Target::Function => {
                let f = format!("arn:aws:lambda:{r}:{a}:function:{}", infra::stacks::service::function_name(env));
                vec![format!("{f}:live"), f]
            }
            Target::KeyPairs => vec![svc.arn("TokenSigningKeyPairs")],
            _ => vec!["*".into()],
        }
    };
    for (action, target) in PLAN_CALLS {
        for resource in on(target) {
            out.push("PlanRole", action, &resource, json!({}), "Allow", format!("{} a plan calls {action}", env.name));
        }
    }
    for (action, target) in NOT_FROM_A_PULL_REQUEST {
        for resource in on(target) {
            out.push(
                "PlanRole",
                action,
                &resource,
                json!({}),
                "Deny",
                format!("{} never from a pull request", env.name),
            );
        }
    }
    let create_only = json!({"s3:if-none-match": "*"});
    out.push("PlanRole", "s3:PutObject", &artifact, create_only, "Allow", format!("{} a new artifact", env.name));
    let why = format!("{} an artifact overwritten from a pull request", env.name);
    out.push("PlanRole", "s3:PutObject", &artifact, json!({}), "Deny", why);
    let elsewhere = format!("{}/other/x.zip", boot.arn("AssetsBucket"));
    let why = format!("{} an object outside token-function/", env.name);
    out.push("PlanRole", "s3:PutObject", &elsewhere, json!({"s3:if-none-match": "*"}), "Deny", why);
    let why = format!("{} the clients' secrets are never read from a pull request", env.name);
    out.push("PlanRole", "secretsmanager:GetSecretValue", &svc.arn("ClientRegistrySecret"), json!({}), "Deny", why);
    let exec = boot.arn("ExecutionRole");
    let to = |service: &str| json!({"iam:PassedToService": service});
    let why = format!("{} change sets are made with the execution role", env.name);
    out.push("PlanRole", "iam:PassRole", &exec, to("cloudformation.amazonaws.com"), "Allow", why);
    let why = format!("{} the execution role to no other service", env.name);
    out.push("PlanRole", "iam:PassRole", &exec, to("lambda.amazonaws.com"), "Deny", why);
    let bootstrap = format!("arn:aws:cloudformation:{r}:{a}:stack/{}/0000-1111", boot.stack_name);
    let with_exec = json!({"cloudformation:RoleArn": exec});
    let why = format!("{} the bootstrap stack holds the roles", env.name);
    out.push("PlanRole", "cloudformation:CreateChangeSet", &bootstrap, with_exec.clone(), "Deny", why);
    let other_role = json!({"cloudformation:RoleArn": format!("arn:aws:iam::{a}:role/admin")});
    let import = json!({"cloudformation:RoleArn": exec, "cloudformation:ImportResourceTypes": ["AWS::IAM::Role"]});
    for stack in on(&Target::Stack) {
        let why = format!("{} a change set with the execution role", env.name);
        out.push("PlanRole", "cloudformation:CreateChangeSet", &stack, with_exec.clone(), "Allow", why);
        let why = format!("{} a change set without a role would run as the deploy role", env.name);
        out.push("PlanRole", "cloudformation:CreateChangeSet", &stack, json!({}), "Deny", why);
        let why = format!("{} a change set with another role", env.name);
        out.push("PlanRole", "cloudformation:CreateChangeSet", &stack, other_role.clone(), "Deny", why);
        let why = format!("{} a change set that imports resources", env.name);
        out.push("PlanRole", "cloudformation:CreateChangeSet", &stack, import.clone(), "Deny", why);
    }
}

/// A hotswap's call on the function, allowed where the file allows hotswaps and denied
/// elsewhere (the shipped staging and prod).
fn hotswap_requests(out: &mut Requests, env: &Environment, action: &str) {
    let (a, r) = (env.account_id.as_str(), env.region.as_str());
    let function = format!("arn:aws:lambda:{r}:{a}:function:{}", infra::stacks::service::function_name(env));
    for resource in [format!("{function}:live"), function] {
        let (want, why) = match env.deploy.allow_hotswap {
            true => ("Allow", format!("{} allows hotswaps: {action}", env.name)),
            false => ("Deny", format!("{} changes only through CloudFormation: no {action}", env.name)),
        };
        out.push("DeployRole", action, &resource, json!({}), want, why);
    }
    // Never another environment's function whose name extends this one's.
    let other = format!("arn:aws:lambda:{r}:{a}:function:{}-eu-token", env.qualified());
    out.push(
        "DeployRole",
        action,
        &other,
        json!({}),
        "Deny",
        format!("{} not another environment's function", env.name),
    );
}

/// The `alarms test` drill's queue, as `deploy::alarms::drill_queue_name` names it.
fn drill_queue(env: &Environment) -> String {
    let name = infra::deploy::alarms::drill_queue_name(env, 1_765_000_000);
    format!("arn:aws:sqs:{}:{}:{name}", env.region.as_str(), env.account_id.as_str())
}

/// The drill may subscribe its own queue to the alert topics, and nothing else to anything.
fn drill_requests(out: &mut Requests, env: &Environment) {
    let (a, r, q) = (env.account_id.as_str(), env.region.as_str(), env.qualified());
    let topic = format!("arn:aws:sns:{r}:{a}:{q}-critical");
    let queue = json!({"sns:Protocol": "sqs", "sns:Endpoint": drill_queue(env)});
    out.push(
        "DeployRole",
        "sns:Subscribe",
        &topic,
        queue,
        "Allow",
        format!("{} alarms test subscribes its queue", env.name),
    );
    let refused = [
        json!({"sns:Protocol": "email", "sns:Endpoint": "someone@example.com"}),
        json!({"sns:Protocol": "sqs", "sns:Endpoint": format!("arn:aws:sqs:{r}:{a}:{q}-other-queue")}),
        json!({"sns:Protocol": "https", "sns:Endpoint": "https://hooks.example.com/x"}),
    ];
    for context in refused {
        let why = format!("{} no other subscription: {context}", env.name);
        out.push("DeployRole", "sns:Subscribe", &topic, context, "Deny", why);
    }
    let other = format!("arn:aws:cloudwatch:{r}:{a}:alarm:other-service-prod-api-5xx-rate");
    out.push(
        "DeployRole",
        "cloudwatch:SetAlarmState",
        &other,
        json!({}),
        "Deny",
        format!("{} another service's alarm", env.name),
    );
}

/// What must stay denied: keys created without the environment's tags, other keys touched,
/// the bootstrap stack changed by the deploy role.
fn refusals(out: &mut Requests, env: &Environment, boot: &Resolver<'_>, tags: &BTreeMap<String, String>) {
    let (a, r) = (env.account_id.as_str(), env.region.as_str());
    let foreign = format!("arn:aws:kms:{r}:{a}:key/ffffffff-0000-4000-8000-000000000000");
    out.resource_policies.insert(
        foreign.clone(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{a}:root")}, "Action": "kms:*", "Resource": "*"}]}),
    );
    let other_tags = json!({"aws:RequestTag/service": "other", "aws:RequestTag/environment": env.name, "aws:TagKeys": ["service", "environment"]});
    out.push(
        "ExecutionRole",
        "kms:CreateKey",
        "*",
        other_tags.clone(),
        "Deny",
        format!("{}: a key of another service", env.name),
    );
    out.push("ExecutionRole", "kms:CreateKey", "*", json!({}), "Deny", format!("{}: an untagged key", env.name));
    out.push(
        "ExecutionRole",
        "kms:TagResource",
        &foreign,
        other_tags,
        "Deny",
        format!("{}: tag another key", env.name),
    );
    let resource_tags: serde_json::Map<String, Json> =
        tags.iter().map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v))).collect();
    // Another service's key: its own tags, a policy that defers to IAM and does not name the role.
    let foreign_tags = json!({"aws:ResourceTag/service": "other", "aws:ResourceTag/environment": env.name});
    for action in ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey", "kms:DescribeKey"] {
        out.push(
            "ExecutionRole",
            action,
            &foreign,
            foreign_tags.clone(),
            "Deny",
            format!("{}: administer a key whose policy does not name the role", env.name),
        );
    }
    // A key made before its policy named the role (bootstrap version 2): the first update reads
    // and rewrites its policy through the environment's tags, which it has long carried.
    let earlier = format!("arn:aws:kms:{r}:{a}:key/eeeeeeee-0000-4000-8000-000000000000");
    out.resource_policies.insert(
        earlier.clone(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{a}:root")}, "Action": "kms:*", "Resource": "*"}]}),
    );
    for action in ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:ListResourceTags"] {
        out.push(
            "ExecutionRole",
            action,
            &earlier,
            Json::Object(resource_tags.clone()),
            "Allow",
            format!("{}: adopt a key of bootstrap version 2", env.name),
        );
    }
    out.push("ExecutionRole", "kms:CreateKey", "*", json!({"aws:RequestTag/service": env.stack_prefix.as_str(), "aws:RequestTag/environment": env.name, "aws:TagKeys": ["service", "environment"], "kms:BypassPolicyLockoutSafetyCheck": "true"}), "Deny", format!("{}: a key that bypasses the lockout check", env.name));
    let bootstrap = format!("arn:aws:cloudformation:{r}:{a}:stack/{}/0000-1111", boot.stack_name);
    for action in ["cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack"] {
        out.push("DeployRole", action, &bootstrap, json!({}), "Deny", format!("{}: the bootstrap stack", env.name));
    }
}

/// Runs the evaluator over `input`; its report and whether every request was as expected.
fn evaluate(input: &Json, name: &str) -> (bool, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/iam-simulate");
    // Once per test process: the tests run in parallel, and `npm ci` replaces node_modules.
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| {
        dir.join("node_modules/@cloud-copilot/iam-simulate/package.json").is_file()
            || Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--silent"])
                .current_dir(&dir)
                .status()
                .is_ok_and(|s| s.success())
    });
    assert!(installed, "`npm ci` in scripts/iam-simulate failed: Node 20 and npm are needed");
    let file = std::env::temp_dir().join(format!("infra-iam-{}-{name}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec_pretty(input).unwrap()).unwrap();
    let run = Command::new("node").arg(dir.join("evaluate.mjs")).arg(&file).output().expect("node runs");
    let _ = std::fs::remove_file(&file);
    let report = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert_ne!(run.status.code(), Some(2), "the evaluator could not run the requests:\n{report}");
    // Its summary line (`iam-simulate: N requests, M as expected, K not`): it ran.
    assert!(report.contains(" as expected, "), "the evaluator did not run:\n{report}");
    (run.status.success(), report)
}

#[test]
fn every_role_is_allowed_what_is_called_in_its_name_and_nothing_it_must_not() {
    for name in Environment::names(&environments()).unwrap() {
        let env = Environment::load_named(&environments(), &name).unwrap();
        let requests = environment_requests(&env, &stacks::all(&env).unwrap());
        assert!(requests.requests.len() > 100, "{name}: only {} requests", requests.requests.len());
        let (ok, report) = evaluate(&requests.to_json(), &name);
        assert!(ok, "{name}:\n{report}");
    }
}

/// The evaluator sees what name matching did not: the execution role of the previous release
/// could tag keys only where they already carried the environment's tags, which a key being
/// created does not.
#[test]
fn a_tag_condition_on_a_key_being_created_is_denied() {
    let env = Environment::load_named(&environments(), "dev").unwrap();
    let stacks = stacks::all(&env).unwrap();
    let mut requests = environment_requests(&env, &stacks);
    let old = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["kms:CreateKey"], "Resource": "*"}, {
        "Effect": "Allow", "Action": ["kms:TagResource", "kms:EnableKeyRotation", "kms:PutKeyPolicy"],
        "Resource": format!("arn:aws:kms:{}:{}:key/*", env.region.as_str(), env.account_id.as_str()),
        "Condition": {"StringEquals": {"aws:ResourceTag/service": env.stack_prefix.as_str(), "aws:ResourceTag/environment": env.name}}}]});
    requests.principals["ExecutionRole"]["identity"] = json!([old]);
    // Key policies without the role: administration only through IAM, as before.
    for policy in requests.resource_policies.values_mut() {
        if let Some(sts) = policy["Statement"].as_array_mut() {
            sts.retain(|s| s["Sid"] != "CloudFormationAdministersKey");
        }
    }
    requests.requests.retain(|r| {
        r["principal"] == "ExecutionRole"
            && r["why"].as_str().unwrap().contains(" create ")
            && r["action"] == "kms:TagResource"
    });
    assert!(!requests.requests.is_empty());
    let (ok, report) = evaluate(&requests.to_json(), "old-dev");
    assert!(!ok, "the old policy passed:\n{report}");
    assert!(report.contains("DENIED ExecutionRole kms:TagResource"), "{report}");
}

/// Every SDK call of the CloudFormation and S3 clients in `infra/src` is in [`DEPLOY_CALLS`] or
/// [`NOT_IN_CI`], so a new call cannot skip the deploy role's evaluation.
#[test]
fn deploy_calls_cover_the_sdk_calls_in_the_source() {
    let registry = Path::new(
        &std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap())),
    )
    .join("registry/src");
    let mut operations = BTreeSet::new();
    for index in std::fs::read_dir(&registry).unwrap().flatten() {
        for krate in std::fs::read_dir(index.path()).unwrap().flatten() {
            let n = krate.file_name().to_string_lossy().into_owned();
            let clients = ["cloudformation", "s3", "lambda", "kms", "secretsmanager", "cloudwatch", "sns", "sqs"];
            if clients.iter().any(|c| n.starts_with(&format!("aws-sdk-{c}-"))) {
                for f in std::fs::read_dir(krate.path().join("src/client")).into_iter().flatten().flatten() {
                    let name = f.file_name().to_string_lossy().trim_end_matches(".rs").to_owned();
                    // `customize.rs` is the fluent builders' per-call configuration, no operation.
                    if name != "customize" {
                        operations.insert(name);
                    }
                }
            }
        }
    }
    assert!(
        operations.contains("create_change_set") && operations.contains("put_object"),
        "SDK sources not found under {}",
        registry.display()
    );
    let mut called = BTreeSet::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for op in &operations {
                    if text.contains(&format!(".{op}()")) {
                        called.insert(op.clone());
                    }
                }
            }
        }
    }
    let known: BTreeSet<&str> =
        DEPLOY_CALLS.iter().map(|(op, _, _)| *op).chain(NOT_IN_CI.iter().map(|(op, _)| *op)).collect();
    let missing: Vec<&String> = called.iter().filter(|op| !known.contains(op.as_str())).collect();
    assert!(missing.is_empty(), "SDK calls in infra/src without a row in DEPLOY_CALLS or NOT_IN_CI: {missing:?}");
}

#[test]
#[ignore = "writes the evaluator's input for reading: cargo test --test iam_evaluated dump -- --ignored"]
fn dump() {
    let env = Environment::load_named(&environments(), "prod").unwrap();
    let r = environment_requests(&env, &stacks::all(&env).unwrap());
    std::fs::write("/tmp/iam-prod.json", serde_json::to_vec_pretty(&r.to_json()).unwrap()).unwrap();
}
