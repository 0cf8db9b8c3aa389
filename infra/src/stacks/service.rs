//! The token service: signing key, client registry secret, function with its role and log
//! group, and the REST API in front of it (with WAF and a custom domain where configured).

use std::collections::BTreeMap;

use super::outputs::service as output;
use crate::cfn::policy::{PolicyDocument, Principal, Statement};
use crate::cfn::resources::apigateway::{self, ApiResource, EndpointConfiguration, RestApi};
use crate::cfn::resources::{Empty, codedeploy, iam, kms, lambda, logs, secretsmanager, wafv2};
use crate::cfn::{Condition, ConditionHandle, Handle, ModelError, Options, ParamHandle, Parameter, Template, Value};
use crate::env::{CanarySettings, Environment, Issuer, TracingMode};
use crate::keys::{Slot, Stage};
use token_function::error::OAuthError;
use token_function::http::{Endpoint, Response, error_answer, error_response, not_found};
use token_function::jwt::Algorithm;
use token_function::key_pairs::SigningMode;

/// Names of the template's parameters: the function artifact, supplied at deploy time so the
/// template does not change when only the code does.
pub const PARAM_ARTIFACT_BUCKET: &str = "ArtifactBucket";
/// The parameter holding the S3 key of the function's zip in that bucket (its SHA-256).
pub const PARAM_ARTIFACT_KEY: &str = "ArtifactKey";

/// The function's variable holding the issuer (`iss`, the base of its metadata).
pub const ISSUER_VARIABLE: &str = "TOKEN_ISSUER";

/// The function's environment variables that come straight from the environment file, with
/// the key each comes from (so findings about their size can point at the file).
pub const VARIABLES_FROM_FILE: [(&str, &str); 3] = [
    (ISSUER_VARIABLE, "api.custom_domain"),
    ("TOKEN_AUDIENCE", "token.audience"),
    ("TOKEN_TTL_SECONDS", "token.ttl_seconds"),
];

/// Logical ids other code (deploy, monitoring) looks up.
pub const FUNCTION_ID: &str = "TokenFunction";
/// The REST API's logical id.
pub const API_ID: &str = "TokenApi";

/// What API Gateway answers for a path the API does not define (its `MISSING_AUTHENTICATION_TOKEN`
/// response, by default a 403): the function's own 404 answer, so the deployed API and
/// `infra serve` agree.
pub const NOT_FOUND_RESPONSE_TYPE: &str = "MISSING_AUTHENTICATION_TOKEN";

/// The initial value of the client registry secret. CloudFormation writes it only when this
/// text changes, so registry updates made with `infra clients` survive every deploy.
pub const EMPTY_REGISTRY: &str = r#"{"clients":[]}"#;

/// API Gateway access log line: one JSON object, no headers or bodies (no secrets).
const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","#,
    r#""requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","#,
    r#""resourcePath":"$context.resourcePath","status":"$context.status","#,
    r#""protocol":"$context.protocol","responseLength":"$context.responseLength","#,
    r#""responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency","#,
    r#""awsEndpointRequestId":"$context.awsEndpointRequestId","#,
    r#""errorMessage":"$context.error.message","wafStatus":"$context.waf.status"}"#
);

pub use super::function_name;

/// The REST API's name (the `ApiName` dimension of its metrics).
pub fn api_name(env: &Environment) -> String {
    format!("{}-api", env.qualified())
}

/// The API stage's access log group.
pub fn access_log_group(env: &Environment) -> String {
    format!("/aws/apigateway/{}-api/access", env.qualified())
}

/// The function's log group.
pub fn function_log_group(env: &Environment) -> String {
    format!("/aws/lambda/{}", function_name(env))
}

/// The logical id of the client registry secret.
pub const REGISTRY_ID: &str = "ClientRegistrySecret";

/// The signing keys' parameters (see `crate::keys`; their outputs are in `stacks::outputs`).
pub const PARAM_KEY_STAGE: &str = "SigningKeyStage";
/// The parameter holding when the signing key stage began, Unix seconds.
pub const PARAM_KEY_STAGE_SINCE: &str = "SigningKeyStageSince";
/// The logical ids of the key slots; A keeps the id of the key stacks had before rotation.
pub const KEY_SLOT_IDS: [(Slot, &str); 2] = [(Slot::A, "TokenSigningKey"), (Slot::B, "TokenSigningKeyB")];
/// Envelope mode's symmetric key and key pair secret (logical ids).
pub const KEY_ENCRYPTION_KEY_ID: &str = "TokenSigningKeyEncryptionKey";
/// The logical id of envelope mode's key pair secret.
pub const KEY_PAIRS_ID: &str = "TokenSigningKeyPairs";
/// The kms-mode keys' spec: the parameter `deploy` keeps as deployed.
pub const PARAM_KEY_SPEC: &str = "SigningKeySpec";

/// The signing keys as the rest of the template uses them: the function's variables, its
/// role's statement and the outputs, for the environment's signing mode.
struct SigningKeys {
    variables: Vec<(&'static str, Value<String>)>,
    statement: Statement,
    /// Secrets the function reads besides the client registry.
    secrets: Vec<Value<String>>,
    outputs: Vec<(&'static str, &'static str, Value<String>)>,
}

/// The KMS key spec that signs with `alg`: ECC_NIST_P256 for ES256, RSA_2048 for RS256.
pub fn kms_key_spec(alg: Algorithm) -> kms::KeySpec {
    match alg {
        Algorithm::ES256 => kms::KeySpec::EccNistP256,
        Algorithm::RS256 => kms::KeySpec::Rsa2048,
    }
}

/// The alias name of a key slot.
///
/// Slot A keeps the alias the single key had before rotation existed: a stack upgraded to slots
/// keeps an alias whose authorization has long propagated (KMS takes up to five minutes to
/// honour a new alias in `kms:ResourceAliases`; AWS KMS developer guide, "Use aliases to control
/// access to KMS keys").
pub fn signing_alias(env: &Environment, slot: Slot) -> String {
    match slot {
        Slot::A => format!("alias/{}-token-signing", env.qualified()),
        Slot::B => format!("alias/{}-token-signing-b", env.qualified()),
    }
}

/// The stage parameters and the conditions they drive: which slots exist (`HasSigningKeyA`,
/// `HasSigningKeyB`) and whether B signs (`SignsWithKeyB`).
struct StageConditions {
    has: [ConditionHandle; 2],
    b_signs: ConditionHandle,
}

fn stage_conditions(t: &mut Template) -> Result<StageConditions, ModelError> {
    let mut stage_param =
        Parameter::with_default("Signing key stage: which keys exist and which signs (infra keys)", Stage::A.as_str());
    stage_param.allowed_values = Stage::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    let stage = t.parameter(PARAM_KEY_STAGE, stage_param)?;
    let mut since_param = Parameter::with_default("When the signing key stage began, Unix seconds (infra keys)", "0");
    since_param.allowed_pattern = Some("^[0-9]{1,12}$".into());
    let since = t.parameter(PARAM_KEY_STAGE_SINCE, since_param)?;
    t.output(output::KEY_STAGE, "Signing key stage (infra keys)", stage.r#ref())?;
    t.output(output::KEY_STAGE_SINCE, "When the signing key stage began, Unix seconds", since.r#ref())?;
    let any_of = |stages: Vec<Stage>| {
        Condition::Or(stages.into_iter().map(|s| Condition::Equals(stage.r#ref(), s.as_str().into())).collect())
    };
    Ok(StageConditions {
        has: [
            t.condition("HasSigningKeyA", any_of(Stage::with(Slot::A).collect()))?,
            t.condition("HasSigningKeyB", any_of(Stage::with(Slot::B).collect()))?,
        ],
        b_signs: t.condition("SignsWithKeyB", any_of(Stage::signed_by(Slot::B).collect()))?,
    })
}

/// The signing keys, driven by `SigningKeyStage` (`crate::keys`). Both modes' keys always exist
/// (`deploy` keeps the key pairs in step with the stage in either mode), so changing
/// `signing_key.mode` only changes which ones the function uses: it never waits for a key, a key
/// pair or an alias's authorization to appear, and it never creates or deletes one. The function
/// gets the variables and permissions of the environment's mode only.
fn signing_keys(t: &mut Template, env: &Environment) -> Result<SigningKeys, ModelError> {
    let stages = stage_conditions(t)?;
    let kms = kms_slots(t, env, &stages)?;
    let envelope = envelope_slots(t, env, &stages)?;
    let outputs = [kms.outputs.clone(), envelope.outputs.clone()].concat();
    let mut keys = match env.signing_key.mode {
        SigningMode::Kms => kms,
        SigningMode::Envelope => envelope,
    };
    keys.outputs = outputs;
    let mode = env.signing_key.mode.as_str();
    keys.variables.push(("SIGNING_MODE", mode.into()));
    keys.outputs.push((output::SIGNING_MODE, "How the function signs tokens: kms or envelope", mode.into()));
    Ok(keys)
}

/// `kms` mode: two conditional asymmetric KMS keys, each with its own alias; the function uses
/// them by alias, so that nothing unconditional refers to a key that exists only in some stages.
fn kms_slots(t: &mut Template, env: &Environment, stages: &StageConditions) -> Result<SigningKeys, ModelError> {
    let q = env.qualified();
    // KMS cannot change a key's spec (CloudFormation fails the update): the keys keep the spec
    // they were created with, a parameter `deploy` keeps as deployed.
    let file_spec = kms_key_spec(env.signing_key.algorithm);
    let mut spec_param = Parameter::with_default(
        "KMS key spec of the kms-mode signing keys, fixed when they are created (infra deploy keeps it)",
        file_spec.as_str(),
    );
    spec_param.allowed_values =
        [kms::KeySpec::EccNistP256, kms::KeySpec::Rsa2048].map(|k| k.as_str().to_owned()).to_vec();
    let spec = t.parameter(PARAM_KEY_SPEC, spec_param)?;
    // In kms mode a slot's key exists in the stages that have the slot; in envelope mode, where
    // the key pairs rotate instead, both keys exist (so a later switch to kms mode finds its
    // keys, whichever the stage, without waiting for one to be created).
    let slot_options = |condition: &ConditionHandle| match env.signing_key.mode {
        SigningMode::Kms => Options::new().condition(condition),
        SigningMode::Envelope => Options::new(),
    };
    let mut aliases = Vec::new();
    for ((slot, id), condition) in KEY_SLOT_IDS.into_iter().zip(&stages.has) {
        let key = t.add_with(
            id,
            kms::Key {
                description: format!("{q}: signs access tokens in kms mode, slot {slot:?}"),
                key_spec: spec.r#ref(),
                key_usage: kms::KeyUsage::SignVerify,
                enable_key_rotation: None,
                pending_window_in_days: env.signing_key.pending_window_days.get(),
                key_policy: PolicyDocument::new(vec![
                    Statement::account_administers_key(),
                    Statement::key_administered_by(super::bootstrap::execution_role_arn(env)),
                ]),
            },
            slot_options(condition).retain(env.retain_data_on_delete),
        )?;
        let name = signing_alias(env, slot);
        t.add_with(
            &format!("{id}Alias"),
            kms::Alias { alias_name: name.clone(), target_key_id: key.r#ref() },
            slot_options(condition),
        )?;
        let arn = Value::sub(format!("arn:${{AWS::Partition}}:kms:${{AWS::Region}}:${{AWS::AccountId}}:{name}"));
        aliases.push((name, arn));
    }
    let [(a_name, a), (b_name, b)] = [aliases[0].clone(), aliases[1].clone()];
    // IAM takes no alias ARN as a key's `Resource`; `kms:ResourceAliases` is the condition key
    // for it (AWS KMS developer guide, "Use aliases to control access to KMS keys").
    let statement = Statement::allow(
        &["kms:Sign", "kms:GetPublicKey"],
        vec![Value::sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*")],
    )
    .condition(serde_json::json!({"ForAnyValue:StringEquals": {"kms:ResourceAliases": [a_name, b_name]}}))
    .sid("SignTokens");
    let [has_a, has_b] = &stages.has;
    let signing = Value::if_(&stages.b_signs, b.clone(), a.clone());
    let published = published_list(has_a, has_b, a.clone(), b);
    Ok(SigningKeys {
        variables: vec![("SIGNING_KEY_ARN", signing.clone()), ("PUBLISHED_KEY_ARNS", published.clone())],
        statement,
        secrets: vec![],
        outputs: vec![
            (output::SIGNING_KEY, "KMS key that signs access tokens", signing),
            (output::PUBLISHED_KEYS, "KMS keys the JWKS publishes", published),
            (output::KEY_SPEC, "KMS key spec of the kms-mode signing keys", spec.r#ref()),
        ],
    })
}

/// The comma-separated list of the slots the stage publishes, each once: `a`, `b` or `a,b` (of
/// ARNs in kms mode), as `keys status` and the function read it. At least one slot always has a
/// key (`StageConditions::has`), so nested `Fn::If` covers every stage.
fn published_list(
    has_a: &ConditionHandle,
    has_b: &ConditionHandle,
    a: Value<String>,
    b: Value<String>,
) -> Value<String> {
    let both = Value::join(",", vec![a.clone(), b.clone()]);
    Value::if_(has_a, Value::if_(has_b, both, a), b)
}

/// `envelope` mode: one symmetric KMS key (rotated yearly by KMS) under which `infra` generates
/// each slot's data key pair, and the secret holding them (`token_function::key_pairs`). The
/// function may decrypt only private keys encrypted under its own service's context.
fn envelope_slots(t: &mut Template, env: &Environment, stages: &StageConditions) -> Result<SigningKeys, ModelError> {
    let q = env.qualified();
    let retain = Options::new().retain(env.retain_data_on_delete);
    let kek = t.add_with(
        KEY_ENCRYPTION_KEY_ID,
        kms::Key {
            description: format!("{q}: encrypts the token signing key pairs"),
            key_spec: kms::KeySpec::SymmetricDefault.into(),
            key_usage: kms::KeyUsage::EncryptDecrypt,
            enable_key_rotation: Some(true),
            pending_window_in_days: env.signing_key.pending_window_days.get(),
            key_policy: PolicyDocument::new(vec![
                Statement::account_administers_key(),
                Statement::key_administered_by(super::bootstrap::execution_role_arn(env)),
            ]),
        },
        retain.clone(),
    )?;
    t.add(
        &format!("{KEY_ENCRYPTION_KEY_ID}Alias"),
        kms::Alias { alias_name: format!("alias/{q}-token-signing-key-pairs"), target_key_id: kek.r#ref() },
    )?;
    let secret = t.add_with(
        KEY_PAIRS_ID,
        secretsmanager::Secret {
            name: format!("{q}/signing-key-pairs"),
            description: format!("{q}: the token signing key pairs, private keys encrypted by KMS (infra keys)"),
            kms_key_id: None,
            secret_string: Some(token_function::key_pairs::EMPTY_KEY_PAIRS.to_owned()),
        },
        retain,
    )?;
    let statement = Statement::allow(&["kms:Decrypt"], vec![kek.arn().into()])
        .condition(serde_json::json!({
            "StringEquals": {"kms:EncryptionContext:service": q},
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["service", "slot"]}
        }))
        .sid("DecryptSigningKeys");
    let [has_a, has_b] = &stages.has;
    let signing = Value::if_(&stages.b_signs, "b".into(), "a".into());
    let published = published_list(has_a, has_b, "a".into(), "b".into());
    Ok(SigningKeys {
        variables: vec![
            ("SIGNING_KEY_PAIRS_SECRET_ARN", secret.r#ref()),
            ("SIGNING_SLOT", signing.clone()),
            ("PUBLISHED_SLOTS", published.clone()),
        ],
        statement,
        secrets: vec![secret.r#ref()],
        outputs: vec![
            (output::KEY_PAIRS_SECRET, "Secret holding the signing key pairs", secret.r#ref()),
            (output::KEY_ENCRYPTION_KEY, "KMS key the signing key pairs are encrypted under", kek.arn().into()),
            (output::SIGNING_SLOT, "The key slot that signs", signing),
            (output::PUBLISHED_SLOTS, "The key slots the JWKS publishes", published),
        ],
    })
}

/// Builds the service stack's template for `env`: the signing keys and client registry, the
/// function, the API (routes, deployment, stage), the WAF and custom domain where configured,
/// and the outputs of `stacks::outputs::service`.
pub fn build(env: &Environment) -> Result<Template, ModelError> {
    let mut t = Template::new(format!(
        "Token service ({}): OAuth 2.0 client credentials endpoint on Lambda and API Gateway",
        env.name
    ));
    let bucket = t.parameter(PARAM_ARTIFACT_BUCKET, Parameter::string("S3 bucket holding the function's zip"))?;
    let key = t.parameter(PARAM_ARTIFACT_KEY, Parameter::string("S3 key of the function's zip (its SHA-256)"))?;
    // Signing keys (two slots for staged rotation, see `crate::keys`) and client registry.
    let keys = signing_keys(&mut t, env)?;
    let registry = client_registry(&mut t, env)?;
    let (api, base_url) = rest_api(&mut t, env)?;
    let artifact = Artifact { bucket: &bucket, key: &key };
    let (function, target) = token_function(&mut t, env, &keys, &registry, &base_url, artifact)?;
    let integration_uri = Value::sub(format!(
        "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/{}/invocations",
        target.sub
    ));
    let deployment = api_deployment(&mut t, env, &api, &integration_uri)?;
    let stage = api_stage(&mut t, env, &api, &deployment)?;
    t.add(
        "TokenFunctionApiPermission",
        lambda::Permission {
            action: "lambda:InvokeFunction",
            function_name: target.arn,
            principal: "apigateway.amazonaws.com",
            source_arn: Value::sub(format!(
                "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{}/{}/*",
                api.sub_ref(),
                env.api.stage_name.0
            )),
        },
    )?;
    if let Some(waf) = &env.api.waf {
        web_acl(&mut t, env, waf, &api, &stage)?;
    }
    if let Some(domain) = &env.api.custom_domain {
        custom_domain(&mut t, domain, &api, &stage)?;
    }
    service_outputs(&mut t, &base_url, &function, keys.outputs, &registry)?;
    Ok(t)
}

/// The function artifact's parameters.
#[derive(Clone, Copy)]
struct Artifact<'a> {
    bucket: &'a ParamHandle,
    key: &'a ParamHandle,
}

/// What API Gateway invokes: the function or its alias, for `Fn::Sub` and as an ARN.
struct InvokeTarget {
    sub: String,
    arn: Value<String>,
}

/// The client registry secret (kept on stack deletion where the file says so).
fn client_registry(t: &mut Template, env: &Environment) -> Result<Handle<secretsmanager::Secret>, ModelError> {
    let q = env.qualified();
    t.add_with(
        REGISTRY_ID,
        secretsmanager::Secret {
            name: format!("{q}/client-registry"),
            description: format!("{q}: registered OAuth clients with their secret hashes and scopes"),
            kms_key_id: None,
            secret_string: Some(EMPTY_REGISTRY.to_owned()),
        },
        Options::new().retain(env.retain_data_on_delete),
    )
}

/// A log group keeping events `retention_in_days` days, kept on stack deletion where the file
/// says so.
fn log_group(
    t: &mut Template,
    env: &Environment,
    id: &str,
    name: String,
    retention_in_days: u32,
) -> Result<Handle<logs::LogGroup>, ModelError> {
    t.add_with(
        id,
        logs::LogGroup { log_group_name: name, retention_in_days, kms_key_id: None },
        Options::new().retain(env.retain_data_on_delete),
    )
}

/// The function's role: its logs, its signing keys, its secrets, and traces where active.
fn function_role(
    t: &mut Template,
    env: &Environment,
    keys: &SigningKeys,
    registry: &Handle<secretsmanager::Secret>,
    log_group: &Handle<logs::LogGroup>,
) -> Result<Handle<iam::Role>, ModelError> {
    let mut statements = vec![
        Statement::allow(&["logs:CreateLogStream", "logs:PutLogEvents"], vec![log_group.arn().into()]).sid("WriteLogs"),
        keys.statement.clone(),
        Statement::allow(&["secretsmanager:GetSecretValue"], [vec![registry.r#ref()], keys.secrets.clone()].concat())
            .sid("ReadSecrets"),
    ];
    if env.function.tracing == TracingMode::Active {
        // X-Ray has no resource-level permissions for these two actions.
        statements.push(
            Statement::allow(&["xray:PutTraceSegments", "xray:PutTelemetryRecords"], vec!["*".into()])
                .sid("WriteTraces"),
        );
    }
    t.add(
        "TokenFunctionRole",
        iam::Role {
            role_name: None,
            path: Some(super::bootstrap::stack_role_path(env)),
            assume_role_policy_document: assume_role("lambda.amazonaws.com"),
            description: Some(format!("{}: the token function", env.qualified())),
            managed_policy_arns: vec![],
            policies: vec![iam::InlinePolicy {
                policy_name: "token-function".into(),
                policy_document: PolicyDocument::new(statements),
            }],
            permissions_boundary: Some(super::bootstrap::stack_role_boundary(env)),
        },
    )
}

/// The REST API, and its base URL: the issuer (`Environment::issuer`), the custom domain or the
/// stage's execute-api URL, which exists only once the API does.
fn rest_api(t: &mut Template, env: &Environment) -> Result<(Handle<RestApi>, Value<String>), ModelError> {
    let q = env.qualified();
    let api = t.add(
        API_ID,
        RestApi {
            name: api_name(env),
            description: format!("{q}: OAuth 2.0 token endpoint"),
            endpoint_configuration: EndpointConfiguration::regional(),
            // With a custom domain, callers use it alone: the default execute-api endpoint
            // would bypass the domain's TLS policy. The outputs then carry the domain's URLs.
            // (The deployment's id digests this resource, so a change reaches the stage.)
            disable_execute_api_endpoint: env.api.custom_domain.is_some(),
        },
    )?;
    // The issuer is where the API answers (`Environment::issuer`): the custom domain, or the
    // stage's execute-api URL, which exists only once the API does.
    let base_url = match env.issuer() {
        Issuer::Domain(url) => Value::Lit(url),
        Issuer::Api => Value::sub(format!(
            "https://{}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{}",
            api.sub_ref(),
            env.api.stage_name
        )),
    };
    Ok((api, base_url))
}

/// The function with its log group and role, and what API Gateway invokes: the function itself,
/// or its `live` alias when new code reaches callers gradually.
fn token_function(
    t: &mut Template,
    env: &Environment,
    keys: &SigningKeys,
    registry: &Handle<secretsmanager::Secret>,
    base_url: &Value<String>,
    artifact: Artifact<'_>,
) -> Result<(Handle<lambda::Function>, InvokeTarget), ModelError> {
    let q = env.qualified();
    let log_group =
        log_group(t, env, "TokenFunctionLogGroup", function_log_group(env), env.function.log_retention_days.get())?;
    let role = function_role(t, env, keys, registry, &log_group)?;
    let mut variables = BTreeMap::from([
        (ISSUER_VARIABLE.to_owned(), base_url.clone()),
        ("TOKEN_AUDIENCE".to_owned(), env.token.audience.0.clone().into()),
        ("TOKEN_TTL_SECONDS".to_owned(), env.token.ttl_seconds.to_string().into()),
        ("CLIENT_REGISTRY_SECRET_ARN".to_owned(), registry.r#ref()),
        ("SERVICE_NAME".to_owned(), q.clone().into()),
    ]);
    variables.extend(keys.variables.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let mut spec = lambda::Function {
        function_name: function_name(env),
        description: format!("{q}: OAuth 2.0 token endpoint"),
        runtime: "provided.al2023",
        handler: "bootstrap",
        architectures: vec![env.function.architecture],
        memory_size: env.function.memory_mb.get(),
        timeout: env.function.timeout_seconds.get(),
        reserved_concurrent_executions: env.function.reserved_concurrency.map(|c| c.get()),
        role: role.arn().into(),
        code: lambda::Code { s3_bucket: artifact.bucket.r#ref(), s3_key: artifact.key.r#ref() },
        tracing_config: lambda::TracingConfig { mode: env.function.tracing },
        logging_config: lambda::LoggingConfig {
            log_format: "JSON",
            log_group: log_group.r#ref(),
            application_log_level: env.function.log_level.lambda(),
            system_log_level: "WARN",
        },
        environment: lambda::Environment { variables },
    };
    // Where versions are published, the function's description carries the digest of what a
    // version freezes: a replaced version resource then always meets a configuration Lambda has
    // not published yet, even when a template change resolves to the same values (Lambda API
    // reference, "PublishVersion": no version is published when code and configuration are
    // unchanged, and CloudFormation fails the update).
    let settings = env.function.canary.as_ref().map(|_| version_settings(&spec));
    if let Some(settings) = settings {
        spec.description = format!("{} (settings {settings:016x})", spec.description);
    }
    let function = t.add(FUNCTION_ID, spec)?;
    let target = match (&env.function.canary, settings) {
        (Some(canary), Some(settings)) => {
            let alias = canary_alias(t, env, &function, artifact.key, canary, settings)?;
            InvokeTarget { sub: alias.sub_ref(), arn: alias.r#ref() }
        }
        _ => InvokeTarget { sub: function.arn().sub(), arn: Value::from(function.arn()) },
    };
    Ok((function, target))
}

/// The API's routes and its deployment. A deployment is immutable: a new logical id (from a
/// digest of the API's shape) makes CloudFormation create a fresh one whenever a path or method
/// changes.
fn api_deployment(
    t: &mut Template,
    env: &Environment,
    api: &Handle<RestApi>,
    integration_uri: &Value<String>,
) -> Result<Handle<apigateway::Deployment>, ModelError> {
    let deployment_opts = api_routes(t, api, integration_uri)?;
    let shape = digest(
        t.resources()
            .iter()
            .filter(|(_, r)| r.r#type.starts_with("AWS::ApiGateway::"))
            .map(|(id, r)| (id, &r.properties)),
    );
    t.add_with(
        &format!("ApiDeployment{shape:016x}"),
        apigateway::Deployment {
            rest_api_id: api.r#ref(),
            description: format!("{}: API shape {shape:016x}", env.qualified()),
        },
        deployment_opts,
    )
}

/// The live stage with its throttling and access logs (and, where the file asks, the
/// account-wide logging role).
fn api_stage(
    t: &mut Template,
    env: &Environment,
    api: &Handle<RestApi>,
    deployment: &Handle<apigateway::Deployment>,
) -> Result<Handle<apigateway::Stage>, ModelError> {
    let q = env.qualified();
    let access_logs =
        log_group(t, env, "ApiAccessLogGroup", access_log_group(env), env.api.access_log_retention_days.get())?;
    let mut stage_opts = Options::new();
    if env.api.manage_account_logging_role {
        // Both are account-wide and outlive the stack: deleting the role while the account
        // setting still names it would break access logging for every API in the account and
        // region (docs/deploying.md says how to remove them by hand).
        let logging_role = t.add_with(
            "ApiGatewayLoggingRole",
            iam::Role {
                role_name: None,
                path: Some(super::bootstrap::stack_role_path(env)),
                assume_role_policy_document: assume_role("apigateway.amazonaws.com"),
                description: Some("API Gateway: write access logs to CloudWatch Logs (account-wide)".into()),
                managed_policy_arns: vec![Value::sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
                )],
                policies: vec![],
                permissions_boundary: Some(super::bootstrap::stack_role_boundary(env)),
            },
            Options::new().retain_always(),
        )?;
        let account = t.add_with(
            "ApiGatewayAccount",
            apigateway::Account { cloud_watch_role_arn: logging_role.arn().into() },
            Options::new().retain_always(),
        )?;
        stage_opts = stage_opts.depends_on(&account);
    }
    let stage_name = env.api.stage_name.0.clone();
    t.add_with(
        "ApiStage",
        apigateway::Stage {
            rest_api_id: api.r#ref(),
            deployment_id: deployment.r#ref(),
            stage_name: stage_name.clone(),
            description: format!("{q}: live stage"),
            tracing_enabled: env.function.tracing == TracingMode::Active,
            method_settings: vec![apigateway::MethodSetting {
                resource_path: "/*",
                http_method: "*",
                throttling_rate_limit: f64::from(env.api.throttling.rate_limit.get()),
                throttling_burst_limit: env.api.throttling.burst_limit.get(),
                metrics_enabled: true,
                data_trace_enabled: false,
            }],
            access_log_setting: Some(apigateway::AccessLogSetting {
                destination_arn: access_logs.arn().into(),
                format: ACCESS_LOG_FORMAT.to_owned(),
            }),
        },
        stage_opts,
    )
}

/// The WAF web ACL on the stage: a rate limit per IP, and AWS's common rules where asked.
fn web_acl(
    t: &mut Template,
    env: &Environment,
    waf: &crate::env::WafSettings,
    api: &Handle<RestApi>,
    stage: &Handle<apigateway::Stage>,
) -> Result<(), ModelError> {
    let q = env.qualified();
    let stage_name = &env.api.stage_name.0;
    let visibility = |name: &str| wafv2::VisibilityConfig {
        cloud_watch_metrics_enabled: true,
        metric_name: name.to_owned(),
        sampled_requests_enabled: true,
    };
    let mut rules = vec![wafv2::Rule {
        name: "rate-limit-per-ip".into(),
        priority: 0,
        action: Some(wafv2::Action::Block(Empty {})),
        override_action: None,
        statement: wafv2::Statement::RateBasedStatement(wafv2::RateBased {
            limit: waf.rate_limit.get(),
            aggregate_key_type: "IP",
            evaluation_window_sec: waf.evaluation_window_seconds.get(),
        }),
        visibility_config: visibility(&format!("{q}-rate-limit")),
    }];
    if waf.managed_common_rules {
        rules.push(wafv2::Rule {
            name: "aws-common-rules".into(),
            priority: 1,
            action: None,
            override_action: Some(wafv2::OverrideAction::None(Empty {})),
            statement: wafv2::Statement::ManagedRuleGroupStatement(wafv2::ManagedRuleGroup {
                vendor_name: "AWS",
                name: "AWSManagedRulesCommonRuleSet".into(),
            }),
            visibility_config: visibility(&format!("{q}-common-rules")),
        });
    }
    let acl = t.add(
        "ApiWebAcl",
        wafv2::WebAcl {
            name: format!("{q}-api"),
            description: format!("{q}: rate limits and common protections for the token API"),
            scope: "REGIONAL",
            default_action: wafv2::Action::Allow(Empty {}),
            rules,
            visibility_config: visibility(&format!("{q}-api")),
        },
    )?;
    t.add_with(
        "ApiWebAclAssociation",
        wafv2::WebAclAssociation {
            resource_arn: Value::sub(format!(
                "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/{}/stages/{stage_name}",
                api.sub_ref()
            )),
            web_acl_arn: acl.arn().into(),
        },
        Options::new().depends_on(stage),
    )?;
    Ok(())
}

/// The custom domain, its base path mapping and the DNS target output.
fn custom_domain(
    t: &mut Template,
    domain: &crate::env::CustomDomain,
    api: &Handle<RestApi>,
    stage: &Handle<apigateway::Stage>,
) -> Result<(), ModelError> {
    let name = t.add(
        "ApiDomainName",
        apigateway::DomainName {
            domain_name: domain.domain_name.0.clone(),
            regional_certificate_arn: domain.certificate_arn.0.clone(),
            endpoint_configuration: EndpointConfiguration::regional(),
            security_policy: "TLS_1_2",
        },
    )?;
    t.add(
        "ApiBasePathMapping",
        apigateway::BasePathMapping {
            domain_name: name.r#ref(),
            rest_api_id: api.r#ref(),
            stage: stage.r#ref(),
            base_path: None,
        },
    )?;
    t.output(output::DOMAIN_TARGET, "DNS target (alias or CNAME) for the custom domain", name.regional_domain_name())?;
    Ok(())
}

/// The outputs of `stacks::outputs::service`.
fn service_outputs(
    t: &mut Template,
    base_url: &Value<String>,
    function: &Handle<lambda::Function>,
    key_outputs: Vec<(&'static str, &'static str, Value<String>)>,
    registry: &Handle<secretsmanager::Secret>,
) -> Result<(), ModelError> {
    let url = |path: &str| match base_url {
        Value::Lit(s) => Value::Lit(format!("{s}{path}")),
        Value::Fn(_) => Value::join("", vec![base_url.clone(), path.into()]),
    };
    t.output(output::API_URL, "Base URL of the token API: the issuer (`iss`) of its tokens", base_url.clone())?;
    t.output(output::TOKEN_URL, "OAuth 2.0 token endpoint", url(Endpoint::Token.path()))?;
    t.output(output::JWKS_URL, "JSON Web Key Set for verifying access tokens", url(Endpoint::Jwks.path()))?;
    t.output(
        output::OPENID_CONFIGURATION_URL,
        "The issuer's metadata where OpenID Connect Discovery and JWT authorizers look for it",
        url(Endpoint::OpenIdConfiguration.path()),
    )?;
    t.output(output::FUNCTION_NAME, "The token function", function.r#ref())?;
    for (name, description, value) in key_outputs {
        t.output(name, description, value)?;
    }
    t.output(output::REGISTRY_SECRET, "Secret holding the client registry", registry.r#ref())?;
    Ok(())
}

/// One API Gateway resource per path segment of every [`Endpoint`], one `ANY` method per
/// endpoint sending every HTTP method to the function (which answers 405 with `Allow` for the
/// ones it does not take), and a gateway response answering unknown paths as the function
/// does. Returns the deployment's options: it waits for every method and the gateway response.
fn api_routes(t: &mut Template, api: &Handle<RestApi>, integration_uri: &Value<String>) -> Result<Options, ModelError> {
    let mut paths: BTreeMap<String, Handle<ApiResource>> = BTreeMap::new();
    let mut deployment = Options::new();
    for endpoint in Endpoint::ALL {
        let mut parent: Value<String> = api.root_resource_id().into();
        let mut path = String::new();
        for segment in endpoint.path().trim_start_matches('/').split('/') {
            path.push('/');
            path.push_str(segment);
            let handle = match paths.get(&path) {
                Some(h) => h.clone(),
                None => {
                    let h = t.add(
                        &format!("Api{}", logical_name(&path)),
                        ApiResource {
                            rest_api_id: api.r#ref(),
                            parent_id: parent.clone(),
                            path_part: segment.to_owned(),
                        },
                    )?;
                    paths.insert(path.clone(), h.clone());
                    h
                }
            };
            parent = handle.r#ref();
        }
        let method = t.add(
            &format!("Api{}Any", logical_name(&path)),
            apigateway::Method {
                rest_api_id: api.r#ref(),
                resource_id: parent,
                http_method: "ANY",
                authorization_type: "NONE",
                operation_name: endpoint.operation().to_owned(),
                integration: apigateway::Integration {
                    r#type: "AWS_PROXY",
                    integration_http_method: "POST",
                    uri: integration_uri.clone(),
                    timeout_in_millis: None,
                },
            },
        )?;
        deployment = deployment.depends_on(&method);
    }
    for (id, response_type, answer, keeps_type_status) in gateway_responses() {
        let status = (!keeps_type_status).then_some(answer.status);
        let content_type = answer.header("content-type").unwrap_or("application/json").to_owned();
        let response = t.add(
            id,
            apigateway::GatewayResponse {
                rest_api_id: api.r#ref(),
                response_type,
                status_code: status.map(|s| s.to_string()),
                response_parameters: answer
                    .headers
                    .iter()
                    .map(|(k, v)| (format!("gatewayresponse.header.{}", header_name(k)), format!("'{v}'")))
                    .collect(),
                response_templates: BTreeMap::from([(content_type, answer.body)]),
            },
        )?;
        deployment = deployment.depends_on(&response);
    }
    Ok(deployment)
}

/// `Content-Type` for `content-type`: as API Gateway's own headers are written.
fn header_name(name: &str) -> String {
    name.split('-')
        .map(|w| w.get(..1).unwrap_or_default().to_ascii_uppercase() + w.get(1..).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// What API Gateway answers by itself, as the function would: (logical id, response type, answer,
/// whether the type keeps its own status rather than the answer's). Unknown paths get the function's 404; everything else
/// the RFC 6749 §5.2 error form (API Gateway developer guide, "Gateway response types"): an
/// oversized body `invalid_request` 400 as the function answers it, throttling
/// `temporarily_unavailable` 429 (RFC 6749 §4.1.2.1's code for an overloaded server, registered
/// in §11.4), any other 4XX (a WAF block, a bad header) `invalid_request` and any 5XX (a function
/// that failed or timed out) `server_error`, each with API Gateway's own message as the
/// description.
pub fn gateway_responses() -> Vec<(&'static str, &'static str, Response, bool)> {
    // For a class of types: the status is each type's own, the description API Gateway's message.
    let with_message = |code: &str| {
        let mut r = error_answer(0, code, "");
        r.body = format!(r#"{{"error":"{code}","error_description":$context.error.messageString}}"#);
        r
    };
    vec![
        ("ApiNotFoundResponse", NOT_FOUND_RESPONSE_TYPE, not_found(), false),
        ("ApiTooLargeResponse", "REQUEST_TOO_LARGE", error_response(&OAuthError::PayloadTooLarge), false),
        (
            "ApiThrottledResponse",
            "THROTTLED",
            error_answer(429, "temporarily_unavailable", "too many requests; retry later"),
            false,
        ),
        ("ApiDefault4xxResponse", "DEFAULT_4XX", with_message("invalid_request"), true),
        ("ApiDefault5xxResponse", "DEFAULT_5XX", with_message("server_error"), true),
    ]
}

/// A version published from the current code and settings, the `live` alias API Gateway invokes,
/// and the CodeDeploy application that shifts the alias to each new version gradually, rolling
/// back when a critical alarm fires.
fn canary_alias(
    t: &mut Template,
    env: &Environment,
    function: &Handle<lambda::Function>,
    artifact_key: &ParamHandle,
    canary: &CanarySettings,
    settings: u64,
) -> Result<Handle<lambda::Alias>, ModelError> {
    let q = env.qualified();
    // Any change of code (the artifact key) or settings (`version_settings`) replaces the
    // version resource, which publishes a new version.
    // Parameters reach the configuration at deploy time (the signing stage through conditions,
    // the key spec through the keys): each is in the description too, so a new value publishes
    // a new version for the alias (VERSION001).
    let key_ref = artifact_key.sub_ref();
    let parameters: String = crate::cfn::deps::parameters_feeding(&t.to_json(), FUNCTION_ID)
        .into_iter()
        .map(|p| format!("${{{p}}}"))
        .filter(|p| *p != key_ref)
        .collect::<Vec<_>>()
        .join(" ");
    let version = t.add(
        "TokenFunctionVersion",
        lambda::Version {
            function_name: function.r#ref(),
            description: Value::sub(format!("code {key_ref}, settings {settings:016x}, parameters {parameters}")),
        },
    )?;
    let app = t.add(
        "TokenDeployApplication",
        codedeploy::Application { application_name: format!("{q}-token"), compute_platform: "Lambda" },
    )?;
    let role = t.add(
        "TokenDeployRole",
        iam::Role {
            role_name: None,
            path: Some(super::bootstrap::stack_role_path(env)),
            assume_role_policy_document: assume_role("codedeploy.amazonaws.com"),
            description: Some(format!("{q}: CodeDeploy shifts the live alias")),
            managed_policy_arns: vec![Value::sub(
                "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited",
            )],
            policies: vec![],
            permissions_boundary: Some(super::bootstrap::stack_role_boundary(env)),
        },
    )?;
    let alarms = super::alarms::critical(env)
        .map(|d| codedeploy::AlarmName { name: super::alarms::alarm_name(env, d) })
        .collect::<Vec<_>>();
    let group = t.add(
        "TokenDeployGroup",
        codedeploy::DeploymentGroup {
            application_name: app.r#ref(),
            deployment_group_name: format!("{q}-token"),
            service_role_arn: role.arn().into(),
            deployment_config_name: canary.deployment.config_name(),
            deployment_style: serde_json::json!({"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}),
            auto_rollback_configuration: serde_json::json!({
                "Enabled": true, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
            }),
            alarm_configuration: codedeploy::AlarmConfiguration { enabled: !alarms.is_empty(), alarms },
        },
    )?;
    t.add_with(
        "TokenFunctionAlias",
        lambda::Alias { function_name: function.r#ref(), function_version: version.version().into(), name: "live".into() },
        Options::new().update_policy(serde_json::json!({
            "CodeDeployLambdaAliasUpdate": {"ApplicationName": {"Ref": app.id()}, "DeploymentGroupName": {"Ref": group.id()}}
        })),
    )
}

fn assume_role(service: &str) -> PolicyDocument {
    PolicyDocument::new(vec![Statement::allow(&["sts:AssumeRole"], vec![]).principal(Principal::service(service))])
}

/// `/.well-known/jwks.json` → `WellKnownJwksJson`.
fn logical_name(path: &str) -> String {
    path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(capitalize).collect()
}

fn capitalize(word: &str) -> String {
    let mut c = word.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

/// FNV-1a over the serialized parts: stable across runs and platforms.
/// The digest of what a version freezes: the function's properties but its reserved
/// concurrency (the function's, not a version's) and its description (which carries this digest).
/// A version made again with the same code and configuration would be the old one, which Lambda
/// refuses to delete while the alias serves it (Lambda API reference, "PublishVersion",
/// "DeleteFunction").
fn version_settings(spec: &lambda::Function) -> u64 {
    let mut p = serde_json::to_value(spec).unwrap_or_default();
    if let Some(o) = p.as_object_mut() {
        o.remove("ReservedConcurrentExecutions");
        o.remove("Description");
    }
    digest(std::iter::once((&FUNCTION_ID.to_owned(), &p)))
}

fn digest<'a>(parts: impl Iterator<Item = (&'a String, &'a serde_json::Value)>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (id, v) in parts {
        for b in id.bytes().chain(v.to_string().into_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
