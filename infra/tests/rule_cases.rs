//! One bad case per validation rule, each asserting the rule's finding at its exact path (a JSON
//! path into the template, or `file:key (line N)` for rules over the environment file); the
//! shipped environments, which have no finding at all (`validate.rs`), are every rule's good
//! case. A rule without a row here fails `every_rule_has_a_bad_case_at_its_path`.

use std::path::Path;

mod builders;

use builders::{RawAlarm, alarm_properties, log_group, role};
use infra::cfn::policy::{PolicyDocument, Statement};
use infra::cfn::resources::{cloudwatch, kms, sns};
use infra::cfn::{Options, Template, Value};
use infra::env::Environment;
use infra::stacks::{self, Stack};
use infra::validate::{self, Finding};
use serde_json::{Value as Json, json};

/// A shipped environment, its findings naming the file as the repository does.
fn env(name: &str) -> Environment {
    let file = format!("environments/{name}.yaml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&file)).unwrap();
    Environment::parse(&text, name, Path::new(&file)).unwrap()
}

/// Every rule over one typed template.
fn typed(t: Template, env: &Environment) -> Vec<Finding> {
    validate::all(&[Stack { id: stacks::StackId::Service, name: "test-stack".into(), template: t }], env)
}

/// The JSON rules over one template.
fn json_rules(j: &Json, env: &Environment) -> Vec<Finding> {
    validate::template_json("test-stack", j, env)
}

/// Every rule over environment `name` with `from` replaced by `to` in its file.
fn file_edited(name: &str, from: &str, to: &str) -> Vec<Finding> {
    let file = format!("environments/{name}.yaml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&file)).unwrap();
    assert!(text.contains(from), "{file} no longer contains {from:?}");
    let e = Environment::parse(&text.replacen(from, to, 1), name, Path::new(&file)).unwrap();
    validate::all(&stacks::all(&e).unwrap(), &e)
}

/// The account rules over prod with `from` replaced by `to`, against a copy of prod named `qa`
/// (same account and region) with the same edit.
fn account_edited(from: &str, to: &str) -> Vec<Finding> {
    let file = "environments/prod.yaml";
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file)).unwrap();
    assert!(text.contains(from), "{file} no longer contains {from:?}");
    let text = text.replacen(from, to, 1);
    let prod = Environment::parse(&text, "prod", Path::new(file)).unwrap();
    let qa = Environment::parse(&text, "qa", Path::new("environments/qa.yaml")).unwrap();
    let qa_stacks = stacks::all(&qa).unwrap();
    let siblings = [validate::Sibling { env: &qa, stacks: &qa_stacks }];
    validate::account(&prod, &stacks::all(&prod).unwrap(), &siblings, &["staging: unreadable".into()])
}

fn prod_edited(from: &str, to: &str) -> Vec<Finding> {
    file_edited("prod", from, to)
}

/// A stack's synthesized JSON for `env`, edited.
fn edited(env: &Environment, stack: &str, edit: impl Fn(&mut Json)) -> Json {
    let mut j = stacks::all(env).unwrap().into_iter().find(|s| s.id.as_str() == stack).unwrap().template.to_json();
    edit(&mut j);
    j
}

fn alarm(patch: Json) -> Template {
    let mut t = Template::new("t");
    t.add("Alarm", RawAlarm(alarm_properties(&patch))).unwrap();
    t
}

fn role_template(statements: Vec<Statement>) -> Template {
    let mut t = Template::new("t");
    t.add("Role", role(statements)).unwrap();
    t
}

fn many_log_groups(n: usize) -> Template {
    let mut t = Template::new("t");
    for i in 0..n {
        t.add(&format!("Logs{i}"), log_group(&format!("/a/fairly/long/log/group/name/to/take/room/{i}"), 14)).unwrap();
    }
    t
}

fn output(value: Value<String>) -> Template {
    let mut t = Template::new("t");
    t.add("Logs", log_group("/a", 14)).unwrap();
    t.output("Out", "o", value).unwrap();
    t
}

/// (rule, its findings for a bad input, the path its finding must have)
type Row = (&'static str, Vec<Finding>, &'static str);

/// Every rule over `e`'s service stack, its JSON edited.
fn service(e: &Environment, edit: &dyn Fn(&mut Json)) -> Vec<Finding> {
    json_rules(&edited(e, "service", edit), e)
}

/// Every rule over `e`'s stacks.
fn prod_alarms(e: &Environment) -> Vec<Finding> {
    validate::all(&stacks::all(e).unwrap(), e)
}

/// Every rule's bad case, the rules' rows kind by kind.
fn cases() -> Vec<Row> {
    let (dev, prod) = (env("dev"), env("prod"));
    [
        reference_rows(&dev),
        limit_rows(&dev),
        iam_rows(&dev, &prod),
        alarm_rows(&dev, &prod),
        topic_rows(&dev),
        deploy_rows(&dev, &prod),
        policy_rows(&prod),
        account_rows(),
        version_rows(&prod),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Rows of the reference and id rules: dangling `Ref`, `Sub` and `DependsOn`, and ids.
fn reference_rows(dev: &Environment) -> Vec<Row> {
    let mut foreign = Template::new("other");
    let foreign = foreign.add("Logs", log_group("/x", 14)).unwrap();
    let mut dangling = Template::new("t");
    dangling.add_with("Mine", log_group("/y", 14), Options::new().depends_on(&foreign)).unwrap();
    vec![
        (
            "REF001",
            typed(output(Value::Fn(Box::new(infra::cfn::Intrinsic::Ref("Nothing".into())))), dev),
            "$.Outputs.Out.Value.Ref",
        ),
        ("REF002", typed(output(Value::sub("${Logs.Nope}")), dev), "$.Outputs.Out.Value.Fn::Sub"),
        ("REF003", typed(output(Value::sub("${Nothing}-${!Literal}")), dev), "$.Outputs.Out.Value.Fn::Sub"),
        ("REF004", typed(dangling, dev), "$.Resources.Mine.DependsOn[0]"),
        ("REF005", typed(output(Value::Lit("${AWS::Region}".into())), dev), "$.Outputs.Out.Value"),
        (
            "ID001",
            json_rules(&json!({"Resources": {"Bad-Id": {"Type": "AWS::SNS::Topic", "Properties": {}}}}), dev),
            "$.Resources.Bad-Id",
        ),
    ]
}

/// Rows of the limit, name, schema and region rules.
fn limit_rows(dev: &Environment) -> Vec<Row> {
    let mut names = Template::new("t");
    names
        .add(
            "Dashboard",
            cloudwatch::Dashboard { dashboard_name: "d".repeat(256), dashboard_body: Value::Lit("{}".into()) },
        )
        .unwrap();
    names.add("Alias", kms::Alias { alias_name: "alias/aws/mine".into(), target_key_id: "k".into() }).unwrap();
    vec![
        ("LIM001", typed(many_log_groups(300), dev), "$"),
        ("LIM002", typed(many_log_groups(501), dev), "$.Resources"),
        ("NAME001", typed(names.clone(), dev), "$.Resources.Dashboard.Properties.DashboardName"),
        ("NAME002", typed(names, dev), "$.Resources.Alias.Properties.AliasName"),
        (
            "SCHEMA001",
            service(dev, &|j| j["Resources"]["TokenFunction"]["Properties"]["FunctionName"] = "f".repeat(65).into()),
            "$.Resources.TokenFunction.Properties.FunctionName",
        ),
        (
            "SCHEMA002",
            service(dev, &|j| j["Resources"]["TokenFunction"]["Type"] = "AWS::Lambda::Nope".into()),
            "$.Resources.TokenFunction.Type",
        ),
        (
            "REGION001",
            file_edited("dev", "region: eu-west-1", "region: eu-nowhere-9"),
            "environments/dev.yaml:region (line 3)",
        ),
    ]
}

/// Rows of the IAM rules: wildcards, `NotAction`, and the execution role's handler permissions.
fn iam_rows(dev: &Environment, prod: &Environment) -> Vec<Row> {
    let bootstrap_and_service = |drop: &str| {
        let all = stacks::all(prod).unwrap();
        let mut jsons: Vec<(&str, Json)> = all.iter().map(|s| (s.name.as_str(), s.template.to_json())).collect();
        for (_, j) in &mut jsons {
            if let Some(policies) =
                j.pointer_mut("/Resources/ExecutionRole/Properties/Policies/0/PolicyDocument/Statement")
            {
                for st in policies.as_array_mut().unwrap() {
                    if let Some(actions) = st["Action"].as_array_mut() {
                        actions.retain(|a| a != drop);
                    }
                }
            }
        }
        validate::cross_stack(&jsons.iter().map(|(n, j)| (*n, j.clone())).collect::<Vec<_>>())
    };
    vec![
        (
            "IAM001",
            typed(role_template(vec![Statement::allow(&["s3:GetObject"], vec!["*".into()])]), dev),
            "$.Resources.Role.Properties.Policies[0].PolicyDocument.Statement[0].Resource",
        ),
        (
            "IAM002",
            typed(
                role_template(vec![Statement::allow(
                    &["dynamodb:*"],
                    vec![Value::sub("arn:${AWS::Partition}:dynamodb:::table/x")],
                )]),
                dev,
            ),
            "$.Resources.Role.Properties.Policies[0].PolicyDocument.Statement[0].Action",
        ),
        (
            "IAM003",
            json_rules(
                &json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "arn:aws:s3:::b"}]}}]}}}}),
                dev,
            ),
            "$.Resources.Role.Properties.Policies[0].PolicyDocument.Statement[0]",
        ),
        ("IAM004", bootstrap_and_service("lambda:CreateFunction"), "$.Resources.ExecutionRole.Properties.Policies"),
    ]
}

/// Rows of the alarm rules ALARM001 to ALARM009: settings, stage and canary.
fn alarm_rows(dev: &Environment, prod: &Environment) -> Vec<Row> {
    let with_service = |monitoring: &Environment| {
        let stacks = vec![
            Stack { id: stacks::StackId::Service, name: "svc".into(), template: stacks::service::build(prod).unwrap() },
            Stack {
                id: stacks::StackId::Monitoring,
                name: "mon".into(),
                template: stacks::monitoring::build(monitoring).unwrap(),
            },
        ];
        validate::all(&stacks, prod)
    };
    let mut other_stage = env("prod");
    other_stage.api.stage_name = serde_norway::from_str("v2").unwrap();
    vec![
        ("ALARM001", typed(alarm(json!({"Threshold": null})), dev), "$.Resources.Alarm.Properties"),
        ("ALARM002", typed(alarm(json!({"Period": 45})), dev), "$.Resources.Alarm.Properties.Period"),
        (
            "ALARM003",
            typed(alarm(json!({"DatapointsToAlarm": 6})), dev),
            "$.Resources.Alarm.Properties.DatapointsToAlarm",
        ),
        (
            "ALARM004",
            typed(alarm(json!({"Period": 300, "EvaluationPeriods": 289, "DatapointsToAlarm": 1})), dev),
            "$.Resources.Alarm.Properties.EvaluationPeriods",
        ),
        ("ALARM005", typed(alarm(json!({"AlarmActions": []})), prod), "$.Resources.Alarm.Properties.AlarmActions"),
        ("ALARM006", with_service(&other_stage), "$.Resources.Api5xxRateAlarm.Properties.Metrics[0].MetricStat.Metric"),
        (
            "ALARM007",
            prod_edited(
                "lambda_errors: {threshold: 5, period_seconds: 60,",
                "lambda_errors: {threshold: 5, period_seconds: 30,",
            ),
            "environments/prod.yaml:monitoring.alarms.lambda_errors.period_seconds (line 66)",
        ),
        (
            "ALARM008",
            prod_edited("lambda_concurrency: {threshold: 80,", "lambda_concurrency: {threshold: 100,"),
            "environments/prod.yaml:monitoring.alarms.lambda_concurrency.threshold (line 70)",
        ),
        (
            "ALARM009",
            prod_edited("rollback_monitoring_minutes: 10", "rollback_monitoring_minutes: 2"),
            "environments/prod.yaml:function.canary.rollback_monitoring_minutes (line 21)",
        ),
    ]
}

/// Rows of the SNS rules: topics encrypted with the managed key and with their own.
fn topic_rows(dev: &Environment) -> Vec<Row> {
    let topic =
        |key: Value<String>| sns::Topic { topic_name: "a".into(), display_name: "a".into(), kms_master_key_id: key };
    let mut sns001 = Template::new("t");
    sns001.add("Managed", topic("alias/aws/sns".into())).unwrap();
    let mut sns002 = Template::new("t");
    let key = sns002
        .add(
            "Key",
            kms::Key {
                description: "k".into(),
                key_spec: kms::KeySpec::SymmetricDefault.into(),
                key_usage: kms::KeyUsage::EncryptDecrypt,
                enable_key_rotation: Some(true),
                pending_window_in_days: 7,
                key_policy: PolicyDocument::new(vec![Statement::account_administers_key()]),
            },
        )
        .unwrap();
    sns002.add("Own", topic(key.r#ref())).unwrap();
    vec![
        ("SNS001", typed(sns001, dev), "$.Resources.Managed.Properties.KmsMasterKeyId"),
        ("SNS002", typed(sns002, dev), "$.Resources.Own.Properties.KmsMasterKeyId"),
    ]
}

/// Rows of the deploy, function and signing rules.
fn deploy_rows(dev: &Environment, prod: &Environment) -> Vec<Row> {
    let mut slow = env("dev");
    slow.function.timeout_seconds = serde_norway::from_str("60").unwrap();
    vec![
        (
            "DEPLOY001",
            validate::all(
                &[Stack {
                    id: stacks::StackId::Service,
                    name: "svc".into(),
                    template: stacks::service::build(prod).unwrap(),
                }],
                prod,
            ),
            "$.Resources.TokenDeployGroup.Properties.AlarmConfiguration.Alarms[0]",
        ),
        (
            "DEPLOY002",
            validate::cross_stack(&[(
                "s",
                edited(prod, "service", |j| {
                    j["Resources"]["TokenDeployGroup"]["Properties"]["AlarmConfiguration"]["Alarms"] = json!([])
                }),
            )]),
            "$.Resources.TokenDeployGroup.Properties.AlarmConfiguration",
        ),
        (
            "DEPLOY003",
            prod_edited("  cost-center: \"4711\"\n", &(0..48).map(|i| format!("  t{i}: x\n")).collect::<String>()),
            "environments/prod.yaml:tags (line 7)",
        ),
        (
            "DEPLOY004",
            prod_edited("  allow_hotswap: false", "  allow_hotswap: true"),
            "environments/prod.yaml:deploy.allow_hotswap (line 83)",
        ),
        ("LAMBDA001", prod_alarms(&slow), "environments/dev.yaml:function.timeout_seconds (line 13)"),
        (
            "LAMBDA002",
            service(dev, &|j| {
                j["Resources"]["TokenFunction"]["Properties"]["Environment"]["Variables"]["TOKEN_AUDIENCE"] =
                    "a".repeat(5000).into()
            }),
            "$.Resources.TokenFunction.Properties.Environment.Variables",
        ),
        (
            "SIGN001",
            prod_edited("  mode: envelope #", "  mode: kms #"),
            "environments/prod.yaml:api.throttling.rate_limit (line 41)",
        ),
    ]
}

/// Rows of prod's policy rules, the lifecycle rule and the warning alarms' actions (ALARM010).
fn policy_rows(prod: &Environment) -> Vec<Row> {
    let mut unprotected = env("prod");
    unprotected.termination_protection = false;
    let mut no_waf = env("prod");
    no_waf.api.waf = None;
    vec![
        ("POL001", prod_alarms(&unprotected), "environments/prod.yaml:termination_protection (line 5)"),
        (
            "POL002",
            typed(
                {
                    let mut t = Template::new("t");
                    t.add("Logs", log_group("/short", 30)).unwrap();
                    t
                },
                prod,
            ),
            "$.Resources.Logs.Properties.RetentionInDays",
        ),
        ("POL003", prod_alarms(&no_waf), "environments/prod.yaml:api.waf (line 45)"),
        (
            "POL004",
            prod_edited("  reserved_concurrency: 200\n", ""),
            "environments/prod.yaml:policy.require_reserved_concurrency (line 96)",
        ),
        (
            "POL005",
            prod_edited("retain_data_on_delete: true", "retain_data_on_delete: false"),
            "environments/prod.yaml:retain_data_on_delete (line 6)",
        ),
        (
            "LIFE001",
            typed(
                {
                    let mut t = Template::new("t");
                    t.add_with("Logs", log_group("/kept", 365), Options::new().retain_always()).unwrap();
                    t
                },
                prod,
            ),
            "$.Resources.Logs.DeletionPolicy",
        ),
        (
            "ALARM010",
            json_rules(
                &edited(prod, "monitoring", |j| {
                    let subs: Vec<String> = j["Resources"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .filter(|k| k.starts_with("WarningAlertSubscription"))
                        .cloned()
                        .collect();
                    for k in subs {
                        j["Resources"].as_object_mut().unwrap().remove(&k);
                    }
                }),
                prod,
            ),
            "$.Resources.LambdaDurationP95Alarm.Properties.AlarmActions",
        ),
    ]
}

/// Rows of the account rules, over prod against a sibling in the same account.
fn account_rows() -> Vec<Row> {
    vec![
        (
            "ACCT001",
            account_edited("  reserved_concurrency: 200", "  reserved_concurrency: 500"),
            "environments/prod.yaml:function.reserved_concurrency (line 15)",
        ),
        (
            "ACCT002",
            account_edited("    rate_limit: 500", "    rate_limit: 5001"),
            "environments/prod.yaml:api.throttling.rate_limit (line 41)",
        ),
        ("ACCT003", account_edited("", ""), "environments/prod.yaml:api.manage_account_logging_role (line 44)"),
        ("ACCT004", account_edited("", ""), "environments/prod.yaml:api.custom_domain.domain_name (line 50)"),
        (
            "ACCT006",
            {
                // qa declares another quota for the same account.
                let file = "environments/prod.yaml";
                let text =
                    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file)).unwrap();
                let prod = Environment::parse(&text, "prod", Path::new(file)).unwrap();
                let qa_text = format!("{text}\naccount_quotas:\n  api_burst: 4000\n");
                let qa = Environment::parse(&qa_text, "qa", Path::new("environments/qa.yaml")).unwrap();
                let qa_stacks = stacks::all(&qa).unwrap();
                validate::account(
                    &prod,
                    &stacks::all(&prod).unwrap(),
                    &[validate::Sibling { env: &qa, stacks: &qa_stacks }],
                    &[],
                )
            },
            "environments/prod.yaml:account_quotas.api_burst",
        ),
        (
            "ACCT007",
            account_edited("  mode: envelope #", "  mode: kms #"),
            "environments/prod.yaml:api.throttling.rate_limit (line 41)",
        ),
        ("ACCT005", account_edited("", ""), "environments/prod.yaml"),
    ]
}

/// Rows of the version rules: descriptions that do not change with the code and settings.
fn version_rows(prod: &Environment) -> Vec<Row> {
    vec![
        (
            "VERSION001",
            json_rules(
                &edited(prod, "service", |j| {
                    // The description as it was before parameters reached it.
                    j["Resources"]["TokenFunctionVersion"]["Properties"]["Description"] =
                        json!({"Fn::Sub": "code ${ArtifactKey}, settings 252c9468eebe8263"});
                }),
                prod,
            ),
            "$.Resources.TokenFunctionVersion.Properties.Description",
        ),
        (
            "VERSION002",
            json_rules(
                &edited(prod, "service", |j| {
                    // The function's description as it was before it carried the digest.
                    j["Resources"]["TokenFunction"]["Properties"]["Description"] =
                        json!("token-service-prod: OAuth 2.0 token endpoint");
                }),
                prod,
            ),
            "$.Resources.TokenFunction.Properties.Description",
        ),
    ]
}

#[test]
fn every_rule_has_a_bad_case_at_its_path() {
    let cases = cases();
    let (mut missing, mut wrong) = (Vec::new(), Vec::new());
    for rule in validate::rules() {
        let Some((_, findings, path)) = cases.iter().find(|(id, _, _)| *id == rule.id) else {
            missing.push(rule.id);
            continue;
        };
        let at: Vec<&str> = findings.iter().filter(|f| f.rule == rule.id).map(|f| f.path.as_str()).collect();
        if !at.contains(path) {
            wrong.push(format!("{}: want a finding at {path}, got {at:?}", rule.id));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(missing.is_empty(), "rules without a bad case here: {missing:?}");
}
