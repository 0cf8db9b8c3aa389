//! What `deploy` refuses, and why: a change set that replaces a signing key or loses data that
//! cannot be made again, signing settings KMS cannot apply to deployed keys, a deploy outside
//! the change window. Each returns the reason as one line, or nothing.

use anyhow::bail;
use token_function::key_pairs::SigningMode;

use super::change_set;
use super::stack::Plan;
use crate::env::Environment;
use crate::stacks::outputs::ServiceOutputs;
use crate::stacks::service;

/// Why a plan must not run: it replaces a signing key (unless allowed), or loses the client
/// registry, the signing key pairs or the key they are encrypted under.
pub fn guard(plan: &Plan, replace_keys: bool) -> Option<String> {
    use change_set::Guarded;
    let keys: Vec<&str> = service::KEY_SLOT_IDS.iter().map(|(_, id)| *id).collect();
    let kept = [service::REGISTRY_ID, service::KEY_PAIRS_ID, service::KEY_ENCRYPTION_KEY_ID];
    match change_set::guarded(&plan.changes, &keys, &kept)? {
        Guarded::SigningKeyReplaced(_) if replace_keys => None,
        Guarded::SigningKeyReplaced(id) => Some(format!(
            "this change replaces the signing key {id}: every token it signed stops verifying at once. Rotate with `keys rotate` instead, or pass --replace-signing-keys if that is intended"
        )),
        Guarded::KeySpecChanged(id) => Some(format!(
            "this change gives the signing key {id} another key spec (signing_key.algorithm), which KMS cannot change on an existing key; keep the deployed algorithm (a new environment can start with the other one)"
        )),
        Guarded::DataLost(id) => Some(format!(
            "this change replaces or removes {id}, whose contents cannot be made again (the client registry: every registered client; the signing key pairs or the key they are encrypted under: every signing key); keep its name and properties"
        )),
    }
}

/// Why the file's signing settings cannot be deployed over `outputs` (the deployed service
/// stack's): in kms mode a new algorithm needs another key spec, which KMS cannot give an existing
/// key; a change of mode signs with the other mode's key at once, so every token signed before
/// stops verifying (allowed with `--replace-signing-keys`); envelope mode needs the key pairs,
/// which a stack from before signing modes does not have yet.
pub fn signing_change(env: &Environment, outputs: &ServiceOutputs, replace_keys: bool) -> Option<String> {
    let spec = service::kms_key_spec(env.signing_key.algorithm).as_str();
    if let Some(deployed_spec) = outputs.key_spec.as_deref().filter(|d| *d != spec)
        && env.signing_key.mode == SigningMode::Kms
    {
        return Some(format!(
            "{}'s kms-mode signing keys are {deployed_spec} and signing_key.algorithm {} needs {spec}, but KMS cannot change a key's spec: keep the deployed algorithm, or use signing_key.mode: envelope, whose key pairs follow signing_key.algorithm from the next `keys rotate`",
            env.service_stack_name(),
            env.signing_key.algorithm.name()
        ));
    }
    let (deployed, wanted) = (outputs.signing_mode.as_str(), env.signing_key.mode.as_str());
    if deployed == wanted {
        return None;
    }
    if env.signing_key.mode == SigningMode::Envelope && outputs.key_pairs.is_none() {
        return Some(format!(
            "{} has no key pairs yet (it was deployed by an older infra): deploy it once with signing_key.mode: kms (which creates them), then switch",
            env.service_stack_name()
        ));
    }
    (!replace_keys).then(|| format!(
        "{} signs in {deployed} mode and the file says signing_key.mode: {wanted}: the change signs with the other mode's key at once, and every token signed before stops verifying. Pass --replace-signing-keys if that is intended (docs/operations.md, \"Changing the signing mode\")",
        env.service_stack_name()
    ))
}

/// Refuses `deploy --hotswap` and `watch` where the environment file does not set
/// `deploy.allow_hotswap: true`: checked before any AWS call, since a hotswap changes the
/// function outside CloudFormation (its change sets, rollback triggers and canary).
pub fn allows_hotswap(env: &Environment, command: &str) -> anyhow::Result<()> {
    if !env.deploy.allow_hotswap {
        bail!(
            "{}: `{command}` is refused: this environment changes only through CloudFormation (nothing was called); deploy with `cargo run -- deploy {}`, or set deploy.allow_hotswap: true in an environment whose stacks may drift",
            env.locate("deploy.allow_hotswap"),
            crate::session::target(&env.name)
        );
    }
    Ok(())
}

/// Refuses a deploy outside the environment's change window.
pub fn in_change_window(env: &Environment, now: u64) -> anyhow::Result<()> {
    if let Some(w) = &env.deploy.change_window
        && !w.contains(now)
    {
        bail!(
            "{} is outside its change window ({:?} {:02}:00-{:02}:00 UTC); wait, or pass --ignore-change-window if this is an emergency",
            env.name,
            w.days,
            w.start_hour_utc.get(),
            w.end_hour_utc.get()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacks::outputs::service as output;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Hotswaps are refused, naming the file's key, wherever the file does not allow them: the
    /// shipped staging and prod, and dev with the key turned off.
    #[test]
    fn hotswaps_are_refused_unless_the_file_allows_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        for (name, allowed) in [("dev", true), ("staging", false), ("prod", false)] {
            let mut env = Environment::load_named(&dir, name).unwrap();
            assert_eq!(allows_hotswap(&env, "watch").is_ok(), allowed, "{name}");
            env.deploy.allow_hotswap = !allowed;
            let refused = allows_hotswap(&env, "watch").err().map(|e| e.to_string());
            assert_eq!(refused.is_some(), allowed, "{name}");
        }
        let prod = Environment::load_named(&dir, "prod").unwrap();
        let e = allows_hotswap(&prod, "deploy prod --hotswap").unwrap_err().to_string();
        assert!(
            e.contains("prod.yaml:deploy.allow_hotswap (line ") && e.contains("`deploy prod --hotswap` is refused"),
            "{e}"
        );
    }
    use token_function::jwt::Algorithm;

    /// Changing the signing mode of a deployed stack is refused unless asked for; a stack from
    /// before modes counts as `kms`, and cannot go to envelope mode before it has key pairs.
    #[test]
    fn mode_changes_need_replace_signing_keys() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        let mut env = Environment::load_named(&dir, "dev").unwrap();
        let deployed = |mode: Option<&str>, pairs: bool| -> ServiceOutputs {
            let mut o: BTreeMap<String, String> =
                mode.map(|m| (output::SIGNING_MODE.to_owned(), m.to_owned())).into_iter().collect();
            if pairs {
                o.insert(output::KEY_PAIRS_SECRET.to_owned(), "arn".to_owned());
                o.insert(output::KEY_ENCRYPTION_KEY.to_owned(), "arn".to_owned());
            }
            ServiceOutputs::read(o).unwrap()
        };
        let replace = "--replace-signing-keys";
        let rows = [
            (None, false, SigningMode::Kms, false, None),
            (
                None,
                false,
                SigningMode::Envelope,
                true,
                Some("has no key pairs yet (it was deployed by an older infra)"),
            ),
            (Some("kms"), false, SigningMode::Envelope, true, Some("has no key pairs yet")),
            (None, true, SigningMode::Envelope, false, Some(replace)),
            (None, true, SigningMode::Envelope, true, None),
            (Some("kms"), true, SigningMode::Kms, false, None),
            (Some("kms"), true, SigningMode::Envelope, false, Some(replace)),
            (Some("envelope"), true, SigningMode::Envelope, false, None),
            (Some("envelope"), true, SigningMode::Kms, false, Some(replace)),
            (Some("envelope"), true, SigningMode::Kms, true, None),
        ];
        for (was, pairs, mode, replace_keys, refused) in rows {
            env.signing_key.mode = mode;
            let got = signing_change(&env, &deployed(was, pairs), replace_keys);
            match (&got, refused) {
                (None, None) => {}
                (Some(why), Some(want)) => assert!(why.contains(want), "{why}"),
                _ => panic!("{was:?} -> {mode:?} pairs={pairs} replace={replace_keys}: {got:?}"),
            }
        }
    }

    /// KMS cannot change a key's spec: a new signing_key.algorithm is refused in kms mode, even
    /// with --replace-signing-keys; envelope mode takes it (its key pairs follow it).
    #[test]
    fn kms_key_specs_stay_as_created() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        let mut env = Environment::load_named(&dir, "dev").unwrap();
        let outputs = |mode: &str, spec: &str| -> ServiceOutputs {
            let all: BTreeMap<String, String> = [
                (output::SIGNING_MODE, mode),
                (output::KEY_SPEC, spec),
                (output::KEY_PAIRS_SECRET, "arn"),
                (output::KEY_ENCRYPTION_KEY, "arn"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
            ServiceOutputs::read(all).unwrap()
        };
        let rows = [
            ("kms", "ECC_NIST_P256", SigningMode::Kms, Algorithm::ES256, true, None),
            ("kms", "ECC_NIST_P256", SigningMode::Kms, Algorithm::RS256, true, Some("KMS cannot change a key's spec")),
            ("kms", "RSA_2048", SigningMode::Kms, Algorithm::ES256, false, Some("keys are RSA_2048")),
            ("envelope", "ECC_NIST_P256", SigningMode::Envelope, Algorithm::RS256, false, None),
            ("kms", "ECC_NIST_P256", SigningMode::Envelope, Algorithm::RS256, true, None),
        ];
        for (was, spec, mode, alg, replace, refused) in rows {
            (env.signing_key.mode, env.signing_key.algorithm) = (mode, alg);
            let got = signing_change(&env, &outputs(was, spec), replace);
            match (&got, refused) {
                (None, None) => {}
                (Some(why), Some(want)) => assert!(why.contains(want), "{why}"),
                _ => panic!("{was} {spec} -> {mode:?} {alg:?} replace={replace}: {got:?}"),
            }
        }
    }
}
