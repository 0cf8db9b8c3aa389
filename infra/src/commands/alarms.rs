//! `alarms <env> list` and `alarms <env> test [--alarm NAME] [--yes] [--wait D]` (see
//! `crate::deploy::alarms`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use crate::cli::{AlarmAction, AlarmsArgs};
use crate::deploy::alarms::{self, Alarm, Outcome, Recipients};
use crate::env::Environment;
use crate::session::{EXIT_ERROR, block_on, confirm, connect, out};

pub fn run(dir: &Path, args: AlarmsArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    match args.action {
        AlarmAction::List => block_on(list(&env)),
        AlarmAction::Test { alarm, yes, wait } => block_on(test(&env, alarm.as_deref(), yes, wait)),
    }
}

async fn list(env: &Environment) -> anyhow::Result<ExitCode> {
    let aws = connect(env).await?;
    let listing = alarms::list(&aws, env).await?;
    for a in &listing.alarms {
        out!("{}", row(a));
    }
    for name in &listing.missing {
        eprintln!("{name}: not in CloudWatch: is the monitoring stack deployed? (`status` shows it)");
    }
    Ok(if listing.missing.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_ERROR) })
}

/// One alarm as `list` prints it: name, state, what it compares, its topics and why it is in
/// its state.
fn row(a: &Alarm) -> String {
    let compare = match (&a.comparison, a.threshold) {
        (Some(op), Some(t)) => format!("{} {t}", op.as_str()),
        _ => "no threshold".to_owned(),
    };
    let periods = match (a.datapoints_to_alarm.or(a.evaluation_periods), a.evaluation_periods, a.period_seconds) {
        (Some(n), Some(m), Some(p)) => format!(" in {n} of {m} periods of {p} s"),
        _ => String::new(),
    };
    let topics: Vec<&str> = a.topics.iter().map(|t| t.rsplit(':').next().unwrap_or(t)).collect();
    let actions = if a.actions_enabled { "" } else { " (actions disabled)" };
    format!(
        "{}  {}  {compare}{periods}  -> {}{actions}  ({})",
        a.name,
        a.state.as_str(),
        if topics.is_empty() { "no topic".to_owned() } else { topics.join(", ") },
        a.reason
    )
}

async fn test(env: &Environment, only: Option<&str>, yes: bool, wait: std::time::Duration) -> anyhow::Result<ExitCode> {
    let aws = connect(env).await?;
    if let Some(why) = alarms::busy(&aws, env).await? {
        bail!("{}: no drill now: {why}", env.name);
    }
    let listing = alarms::list(&aws, env).await?;
    if !listing.missing.is_empty() {
        bail!(
            "{}: not in CloudWatch: {}; deploy the monitoring stack first (`status` shows it)",
            env.name,
            listing.missing.join(", ")
        );
    }
    let chosen = choose(&listing.alarms, only)?;
    let mut who: BTreeMap<String, Recipients> = BTreeMap::new();
    for topic in chosen.iter().flat_map(|a| &a.topics) {
        if !who.contains_key(topic) {
            who.insert(topic.clone(), alarms::recipients(&aws, topic).await?);
        }
    }
    for (topic, r) in &who {
        eprintln!("{}", paged(topic, r));
    }
    let question = format!(
        "{}: set {} alarm(s) to ALARM, notifying everyone above, then OK again (a second notification)?",
        env.name,
        chosen.len()
    );
    if !confirm(&question, yes)? {
        eprintln!("nothing drilled");
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    let drill = alarms::drill(&aws, env, &chosen, wait).await?;
    Ok(report(&drill, &who))
}

/// The alarms `only` names (a key such as `lambda_errors`, or a full name), or all of them.
fn choose(all: &[Alarm], only: Option<&str>) -> anyhow::Result<Vec<Alarm>> {
    let Some(wanted) = only else { return Ok(all.to_vec()) };
    let found: Vec<Alarm> = all.iter().filter(|a| a.key == wanted || a.name == wanted).cloned().collect();
    if found.is_empty() {
        let known: Vec<&str> = all.iter().map(|a| a.key).collect();
        bail!("no deployed alarm `{wanted}`; known: {}", known.join(", "));
    }
    Ok(found)
}

/// Who a topic pages, as one line.
fn paged(topic: &str, r: &Recipients) -> String {
    let pending = match r.pending {
        0 => String::new(),
        n => format!("; {n} subscription(s) pending confirmation reach nobody"),
    };
    if r.confirmed.is_empty() {
        return format!("{topic}: pages nobody (no confirmed subscription){pending}");
    }
    let list: Vec<String> = r.confirmed.iter().map(|(protocol, endpoint)| format!("{endpoint} ({protocol})")).collect();
    format!("{topic}: pages {}{pending}", list.join(", "))
}

/// Prints each alarm's result and what was left behind; the exit code is 0 only when every
/// alarm's notification arrived, every topic reaches someone, and nothing was left.
fn report(drill: &alarms::Drill, who: &BTreeMap<String, Recipients>) -> ExitCode {
    let mut ok = !drill.interrupted && drill.left.is_empty();
    for r in &drill.results {
        match &r.outcome {
            Outcome::Delivered { after_seconds } => out!("{}: delivered in {after_seconds:.1} s", r.alarm),
            Outcome::NotDelivered { cause } => {
                ok = false;
                out!("{}: NOT delivered: {cause}", r.alarm);
            }
            Outcome::Skipped { why } => {
                ok = false;
                out!("{}: not drilled: {why}", r.alarm);
            }
        }
    }
    for (topic, r) in who.iter().filter(|(_, r)| r.confirmed.is_empty()) {
        ok = false;
        out!("{topic}: not subscribed: its alarms reach nobody ({} pending confirmation)", r.pending);
    }
    if drill.interrupted {
        eprintln!(
            "interrupted: the alarms were set back and the drill's queue removed; what had not arrived is reported as not delivered"
        );
    }
    for what in &drill.left {
        eprintln!("left behind: {what}");
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_ERROR) }
}
