//! Values in a template: either a literal written as is, or an intrinsic function that
//! CloudFormation resolves at deploy time. Both serialize to CloudFormation's own JSON shape,
//! e.g. `{"Fn::GetAtt": ["TokenFunction", "Arn"]}`.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A property value: a literal, or an intrinsic resolved by CloudFormation.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<T> {
    /// Written into the template as is.
    Lit(T),
    /// Resolved at deploy time.
    Fn(Box<Intrinsic<T>>),
}

/// The intrinsic functions the model uses.
///
/// References are by logical id; `Template::add` hands out typed handles that are the only
/// public way to build `Ref` and `Fn::GetAtt`, so a reference to a missing resource or to an
/// attribute the type lacks does not compile. `Fn::Sub` strings are checked by `validate`.
#[derive(Clone, Debug, PartialEq)]
pub enum Intrinsic<T> {
    /// `{"Ref": id}`: a resource, parameter or pseudo parameter.
    Ref(String),
    /// `{"Fn::GetAtt": [id, attribute]}`.
    GetAtt(String, &'static str),
    /// `{"Fn::Sub": "…${Id}…${Id.Attr}…${AWS::Region}…"}`.
    Sub(String),
    /// `{"Fn::Join": [delimiter, [parts]]}`.
    Join(String, Vec<Value<String>>),
    /// `{"Fn::If": [condition, then, else]}`.
    If(String, Value<T>, Value<T>),
    /// `{"Fn::Select": [index, list]}`.
    Select(u32, List),
}

/// A list that `Fn::Select` picks from.
#[derive(Clone, Debug, PartialEq)]
pub enum List {
    /// A list written out, each item possibly an intrinsic.
    Items(Vec<Value<String>>),
    /// `{"Fn::Split": [delimiter, source]}`.
    Split(String, Box<Value<String>>),
}

impl<T> Value<T> {
    pub(crate) fn intrinsic(i: Intrinsic<T>) -> Self {
        Value::Fn(Box::new(i))
    }

    /// `Fn::If` over a condition declared with `Template::condition`.
    pub fn if_(condition: &super::ConditionHandle, then: Value<T>, otherwise: Value<T>) -> Self {
        Self::intrinsic(Intrinsic::If(condition.name().to_owned(), then, otherwise))
    }
}

impl Value<String> {
    /// `Fn::Sub` with a template string; `${Id}` and `${Id.Attr}` are checked by `validate`.
    /// Prefer `Handle::sub_ref` and `Att::sub` to writing ids by hand.
    pub fn sub(template: impl Into<String>) -> Self {
        Self::intrinsic(Intrinsic::Sub(template.into()))
    }

    /// `Fn::Join`.
    pub fn join(delimiter: impl Into<String>, parts: Vec<Value<String>>) -> Self {
        Self::intrinsic(Intrinsic::Join(delimiter.into(), parts))
    }

    /// `Fn::Select` from a list.
    pub fn select(index: u32, list: List) -> Self {
        Self::intrinsic(Intrinsic::Select(index, list))
    }

    /// A pseudo parameter such as `AWS::Region`.
    pub fn pseudo(p: Pseudo) -> Self {
        Self::intrinsic(Intrinsic::Ref(p.name().to_owned()))
    }

    /// The literal string, if this is one.
    pub fn as_lit(&self) -> Option<&str> {
        match self {
            Value::Lit(s) => Some(s),
            Value::Fn(_) => None,
        }
    }
}

/// CloudFormation's pseudo parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pseudo {
    /// `AWS::AccountId`: the stack's account id.
    AccountId,
    /// `AWS::Region`: the stack's region, such as `eu-west-1`.
    Region,
    /// `AWS::Partition`: `aws`, or `aws-cn`, `aws-us-gov`, ... in other partitions.
    Partition,
    /// `AWS::StackName`: the stack's name.
    StackName,
    /// `AWS::StackId`: the stack's ARN.
    StackId,
    /// `AWS::URLSuffix`: the partition's domain suffix, usually `amazonaws.com`.
    UrlSuffix,
}

impl Pseudo {
    /// Every pseudo parameter, in declaration order.
    pub const ALL: [Pseudo; 6] =
        [Pseudo::AccountId, Pseudo::Region, Pseudo::Partition, Pseudo::StackName, Pseudo::StackId, Pseudo::UrlSuffix];

    /// The name `Ref` takes, such as `AWS::Region`.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }
}

/// Pseudo parameters that may appear in `Ref` and `${…}` without being declared.
pub fn is_pseudo(name: &str) -> bool {
    Pseudo::ALL.iter().any(|p| p.name() == name) || name == "AWS::NoValue" || name == "AWS::NotificationARNs"
}

impl From<&str> for Value<String> {
    fn from(s: &str) -> Self {
        Value::Lit(s.to_owned())
    }
}

impl From<String> for Value<String> {
    fn from(s: String) -> Self {
        Value::Lit(s)
    }
}

impl From<u32> for Value<u32> {
    fn from(n: u32) -> Self {
        Value::Lit(n)
    }
}

impl From<bool> for Value<bool> {
    fn from(b: bool) -> Self {
        Value::Lit(b)
    }
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Lit(v) => v.serialize(s),
            Value::Fn(i) => i.serialize(s),
        }
    }
}

impl<T: Serialize> Serialize for Intrinsic<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Intrinsic::Ref(id) => m.serialize_entry("Ref", id)?,
            Intrinsic::GetAtt(id, attr) => m.serialize_entry("Fn::GetAtt", &(id, attr))?,
            Intrinsic::Sub(t) => m.serialize_entry("Fn::Sub", t)?,
            Intrinsic::Join(d, parts) => m.serialize_entry("Fn::Join", &(d, parts))?,
            Intrinsic::If(c, a, b) => m.serialize_entry("Fn::If", &(c, a, b))?,
            Intrinsic::Select(i, list) => m.serialize_entry("Fn::Select", &(i, list))?,
        }
        m.end()
    }
}

impl Serialize for List {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            List::Items(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            List::Split(d, src) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Fn::Split", &(d, src))?;
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_serialize_to_cloudformation_shape() {
        let cases: Vec<(Value<String>, serde_json::Value)> = vec![
            ("lit".into(), json!("lit")),
            (Value::pseudo(Pseudo::Region), json!({"Ref": "AWS::Region"})),
            (Value::sub("a-${AWS::Region}"), json!({"Fn::Sub": "a-${AWS::Region}"})),
            (
                Value::join(":", vec!["a".into(), Value::pseudo(Pseudo::AccountId)]),
                json!({"Fn::Join": [":", ["a", {"Ref": "AWS::AccountId"}]]}),
            ),
            (
                Value::select(1, List::Split("/".into(), Box::new("a/b".into()))),
                json!({"Fn::Select": [1, {"Fn::Split": ["/", "a/b"]}]}),
            ),
            (Value::select(0, List::Items(vec!["x".into(), "y".into()])), json!({"Fn::Select": [0, ["x", "y"]]})),
            (Value::intrinsic(Intrinsic::GetAtt("Fn".into(), "Arn")), json!({"Fn::GetAtt": ["Fn", "Arn"]})),
        ];
        for (v, want) in cases {
            assert_eq!(serde_json::to_value(&v).unwrap(), want);
        }
    }

    #[test]
    fn if_serializes_with_both_branches() {
        let v: Value<u32> = Value::intrinsic(Intrinsic::If("IsBig".into(), Value::Lit(3), Value::Lit(1)));
        assert_eq!(serde_json::to_value(&v).unwrap(), json!({"Fn::If": ["IsBig", 3, 1]}));
    }
}
