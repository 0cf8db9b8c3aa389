//! Compiles `data/cfn-schemas.json` (written by `scripts/extract-cfn-schemas`) into static
//! tables for `validate::schema`: one node per schema object, its `$ref`s resolved to node
//! indexes, so that no process parses the schemas at run time. The JSON file stays the one
//! place the schemas live; this is its compiled form.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value as Json;

/// How many `$ref`s a chain may follow; a longer chain (a cycle of bare references) stops the
/// build.
const MAX_REF_CHAIN: usize = 16;

fn main() {
    println!("cargo::rerun-if-changed=data/cfn-schemas.json");
    let text = std::fs::read_to_string("data/cfn-schemas.json").expect("infra/data/cfn-schemas.json is readable");
    let data: Json = serde_json::from_str(&text).expect("infra/data/cfn-schemas.json is JSON");
    let mut tables = Tables::default();
    let mut types = Vec::new();
    for (ty, root) in data["types"].as_object().expect("`types` is an object") {
        let root_index = tables.node(ty, root, root);
        types.push((ty.clone(), root_index));
    }
    // `validate::schema::type_schema` looks types up by binary search.
    types.sort();
    let mut out = String::new();
    writeln!(out, "/// Where the schemas came from (cfn-lint's version).").unwrap();
    writeln!(out, "pub const SOURCE: &str = {:?};", data["source"].as_str().unwrap_or("unknown")).unwrap();
    writeln!(out, "/// Resource type → its root node, sorted by type.").unwrap();
    writeln!(out, "pub static TYPES: [(&str, u16); {}] = [", types.len()).unwrap();
    for (ty, index) in &types {
        writeln!(out, "    ({ty:?}, {index}),").unwrap();
    }
    writeln!(out, "];").unwrap();
    tables.write(&mut out);
    write_regions(&mut out, &data["regions"]);
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("schemas.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
}

/// The nodes and patterns written so far.
#[derive(Default)]
struct Tables {
    /// Each node's Rust text, in index order (`None` while a definition is being filled).
    nodes: Vec<Option<String>>,
    /// (type, definition) → node index, so a definition used many times is one node.
    definitions: BTreeMap<(String, String), usize>,
    /// Pattern texts, in index order.
    patterns: Vec<String>,
}

impl Tables {
    /// The index of the node for `schema`, a part of `ty`'s schema `root`.
    fn node(&mut self, ty: &str, root: &Json, schema: &Json) -> usize {
        let (schema, definition) = resolve(root, schema);
        if let Some(name) = &definition
            && let Some(&index) = self.definitions.get(&(ty.to_owned(), name.clone()))
        {
            return index;
        }
        let index = self.nodes.len();
        self.nodes.push(None);
        if let Some(name) = definition {
            self.definitions.insert((ty.to_owned(), name), index);
        }
        let text = self.node_text(ty, root, schema);
        self.nodes[index] = Some(text);
        index
    }

    /// The Rust text of one node.
    fn node_text(&mut self, ty: &str, root: &Json, schema: &Json) -> String {
        let number = |key: &str| match schema.get(key).and_then(Json::as_f64) {
            Some(n) => format!("Some({n:?})"),
            None => "None".to_owned(),
        };
        let strings = |key: &str| -> Vec<String> {
            schema
                .get(key)
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        };
        let enumeration = match schema.get("enum").and_then(Json::as_array) {
            Some(values) => format!("Some(&[{}])", values.iter().map(literal).collect::<Vec<_>>().join(", ")),
            None => "None".to_owned(),
        };
        let pattern = match schema.get("pattern").and_then(Json::as_str) {
            Some(p) => format!("Some({})", self.pattern(p)),
            None => "None".to_owned(),
        };
        let items = match schema.get("items").filter(|i| i.is_object()) {
            Some(item) => format!("Some({})", self.node(ty, root, item)),
            None => "None".to_owned(),
        };
        let mut properties: Vec<(String, usize)> = Vec::new();
        for (key, s) in schema.get("properties").and_then(Json::as_object).into_iter().flatten() {
            properties.push((key.clone(), self.node(ty, root, s)));
        }
        properties.sort();
        let mut patterned = Vec::new();
        for (p, s) in schema.get("patternProperties").and_then(Json::as_object).into_iter().flatten() {
            patterned.push((self.pattern(p), self.node(ty, root, s)));
        }
        format!(
            "Node {{ enumeration: {enumeration}, pattern: {pattern}, min_length: {}, max_length: {}, \
             minimum: {}, maximum: {}, min_items: {}, max_items: {}, items: {items}, required: &{:?}, \
             unique_items: {}, properties: &{properties:?}, pattern_properties: &{patterned:?}, closed: {} }}",
            number("minLength"),
            number("maxLength"),
            number("minimum"),
            number("maximum"),
            number("minItems"),
            number("maxItems"),
            strings("required"),
            schema.get("uniqueItems") == Some(&Json::Bool(true)),
            schema.get("additionalProperties") == Some(&Json::Bool(false)),
        )
    }

    /// The index of pattern `text`.
    fn pattern(&mut self, text: &str) -> usize {
        match self.patterns.iter().position(|p| p == text) {
            Some(i) => i,
            None => {
                self.patterns.push(text.to_owned());
                self.patterns.len() - 1
            }
        }
    }

    /// The node and pattern tables.
    fn write(&self, out: &mut String) {
        writeln!(out, "/// Every schema node; indexes in nodes are indexes here.").unwrap();
        writeln!(out, "pub static NODES: [Node; {}] = [", self.nodes.len()).unwrap();
        for node in &self.nodes {
            writeln!(out, "    {},", node.as_deref().expect("every node is filled")).unwrap();
        }
        writeln!(out, "];").unwrap();
        writeln!(out, "/// Every `pattern` and `patternProperties` key, as written (Java's regex syntax).").unwrap();
        writeln!(out, "pub static PATTERN_TEXTS: [&str; {}] = {:?};", self.patterns.len(), self.patterns).unwrap();
    }
}

/// `schema` with its `$ref`s into `root`'s `definitions` followed, and the name of the last
/// definition reached.
/// A `$ref` this compiler does not follow stops the build: a node compiled without it would
/// check nothing, silently.
fn resolve<'a>(root: &'a Json, mut schema: &'a Json) -> (&'a Json, Option<String>) {
    let mut name = None;
    for _ in 0..MAX_REF_CHAIN {
        let Some(reference) = schema.get("$ref") else { break };
        let next = reference.as_str().and_then(|r| r.strip_prefix("#/definitions/")).filter(|n| !n.contains('/'));
        let found = next.and_then(|n| root.get("definitions").and_then(|d| d.get(n)));
        let (Some(next), Some(found)) = (next, found) else {
            panic!(
                "infra/data/cfn-schemas.json: $ref {reference} is not a definition of its schema; extend infra/build.rs to read it"
            );
        };
        schema = found;
        name = Some(next.to_owned());
    }
    if schema.get("$ref").is_some() {
        panic!("infra/data/cfn-schemas.json: a chain of more than {MAX_REF_CHAIN} $refs");
    }
    (schema, name)
}

/// An `enum` value as a `Literal`.
fn literal(v: &Json) -> String {
    match v {
        Json::String(s) => format!("Literal::Text({s:?})"),
        Json::Number(n) => format!("Literal::Number({:?})", n.as_f64().unwrap_or(f64::NAN)),
        Json::Bool(b) => format!("Literal::Bool({b})"),
        other => panic!("infra/data/cfn-schemas.json: enum value {other} is neither text, number nor bool"),
    }
}

/// Region → the resource types CloudFormation does not offer there.
fn write_regions(out: &mut String, regions: &Json) {
    let regions = regions.as_object().expect("`regions` is an object");
    writeln!(out, "/// Region → the resource types above that CloudFormation does not offer there.").unwrap();
    writeln!(out, "pub static REGIONS: [(&str, &[&str]); {}] = [", regions.len()).unwrap();
    for (region, missing) in regions {
        let missing: Vec<&str> = missing.as_array().into_iter().flatten().filter_map(Json::as_str).collect();
        writeln!(out, "    ({region:?}, &{missing:?}),").unwrap();
    }
    writeln!(out, "];").unwrap();
}
