//! Stack events while an operation runs: each printed once, oldest first, with progress; and the
//! root cause of a failure, which is the first resource that failed, not the cascade after it.

use crate::deploy::status::{Meaning, ResourceMeaning, ResourceStatus, StackStatus};
use aws_smithy_types::date_time::Format;

/// One stack event, as printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The event's `EventId`: a watch prints each id once.
    pub id: String,
    /// RFC 3339.
    pub timestamp: String,
    /// The same instant as Unix seconds.
    pub epoch_seconds: i64,
    /// The resource's logical id (the stack's name for the stack's own events).
    pub logical_id: String,
    /// Its CloudFormation type (`AWS::CloudFormation::Stack` for the stack itself).
    pub resource_type: String,
    /// The resource status the event reports (`CREATE_COMPLETE`, `UPDATE_FAILED`).
    pub status: ResourceStatus,
    /// The status reason, when CloudFormation gave a non-empty one.
    pub reason: Option<String>,
}

impl Event {
    /// From the SDK's view of an event (`DescribeStackEvents`); a field it lacks is empty.
    pub fn from_sdk(e: &aws_sdk_cloudformation::types::StackEvent) -> Self {
        Event {
            id: e.event_id().unwrap_or_default().to_owned(),
            timestamp: e.timestamp().and_then(|t| t.fmt(Format::DateTime).ok()).unwrap_or_default(),
            epoch_seconds: e.timestamp().map(|t| t.secs()).unwrap_or_default(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e.resource_status().cloned().unwrap_or_else(|| ResourceStatus::from("")),
            reason: e.resource_status_reason().filter(|r| !r.is_empty()).map(str::to_owned),
        }
    }

    /// Whether this is the stack's own event.
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// One line: `12:04:31  [3/17] CREATE_COMPLETE  AWS::IAM::Role  TokenFunctionRole  reason`.
pub fn render(e: &Event, done: usize, total: usize) -> String {
    let time = e.timestamp.get(11..19).unwrap_or(&e.timestamp);
    let mut line =
        format!("{time}  [{done}/{total}] {:<28} {:<36} {}", e.status.as_str(), e.resource_type, e.logical_id);
    if let Some(r) = &e.reason {
        line.push_str("  ");
        line.push_str(r);
    }
    line
}

/// Reasons that describe the cascade, not the cause.
fn is_cascade(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("cancelled") || r.contains("canceled") || r.contains("resource creation cancelled")
}

/// The first resource failure with a reason that is not a cancellation (events oldest first).
pub fn root_cause(events: &[Event]) -> Option<&Event> {
    let failed = |e: &&Event| e.status.is_failed() && !e.is_stack();
    events
        .iter()
        .filter(failed)
        .find(|e| e.reason.as_deref().is_some_and(|r| !is_cascade(r)))
        .or_else(|| events.iter().find(failed))
}

/// What to do after an operation ended in `status`.
pub fn next_step(status: &StackStatus, env: &str) -> String {
    match status {
        s if s.is_failed_create() => format!(
            "the first create failed and the stack holds nothing; fix the cause, then `cargo run -- deploy {env} --replace-failed` deletes it and creates it again"
        ),
        StackStatus::UpdateRollbackComplete => {
            "the update was rolled back; the stack runs the previous version. Fix the cause and deploy again".to_owned()
        }
        StackStatus::UpdateRollbackFailed => format!(
            "the rollback itself failed; fix what blocks it (see the events), then `cargo run -- rollback {env}` continues it"
        ),
        StackStatus::UpdateFailed => {
            format!("the update failed without rollback; `cargo run -- rollback {env}` rolls it back")
        }
        StackStatus::DeleteFailed => format!(
            "some resources could not be deleted (see the events); remove what blocks them, then `cargo run -- destroy {env}` again"
        ),
        _ => format!("see `cargo run -- status {env}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ev(n: u32, id: &str, ty: &str, status: &str, reason: Option<&str>) -> Event {
        Event {
            id: format!("e{n}"),
            timestamp: format!("2026-11-23T12:00:{n:02}Z"),
            epoch_seconds: 1_795_435_200 + i64::from(n),
            logical_id: id.into(),
            resource_type: ty.into(),
            status: ResourceStatus::from(status),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn root_cause_is_the_first_real_failure() {
        let events = vec![
            ev(1, "s", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", Some("User Initiated")),
            ev(2, "Logs", "AWS::Logs::LogGroup", "CREATE_COMPLETE", None),
            ev(3, "Fn", "AWS::Lambda::Function", "CREATE_FAILED", Some("Resource creation cancelled")),
            ev(4, "Secret", "AWS::SecretsManager::Secret", "CREATE_FAILED", Some("already exists")),
            ev(5, "Api", "AWS::ApiGateway::RestApi", "CREATE_FAILED", None),
            ev(6, "s", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", Some("The following resource(s) failed")),
        ];
        assert_eq!(root_cause(&events).map(|e| e.logical_id.as_str()), Some("Secret"));
        let no_reason = vec![ev(1, "A", "AWS::S3::Bucket", "CREATE_FAILED", None)];
        assert_eq!(root_cause(&no_reason).map(|e| e.logical_id.as_str()), Some("A"));
        assert!(root_cause(&events[..3]).is_some_and(|e| e.logical_id == "Fn"));
    }

    #[test]
    fn next_steps_name_the_command() {
        let step = |s: &str| next_step(&crate::deploy::status::parse(s), "dev");
        assert!(step("UPDATE_ROLLBACK_FAILED").contains("cargo run -- rollback dev"));
        assert!(step("ROLLBACK_COMPLETE").contains("cargo run -- deploy dev --replace-failed"));
        assert!(step("DELETE_FAILED").contains("cargo run -- destroy dev"));
    }
}
