//! The account rules (ACCT): environments sharing an account and region share its quotas, its
//! singletons and its name spaces. Each row builds two environments from dev.yaml with edits and
//! holds what the first one's findings say.

use std::path::Path;

use infra::env::Environment;
use infra::stacks::{self, Stack};
use infra::validate::{self, Finding, Sibling};

fn dev_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments/dev.yaml")).unwrap()
}

/// dev.yaml under `name` with `edits` applied (each `from` must be in the file).
fn env(name: &str, edits: &[(&str, &str)]) -> Environment {
    let mut text = dev_text();
    for (from, to) in edits {
        assert!(text.contains(from), "dev.yaml no longer contains {from:?}");
        text = text.replacen(from, to, 1);
    }
    Environment::parse(&text, name, Path::new(&format!("environments/{name}.yaml")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The account findings of `first` against `others`.
fn findings(first: &Environment, others: &[Environment]) -> Vec<Finding> {
    let built: Vec<(&Environment, Vec<Stack>)> = others.iter().map(|o| (o, stacks::all(o).unwrap())).collect();
    let siblings: Vec<Sibling<'_>> = built.iter().map(|(env, stacks)| Sibling { env, stacks }).collect();
    validate::account(first, &stacks::all(first).unwrap(), &siblings, &[])
}

fn rules(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.rule).collect()
}

const RESERVED: &str = "function:\n";
fn reserved(n: u32) -> String {
    format!("function:\n  reserved_concurrency: {n}\n")
}

#[test]
fn reserved_concurrency_leaves_100_unreserved_in_the_shared_account() {
    let has_reserved = dev_text().contains("\n  reserved_concurrency:");
    assert!(!has_reserved, "dev.yaml now reserves concurrency; adjust the rows");
    let rows: Vec<(u32, Option<u32>, Option<&str>, bool)> = vec![
        // (this env, the other env in the same account and region, declared quota, finding?)
        (1000, None, None, true), // the example: nothing left unreserved
        (900, None, None, false),
        (901, None, None, true),
        (450, Some(450), None, false),
        (450, Some(451), None, true),
        (1000, None, Some("2000"), false),
        (1, None, Some("10"), true), // a new account's quota of 10: nothing can be reserved
        // One reservable execution: Lambda takes it, but the concurrency alarm that comes with a
        // reservation needs two (ALARM008), so one finding says what to change instead.
        (1, None, Some("101"), true),
        (2, None, Some("101"), true),
    ];
    for (own, other, quota, bad) in rows {
        let quota_edit = quota.map(|q| format!("\naccount_quotas:\n  lambda_concurrent_executions: {q}\n"));
        let mut first = dev_text().replacen(RESERVED, &reserved(own), 1);
        if let Some(q) = &quota_edit {
            first.push_str(q);
        }
        let first = Environment::parse(&first, "dev", Path::new("environments/dev.yaml")).unwrap();
        let others: Vec<Environment> = other.map(|n| env("qa", &[(RESERVED, &reserved(n))])).into_iter().collect();
        let got = findings(&first, &others);
        let acct001: Vec<&Finding> = got.iter().filter(|f| f.rule == "ACCT001").collect();
        assert_eq!(!acct001.is_empty(), bad, "{own} + {other:?} with quota {quota:?}: {got:?}");
        if bad {
            assert!(
                acct001[0].path.starts_with("environments/dev.yaml:function.reserved_concurrency (line "),
                "{:?}",
                acct001[0]
            );
        }
    }
}

#[test]
fn stage_rates_add_up_within_the_account_throttle() {
    let text = dev_text();
    let rate = text.lines().find(|l| l.trim_start().starts_with("rate_limit:")).unwrap().to_owned();
    let with_rate = |n: u32| format!("{}rate_limit: {n}", &rate[..rate.find("rate_limit").unwrap()]);
    // KMS quotas high enough that signing (ACCT007) is not the tighter bound.
    let kms = ("signing_key:\n", "signing_key:\n  kms_quotas: {ecc: 100000}\n");
    for (a, b, bad) in [(5_000, 5_000, false), (5_000, 5_001, true), (10_000, 1, true), (100, 100, false)] {
        let first = env("dev", &[(&rate, &with_rate(a)), kms]);
        let other = env("qa", &[(&rate, &with_rate(b)), kms]);
        assert_eq!(rules(&findings(&first, &[other])).contains(&"ACCT002"), bad, "{a} + {b}");
    }
    // Another region has its own throttle.
    let first = env("dev", &[(&rate, &with_rate(10_000))]);
    let elsewhere = env("qa", &[(&rate, &with_rate(10_000)), ("region: eu-west-1", "region: eu-central-1")]);
    assert!(!rules(&findings(&first, &[elsewhere])).contains(&"ACCT002"));
    // A lower declared burst (regions with 2,500 requests/s have 1,250).
    let mut low = dev_text();
    low.push_str("\naccount_quotas:\n  api_burst: 1\n");
    let low = Environment::parse(&low, "dev", Path::new("environments/dev.yaml")).unwrap();
    assert!(findings(&low, &[]).iter().any(|f| f.rule == "ACCT002" && f.path.contains("burst_limit")));
}

#[test]
fn one_environment_owns_the_api_gateway_account_setting() {
    let flag = "manage_account_logging_role: ";
    let text = dev_text();
    let line = text.lines().find(|l| l.contains(flag)).unwrap().to_owned();
    let on = line.replace("false", "true");
    let off = line.replace("true", "false");
    let a = env("dev", &[(&line, &on)]);
    let logging =
        |f: Vec<Finding>| f.iter().any(|f| f.rule == "ACCT003" && f.path.contains("manage_account_logging_role"));
    assert!(logging(findings(&a, &[env("qa", &[(&line, &on)])])));
    assert!(!logging(findings(&a, &[env("qa", &[(&line, &off)])])));
    let other_region = env("qa", &[(&line, &on), ("region: eu-west-1", "region: eu-central-1")]);
    assert!(!logging(findings(&a, &[other_region])));
}

/// `token` + `service-dev` names everything as `token-service` + `dev` does.
#[test]
fn names_stay_unique_in_their_scope() {
    let prefix = "stack_prefix: token-service";
    let a = env("dev", &[]);
    let b = env("service-dev", &[(prefix, "stack_prefix: token")]);
    let got = findings(&a, std::slice::from_ref(&b));
    let acct004: Vec<&Finding> = got.iter().filter(|f| f.rule == "ACCT004").collect();
    assert_eq!(acct004.len(), 1, "one line per other file: {acct004:?}");
    assert!(acct004[0].path.starts_with("environments/dev.yaml:stack_prefix (line "), "{acct004:?}");
    assert!(
        acct004[0].message.contains("AWS::IAM::ManagedPolicy") || acct004[0].message.contains("name(s) are also"),
        "{acct004:?}"
    );
    // In another region only the account-wide names (IAM, dashboard, budget) collide: fewer.
    let count = |f: &Finding| f.message.split(' ').next().unwrap().parse::<usize>().unwrap();
    let elsewhere =
        env("service-dev", &[(prefix, "stack_prefix: token"), ("region: eu-west-1", "region: eu-central-1")]);
    let there = findings(&a, &[elsewhere]);
    let there: Vec<&Finding> = there.iter().filter(|f| f.rule == "ACCT004").collect();
    assert_eq!(there.len(), 1);
    assert!(count(there[0]) < count(acct004[0]), "{there:?} vs {acct004:?}");
    // Other accounts are other name spaces; distinct names do not collide.
    let other_account = env(
        "service-dev",
        &[(prefix, "stack_prefix: token"), ("account_id: \"111111111111\"", "account_id: \"999999999999\"")],
    );
    assert!(!rules(&findings(&a, &[other_account])).contains(&"ACCT004"));
    assert!(!rules(&findings(&a, &[env("qa", &[])])).contains(&"ACCT004"));
}

/// Quotas describe the account: files of one account and region agree on them.
#[test]
fn quotas_of_one_account_agree() {
    let mut raised = dev_text();
    raised.push_str("\naccount_quotas:\n  lambda_concurrent_executions: 5000\n");
    let raised = Environment::parse(&raised, "qa", Path::new("environments/qa.yaml")).unwrap();
    let a = env("dev", &[]);
    let got = findings(&a, &[raised]);
    let f = got.iter().find(|f| f.rule == "ACCT006").expect("ACCT006");
    assert!(
        f.message.contains("account_quotas.lambda_concurrent_executions is 1000 here but 5000 in environments/qa.yaml"),
        "{f:?}"
    );
    assert!(!rules(&findings(&a, &[env("qa", &[])])).contains(&"ACCT006"));
}

/// KMS's request quota is the account's: kms-mode environments share it.
#[test]
fn kms_mode_rates_share_the_accounts_kms_quota() {
    let text = dev_text();
    let rate = text.lines().find(|l| l.trim_start().starts_with("rate_limit:")).unwrap().to_owned();
    let with_rate = |n: u32| format!("{}rate_limit: {n}", &rate[..rate.find("rate_limit").unwrap()]);
    assert!(text.contains("signing_key:\n"), "dev.yaml's signing_key changed");
    for (a, b, mode_b, bad) in [(150, 150, "kms", false), (150, 151, "kms", true), (200, 200, "envelope", false)] {
        let first = env("dev", &[(&rate, &with_rate(a))]);
        let other =
            env("qa", &[(&rate, &with_rate(b)), ("signing_key:\n", &format!("signing_key:\n  mode: {mode_b}\n"))]);
        assert_eq!(rules(&findings(&first, &[other])).contains(&"ACCT007"), bad, "{a} + {b} ({mode_b})");
    }
}

/// One GitHub OIDC provider per account, whatever the region.
#[test]
fn one_environment_creates_the_oidc_provider() {
    let text = dev_text();
    let line = text.lines().find(|l| l.contains("create_oidc_provider:")).unwrap().to_owned();
    let on = line.replace("false", "true");
    let a = env("dev", &[(&line, &on)]);
    let elsewhere = env("qa", &[(&line, &on), ("region: eu-west-1", "region: eu-central-1")]);
    assert!(
        findings(&a, &[elsewhere]).iter().any(|f| f.rule == "ACCT003" && f.path.contains("ci.create_oidc_provider"))
    );
    let off = line.replace("true", "false");
    let got = findings(&a, &[env("qa", &[(&line, &off)])]);
    assert!(!got.iter().any(|f| f.path.contains("ci.create_oidc_provider")), "{got:?}");
}

#[test]
fn an_unreadable_sibling_is_said() {
    let a = env("dev", &[]);
    let got = validate::account(&a, &stacks::all(&a).unwrap(), &[], &["prod: bad".into()]);
    assert_eq!(rules(&got), ["ACCT005"]);
    assert_eq!(got[0].severity, validate::Severity::Warning);
}
