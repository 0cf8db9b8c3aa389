//! CloudFormation's statuses, typed: the SDK's [`StackStatus`] with what each means for the
//! next operation (CloudFormation User Guide, "Stack status codes"; API reference, "Stack"),
//! and the resource, change-set and drift statuses the deploy reads. Whether an operation still
//! runs, whether it succeeded, whether the stack ever completed a create, what the stack serves,
//! and how a blocked stack recovers are answered here and nowhere else.

pub use aws_sdk_cloudformation::types::{
    ChangeSetStatus, ExecutionStatus, ResourceStatus, StackDriftDetectionStatus, StackDriftStatus,
    StackResourceDriftStatus, StackStatus,
};

/// How a stack that cannot take an update now gets back to one (`infra rollback`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// An update is running: cancel it (CancelUpdateStack), which rolls it back.
    Cancel,
    /// The rollback failed: continue it (ContinueUpdateRollback).
    Continue,
    /// Failed without rollback: roll back (RollbackStack).
    Rollback,
    /// Nothing to recover, or nothing `rollback` can do.
    Nothing,
}

/// What a stack status means here.
pub trait Meaning {
    /// No operation runs on the stack (no `*_IN_PROGRESS` status).
    fn is_settled(&self) -> bool;
    /// The last operation did what was asked: `CREATE_`, `UPDATE_`, `DELETE_` or
    /// `IMPORT_COMPLETE`.
    fn is_success(&self) -> bool;
    /// The first create failed and the stack holds nothing: only a delete helps
    /// (`ROLLBACK_COMPLETE`, `CREATE_FAILED`, `ROLLBACK_FAILED`).
    fn is_failed_create(&self) -> bool;
    /// No create ever completed: a failed first create, or `REVIEW_IN_PROGRESS` (a stack made
    /// by a CREATE change set that was never executed). Such a stack takes a CREATE change
    /// set, and has no previous parameter values.
    fn never_created(&self) -> bool;
    /// The stack runs a template it completed: a success, or `UPDATE_ROLLBACK_COMPLETE` (the
    /// previous template, after a failed update).
    fn is_serving(&self) -> bool;
    /// The last operation failed and nothing rolls it back any more: a `*_FAILED` status.
    fn is_failed(&self) -> bool;
    /// How `infra rollback` recovers it.
    fn recovery(&self) -> Recovery;
}

impl Meaning for StackStatus {
    fn is_settled(&self) -> bool {
        !self.as_str().ends_with("_IN_PROGRESS")
    }

    fn is_success(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::DeleteComplete
                | StackStatus::ImportComplete
        )
    }

    fn is_failed_create(&self) -> bool {
        matches!(self, StackStatus::RollbackComplete | StackStatus::CreateFailed | StackStatus::RollbackFailed)
    }

    fn never_created(&self) -> bool {
        *self == StackStatus::ReviewInProgress || self.is_failed_create()
    }

    fn is_serving(&self) -> bool {
        self.is_success() || *self == StackStatus::UpdateRollbackComplete
    }

    fn is_failed(&self) -> bool {
        match self {
            StackStatus::CreateFailed
            | StackStatus::DeleteFailed
            | StackStatus::RollbackFailed
            | StackStatus::UpdateFailed
            | StackStatus::UpdateRollbackFailed
            | StackStatus::ImportRollbackFailed => true,
            // A status newer than this SDK: CloudFormation's naming says it.
            other if !known(StackStatus::values(), other.as_str()) => other.as_str().ends_with("_FAILED"),
            _ => false,
        }
    }

    fn recovery(&self) -> Recovery {
        match self {
            StackStatus::UpdateInProgress => Recovery::Cancel,
            StackStatus::UpdateRollbackFailed => Recovery::Continue,
            // RollbackStack takes only these two (API reference, "RollbackStack").
            StackStatus::UpdateFailed | StackStatus::CreateFailed => Recovery::Rollback,
            _ => Recovery::Nothing,
        }
    }
}

/// What a resource status in a stack event means (API reference, "StackEvent":
/// `ResourceStatus`).
pub trait ResourceMeaning {
    /// The resource's operation finished: a `*_COMPLETE` status (a deploy counts it done).
    fn is_complete(&self) -> bool;
    /// The resource's operation failed: a `*_FAILED` status (a root cause candidate).
    fn is_failed(&self) -> bool;
}

impl ResourceMeaning for ResourceStatus {
    fn is_complete(&self) -> bool {
        use ResourceStatus as R;
        match self {
            R::CreateComplete
            | R::DeleteComplete
            | R::ExportComplete
            | R::ExportRollbackComplete
            | R::ImportComplete
            | R::ImportRollbackComplete
            | R::RollbackComplete
            | R::UpdateComplete
            | R::UpdateRollbackComplete => true,
            // A status newer than this SDK: CloudFormation's naming says it.
            other if !known(ResourceStatus::values(), other.as_str()) => other.as_str().ends_with("_COMPLETE"),
            _ => false,
        }
    }

    fn is_failed(&self) -> bool {
        use ResourceStatus as R;
        match self {
            R::CreateFailed
            | R::DeleteFailed
            | R::ExportFailed
            | R::ExportRollbackFailed
            | R::ImportFailed
            | R::ImportRollbackFailed
            | R::RollbackFailed
            | R::UpdateFailed
            | R::UpdateRollbackFailed => true,
            other if !known(ResourceStatus::values(), other.as_str()) => other.as_str().ends_with("_FAILED"),
            _ => false,
        }
    }
}

/// `true` when `text` is one of the SDK's documented `values`.
fn known(values: &[&str], text: &str) -> bool {
    values.contains(&text)
}

/// A status as CloudFormation writes it (`UPDATE_COMPLETE`); an unknown one is kept as
/// [`StackStatus::Unknown`], which is settled unless it ends in `_IN_PROGRESS`.
pub fn parse(text: &str) -> StackStatus {
    StackStatus::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every status CloudFormation documents, with what it means here.
    #[test]
    fn each_status_means_one_thing() {
        // (status, settled, success, failed create, never created, serving, recovery)
        let rows: [(&str, bool, bool, bool, bool, bool, Recovery); 24] = [
            ("CREATE_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("CREATE_COMPLETE", true, true, false, false, true, Recovery::Nothing),
            ("CREATE_FAILED", true, false, true, true, false, Recovery::Rollback),
            ("ROLLBACK_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("ROLLBACK_COMPLETE", true, false, true, true, false, Recovery::Nothing),
            ("ROLLBACK_FAILED", true, false, true, true, false, Recovery::Nothing),
            ("DELETE_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("DELETE_COMPLETE", true, true, false, false, true, Recovery::Nothing),
            ("DELETE_FAILED", true, false, false, false, false, Recovery::Nothing),
            ("UPDATE_IN_PROGRESS", false, false, false, false, false, Recovery::Cancel),
            ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("UPDATE_COMPLETE", true, true, false, false, true, Recovery::Nothing),
            ("UPDATE_FAILED", true, false, false, false, false, Recovery::Rollback),
            ("UPDATE_ROLLBACK_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("UPDATE_ROLLBACK_FAILED", true, false, false, false, false, Recovery::Continue),
            ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("UPDATE_ROLLBACK_COMPLETE", true, false, false, false, true, Recovery::Nothing),
            ("REVIEW_IN_PROGRESS", false, false, false, true, false, Recovery::Nothing),
            ("IMPORT_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("IMPORT_COMPLETE", true, true, false, false, true, Recovery::Nothing),
            ("IMPORT_ROLLBACK_IN_PROGRESS", false, false, false, false, false, Recovery::Nothing),
            ("IMPORT_ROLLBACK_FAILED", true, false, false, false, false, Recovery::Nothing),
            ("IMPORT_ROLLBACK_COMPLETE", true, false, false, false, false, Recovery::Nothing),
            ("SOMETHING_NEW", true, false, false, false, false, Recovery::Nothing),
        ];
        for (text, settled, success, failed_create, never, serving, recovery) in rows {
            let s = parse(text);
            assert_eq!(s.as_str(), text);
            assert_eq!(
                (s.is_settled(), s.is_success(), s.is_failed_create(), s.never_created(), s.is_serving(), s.recovery()),
                (settled, success, failed_create, never, serving, recovery),
                "{text}"
            );
            assert_eq!(s.is_failed(), text.ends_with("_FAILED"), "{text}");
        }
        let documented = StackStatus::values();
        assert_eq!(rows.len() - 1, documented.len(), "a status the SDK knows is missing from the table");
    }

    /// Every resource status the SDK knows: complete and failed as CloudFormation names them.
    #[test]
    fn each_resource_status_is_complete_failed_or_running() {
        for text in ResourceStatus::values() {
            let s = ResourceStatus::from(*text);
            assert_eq!(s.is_complete(), text.ends_with("_COMPLETE"), "{text}");
            assert_eq!(s.is_failed(), text.ends_with("_FAILED"), "{text}");
        }
        // Statuses newer than the SDK are read by CloudFormation's naming.
        assert!(ResourceStatus::from("SOMETHING_NEW_FAILED").is_failed());
        assert!(ResourceStatus::from("SOMETHING_NEW_COMPLETE").is_complete());
        assert!(!ResourceStatus::from("SOMETHING_NEW_IN_PROGRESS").is_complete());
        assert!(parse("SOMETHING_NEW_FAILED").is_failed());
    }
}
