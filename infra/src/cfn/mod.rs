//! A small typed model of CloudFormation: templates, parameters, conditions, outputs,
//! intrinsic functions, and one serde struct per resource type the product uses, serialized to
//! exactly the property names CloudFormation expects. It imports nothing else from this crate.

pub mod resources;
mod template;
mod value;

pub(crate) use template::resource;
pub use template::{
    Att, Condition, ConditionHandle, Handle, ModelError, Options, Output, ParamHandle, Parameter, Policy, Resource,
    ResourceEntry, Template, valid_logical_id,
};
pub use value::{Intrinsic, List, Pseudo, Value, is_pseudo};

/// An IAM-style policy document, shared by IAM, KMS, SNS and S3 resources.
pub mod policy;
