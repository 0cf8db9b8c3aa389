//! The bootstrap stack, like `cdk bootstrap`: the bucket function artifacts are uploaded to
//! (encrypted, versioned, private, TLS only; current artifacts never expire, since a rollback
//! may need any of them, only replaced versions and unfinished uploads), the role CloudFormation
//! deploys the other stacks with, the role GitHub Actions assume through OIDC to deploy, and,
//! where `ci.plan_pull_requests`, the role a pull request's job assumes to plan: it may make
//! change sets, never execute them.

use serde_json::json;

use super::outputs::bootstrap as output;
use crate::cfn::policy::{PolicyDocument, Principal, Statement};
use crate::cfn::resources::{iam, s3};
use crate::cfn::{Handle, ModelError, Options, Template, Value};
use crate::env::Environment;

/// The bootstrap stack's version: raised whenever what `deploy` needs of it (the roles'
/// permissions, the permissions boundary) changes, so `deploy` can ask for `bootstrap` first
/// (as CDK's `BootstrapVersion`). 2: envelope signing (key pair generation, `kms:Decrypt`). 3: the execution role's fixed name,
/// which the stacks' key policies name, roles by path, and the deploy role's `DeleteStack` and
/// Lambda quota reads. 4: the deploy role reads the alarms (rollback triggers name only those
/// that exist), runs `alarms test`, and lists the assets bucket (a missing artifact is a 404).
/// 5: the deploy role reads the function's code, and where hotswaps are allowed updates it.
/// 6: the plan role pull requests plan with (`diff --out`), and create-only artifact uploads.
pub const VERSION: u32 = 6;

/// The key prefix of function artifacts in the assets bucket: deploy uploads under it, and the
/// roles may read and write only under it.
pub const ARTIFACT_PREFIX: &str = "token-function";

const GITHUB_OIDC: &str = "token.actions.githubusercontent.com";

/// Builds the bootstrap stack's template for `env`: the assets bucket, the stack roles'
/// permissions boundary and the CloudFormation execution role, the GitHub Actions deploy role
/// (with the OIDC provider where `ci.create_oidc_provider`), and their outputs with [`VERSION`].
pub fn build(env: &Environment) -> Result<Template, ModelError> {
    let mut t = Template::new(format!("Token service ({}): assets bucket for function artifacts", env.name));
    let (bucket, artifacts) = assets_bucket(&mut t, env)?;
    t.output(output::BUCKET, "Bucket for function artifacts", bucket.r#ref())?;
    let exec = execution_role(&mut t, env, &artifacts)?;
    t.output(output::EXECUTION_ROLE, "Role CloudFormation deploys this environment's stacks with", exec.arn())?;
    let provider = oidc_provider(&mut t, env)?;
    let (q, repo) = (env.qualified(), &env.ci.github_repository);
    let deploy = t.add(
        "DeployRole",
        github_role(
            &provider,
            format!("repo:{repo}:environment:{}", env.name),
            format!("{q}: GitHub Actions of {repo} (environment {}) deploy through CloudFormation", env.name),
            ("deploy", deploy_statements(env, &exec, (&bucket, &artifacts))),
        ),
    )?;
    t.output(output::DEPLOY_ROLE, "Role GitHub Actions assume to deploy this environment", deploy.arn())?;
    if env.ci.plan_pull_requests {
        let plan = t.add(
            "PlanRole",
            github_role(
                &provider,
                format!("repo:{repo}:pull_request"),
                format!("{q}: pull requests of {repo} plan through CloudFormation change sets, never execute them"),
                ("plan", plan_statements(env, &exec, (&bucket, &artifacts))),
            ),
        )?;
        t.output(output::PLAN_ROLE, "Role pull requests' GitHub Actions assume to plan (never deploy)", plan.arn())?;
    }
    t.output(output::VERSION, "What deploy needs of this stack, as a version (infra checks it)", VERSION.to_string())?;
    Ok(t)
}

/// The assets bucket (versioned, TLS only, kept on deletion) and the ARN pattern of the
/// function artifacts in it.
fn assets_bucket(t: &mut Template, env: &Environment) -> Result<(Handle<s3::Bucket>, Value<String>), ModelError> {
    // Days an overwritten or deleted artifact version is kept (the setting's name predates
    // this meaning; current artifacts are kept for good).
    let noncurrent_days = env.deploy.artifact_retention_days.get();
    let bucket = t.add_with(
        "AssetsBucket",
        s3::Bucket {
            bucket_encryption: json!({"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}),
            versioning_configuration: json!({"Status": "Enabled"}),
            public_access_block_configuration: json!({
                "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true
            }),
            ownership_controls: json!({"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}),
            // Artifacts are content-addressed and reused across deploys, so any current
            // object may be the code a stack rolls back to: current objects never expire.
            // Only versions that were overwritten or deleted go, and unfinished uploads.
            lifecycle_configuration: json!({"Rules": [
                {
                    "Id": "expire-replaced-artifact-versions",
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days}
                },
                {
                    "Id": "abort-incomplete-uploads",
                    "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}
                }
            ]}),
        },
        Options::new().retain(true),
    )?;
    let objects = Value::sub(format!("{}/*", bucket.arn().sub()));
    // Where function artifacts go: deploy uploads them, CloudFormation's Lambda calls read them.
    let artifacts = Value::sub(format!("{}/{}/*", bucket.arn().sub(), ARTIFACT_PREFIX));
    t.add(
        "AssetsBucketPolicy",
        s3::BucketPolicy {
            bucket: bucket.r#ref(),
            policy_document: PolicyDocument::new(vec![
                Statement::deny(&["s3:*"], vec![bucket.arn().into(), objects])
                    .sid("DenyWithoutTls")
                    .principal(Principal::anyone())
                    .condition(json!({"Bool": {"aws:SecureTransport": "false"}})),
            ]),
        },
    )?;
    Ok((bucket, artifacts))
}

/// The permissions boundary of the stacks' roles, and the role CloudFormation deploys the
/// service and monitoring stacks with.
fn execution_role(
    t: &mut Template,
    env: &Environment,
    artifacts: &Value<String>,
) -> Result<Handle<iam::Role>, ModelError> {
    let q = env.qualified();
    t.add(
        "StackRoleBoundary",
        iam::ManagedPolicy {
            managed_policy_name: stack_role_boundary_name(env),
            description: format!("{q}: the most any role of the service and monitoring stacks may do"),
            policy_document: PolicyDocument::new(boundary_statements(env)),
        },
    )?;
    t.add(
        "ExecutionRole",
        iam::Role {
            role_name: Some(execution_role_name(env)),
            path: None,
            assume_role_policy_document: PolicyDocument::new(vec![
                Statement::allow(&["sts:AssumeRole"], vec![])
                    .principal(Principal::service("cloudformation.amazonaws.com")),
            ]),
            description: Some(format!("{q}: CloudFormation creates and updates the service and monitoring stacks")),
            managed_policy_arns: vec![],
            policies: vec![iam::InlinePolicy {
                policy_name: "deploy-token-service".into(),
                policy_document: PolicyDocument::new(execution_statements(env, artifacts)),
            }],
            permissions_boundary: None,
        },
    )
}

/// GitHub's OIDC provider: created here where `ci.create_oidc_provider`, else the account's.
fn oidc_provider(t: &mut Template, env: &Environment) -> Result<Value<String>, ModelError> {
    Ok(if env.ci.create_oidc_provider {
        let p = t.add(
            "GithubOidcProvider",
            iam::OidcProvider {
                url: format!("https://{GITHUB_OIDC}"),
                client_id_list: vec!["sts.amazonaws.com".into()],
            },
        )?;
        p.arn().into()
    } else {
        Value::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_OIDC}"))
    })
}

/// A role GitHub Actions of this repository assume through `provider` when their OIDC token's
/// subject is `subject` ("About security hardening with OpenID Connect", GitHub docs: a job in
/// an environment is `repo:<owner>/<repo>:environment:<name>`, a pull request's job
/// `repo:<owner>/<repo>:pull_request`).
fn github_role(
    provider: &Value<String>,
    subject: String,
    description: String,
    policy: (&str, Vec<Statement>),
) -> iam::Role {
    iam::Role {
        role_name: None,
        path: None,
        assume_role_policy_document: PolicyDocument::new(vec![
            Statement::allow(&["sts:AssumeRoleWithWebIdentity"], vec![])
                .principal(Principal::Federated(provider.clone()))
                .condition(json!({
                    "StringEquals": {
                        format!("{GITHUB_OIDC}:aud"): "sts.amazonaws.com",
                        format!("{GITHUB_OIDC}:sub"): subject
                    }
                })),
        ]),
        description: Some(description),
        managed_policy_arns: vec![],
        policies: vec![iam::InlinePolicy {
            policy_name: policy.0.into(),
            policy_document: PolicyDocument::new(policy.1),
        }],
        permissions_boundary: None,
    }
}

/// The stacks a deploy or plan role works on (`service`, `monitoring`, `bootstrap`), by ARN.
fn stack_arn(env: &Environment, suffix: &str) -> Value<String> {
    Value::sub(format!(
        "arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{}-{suffix}/*",
        env.qualified()
    ))
}

/// What a pull request's plan (`diff --out`) calls, with the plan role (trusted by the OIDC
/// subject `repo:<repo>:pull_request`; a pull request from a fork gets no OIDC token, "Approving
/// workflow runs from public forks", GitHub docs; what it plans runs only once merged, checked
/// by `deploy --from-plan` against the merged code): it makes, reads and deletes change sets of
/// this environment's stacks with the execution role, uploads new artifacts only (the
/// `s3:if-none-match` condition: "Enforce conditional writes on Amazon S3 buckets", S3 User
/// Guide), and reads what the deploy role reads. It may not execute a change set, delete a
/// stack, overwrite an artifact, or change the function, keys or alarms.
fn plan_statements(
    env: &Environment,
    exec: &Handle<iam::Role>,
    (bucket, artifacts): (&Handle<s3::Bucket>, &Value<String>),
) -> Vec<Statement> {
    let stacks = vec![stack_arn(env, "service"), stack_arn(env, "monitoring")];
    vec![
        // Only with the execution role (a change set made without one would run with the
        // deploy role's own credentials: cloudformation:RoleArn, absent then, fails
        // StringEquals), and never importing resources (Service Authorization Reference, AWS
        // CloudFormation; CloudFormation User Guide, "Control access with IAM": the Deny with
        // ForAnyValue on cloudformation:ImportResourceTypes).
        Statement::allow(&["cloudformation:CreateChangeSet"], stacks.clone())
            .sid("PlanWithTheExecutionRoleOnly")
            .condition(json!({"StringEquals": {"cloudformation:RoleArn": Value::<String>::from(exec.arn())}})),
        Statement::deny(&["cloudformation:CreateChangeSet"], stacks.clone())
            .sid("ImportNothing")
            .condition(json!({"ForAnyValue:StringLike": {"cloudformation:ImportResourceTypes": ["*"]}})),
        Statement::allow(
            &[
                "cloudformation:DescribeChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:GetTemplate",
            ],
            stacks,
        )
        .sid("ReadTheEnvironmentsStacks"),
        Statement::allow(&["s3:PutObject"], vec![artifacts.clone()])
            .sid("UploadNewFunctionArtifactsOnly")
            .condition(json!({"Null": {"s3:if-none-match": "false"}})),
        Statement::allow(&["s3:GetObject"], vec![artifacts.clone()]).sid("ReadFunctionArtifacts"),
    ]
    .into_iter()
    .chain(reading_statements(env, exec, bucket))
    .collect()
}

/// What the deploy role may do: change this environment's stacks through change sets with the
/// execution role, read the bootstrap stack and quotas, upload artifacts, and make and store
/// envelope mode's key pairs.
fn deploy_statements(
    env: &Environment,
    exec: &Handle<iam::Role>,
    (bucket, artifacts): (&Handle<s3::Bucket>, &Value<String>),
) -> Vec<Statement> {
    let q = env.qualified();
    vec![
        Statement::allow(
            &[
                "cloudformation:CreateChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DeleteChangeSet",
                // A change set's empty stack that was not executed, and a failed
                // first create (`deploy --replace-failed`), are deleted.
                "cloudformation:DeleteStack",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                // `deploy --from-plan` compares each change set's template with the one
                // synthesized; a hotswap compares the deployed templates.
                "cloudformation:GetTemplate",
                "cloudformation:UpdateTerminationProtection",
                "cloudformation:CancelUpdateStack",
                "cloudformation:ContinueUpdateRollback",
                "cloudformation:RollbackStack",
                "cloudformation:DetectStackDrift",
                "cloudformation:DescribeStackResourceDrifts",
            ],
            vec![stack_arn(env, "service"), stack_arn(env, "monitoring")],
        )
        .sid("ChangeTheEnvironmentsStacks"),
        Statement::allow(&["cloudformation:DescribeStackDriftDetectionStatus"], vec!["*".into()])
            .sid("ReadDriftDetection"),
        Statement::allow(&["s3:GetObject", "s3:PutObject"], vec![artifacts.clone()]).sid("UploadFunctionArtifacts"),
        // Envelope mode: deploy generates the signing key pairs (crate::deploy::key_pairs).
        // Conditioned on the encryption context the pairs are made under, not on the
        // key's tags, which may lag a new key's by minutes.
        Statement::allow(&["kms:GenerateDataKeyPairWithoutPlaintext"], vec![sub(format!("{P}:kms:{RA}:key/*"))])
            .sid("GenerateSigningKeyPairs")
            .condition(json!({"StringEquals": {"kms:EncryptionContext:service": q.clone()}})),
        Statement::allow(
            &[
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
                "secretsmanager:ListSecretVersionIds",
            ],
            vec![sub(format!("{P}:secretsmanager:{RA}:secret:{q}/signing-key-pairs-*"))],
        )
        .sid("StoreSigningKeyPairs"),
    ]
    .into_iter()
    .chain(reading_statements(env, exec, bucket))
    .chain(alarm_statements(env))
    .chain(function_statements(env))
    .collect()
}

/// What the deploy and plan roles both need: read the bootstrap stack (never change it: it
/// holds these roles), the Lambda quotas, the function's concurrency and code, the alarms;
/// pass the execution role to CloudFormation; tell a missing artifact from a refusal.
fn reading_statements(env: &Environment, exec: &Handle<iam::Role>, bucket: &Handle<s3::Bucket>) -> Vec<Statement> {
    let q = env.qualified();
    let name = super::function_name(env);
    vec![
        Statement::allow(
            &["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"],
            vec![stack_arn(env, "bootstrap")],
        )
        .sid("ReadTheBootstrapStack"),
        // Before a deploy: does the function's reserved concurrency fit the account
        // (crate::deploy::quotas)?
        Statement::allow(&["lambda:GetAccountSettings"], vec!["*".into()]).sid("ReadLambdaQuotas"),
        Statement::allow(&["lambda:GetFunctionConcurrency"], vec![sub(format!("{P}:lambda:{RA}:function:{q}-*"))])
            .sid("ReadTheFunctionsConcurrency"),
        Statement::allow(&["iam:PassRole"], vec![exec.arn().into()])
            .sid("DeployWithTheExecutionRole")
            .condition(json!({"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}})),
        // Without s3:ListBucket, S3 answers a missing object with 403, not 404 (S3 API
        // reference, "HeadObject", Permissions): a deploy tells a removed artifact from a
        // refusal only with it. (No s3:prefix condition: HeadObject carries none.)
        Statement::allow(&["s3:ListBucket"], vec![bucket.arn().into()]).sid("TellAMissingArtifactFromARefusal"),
        // Rollback triggers name only alarms that exist (crate::deploy::alarms::existing).
        Statement::allow(&["cloudwatch:DescribeAlarms"], vec![sub(format!("{P}:cloudwatch:{RA}:alarm:{q}-*"))])
            .sid("ReadTheAlarms"),
        // diff, deploy and drift compare the code the function runs with its stack's
        // (crate::deploy::hotswap::code_drift).
        Statement::allow(
            &["lambda:GetFunctionConfiguration", "lambda:GetAlias"],
            vec![sub(format!("{P}:lambda:{RA}:function:{name}")), sub(format!("{P}:lambda:{RA}:function:{name}:*"))],
        )
        .sid("ReadTheFunctionsCode"),
    ]
}

/// Where the environment allows hotswaps, the deploy role may update the function's code
/// (`deploy::hotswap::swap`; no version or alias: no such environment has a canary,
/// DEPLOY004), so a production deploy role cannot change code but through CloudFormation.
fn function_statements(env: &Environment) -> Vec<Statement> {
    let name = super::function_name(env);
    let function =
        || vec![sub(format!("{P}:lambda:{RA}:function:{name}")), sub(format!("{P}:lambda:{RA}:function:{name}:*"))];
    match env.deploy.allow_hotswap {
        true => vec![Statement::allow(&["lambda:UpdateFunctionCode"], function()).sid("HotswapTheFunctionsCode")],
        false => vec![],
    }
}

/// What the deploy role needs of the environment's alarms besides reading them: `alarms test`
/// drills them through a temporary queue (`deploy::alarms`).
fn alarm_statements(env: &Environment) -> Vec<Statement> {
    let q = env.qualified();
    let alarms = || vec![sub(format!("{P}:cloudwatch:{RA}:alarm:{q}-*"))];
    let topics = || vec![sub(format!("{P}:sns:{RA}:{q}-*"))];
    let drill_queue = format!("{P}:sqs:{RA}:{q}{}*", super::alarms::DRILL_QUEUE_MARK);
    vec![
        Statement::allow(&["cloudwatch:SetAlarmState"], alarms()).sid("DrillTheAlarms"),
        Statement::allow(&["sns:ListSubscriptionsByTopic", "sns:GetTopicAttributes", "sns:Unsubscribe"], topics())
            .sid("ReadTheAlertTopics"),
        Statement::allow(&["sns:Subscribe"], topics()).sid("SubscribeOnlyTheDrillQueue").condition(json!({
            "StringEquals": {"sns:Protocol": "sqs"},
            "StringLike": {"sns:Endpoint": {"Fn::Sub": drill_queue.clone()}}
        })),
        Statement::allow(
            &[
                "sqs:CreateQueue",
                "sqs:GetQueueAttributes",
                "sqs:SetQueueAttributes",
                "sqs:ReceiveMessage",
                "sqs:GetQueueUrl",
                "sqs:DeleteQueue",
            ],
            vec![sub(drill_queue)],
        )
        .sid("TheDrillQueue"),
    ]
}

/// The path of every role of the service and monitoring stacks (`/<prefix>-<env>/`): the
/// execution role may manage only roles under it, and the bootstrap stack's roles are not.
pub fn stack_role_path(env: &Environment) -> String {
    format!("/{}/", env.qualified())
}

/// The execution role's name: fixed, so the stacks' key policies can name it as the keys'
/// administrator before it is looked up.
pub fn execution_role_name(env: &Environment) -> String {
    format!("{}-cfn-execution", env.qualified())
}

/// The execution role's ARN, as the stacks' key policies name it.
pub fn execution_role_arn(env: &Environment) -> Value<String> {
    Value::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{}", execution_role_name(env)))
}

/// The name of the permissions boundary every role of the service and monitoring stacks carries.
pub fn stack_role_boundary_name(env: &Environment) -> String {
    format!("{}-stack-role-boundary", env.qualified())
}

/// The boundary's ARN, as the stacks' roles and the execution role's conditions name it.
pub fn stack_role_boundary(env: &Environment) -> Value<String> {
    Value::sub(format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}", stack_role_boundary_name(env)))
}

/// The permissions boundary: the union of what the stacks' roles need, so a role the execution
/// role creates or changes can never do more, whatever policy it is given. The function signs
/// with the environment's keys, reads its registry and writes its logs and traces
/// (`token_function::permissions`); API Gateway's account logging role writes logs
/// (`AmazonAPIGatewayPushToCloudWatchLogs`); CodeDeploy shifts the function's alias watching
/// alarms (`AWSCodeDeployRoleForLambdaLimited`).
fn boundary_statements(env: &Environment) -> Vec<Statement> {
    let q = env.qualified();
    vec![
        Statement::allow(&["kms:Sign", "kms:GetPublicKey"], vec![sub(format!("{P}:kms:{RA}:key/*"))])
            .sid("SignWithTheEnvironmentsKeys")
            .condition(tagged_with(env)),
        // Envelope mode: a signing key pair of this service. The encryption context is part of the
        // request, so this holds from the key's first second (tag conditions may lag a new key's
        // tags by minutes: AWS KMS developer guide, "ABAC for AWS KMS").
        Statement::allow(&["kms:Decrypt"], vec![sub(format!("{P}:kms:{RA}:key/*"))])
            .sid("DecryptTheEnvironmentsKeyPairs")
            .condition(json!({"StringEquals": {"kms:EncryptionContext:service": q}})),
        Statement::allow(
            &["secretsmanager:GetSecretValue"],
            vec![sub(format!("{P}:secretsmanager:{RA}:secret:{q}/*"))],
        )
        .sid("ReadTheEnvironmentsSecrets"),
        // API Gateway's logging role is the account's: it writes any API's logs in the account.
        Statement::allow(
            &[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ],
            vec![sub(format!("{P}:logs:*:${{AWS::AccountId}}:log-group:*"))],
        )
        .sid("WriteLogs"),
        Statement::allow(
            &["logs:DescribeLogGroups", "xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            vec!["*".into()],
        )
        .sid("UnscopableCalls"),
        Statement::allow(&["cloudwatch:DescribeAlarms"], vec![sub(format!("{P}:cloudwatch:{RA}:alarm:{q}-*"))])
            .sid("ReadTheEnvironmentsAlarms"),
        Statement::allow(
            &["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
            vec![sub(format!("{P}:lambda:{RA}:function:{q}-*"))],
        )
        .sid("ShiftTheFunctionsAlias"),
    ]
}

/// The condition that a resource carries this environment's own tags ([`Environment::own_tags`],
/// which CloudFormation puts on every resource of its stacks).
fn tagged_with(env: &Environment) -> serde_json::Value {
    let tags: serde_json::Map<String, serde_json::Value> =
        env.own_tags().iter().map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v))).collect();
    json!({ "StringEquals": tags })
}

/// Managed policies the stacks attach to their roles: the only ones the execution role may
/// attach (`iam:PolicyARN`), so it cannot hand a role of its own making more.
pub const ATTACHABLE_POLICIES: [&str; 2] = [
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited",
];

/// Services the stacks' roles are passed to (`iam:PassedToService`).
pub const ROLE_USERS: [&str; 3] = ["lambda.amazonaws.com", "apigateway.amazonaws.com", "codedeploy.amazonaws.com"];

/// What CloudFormation may do with this environment's resources, by service, scoped to the
/// environment's names wherever the service supports it. IAM004 holds it against the resource
/// handlers' permissions; the roles it may touch are only those of the stacks it deploys, never
/// the bootstrap stack's own.
fn execution_statements(env: &Environment, artifacts: &Value<String>) -> Vec<Statement> {
    let q = env.qualified();
    let mut all = roles(env);
    all.extend(functions(&q, artifacts));
    all.extend(logs(&q));
    all.extend(keys(env));
    all.extend(secrets_and_api(&q));
    all.extend(monitoring(&q));
    all.push(canary(&q));
    all
}

fn sub(s: String) -> Value<String> {
    Value::sub(s)
}

const P: &str = "arn:${AWS::Partition}";
const RA: &str = "${AWS::Region}:${AWS::AccountId}";

fn roles(env: &Environment) -> Vec<Statement> {
    let stack_roles = || vec![sub(format!("{P}:iam::${{AWS::AccountId}}:role{}*", stack_role_path(env)))];
    let bounded = json!({"StringEquals": {"iam:PermissionsBoundary": stack_role_boundary(env)}});
    vec![
        // Reads, tags and trust: the boundary caps what any of these roles can do.
        Statement::allow(
            &[
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
            ],
            stack_roles(),
        )
        .sid("StackRoles"),
        // What changes a role's permissions, only on roles that carry the boundary; the boundary
        // itself can be set but never removed.
        Statement::allow(
            &[
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            stack_roles(),
        )
        .sid("ChangeOnlyBoundedStackRoles")
        .condition(bounded.clone()),
        Statement::allow(&["iam:AttachRolePolicy"], stack_roles()).sid("AttachOnlyTheStacksManagedPolicies").condition(
            json!({
                "ArnEquals": {"iam:PolicyARN": ATTACHABLE_POLICIES.iter().map(|a| sub((*a).to_owned())).collect::<Vec<_>>()},
                "StringEquals": {"iam:PermissionsBoundary": stack_role_boundary(env)},
            }),
        ),
        // A custom domain makes API Gateway create its service-linked role the first time in an
        // account (API Gateway developer guide, "Using service-linked roles for API Gateway").
        Statement::allow(
            &["iam:CreateServiceLinkedRole"],
            vec![sub(format!("{P}:iam::${{AWS::AccountId}}:role/aws-service-role/ops.apigateway.amazonaws.com/*"))],
        )
        .sid("ApiGatewayServiceLinkedRole")
        .condition(json!({"StringEquals": {"iam:AWSServiceName": "ops.apigateway.amazonaws.com"}})),
        Statement::allow(&["iam:PassRole"], stack_roles())
            .sid("PassStackRolesToTheirServices")
            .condition(json!({"StringEquals": {"iam:PassedToService": ROLE_USERS}})),
    ]
}

fn functions(q: &str, artifacts: &Value<String>) -> Vec<Statement> {
    vec![
        Statement::allow(
            &[
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionRecursionConfig",
                "lambda:GetFunctionScalingConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:GetProvisionedConcurrencyConfig",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:GetPolicy",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
                "lambda:PublishVersion",
                "lambda:ListVersionsByFunction",
                "lambda:CreateAlias",
                "lambda:UpdateAlias",
                "lambda:DeleteAlias",
                "lambda:GetAlias",
            ],
            vec![sub(format!("{P}:lambda:{RA}:function:{q}-*"))],
        )
        .sid("Functions"),
        // Lambda reads the code from S3 with the caller's permissions.
        Statement::allow(&["s3:GetObject", "s3:GetObjectVersion"], vec![artifacts.clone()])
            .sid("ReadFunctionArtifacts"),
    ]
}

fn logs(q: &str) -> Vec<Statement> {
    vec![
        Statement::allow(
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:GetDataProtectionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
            ],
            vec![
                sub(format!("{P}:logs:{RA}:log-group:/aws/lambda/{q}-*")),
                sub(format!("{P}:logs:{RA}:log-group:/aws/apigateway/{q}-*")),
            ],
        )
        .sid("LogGroups"),
        Statement::allow(
            &[
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:CreateLogDelivery",
                "kms:ListAliases",
                "sns:Unsubscribe",
                "sns:GetSubscriptionAttributes",
                "sns:SetSubscriptionAttributes",
                "codedeploy:StopDeployment",
            ],
            vec!["*".into()],
        )
        .sid("UnscopableCalls"),
    ]
}

/// Keys: creating them, only with this environment's stack tags (CloudFormation passes a
/// stack's tags to `CreateKey`). Tagging at create needs `kms:TagResource` in an IAM policy not
/// restricted to particular keys (AWS KMS developer guide, "Controlling access to tags"): it is
/// held to the same request tags, not to the key's own tags, which a key being created does not
/// have yet. Everything after the create is granted by each key's own policy
/// ([`Statement::key_administered_by`]), never by tags, whose authorization may lag a new key's
/// by up to five minutes ("ABAC for AWS KMS").
fn keys(env: &Environment) -> Vec<Statement> {
    let q = env.qualified();
    let request_tags: serde_json::Map<String, serde_json::Value> =
        env.own_tags().iter().map(|(k, v)| (format!("aws:RequestTag/{k}"), json!(v))).collect();
    let resource_tags: serde_json::Map<String, serde_json::Value> =
        env.own_tags().iter().map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v))).collect();
    vec![
        // Never a key that bypasses KMS's check that its policy leaves someone able to manage it.
        Statement::allow(&["kms:CreateKey"], vec!["*".into()]).sid("CreateKeysTaggedForTheEnvironment").condition(
            json!({ "StringEquals": request_tags.clone(), "BoolIfExists": {"kms:BypassPolicyLockoutSafetyCheck": "false"} }),
        ),
        Statement::allow(&["kms:TagResource"], vec![sub(format!("{P}:kms:{RA}:key/*"))])
            .sid("TagKeysAsTheyAreCreated")
            .condition(json!({ "StringEquals": request_tags })),
        Statement::allow(
            &["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            vec![sub(format!("{P}:kms:{RA}:alias/{q}-*"))],
        )
        .sid("TheEnvironmentsKeyAliases"),
        // Keys made before their policies named this role (bootstrap version 2 and earlier) have
        // carried the environment's tags for long: the update that adds the role to their
        // policies reads and writes them through these tags.
        Statement::allow(
            &["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:ListResourceTags"],
            vec![sub(format!("{P}:kms:{RA}:key/*"))],
        )
        .sid("AdoptTheEnvironmentsEarlierKeys")
        .condition(json!({ "StringEquals": resource_tags })),
    ]
}

fn secrets_and_api(q: &str) -> Vec<Statement> {
    vec![
        Statement::allow(
            &[
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:UpdateSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
            ],
            vec![sub(format!("{P}:secretsmanager:{RA}:secret:{q}/*"))],
        )
        .sid("ClientRegistry"),
        Statement::allow(
            &[
                "apigateway:GET",
                "apigateway:POST",
                "apigateway:PUT",
                "apigateway:PATCH",
                "apigateway:DELETE",
                "apigateway:SetWebACL",
            ],
            vec![sub(format!("{P}:apigateway:${{AWS::Region}}::/*"))],
        )
        .sid("Api"),
        Statement::allow(
            &[
                "wafv2:CreateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:GetWebACL",
                "wafv2:UpdateWebACL",
                "wafv2:AssociateWebACL",
                "wafv2:DisassociateWebACL",
                "wafv2:GetWebACLForResource",
                "wafv2:GetPermissionPolicy",
                "wafv2:PutPermissionPolicy",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "wafv2:ListTagsForResource",
            ],
            vec![
                sub(format!("{P}:wafv2:{RA}:regional/webacl/{q}-*/*")),
                sub(format!("{P}:wafv2:{RA}:regional/managedruleset/*/*")),
                sub(format!("{P}:apigateway:${{AWS::Region}}::/restapis/*/stages/*")),
            ],
        )
        .sid("Firewall"),
    ]
}

fn monitoring(q: &str) -> Vec<Statement> {
    let tags = ["cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"];
    vec![
        Statement::allow(
            &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:GetDataProtectionPolicy",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:ListTagsForResource",
            ],
            vec![sub(format!("{P}:sns:{RA}:{q}-*"))],
        )
        .sid("AlertTopics"),
        Statement::allow(
            &[&["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms"][..], &tags]
                .concat(),
            vec![sub(format!("{P}:cloudwatch:{RA}:alarm:{q}-*"))],
        )
        .sid("Alarms"),
        Statement::allow(
            &[&["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard"][..], &tags]
                .concat(),
            vec![sub(format!("{P}:cloudwatch::${{AWS::AccountId}}:dashboard/{q}"))],
        )
        .sid("Dashboard"),
        Statement::allow(
            &[
                "budgets:ModifyBudget",
                "budgets:ViewBudget",
                "budgets:TagResource",
                "budgets:UntagResource",
                "budgets:ListTagsForResource",
            ],
            vec![sub(format!("{P}:budgets::${{AWS::AccountId}}:budget/{q}-*"))],
        )
        .sid("Budget"),
    ]
}

fn canary(q: &str) -> Statement {
    Statement::allow(
        &[
            "codedeploy:CreateApplication",
            "codedeploy:DeleteApplication",
            "codedeploy:GetApplication",
            "codedeploy:GetApplicationRevision",
            "codedeploy:CreateDeploymentGroup",
            "codedeploy:UpdateDeploymentGroup",
            "codedeploy:DeleteDeploymentGroup",
            "codedeploy:GetDeploymentGroup",
            "codedeploy:CreateDeployment",
            "codedeploy:GetDeployment",
            "codedeploy:ListDeployments",
            "codedeploy:GetDeploymentConfig",
            "codedeploy:RegisterApplicationRevision",
            "codedeploy:TagResource",
            "codedeploy:UntagResource",
            "codedeploy:ListTagsForResource",
        ],
        vec![
            sub(format!("{P}:codedeploy:{RA}:application:{q}-*")),
            sub(format!("{P}:codedeploy:{RA}:deploymentgroup:{q}-*/*")),
            sub(format!("{P}:codedeploy:{RA}:deploymentconfig:*")),
        ],
    )
    .sid("Canary")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Artifacts are content-addressed and reused across deploys, so the key a stack would roll
    /// back to may be the oldest object in the bucket: if a rule expired current objects, the
    /// rollback would fail (`UPDATE_ROLLBACK_FAILED`). Only safe rules may be there.
    #[test]
    fn no_lifecycle_rule_expires_current_artifacts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        for name in Environment::names(&dir).unwrap() {
            let env = Environment::load_named(&dir, &name).unwrap();
            let t = build(&env).unwrap().to_json();
            let bucket = &t["Resources"]["AssetsBucket"]["Properties"];
            let versioned = bucket["VersioningConfiguration"]["Status"] == "Enabled";
            let rules = bucket["LifecycleConfiguration"]["Rules"].as_array().unwrap();
            assert!(!rules.is_empty(), "{name}");
            let mut aborts_uploads = false;
            for rule in rules {
                let id = &rule["Id"];
                // `ExpirationInDays`/`ExpirationDate` delete current objects; transitions to an
                // archive class would make them unreadable by Lambda too.
                for key in ["ExpirationInDays", "ExpirationDate", "Transition", "Transitions"] {
                    assert!(rule.get(key).is_none(), "{name}: rule {id} has {key}, which removes current artifacts");
                }
                if rule.get("NoncurrentVersionExpiration").is_some() {
                    assert!(versioned, "{name}: rule {id} expires noncurrent versions of an unversioned bucket");
                    assert!(rule["NoncurrentVersionExpiration"]["NoncurrentDays"].as_u64().unwrap() >= 1, "{name}");
                }
                aborts_uploads |= rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].is_u64();
            }
            assert!(aborts_uploads, "{name}: incomplete multipart uploads are never cleaned up");
            assert_eq!(t["Resources"]["AssetsBucket"]["DeletionPolicy"], "RetainExceptOnCreate", "{name}");
        }
    }
}
