//! What the service template tells the function in each signing-key stage, evaluated as
//! CloudFormation evaluates it (`Fn::If` over the stage's conditions, `Fn::Join`), against the
//! stage machine (`infra::keys::Stage`): the published slots, each once, and the signing slot.

use std::path::Path;

use infra::env::Environment;
use infra::keys::{Slot, Stage};
use serde_json::Value as Json;

fn template() -> Json {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../environments"));
    let env = Environment::load_named(dir, "dev").unwrap();
    serde_json::from_str(&infra::stacks::service::build(&env).unwrap().to_json_string()).unwrap()
}

/// A condition's truth with `SigningKeyStage` set to `stage` (the forms the template uses).
fn holds(t: &Json, c: &Json, stage: Stage) -> bool {
    let (name, args) = c.as_object().and_then(|o| o.iter().next()).expect("a condition function");
    match name.as_str() {
        "Fn::Or" => args.as_array().unwrap().iter().any(|a| holds(t, a, stage)),
        "Fn::And" => args.as_array().unwrap().iter().all(|a| holds(t, a, stage)),
        "Fn::Not" => !holds(t, &args[0], stage),
        "Condition" => holds(t, &t["Conditions"][args.as_str().unwrap()], stage),
        "Fn::Equals" => value(t, &args[0], stage) == value(t, &args[1], stage),
        other => panic!("condition function {other} is not evaluated here"),
    }
}

/// A value with `SigningKeyStage` set to `stage`; `Fn::Sub` stays as written.
fn value(t: &Json, v: &Json, stage: Stage) -> String {
    let Some((name, args)) = v.as_object().and_then(|o| o.iter().next()) else {
        return v.as_str().unwrap().to_owned();
    };
    match name.as_str() {
        "Ref" if args == "SigningKeyStage" => stage.as_str().to_owned(),
        "Fn::Sub" => args.as_str().unwrap().to_owned(),
        "Fn::If" => {
            let c = &t["Conditions"][args[0].as_str().unwrap()];
            value(t, &args[if holds(t, c, stage) { 1 } else { 2 }], stage)
        }
        "Fn::Join" => {
            let parts: Vec<String> = args[1].as_array().unwrap().iter().map(|p| value(t, p, stage)).collect();
            parts.join(args[0].as_str().unwrap())
        }
        other => panic!("{other} is not evaluated here"),
    }
}

/// `a`/`b` for a signing alias ARN (`…-token-signing`, `…-token-signing-b`), else the value.
fn slot_of(item: &str) -> &str {
    match item {
        i if i.ends_with("-token-signing-b") => "b",
        i if i.ends_with("-token-signing") => "a",
        i => i,
    }
}

#[test]
fn each_stage_publishes_each_of_its_slots_once_and_signs_with_its_own() {
    let t = template();
    let output = |key: &str, stage| value(&t, &t["Outputs"][key]["Value"], stage);
    let slots = |list: String| list.split(',').map(|i| slot_of(i).to_owned()).collect::<Vec<_>>().join(",");
    for stage in Stage::ALL {
        let want: Vec<&str> = Slot::ALL.into_iter().filter(|s| stage.has(*s)).map(Slot::as_str).collect();
        let want = want.join(",");
        assert_eq!(output("PublishedSlots", stage), want, "{stage}: envelope mode");
        assert_eq!(slots(output("PublishedKeyArns", stage)), want, "{stage}: kms mode");
        assert_eq!(output("SigningSlot", stage), stage.signing().as_str(), "{stage}");
        assert_eq!(slot_of(&output("SigningKeyArn", stage)), stage.signing().as_str(), "{stage}");
    }
}
