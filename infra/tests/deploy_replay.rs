//! Deploy logic against recorded CloudFormation responses, for what the local emulator cannot
//! do: cancel a running update, continue a failed rollback, termination protection, a failed
//! delete, throttling, change sets that span several pages, and the account guard.

use infra::deploy::DeployError;
use infra::deploy::change_set::Action;
use infra::deploy::events;
use infra::deploy::stack::{self, Recovery, StackSpec};
use infra::deploy::status::Meaning;

mod common;

use common::*;

#[test]
fn rollback_continues_a_failed_rollback() {
    let (cfn, replay) = client(vec![
        event(stack_xml("UPDATE_ROLLBACK_FAILED", false)),
        event(events_xml(&[(1, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_FAILED", "x")])),
        event(ok("ContinueUpdateRollback", "")),
        event(stack_xml("UPDATE_ROLLBACK_COMPLETE", false)),
        event(events_xml(&[
            (3, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", ""),
            (2, "TokenFunction", "AWS::Lambda::Function", "UPDATE_COMPLETE", ""),
            (1, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_FAILED", "x"),
        ])),
    ]);
    let outcome = rt().block_on(stack::recover(&cfn, STACK, "prod", fast())).unwrap().unwrap();
    assert_eq!(outcome.status.as_str(), "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(outcome.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e2", "e3"]);
    assert_eq!(
        actions(&replay),
        ["DescribeStacks", "DescribeStackEvents", "ContinueUpdateRollback", "DescribeStacks", "DescribeStackEvents"]
    );
}

#[test]
fn rollback_cancels_a_running_update() {
    let (cfn, replay) = client(vec![
        event(stack_xml("UPDATE_IN_PROGRESS", true)),
        event(events_xml(&[])),
        event(ok("CancelUpdateStack", "")),
        event(stack_xml("UPDATE_ROLLBACK_IN_PROGRESS", true)),
        event(events_xml(&[(
            4,
            STACK,
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "Stack update cancelled",
        )])),
        event(stack_xml("UPDATE_ROLLBACK_COMPLETE", true)),
        event(events_xml(&[
            (5, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", ""),
            (4, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "Stack update cancelled"),
        ])),
    ]);
    let outcome = rt().block_on(stack::recover(&cfn, STACK, "prod", fast())).unwrap().unwrap();
    assert_eq!(outcome.status.as_str(), "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(outcome.events.len(), 2, "each event once");
    assert_eq!(actions(&replay)[2], "CancelUpdateStack");
    assert_eq!(infra::deploy::status::parse("UPDATE_FAILED").recovery(), Recovery::Rollback);
    assert_eq!(infra::deploy::status::parse("UPDATE_COMPLETE").recovery(), Recovery::Nothing);
}

#[test]
fn termination_protection_is_set_when_it_differs() {
    let (cfn, replay) = client(vec![
        event(stack_xml("CREATE_COMPLETE", false)),
        event(ok("UpdateTerminationProtection", &format!("<StackId>{STACK}</StackId>"))),
    ]);
    rt().block_on(async {
        let s = stack::describe(&cfn, STACK).await.unwrap().unwrap();
        stack::protect(&cfn, &s, true).await.unwrap();
        // Already as wanted: no call.
        stack::protect(&cfn, &s, false).await.unwrap();
    });
    assert_eq!(actions(&replay), ["DescribeStacks", "UpdateTerminationProtection"]);
    let body = String::from_utf8_lossy(replay.actual_requests().nth(1).unwrap().body().bytes().unwrap()).into_owned();
    assert!(body.contains("EnableTerminationProtection=true"), "{body}");
}

#[test]
fn failed_delete_names_the_blocker_and_the_way_out() {
    let (cfn, _) = client(vec![
        event(events_xml(&[])),
        event(ok("DeleteStack", "")),
        event(stack_xml("DELETE_FAILED", false)),
        event(events_xml(&[
            (
                9,
                STACK,
                "AWS::CloudFormation::Stack",
                "DELETE_FAILED",
                "The following resource(s) failed to delete: [AssetsBucket]",
            ),
            (8, "AssetsBucket", "AWS::S3::Bucket", "DELETE_FAILED", "The bucket you tried to delete is not empty"),
        ])),
    ]);
    let outcome = rt().block_on(stack::delete(&cfn, STACK, "dev", fast())).unwrap();
    assert_eq!(outcome.status.as_str(), "DELETE_FAILED");
    let cause = events::root_cause(&outcome.events).unwrap();
    assert_eq!(cause.logical_id, "AssetsBucket");
    assert!(events::next_step(&outcome.status, "dev").contains("`cargo run -- destroy dev` again"));
}

#[test]
fn throttling_and_busy_stacks_get_clear_errors() {
    let throttled = format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    );
    let (cfn, _) = client(vec![event_status(400, throttled), event(stack_xml("UPDATE_IN_PROGRESS", false))]);
    let spec = StackSpec {
        name: STACK.into(),
        template: "{}".into(),
        parameters: vec![],
        capabilities: vec![],
        tags: Default::default(),
        termination_protection: true,
        role_arn: None,
        rollback_alarms: vec![],
        rollback_monitoring_minutes: 0,
    };
    rt().block_on(async {
        let e = stack::describe(&cfn, STACK).await.unwrap_err();
        assert!(matches!(e, DeployError::Throttled(_)), "{e}");
        assert!(e.to_string().contains("wait a minute and retry"), "{e}");
        let e = stack::plan(&cfn, &spec, "prod", false, fast()).await.unwrap_err();
        assert!(e.to_string().contains("is UPDATE_IN_PROGRESS and cannot be changed now"), "{e}");
        assert!(e.to_string().contains("cargo run -- status prod --watch"), "{e}");
    });
    // A failed delete takes neither an update nor a create: only another delete, and no change
    // set is asked for.
    let (cfn, replay) = client(vec![event(stack_xml("DELETE_FAILED", false))]);
    let e = rt().block_on(stack::plan(&cfn, &spec, "prod", false, fast())).unwrap_err();
    assert!(e.to_string().contains("is DELETE_FAILED"), "{e}");
    assert!(e.to_string().contains("then `cargo run -- destroy prod` again"), "{e}");
    assert_eq!(actions(&replay), ["DescribeStacks"]);
}

/// Watching survives a failed read or two (a throttle) and says so; five in a row end the watch
/// with the resume command, while the operation goes on.
#[test]
fn watching_outlasts_failed_reads_and_gives_up_with_the_way_back() {
    let throttled = || {
        event_status(
            400,
            format!(
                "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            ),
        )
    };
    let (cfn, replay) = client(vec![
        throttled(),
        throttled(),
        event(stack_xml("UPDATE_COMPLETE", false)),
        event(events_xml(&[(1, STACK, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", "")])),
    ]);
    let outcome = rt().block_on(stack::watch(&cfn, STACK, Default::default(), 1, "prod", fast())).unwrap();
    assert_eq!(outcome.status.as_str(), "UPDATE_COMPLETE");
    assert_eq!(actions(&replay), ["DescribeStacks", "DescribeStacks", "DescribeStacks", "DescribeStackEvents"]);

    let (cfn, _) = client((0..5).map(|_| throttled()).collect());
    let e = rt().block_on(stack::watch(&cfn, STACK, Default::default(), 1, "prod", fast())).unwrap_err();
    assert!(matches!(e, DeployError::WatchLost { .. }), "{e}");
    assert!(
        e.to_string().contains("Rate exceeded") && e.to_string().contains("cargo run -- status prod --watch"),
        "{e}"
    );
}

#[test]
fn change_sets_are_read_across_pages() {
    let change = |id: &str, action: &str, replacement: &str| {
        format!(
            "<member><Type>Resource</Type><ResourceChange><Action>{action}</Action><LogicalResourceId>{id}</LogicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType><Replacement>{replacement}</Replacement><Details><member><Target><Attribute>Properties</Attribute><Name>MemorySize</Name></Target></member></Details></ResourceChange></member>"
        )
    };
    let page = |changes: String, token: &str| {
        ok(
            "DescribeChangeSet",
            &format!(
                "<Status>CREATE_COMPLETE</Status><ExecutionStatus>AVAILABLE</ExecutionStatus><Changes>{changes}</Changes>{token}"
            ),
        )
    };
    let (cfn, replay) = client(vec![
        event(stack_xml("UPDATE_COMPLETE", true)),
        event(ok("CreateChangeSet", "<Id>arn:aws:cloudformation:eu-west-1:333333333333:changeSet/infra-1/abc</Id>")),
        event(page(change("A", "Modify", "False"), "<NextToken>t2</NextToken>")),
        event(page(change("B", "Modify", "True"), "")),
    ]);
    let spec = StackSpec {
        name: STACK.into(),
        template: "{}".into(),
        parameters: vec![("ArtifactKey".into(), None)],
        capabilities: vec!["CAPABILITY_IAM"],
        tags: Default::default(),
        termination_protection: true,
        role_arn: Some("arn:aws:iam::333333333333:role/token-service-prod-bootstrap-ExecutionRole-X".into()),
        rollback_alarms: vec![
            "arn:aws:cloudwatch:eu-west-1:333333333333:alarm:token-service-prod-lambda-errors".into(),
        ],
        rollback_monitoring_minutes: 10,
    };
    let plan = rt().block_on(stack::plan(&cfn, &spec, "prod", false, fast())).unwrap().unwrap();
    assert!(!plan.create);
    let got: Vec<(&str, Action)> = plan.changes.iter().map(|c| (c.logical_id.as_str(), c.action)).collect();
    assert_eq!(got, [("A", Action::Modify), ("B", Action::Replace)]);
    assert_eq!(plan.changes[0].details, ["MemorySize"]);
    let create = String::from_utf8_lossy(replay.actual_requests().nth(1).unwrap().body().bytes().unwrap()).into_owned();
    assert!(create.contains("ChangeSetType=UPDATE"), "{create}");
    assert!(create.contains("UsePreviousValue=true"), "{create}");
    assert!(
        create.contains(
            "RoleARN=arn%3Aaws%3Aiam%3A%3A333333333333%3Arole%2Ftoken-service-prod-bootstrap-ExecutionRole-X"
        ),
        "{create}"
    );
    // The critical alarms become rollback triggers.
    assert!(create.contains("RollbackConfiguration.MonitoringTimeInMinutes=10"), "{create}");
    assert!(
        create.contains("RollbackConfiguration.RollbackTriggers.member.1.Type=AWS%3A%3ACloudWatch%3A%3AAlarm"),
        "{create}"
    );
    let second_page =
        String::from_utf8_lossy(replay.actual_requests().nth(3).unwrap().body().bytes().unwrap()).into_owned();
    assert!(second_page.contains("NextToken=t2"), "{second_page}");
}

/// A change set with no rollback triggers says so (an empty list, no monitoring): without it,
/// CloudFormation keeps the triggers of the stack's last update.
#[test]
fn no_triggers_clear_the_last_updates_triggers() {
    let (cfn, replay) = client(vec![
        event(stack_xml("UPDATE_COMPLETE", true)),
        event(ok("CreateChangeSet", "<Id>arn:aws:cloudformation:eu-west-1:333333333333:changeSet/infra-1/abc</Id>")),
        event(ok(
            "DescribeChangeSet",
            "<Status>CREATE_COMPLETE</Status><ExecutionStatus>AVAILABLE</ExecutionStatus><Changes></Changes>",
        )),
    ]);
    let spec = StackSpec { rollback_alarms: vec![], rollback_monitoring_minutes: 10, ..spec() };
    let _ = rt().block_on(stack::plan(&cfn, &spec, "prod", false, fast()));
    let create = String::from_utf8_lossy(replay.actual_requests().nth(1).unwrap().body().bytes().unwrap()).into_owned();
    assert!(create.contains("RollbackConfiguration.MonitoringTimeInMinutes=0"), "{create}");
    assert!(create.contains("RollbackConfiguration.RollbackTriggers="), "{create}");
    assert!(!create.contains("RollbackTriggers.member"), "{create}");
}

/// A change set that someone deletes while it is computed ends the plan with its status, instead
/// of polling for ever; statuses that mean "still computing" keep it waiting.
#[test]
fn a_change_set_deleted_while_computed_ends_the_plan() {
    let status = |s: &str| {
        ok("DescribeChangeSet", &format!("<Status>{s}</Status><ExecutionStatus>UNAVAILABLE</ExecutionStatus>"))
    };
    let (cfn, replay) = client(vec![
        event(stack_xml("UPDATE_COMPLETE", true)),
        event(ok("CreateChangeSet", "<Id>arn:aws:cloudformation:eu-west-1:333333333333:changeSet/infra-1/abc</Id>")),
        event(status("CREATE_PENDING")),
        event(status("CREATE_IN_PROGRESS")),
        event(status("DELETE_IN_PROGRESS")),
        event(ok("DeleteChangeSet", "")),
    ]);
    let spec = StackSpec {
        name: STACK.into(),
        template: "{}".into(),
        parameters: Vec::new(),
        capabilities: Vec::new(),
        tags: Default::default(),
        termination_protection: false,
        role_arn: None,
        rollback_alarms: Vec::new(),
        rollback_monitoring_minutes: 0,
    };
    let err = rt().block_on(stack::plan(&cfn, &spec, "prod", false, fast())).unwrap_err();
    assert!(matches!(err, DeployError::ChangeSet { .. }), "{err}");
    assert!(err.to_string().contains("it is DELETE_IN_PROGRESS, and will not become executable"), "{err}");
    assert_eq!(actions(&replay).len(), 6);
}

#[test]
fn drift_lists_resources_out_of_sync() {
    let drifts = ok(
        "DescribeStackResourceDrifts",
        "<StackResourceDrifts><member><StackId>s</StackId><LogicalResourceId>TokenFunction</LogicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType><StackResourceDriftStatus>MODIFIED</StackResourceDriftStatus><Timestamp>2026-11-23T12:00:00Z</Timestamp></member><member><StackId>s</StackId><LogicalResourceId>TokenFunctionRole</LogicalResourceId><ResourceType>AWS::IAM::Role</ResourceType><StackResourceDriftStatus>IN_SYNC</StackResourceDriftStatus><Timestamp>2026-11-23T12:00:00Z</Timestamp></member></StackResourceDrifts>",
    );
    let (cfn, replay) = client(vec![
        event(ok("DetectStackDrift", "<StackDriftDetectionId>d1</StackDriftDetectionId>")),
        event(ok(
            "DescribeStackDriftDetectionStatus",
            "<StackId>s</StackId><StackDriftDetectionId>d1</StackDriftDetectionId><DetectionStatus>DETECTION_IN_PROGRESS</DetectionStatus><Timestamp>2026-11-23T12:00:00Z</Timestamp>",
        )),
        event(ok(
            "DescribeStackDriftDetectionStatus",
            "<StackId>s</StackId><StackDriftDetectionId>d1</StackDriftDetectionId><StackDriftStatus>DRIFTED</StackDriftStatus><DetectionStatus>DETECTION_COMPLETE</DetectionStatus><Timestamp>2026-11-23T12:00:00Z</Timestamp>",
        )),
        event(drifts),
    ]);
    let (status, drifts) = rt().block_on(stack::drift(&cfn, STACK, fast())).unwrap();
    assert_eq!(status.as_str(), "DRIFTED");
    assert_eq!(drifts.len(), 1);
    assert_eq!((drifts[0].logical_id.as_str(), drifts[0].status.as_str()), ("TokenFunction", "MODIFIED"));
    assert_eq!(actions(&replay).len(), 4);
}

#[test]
fn service_errors_are_one_line() {
    let denied = format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: cloudformation:DescribeStacks</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    );
    let (cfn, _) = client(vec![event_status(403, denied)]);
    let e = rt().block_on(stack::describe(&cfn, STACK)).unwrap_err().to_string();
    assert_eq!(e, "DescribeStacks: AccessDenied: User is not authorized to perform: cloudformation:DescribeStacks");
}

/// The account guard on recorded STS answers: another account is refused, except by an emulator
/// on this machine, which answers one fixed account to everyone.
#[test]
fn the_account_guard_refuses_other_accounts_except_on_loopback_emulators() {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    use infra::deploy::Aws;

    let identity = |account: &str| {
        let partition = if account == "222222222222" { "aws-cn" } else { "aws" };
        format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:{partition}:iam::{account}:user/u</Arn><UserId>U</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        )
    };
    let cases = [
        (None, "000000000000", false),
        (None, "111111111111", true),
        (Some("https://sts.eu-west-1.amazonaws.com"), "000000000000", false),
        (Some("http://10.0.0.5:4566"), "000000000000", false),
        (Some("http://127.0.0.1:4566"), "000000000000", true),
        (Some("http://localhost.localstack.cloud:4566"), "000000000000", true),
        (Some("http://127.0.0.1:4566"), "111111111111", true),
    ];
    for (endpoint, answered, accepted) in cases {
        let replay = aws_smithy_http_client::test_util::StaticReplayClient::new(vec![event(identity(answered))]);
        let mut config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new("a", "b", None, None, "test")))
            .http_client(replay.clone());
        if let Some(url) = endpoint {
            config = config.endpoint_url(url);
        }
        let aws = Aws::from_config(&config.build());
        let got = rt().block_on(aws.check_account("dev", "111111111111"));
        match (got, accepted) {
            (Ok(partition), true) => assert_eq!(partition, "aws"),
            (Err(DeployError::WrongAccount { actual, expected, .. }), false) => {
                assert_eq!((actual.as_str(), expected.as_str()), (answered, "111111111111"));
            }
            (other, _) => panic!("{endpoint:?} answering {answered}: {other:?}"),
        }
        assert_eq!(replay.actual_requests().count(), 1, "one GetCallerIdentity call");
    }
    // Something that answers, but not as STS (a web server on the port): said so.
    let replay = aws_smithy_http_client::test_util::StaticReplayClient::new(vec![event_status(
        404,
        "<html><body>Not Found</body></html>".into(),
    )]);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url("http://127.0.0.1:8099")
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("a", "b", None, None, "test")))
        .http_client(replay)
        .build();
    let e = rt().block_on(Aws::from_config(&config).check_account("dev", "111111111111")).unwrap_err();
    assert!(e.to_string().contains("the answer is not an AWS STS one"), "{e}");
    // The partition is the caller's: aws-cn in China.
    let replay = aws_smithy_http_client::test_util::StaticReplayClient::new(vec![event(identity("222222222222"))]);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("cn-north-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("a", "b", None, None, "test")))
        .http_client(replay)
        .build();
    let got = rt().block_on(Aws::from_config(&config).check_account("cn", "222222222222"));
    assert_eq!(got.unwrap(), "aws-cn");
}

/// `logs` reads at most `MAX_PAGES` pages a group; FilterLogEvents may return empty pages with a
/// token while events remain, so a group whose pages ran out is named, and one read to its end
/// is not.
#[test]
fn logs_name_a_group_left_unread() {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_types::retry::RetryConfig;
    use infra::deploy::logs::{MAX_PAGES, Source, newer};
    let page = |events: &str, token: Option<&str>| {
        let token = token.map(|t| format!(r#","nextToken":"{t}""#)).unwrap_or_default();
        event(format!(r#"{{"events":[{events}],"searchedLogStreams":[]{token}}}"#))
    };
    let one = r#"{"eventId":"e1","timestamp":1796056444346,"message":"hello","logStreamName":"s"}"#;
    let rows: [(Vec<ReplayEvent>, usize, Vec<String>); 2] = [
        ((0..MAX_PAGES).map(|i| page("", Some(&format!("t{i}")))).collect(), 0, vec!["/g".to_owned()]),
        (vec![page("", Some("t")), page(one, None)], 1, vec![]),
    ];
    for (pages, events, unfinished) in rows {
        let replay = StaticReplayClient::new(pages);
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("a", "b", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .http_client(replay.clone())
            .build();
        let logs = aws_sdk_cloudwatchlogs::Client::from_conf(config);
        let groups = [("/g".to_owned(), Source::Function)];
        let read = rt().block_on(newer(&logs, &groups, 0, &[], &mut Default::default())).unwrap();
        assert_eq!((read.events.len(), read.unfinished), (events, unfinished));
    }
}

/// A signing-key step counts from the update's completion, read across pages of stack events:
/// a long update's resource events can fill the newest page.
#[test]
fn a_stage_completes_where_the_events_say_across_pages() {
    const S: &str = "AWS::CloudFormation::Stack";
    const F: &str = "AWS::Lambda::Function";
    let with_token = |xml: String| xml.replace("</StackEvents>", "</StackEvents><NextToken>more</NextToken>");
    // 2026-11-23T12:00:10Z: the stage began.
    let since = 1_795_435_210;
    use infra::deploy::stack::Completion;
    let rows: [(Vec<String>, Completion); 5] = [
        (
            vec![
                with_token(events_xml(&[
                    (40, "TokenFunction", F, "UPDATE_COMPLETE", ""),
                    (30, "TokenFunction", F, "UPDATE_IN_PROGRESS", ""),
                ])),
                events_xml(&[
                    (25, STACK, S, "UPDATE_COMPLETE", ""),
                    (10, STACK, S, "UPDATE_IN_PROGRESS", ""),
                    (5, STACK, S, "UPDATE_COMPLETE", ""),
                ]),
            ],
            Completion::At(since + 15),
        ),
        (
            vec![events_xml(&[
                (50, STACK, S, "UPDATE_ROLLBACK_COMPLETE", ""),
                (25, STACK, S, "UPDATE_COMPLETE", ""),
                (5, STACK, S, "UPDATE_COMPLETE", ""),
            ])],
            Completion::At(since + 15),
        ),
        // Everything CloudFormation wrote is older: this machine's clock runs ahead.
        (vec![events_xml(&[(5, STACK, S, "UPDATE_COMPLETE", "")])], Completion::Before),
        // The pages ran out before the stage's start.
        (vec![with_token(events_xml(&[(40, "TokenFunction", F, "UPDATE_COMPLETE", "")]))], Completion::NotFound),
        (vec![events_xml(&[(40, "TokenFunction", F, "UPDATE_COMPLETE", "")])], Completion::NotFound),
    ];
    for (pages, want) in rows {
        let n = pages.len();
        let (cfn, replay) = client(pages.into_iter().map(event).collect());
        let got = rt().block_on(stack::first_success_since(&cfn, STACK, since, n)).unwrap();
        assert_eq!(got, want);
        assert_eq!(actions(&replay).len(), n, "one request a page");
    }
}

/// A saved plan records the stack's last update, or its creation when it was never updated.
#[test]
fn a_stack_was_last_updated_when_updated_else_when_created() {
    use aws_sdk_cloudformation::types::{Stack, StackStatus};
    use aws_smithy_types::DateTime;
    let base = || {
        Stack::builder()
            .stack_name(STACK)
            .stack_status(StackStatus::CreateComplete)
            .creation_time(DateTime::from_secs(1_796_600_000))
    };
    assert_eq!(stack::last_updated(&base().build()).as_deref(), Some("2026-12-06T23:33:20Z"));
    let updated = base().last_updated_time(DateTime::from_secs(1_796_660_000)).build();
    assert_eq!(stack::last_updated(&updated).as_deref(), Some("2026-12-07T16:13:20Z"));
}

/// `deploy --from-plan` executes a change set only when CloudFormation's copy of its template
/// (`GetTemplate` with `ChangeSetName`, which LocalStack answers with the stack's template) is
/// the one synthesized now: a plan file that names change sets of another template, whoever
/// made it, is refused, naming what differs.
#[test]
fn a_change_set_runs_only_with_the_template_synthesized_here() {
    let synthesized = serde_json::json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {}});
    let body = |t: &serde_json::Value| {
        let text = t.to_string().replace('&', "&amp;").replace('<', "&lt;");
        ok(
            "GetTemplate",
            &format!("<TemplateBody>{text}</TemplateBody><StagesAvailable><member>Original</member></StagesAvailable>"),
        )
    };
    let smuggled = serde_json::json!({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Admin": {"Type": "AWS::IAM::Role"}},
        "Outputs": {"X": {"Value": "y"}}
    });
    let cases = [
        (body(&synthesized), None),
        (
            body(&smuggled),
            Some(format!(
                "{STACK}: its change set's template is not the one synthesized here (Outputs, resources Admin)"
            )),
        ),
    ];
    for (response, want) in cases {
        let (cfn, replay) = client(vec![event(response)]);
        let got = rt().block_on(stack::change_set_carries(&cfn, STACK, "arn:cs/1", &synthesized)).unwrap();
        assert_eq!(got, want);
        assert_eq!(actions(&replay), ["GetTemplate"]);
    }
}

/// A hotswap against recorded Lambda responses (LocalStack's updates never fail): an earlier
/// update that `Failed` left the previous code in place and does not block this one, nor is its
/// reason reported as this one's; this update failing is reported with Lambda's reason; a call
/// refused outright changes nothing and says why; a refused call whose code is in place anyway
/// (a retry after the first attempt went through) counts as done.
#[test]
fn a_swap_is_judged_by_its_own_update() {
    use infra::deploy::hotswap::{self, Code, Target};
    let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let (old, new) = ("AAAA", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    let config = |status: &str, sha: &str| {
        let body = serde_json::json!({"FunctionName": "f", "LastUpdateStatus": status, "LastUpdateStatusReason": "bad zip",
            "LastUpdateStatusReasonCode": "InvalidZipFileException", "CodeSha256": sha, "RevisionId": "r"});
        (200, String::new(), body.to_string())
    };
    let refused = |status: u16, kind: &str, message: &str| {
        (status, kind.to_owned(), serde_json::json!({"Type": "User", "message": message}).to_string())
    };
    // Lambda's answers in order (status, error type, body), and the swap's outcome.
    type Case<'a> = (Vec<(u16, String, String)>, Result<&'a str, &'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![
                config("Failed", old),
                config("InProgress", new),
                config("InProgress", new),
                config("Successful", new),
            ],
            Ok("$LATEST"),
        ),
        (
            vec![config("Successful", old), config("InProgress", new), config("Failed", old)],
            Err(
                "Lambda failed to update f to token-function/k.zip: bad zip (InvalidZipFileException); it runs its previous code",
            ),
        ),
        (
            vec![config("Failed", old), refused(403, "AccessDeniedException", "not authorized"), config("Failed", old)],
            Err("UpdateFunctionCode f: AccessDeniedException: not authorized"),
        ),
        (
            vec![
                config("Successful", old),
                refused(412, "PreconditionFailedException", "revision"),
                config("Successful", new),
            ],
            Ok("$LATEST"),
        ),
    ];
    for (responses, want) in cases {
        let events = responses
            .into_iter()
            .map(|(status, kind, body)| {
                aws_smithy_http_client::test_util::ReplayEvent::new(
                    http::Request::builder()
                        .uri("https://lambda.eu-west-1.amazonaws.com/")
                        .body(aws_smithy_types::body::SdkBody::empty())
                        .unwrap(),
                    http::Response::builder()
                        .status(status)
                        .header("x-amzn-errortype", kind)
                        .body(aws_smithy_types::body::SdkBody::from(body))
                        .unwrap(),
                )
            })
            .collect();
        let replay = aws_smithy_http_client::test_util::StaticReplayClient::new(events);
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("a", "b", None, None, "test"),
            ))
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .http_client(replay)
            .build();
        let aws = infra::deploy::Aws::from_config(&config);
        let target = Target { function: "f".into(), alias: None };
        let code = Code { bucket: "b", key: "token-function/k.zip", sha256: hex };
        let got = rt().block_on(hotswap::swap(&aws, &target, code)).map_err(|e| e.to_string());
        match want {
            Ok(version) => assert_eq!(got.as_deref(), Ok(version)),
            Err(text) => assert!(got.as_ref().is_err_and(|e| e.contains(text)), "{got:?}"),
        }
        if let Err(e) = &got
            && e.contains("AccessDenied")
        {
            assert!(e.contains("nothing changed") && !e.contains("failed to update"), "{e}");
        }
    }
}
