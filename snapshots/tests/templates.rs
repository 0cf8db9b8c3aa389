//! One snapshot per environment file and stack, stored in this folder (`snapshots/`), so a PR
//! shows the template diff. A new environment file gets its snapshots with no test edits.

use std::path::Path;

use infra::env::Environment;

#[test]
fn templates_per_environment() {
    insta::glob!("../../environments", "*.yaml", |path| {
        let env = Environment::load(path).unwrap();
        for stack in infra::stacks::all(&env).unwrap() {
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path("..");
            settings.set_prepend_module_to_snapshot(false);
            settings.set_input_file(path);
            settings.bind(|| {
                insta::assert_json_snapshot!(stack.id.as_str(), stack.template.to_json());
            });
            // The value the rules read and the size LIM001 counts are what deploy sends.
            let sent = stack.template.to_json_string();
            assert_eq!(stack.template.to_json(), serde_json::from_str::<serde_json::Value>(&sent).unwrap());
            assert_eq!(stack.template.json_len(), sent.len());
        }
    });
}

/// Every stored per-environment snapshot (`<stack>@<env>.yaml.snap`) belongs to an environment
/// file that still exists. (`cargo insta test --unreferenced=reject` checks all of them.)
#[test]
fn no_snapshot_outlives_its_environment() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let envs = Environment::names(&here.join("../environments")).unwrap();
    for entry in std::fs::read_dir(here).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".snap") else { continue };
        let Some((_, env)) = stem.rsplit_once('@') else { continue };
        let env = env.trim_end_matches(".yaml");
        assert!(envs.iter().any(|e| e == env), "{name} belongs to no environment file; delete it");
    }
}

/// The committed runbooks are what the alarm catalogue and environment files give today, so a
/// threshold change shows in the runbook diff as well as the template's.
#[test]
fn committed_runbooks_are_current() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = here.join("../environments");
    for name in Environment::names(&dir).unwrap() {
        let env = Environment::load_named(&dir, &name).unwrap();
        let want = infra::runbook::render(&env).unwrap();
        let path = here.join(format!("../docs/runbooks/{name}.md"));
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(got == want, "{} is out of date: run `cargo run -- docs` and commit it", path.display());
    }
}
