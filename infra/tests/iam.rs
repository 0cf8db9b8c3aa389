//! IAM proven rather than reviewed: the execution role against CloudFormation's handler
//! permissions (IAM004), its limits (no way to grant itself or the bootstrap stack's roles
//! more), and the function's role against the calls the function makes.

use std::path::Path;

use infra::env::Environment;
use infra::stacks::{self, bootstrap};
use infra::validate::{self, resource_matches};
use serde_json::{Value as Json, json};
use token_function::key_pairs::SigningMode;

const IAM004: &str = "IAM004";

fn envs() -> Vec<Environment> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    Environment::names(&dir).unwrap().iter().map(|n| Environment::load_named(&dir, n).unwrap()).collect()
}

/// The statements of a role's inline policies.
fn statements(template: &Json, role: &str) -> Vec<Json> {
    template["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .collect()
}

fn list(v: &Json) -> Vec<String> {
    let one = |x: &Json| -> String {
        x.as_str().or_else(|| x.get("Fn::Sub").and_then(Json::as_str)).map_or_else(|| x.to_string(), str::to_owned)
    };
    match v {
        Json::Array(a) => a.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

fn by_sid<'a>(sts: &'a [Json], sid: &str) -> &'a Json {
    sts.iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no statement {sid}"))
}

#[test]
fn function_role_allows_exactly_the_functions_calls() {
    for env in envs() {
        for mode in [SigningMode::Kms, SigningMode::Envelope] {
            let mut env = env.clone();
            env.signing_key.mode = mode;
            function_role_in_mode(&env);
        }
    }
}

/// The function's role in the environment's signing mode: the calls of that mode, each on the
/// one resource it is for.
fn function_role_in_mode(env: &Environment) {
    let t = stacks::service::build(env).unwrap().to_json();
    let sts = statements(&t, "TokenFunctionRole");
    let mut granted: Vec<String> = sts
        .iter()
        .flat_map(|s| list(&s["Action"]))
        .filter(|a| !a.starts_with("logs:") && !a.starts_with("xray:"))
        .collect();
    granted.sort();
    let mode = env.signing_key.mode;
    let calls = token_function::permissions::actions(mode);
    assert_eq!(granted, calls, "{} {mode:?}", env.name);
    let q = env.qualified();
    match mode {
        // The keys carrying the two slots' aliases, and nothing else.
        SigningMode::Kms => {
            let sign = by_sid(&sts, "SignTokens");
            assert_eq!(
                sign["Resource"],
                json!([{"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}])
            );
            assert_eq!(
                sign["Condition"],
                json!({"ForAnyValue:StringEquals": {"kms:ResourceAliases": [format!("alias/{q}-token-signing"), format!("alias/{q}-token-signing-b")]}})
            );
        }
        // The environment's key encryption key, under its own service's encryption context.
        SigningMode::Envelope => {
            let decrypt = by_sid(&sts, "DecryptSigningKeys");
            assert_eq!(decrypt["Resource"], json!([{"Fn::GetAtt": ["TokenSigningKeyEncryptionKey", "Arn"]}]));
            assert_eq!(
                decrypt["Condition"],
                json!({
                    "StringEquals": {"kms:EncryptionContext:service": q},
                    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["service", "slot"]}
                })
            );
        }
    }
    let read = list(&by_sid(&sts, "ReadSecrets")["Resource"]);
    let want: &[&str] = match mode {
        SigningMode::Kms => &[r#"{"Ref":"ClientRegistrySecret"}"#],
        SigningMode::Envelope => &[r#"{"Ref":"ClientRegistrySecret"}"#, r#"{"Ref":"TokenSigningKeyPairs"}"#],
    };
    assert_eq!(read, want, "{} {mode:?}", env.name);
    assert_eq!(list(&by_sid(&sts, "WriteLogs")["Action"]), ["logs:CreateLogStream", "logs:PutLogEvents"]);
}

#[test]
fn execution_role_cannot_grant_itself_more() {
    for env in envs() {
        let t = bootstrap::build(&env).unwrap().to_json();
        let sts = statements(&t, "ExecutionRole");
        iam_writes_spare_the_own_roles(&env, &sts);
        role_changes_require_the_boundary(&env, &sts);
        keys_are_reached_only_through_their_tags(&env, &sts);
    }
}

/// The execution role's IAM writes reach the service stack's roles and none of its own or others'.
fn iam_writes_spare_the_own_roles(env: &Environment, sts: &[Json]) {
    let q = env.qualified();
    let own_roles = [
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{q}-bootstrap-ExecutionRole-AbC123"),
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{q}-bootstrap-DeployRole-AbC123"),
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{q}-other-AbC123"),
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/other-{q}-service-AbC123"),
    ];
    // A generated name cut to 64 characters may lose the stack name: the path holds.
    let stack_role =
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{q}/{q}-servi-TokenFunctionRole-AbC123");
    let mut reaches_stack_roles = false;
    for st in sts {
        let actions = list(&st["Action"]);
        let resources = list(&st["Resource"]);
        let iam_writes: Vec<&String> = actions
            .iter()
            .filter(|a| a.starts_with("iam:") && !a.starts_with("iam:Get") && !a.starts_with("iam:List"))
            .collect();
        if iam_writes.is_empty() {
            continue;
        }
        for role in &own_roles {
            assert!(
                !resources.iter().any(|r| r == "*" || resource_matches(r, role)),
                "{}: {st} reaches {role}",
                env.name
            );
        }
        reaches_stack_roles |= resources.iter().any(|r| resource_matches(r, &stack_role));
        if actions.iter().any(|a| a == "iam:PassRole") {
            let to = &st["Condition"]["StringEquals"]["iam:PassedToService"];
            assert_eq!(to, &json!(bootstrap::ROLE_USERS), "{}: PassRole without iam:PassedToService", env.name);
        }
        if actions.iter().any(|a| a == "iam:AttachRolePolicy") {
            assert_eq!(actions, ["iam:AttachRolePolicy"], "{}: AttachRolePolicy shares a statement", env.name);
            let arns: Vec<String> = st["Condition"]["ArnEquals"]["iam:PolicyARN"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["Fn::Sub"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(arns, bootstrap::ATTACHABLE_POLICIES, "{}", env.name);
        }
    }
    assert!(reaches_stack_roles, "{}: the role cannot manage the service stack's roles", env.name);
}

/// Role changes require the permissions boundary, which nothing removes and every stack role carries.
fn role_changes_require_the_boundary(env: &Environment, sts: &[Json]) {
    let q = env.qualified();
    // Whatever changes a role's permissions requires the boundary on that role, and the
    // boundary can never be removed.
    let boundary =
        json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{q}-stack-role-boundary")});
    for st in sts {
        let actions = list(&st["Action"]);
        assert!(!actions.iter().any(|a| a == "iam:DeleteRolePermissionsBoundary"), "{}: {st}", env.name);
        let grants_more = [
            "iam:CreateRole",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
        ];
        if actions.iter().any(|a| grants_more.contains(&a.as_str())) {
            assert_eq!(st["Condition"]["StringEquals"]["iam:PermissionsBoundary"], boundary, "{}: {st}", env.name);
        }
    }
    // Every role the service and monitoring stacks create carries that boundary.
    for s in stacks::all(env).unwrap().iter().filter(|s| s.id != stacks::StackId::Bootstrap) {
        for (id, r) in s.template.to_json()["Resources"].as_object().unwrap() {
            if r["Type"] == "AWS::IAM::Role" {
                assert_eq!(r["Properties"]["PermissionsBoundary"], boundary, "{}: {id}", env.name);
            }
        }
    }
}

/// The execution role reaches keys only through the environment's tags, which deploy puts on stacks.
fn keys_are_reached_only_through_their_tags(env: &Environment, sts: &[Json]) {
    // Keys are created and tagged at create only with this environment's request tags; no
    // IAM statement administers keys (each key's own policy does).
    let request_tags =
        json!({"aws:RequestTag/service": env.stack_prefix.as_str(), "aws:RequestTag/environment": env.name});
    for sid in ["CreateKeysTaggedForTheEnvironment", "TagKeysAsTheyAreCreated"] {
        assert_eq!(by_sid(sts, sid)["Condition"]["StringEquals"], request_tags, "{}: {sid}", env.name);
    }
    // Keys of bootstrap version 2 are adopted through the tags they have long carried.
    let resource_tags =
        json!({"aws:ResourceTag/service": env.stack_prefix.as_str(), "aws:ResourceTag/environment": env.name});
    assert_eq!(by_sid(sts, "AdoptTheEnvironmentsEarlierKeys")["Condition"]["StringEquals"], resource_tags);
    for st in sts.iter().filter(|st| st["Sid"] != "AdoptTheEnvironmentsEarlierKeys") {
        let kms: Vec<String> = list(&st["Action"]).into_iter().filter(|a| a.starts_with("kms:")).collect();
        let on_keys = list(&st["Resource"]).iter().any(|r| r.contains(":key/") || r == "*");
        let allowed = ["kms:CreateKey", "kms:TagResource", "kms:ListAliases"];
        assert!(!on_keys || kms.iter().all(|a| allowed.contains(&a.as_str())), "{}: {st}", env.name);
    }
    // The tags the condition relies on are the ones deploy puts on every stack.
    let tags = infra::synth::stack_tags(env);
    assert_eq!(tags.get("service").map(String::as_str), Some(env.stack_prefix.as_str()));
    assert_eq!(tags.get("environment"), Some(&env.name));
}

/// Lambda reads the function's code with CloudFormation's credentials: the execution role reads
/// exactly where deploy uploads.
#[test]
fn execution_role_reads_the_artifacts_deploy_uploads() {
    let zip = b"zip".to_vec();
    let artifact = infra::deploy::package::Artifact {
        sha256: infra::deploy::package::sha256_hex(&zip),
        zip,
        glibc: None,
        binary_bytes: 3,
    };
    for env in envs() {
        let t = bootstrap::build(&env).unwrap().to_json();
        let read = by_sid(&statements(&t, "ExecutionRole"), "ReadFunctionArtifacts").clone();
        let upload = by_sid(&statements(&t, "DeployRole"), "UploadFunctionArtifacts").clone();
        assert_eq!(read["Resource"], upload["Resource"], "{}", env.name);
        assert_eq!(list(&read["Action"]), ["s3:GetObject", "s3:GetObjectVersion"]);
        let key = format!("${{AssetsBucket.Arn}}/{}", artifact.key());
        assert!(list(&read["Resource"]).iter().any(|r| resource_matches(r, &key)), "{}: {key}", env.name);
    }
}

/// IAM004 fails on what the roles lacked and on what a template newly needs.
#[test]
fn execution_role_is_held_against_the_handlers() {
    let env = &envs()[0];
    let all = stacks::all(env).unwrap();
    let jsons = |edit: &dyn Fn(&str, &mut Json)| -> Vec<(String, Json)> {
        all.iter()
            .map(|s| {
                let mut j = s.template.to_json();
                edit(s.id.as_str(), &mut j);
                (s.name.clone(), j)
            })
            .collect()
    };
    let findings = |edit: &dyn Fn(&str, &mut Json)| -> Vec<String> {
        let owned = jsons(edit);
        let pairs: Vec<(&str, Json)> = owned.iter().map(|(n, j)| (n.as_str(), j.clone())).collect();
        validate::cross_stack(&pairs).into_iter().filter(|f| f.rule == IAM004).map(|f| f.message).collect()
    };
    let drop_statement = |sid: &'static str| {
        move |id: &str, j: &mut Json| {
            if id == "bootstrap" {
                let sts = j["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                    .as_array_mut()
                    .unwrap();
                sts.retain(|s| s["Sid"] != sid);
            }
        }
    };
    assert_eq!(findings(&|_, _| {}), Vec::<String>::new());
    /// An edit of (stack id, template) and the IAM004 message part it must cause.
    type Case<'a> = (Box<dyn Fn(&str, &mut Json)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            Box::new(drop_statement("ReadFunctionArtifacts")),
            "AWS::Lambda::Function handlers need s3:GetObject, s3:GetObjectVersion",
        ),
        (
            Box::new(|id: &str, j: &mut Json| {
                if id == "bootstrap" {
                    let sts =
                        j["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                            .as_array_mut()
                            .unwrap();
                    let d = sts.iter_mut().find(|s| s["Sid"] == "Dashboard").unwrap();
                    d["Action"] =
                        json!(["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard"]);
                }
            }),
            "cloudwatch:ListTagsForResource, cloudwatch:TagResource, cloudwatch:UntagResource allowed, but not on Dashboard",
        ),
        (
            Box::new(|id: &str, j: &mut Json| {
                if id == "service" {
                    j["Resources"]["TokenFunction"]["Properties"]["VpcConfig"] = json!({"SubnetIds": ["subnet-1"]});
                }
            }),
            "AWS::Lambda::Function handlers need ec2:DescribeNetworkInterfaces",
        ),
        (
            Box::new(|id: &str, j: &mut Json| {
                if id == "service" {
                    j["Resources"]["Queue"] = json!({"Type": "AWS::SQS::Queue", "Properties": {}});
                }
            }),
            "no handler permission data for AWS::SQS::Queue",
        ),
    ];
    for (edit, want) in cases {
        let got = findings(&*edit);
        assert!(got.iter().any(|m| m.contains(want)), "want {want}\ngot {got:#?}");
    }
}

/// Every type in every synthesized template has handler data from a named source.
#[test]
fn handler_data_names_its_source() {
    assert!(validate::HANDLERS.source.contains("registry"), "{}", validate::HANDLERS.source);
    for env in envs() {
        for s in stacks::all(&env).unwrap() {
            for r in s.template.resources().values() {
                let h = validate::HANDLERS.types.get(r.r#type).unwrap_or_else(|| panic!("no data for {}", r.r#type));
                assert!(
                    h.source != "none" && !h.create.is_empty() && !h.delete.is_empty(),
                    "{}: {}",
                    r.r#type,
                    h.source
                );
            }
        }
    }
}

/// CloudFormation refuses a template whose IAM resources have names of their own unless it is
/// given `CAPABILITY_NAMED_IAM` (CreateChangeSet, `Capabilities`); LocalStack does not check.
#[test]
fn capabilities_follow_named_iam_resources() {
    for env in envs() {
        for s in stacks::all(&env).unwrap() {
            let json = s.template.to_json();
            let resources = json["Resources"].as_object().unwrap();
            let iam: Vec<&Json> =
                resources.values().filter(|r| r["Type"].as_str().unwrap().starts_with("AWS::IAM::")).collect();
            let named = iam.iter().any(|r| infra::cfn::names::fixed_name(r).is_some());
            let want: Vec<&str> = match (named, iam.is_empty()) {
                (true, _) => vec!["CAPABILITY_NAMED_IAM"],
                (false, true) => vec![],
                (false, false) => vec!["CAPABILITY_IAM"],
            };
            assert_eq!(s.template.capabilities(), want, "{} {}", env.name, s.id);
        }
        // The bootstrap stack names its execution role and boundary.
        assert_eq!(bootstrap::build(&env).unwrap().capabilities(), ["CAPABILITY_NAMED_IAM"], "{}", env.name);
    }
}

/// Each GitHub role trusts exactly one OIDC subject ("About security hardening with OpenID
/// Connect", GitHub docs), compared with `StringEquals`: the deploy role a job in the
/// environment's GitHub environment, the plan role (only where `ci.plan_pull_requests`) a pull
/// request's job. A pull request's job cannot assume the deploy role, so it cannot execute what
/// it planned.
#[test]
fn github_roles_trust_one_subject_each() {
    for env in envs() {
        let t = bootstrap::build(&env).unwrap().to_json();
        let repo = &env.ci.github_repository;
        let mut roles = vec![("DeployRole", format!("repo:{repo}:environment:{}", env.name))];
        match env.ci.plan_pull_requests {
            true => roles.push(("PlanRole", format!("repo:{repo}:pull_request"))),
            false => assert!(t["Resources"].get("PlanRole").is_none(), "{}: a plan role unasked", env.name),
        }
        for (role, subject) in roles {
            let trust = &t["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"];
            assert_eq!(trust.as_array().unwrap().len(), 1, "{}: {role}", env.name);
            let condition = &trust[0]["Condition"];
            let want = json!({"StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": subject,
            }});
            assert_eq!(condition, &want, "{}: {role}", env.name);
            assert_eq!(list(&trust[0]["Action"]), ["sts:AssumeRoleWithWebIdentity"], "{}: {role}", env.name);
        }
        if !env.ci.plan_pull_requests {
            continue;
        }
        let plan: Vec<String> = statements(&t, "PlanRole").iter().flat_map(|s| list(&s["Action"])).collect();
        for never in ["cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack", "lambda:UpdateFunctionCode"] {
            assert!(!plan.iter().any(|a| a == never || a.ends_with('*')), "{}: PlanRole may {never}", env.name);
        }
    }
}
