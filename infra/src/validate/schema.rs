//! Every literal property value against its resource type's CloudFormation registry schema
//! (SCHEMA): lengths, patterns, enums, numeric ranges, item counts, required and known
//! properties. The schemas are data in `infra/data/cfn-schemas.json`, written by
//! `scripts/extract-cfn-schemas` from the registry schemas cfn-lint ships (its `source` field
//! names the version). Values computed by CloudFormation (`Ref`, `Fn::*`) are not checked here.

use std::sync::OnceLock;

use serde_json::Value as Json;

use super::{Ctx, JsonPath, Rule, Severity, resources, rtype};

/// SCHEMA001.
pub const SCHEMA001: Rule = Rule {
    id: "SCHEMA001",
    severity: Severity::Error,
    summary: "literal property values satisfy the resource type's CloudFormation registry schema: lengths, patterns, enums, numeric ranges, item counts, required and known properties",
    source: "the CloudFormation registry resource schemas (CloudFormation CLI User Guide, \"Resource type schema\")",
};
/// SCHEMA002.
pub const SCHEMA002: Rule = Rule {
    id: "SCHEMA002",
    severity: Severity::Error,
    summary: "every resource type has a schema in `infra/data/cfn-schemas.json` (add it with `scripts/extract-cfn-schemas`)",
    source: "the CloudFormation registry resource schemas (CloudFormation CLI User Guide, \"Resource type schema\")",
};

/// REGION001.
pub const REGION001: Rule = Rule {
    id: "REGION001",
    severity: Severity::Error,
    summary: "the environment's region is one where CloudFormation offers every resource type of its stacks",
    source: "CloudFormation User Guide, \"Resource type support by Region\" (the registry's per-Region type lists)",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&SCHEMA001, &SCHEMA002, &REGION001];

/// One object of a resource type's schema, as `build.rs` compiles it from
/// `infra/data/cfn-schemas.json`: the JSON Schema keywords SCHEMA001 checks, its `$ref`s
/// resolved to indexes into [`NODES`].
#[derive(Debug)]
pub struct Node {
    /// `enum`: the values allowed.
    pub enumeration: Option<&'static [Literal]>,
    /// `pattern`: an index into [`PATTERN_TEXTS`].
    pub pattern: Option<u16>,
    /// `minLength`, in characters (code points).
    pub min_length: Option<f64>,
    /// `maxLength`, in characters (code points).
    pub max_length: Option<f64>,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `minItems`.
    pub min_items: Option<f64>,
    /// `maxItems`.
    pub max_items: Option<f64>,
    /// `items`: the node every item satisfies.
    pub items: Option<u16>,
    /// `required`: property names.
    pub required: &'static [&'static str],
    /// `uniqueItems: true`: no two items equal.
    pub unique_items: bool,
    /// `properties`: (name, node), sorted by name.
    pub properties: &'static [(&'static str, u16)],
    /// `patternProperties`: (pattern, node).
    pub pattern_properties: &'static [(u16, u16)],
    /// `additionalProperties: false`.
    pub closed: bool,
}

/// A value of an `enum`.
#[derive(Debug, PartialEq)]
pub enum Literal {
    /// A string.
    Text(&'static str),
    /// A number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
}

impl Literal {
    /// Whether `v` is this value.
    fn is(&self, v: &Json) -> bool {
        match (self, v) {
            (Literal::Text(t), Json::String(s)) => t == s,
            (Literal::Number(n), Json::Number(m)) => m.as_f64() == Some(*n),
            (Literal::Bool(b), Json::Bool(c)) => b == c,
            _ => false,
        }
    }

    /// The value as JSON.
    fn json(&self) -> Json {
        match self {
            Literal::Text(t) => Json::from(*t),
            Literal::Number(n) => Json::from(*n),
            Literal::Bool(b) => Json::from(*b),
        }
    }
}

/// The compiled schemas (`build.rs`): [`SOURCE`], [`TYPES`], [`NODES`], [`PATTERN_TEXTS`],
/// [`REGIONS`].
mod compiled {
    use super::{Literal, Node};
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
}
pub use compiled::{NODES, PATTERN_TEXTS, REGIONS, SOURCE, TYPES};

/// The root node of resource type `ty`'s schema.
pub fn type_schema(ty: &str) -> Option<&'static Node> {
    let at = TYPES.binary_search_by(|(t, _)| (*t).cmp(ty)).ok()?;
    Some(&NODES[TYPES[at].1 as usize])
}

/// Every pattern of [`PATTERN_TEXTS`], each compiled when a value first meets it (see
/// [`pattern`]): a command pays only for the patterns its templates reach.
static PATTERNS: [OnceLock<Option<SchemaPattern>>; PATTERN_TEXTS.len()] =
    [const { OnceLock::new() }; PATTERN_TEXTS.len()];

/// A compiled schema pattern, answering as CloudFormation does: the registry's resource
/// handlers validate their input against the schema with everit-json-schema, whose `pattern`
/// is `java.util.regex.Pattern.compile(p).matcher(v).find()` (cloudformation-resource-schema
/// `BaseValidator`; CloudFormation's pre-deployment validation checks the same schemas when a
/// change set is created: User Guide, "Validate stack deployments"). The pattern is first
/// written in Rust's regex syntax with Java's meaning ([`rust_syntax`]), then compiled by:
/// - `regex-lite`, for every pattern it reads (about 15 times faster to compile than
///   `fancy-regex`). Its `\d`, `\w` and `\s` are ASCII, as Java's are by default (its `\b`
///   too; Java 19 and later read `\b` by Unicode `\w`: no schema pattern uses `\b`);
/// - `fancy-regex`, for lookaround, back-references, atomic groups and Unicode properties
///   (`\p{L}`), compiled when a value first meets the pattern.
#[derive(Debug)]
pub struct SchemaPattern {
    /// The pattern in Rust's regex syntax.
    rust: String,
    /// `regex-lite`; `None` where the pattern needs `fancy-regex`.
    lite: Option<regex_lite::Regex>,
    /// `fancy-regex`, compiled on first use; `None` inside when it does not compile.
    fancy: OnceLock<Option<fancy_regex::Regex>>,
}

impl SchemaPattern {
    /// `text` (Java syntax) compiled; `None` when it does not compile.
    pub fn compile(text: &str) -> Option<Self> {
        let rust = rust_syntax(text);
        const FANCY_ONLY: [&str; 6] = ["(?=", "(?!", "(?<", "(?>", "\\p", "\\P"];
        let back_reference = rust.as_bytes().windows(2).any(|w| w[0] == b'\\' && w[1].is_ascii_digit());
        let pattern = SchemaPattern { lite: None, fancy: OnceLock::new(), rust };
        if FANCY_ONLY.iter().any(|f| pattern.rust.contains(f)) || back_reference {
            pattern.full()?;
            return Some(pattern);
        }
        let lite = Some(regex_lite::Regex::new(&pattern.rust).ok()?);
        Some(SchemaPattern { lite, ..pattern })
    }

    /// Whether the pattern matches somewhere in `text`; `None` when `fancy-regex` gave up (its
    /// backtracking limit) or does not compile the pattern.
    pub fn is_match(&self, text: &str) -> Option<bool> {
        match &self.lite {
            Some(re) => Some(re.is_match(text)),
            None => self.full()?.is_match(text).ok(),
        }
    }

    /// Whether `fancy-regex` matches `text`, whatever engine [`Self::is_match`] uses (for tests
    /// that hold both engines to Java's answers); `None` as for [`Self::is_match`].
    pub fn is_match_fancy(&self, text: &str) -> Option<bool> {
        self.full()?.is_match(text).ok()
    }

    /// The `fancy-regex` form, compiled on first use.
    fn full(&self) -> Option<&fancy_regex::Regex> {
        self.fancy.get_or_init(|| fancy_regex::Regex::new(&self.rust).ok()).as_ref()
    }
}

/// Java's line terminators (`java.util.regex.Pattern`, "Line terminators"), as a class body.
const LINE_TERMINATORS: &str = "\\n\\r\\x{85}\\x{2028}\\x{2029}";
/// Java's `\s` without `UNICODE_CHARACTER_CLASS`: `[ \t\n\x0B\f\r]`, as a class body.
const JAVA_SPACE: &str = "\\t\\n\\x0B\\x0C\\r ";

/// A `java.util.regex` pattern (no flags) in Rust's regex syntax, with Java's meaning, for both
/// engines of [`SchemaPattern`] (source: the Java SE API documentation of
/// `java.util.regex.Pattern`, "Line terminators", "Predefined character classes", "Boundary
/// matchers"; the `regex` crate's syntax documentation):
/// - `$` outside a class, and `\Z`, match at the end or before a line terminator that ends the
///   text (`\r\n`, `\n`, `\r`, U+0085, U+2028, U+2029);
/// - `.` outside a class matches anything but a line terminator;
/// - `\d`, `\w`, `\s` and their negations are ASCII classes (Java's default; `\s` is
///   `[ \t\n\x0B\f\r]`), written out so that `fancy-regex`, whose classes are Unicode, reads
///   them as Java does; `\b` stays (no schema pattern uses it with lookaround);
/// - `~` in a class is literal, as in Java (Rust reads `~~` as a set operation); nested
///   classes and `&&` mean the same in both;
/// - Java's `\<` and `\>` are the characters; Rust's are word boundaries.
pub fn rust_syntax(java: &str) -> String {
    let end = format!("(?:(?:\\r\\n|[{LINE_TERMINATORS}])?\\z)");
    let mut out = String::with_capacity(java.len() + 16);
    let mut chars = java.chars().peekable();
    // Class nesting depth, and whether the next character is a class's first (a literal `]`).
    let (mut depth, mut first) = (0usize, false);
    while let Some(c) = chars.next() {
        let was_first = std::mem::take(&mut first);
        match (c, depth > 0) {
            ('\\', in_class) => escape(chars.next(), in_class, &end, &mut out),
            ('[', _) => {
                out.push('[');
                depth += 1;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                first = true;
            }
            (']', true) if !was_first => {
                out.push(']');
                depth -= 1;
            }
            ('~', true) => out.push_str("\\~"),
            ('$', false) => out.push_str(&end),
            ('.', false) => out.push_str(&format!("[^{LINE_TERMINATORS}]")),
            _ => out.push(c),
        }
    }
    out
}

/// The Rust form of Java's escape `\e` ([`rust_syntax`]).
fn escape(e: Option<char>, in_class: bool, end: &str, out: &mut String) {
    let class = |body: &str, negated: bool| match (in_class, negated) {
        (true, false) => body.to_owned(),
        (_, true) => format!("[^{body}]"),
        (false, false) => format!("[{body}]"),
    };
    match e {
        Some('Z') if !in_class => out.push_str(end),
        Some('d') => out.push_str(&class("0-9", false)),
        Some('D') => out.push_str(&class("0-9", true)),
        Some('w') => out.push_str(&class("0-9A-Za-z_", false)),
        Some('W') => out.push_str(&class("0-9A-Za-z_", true)),
        Some('s') => out.push_str(&class(JAVA_SPACE, false)),
        Some('S') => out.push_str(&class(JAVA_SPACE, true)),
        Some(c @ ('<' | '>')) => out.push(c),
        Some(c) => {
            out.push('\\');
            out.push(c);
        }
        None => out.push('\\'),
    }
}

/// The compiled schema pattern number `index` of [`PATTERN_TEXTS`] ([`SchemaPattern`]),
/// compiled on first use. `None` for an index out of range, or a pattern that does not
/// compile; a test requires that every one does.
pub fn pattern(index: usize) -> Option<&'static SchemaPattern> {
    PATTERNS.get(index)?.get_or_init(|| SchemaPattern::compile(PATTERN_TEXTS[index])).as_ref()
}

pub(super) fn schema(cx: &mut Ctx<'_>, json: &Json) {
    let empty = Json::Object(serde_json::Map::new());
    for (id, r) in resources(json) {
        let Some(schema) = type_schema(rtype(r)) else {
            cx.push(&SCHEMA002, format!("$.Resources.{id}.Type"), format!("no schema for {}", rtype(r)));
            continue;
        };
        let mut path = JsonPath::new(format!("$.Resources.{id}.Properties"));
        check(cx, schema, r.get("Properties").unwrap_or(&empty), &mut path);
    }
}

/// REGION001 over an environment's templates.
pub(super) fn region(cx: &mut Ctx<'_>, jsons: &[(&str, Json)], env: &crate::env::Environment) {
    let region = env.region.as_str();
    let Some((_, missing)) = REGIONS.iter().find(|(r, _)| *r == region) else {
        let known: Vec<&str> = REGIONS.iter().map(|(r, _)| *r).collect();
        cx.push(
            &REGION001,
            env.locate("region"),
            format!("`{region}` is not a region CloudFormation has; known: {}", known.join(", ")),
        );
        return;
    };
    let used: std::collections::BTreeSet<&str> =
        jsons.iter().flat_map(|(_, j)| resources(j).map(|(_, r)| rtype(r))).collect();
    let absent: Vec<&str> = missing.iter().copied().filter(|t| used.contains(t)).collect();
    if !absent.is_empty() {
        cx.push(
            &REGION001,
            env.locate("region"),
            format!(
                "CloudFormation does not offer {} in {region}; choose another region or drop what needs it",
                absent.join(", ")
            ),
        );
    }
}

/// `{"Ref": ..}` or `{"Fn::..": ..}`: resolved by CloudFormation, not checkable here.
fn is_intrinsic(v: &Json) -> bool {
    v.as_object().is_some_and(|m| m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::")))
}

/// The text CloudFormation will at least produce for a value: a string itself; the literal text
/// of a `Fn::Sub` (each `${Var}` as nothing, `${!Literal}` as `${Literal}`) or of a `Fn::Join`
/// (its separators and literal parts, anything computed as nothing); `None` for anything else.
pub(super) fn literal_text(v: &Json) -> Option<String> {
    let sub = |text: &str| {
        let (mut out, mut rest) = (String::new(), text);
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else { return out + &rest[at..] };
            if let Some(literal) = after[..end].strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            }
            rest = &after[end + 1..];
        }
        out + rest
    };
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Object(m) => match (m.get("Fn::Sub"), m.get("Fn::Join")) {
            (Some(Json::String(s)), _) => Some(sub(s)),
            (Some(Json::Array(a)), _) => a.first().and_then(Json::as_str).map(sub),
            (_, Some(Json::Array(a))) => {
                let sep = a.first().and_then(Json::as_str).unwrap_or_default();
                let parts = a.get(1).and_then(Json::as_array).map_or(&[][..], Vec::as_slice);
                Some(parts.iter().map(|p| literal_text(p).unwrap_or_default()).collect::<Vec<_>>().join(sep))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The node `index` of [`NODES`].
fn node(index: u16) -> &'static Node {
    &NODES[usize::from(index)]
}

fn check(cx: &mut Ctx<'_>, schema: &Node, value: &Json, at: &mut JsonPath) {
    let path = at.as_str();
    if is_intrinsic(value) {
        // What CloudFormation resolves is unknown here, but its literal text is at least there.
        let least = literal_text(value).map_or(0, |t| t.chars().count()) as f64;
        if let Some(max) = schema.max_length.filter(|max| least > *max) {
            cx.push(
                &SCHEMA001,
                path,
                format!("resolves to at least {least} characters (its literal text); at most {max}"),
            );
        }
        return;
    }
    if let Some(allowed) = schema.enumeration
        && !allowed.iter().any(|a| a.is(value))
    {
        let allowed = Json::Array(allowed.iter().map(Literal::json).collect());
        cx.push(&SCHEMA001, path, format!("{} is not one of {allowed}", shown(value)));
    }
    match value {
        Json::String(s) => string(cx, schema, s, path),
        Json::Number(n) => {
            let n = n.as_f64().unwrap_or(0.0);
            if let Some(min) = schema.minimum.filter(|min| n < *min) {
                cx.push(&SCHEMA001, path, format!("{n} is below the minimum {min}"));
            }
            if let Some(max) = schema.maximum.filter(|max| n > *max) {
                cx.push(&SCHEMA001, path, format!("{n} is above the maximum {max}"));
            }
        }
        Json::Array(items) => {
            if let Some(max) = schema.max_items.filter(|max| items.len() as f64 > *max) {
                cx.push(&SCHEMA001, path, format!("{} items; at most {max}", items.len()));
            }
            if let Some(min) = schema.min_items.filter(|min| (items.len() as f64) < *min) {
                cx.push(&SCHEMA001, path, format!("{} items; at least {min}", items.len()));
            }
            if let Some(i) = schema.unique_items.then(|| first_repeat(items)).flatten() {
                cx.push(&SCHEMA001, path, format!("{} is given twice; the items must differ", shown(&items[i])));
            }
            if let Some(item) = schema.items.map(node) {
                for (i, v) in items.iter().enumerate() {
                    at.index(i, |here| check(cx, item, v, here));
                }
            }
        }
        Json::Object(map) => object(cx, schema, map, at),
        Json::Bool(_) | Json::Null => {}
    }
}

fn string(cx: &mut Ctx<'_>, schema: &Node, s: &str, path: &str) {
    // JSON Schema counts characters (code points), not bytes.
    let len = s.chars().count() as f64;
    if let Some(max) = schema.max_length.filter(|max| len > *max) {
        cx.push(&SCHEMA001, path, format!("{} is {len} characters; at most {max}", shown(&Json::from(s))));
    }
    if let Some(min) = schema.min_length.filter(|min| len < *min) {
        cx.push(&SCHEMA001, path, format!("{} is {len} characters; at least {min}", shown(&Json::from(s))));
    }
    if let Some(index) = schema.pattern.map(usize::from)
        && let Some(re) = self::pattern(index)
        && !re.is_match(s).unwrap_or(true)
    {
        cx.push(&SCHEMA001, path, format!("{} does not match {}", shown(&Json::from(s)), PATTERN_TEXTS[index]));
    }
}

/// The index of the first item equal to an earlier one (JSON Schema `uniqueItems`).
fn first_repeat(items: &[Json]) -> Option<usize> {
    (1..items.len()).find(|&i| items[..i].contains(&items[i]))
}

/// An object's properties: required ones present; each against its own node and, as JSON
/// Schema reads `patternProperties`, against the node of every pattern its name matches; a
/// name neither knows is refused where `additionalProperties` is `false`.
fn object(cx: &mut Ctx<'_>, schema: &Node, map: &serde_json::Map<String, Json>, path: &mut JsonPath) {
    for key in schema.required {
        if !map.contains_key(*key) {
            cx.push(&SCHEMA001, path.as_str(), format!("required property {key} is missing"));
        }
    }
    for (key, v) in map {
        let named = schema.properties.binary_search_by(|(name, _)| (*name).cmp(key.as_str())).ok();
        if let Some(at) = named {
            path.key(key, |here| check(cx, node(schema.properties[at].1), v, here));
        }
        let mut matched = false;
        for &(p, s) in schema.pattern_properties {
            if self::pattern(usize::from(p)).is_some_and(|re| re.is_match(key).unwrap_or(false)) {
                matched = true;
                path.key(key, |here| check(cx, node(s), v, here));
            }
        }
        if named.is_none() && !matched && schema.closed {
            path.key(key, |here| cx.push(&SCHEMA001, here.as_str(), format!("{key} is not a property of this type")));
        }
    }
}

/// A value as a message shows it: JSON, cut after 60 characters.
fn shown(v: &Json) -> String {
    let text = v.to_string();
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}
