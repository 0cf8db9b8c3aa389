//! Recorded CloudFormation responses for the deploy tests: response bodies, a replaying
//! client, and the actions it was asked for.

#![allow(dead_code)]

use std::time::Duration;

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use infra::deploy::stack::{Polling, StackSpec};

pub const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
pub const STACK: &str = "token-service-prod-service";

pub fn ok(action: &str, result: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    )
}

pub fn stack_xml(status: &str, protection: bool) -> String {
    ok(
        "DescribeStacks",
        &format!(
            "<Stacks><member><StackName>{STACK}</StackName><StackId>arn:aws:cloudformation:eu-west-1:333333333333:stack/{STACK}/1</StackId><CreationTime>2026-11-23T12:00:00Z</CreationTime><StackStatus>{status}</StackStatus><EnableTerminationProtection>{protection}</EnableTerminationProtection></member></Stacks>"
        ),
    )
}

pub fn events_xml(events: &[(u32, &str, &str, &str, &str)]) -> String {
    let members: String = events
        .iter()
        .map(|(n, id, ty, status, reason)| {
            format!(
                "<member><StackId>s</StackId><EventId>e{n}</EventId><StackName>{STACK}</StackName><LogicalResourceId>{id}</LogicalResourceId><ResourceType>{ty}</ResourceType><Timestamp>2026-11-23T12:00:{n:02}Z</Timestamp><ResourceStatus>{status}</ResourceStatus><ResourceStatusReason>{reason}</ResourceStatusReason></member>"
            )
        })
        .collect();
    ok("DescribeStackEvents", &format!("<StackEvents>{members}</StackEvents>"))
}

pub fn event(body: String) -> ReplayEvent {
    event_status(200, body)
}

pub fn event_status(status: u16, body: String) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder().uri("https://cloudformation.eu-west-1.amazonaws.com/").body(SdkBody::empty()).unwrap(),
        http::Response::builder().status(status).body(SdkBody::from(body)).unwrap(),
    )
}

pub fn client(events: Vec<ReplayEvent>) -> (aws_sdk_cloudformation::Client, StaticReplayClient) {
    let replay = StaticReplayClient::new(events);
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(replay.clone())
        .build();
    (aws_sdk_cloudformation::Client::from_conf(config), replay)
}

/// The `Action=` of every request sent, in order.
pub fn actions(replay: &StaticReplayClient) -> Vec<String> {
    replay
        .actual_requests()
        .map(|r| {
            let body = String::from_utf8_lossy(r.body().bytes().unwrap_or_default()).into_owned();
            body.split('&').find_map(|p| p.strip_prefix("Action=")).unwrap_or_default().to_owned()
        })
        .collect()
}

pub fn fast() -> Polling {
    Polling { first: Duration::from_millis(1), max: Duration::from_millis(2) }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A plain spec of `STACK`.
pub fn spec() -> StackSpec {
    StackSpec {
        name: STACK.into(),
        template: "{}".into(),
        parameters: vec![],
        capabilities: vec![],
        tags: Default::default(),
        termination_protection: false,
        role_arn: None,
        rollback_alarms: vec![],
        rollback_monitoring_minutes: 0,
    }
}
