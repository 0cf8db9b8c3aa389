//! Every literal property value against its resource type's CloudFormation registry schema
//! (SCHEMA): lengths, patterns, enums, numeric ranges, item counts, required and known
//! properties. The schemas are data in `infra/data/cfn-schemas.json`, written by
//! `scripts/extract-cfn-schemas` from the registry schemas cfn-lint ships (its `source` field
//! names the version). Values computed by CloudFormation (`Ref`, `Fn::*`) are not checked here.

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use serde::Deserialize;
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

/// The schemas file: where it came from, and one trimmed schema per resource type.
#[derive(Debug, Deserialize)]
pub struct Schemas {
    /// The schemas' origin and version.
    pub source: String,
    /// Resource type → its schema (`properties`, `definitions`, `required`, ...).
    pub types: BTreeMap<String, Json>,
    /// Region → the resource types above that CloudFormation does not offer there.
    pub regions: BTreeMap<String, Vec<String>>,
}

/// The schemas, read once.
pub static SCHEMAS: LazyLock<Schemas> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../data/cfn-schemas.json")).unwrap_or_else(|_| Schemas {
        source: "unreadable".into(),
        types: BTreeMap::new(),
        regions: BTreeMap::new(),
    })
});

/// Every `pattern` and `patternProperties` key of the schemas, each compiled when a value first
/// meets it (see [`pattern`]): a command pays only for the patterns its templates reach.
pub static PATTERNS: LazyLock<BTreeMap<String, OnceLock<Option<SchemaPattern>>>> = LazyLock::new(|| {
    let mut all = Vec::new();
    for schema in SCHEMAS.types.values() {
        collect_patterns(schema, &mut all);
    }
    all.into_iter().map(|p| (p, OnceLock::new())).collect()
});

/// A compiled schema pattern, answering as Python's `re.search` does: cfn-lint evaluates the
/// schemas' patterns with it (`cfnlint.jsonschema._keywords.pattern`). The pattern is first
/// written in Rust's regex syntax ([`rust_syntax`]), then compiled by two engines:
/// - for texts of ASCII characters (every value the templates hold so far), `regex-lite`, about
///   15 times faster to compile. Its `\d`, `\w` and `\b` are ASCII, which on ASCII texts is
///   exactly Python's Unicode reading;
/// - for other texts, `fancy-regex`, whose classes are Unicode as Python's are, compiled when
///   such a text first meets the pattern. Patterns with lookaround, back-references, atomic
///   groups or Unicode properties (`\p{..}`, which Python's `re` does not know; the registry's
///   Java validator does) use it for every text.
#[derive(Debug)]
pub struct SchemaPattern {
    /// The pattern in Rust's regex syntax.
    rust: String,
    /// `regex-lite`, for ASCII texts; `None` where the pattern needs `fancy-regex`.
    ascii: Option<regex_lite::Regex>,
    /// `fancy-regex`, compiled on first use; `None` inside when it does not compile.
    unicode: OnceLock<Option<fancy_regex::Regex>>,
}

impl SchemaPattern {
    /// `text` (Python syntax) compiled; `None` when it does not compile.
    pub fn compile(text: &str) -> Option<Self> {
        let rust = rust_syntax(text);
        const FULL_ONLY: [&str; 6] = ["(?=", "(?!", "(?<", "(?>", "\\p", "\\P"];
        let back_reference = rust.as_bytes().windows(2).any(|w| w[0] == b'\\' && w[1].is_ascii_digit());
        let folds_unicode = rust.contains("(?i") && !rust.is_ascii();
        let pattern = SchemaPattern { ascii: None, unicode: OnceLock::new(), rust };
        if FULL_ONLY.iter().any(|f| pattern.rust.contains(f)) || back_reference || folds_unicode {
            pattern.full()?;
            return Some(pattern);
        }
        let ascii = Some(regex_lite::Regex::new(&pattern.rust).ok()?);
        Some(SchemaPattern { ascii, ..pattern })
    }

    /// Whether the pattern matches somewhere in `text`; `None` when `fancy-regex` gave up (its
    /// backtracking limit) or does not compile the pattern.
    pub fn is_match(&self, text: &str) -> Option<bool> {
        match &self.ascii {
            Some(re) if text.is_ascii() => Some(re.is_match(text)),
            _ => self.full()?.is_match(text).ok(),
        }
    }

    /// Whether `fancy-regex`, the engine of non-ASCII texts, matches `text`, whatever the text
    /// (for tests that hold both engines to Python's answers); `None` as for [`Self::is_match`].
    pub fn is_match_unicode(&self, text: &str) -> Option<bool> {
        self.full()?.is_match(text).ok()
    }

    /// The `fancy-regex` form, compiled on first use.
    fn full(&self) -> Option<&fancy_regex::Regex> {
        self.unicode.get_or_init(|| fancy_regex::Regex::new(&self.rust).ok()).as_ref()
    }
}

/// A Python `re` pattern in Rust's regex syntax, for both engines of [`SchemaPattern`]:
/// - `\Z` (end of text) is `\z`;
/// - `$` outside a class also matches before a newline that ends the text, as in Python
///   (`(?:\n?\z)`; no schema pattern sets the multi-line flag);
/// - `\s` also matches U+001C to U+001F, which Python's `str.isspace` counts as white space and
///   the Unicode `White_Space` property does not (`\S` in a class is left as it is);
/// - in a class, `[`, `&` and `~` are literal, as in Python (Rust reads nested classes and set
///   operations there).
///
/// Source: Python Library Reference, "re — Regular expression operations", "Regular Expression
/// Syntax"; the `regex` crate's syntax documentation.
pub fn rust_syntax(python: &str) -> String {
    let mut out = String::with_capacity(python.len() + 8);
    let mut chars = python.chars().peekable();
    // Inside a class, and whether the next character is the class's first (a literal `]`).
    let (mut in_class, mut first) = (false, false);
    while let Some(c) = chars.next() {
        let was_first = std::mem::take(&mut first);
        match (c, in_class) {
            ('\\', _) => match (chars.next(), in_class) {
                (Some('Z'), false) => out.push_str("\\z"),
                (Some('s'), false) => out.push_str("[\\s\\x1C-\\x1F]"),
                (Some('S'), false) => out.push_str("[^\\s\\x1C-\\x1F]"),
                (Some('s'), true) => out.push_str("\\s\\x1C-\\x1F"),
                // Python's `\<` and `\>` are the characters; Rust's are word boundaries.
                (Some(e @ ('<' | '>')), _) => out.push(e),
                (Some(e), _) => {
                    out.push('\\');
                    out.push(e);
                }
                (None, _) => out.push('\\'),
            },
            ('[', false) => {
                out.push('[');
                in_class = true;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                first = true;
            }
            (']', true) if !was_first => {
                out.push(']');
                in_class = false;
            }
            ('[' | '&' | '~', true) => {
                out.push('\\');
                out.push(c);
            }
            ('$', false) => out.push_str("(?:\\n?\\z)"),
            _ => out.push(c),
        }
    }
    out
}

/// The compiled schema pattern `text` ([`SchemaPattern`]), compiled on first use. `None` for a
/// text that is no schema pattern, or does not compile; a test requires that every one does.
pub fn pattern(text: &str) -> Option<&'static SchemaPattern> {
    PATTERNS.get(text)?.get_or_init(|| SchemaPattern::compile(text)).as_ref()
}

/// Every pattern written in `node`.
pub fn collect_patterns(node: &Json, out: &mut Vec<String>) {
    match node {
        Json::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("pattern", Json::String(p)) => out.push(p.clone()),
                    ("patternProperties", Json::Object(props)) => {
                        out.extend(props.keys().cloned());
                        props.values().for_each(|v| collect_patterns(v, out));
                    }
                    ("enum", _) => {}
                    _ => collect_patterns(v, out),
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|v| collect_patterns(v, out)),
        _ => {}
    }
}

pub(super) fn schema(cx: &mut Ctx<'_>, json: &Json) {
    let empty = Json::Object(serde_json::Map::new());
    for (id, r) in resources(json) {
        let Some(schema) = SCHEMAS.types.get(rtype(r)) else {
            cx.push(&SCHEMA002, format!("$.Resources.{id}.Type"), format!("no schema for {}", rtype(r)));
            continue;
        };
        let mut path = JsonPath::new(format!("$.Resources.{id}.Properties"));
        check(cx, schema, schema, r.get("Properties").unwrap_or(&empty), &mut path);
    }
}

/// REGION001 over an environment's templates.
pub(super) fn region(cx: &mut Ctx<'_>, jsons: &[(&str, Json)], env: &crate::env::Environment) {
    let region = env.region.as_str();
    let Some(missing) = SCHEMAS.regions.get(region) else {
        let known: Vec<&str> = SCHEMAS.regions.keys().map(String::as_str).collect();
        cx.push(
            &REGION001,
            env.locate("region"),
            format!("`{region}` is not a region CloudFormation has; known: {}", known.join(", ")),
        );
        return;
    };
    let used: std::collections::BTreeSet<&str> =
        jsons.iter().flat_map(|(_, j)| resources(j).map(|(_, r)| rtype(r))).collect();
    let absent: Vec<&str> = missing.iter().map(String::as_str).filter(|t| used.contains(t)).collect();
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

/// `schema` with `$ref`s into the type's `definitions` followed.
fn resolve<'a>(root: &'a Json, mut schema: &'a Json) -> &'a Json {
    for _ in 0..16 {
        let Some(name) = schema.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix("#/definitions/"))
        else {
            break;
        };
        match root.pointer(&format!("/definitions/{name}")) {
            Some(next) => schema = next,
            None => break,
        }
    }
    schema
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

fn check(cx: &mut Ctx<'_>, root: &Json, schema: &Json, value: &Json, at: &mut JsonPath) {
    let path = at.as_str();
    if is_intrinsic(value) {
        // What CloudFormation resolves is unknown here, but its literal text is at least there.
        let least = literal_text(value).map_or(0, |t| t.chars().count()) as f64;
        if let Some(max) = resolve(root, schema).get("maxLength").and_then(Json::as_f64).filter(|max| least > *max) {
            cx.push(
                &SCHEMA001,
                path,
                format!("resolves to at least {least} characters (its literal text); at most {max}"),
            );
        }
        return;
    }
    let schema = resolve(root, schema);
    let num = |k: &str| schema.get(k).and_then(Json::as_f64);
    if let Some(allowed) = schema.get("enum").and_then(Json::as_array)
        && !allowed.contains(value)
    {
        cx.push(&SCHEMA001, path, format!("{} is not one of {}", shown(value), Json::Array(allowed.clone())));
    }
    match value {
        Json::String(s) => string(cx, schema, s, path),
        Json::Number(n) => {
            let n = n.as_f64().unwrap_or(0.0);
            if let Some(min) = num("minimum").filter(|min| n < *min) {
                cx.push(&SCHEMA001, path, format!("{n} is below the minimum {min}"));
            }
            if let Some(max) = num("maximum").filter(|max| n > *max) {
                cx.push(&SCHEMA001, path, format!("{n} is above the maximum {max}"));
            }
        }
        Json::Array(items) => {
            if let Some(max) = num("maxItems").filter(|max| items.len() as f64 > *max) {
                cx.push(&SCHEMA001, path, format!("{} items; at most {max}", items.len()));
            }
            if let Some(min) = num("minItems").filter(|min| (items.len() as f64) < *min) {
                cx.push(&SCHEMA001, path, format!("{} items; at least {min}", items.len()));
            }
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    at.index(i, |here| check(cx, root, item, v, here));
                }
            }
        }
        Json::Object(map) => object(cx, root, schema, map, at),
        Json::Bool(_) | Json::Null => {}
    }
}

fn string(cx: &mut Ctx<'_>, schema: &Json, s: &str, path: &str) {
    // JSON Schema counts characters (code points), not bytes.
    let len = s.chars().count() as f64;
    if let Some(max) = schema.get("maxLength").and_then(Json::as_f64).filter(|max| len > *max) {
        cx.push(&SCHEMA001, path, format!("{} is {len} characters; at most {max}", shown(&Json::from(s))));
    }
    if let Some(min) = schema.get("minLength").and_then(Json::as_f64).filter(|min| len < *min) {
        cx.push(&SCHEMA001, path, format!("{} is {len} characters; at least {min}", shown(&Json::from(s))));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Json::as_str)
        && let Some(re) = self::pattern(pattern)
        && !re.is_match(s).unwrap_or(true)
    {
        cx.push(&SCHEMA001, path, format!("{} does not match {pattern}", shown(&Json::from(s))));
    }
}

fn object(cx: &mut Ctx<'_>, root: &Json, schema: &Json, map: &serde_json::Map<String, Json>, path: &mut JsonPath) {
    for key in schema.get("required").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
        if !map.contains_key(key) {
            cx.push(&SCHEMA001, path.as_str(), format!("required property {key} is missing"));
        }
    }
    let props = schema.get("properties").and_then(Json::as_object);
    let patterned = schema.get("patternProperties").and_then(Json::as_object);
    let closed = schema.get("additionalProperties") == Some(&Json::Bool(false));
    for (key, v) in map {
        if let Some(s) = props.and_then(|p| p.get(key)) {
            path.key(key, |here| check(cx, root, s, v, here));
            continue;
        }
        let by_pattern = patterned
            .into_iter()
            .flatten()
            .find(|(p, _)| self::pattern(p).is_some_and(|re| re.is_match(key).unwrap_or(false)));
        match by_pattern {
            Some((_, s)) => path.key(key, |here| check(cx, root, s, v, here)),
            None if closed => path
                .key(key, |here| cx.push(&SCHEMA001, here.as_str(), format!("{key} is not a property of this type"))),
            None => {}
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
