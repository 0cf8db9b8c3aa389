//! A small typed model of CloudFormation: templates, parameters, conditions, outputs,
//! intrinsic functions, and one serde struct per resource type the product uses, serialized to
//! exactly the property names CloudFormation expects. It imports nothing else from this crate.
//!
//! References go through typed handles, so a wrong one does not compile:
//!
//! ```
//! use infra::cfn::{Template, Value};
//! use infra::cfn::resources::logs;
//! let mut t = Template::new("example");
//! let logs = t.add("Logs", logs::LogGroup { log_group_name: "/x".into(), retention_in_days: 7, kms_key_id: None }).unwrap();
//! let arn: Value<String> = logs.arn().into();
//! # let _ = arn;
//! ```
//!
//! A log group has no `RootResourceId`, so asking for one is a compile error:
//!
//! ```compile_fail
//! use infra::cfn::Template;
//! use infra::cfn::resources::logs;
//! let mut t = Template::new("example");
//! let logs = t.add("Logs", logs::LogGroup { log_group_name: "/x".into(), retention_in_days: 7, kms_key_id: None }).unwrap();
//! let _ = logs.root_resource_id();
//! ```
//!
//! Handles come only from `Template::add`; there is no way to make one for an id that was
//! never added:
//!
//! ```compile_fail
//! use infra::cfn::Handle;
//! use infra::cfn::resources::logs::LogGroup;
//! let h: Handle<LogGroup> = Handle { id: "Missing".into(), _ty: std::marker::PhantomData };
//! ```

pub mod deps;
pub mod names;
pub mod resources;
mod template;
pub mod types;
mod value;

pub(crate) use template::resource;
pub use template::{
    Att, Condition, ConditionHandle, Handle, ModelError, Options, Output, ParamHandle, Parameter, Policy, Resource,
    ResourceEntry, Template, valid_logical_id,
};
pub use value::{Intrinsic, List, Pseudo, Value, is_pseudo};

/// An IAM-style policy document, shared by IAM, KMS, SNS and S3 resources.
pub mod policy;
