//! Deploy faults found by trying it, each against recorded CloudFormation responses: Ctrl-C
//! while a change set is computed, a failed DescribeChangeSet, the last events of an operation,
//! and `--replace-failed` waiting for the delete. One process per file: Ctrl-C is process-wide.

use infra::deploy::stack::{self, Polling};
use infra::deploy::{DeployError, interrupt};

mod common;

use common::*;

const CHANGE_SET: &str = "arn:aws:cloudformation:eu-west-1:333333333333:changeSet/infra-1/abc";

fn change_set_xml(status: &str) -> String {
    ok(
        "DescribeChangeSet",
        &format!("<Status>{status}</Status><ExecutionStatus>UNAVAILABLE</ExecutionStatus><Changes/>"),
    )
}

/// Every fault in one test, in order, because Ctrl-C is one flag for the whole process.
#[test]
fn faults_leave_nothing_behind_and_miss_no_event() {
    // A DescribeChangeSet that fails deletes the change set it was reading.
    let denied = format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    );
    let (cfn, replay) = client(vec![
        event(stack_xml("UPDATE_COMPLETE", false)),
        event(ok("CreateChangeSet", &format!("<Id>{CHANGE_SET}</Id>"))),
        event_status(403, denied),
        event(ok("DeleteChangeSet", "")),
    ]);
    let e = rt().block_on(stack::plan(&cfn, &spec(), "prod", false, fast())).unwrap_err();
    assert!(e.to_string().contains("DescribeChangeSet: AccessDenied"), "{e}");
    assert_eq!(actions(&replay), ["DescribeStacks", "CreateChangeSet", "DescribeChangeSet", "DeleteChangeSet"]);

    // The last events are read after the final status: the operation's own final event is there.
    let (cfn, replay) = client(vec![
        event(events_xml(&[(1, STACK, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", "")])),
        event(ok("ExecuteChangeSet", "")),
        event(stack_xml("UPDATE_COMPLETE", false)),
        event(events_xml(&[
            (4, STACK, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", ""),
            (3, "TokenFunction", "AWS::Lambda::Function", "UPDATE_COMPLETE", ""),
            (2, STACK, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", ""),
            (1, STACK, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", ""),
        ])),
    ]);
    let plan = stack::Plan { stack: STACK.into(), change_set: CHANGE_SET.into(), create: false, changes: vec![] };
    let outcome = rt().block_on(stack::execute(&cfn, &plan, "prod", fast())).unwrap();
    assert_eq!(outcome.status.as_str(), "UPDATE_COMPLETE");
    assert_eq!(outcome.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e2", "e3", "e4"]);
    assert_eq!(actions(&replay), ["DescribeStackEvents", "ExecuteChangeSet", "DescribeStacks", "DescribeStackEvents"]);

    // --replace-failed: a delete that fails is reported, and no create is started.
    let (cfn, replay) = client(vec![
        event(stack_xml("ROLLBACK_COMPLETE", false)),
        event(events_xml(&[(1, STACK, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", "")])),
        event(ok("DeleteStack", "")),
        event(stack_xml("DELETE_FAILED", false)),
        event(events_xml(&[(2, STACK, "AWS::CloudFormation::Stack", "DELETE_FAILED", "secret is protected")])),
    ]);
    let e = rt().block_on(stack::plan(&cfn, &spec(), "prod", true, fast())).unwrap_err();
    assert!(e.to_string().contains("is DELETE_FAILED and cannot be changed now"), "{e}");
    assert!(e.to_string().contains("deleting the failed stack did not finish"), "{e}");
    assert!(!actions(&replay).contains(&"CreateChangeSet".to_owned()), "{:?}", actions(&replay));

    // Ctrl-C while the change set is being computed: it is deleted, with the empty stack a
    // create made, and the error says nothing changed.
    let (cfn, replay) = client(vec![
        event(ok("DescribeStacks", "<Stacks/>")),
        event(ok("CreateChangeSet", &format!("<Id>{CHANGE_SET}</Id>"))),
        event(change_set_xml("CREATE_IN_PROGRESS")),
        event(ok("DeleteChangeSet", "")),
        event(stack_xml("REVIEW_IN_PROGRESS", false)),
        event(ok("DeleteStack", "")),
    ]);
    let slow = Polling { first: std::time::Duration::from_secs(30), max: std::time::Duration::from_secs(30) };
    let e = rt().block_on(async {
        tokio::spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            interrupt::trigger();
        });
        stack::plan(&cfn, &spec(), "prod", false, slow).await.unwrap_err()
    });
    assert!(matches!(e, DeployError::Interrupted(_)), "{e}");
    assert!(e.to_string().contains("was deleted"), "{e}");
    assert_eq!(
        actions(&replay),
        ["DescribeStacks", "CreateChangeSet", "DescribeChangeSet", "DeleteChangeSet", "DescribeStacks", "DeleteStack"]
    );
    // Watching stops at once once interrupted, and says the operation goes on.
    let (cfn, _) = client(vec![]);
    let e = rt().block_on(stack::watch(&cfn, STACK, Default::default(), 0, "prod", fast())).unwrap_err();
    assert!(e.to_string().contains("its operation goes on"), "{e}");
    interrupt::reset();
}
