//! Where each key of a YAML document is written: one pass over the document's events
//! (saphyr-parser, a YAML 1.2 event parser with positions) records the line of every key by its
//! dotted path (`monitoring.alarms.lambda_errors.threshold`; sequence items by index,
//! `token.clients.0.id`), in block and flow style alike, and refuses a key written twice in one
//! mapping with both lines (serde keeps the last value of a map silently).

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser};

/// A key written twice in one mapping.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: the key is given twice, at line {first} and at line {second}")]
pub struct DuplicateKey {
    pub path: String,
    pub first: usize,
    pub second: usize,
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

impl KeyLines {
    /// Reads `text`. A syntax error ends the reading quietly (the typed read reports it, naming
    /// the key it was reading); the keys before it are kept.
    pub fn read(text: &str) -> Result<Self, DuplicateKey> {
        let mut lines = BTreeMap::new();
        let mut values = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            let line = span.start.line();
            // Where a new node sits: the path of the value it is, or `None` for a key.
            let slot = match stack.last_mut() {
                None => Some(String::new()),
                Some(Frame::Sequence { path, next, .. }) => {
                    *next += 1;
                    Some(join(path, &(*next - 1).to_string()))
                }
                Some(Frame::Mapping { path, value_of, .. }) => value_of.take().map(|k| join(path, &k)),
            };
            let is_key = slot.is_none();
            let path = slot.clone().unwrap_or_else(|| match stack.last() {
                Some(Frame::Mapping { path, .. }) => join(path, COMPLEX_KEY),
                _ => COMPLEX_KEY.to_owned(),
            });
            match event {
                Event::Scalar(value, ..) => {
                    if !is_key {
                        values.push((path, value.to_string()));
                    } else if let Some(Frame::Mapping { path, keys, value_of, .. }) = stack.last_mut() {
                        let full = join(path, &value);
                        if let Some(first) = keys.insert(value.to_string(), line) {
                            return Err(DuplicateKey { path: full, first, second: line });
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
        Ok(KeyLines { lines, values })
    }

    /// The line of the dotted `key`, when it is written.
    pub fn line(&self, key: &str) -> Option<usize> {
        self.lines.get(key).copied()
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
            ("b.d.f.1.g", Some(4)),
            ("items", Some(5)),
            ("items.0.id", Some(6)),
            ("items.0.h", Some(7)),
            ("items.1.id", Some(8)),
            ("z", Some(10)),
            ("c", None),
            ("b.e", None),
            ("items.2.id", None),
        ];
        for (key, line) in rows {
            assert_eq!(k.line(key), line, "{key}");
        }
        assert_eq!(k.origin("see quoted: value here", 5), Some("z"));
        assert_eq!(k.origin("an id x", 1), Some("items.0.id"));
        assert_eq!(k.origin("nothing", 5), None);
    }

    /// A key twice in one mapping, at any depth and in any style, names its path and both
    /// lines; the same key in different mappings is fine.
    #[test]
    fn duplicates_name_both_lines() {
        let dup = |path: &str, first, second| Err(DuplicateKey { path: path.into(), first, second });
        let rows: [(&str, Result<(), DuplicateKey>); 11] = [
            ("a: 1\na: 2\n", dup("a", 1, 2)),
            ("a: 1\nb: 2\n\n\na: 3\n", dup("a", 1, 5)),
            ("b:\n  c: 1\n  d: 2\n  c: 3\n", dup("b.c", 2, 4)),
            ("b: {c: 1, c: 2}\n", dup("b.c", 1, 1)),
            ("l:\n  - id: x\n    id: y\n", dup("l.0.id", 2, 3)),
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
