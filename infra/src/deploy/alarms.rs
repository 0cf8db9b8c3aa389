//! `infra alarms <env> list|test`: the environment's alarms as CloudWatch holds them, and a
//! drill proving that each alarm's notification reaches its topic.
//!
//! The drill, for the alarms chosen:
//! 1. reads each alert topic's subscriptions (who would be paged; `SubscriptionArn` is
//!    `PendingConfirmation` until an address confirms, SNS API reference,
//!    "ListSubscriptionsByTopic");
//! 2. creates a temporary SQS queue that only the alert topics may send to, and subscribes it
//!    to them (a queue of the topic's own account needs no confirmation: SNS developer guide,
//!    "Subscribing an Amazon SQS queue to an Amazon SNS topic");
//! 3. forces each alarm into `ALARM` with `SetAlarmState` (CloudWatch API reference: the
//!    alarm's actions run as for a real change, and the alarm returns to its real state at its
//!    next evaluation);
//! 4. reads the queue until each alarm's notification arrived or the wait ends;
//! 5. sets an alarm that was OK and that CloudWatch has not re-evaluated yet back to OK (any
//!    other returns to its actual state at its next evaluation), then removes the subscriptions
//!    and the queue.
//!
//! Before forcing, it waits for the queue policy to take effect (against AWS), removes what a
//! killed drill left, and reads each alarm's state again: an alarm in `ALARM` is not drilled,
//! since a drill would end a real alarm's notification with an `OK`. No drill runs while a
//! stack operation runs (checked before the prompt and again after): CloudFormation and
//! CodeDeploy roll back on the critical alarms.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, StateValue};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value as Json, json};

use super::stack::sdk;
use super::status::Meaning;
use super::{Aws, DeployError, interrupt};
use crate::env::Environment;

/// What `SetAlarmState` says a drill set a state for (CloudWatch keeps it as the state reason).
pub const DRILL_REASON: &str = "infra alarms test: a drill of the alarm's notification";
/// The longest a single `ReceiveMessage` waits (SQS API reference: `WaitTimeSeconds` 0 to 20).
const LONG_POLL_SECONDS: i32 = 20;

/// One of the environment's alarms, as CloudWatch holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    /// The alarm's name (`<prefix>-<env>-<key>`).
    pub name: String,
    /// Its key in the catalogue and the environment file (`lambda_errors`).
    pub key: &'static str,
    /// Its state now.
    pub state: StateValue,
    /// Why it is in that state, as CloudWatch says.
    pub reason: String,
    /// How it compares, e.g. `GreaterThanThreshold 20` over `3` periods of `300` s.
    pub threshold: Option<f64>,
    /// `GreaterThanThreshold` or `LessThanThreshold`.
    pub comparison: Option<ComparisonOperator>,
    /// `EvaluationPeriods`.
    pub evaluation_periods: Option<i32>,
    /// `DatapointsToAlarm`.
    pub datapoints_to_alarm: Option<i32>,
    /// The period in seconds (of the metric, or of the metric-math query).
    pub period_seconds: Option<i32>,
    /// `ActionsEnabled`: whether its actions run at all.
    pub actions_enabled: bool,
    /// The SNS topics among its `AlarmActions`.
    pub topics: Vec<String>,
}

/// The environment's alarms: those deployed, and the catalogue's that CloudWatch does not hold.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// The deployed alarms, in the catalogue's order.
    pub alarms: Vec<Alarm>,
    /// Names of the alarms the environment should have and CloudWatch does not.
    pub missing: Vec<String>,
}

/// The environment's alarms (`DescribeAlarms` by the environment's name prefix, every page).
pub async fn list(aws: &Aws, env: &Environment) -> Result<Listing, DeployError> {
    let wanted: Vec<(String, &'static str)> = crate::alarms::ALARMS
        .iter()
        .filter(|d| crate::stacks::alarms::applies(env, d))
        .map(|d| (crate::stacks::alarms::alarm_name(env, d), d.key))
        .collect();
    let mut found: BTreeMap<String, MetricAlarm> = BTreeMap::new();
    let mut token = None;
    loop {
        let page = aws
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix(format!("{}-", env.qualified()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| sdk("DescribeAlarms", e))?;
        for a in page.metric_alarms() {
            found.insert(a.alarm_name().unwrap_or_default().to_owned(), a.clone());
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut listing = Listing::default();
    for (name, key) in wanted {
        match found.get(&name) {
            Some(a) => listing.alarms.push(alarm(a, key)),
            None => listing.missing.push(name),
        }
    }
    Ok(listing)
}

/// Which of the alarms `names` exist (see [`states`]).
pub async fn existing(aws: &Aws, names: &[&str]) -> Result<BTreeSet<String>, DeployError> {
    Ok(states(aws, names).await?.into_keys().collect())
}

/// An alarm as CloudWatch described it.
fn alarm(a: &MetricAlarm, key: &'static str) -> Alarm {
    let period = a.period().or_else(|| a.metrics().iter().find_map(|q| q.metric_stat()?.period()));
    Alarm {
        name: a.alarm_name().unwrap_or_default().to_owned(),
        key,
        state: a.state_value().cloned().unwrap_or(StateValue::InsufficientData),
        reason: a.state_reason().unwrap_or_default().to_owned(),
        threshold: a.threshold(),
        comparison: a.comparison_operator().cloned(),
        evaluation_periods: a.evaluation_periods(),
        datapoints_to_alarm: a.datapoints_to_alarm(),
        period_seconds: period,
        actions_enabled: a.actions_enabled().unwrap_or(true),
        topics: a.alarm_actions().iter().filter(|arn| arn.contains(":sns:")).cloned().collect(),
    }
}

/// Who a topic notifies: its confirmed subscriptions (protocol, endpoint), and how many wait
/// for confirmation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// Confirmed subscriptions: (protocol, endpoint), e.g. `("email", "oncall@example.com")`.
    pub confirmed: Vec<(String, String)>,
    /// Subscriptions still `PendingConfirmation`: nobody is reached through them.
    pub pending: usize,
}

/// The subscriptions of `topic` (every page), read as [`Recipients`]; the drill's own queue
/// subscriptions (endpoint `queue`) are left out.
pub async fn recipients(aws: &Aws, topic: &str) -> Result<Recipients, DeployError> {
    let mut out = Recipients::default();
    for s in subscriptions(aws, topic).await? {
        let (protocol, endpoint) = (s.protocol().unwrap_or_default(), s.endpoint().unwrap_or_default());
        if is_drill_queue(endpoint) {
            continue;
        }
        match is_confirmed(s.subscription_arn()) {
            true => out.confirmed.push((protocol.to_owned(), endpoint.to_owned())),
            false => out.pending += 1,
        }
    }
    Ok(out)
}

/// Every subscription of `topic` (`ListSubscriptionsByTopic`, every page).
async fn subscriptions(aws: &Aws, topic: &str) -> Result<Vec<aws_sdk_sns::types::Subscription>, DeployError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| sdk(&format!("ListSubscriptionsByTopic {topic}"), e))?;
        out.extend(page.subscriptions().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Sets alarm `name` to `state`, with `reason` (`SetAlarmState`).
async fn set_state(aws: &Aws, name: &str, state: StateValue, reason: String) -> Result<(), String> {
    let set = aws.cloudwatch.set_alarm_state().alarm_name(name).state_value(state).state_reason(reason);
    set.send().await.map(|_| ()).map_err(|e| super::stack::sdk_text(&e))
}

/// Whether a subscription is confirmed: SNS gives its ARN once it is, and
/// `PendingConfirmation` (or, after a deleted one, `Deleted`) before (SNS API reference,
/// "Subscription").
pub fn is_confirmed(subscription_arn: Option<&str>) -> bool {
    subscription_arn.is_some_and(|arn| arn.starts_with("arn:"))
}

use crate::stacks::alarms::DRILL_QUEUE_MARK;

/// Whether `endpoint` is a drill's queue (an SQS ARN whose name carries [`DRILL_QUEUE_MARK`]).
fn is_drill_queue(endpoint: &str) -> bool {
    endpoint.starts_with("arn:") && endpoint.contains(":sqs:") && endpoint.contains(DRILL_QUEUE_MARK)
}

/// The name of a drill's queue made at `unix` seconds (SQS allows 80 characters; the qualified
/// name is at most 40).
pub fn drill_queue_name(env: &Environment, unix: u64) -> String {
    format!("{}{DRILL_QUEUE_MARK}{unix}", env.qualified())
}

/// Why no drill may run now: a stack of the environment is in an operation, on which the
/// critical alarms roll back (`None` when none is).
pub async fn busy(aws: &Aws, env: &Environment) -> Result<Option<String>, DeployError> {
    for name in [env.service_stack_name(), env.monitoring_stack_name()] {
        if let Some(stack) = super::stack::describe(&aws.cfn, &name).await? {
            let status = super::stack::status(&stack);
            if !status.is_settled() {
                return Ok(Some(format!(
                    "stack {name} is {}: a drill now would roll it back (its critical alarms are rollback triggers); wait until it settles",
                    status.as_str()
                )));
            }
        }
    }
    Ok(None)
}

/// How one alarm's drill ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Its `ALARM` notification reached the drill's queue through its topic, this long after
    /// the state was set.
    Delivered {
        /// Seconds from `SetAlarmState` to the message.
        after_seconds: f64,
    },
    /// No notification arrived within the wait; `cause` is the likely reason.
    NotDelivered {
        /// What most likely stopped it, from the alarm and its topic's settings.
        cause: String,
    },
    /// Not drilled; `why` says why.
    Skipped {
        /// Why, e.g. the alarm is in `ALARM` now.
        why: String,
    },
}

/// One alarm's result.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmResult {
    /// The alarm's name.
    pub alarm: String,
    /// How its drill ended.
    pub outcome: Outcome,
}

/// What a drill did, and what it could not undo (each with the command that does).
#[derive(Clone, Debug, Default)]
pub struct Drill {
    /// Each drilled alarm's result, in the order given.
    pub results: Vec<AlarmResult>,
    /// What is left behind (a queue, a subscription, an alarm not set back) and how to remove
    /// it; empty when the drill cleaned up after itself.
    pub left: Vec<String>,
    /// Whether Ctrl-C ended the wait early.
    pub interrupted: bool,
}

/// The drill's temporary queue and its subscriptions.
struct Queue {
    url: String,
    arn: String,
    /// (topic, subscription ARN): `None` when SNS left the subscription pending.
    subscriptions: Vec<(String, Option<String>)>,
}

/// How long a new queue policy and subscription take to deliver everywhere (SQS API reference,
/// "SetQueueAttributes": a policy change "can take up to 60 seconds"); the drill waits this
/// long before forcing any alarm, against AWS (an emulator applies them at once).
const SETTLE: Duration = Duration::from_secs(60);

/// Drills `alarms` (see the module's documentation), waiting up to `wait` for the
/// notifications. Checked again first: no stack operation runs (see [`busy`]), and each alarm's
/// state is read again just before it is forced. An error before any alarm was set leaves
/// nothing behind; after that, the queue is removed whatever happens, and [`Drill::left`] names
/// what could not be.
pub async fn drill(aws: &Aws, env: &Environment, alarms: &[Alarm], wait: Duration) -> Result<Drill, DeployError> {
    if let Some(why) = busy(aws, env).await? {
        return Err(DeployError::Aws(format!("{}: no drill now: {why}", env.name)));
    }
    let topics: BTreeSet<String> = alarms.iter().flat_map(|a| a.topics.iter().cloned()).collect();
    let mut report = Drill::default();
    sweep(aws, &topics, &mut report.left).await;
    let queue = create_queue(aws, env, &topics).await?;
    if !aws.emulator && settle().await.is_err() {
        report.interrupted = true;
        remove_queue(aws, &queue, &mut report.left).await;
        return Ok(report);
    }
    let now = match states(aws, &alarms.iter().map(|a| a.name.as_str()).collect::<Vec<_>>()).await {
        Ok(now) => now,
        Err(error) => {
            remove_queue(aws, &queue, &mut report.left).await;
            return Err(with_left(error, &report.left));
        }
    };
    let mut set: Vec<&Alarm> = Vec::new();
    let mut started = BTreeMap::new();
    let current: Vec<Alarm> = alarms
        .iter()
        .map(|a| Alarm { state: now.get(&a.name).map_or(a.state.clone(), |(s, _)| s.clone()), ..a.clone() })
        .collect();
    for a in &current {
        if let Some(why) = skip_reason(a) {
            report.results.push(AlarmResult { alarm: a.name.clone(), outcome: Outcome::Skipped { why } });
            continue;
        }
        let forced = set_state(aws, &a.name, StateValue::Alarm, DRILL_REASON.to_owned()).await;
        match forced {
            Ok(_) => {
                started.insert(a.name.clone(), Instant::now());
                set.push(a);
            }
            Err(e) => {
                let cause = format!("SetAlarmState refused: {e}");
                report.results.push(AlarmResult { alarm: a.name.clone(), outcome: Outcome::NotDelivered { cause } });
            }
        }
    }
    let (arrived, failed) = receive(aws, &queue.url, &started, wait, &mut report.interrupted).await;
    for a in &set {
        let outcome = match (arrived.get(&a.name), &failed) {
            (Some(after), _) => Outcome::Delivered { after_seconds: after.as_secs_f64() },
            (None, Some(cause)) => Outcome::NotDelivered { cause: cause.clone() },
            (None, None) => Outcome::NotDelivered { cause: likely_cause(aws, a, &queue).await },
        };
        report.results.push(AlarmResult { alarm: a.name.clone(), outcome });
    }
    restore(aws, &set, &mut report.left).await;
    remove_queue(aws, &queue, &mut report.left).await;
    Ok(report)
}

/// Waits [`SETTLE`]; `Err(())` on Ctrl-C.
async fn settle() -> Result<(), ()> {
    eprintln!(
        "waiting {} s for the drill's queue policy and subscriptions to take effect; Ctrl-C stops",
        SETTLE.as_secs()
    );
    tokio::select! {
        () = tokio::time::sleep(SETTLE) => Ok(()),
        () = interrupt::wait() => Err(()),
    }
}

/// Each alarm's state and state reason now (`DescribeAlarms` by name, 100 names a call).
async fn states(aws: &Aws, names: &[&str]) -> Result<BTreeMap<String, (StateValue, String)>, DeployError> {
    let mut out = BTreeMap::new();
    for chunk in names.chunks(100) {
        let mut token = None;
        loop {
            let page = aws
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.iter().map(|n| n.to_string()).collect()))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk("DescribeAlarms", e))?;
            for a in page.metric_alarms() {
                let state = a.state_value().cloned().unwrap_or(StateValue::InsufficientData);
                let reason = a.state_reason().unwrap_or_default().to_owned();
                out.insert(a.alarm_name().unwrap_or_default().to_owned(), (state, reason));
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

/// The age, in seconds, past which a drill's queue is abandoned: no drill runs longer than its
/// settle wait and the longest `--wait` (15 minutes), with a margin.
const ABANDONED_AFTER_SECONDS: u64 = 20 * 60;

/// Whether `endpoint` is a drill's queue made more than [`ABANDONED_AFTER_SECONDS`] before
/// `now` (Unix seconds), from the time in its name: a drill still running is left alone.
pub fn abandoned(endpoint: &str, now: u64) -> bool {
    let made = endpoint.rsplit_once(DRILL_QUEUE_MARK).and_then(|(_, t)| t.parse::<u64>().ok());
    is_drill_queue(endpoint) && made.is_some_and(|t| now.saturating_sub(t) > ABANDONED_AFTER_SECONDS)
}

/// Removes what an earlier drill that was killed left: its queues' subscriptions to `topics`
/// (every page), and the queues; what could not be removed is named in `left`.
async fn sweep(aws: &Aws, topics: &BTreeSet<String>, left: &mut Vec<String>) {
    let now = crate::session::unix_now();
    for topic in topics {
        let Ok(all) = subscriptions(aws, topic).await else { continue };
        for s in all.iter().filter(|s| abandoned(s.endpoint().unwrap_or_default(), now)) {
            let endpoint = s.endpoint().unwrap_or_default();
            eprintln!("removing what an earlier drill left: {endpoint} subscribed to {topic}");
            let name = endpoint.rsplit(':').next().unwrap_or_default();
            let url = match aws.sqs.get_queue_url().queue_name(name).send().await {
                Ok(out) => out.queue_url().unwrap_or_default().to_owned(),
                Err(_) => String::new(),
            };
            let subscription = s.subscription_arn().filter(|a| is_confirmed(Some(a))).map(str::to_owned);
            let stale = Queue { url, arn: endpoint.to_owned(), subscriptions: vec![(topic.clone(), subscription)] };
            remove_queue(aws, &stale, left).await;
        }
    }
}

/// Why `a` is not drilled, if it is not.
fn skip_reason(a: &Alarm) -> Option<String> {
    if a.state == StateValue::Alarm {
        return Some("it is in ALARM now: a drill would end a real alarm's notification with an OK".into());
    }
    if a.topics.is_empty() {
        return Some("it notifies no SNS topic (no AlarmActions)".into());
    }
    None
}

/// The queue policy letting only `topics` send to `queue_arn` (SNS developer guide, "Sending
/// Amazon SNS messages to an Amazon SQS queue": `sqs:SendMessage` for `sns.amazonaws.com`
/// with `aws:SourceArn`).
pub fn queue_policy(queue_arn: &str, topics: &BTreeSet<String>) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AlertTopicsDeliverTheDrill",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topics.iter().collect::<Vec<_>>()}}
        }]
    })
}

/// Creates the drill's queue and subscribes it to `topics`; on a failure, removes what it made.
async fn create_queue(aws: &Aws, env: &Environment, topics: &BTreeSet<String>) -> Result<Queue, DeployError> {
    let name = drill_queue_name(env, crate::session::unix_now());
    let created = aws
        .sqs
        .create_queue()
        .queue_name(&name)
        // A day: a queue left behind by a killed drill holds nothing for long.
        .attributes(QueueAttributeName::MessageRetentionPeriod, "86400")
        .send()
        .await
        .map_err(|e| sdk(&format!("CreateQueue {name}"), e))?;
    let url = created.queue_url().unwrap_or_default().to_owned();
    let mut queue = Queue { url, arn: name.clone(), subscriptions: Vec::new() };
    // The queue's ARN as SQS gives it (an emulator standing in for the file's account has its
    // own), then the policy naming it.
    match queue_arn_with_policy(aws, &queue.url, topics).await {
        Ok(arn) => queue.arn = arn,
        Err(error) => {
            let mut left = Vec::new();
            remove_queue(aws, &queue, &mut left).await;
            return Err(with_left(error, &left));
        }
    }
    for topic in topics {
        let subscribed = aws
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(&queue.arn)
            .return_subscription_arn(true)
            .send()
            .await;
        match subscribed {
            Ok(out) => {
                let arn = out.subscription_arn().filter(|a| a.starts_with("arn:")).map(str::to_owned);
                queue.subscriptions.push((topic.clone(), arn));
            }
            Err(e) => {
                let error = sdk(&format!("Subscribe {} to {topic}", queue.arn), e);
                let mut left = Vec::new();
                remove_queue(aws, &queue, &mut left).await;
                return Err(with_left(error, &left));
            }
        }
    }
    Ok(queue)
}

/// The queue's ARN (`GetQueueAttributes`), after setting its policy ([`queue_policy`]).
async fn queue_arn_with_policy(aws: &Aws, url: &str, topics: &BTreeSet<String>) -> Result<String, DeployError> {
    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| sdk(&format!("GetQueueAttributes {url}"), e))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| DeployError::Aws(format!("GetQueueAttributes {url}: no QueueArn")))?;
    aws.sqs
        .set_queue_attributes()
        .queue_url(url)
        .attributes(QueueAttributeName::Policy, queue_policy(&arn, topics).to_string())
        .send()
        .await
        .map_err(|e| sdk(&format!("SetQueueAttributes {url}"), e))?;
    Ok(arn)
}

/// `error`, naming what its cleanup could not remove.
fn with_left(error: DeployError, left: &[String]) -> DeployError {
    match left.is_empty() {
        true => error,
        false => DeployError::Aws(format!("{error}; left behind: {}", left.join("; "))),
    }
}

/// The (topic, alarm name, new state) of a notification as the queue holds it: the SNS
/// envelope (SNS developer guide, "Parsing message formats") around CloudWatch's alarm message
/// (CloudWatch user guide, "Alarm events and Amazon SNS": `AlarmName`, `NewStateValue`).
pub fn notification(body: &str) -> Option<(String, String, String)> {
    let envelope: Json = serde_json::from_str(body).ok()?;
    let message: Json = serde_json::from_str(envelope.get("Message")?.as_str()?).ok()?;
    let text = |v: &Json, k: &str| v.get(k).and_then(Json::as_str).map(str::to_owned);
    Some((text(&envelope, "TopicArn")?, text(&message, "AlarmName")?, text(&message, "NewStateValue")?))
}

/// Reads the queue until every alarm of `started` has its `ALARM` notification, `wait` has
/// passed, or Ctrl-C (then `interrupted`); returns how long each that arrived took, and the last
/// failed read's error, if any.
async fn receive(
    aws: &Aws,
    url: &str,
    started: &BTreeMap<String, Instant>,
    wait: Duration,
    interrupted: &mut bool,
) -> (BTreeMap<String, Duration>, Option<String>) {
    let deadline = Instant::now() + wait;
    let mut arrived = BTreeMap::new();
    let mut failed: Option<String> = None;
    while arrived.len() < started.len() && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        let poll = i32::try_from(left).unwrap_or(LONG_POLL_SECONDS).clamp(1, LONG_POLL_SECONDS);
        let asked = aws.sqs.receive_message().queue_url(url).wait_time_seconds(poll).max_number_of_messages(10).send();
        let page = tokio::select! {
            page = asked => page,
            () = interrupt::wait() => {
                *interrupted = true;
                break;
            }
        };
        // A failed read is retried, a second apart, until the deadline; what did not arrive is
        // reported with the last failure as its cause.
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                failed = Some(format!("reading the drill's queue failed: {}", super::stack::sdk_text(&e)));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for m in page.messages() {
            let Some((_, alarm, state)) = notification(m.body().unwrap_or_default()) else { continue };
            if state == StateValue::Alarm.as_str()
                && let Some(at) = started.get(&alarm)
            {
                arrived.entry(alarm).or_insert_with(|| at.elapsed());
            }
        }
    }
    (arrived, failed)
}

/// The likely reason `a`'s notification did not arrive, from the alarm's and its topics'
/// settings.
async fn likely_cause(aws: &Aws, a: &Alarm, queue: &Queue) -> String {
    if !a.actions_enabled {
        return "its actions are disabled (ActionsEnabled is false)".into();
    }
    for topic in &a.topics {
        if queue.subscriptions.iter().any(|(t, arn)| t == topic && arn.is_none()) {
            return format!("the drill's subscription to {topic} stayed pending: the drill cannot tell");
        }
        let Ok(attributes) = aws.sns.get_topic_attributes().topic_arn(topic).send().await else {
            return format!("{topic} could not be read (GetTopicAttributes): does it still exist?");
        };
        let attributes = attributes.attributes().cloned().unwrap_or_default();
        let policy = attributes.get("Policy").and_then(|p| serde_json::from_str::<Json>(p).ok());
        if !policy.as_ref().is_some_and(lets_cloudwatch_publish) {
            return format!("the topic policy of {topic} does not let cloudwatch.amazonaws.com call sns:Publish");
        }
        if let Some(key) = attributes.get("KmsMasterKeyId").filter(|k| !k.is_empty()) {
            return format!(
                "{topic} is encrypted with {key}: if its key policy does not let cloudwatch.amazonaws.com call kms:GenerateDataKey* and kms:Decrypt, CloudWatch cannot publish (SNS developer guide, \"Configure AWS KMS permissions\"); else see the alarm's history in the console"
            );
        }
    }
    "CloudWatch did not notify within the wait: try a longer --wait, and see the alarm's history in the console".into()
}

/// Whether a topic policy has an `Allow` of `sns:Publish` (or `sns:*`, `*`) for the service
/// principal `cloudwatch.amazonaws.com`.
pub fn lets_cloudwatch_publish(policy: &Json) -> bool {
    let list = |v: Option<&Json>| -> Vec<String> {
        match v {
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    };
    let statements = match policy.get("Statement") {
        Some(Json::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    statements.iter().any(|st| {
        st.get("Effect").and_then(Json::as_str) == Some("Allow")
            && list(st.pointer("/Principal/Service")).iter().any(|p| p == "cloudwatch.amazonaws.com")
            && list(st.get("Action")).iter().any(|a| crate::validate::action_matches(a, "sns:Publish"))
    })
}

/// After the drill: an alarm CloudWatch has not yet re-evaluated (still in ALARM with the
/// drill's reason) and that was OK before is set back to OK; any other is left to CloudWatch,
/// which returns a metric alarm to its actual state at its next evaluation ("SetAlarmState",
/// CloudWatch API reference). Forcing `INSUFFICIENT_DATA` would only page once more, and an
/// alarm a real breach moved is not touched. One that could not be set back is named in `left`.
async fn restore(aws: &Aws, alarms: &[&Alarm], left: &mut Vec<String>) {
    let names: Vec<&str> = alarms.iter().map(|a| a.name.as_str()).collect();
    let now = match states(aws, &names).await {
        Ok(now) => now,
        Err(e) => {
            for a in alarms.iter().filter(|a| a.state == StateValue::Ok) {
                left.push(format!(
                    "alarm {} may still be in the drill's ALARM ({e}); `aws cloudwatch set-alarm-state --alarm-name {} --state-value OK --state-reason drill` sets it back now",
                    a.name, a.name
                ));
            }
            return;
        }
    };
    for a in alarms.iter().filter(|a| a.state == StateValue::Ok) {
        let Some((state, reason)) = now.get(&a.name) else { continue };
        if *state != StateValue::Alarm || reason != DRILL_REASON {
            continue;
        }
        let back = set_state(aws, &a.name, StateValue::Ok, format!("{DRILL_REASON}: set back to OK after the drill"));
        if let Err(e) = back.await {
            left.push(format!(
                "alarm {} stays in ALARM until its next evaluation ({e}); `aws cloudwatch set-alarm-state --alarm-name {} --state-value OK --state-reason drill` sets it back now",
                a.name,
                a.name
            ));
        }
    }
}

/// Unsubscribes the drill's queue and deletes it; what could not be removed is named in
/// `left`, with the command that removes it.
async fn remove_queue(aws: &Aws, queue: &Queue, left: &mut Vec<String>) {
    for (topic, subscription) in &queue.subscriptions {
        let Some(arn) = subscription else { continue };
        if let Err(e) = aws.sns.unsubscribe().subscription_arn(arn).send().await {
            left.push(format!(
                "the drill's subscription to {topic} ({}); `aws sns unsubscribe --subscription-arn {arn}` removes it",
                super::stack::sdk_text(&e)
            ));
        }
    }
    if queue.url.is_empty() {
        return;
    }
    if let Err(e) = aws.sqs.delete_queue().queue_url(&queue.url).send().await {
        left.push(format!(
            "the drill's queue {} ({}); `aws sqs delete-queue --queue-url {}` removes it",
            queue.arn,
            super::stack::sdk_text(&e),
            queue.url
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notification as the queue holds it: the SNS envelope around CloudWatch's message.
    fn envelope(topic: &str, alarm: &str, state: &str) -> String {
        let message = json!({"AlarmName": alarm, "NewStateValue": state, "OldStateValue": "OK"}).to_string();
        json!({"Type": "Notification", "TopicArn": topic, "Message": message}).to_string()
    }

    /// (topic, alarm, new state) a notification row expects.
    type Read<'a> = Option<(&'a str, &'a str, &'a str)>;

    #[test]
    fn notifications_are_read_from_the_envelope() {
        let t = "arn:aws:sns:eu-west-1:1:p-dev-warning";
        let rows: [(String, Read<'_>); 6] = [
            (envelope(t, "p-dev-lambda-errors", "ALARM"), Some((t, "p-dev-lambda-errors", "ALARM"))),
            (envelope(t, "p-dev-lambda-errors", "OK"), Some((t, "p-dev-lambda-errors", "OK"))),
            // Raw delivery (the message without its envelope), other messages, and text.
            (json!({"AlarmName": "a", "NewStateValue": "ALARM"}).to_string(), None),
            (json!({"Type": "Notification", "TopicArn": t, "Message": "hello"}).to_string(), None),
            (json!({"Type": "SubscriptionConfirmation", "TopicArn": t}).to_string(), None),
            ("not json".to_owned(), None),
        ];
        for (body, want) in rows {
            let want = want.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
            assert_eq!(notification(&body), want, "{body}");
        }
    }

    #[test]
    fn a_topic_policy_lets_cloudwatch_publish_only_with_an_allow_for_its_service() {
        let st = |effect: &str, service: Json, action: Json| json!({"Statement": [{"Effect": effect, "Principal": {"Service": service}, "Action": action, "Resource": "*"}]});
        let rows = [
            (st("Allow", json!("cloudwatch.amazonaws.com"), json!("sns:Publish")), true),
            (st("Allow", json!(["events.amazonaws.com", "cloudwatch.amazonaws.com"]), json!(["sns:Publish"])), true),
            (st("Allow", json!("cloudwatch.amazonaws.com"), json!("sns:*")), true),
            (st("Allow", json!("cloudwatch.amazonaws.com"), json!("SNS:publish")), true),
            (st("Deny", json!("cloudwatch.amazonaws.com"), json!("sns:Publish")), false),
            (st("Allow", json!("events.amazonaws.com"), json!("sns:Publish")), false),
            (st("Allow", json!("cloudwatch.amazonaws.com"), json!("sns:Subscribe")), false),
            (
                json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish"}}),
                true,
            ),
            (json!({}), false),
        ];
        for (policy, want) in rows {
            assert_eq!(lets_cloudwatch_publish(&policy), want, "{policy}");
        }
    }

    #[test]
    fn subscriptions_count_as_confirmed_once_they_have_an_arn() {
        let rows = [
            (Some("arn:aws:sns:eu-west-1:1:t:0b1c"), true),
            (Some("PendingConfirmation"), false),
            (Some("Deleted"), false),
            (Some(""), false),
            (None, false),
        ];
        for (arn, want) in rows {
            assert_eq!(is_confirmed(arn), want, "{arn:?}");
        }
    }

    #[test]
    fn only_drill_queues_older_than_any_drill_are_removed() {
        let now = 1_765_000_000;
        let q = |t: u64| format!("arn:aws:sqs:eu-west-1:1:p-dev-alarm-drill-{t}");
        let rows = [
            (q(now - 21 * 60), true),
            (q(now - 20 * 60), false),
            (q(now - 60), false),
            (q(now), false),
            (q(now + 60), false),
            (q(1), true),
            ("arn:aws:sqs:eu-west-1:1:p-dev-alarm-drill-x".to_owned(), false),
            ("arn:aws:sqs:eu-west-1:1:p-dev-oncall-1".to_owned(), false),
            ("oncall+p-dev-alarm-drill-1@example.com".to_owned(), false),
        ];
        for (endpoint, want) in rows {
            assert_eq!(abandoned(&endpoint, now), want, "{endpoint}");
        }
    }

    #[test]
    fn only_the_drills_own_queues_are_left_out_of_the_recipients() {
        let rows = [
            ("arn:aws:sqs:eu-west-1:1:p-dev-alarm-drill-1765000000", true),
            ("arn:aws:sqs:eu-west-1:1:p-dev-oncall", false),
            ("oncall+p-dev-alarm-drill-1@example.com", false),
            ("https://hooks.example.com/p-dev-alarm-drill-1", false),
        ];
        for (endpoint, want) in rows {
            assert_eq!(is_drill_queue(endpoint), want, "{endpoint}");
        }
    }

    fn alarm(state: StateValue, topics: &[&str]) -> Alarm {
        Alarm {
            name: "p-dev-lambda-errors".into(),
            key: "lambda_errors",
            state,
            reason: String::new(),
            threshold: Some(1.0),
            comparison: Some(ComparisonOperator::GreaterThanThreshold),
            evaluation_periods: Some(3),
            datapoints_to_alarm: Some(2),
            period_seconds: Some(300),
            actions_enabled: true,
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn alarms_in_alarm_or_without_a_topic_are_not_drilled() {
        let t = "arn:aws:sns:eu-west-1:1:p-dev-warning";
        let rows = [
            (alarm(StateValue::Ok, &[t]), None),
            (alarm(StateValue::InsufficientData, &[t]), None),
            (alarm(StateValue::Alarm, &[t]), Some("in ALARM now")),
            (alarm(StateValue::Ok, &[]), Some("no SNS topic")),
        ];
        for (a, want) in rows {
            let got = skip_reason(&a);
            assert_eq!(got.is_some(), want.is_some(), "{got:?}");
            if let (Some(got), Some(want)) = (got, want) {
                assert!(got.contains(want), "{got}");
            }
        }
    }
}
