//! The environment reference (docs/environments.md) cannot drift from the files: every key the
//! shipped environment files use is documented, and the alarm list is the code's.

use std::collections::BTreeSet;
use std::path::Path;

use infra::env::Environment;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Key paths of a YAML document: lists as `[]`, alarm names as `<alarm>`, tags as a map.
fn paths(v: &serde_norway::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_norway::Value::Mapping(m) => {
            for (k, child) in m {
                let k = k.as_str().unwrap_or_default();
                let key = if prefix == "monitoring.alarms" { "<alarm>" } else { k };
                let path = if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
                if path == "tags"
                    || !matches!(child, serde_norway::Value::Mapping(_) | serde_norway::Value::Sequence(_))
                {
                    out.insert(path);
                } else if let serde_norway::Value::Sequence(items) = child {
                    if items.iter().any(|i| matches!(i, serde_norway::Value::Mapping(_))) {
                        for i in items {
                            paths(i, &format!("{path}[]"), out);
                        }
                    } else {
                        out.insert(path);
                    }
                } else {
                    paths(child, &path, out);
                }
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

fn documented() -> String {
    std::fs::read_to_string(root().join("docs/environments.md")).unwrap()
}

#[test]
fn every_key_in_the_environment_files_is_documented() {
    let doc = documented();
    let mut used = BTreeSet::new();
    for name in Environment::names(&root().join("environments")).unwrap() {
        let text = std::fs::read_to_string(root().join(format!("environments/{name}.yaml"))).unwrap();
        paths(&serde_norway::from_str(&text).unwrap(), "", &mut used);
    }
    assert!(used.len() > 50, "{used:?}");
    let missing: Vec<&String> = used.iter().filter(|p| !doc.contains(&format!("| `{p}` |"))).collect();
    assert!(missing.is_empty(), "docs/environments.md does not describe {missing:?}");
}

#[test]
fn documented_alarms_are_the_codes() {
    let doc = documented();
    let table = doc.split("## Alarms").nth(1).unwrap();
    let listed: BTreeSet<&str> =
        table.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split('`').next()).collect();
    let env = Environment::load_named(&root().join("environments"), "prod").unwrap();
    let known: BTreeSet<&str> = env.monitoring.alarms.all().iter().map(|(k, _)| *k).collect();
    assert_eq!(listed, known);
}

/// The exit codes the README, docs/deploying.md and `--help` give for `diff`, `drift` and
/// `deploy --plan` are the code's: 0 nothing, 1 error, 2 changes (Terraform's
/// `-detailed-exitcode`).
#[test]
fn exit_codes_agree_everywhere() {
    use infra::commands::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
    let flat = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let readme = flat(&std::fs::read_to_string(root().join("README.md")).unwrap());
    let deploying = flat(&std::fs::read_to_string(root().join("docs/deploying.md")).unwrap());
    let help = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_infra")).args(args).output().unwrap();
        flat(&String::from_utf8_lossy(&o.stdout))
    };
    let top = help(&["--help"]);
    let plan = help(&["deploy", "--help"]);
    let wants = [
        (&readme, format!("`{EXIT_OK}` success or nothing to change; `{EXIT_ERROR}` any error")),
        (
            &readme,
            format!(
                "`{EXIT_CHANGES}` changes pending (`diff`, `deploy --plan`) or drift found (`drift`), never an error"
            ),
        ),
        (&readme, format!("(exit {EXIT_OK}: nothing to change, {EXIT_CHANGES}: changes, {EXIT_ERROR}: error)")),
        (&deploying, format!("exit {EXIT_OK} nothing to change, {EXIT_CHANGES} changes, {EXIT_ERROR} error")),
        (&deploying, format!("(exit {EXIT_CHANGES} when drifted, {EXIT_ERROR} on any error)")),
        (&top, format!("(exit {EXIT_OK}: nothing, {EXIT_CHANGES}: changes, {EXIT_ERROR}: error)")),
        (&top, format!("(exit {EXIT_OK}: in sync, {EXIT_CHANGES}: drifted, {EXIT_ERROR}: error)")),
        (&plan, format!("(exit {EXIT_OK}: nothing to change, {EXIT_CHANGES}: changes, {EXIT_ERROR}: error)")),
    ];
    for (text, want) in wants {
        assert!(text.contains(&want), "missing {want:?}");
    }
}
