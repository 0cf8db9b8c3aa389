//! A named resource is never replaced under its own name. CloudFormation replaces a resource
//! when one of its `createOnlyProperties` changes (the registry schemas, kept in
//! `infra/data/cfn-schemas.json`), creating the new one before deleting the old; with a fixed
//! name the create fails ("CloudFormation cannot update a stack when a custom-named resource
//! requires replacing", CloudFormation User Guide, "Update behaviors of stack resources"), and
//! the whole update rolls back.
//!
//! The check changes every value of every shipped environment file, one at a time, and holds
//! the templates before and after: wherever a change reaches a create-only property of a
//! resource whose name stays the same, or moves a name to a new logical id, it fails naming
//! the key and the property.

use std::path::{Path, PathBuf};

use infra::cfn::names::fixed_name;
use infra::env::Environment;
use infra::stacks;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;

fn environments() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments")
}

/// Every stack of `env` as (stack id, template JSON).
fn templates(env: &Environment) -> Vec<(&'static str, Json)> {
    stacks::all(env).unwrap().into_iter().map(|s| (s.id.as_str(), s.template.to_json())).collect()
}

/// Other values a scalar could take: tried in order until the file still loads.
fn variants(v: &Yaml) -> Vec<Yaml> {
    match v {
        Yaml::Bool(b) => vec![Yaml::Bool(!b)],
        Yaml::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => {
                [u + 1, u.saturating_sub(1), u * 2, u / 2].into_iter().map(|x| Yaml::Number(x.into())).collect()
            }
            (None, Some(f)) => [f + 1.0, f - 1.0].into_iter().map(|x| Yaml::Number(x.into())).collect(),
            _ => vec![],
        },
        Yaml::String(s) if s.contains('@') => vec![Yaml::String(format!("z{s}"))],
        Yaml::String(s) => {
            let mut out = vec![Yaml::String(format!("{s}x")), Yaml::String(format!("x{s}"))];
            if let Some((head, _)) = s.rsplit_once('/') {
                out.push(Yaml::String(format!("{head}/x")));
            }
            out
        }
        _ => vec![],
    }
}

/// Every (dotted key, changed document) one edit away from `doc`: each scalar replaced, and
/// each list of two or more without its last item.
fn edits(doc: &Yaml, key: &str, out: &mut Vec<(String, Vec<Yaml>)>, rebuild: &dyn Fn(Yaml) -> Yaml) {
    match doc {
        Yaml::Mapping(m) => {
            for (k, v) in m {
                let name = k.as_str().unwrap_or_default().to_owned();
                let dotted = if key.is_empty() { name.clone() } else { format!("{key}.{name}") };
                let (m, k) = (m.clone(), k.clone());
                edits(v, &dotted, out, &move |new| {
                    let mut m = m.clone();
                    m.insert(k.clone(), new);
                    rebuild(Yaml::Mapping(m))
                });
            }
        }
        Yaml::Sequence(items) => {
            if items.len() > 1 {
                out.push((
                    format!("{key} (one item fewer)"),
                    vec![rebuild(Yaml::Sequence(items[..items.len() - 1].to_vec()))],
                ));
            }
            for (i, v) in items.iter().enumerate() {
                let items = items.clone();
                edits(v, &format!("{key}[{i}]"), out, &move |new| {
                    let mut items = items.clone();
                    items[i] = new;
                    rebuild(Yaml::Sequence(items))
                });
            }
        }
        Yaml::Tagged(_) | Yaml::Null => {}
        scalar => out.push((key.to_owned(), variants(scalar).into_iter().map(rebuild).collect())),
    }
}

/// The create-only property pointers of `ty` other than its name (`/NotificationsWithSubscribers`).
fn create_only(ty: &str, name_pointer: &str) -> Vec<String> {
    static SCHEMAS: std::sync::LazyLock<Json> =
        std::sync::LazyLock::new(|| serde_json::from_str(include_str!("../data/cfn-schemas.json")).unwrap());
    SCHEMAS["types"]
        .get(ty)
        .and_then(|s| s.get("createOnlyProperties"))
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .filter_map(|p| p.strip_prefix("/properties"))
        .filter(|p| *p != name_pointer)
        .map(str::to_owned)
        .collect()
}

/// What replaces a named resource under its own name between `before` and `after`.
fn replaced_under_own_name(before: &[(&str, Json)], after: &[(&str, Json)]) -> Vec<String> {
    let mut out = Vec::new();
    for ((stack, b), (_, a)) in before.iter().zip(after) {
        let (Some(b), Some(a)) = (b["Resources"].as_object(), a["Resources"].as_object()) else { continue };
        for (id, old) in b {
            let Some((ty, name)) = fixed_name(old) else { continue };
            match a.get(id) {
                Some(new) if fixed_name(new).map(|(_, n)| n) == Some(name.clone()) => {
                    for p in create_only(ty.r#type, ty.name_pointer) {
                        if old["Properties"].pointer(&p) != new["Properties"].pointer(&p) {
                            out.push(format!("{stack}: {id} ({}) `{name}`: create-only {p} changes", ty.r#type));
                        }
                    }
                }
                _ => {
                    // The logical id went: a resource taking the same name under another id is
                    // created before this one is deleted.
                    if let Some((other, _)) = a.iter().find(|(i, r)| {
                        *i != id && fixed_name(r).map(|(t, n)| (t.r#type, n)) == Some((ty.r#type, name.clone()))
                    }) {
                        out.push(format!("{stack}: {id} `{name}` moves to {other}"));
                    }
                }
            }
        }
    }
    out
}

/// Every shipped environment, every value changed: no named resource is replaced in place.
#[test]
fn no_environment_change_replaces_a_named_resource_under_its_own_name() {
    let dir = environments();
    let mut problems = Vec::new();
    let mut tried = 0;
    for name in Environment::names(&dir).unwrap() {
        let path = dir.join(format!("{name}.yaml"));
        let base = Environment::load(&path).unwrap();
        let before = templates(&base);
        let doc: Yaml = serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut all = Vec::new();
        edits(&doc, "", &mut all, &|d| d);
        for (key, candidates) in all {
            let Some(env) = candidates
                .iter()
                .find_map(|d| Environment::parse(&serde_norway::to_string(d).unwrap(), &name, &path).ok())
            else {
                continue;
            };
            tried += 1;
            for p in replaced_under_own_name(&before, &templates(&env)) {
                problems.push(format!("{name}.yaml {key}: {p}"));
            }
        }
    }
    assert!(tried > 150, "only {tried} edits loaded: the edits no longer reach the files");
    assert!(problems.is_empty(), "replacements under a fixed name:\n{}", problems.join("\n"));
}

/// The check itself: a budget whose notifications change under the same name is reported, and
/// one whose name moves with them is not; a name taken over by a new logical id is reported.
#[test]
fn the_check_sees_a_create_only_change_under_a_fixed_name() {
    let budget = |name: &str, email: &str| {
        serde_json::json!({"Resources": {"Budget": {"Type": "AWS::Budgets::Budget", "Properties": {
            "Budget": {"BudgetName": name},
            "NotificationsWithSubscribers": [{"Subscribers": [{"Address": email}]}]
        }}}})
    };
    let rows = [
        (budget("x-monthly", "a@example.com"), budget("x-monthly", "b@example.com"), 1),
        (budget("x-monthly-1", "a@example.com"), budget("x-monthly-2", "b@example.com"), 0),
        (budget("x-monthly", "a@example.com"), budget("x-monthly", "a@example.com"), 0),
    ];
    for (before, after, expected) in rows {
        let found = replaced_under_own_name(&[("monitoring", before.clone())], &[("monitoring", after.clone())]);
        assert_eq!(found.len(), expected, "{before} -> {after}: {found:?}");
    }
    let topic = |id: &str| serde_json::json!({"Resources": {id: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}}});
    let found = replaced_under_own_name(&[("m", topic("A"))], &[("m", topic("B"))]);
    assert_eq!(found, ["m: A `t` moves to B"]);
}
