//! Snapshots of what a deploy prints: the change-set plan and the event lines.

use infra::deploy::change_set::{Action, Change, PropertyChange, render};
use infra::deploy::events::{self, Event};

fn change(id: &str, ty: &str, action: Action, replacement: Option<&str>, details: &[&str]) -> Change {
    Change {
        logical_id: id.into(),
        resource_type: ty.into(),
        action,
        replacement: replacement.map(str::to_owned),
        details: details.iter().map(|d| (*d).to_owned()).collect(),
        properties: vec![],
    }
}

fn property(path: &str, before: &str, after: &str, recreation: Option<&str>) -> PropertyChange {
    PropertyChange {
        path: path.into(),
        before: Some(before.into()),
        after: Some(after.into()),
        recreation: recreation.map(str::to_owned),
    }
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("..");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn change_set_plan() {
    let changes = vec![
        change("ApiDeployment1a2b", "AWS::ApiGateway::Deployment", Action::Add, None, &[]),
        Change {
            properties: vec![
                property("/Properties/Code/S3Key", "token-function/0a1b.zip", "token-function/2c3d.zip", None),
                property("/Properties/MemorySize", "256", "512", None),
            ],
            ..change("TokenFunction", "AWS::Lambda::Function", Action::Modify, Some("False"), &["MemorySize", "Code"])
        },
        Change {
            properties: vec![property("/Properties/StageName", "v1", "v2", Some("Always"))],
            ..change("ApiStage", "AWS::ApiGateway::Stage", Action::Replace, Some("True"), &["StageName"])
        },
        change("OldAlarm", "AWS::CloudWatch::Alarm", Action::Remove, None, &[]),
        change("TokenFunctionRole", "AWS::IAM::Role", Action::Modify, Some("False"), &["Policies"]),
        change("ApiDomainName", "AWS::ApiGateway::DomainName", Action::Replace, Some("Conditional"), &["DomainName"]),
        change("TokenFunctionApiPermission", "AWS::Lambda::Permission", Action::Add, None, &[]),
    ];
    let text =
        format!("{}{}", render("token-service-dev-service", &changes), render("token-service-dev-monitoring", &[]));
    settings().bind(|| insta::assert_snapshot!("render_change_set", text));
}

#[test]
fn event_lines_and_root_cause() {
    let ev = |n: u32, id: &str, ty: &str, status: &str, reason: Option<&str>| Event {
        id: format!("e{n}"),
        timestamp: format!("2026-11-23T12:04:{n:02}.123Z"),
        epoch_seconds: 1_795_435_440 + i64::from(n),
        logical_id: id.into(),
        resource_type: ty.into(),
        status: status.into(),
        reason: reason.map(str::to_owned),
    };
    let stream = vec![
        ev(1, "token-service-dev-service", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", Some("User Initiated")),
        ev(2, "ApiDomainName", "AWS::ApiGateway::DomainName", "CREATE_IN_PROGRESS", None),
        ev(
            3,
            "ApiDomainName",
            "AWS::ApiGateway::DomainName",
            "CREATE_FAILED",
            Some("Domain name auth.example.com already exists"),
        ),
        ev(
            4,
            "ApiBasePathMapping",
            "AWS::ApiGateway::BasePathMapping",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ),
        ev(
            5,
            "token-service-dev-service",
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to create: [ApiDomainName]"),
        ),
        ev(6, "token-service-dev-service", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", None),
    ];
    let mut text: Vec<String> = stream.iter().enumerate().map(|(i, e)| events::render(e, i / 2, 2)).collect();
    let cause = events::root_cause(&stream).unwrap();
    text.push(format!("root cause: {} {}", cause.logical_id, cause.reason.as_deref().unwrap_or_default()));
    text.push(events::next_step(&infra::deploy::status::parse("UPDATE_ROLLBACK_COMPLETE"), "dev"));
    settings().bind(|| insta::assert_snapshot!("render_events", text.join("\n")));
}
