//! What a resource's deployed configuration depends on, read from a template's JSON: the
//! parameters that reach its properties directly (`Ref`, `${Param}` in `Fn::Sub`), through
//! conditions (`Fn::If`, its own `Condition`) or through the resources it refers to. A Lambda
//! version freezes its function's configuration when it is published (Lambda developer guide,
//! "Manage Lambda function versions"), so whatever reaches the function must also reach the
//! version's create-only `Description`, or a new value never reaches the alias's callers.

use std::collections::BTreeSet;

use serde_json::Value as Json;

/// The parameters `id`'s configuration depends on, by name, sorted.
pub fn parameters_feeding(template: &Json, id: &str) -> BTreeSet<String> {
    let mut walk = Walk { template, seen: BTreeSet::new(), parameters: BTreeSet::new() };
    walk.resource(id);
    walk.parameters
}

struct Walk<'a> {
    template: &'a Json,
    /// Resources and conditions already read (`R:` / `C:` prefixed).
    seen: BTreeSet<String>,
    parameters: BTreeSet<String>,
}

impl Walk<'_> {
    fn resource(&mut self, id: &str) {
        if !self.seen.insert(format!("R:{id}")) {
            return;
        }
        let Some(r) = self.template.pointer(&format!("/Resources/{id}")) else { return };
        if let Some(c) = r.get("Condition").and_then(Json::as_str) {
            self.condition(c);
        }
        if let Some(p) = r.get("Properties") {
            self.value(p);
        }
    }

    fn condition(&mut self, name: &str) {
        if !self.seen.insert(format!("C:{name}")) {
            return;
        }
        if let Some(c) = self.template.pointer(&format!("/Conditions/{name}")) {
            self.value(c);
        }
    }

    /// A name in `Ref` or `${...}`: a parameter, a resource, or a pseudo parameter (ignored).
    fn name(&mut self, name: &str) {
        if name.starts_with("AWS::") {
            return;
        }
        let name = name.split('.').next().unwrap_or(name);
        if self.template.pointer(&format!("/Parameters/{name}")).is_some() {
            self.parameters.insert(name.to_owned());
        } else {
            self.resource(name);
        }
    }

    fn value(&mut self, v: &Json) {
        match v {
            Json::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        // Where the code is stored is not the code: the key (its SHA-256) names
                        // it, and Lambda publishes no new version for the same code and
                        // configuration (Lambda API reference, "PublishVersion").
                        ("S3Bucket", _) => {}
                        ("Ref", Json::String(name)) => self.name(name),
                        ("Condition", Json::String(name)) => self.condition(name),
                        ("Fn::GetAtt", Json::Array(a)) => {
                            if let Some(id) = a.first().and_then(Json::as_str) {
                                self.resource(id);
                            }
                        }
                        ("Fn::If", Json::Array(a)) => {
                            if let Some(c) = a.first().and_then(Json::as_str) {
                                self.condition(c);
                            }
                            a.iter().skip(1).for_each(|x| self.value(x));
                        }
                        ("Fn::Sub", Json::String(text)) => self.sub(text),
                        ("Fn::Sub", Json::Array(a)) => {
                            // Variables of the map are the map's, not the template's.
                            let own: Vec<&String> =
                                a.get(1).and_then(Json::as_object).map(|m| m.keys().collect()).unwrap_or_default();
                            if let Some(text) = a.first().and_then(Json::as_str) {
                                for var in sub_variables(text) {
                                    if !own.iter().any(|o| o.as_str() == var) {
                                        self.name(var);
                                    }
                                }
                            }
                            a.iter().skip(1).for_each(|x| self.value(x));
                        }
                        _ => self.value(v),
                    }
                }
            }
            Json::Array(a) => a.iter().for_each(|x| self.value(x)),
            _ => {}
        }
    }

    fn sub(&mut self, text: &str) {
        for var in sub_variables(text) {
            self.name(var);
        }
    }
}

/// The `${Name}`, `${Id.Attr}` and `${AWS::Pseudo}` variables of an `Fn::Sub` text, trimmed
/// (`${!Literal}` is not one).
pub fn sub_variables(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            out.push(var.trim());
        }
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_reach_through_conditions_subs_and_references() {
        let t = json!({
            "Parameters": {"Stage": {}, "Key": {}, "Spec": {}, "Unused": {}},
            "Conditions": {"IsB": {"Fn::Equals": [{"Ref": "Stage"}, "b"]}},
            "Resources": {
                "Fn": {"Properties": {
                    "Code": {"S3Key": {"Ref": "Key"}, "S3Bucket": {"Ref": "Unused"}},
                    "Slot": {"Fn::If": ["IsB", "b", "a"]},
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Name": {"Fn::Sub": ["${X}-${AWS::Region}", {"X": "lit"}]}
                }},
                "Role": {"Properties": {"Keys": {"Fn::Sub": "${SigningKey.Arn}"}}},
                "SigningKey": {"Properties": {"KeySpec": {"Ref": "Spec"}}},
                "Other": {"Properties": {"X": {"Ref": "Unused"}}}
            }
        });
        let got: Vec<String> = parameters_feeding(&t, "Fn").into_iter().collect();
        assert_eq!(got, ["Key", "Spec", "Stage"]);
        assert!(parameters_feeding(&t, "Missing").is_empty());
    }

    #[test]
    fn sub_variables_skip_literals_and_trim() {
        assert_eq!(sub_variables("a ${A} ${!B} ${AWS::Region} ${ C.Arn }"), ["A", "AWS::Region", "C.Arn"]);
    }
}
