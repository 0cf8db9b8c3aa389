//! The template: parameters, conditions, resources and outputs, kept in sorted maps so the
//! same model always serializes to the same bytes. `Template::add` is the only way to put a
//! resource in, and the typed `Handle` it returns is the only way to refer to it.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::Serialize;

use super::value::{Intrinsic, Value};

/// A CloudFormation resource type: a serde struct whose fields are the type's properties.
pub trait Resource: Serialize {
    /// The CloudFormation type name, e.g. `AWS::Lambda::Function`.
    const TYPE: &'static str;
    /// The attributes `Fn::GetAtt` may read from this type.
    const ATTRIBUTES: &'static [&'static str];
}

/// Declares a resource type and the attribute accessors its handles get: only the attributes
/// listed exist as methods, so `role.arn()` compiles and `log_group.root_resource_id()` does not.
macro_rules! resource {
    ($ty:ty, $name:literal { $($method:ident => $attr:literal),* $(,)? }) => {
        impl $crate::cfn::Resource for $ty {
            const TYPE: &'static str = $name;
            const ATTRIBUTES: &'static [&'static str] = &[$($attr),*];
        }
        impl $crate::cfn::Handle<$ty> {
            $(
                #[doc = concat!("`Fn::GetAtt` `", $attr, "` of this resource.")]
                pub fn $method(&self) -> $crate::cfn::Att {
                    self.att($attr)
                }
            )*
        }
    };
}
pub(crate) use resource;

/// Problems building a template; each is a bug in a stack definition, named precisely.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The logical id is already taken by a resource, parameter, condition or output.
    #[error("logical id `{0}` is used twice; give each resource, parameter and output its own id")]
    Duplicate(String),
    /// The logical id is not 1 to 255 ASCII letters and digits.
    #[error("logical id `{0}` is not valid: use 1 to 255 ASCII letters and digits")]
    InvalidId(String),
    /// Any other mistake in a stack definition.
    #[error("stack definition: {0}")]
    Definition(String),
    /// A resource's properties could not be serialized to JSON.
    #[error("resource `{id}` ({ty}) could not be serialized: {cause}")]
    Serialize {
        /// The resource's logical id.
        id: String,
        /// Its CloudFormation type.
        ty: &'static str,
        /// The serialization error.
        cause: serde_json::Error,
    },
}

/// `true` when `id` is a valid CloudFormation logical id.
pub fn valid_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A reference to a resource in a template, typed by its resource type.
#[derive(Debug)]
pub struct Handle<R> {
    id: String,
    _ty: PhantomData<fn() -> R>,
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Handle { id: self.id.clone(), _ty: PhantomData }
    }
}

impl<R: Resource> Handle<R> {
    /// The logical id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `{"Ref": id}`; what it returns depends on the type (a name, an id or an ARN).
    pub fn r#ref(&self) -> Value<String> {
        Value::intrinsic(Intrinsic::Ref(self.id.clone()))
    }

    /// `${Id}`, for use inside `Value::sub`.
    pub fn sub_ref(&self) -> String {
        format!("${{{}}}", self.id)
    }

    pub(crate) fn att(&self, name: &'static str) -> Att {
        Att { id: self.id.clone(), name }
    }
}

/// An attribute of a resource, from a typed handle. Becomes `Fn::GetAtt` as a value,
/// or `${Id.Attr}` inside `Fn::Sub`.
#[derive(Clone, Debug, PartialEq)]
pub struct Att {
    id: String,
    name: &'static str,
}

impl Att {
    /// `${Id.Attr}`, for use inside `Value::sub`.
    pub fn sub(&self) -> String {
        format!("${{{}.{}}}", self.id, self.name)
    }
}

impl From<Att> for Value<String> {
    fn from(a: Att) -> Self {
        Value::intrinsic(Intrinsic::GetAtt(a.id, a.name))
    }
}

/// A declared parameter.
#[derive(Clone, Debug)]
pub struct ParamHandle {
    name: String,
}

impl ParamHandle {
    /// `{"Ref": name}`: the parameter's value.
    pub fn r#ref(&self) -> Value<String> {
        Value::intrinsic(Intrinsic::Ref(self.name.clone()))
    }
    /// `${Name}`, for use inside `Value::sub`.
    pub fn sub_ref(&self) -> String {
        format!("${{{}}}", self.name)
    }
    /// The parameter's name (its logical id).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A declared condition, for `Value::if_` and `Options::condition`.
#[derive(Clone, Debug)]
pub struct ConditionHandle {
    name: String,
}

impl ConditionHandle {
    /// The condition's name (its logical id).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A template parameter.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    /// `Type`: the parameter type, such as `String`.
    pub r#type: &'static str,
    /// `Description`: shown with the parameter; up to 4,000 characters.
    pub description: String,
    /// `Default`: the value used when none is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `AllowedPattern`: a regular expression a `String` value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// `MinLength`: the fewest characters a `String` value may have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// `AllowedValues`: the only values accepted; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
}

impl Parameter {
    /// A required string parameter.
    pub fn string(description: impl Into<String>) -> Self {
        Parameter {
            r#type: "String",
            description: description.into(),
            default: None,
            allowed_pattern: None,
            min_length: Some(1),
            allowed_values: Vec::new(),
        }
    }

    /// A string parameter with a default, kept by later updates that pass its previous value.
    pub fn with_default(description: impl Into<String>, default: impl Into<String>) -> Self {
        Parameter { default: Some(default.into()), ..Parameter::string(description) }
    }
}

/// A condition expression.
#[derive(Clone, Debug)]
pub enum Condition {
    /// `Fn::Equals`: the two values are equal.
    Equals(Value<String>, Value<String>),
    /// `Fn::Not`: the condition does not hold.
    Not(Box<Condition>),
    /// `Fn::And`: all of 2 to 10 conditions hold.
    And(Vec<Condition>),
    /// `Fn::Or`: at least one of 2 to 10 conditions holds.
    Or(Vec<Condition>),
    /// Another declared condition.
    Is(ConditionHandle),
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Condition::Equals(a, b) => m.serialize_entry("Fn::Equals", &(a, b))?,
            Condition::Not(c) => m.serialize_entry("Fn::Not", &[c])?,
            Condition::And(cs) => m.serialize_entry("Fn::And", cs)?,
            Condition::Or(cs) => m.serialize_entry("Fn::Or", cs)?,
            Condition::Is(c) => m.serialize_entry("Condition", &c.name)?,
        }
        m.end()
    }
}

/// A stack output.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    /// `Description`: what the output is; up to 1,024 characters.
    pub description: String,
    /// `Value`: the output's value.
    pub value: Value<String>,
}

/// `DeletionPolicy` / `UpdateReplacePolicy` (CloudFormation User Guide, "DeletionPolicy
/// attribute"). `RetainExceptOnCreate` is a `DeletionPolicy` only: it keeps the resource when the
/// stack is deleted or the resource removed, but deletes it when the stack's first create rolls
/// back, so a retry does not fail on a name that is already taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Policy {
    /// `Delete`: delete the resource.
    Delete,
    /// `Retain`: keep the resource, outside the stack.
    Retain,
    /// `RetainExceptOnCreate`: keep it, unless the stack's first create rolls back.
    RetainExceptOnCreate,
    /// `Snapshot`: snapshot the resource's data, then delete it; only types that support snapshots.
    Snapshot,
}

/// How a resource outlives its stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Retention {
    /// Deleted with the stack (CloudFormation's default).
    #[default]
    No,
    /// Kept on delete and replacement, deleted when the stack's first create rolls back.
    ExceptOnCreate,
    /// Kept even when the first create rolls back: only for account-wide settings whose removal
    /// would break what else the account runs.
    Always,
}

/// Resource attributes other than properties.
#[derive(Clone, Debug, Default)]
pub struct Options {
    depends_on: Vec<String>,
    condition: Option<String>,
    retain: Retention,
    update_policy: Option<serde_json::Value>,
}

impl Options {
    /// No attributes: the same as `Options::default()`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an explicit `DependsOn`.
    pub fn depends_on<R: Resource>(mut self, h: &Handle<R>) -> Self {
        self.depends_on.push(h.id.clone());
        self
    }
    /// Creates the resource only when the condition holds.
    pub fn condition(mut self, c: &ConditionHandle) -> Self {
        self.condition = Some(c.name.clone());
        self
    }
    /// Keeps the resource when the stack is deleted or the resource replaced
    /// (`DeletionPolicy: RetainExceptOnCreate`, `UpdateReplacePolicy: Retain`); a first create
    /// that rolls back still deletes it, so nothing blocks the retry.
    pub fn retain(mut self, retain: bool) -> Self {
        self.retain = if retain { Retention::ExceptOnCreate } else { Retention::No };
        self
    }
    /// Keeps the resource whatever happens, even when the stack's first create rolls back
    /// (`Retain` for both policies). Only for account-wide settings that other stacks rely on
    /// once set; never for a resource with a fixed name, which would block the retry (LIFE001).
    pub fn retain_always(mut self) -> Self {
        self.retain = Retention::Always;
        self
    }
    /// An `UpdatePolicy` (e.g. `CodeDeployLambdaAliasUpdate`).
    pub fn update_policy(mut self, policy: serde_json::Value) -> Self {
        self.update_policy = Some(policy);
        self
    }
}

/// One resource as it appears under `Resources`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceEntry {
    /// `Type`: the resource type, such as `AWS::Lambda::Function`.
    pub r#type: &'static str,
    /// `Properties`: the typed resource, serialized.
    pub properties: serde_json::Value,
    /// `Condition`: the condition that must hold for the resource to be created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `DependsOn`: logical ids of resources to create before this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// `DeletionPolicy`: what happens to the resource when it leaves the stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<Policy>,
    /// `UpdateReplacePolicy`: what happens to the old resource when an update replaces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<Policy>,
    /// `UpdatePolicy`, such as `CodeDeployLambdaAliasUpdate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_policy: Option<serde_json::Value>,
    /// The attributes `Fn::GetAtt` may read; not written to the template.
    #[serde(skip)]
    pub attributes: &'static [&'static str],
}

/// A CloudFormation template.
#[derive(Clone, Debug, Serialize)]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    format_version: &'static str,
    #[serde(rename = "Description")]
    description: String,
    #[serde(rename = "Parameters", skip_serializing_if = "BTreeMap::is_empty")]
    parameters: BTreeMap<String, Parameter>,
    #[serde(rename = "Conditions", skip_serializing_if = "BTreeMap::is_empty")]
    conditions: BTreeMap<String, Condition>,
    #[serde(rename = "Resources")]
    resources: BTreeMap<String, ResourceEntry>,
    #[serde(rename = "Outputs", skip_serializing_if = "BTreeMap::is_empty")]
    outputs: BTreeMap<String, Output>,
}

impl Template {
    /// An empty template (format version `2010-09-09`) with this `Description`.
    pub fn new(description: impl Into<String>) -> Self {
        Template {
            format_version: "2010-09-09",
            description: description.into(),
            parameters: BTreeMap::new(),
            conditions: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    fn claim(&self, id: &str) -> Result<(), ModelError> {
        if !valid_logical_id(id) {
            return Err(ModelError::InvalidId(id.to_owned()));
        }
        if self.resources.contains_key(id)
            || self.parameters.contains_key(id)
            || self.conditions.contains_key(id)
            || self.outputs.contains_key(id)
        {
            return Err(ModelError::Duplicate(id.to_owned()));
        }
        Ok(())
    }

    /// Adds a resource and returns the handle to refer to it.
    pub fn add<R: Resource>(&mut self, id: &str, resource: R) -> Result<Handle<R>, ModelError> {
        self.add_with(id, resource, Options::default())
    }

    /// The capabilities CloudFormation must be given to create or update this template
    /// (CloudFormation API reference, `CreateChangeSet`, `Capabilities`): `CAPABILITY_NAMED_IAM`
    /// when an IAM resource has a name of its own, else `CAPABILITY_IAM` when there is any IAM
    /// resource, else none.
    pub fn capabilities(&self) -> Vec<&'static str> {
        let iam = self.resources.values().filter(|r| r.r#type.starts_with("AWS::IAM::"));
        let named = |r: &&ResourceEntry| {
            let json = serde_json::json!({"Type": r.r#type, "Properties": r.properties});
            crate::cfn::names::fixed_name(&json).is_some()
        };
        match (iam.clone().any(|r| named(&r)), iam.count()) {
            (true, _) => vec!["CAPABILITY_NAMED_IAM"],
            (false, 0) => vec![],
            (false, _) => vec!["CAPABILITY_IAM"],
        }
    }

    /// Adds a resource with `DependsOn`, `Condition` or retention attributes.
    pub fn add_with<R: Resource>(&mut self, id: &str, resource: R, opts: Options) -> Result<Handle<R>, ModelError> {
        self.claim(id)?;
        let properties = serde_json::to_value(&resource).map_err(|cause| ModelError::Serialize {
            id: id.to_owned(),
            ty: R::TYPE,
            cause,
        })?;
        let (deletion_policy, update_replace_policy) = match opts.retain {
            Retention::No => (None, None),
            Retention::ExceptOnCreate => (Some(Policy::RetainExceptOnCreate), Some(Policy::Retain)),
            Retention::Always => (Some(Policy::Retain), Some(Policy::Retain)),
        };
        self.resources.insert(
            id.to_owned(),
            ResourceEntry {
                r#type: R::TYPE,
                condition: opts.condition,
                depends_on: opts.depends_on,
                deletion_policy,
                update_replace_policy,
                update_policy: opts.update_policy,
                properties,
                attributes: R::ATTRIBUTES,
            },
        );
        Ok(Handle { id: id.to_owned(), _ty: PhantomData })
    }

    /// Declares a parameter.
    pub fn parameter(&mut self, name: &str, p: Parameter) -> Result<ParamHandle, ModelError> {
        self.claim(name)?;
        self.parameters.insert(name.to_owned(), p);
        Ok(ParamHandle { name: name.to_owned() })
    }

    /// Declares a condition.
    pub fn condition(&mut self, name: &str, c: Condition) -> Result<ConditionHandle, ModelError> {
        self.claim(name)?;
        self.conditions.insert(name.to_owned(), c);
        Ok(ConditionHandle { name: name.to_owned() })
    }

    /// Declares an output.
    pub fn output(
        &mut self,
        name: &str,
        description: impl Into<String>,
        value: impl Into<Value<String>>,
    ) -> Result<(), ModelError> {
        self.claim(name)?;
        self.outputs.insert(name.to_owned(), Output { description: description.into(), value: value.into() });
        Ok(())
    }

    /// The template's `Description`.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The resources, by logical id.
    pub fn resources(&self) -> &BTreeMap<String, ResourceEntry> {
        &self.resources
    }
    /// The parameters, by name.
    pub fn parameters(&self) -> &BTreeMap<String, Parameter> {
        &self.parameters
    }
    /// The conditions, by name.
    pub fn conditions(&self) -> &BTreeMap<String, Condition> {
        &self.conditions
    }
    /// The outputs, by name.
    pub fn outputs(&self) -> &BTreeMap<String, Output> {
        &self.outputs
    }

    /// The template as a JSON value: what serializing it gives (a test holds the two equal),
    /// built by cloning the resources' properties, which are JSON already, instead of
    /// serializing them again.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        // The other parts are plain serde structs of strings and numbers.
        fn json(v: &impl Serialize) -> Json {
            serde_json::to_value(v).unwrap_or(Json::Null)
        }
        let mut out = serde_json::Map::new();
        out.insert("AWSTemplateFormatVersion".into(), self.format_version.into());
        out.insert("Description".into(), self.description.clone().into());
        if !self.parameters.is_empty() {
            out.insert("Parameters".into(), json(&self.parameters));
        }
        if !self.conditions.is_empty() {
            out.insert("Conditions".into(), json(&self.conditions));
        }
        let resources = self.resources.iter().map(|(id, r)| (id.clone(), r.to_json())).collect();
        out.insert("Resources".into(), Json::Object(resources));
        if !self.outputs.is_empty() {
            out.insert("Outputs".into(), json(&self.outputs));
        }
        Json::Object(out)
    }

    /// Pretty JSON with a trailing newline, byte-stable for the same model.
    pub fn to_json_string(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The length in bytes of [`Self::to_json_string`], counted without keeping the text.
    pub fn json_len(&self) -> usize {
        /// A sink that counts what is written to it.
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        let _ = serde_json::to_writer_pretty(&mut count, self);
        count.0 + 1
    }
}

impl ResourceEntry {
    /// The entry as a JSON value, as serializing it gives (see [`Template::to_json`]).
    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        let mut out = serde_json::Map::new();
        out.insert("Type".into(), self.r#type.into());
        out.insert("Properties".into(), self.properties.clone());
        if let Some(condition) = &self.condition {
            out.insert("Condition".into(), condition.clone().into());
        }
        if !self.depends_on.is_empty() {
            out.insert("DependsOn".into(), self.depends_on.clone().into());
        }
        let policy = |p: Policy| serde_json::to_value(p).unwrap_or(Json::Null);
        if let Some(p) = self.deletion_policy {
            out.insert("DeletionPolicy".into(), policy(p));
        }
        if let Some(p) = self.update_replace_policy {
            out.insert("UpdateReplacePolicy".into(), policy(p));
        }
        if let Some(p) = &self.update_policy {
            out.insert("UpdatePolicy".into(), p.clone());
        }
        Json::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::resources::logs::LogGroup;

    fn log_group(name: &str) -> LogGroup {
        LogGroup { log_group_name: name.into(), retention_in_days: 7, kms_key_id: None }
    }

    /// `to_json` builds what serializing gives, and `json_len` counts what `to_json_string`
    /// writes, for a template with every part and attribute (the shipped stacks are compared in
    /// the snapshot tests).
    #[test]
    fn the_json_value_and_length_are_the_serialized_ones() {
        let mut t = Template::new("t");
        let plain = t.add("Plain", log_group("a")).unwrap();
        let c = t.condition("Always", Condition::Equals("a".into(), "a".into())).unwrap();
        t.parameter("Stage", Parameter::string("the stage")).unwrap();
        let rows = [
            Options::new().depends_on(&plain),
            Options::new().condition(&c),
            Options::new().retain(true),
            Options::new().retain_always(),
            Options::new().update_policy(serde_json::json!({"CodeDeployLambdaAliasUpdate": {}})),
        ];
        for (i, opts) in rows.into_iter().enumerate() {
            t.add_with(&format!("With{i}"), log_group("b"), opts).unwrap();
        }
        t.output("Name", "the name", plain.r#ref()).unwrap();
        assert_eq!(t.to_json(), serde_json::to_value(&t).unwrap());
        assert_eq!(t.json_len(), t.to_json_string().len());
        let empty = Template::new("empty");
        assert_eq!(empty.to_json(), serde_json::to_value(&empty).unwrap());
    }

    #[test]
    fn duplicate_and_invalid_ids_are_refused() {
        let mut t = Template::new("t");
        t.add("Logs", log_group("a")).unwrap();
        assert!(matches!(t.add("Logs", log_group("b")), Err(ModelError::Duplicate(id)) if id == "Logs"));
        assert!(matches!(t.output("Logs", "x", "y"), Err(ModelError::Duplicate(_))));
        assert!(matches!(t.add("bad-id", log_group("c")), Err(ModelError::InvalidId(_))));
        assert!(matches!(t.add("", log_group("c")), Err(ModelError::InvalidId(_))));
        assert!(matches!(t.add(&"A".repeat(256), log_group("c")), Err(ModelError::InvalidId(_))));
    }

    #[test]
    fn handles_produce_refs_atts_and_sub_variables() {
        let mut t = Template::new("t");
        let lg = t.add("Logs", log_group("a")).unwrap();
        assert_eq!(serde_json::to_value(lg.r#ref()).unwrap(), serde_json::json!({"Ref": "Logs"}));
        let arn: Value<String> = lg.arn().into();
        assert_eq!(serde_json::to_value(arn).unwrap(), serde_json::json!({"Fn::GetAtt": ["Logs", "Arn"]}));
        assert_eq!(lg.arn().sub(), "${Logs.Arn}");
        assert_eq!(lg.sub_ref(), "${Logs}");
    }

    #[test]
    fn output_is_byte_stable_and_sorted() {
        let build = |order: &[&str]| {
            let mut t = Template::new("t");
            for id in order {
                t.add(id, log_group(id)).unwrap();
            }
            let c = t.condition("Always", Condition::Equals("a".into(), "a".into())).unwrap();
            t.add_with("Conditional", log_group("c"), Options::new().condition(&c).retain(true)).unwrap();
            t.to_json_string()
        };
        let a = build(&["Zeta", "Alpha", "Mid"]);
        let b = build(&["Mid", "Zeta", "Alpha"]);
        assert_eq!(a, b);
        let alpha = a.find("\"Alpha\"").unwrap();
        let zeta = a.find("\"Zeta\"").unwrap();
        assert!(alpha < zeta);
        // Type comes first in every resource, then Properties.
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        let keys: Vec<&String> = v["Resources"]["Conditional"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Type", "Properties", "Condition", "DeletionPolicy", "UpdateReplacePolicy"]);
        assert_eq!(v["Conditions"]["Always"], serde_json::json!({"Fn::Equals": ["a", "a"]}));
    }

    #[test]
    fn conditions_and_if_serialize() {
        let mut t = Template::new("t");
        let big = t
            .condition("IsBig", Condition::Equals(Value::pseudo(crate::cfn::Pseudo::Region), "eu-west-1".into()))
            .unwrap();
        let not_big = t.condition("NotBig", Condition::Not(Box::new(Condition::Is(big.clone())))).unwrap();
        let v: Value<u32> = Value::if_(&big, Value::Lit(3), Value::Lit(1));
        assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!({"Fn::If": ["IsBig", 3, 1]}));
        let j = t.to_json();
        assert_eq!(j["Conditions"]["NotBig"], serde_json::json!({"Fn::Not": [{"Condition": "IsBig"}]}));
        assert_eq!(not_big.name(), "NotBig");
    }
}
