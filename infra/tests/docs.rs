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
    let known: BTreeSet<&str> = infra::alarms::KEYS.into_iter().collect();
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

/// What a reader types for a placeholder of the docs' command synopses.
const PLACEHOLDERS: [(&str, &str); 9] = [
    ("<env>", "dev"),
    ("<id>", "dev-test-client"),
    ("<request-id>", "4f1c"),
    ("N", "9000"),
    ("D", "10m"),
    ("T", "invalid_client"),
    ("ID", "4f1c"),
    ("F", "function.zip"),
    ("PLAN", "plan.json"),
];

/// The argument lists a documented `cargo run -- …` stands for: `[x]` taken, each of `a|b` (or
/// `<a|b>`) in turn, placeholders filled; `Err` names a placeholder nobody declared.
fn documented_args(synopsis: &str) -> Result<Vec<Vec<String>>, String> {
    let mut variants = vec![Vec::new()];
    for word in synopsis.split_whitespace() {
        let word = word.trim_start_matches('[').trim_end_matches(']');
        let choices: Vec<String> = match PLACEHOLDERS.iter().find(|(p, _)| *p == word) {
            Some((_, value)) => vec![(*value).to_owned()],
            None if word.starts_with('<') && word.contains('|') => {
                word.trim_matches(['<', '>']).split('|').map(str::to_owned).collect()
            }
            None if word.contains('<') => return Err(format!("no value for `{word}`: add it to PLACEHOLDERS")),
            None => word.split('|').map(str::to_owned).collect(),
        };
        variants = variants
            .into_iter()
            .flat_map(|v| choices.iter().map(move |c| [v.clone(), vec![c.clone()]].concat()))
            .collect();
    }
    Ok(variants)
}

/// Every `cargo run -- …` in README.md, docs/ and the runbooks, fenced or inline, parses with the
/// CLI as it is now: no command, flag or value shape the docs show has gone.
#[test]
fn every_documented_command_parses() {
    use clap::Parser;
    let mut files = vec![root().join("README.md")];
    for dir in ["docs", "docs/runbooks"] {
        let mut pages: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        pages.sort();
        files.extend(pages);
    }
    let (mut checked, mut wrong) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let line = line.replace("\\|", "|");
            for synopsis in line.split("cargo run -- ").skip(1) {
                let end = ["`", " #", " && ", " | "].iter().filter_map(|s| synopsis.find(s)).min();
                let synopsis = &synopsis[..end.unwrap_or(synopsis.len())];
                let at = format!("{}:{}: cargo run -- {synopsis}", file.strip_prefix(root()).unwrap().display(), n + 1);
                match documented_args(synopsis) {
                    Err(e) => wrong.push(format!("{at}: {e}")),
                    Ok(variants) => {
                        for args in variants {
                            checked += 1;
                            if let Err(e) =
                                infra::cli::Cli::try_parse_from(std::iter::once("infra".to_owned()).chain(args))
                            {
                                let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                                wrong.push(format!("{at}: {first}"));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 60, "{checked}");
    assert!(wrong.is_empty(), "documented commands the CLI refuses:\n{}", wrong.join("\n"));
}

#[test]
fn documented_synopses_expand_as_a_reader_reads_them() {
    let args = |s: &str| documented_args(s).unwrap().into_iter().map(|v| v.join(" ")).collect::<Vec<_>>();
    assert_eq!(args("keys <env> status|rotate"), ["keys dev status", "keys dev rotate"]);
    assert_eq!(
        args("synth <env> --stack <bootstrap|service>"),
        ["synth dev --stack bootstrap", "synth dev --stack service"]
    );
    assert_eq!(args("logs <env> [--since D] [--request-id ID]"), ["logs dev --since 10m --request-id 4f1c"]);
    assert_eq!(
        args("clients dev rotate dev-test-client [--overlap 24h]"),
        ["clients dev rotate dev-test-client --overlap 24h"]
    );
    assert!(documented_args("deploy <stage>").unwrap_err().contains("`<stage>`"));
}
