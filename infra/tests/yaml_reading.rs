//! How an environment file's YAML is read: everything the typed reading would drop or
//! reinterpret without a word is refused with the file, the key and the line, and the forms
//! that mean exactly what they say are read. One row per form, decided deliberately.

use std::path::Path;

use infra::env::Environment;

fn dev_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments/dev.yaml")).unwrap()
}

/// The line of the first occurrence of `needle` in dev.yaml (1-based).
fn line_of(needle: &str) -> usize {
    let text = dev_text();
    let at = text.find(needle).unwrap_or_else(|| panic!("dev.yaml no longer contains {needle:?}"));
    text[..at].matches('\n').count() + 1
}

/// An edit of dev.yaml's bytes.
enum Edit {
    Replace(&'static str, &'static str),
    Prepend(&'static [u8]),
    Append(&'static str),
    /// The whole file, re-encoded as UTF-16 little-endian with its byte-order mark.
    Utf16,
    /// A Latin-1 `é` inside the value of a line.
    Latin1(&'static str),
    /// Another file altogether.
    Whole(&'static str),
    /// The whole file, re-encoded as UTF-16 little-endian without a byte-order mark.
    Whole16,
}

fn edited(edit: &Edit) -> Vec<u8> {
    let text = dev_text();
    match edit {
        Edit::Replace(from, to) => {
            assert!(text.contains(from), "dev.yaml no longer contains {from:?}");
            text.replacen(from, to, 1).into_bytes()
        }
        Edit::Prepend(bytes) => [bytes.to_vec(), text.into_bytes()].concat(),
        Edit::Append(more) => format!("{text}{more}").into_bytes(),
        Edit::Utf16 => [vec![0xFF, 0xFE], text.encode_utf16().flat_map(u16::to_le_bytes).collect()].concat(),
        Edit::Whole(text) => text.as_bytes().to_vec(),
        Edit::Whole16 => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Edit::Latin1(after) => {
            let at = text.find(after).unwrap() + after.len();
            [text.as_bytes()[..at].to_vec(), vec![0xE9], text.as_bytes()[at..].to_vec()].concat()
        }
    }
}

/// Loads the edited file from a folder of its own.
fn load(edit: &Edit) -> Result<Environment, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dev.yaml");
    std::fs::write(&path, edited(edit)).unwrap();
    Environment::load(&path).map_err(|e| e.to_string().replace(&path.display().to_string(), "dev.yaml"))
}

/// (what, the edit, `None` when read as written, else the parts of the one-line message).
type Row = (&'static str, Edit, Option<Vec<String>>);

/// Rows of YAML tags.
fn tag_rows() -> Vec<Row> {
    let audience = line_of("audience:");
    let errors = line_of("lambda_errors:");
    vec![
        // Tags: a CloudFormation function pasted in, and the core schema's own.
        (
            "!Ref",
            Edit::Replace("audience: https://api.dev.example.com", "audience: !Ref TokenAudience"),
            Some(vec![format!("token.audience: the YAML tag `!Ref` at line {audience} is not read")]),
        ),
        (
            "!Sub",
            Edit::Replace("audience: https://api.dev.example.com", "audience: !Sub \"https://${Domain}\""),
            Some(vec![format!("token.audience: the YAML tag `!Sub` at line {audience}")]),
        ),
        (
            "!GetAtt in flow style",
            Edit::Replace("lambda_errors: {threshold: 20,", "lambda_errors: {threshold: !GetAtt X.Y,"),
            Some(vec![format!("monitoring.alarms.lambda_errors.threshold: the YAML tag `!GetAtt` at line {errors}")]),
        ),
        (
            "!!str",
            Edit::Replace("audience: https://api.dev.example.com", "audience: !!str https://api.dev.example.com"),
            Some(vec![format!("token.audience: the YAML tag `!!str` at line {audience}"), "quote it".into()]),
        ),
        (
            "!!int",
            Edit::Replace("ttl_seconds: 3600", "ttl_seconds: !!int 3600"),
            Some(vec!["token.ttl_seconds: the YAML tag `!!int`".into()]),
        ),
        (
            "!!binary",
            Edit::Replace("team: identity", "team: !!binary aWRlbnRpdHk="),
            Some(vec!["tags.team: the YAML tag `!!binary`".into()]),
        ),
        (
            "a tag on a mapping",
            Edit::Replace("tags:\n  team: identity", "tags: !!map\n  team: identity"),
            Some(vec!["tags: the YAML tag `!!map`".into()]),
        ),
        (
            "a tag on a sequence",
            Edit::Replace("allowed_scopes: [orders:read,", "allowed_scopes: !Split [orders:read,"),
            Some(vec!["token.clients[0].allowed_scopes: the YAML tag `!Split`".into()]),
        ),
    ]
}

/// Rows of documents, directives and files that hold no settings.
fn document_rows() -> Vec<Row> {
    let end = dev_text().lines().count();
    vec![
        // Documents and directives.
        ("a leading ---", Edit::Prepend(b"---\n"), None),
        ("a closing ...", Edit::Append("...\n"), None),
        (
            "a second document",
            Edit::Append("---\naccount_id: \"999999999999\"\n"),
            Some(vec![format!("a second YAML document starts at line {}", end + 1)]),
        ),
        ("an empty second document", Edit::Append("---\n"), Some(vec!["a second YAML document".into()])),
        ("%YAML", Edit::Prepend(b"%YAML 1.2\n---\n"), Some(vec!["line 1: the directive `%YAML` is not read".into()])),
        ("%TAG", Edit::Prepend(b"%TAG ! tag:example.com,2000:\n---\n"), Some(vec!["the directive `%TAG`".into()])),
        ("an empty file", Edit::Whole(""), Some(vec!["the file holds no settings".into()])),
        ("only comments", Edit::Whole("# dev\n\n# more\n"), Some(vec!["the file holds no settings".into()])),
        ("an empty document", Edit::Whole("---\n...\n"), Some(vec!["the file holds no settings".into()])),
        ("a null document", Edit::Whole("~\n"), Some(vec!["the file holds no settings".into()])),
        ("a list", Edit::Whole("- account_id: 1\n"), Some(vec!["line 1: the file is a list".into()])),
        ("a single value", Edit::Whole("dev\n"), Some(vec!["line 1: the file is a single value".into()])),
    ]
}

/// Rows of encodings and byte-order marks.
fn encoding_rows() -> Vec<Row> {
    vec![
        // Encodings and byte-order marks.
        ("a UTF-8 byte-order mark at the start", Edit::Prepend("\u{feff}".as_bytes()), None),
        (
            "a byte-order mark inside",
            Edit::Replace("team: identity", "team: iden\u{feff}tity"),
            Some(vec![format!("line {}: a byte-order mark (U+FEFF) inside the file", line_of("team: identity"))]),
        ),
        ("UTF-16", Edit::Utf16, Some(vec!["the file is UTF-16".into(), "save it as UTF-8".into()])),
        (
            "Latin-1",
            Edit::Latin1("team: identity"),
            Some(vec![format!("line {}: the file is not UTF-8 text", line_of("team: identity"))]),
        ),
    ]
}

/// Rows of characters that YAML 1.2 does not allow or that YAML 1.1 reads as line breaks.
fn character_rows() -> Vec<Row> {
    vec![
        // Characters YAML 1.2 does not allow, or YAML 1.1 readers break lines at: a setting hidden
        // behind a comment.
        (
            "NEL ends a comment for YAML 1.1",
            Edit::Replace("  log_level: debug", "  log_level: debug # note\u{85}  reserved_concurrency: 5"),
            Some(vec![format!("line {}: U+0085 is a line break to YAML 1.1 readers", line_of("  log_level: debug"))]),
        ),
        (
            "LINE SEPARATOR",
            Edit::Replace("team: identity", "team: identity\u{2028}owner: bob"),
            Some(vec!["U+2028 is a line break".into()]),
        ),
        (
            "PARAGRAPH SEPARATOR",
            Edit::Replace("team: identity", "team: identity\u{2029}owner: bob"),
            Some(vec!["U+2029".into()]),
        ),
        (
            "a control character",
            Edit::Replace("team: identity", "team: iden\u{1}tity"),
            Some(vec![format!("line {}: the control character U+0001 is not allowed", line_of("team: identity"))]),
        ),
        ("DEL", Edit::Replace("team: identity", "team: identity\u{7f}"), Some(vec!["U+007F".into()])),
        (
            "UTF-16 without a byte-order mark",
            Edit::Whole16,
            Some(vec!["line 1: the control character U+0000".into(), "UTF-16 file without a byte-order mark".into()]),
        ),
        (
            "a tab before a comment is white space",
            Edit::Replace("team: identity", "team: identity\t# the owners"),
            None,
        ),
    ]
}

/// Rows of empty values and nulls.
fn empty_value_rows() -> Vec<Row> {
    let api = line_of("api:\n");
    vec![
        // Empty values: a section whose lines lost their indentation, nulls written out.
        (
            "an unindented section",
            Edit::Replace("api:\n  stage_name: v1", "api:\nstage_name: v1"),
            Some(vec![format!("api: the key at line {api} has no value")]),
        ),
        (
            "an empty optional section",
            Edit::Replace("api:\n", "api:\n  custom_domain:\n"),
            Some(vec![format!("api.custom_domain: the key at line {} has no value", api + 1)]),
        ),
        ("~", Edit::Replace("api:\n", "api:\n  waf: ~\n"), Some(vec!["api.waf: the key".into()])),
        (
            "null",
            Edit::Replace("emails: []", "emails: null"),
            Some(vec!["monitoring.notifications.critical.emails: the key".into()]),
        ),
        ("an empty list is a value", Edit::Replace("emails: []", "emails: []"), None),
        ("quoted null is text", Edit::Replace("team: identity", "team: \"null\""), None),
    ]
}

/// Rows of number forms other than decimal.
fn number_rows() -> Vec<Row> {
    let errors = line_of("lambda_errors:");
    vec![
        // Number forms other than decimal, in number fields and in text.
        (
            "hexadecimal in a decimal field",
            Edit::Replace("lambda_errors: {threshold: 20,", "lambda_errors: {threshold: 0x10,"),
            Some(vec![format!(
                "monitoring.alarms.lambda_errors.threshold: `0x10` at line {errors} is hexadecimal; environment files write numbers in decimal: write 16"
            )]),
        ),
        (
            "hexadecimal in a whole-number field",
            Edit::Replace("memory_mb: 256", "memory_mb: 0x100"),
            Some(vec![format!("function.memory_mb: `0x100` at line {} is hexadecimal", line_of("memory_mb:"))]),
        ),
        (
            "octal 0o",
            Edit::Replace("memory_mb: 256", "memory_mb: 0o400"),
            Some(vec!["`0o400`".into(), "octal to YAML 1.2 readers and text to YAML 1.1 ones; write 256".into()]),
        ),
        (
            "digit separators",
            Edit::Replace("lambda_errors: {threshold: 20,", "lambda_errors: {threshold: 2_0,"),
            Some(vec!["`2_0`".into(), "write 20 for the number".into()]),
        ),
        (
            "base 60",
            Edit::Replace("team: identity", "team: 1:30"),
            Some(vec!["tags.team: `1:30`".into(), "write 90 for the number, or quote it if it is text".into()]),
        ),
        (
            "infinity",
            Edit::Replace("lambda_errors: {threshold: 20,", "lambda_errors: {threshold: .inf,"),
            Some(vec!["`.inf`".into(), "is not a finite number".into()]),
        ),
        ("quoted hexadecimal is text", Edit::Replace("team: identity", "team: \"0x10\""), None),
        (
            "an exponent in a decimal field",
            Edit::Replace("lambda_errors: {threshold: 20,", "lambda_errors: {threshold: 2e1,"),
            None,
        ),
    ]
}

/// Rows of merge keys and anchors.
fn merge_rows() -> Vec<Row> {
    let throttles = line_of("lambda_throttles:");
    vec![
        // Merge keys and anchors.
        (
            "a merge key",
            Edit::Replace("lambda_throttles: {threshold: 1,", "lambda_throttles: {<<: *w, threshold: 1,"),
            Some(vec![format!("monitoring.alarms.lambda_throttles.<<: the merge key `<<` at line {throttles}")]),
        ),
        (
            "an anchor and an alias",
            Edit::Replace(
                "severity: warning}\n    lambda_throttles:",
                "severity: warning}\n    lambda_throttles_copy: &t {a: 1}\n    lambda_throttles:",
            ),
            Some(vec!["unknown field `lambda_throttles_copy`".into()]),
        ),
    ]
}

#[test]
fn every_form_is_read_or_refused_deliberately() {
    let rows = [
        tag_rows(),
        document_rows(),
        encoding_rows(),
        character_rows(),
        empty_value_rows(),
        number_rows(),
        merge_rows(),
    ];
    for (what, edit, want) in rows.into_iter().flatten() {
        match (load(&edit), want) {
            (Ok(_), None) => {}
            (Err(e), Some(parts)) => {
                assert!(e.starts_with("dev.yaml: "), "{what}: {e}");
                assert_eq!(e.lines().count(), 1, "{what}: {e}");
                for p in parts {
                    assert!(e.contains(&p), "{what}:\n  got:  {e}\n  want: {p}");
                }
            }
            (got, want) => panic!("{what}: got {:?}, want {want:?}", got.map(|_| ())),
        }
    }
}

/// An alias reads as the value it repeats: the one YAML shorthand that means exactly what it
/// says.
#[test]
fn aliases_repeat_the_anchored_value() {
    let text = dev_text()
        .replacen("lambda_errors: {threshold: 20,", "lambda_errors: &errors {threshold: 20,", 1)
        .replacen("critical:\n      emails: []", "critical:\n      emails: &team [identity-dev@example.com]", 1)
        .replacen(
            "budget:\n    monthly_limit_usd: 50\n    alert_at_percent: 80\n    emails: [identity-dev@example.com]",
            "budget:\n    monthly_limit_usd: 50\n    alert_at_percent: 80\n    emails: *team",
            1,
        );
    assert!(text.contains("emails: *team"), "dev.yaml's budget changed");
    let env = Environment::parse(&text, "dev", Path::new("dev.yaml")).unwrap();
    assert_eq!(env.monitoring.budget.emails.len(), 1);
    assert_eq!(env.monitoring.notifications.critical.emails.len(), 1);
}
