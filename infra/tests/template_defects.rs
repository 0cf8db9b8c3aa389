//! Properties of the service template that each stood for a defect once, checked in every
//! environment file: CodeDeploy's role has only the limited managed policy, a custom domain turns
//! the execute-api endpoint off while the outputs keep a reachable URL, and the account-wide API
//! Gateway logging role outlives the stack that made it.

use std::path::Path;

use infra::env::Environment;
use infra::stacks::service;
use serde_json::Value;

fn environments() -> Vec<(Environment, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    let envs: Vec<(Environment, Value)> = Environment::names(&dir)
        .unwrap()
        .iter()
        .map(|name| {
            let env = Environment::load_named(&dir, name).unwrap();
            let template = service::build(&env).unwrap().to_json();
            (env, template)
        })
        .collect();
    assert!(!envs.is_empty(), "no environment files in {}", dir.display());
    envs
}

fn resources_of_type<'a>(template: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"].as_object().unwrap().iter().filter(|(_, r)| r["Type"] == ty).collect()
}

#[test]
fn codedeploy_role_has_only_the_limited_policy() {
    let limited = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited";
    let mut seen = 0;
    for (env, t) in environments() {
        if env.function.canary.is_none() {
            assert!(
                t["Resources"].get("TokenDeployRole").is_none(),
                "{}: a CodeDeploy role without a canary",
                env.name
            );
            continue;
        }
        seen += 1;
        let role = &t["Resources"]["TokenDeployRole"];
        let principal = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"];
        assert_eq!(principal, &serde_json::json!(["codedeploy.amazonaws.com"]), "{}", env.name);
        assert_eq!(
            role["Properties"]["ManagedPolicyArns"],
            serde_json::json!([{"Fn::Sub": limited}]),
            "{}: CodeDeploy needs only AWSCodeDeployRoleForLambdaLimited",
            env.name
        );
    }
    assert!(seen > 0, "no environment has a canary, so nothing was checked");
}

#[test]
fn custom_domain_disables_the_execute_api_endpoint() {
    let mut with_domain = 0;
    for (env, t) in environments() {
        let apis = resources_of_type(&t, "AWS::ApiGateway::RestApi");
        assert_eq!(apis.len(), 1, "{}", env.name);
        let disabled = &apis[0].1["Properties"]["DisableExecuteApiEndpoint"];
        let outputs = &t["Outputs"];
        match &env.api.custom_domain {
            Some(domain) => {
                with_domain += 1;
                assert_eq!(disabled, true, "{}: the execute-api endpoint bypasses the custom domain", env.name);
                let base = format!("https://{}", domain.domain_name);
                for (output, path) in
                    [("ApiUrl", ""), ("TokenUrl", "/oauth/token"), ("JwksUrl", "/.well-known/jwks.json")]
                {
                    assert_eq!(
                        outputs[output]["Value"],
                        format!("{base}{path}"),
                        "{}: {output} must use the custom domain, the only endpoint left",
                        env.name
                    );
                }
            }
            None => {
                assert_eq!(disabled, false, "{}: without a custom domain execute-api is the only endpoint", env.name);
                for output in ["ApiUrl", "TokenUrl", "JwksUrl"] {
                    assert!(outputs[output]["Value"].to_string().contains("execute-api"), "{}: {output}", env.name);
                }
            }
        }
        // No output may point at an endpoint that answers 403.
        if disabled == true {
            for (name, o) in outputs.as_object().unwrap() {
                assert!(
                    !o["Value"].to_string().contains("execute-api"),
                    "{}: output {name} uses execute-api",
                    env.name
                );
            }
        }
    }
    assert!(with_domain > 0, "no environment has a custom domain, so nothing was checked");
}

#[test]
fn account_logging_role_outlives_the_stack() {
    let mut managed = 0;
    for (env, t) in environments() {
        let resources = &t["Resources"];
        if !env.api.manage_account_logging_role {
            assert!(resources.get("ApiGatewayLoggingRole").is_none(), "{}", env.name);
            assert!(resources_of_type(&t, "AWS::ApiGateway::Account").is_empty(), "{}", env.name);
            continue;
        }
        managed += 1;
        let accounts = resources_of_type(&t, "AWS::ApiGateway::Account");
        assert_eq!(accounts.len(), 1, "{}", env.name);
        let role = &resources["ApiGatewayLoggingRole"];
        assert_eq!(
            accounts[0].1["Properties"]["CloudWatchRoleArn"],
            serde_json::json!({"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]}),
            "{}",
            env.name
        );
        for (id, r) in [("ApiGatewayLoggingRole", role), (accounts[0].0.as_str(), accounts[0].1)] {
            for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
                assert_eq!(
                    r[policy], "Retain",
                    "{}: {id} needs {policy}: Retain; the account setting still points at the role after the stack is gone",
                    env.name
                );
            }
        }
    }
    assert!(managed > 0, "no environment manages the account logging role, so nothing was checked");
}
