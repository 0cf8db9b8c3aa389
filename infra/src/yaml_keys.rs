//! Where each key of a YAML document is written: one pass over the document's events
//! (saphyr-parser, a YAML 1.2 event parser with positions) records the line of every key by its
//! dotted path (`monitoring.alarms.lambda_errors.threshold`; sequence items by index in
//! brackets, `token.clients[0].id`, as serde's own errors write them), in block and flow style
//! alike.
//!
//! The same pass refuses what the typed reading (serde) would drop or reinterpret without a
//! word, each with its path and line:
//! - a key written twice in one mapping (serde keeps the last value);
//! - any tag, local (`!Ref`, `!Sub`, pasted from a CloudFormation template) or of the core
//!   schema (`!!str`, `!!int`, `!!binary`): serde reads the value under the tag as if it were
//!   plain, so `audience: !Ref TokenAudience` would become the text `TokenAudience`;
//! - a merge key (`<<: *defaults`, YAML 1.1's merge type): serde does not merge, it reads a key
//!   named `<<`;
//! - an empty value (`key:` with nothing after it, `~`, `null`): it would read as "left out" for
//!   an optional section, where it is more often a section whose lines lost their indentation;
//! - a second document (a second `---`); one leading `---` and a closing `...` are fine;
//! - directives (`%YAML`, `%TAG`): they only change how tags and versions read;
//! - a byte-order mark anywhere but at the very start (YAML 1.2 section 5.2 allows one there);
//! - a plain value in a number form other than decimal ([`number_form`]): hexadecimal, octal,
//!   binary, digit separators (`1_000`), base 60 (`1:30`), infinity and NaN. Several of these are
//!   a number to YAML 1.1 readers and text to YAML 1.2 ones (YAML 1.2 section 10.3.2, YAML 1.1
//!   int and float types), so a reviewer and a tool could read two values.
//!
//! Anchors and aliases (`&x`, `*x`) are read: they repeat a value exactly.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Why a document is refused before its typed reading; each names the dotted path of the value
/// (empty for the document itself) and its line (1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A key written twice in one mapping.
    #[error("{path}: the key is given twice, at line {first} and at line {second}")]
    DuplicateKey {
        /// The key's dotted path.
        path: String,
        /// The line it is first written at.
        first: usize,
        /// The line it is written at again.
        second: usize,
    },
    /// A tagged node; `scalar` when it tags a single value rather than a section or list.
    #[error(
        "{path}: the YAML tag `{tag}` at line {line} is not read: environment files hold plain values{}",
        match (tag.starts_with("!!"), scalar) {
            (false, _) => "; nothing here evaluates CloudFormation functions: write the value itself",
            (true, true) => "; write the value itself (quote it to make it text)",
            (true, false) => "; remove the tag",
        }
    )]
    Tag {
        /// The dotted path of the tagged node.
        path: String,
        /// The tag's line.
        line: usize,
        /// The tag as written (`!Ref`, `!!str`).
        tag: String,
        /// Whether it tags a single value.
        scalar: bool,
    },
    /// A `<<` merge key.
    #[error("{path}: the merge key `<<` at line {line} is not applied (YAML 1.2 has no merge); write the keys out")]
    MergeKey {
        /// The dotted path of the `<<` key.
        path: String,
        /// Its line.
        line: usize,
    },
    /// A value that is empty or null; `item` when it is a list's item rather than a key's value.
    #[error(
        "{path}: the {} at line {line} has no value; write its value (a section's keys indented under it){}",
        if *item { "list item" } else { "key" },
        if *item { ", or remove the item" } else { ", or remove the key where it is optional" }
    )]
    Empty {
        /// The dotted path of the empty value.
        path: String,
        /// Its line.
        line: usize,
        /// Whether it is a list item rather than a key's value.
        item: bool,
    },
    /// A second document in the stream.
    #[error(
        "a second YAML document starts at line {line}: an environment file is one document; remove the `---` there and what follows, or move it to a file of its own"
    )]
    SecondDocument {
        /// The line the second document starts at.
        line: usize,
    },
    /// A directive (`%YAML`, `%TAG`).
    #[error("line {line}: the directive `{directive}` is not read; remove it (environment files are plain YAML 1.2)")]
    Directive {
        /// The directive's line.
        line: usize,
        /// The directive as written.
        directive: String,
    },
    /// No settings at all: an empty file, only comments, or a null document.
    #[error(
        "the file holds no settings; an environment file is one mapping of keys (account_id, region, ...: docs/environments.md)"
    )]
    EmptyDocument,
    /// A document that is a list or a single value.
    #[error(
        "line {line}: the file is a {found}; an environment file is one mapping of keys (account_id: ..., region: ...)"
    )]
    NotAMapping {
        /// The line the document's content starts at.
        line: usize,
        /// What the document is instead: `list` or `single value`.
        found: &'static str,
    },
    /// A character YAML 1.2 does not allow (section 5.1).
    #[error(
        "line {line}: the control character {code} is not allowed in YAML (YAML 1.2 section 5.1){}; delete it, or save the file as UTF-8 text",
        if code == "U+0000" { ", and a NUL is what a UTF-16 file without a byte-order mark holds" } else { "" }
    )]
    Control {
        /// The character's line.
        line: usize,
        /// The character as `U+XXXX`.
        code: String,
    },
    /// A character YAML 1.1 readers break lines at and YAML 1.2 does not.
    #[error(
        "line {line}: {code} is a line break to YAML 1.1 readers and not to YAML 1.2, so what follows it could be read as another setting (even after a `#`); delete it or use a plain line break"
    )]
    LineBreak {
        /// The character's line.
        line: usize,
        /// The character as `U+XXXX` (U+0085, U+2028 or U+2029).
        code: String,
    },
    /// A plain value in a number form other than decimal; `advice` says what to write.
    #[error("{path}: `{text}` at line {line} is {advice}")]
    NumberForm {
        /// The dotted path of the value.
        path: String,
        /// Its line.
        line: usize,
        /// The value as written.
        text: String,
        /// What form it is in and the decimal to write instead ([`number_form`]).
        advice: String,
    },
    /// A byte-order mark after the start.
    #[error(
        "line {line}: a byte-order mark (U+FEFF) inside the file; YAML allows one only at the very start (YAML 1.2 section 5.2): delete it"
    )]
    ByteOrderMark {
        /// The mark's line.
        line: usize,
    },
}

/// The line (1-based) of every key of a document, by dotted path, and every scalar value with the
/// path it is the value of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyLines {
    lines: BTreeMap<String, usize>,
    values: Vec<(String, String)>,
}

/// A mapping or sequence being read: its path, and (mappings) its keys so far and whether the
/// next scalar is a key; (sequences) the next item's index.
enum Frame {
    Mapping { path: String, keys: BTreeMap<String, usize>, value_of: Option<String>, is_key: bool },
    Sequence { path: String, next: usize, is_key: bool },
}

/// What a key that is not a plain scalar (an alias, a mapping or a sequence) is called in paths.
const COMPLEX_KEY: &str = "?";

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// After a key that is not a plain scalar, the mapping's next node is its value.
fn key_done(stack: &mut [Frame], was_key: bool) {
    if let (true, Some(Frame::Mapping { value_of, .. })) = (was_key, stack.last_mut()) {
        *value_of = Some(COMPLEX_KEY.to_owned());
    }
}

/// Where a new node sits under `stack`: the path of the value it is, or `None` for a key.
fn next_slot(stack: &mut [Frame]) -> Option<String> {
    match stack.last_mut() {
        None => Some(String::new()),
        Some(Frame::Sequence { path, next, .. }) => {
            *next += 1;
            Some(format!("{path}[{}]", *next - 1))
        }
        Some(Frame::Mapping { path, value_of, .. }) => value_of.take().map(|k| join(path, &k)),
    }
}

/// The path a node that is itself a key (a mapping or list as a key) is named by.
fn key_path(stack: &[Frame]) -> String {
    match stack.last() {
        Some(Frame::Mapping { path, .. }) => join(path, COMPLEX_KEY),
        _ => COMPLEX_KEY.to_owned(),
    }
}

impl KeyLines {
    /// Reads `text`. A syntax error ends the reading quietly (the typed read reports it, naming
    /// the key it was reading); the keys before it are kept.
    ///
    /// # Errors
    /// The first [`ReadError`] in the document's order.
    pub fn read(text: &str) -> Result<Self, ReadError> {
        refuse_in_text(text)?;
        let mut lines = BTreeMap::new();
        let mut values = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0;
        let mut seen_root = false;
        for event in Parser::new_from_str(text.strip_prefix('\u{feff}').unwrap_or(text)) {
            let Ok((event, span)) = event else {
                // The typed reading reports the syntax error.
                seen_root = true;
                break;
            };
            let line = span.start.line();
            let slot = next_slot(&mut stack);
            let is_key = slot.is_none();
            let path = slot.unwrap_or_else(|| key_path(&stack));
            if let Some(tag) = tag_of(&event) {
                let scalar = matches!(event, Event::Scalar(..));
                return Err(ReadError::Tag { path, line, tag, scalar });
            }
            let item = matches!(stack.last(), Some(Frame::Sequence { .. }));
            if stack.is_empty() {
                root(&event, line)?;
                seen_root |= matches!(event, Event::MappingStart(..));
            }
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(ReadError::SecondDocument { line });
                    }
                }
                Event::Scalar(value, style, ..) => {
                    if !is_key {
                        if style == ScalarStyle::Plain && matches!(&*value, "" | "~" | "null" | "Null" | "NULL") {
                            return Err(ReadError::Empty { path, line, item });
                        }
                        if let Some(advice) = number_form(&value).filter(|_| style == ScalarStyle::Plain) {
                            return Err(ReadError::NumberForm { path, line, text: value.to_string(), advice });
                        }
                        values.push((path, value.to_string()));
                    } else if let Some(Frame::Mapping { path, keys, value_of, .. }) = stack.last_mut() {
                        let full = join(path, &value);
                        if style == ScalarStyle::Plain && value == "<<" {
                            return Err(ReadError::MergeKey { path: full, line });
                        }
                        if let Some(first) = keys.insert(value.to_string(), line) {
                            return Err(ReadError::DuplicateKey { path: full, first, second: line });
                        }
                        lines.insert(full, line);
                        *value_of = Some(value.to_string());
                    }
                }
                // An alias as a key: its value follows, under a name paths cannot spell.
                Event::Alias(_) => key_done(&mut stack, is_key),
                Event::MappingStart(..) => {
                    stack.push(Frame::Mapping { path, keys: BTreeMap::new(), value_of: None, is_key });
                }
                Event::SequenceStart(..) => stack.push(Frame::Sequence { path, next: 0, is_key }),
                Event::MappingEnd | Event::SequenceEnd => {
                    let was_key = matches!(
                        stack.pop(),
                        Some(Frame::Mapping { is_key: true, .. } | Frame::Sequence { is_key: true, .. })
                    );
                    key_done(&mut stack, was_key);
                }
                _ => {}
            }
        }
        if !seen_root {
            return Err(ReadError::EmptyDocument);
        }
        Ok(KeyLines { lines, values })
    }

    /// The line of the dotted `key`, when it is written.
    pub fn line(&self, key: &str) -> Option<usize> {
        self.lines.get(key).copied()
    }

    /// The scalar items of the list at dotted `key`, as written, in order.
    pub fn items(&self, key: &str) -> Vec<&str> {
        let prefix = format!("{key}[");
        self.values
            .iter()
            .filter(|(path, _)| {
                path.strip_prefix(&prefix)
                    .and_then(|i| i.strip_suffix(']'))
                    .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The path of the longest value of at least `min` characters that `text` contains: where a
    /// generated string most likely came from.
    pub fn origin(&self, text: &str, min: usize) -> Option<&str> {
        self.values
            .iter()
            .filter(|(_, v)| v.chars().count() >= min && text.contains(v.as_str()))
            .max_by_key(|(_, v)| v.len())
            .map(|(path, _)| path.as_str())
    }
}

/// What is wrong with a plain scalar written in a number form other than decimal, and what to
/// write instead; `None` for anything else (decimal numbers, text). The forms are YAML 1.2's core
/// schema (section 10.3.2: `0x`, `0o`, `.inf`, `.nan`) and YAML 1.1's int and float types
/// (`0b`, `_` separators, base 60 with `:`), which YAML 1.2 reads as text.
pub fn number_form(text: &str) -> Option<String> {
    let (sign, body) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    let radix = |digits: &str, base: u32| i128::from_str_radix(digits, base).ok().map(|v| format!("{sign}{v}"));
    let write = |value: Option<String>| value.unwrap_or_else(|| "it in decimal".to_owned());
    let is_digits = |s: &str, ok: fn(u8) -> bool| !s.is_empty() && s.bytes().all(ok);
    if let Some(d) = body.strip_prefix("0x").filter(|d| is_digits(d, |b| b.is_ascii_hexdigit())) {
        return Some(format!("hexadecimal; environment files write numbers in decimal: write {}", write(radix(d, 16))));
    }
    let ambiguous =
        |what: &str, value: String| format!("{what}; write {value} for the number, or quote it if it is text");
    if let Some(d) = body.strip_prefix("0o").filter(|d| is_digits(d, |b| (b'0'..=b'7').contains(&b))) {
        return Some(ambiguous("octal to YAML 1.2 readers and text to YAML 1.1 ones", write(radix(d, 8))));
    }
    if let Some(d) = body.strip_prefix("0b").filter(|d| is_digits(d, |b| b == b'0' || b == b'1')) {
        return Some(ambiguous("binary to YAML 1.1 readers and text to YAML 1.2 ones", write(radix(d, 2))));
    }
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some("not a finite number; write a number".to_owned());
    }
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !body.starts_with(|c: char| c.is_ascii_digit()) || !numeric(fraction) {
        return None;
    }
    let fraction = if body.contains('.') { format!(".{}", fraction.replace('_', "")) } else { String::new() };
    let parts: Vec<&str> = whole.split(':').collect();
    // YAML 1.1: `[1-9][0-9_]*(:[0-5]?[0-9])+` for an int, any first digit with a fraction.
    let base60_digit = |p: &&str| p.len() == 1 || (p.len() == 2 && p.as_bytes()[0] <= b'5');
    let first_ok = !fraction.is_empty() || !body.starts_with('0');
    if parts.len() > 1
        && first_ok
        && parts.iter().all(|p| numeric(p) && !p.is_empty())
        && parts[1..].iter().all(|p| base60_digit(p) && p.bytes().all(|b| b.is_ascii_digit()))
    {
        let value =
            parts.iter().try_fold(0i128, |acc, p| p.replace('_', "").parse::<i128>().ok().map(|v| acc * 60 + v));
        return Some(ambiguous(
            "a base-60 number to YAML 1.1 readers and text to YAML 1.2 ones",
            write(value.map(|v| format!("{sign}{v}{fraction}"))),
        ));
    }
    if parts.len() == 1 && numeric(whole) && text.contains('_') {
        let value = format!("{sign}{}{fraction}", whole.replace('_', ""));
        return Some(ambiguous("a number to YAML 1.1 readers (`_` separates digits) and text to YAML 1.2 ones", value));
    }
    None
}

/// The document's top node must be a mapping.
fn root(event: &Event<'_>, line: usize) -> Result<(), ReadError> {
    match event {
        Event::Scalar(value, ScalarStyle::Plain, ..) if matches!(&**value, "" | "~" | "null" | "Null" | "NULL") => {
            Err(ReadError::EmptyDocument)
        }
        Event::Scalar(..) | Event::Alias(_) => Err(ReadError::NotAMapping { line, found: "single value" }),
        Event::SequenceStart(..) => Err(ReadError::NotAMapping { line, found: "list" }),
        _ => Ok(()),
    }
}

/// The tag of a node event, as written (`!Ref`, `!!str`).
fn tag_of(event: &Event<'_>) -> Option<String> {
    match event {
        Event::Scalar(_, _, _, Some(tag)) | Event::MappingStart(_, Some(tag)) | Event::SequenceStart(_, Some(tag)) => {
            // The parser resolves `!!` to the core schema's prefix; show it as written.
            let handle = if tag.handle == "tag:yaml.org,2002:" { "!!" } else { tag.handle.as_str() };
            Some(format!("{handle}{}", tag.suffix))
        }
        _ => None,
    }
}

/// What the event parser does not report: characters YAML 1.2 does not allow or reads
/// differently from the typed reader, and directives before the document.
fn refuse_in_text(text: &str) -> Result<(), ReadError> {
    characters(text)?;
    for (n, l) in text.lines().enumerate() {
        let content = l.trim_start_matches('\u{feff}').trim();
        if content.starts_with('%') {
            let directive = content.split_whitespace().next().unwrap_or(content).to_owned();
            return Err(ReadError::Directive { line: n + 1, directive });
        }
        if !content.is_empty() && !content.starts_with('#') {
            // Directives come only before the document.
            break;
        }
    }
    Ok(())
}

/// Every character, with its line: a byte-order mark after the first character, a character
/// outside YAML 1.2's printable set (section 5.1), and the three that YAML 1.1 readers (libyaml,
/// under the typed reading) take as line breaks and YAML 1.2 does not (section 5.4): there a
/// comment could end and a setting begin.
fn characters(text: &str) -> Result<(), ReadError> {
    let mut line = 1;
    for (i, c) in text.char_indices() {
        let code = u32::from(c);
        let printable = matches!(code, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD)
            || code >= 0x1_0000;
        match c {
            '\n' => line += 1,
            '\u{feff}' if i > 0 => return Err(ReadError::ByteOrderMark { line }),
            '\u{85}' | '\u{2028}' | '\u{2029}' => {
                return Err(ReadError::LineBreak { line, code: format!("U+{code:04X}") });
            }
            _ if !printable => return Err(ReadError::Control { line, code: format!("U+{code:04X}") }),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
a: 1
b:
  c: 2
  d: {e: 3, f: [4, {g: 5}]}
items:
  - id: x
    h: 6
  - id: y
# a comment
z: \"quoted: value\"
";

    #[test]
    fn every_key_has_its_line() {
        let k = KeyLines::read(DOC).unwrap();
        let rows = [
            ("a", Some(1)),
            ("b", Some(2)),
            ("b.c", Some(3)),
            ("b.d", Some(4)),
            ("b.d.e", Some(4)),
            ("b.d.f", Some(4)),
            ("b.d.f[1].g", Some(4)),
            ("items", Some(5)),
            ("items[0].id", Some(6)),
            ("items[0].h", Some(7)),
            ("items[1].id", Some(8)),
            ("z", Some(10)),
            ("c", None),
            ("b.e", None),
            ("items[2].id", None),
        ];
        for (key, line) in rows {
            assert_eq!(k.line(key), line, "{key}");
        }
        assert_eq!(k.origin("see quoted: value here", 5), Some("z"));
        assert_eq!(k.origin("an id x", 1), Some("items[0].id"));
        assert_eq!(k.origin("nothing", 5), None);
    }

    /// Each number form other than decimal, refused with what to write; decimal numbers and
    /// text that merely looks alike are left alone.
    #[test]
    fn number_forms_name_what_to_write() {
        let rows: [(&str, Option<&str>); 22] = [
            ("0x10", Some("hexadecimal; environment files write numbers in decimal: write 16")),
            ("-0x1F", Some("write -31")),
            ("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", Some("write it in decimal")),
            ("0o17", Some("octal to YAML 1.2 readers and text to YAML 1.1 ones; write 15 for the number")),
            ("0b101", Some("binary to YAML 1.1 readers and text to YAML 1.2 ones; write 5")),
            ("1_000", Some("`_` separates digits) and text to YAML 1.2 ones; write 1000 for the number")),
            ("-1_000.5", Some("write -1000.5")),
            ("1:30", Some("a base-60 number to YAML 1.1 readers and text to YAML 1.2 ones; write 90")),
            ("10:00:00", Some("write 36000")),
            ("0:30.5", Some("write 30.5")),
            (".inf", Some("not a finite number")),
            ("-.Inf", Some("not a finite number")),
            (".NaN", Some("not a finite number")),
            // Decimal numbers and text.
            ("16", None),
            ("-2.5", None),
            ("1e3", None),
            ("0:30", None),
            ("1:60", None),
            ("0xZZ", None),
            ("orders:read", None),
            ("arn:aws:acm:eu-west-1:333333333333:certificate/x", None),
            ("nan", None),
        ];
        for (text, want) in rows {
            let got = number_form(text);
            match want {
                None => assert_eq!(got, None, "{text}"),
                Some(part) => assert!(got.as_deref().is_some_and(|g| g.contains(part)), "{text}: {got:?}"),
            }
        }
    }

    /// A key twice in one mapping, at any depth and in any style, names its path and both
    /// lines; the same key in different mappings is fine.
    #[test]
    fn duplicates_name_both_lines() {
        let dup = |path: &str, first, second| Err(ReadError::DuplicateKey { path: path.into(), first, second });
        let rows: [(&str, Result<(), ReadError>); 11] = [
            ("a: 1\na: 2\n", dup("a", 1, 2)),
            ("a: 1\nb: 2\n\n\na: 3\n", dup("a", 1, 5)),
            ("b:\n  c: 1\n  d: 2\n  c: 3\n", dup("b.c", 2, 4)),
            ("b: {c: 1, c: 2}\n", dup("b.c", 1, 1)),
            ("l:\n  - id: x\n    id: y\n", dup("l[0].id", 2, 3)),
            ("\"a\": 1\na: 2\n", dup("a", 1, 2)),
            ("b:\n  c: 1\nd:\n  c: 1\n", Ok(())),
            ("l:\n  - id: x\n  - id: x\n", Ok(())),
            // An alias or a mapping as a key: the value after it is its value, not a key.
            ("k: &x a\n*x : 1\nb: 2\n", Ok(())),
            ("? {c: 1}\n: {c: 2}\nc: 3\n", Ok(())),
            ("? [a, a]\n: 1\nz: 2\nz: 3\n", dup("z", 3, 4)),
        ];
        for (text, want) in rows {
            assert_eq!(KeyLines::read(text).map(|_| ()), want, "{text:?}");
        }
    }
}
