//! `infra logs`: the function's log group and the API's access log group, merged by time and
//! printed one readable line per event, like `sam logs`.
//!
//! Events come from CloudWatch Logs `FilterLogEvents` (a filter pattern of quoted terms matches
//! events containing each term: CloudWatch Logs user guide, "Filter pattern syntax for metric
//! filters, subscription filters, and filter log events"). `--follow` asks again every
//! [`FOLLOW_INTERVAL`] for what is newer, skipping event ids already printed.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use serde_json::Value as Json;

use super::DeployError;

/// How often `--follow` asks for new events.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(2);
/// At most this many pages per group and request (10,000 events each at most).
pub const MAX_PAGES: usize = 20;

/// Which log group a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The token function: its JSON log lines, metric lines and Lambda's platform lines.
    Function,
    /// The API stage's access log: one JSON object per request.
    Api,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Function => "function",
            Source::Api => "api",
        }
    }
}

/// One log event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The event's id in CloudWatch Logs: `--follow` skips ids already printed.
    pub id: String,
    /// Unix milliseconds.
    pub timestamp_ms: i64,
    /// The log group it came from.
    pub source: Source,
    /// The log line as the group holds it.
    pub message: String,
}

/// A filter pattern matching events that contain every given term, or `None` for all events.
/// Each term is quoted, so spaces and punctuation match literally; a `"` inside is escaped.
pub fn filter_pattern(terms: &[&str]) -> Option<String> {
    let quoted: Vec<String> = terms
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" "))
}

fn text<'a>(v: &'a Json, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Json::as_str).filter(|s| !s.is_empty() && *s != "-")
}

fn field(v: &Json, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Json::String(s) if !s.is_empty() && s != "-" => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `2026-11-30T16:58:33.120Z` for Unix milliseconds: always three digits of milliseconds, so
/// lines align.
pub fn iso_time(ms: i64) -> String {
    let seconds = aws_smithy_types::DateTime::from_secs(ms.div_euclid(1000))
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| ms.to_string());
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), ms.rem_euclid(1000))
}

/// `2026-11-30T16:58:33Z` for Unix seconds.
pub fn iso_seconds(s: u64) -> String {
    aws_smithy_types::DateTime::from_secs(i64::try_from(s).unwrap_or(i64::MAX))
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| s.to_string())
}

/// One event as a readable line: time, source, then level, request id, client id, outcome and
/// message for the function's lines; method, path, status, latency and request ids for access
/// lines. A line that is not JSON is printed as it is.
pub fn render(e: &Event) -> String {
    let head = format!("{} {:<8}", iso_time(e.timestamp_ms), e.source.label());
    let Ok(v) = serde_json::from_str::<Json>(e.message.trim()) else {
        return format!("{head} {}", e.message.trim_end());
    };
    let parts: Vec<String> = match e.source {
        Source::Api => [
            field(&v, "/httpMethod"),
            field(&v, "/resourcePath"),
            field(&v, "/status"),
            field(&v, "/responseLatency").map(|l| format!("{l}ms")),
            field(&v, "/requestId").map(|r| format!("request={r}")),
            field(&v, "/awsEndpointRequestId").map(|r| format!("function_request={r}")),
            field(&v, "/errorMessage").map(|m| format!("error={m:?}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Source::Function if v.get("_aws").is_some() => {
            let metrics = v.pointer("/_aws/CloudWatchMetrics/0/Metrics").and_then(Json::as_array);
            let names = metrics.into_iter().flatten().filter_map(|m| m["Name"].as_str());
            let mut parts = vec!["METRIC".to_owned()];
            parts.extend(names.map(|n| format!("{n}={}", field(&v, &format!("/{n}")).unwrap_or_default())));
            parts.extend(field(&v, "/Reason").map(|r| format!("reason={r}")));
            parts
        }
        Source::Function if v.get("type").is_some() => {
            // Lambda's own platform lines (`platform.start`, `platform.report`, …).
            let mut parts = vec!["PLATFORM".to_owned(), text(&v, "/type").unwrap_or_default().to_owned()];
            parts.extend(field(&v, "/record/requestId").map(|r| format!("request={r}")));
            parts.extend(field(&v, "/record/metrics/durationMs").map(|d| format!("{d}ms")));
            parts
        }
        Source::Function => {
            let level = text(&v, "/level").unwrap_or("?");
            let request = text(&v, "/span/requestId").or_else(|| text(&v, "/requestId"));
            let mut parts = vec![format!("{level:<5}")];
            parts.extend(request.map(|r| format!("request={r}")));
            parts.extend(field(&v, "/fields/client_id").map(|c| format!("client={c}")));
            parts.extend(field(&v, "/fields/outcome").map(|o| format!("outcome={o}")));
            parts.extend(field(&v, "/fields/status").map(|s| format!("status={s}")));
            parts.extend(text(&v, "/fields/message").or_else(|| text(&v, "/message")).map(str::to_owned));
            parts.extend(field(&v, "/fields/error").map(|e| format!("error={e:?}")));
            parts
        }
    };
    format!("{head} {}", parts.join(" "))
}

/// What one read of the groups returned.
#[derive(Debug, Default)]
pub struct Read {
    /// The new events, merged by time.
    pub events: Vec<Event>,
    /// Groups that had more to read after [`MAX_PAGES`] pages: `FilterLogEvents` may return
    /// empty pages while more events remain (CloudWatch Logs API reference, "FilterLogEvents"),
    /// so what was read of them may be incomplete.
    pub unfinished: Vec<String>,
}

/// The events of `group` from `start_ms` on that match `pattern`, oldest first, and whether
/// pages were left unread after [`MAX_PAGES`].
pub async fn fetch(
    client: &Client,
    group: &str,
    source: Source,
    start_ms: i64,
    pattern: Option<&str>,
) -> Result<(Vec<Event>, bool), DeployError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_filter_pattern(pattern.map(str::to_owned))
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| match e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
                true => DeployError::Aws(format!(
                    "log group {group} does not exist: is the environment deployed? (`status` shows its stacks)"
                )),
                false => DeployError::Aws(format!("FilterLogEvents {group}: {}", super::stack::sdk_text(&e))),
            })?;
        out.extend(page.events().iter().map(|e| Event {
            id: e.event_id().unwrap_or_default().to_owned(),
            timestamp_ms: e.timestamp().unwrap_or_default(),
            source,
            message: e.message().unwrap_or_default().to_owned(),
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok((out, token.is_some()))
}

/// The events of every group from `start_ms` on that contain every one of `terms` and were not
/// seen yet, merged by time; their ids are added to `seen`. The terms go to CloudWatch Logs as a
/// filter pattern and are checked here too (LocalStack ignores some patterns).
pub async fn newer(
    client: &Client,
    groups: &[(String, Source)],
    start_ms: i64,
    terms: &[&str],
    seen: &mut HashSet<String>,
) -> Result<Read, DeployError> {
    let pattern = filter_pattern(terms);
    let mut read = Read::default();
    for (group, source) in groups {
        let (events, unfinished) = fetch(client, group, *source, start_ms, pattern.as_deref()).await?;
        read.events.extend(events);
        if unfinished {
            read.unfinished.push(group.clone());
        }
    }
    read.events.retain(|e| terms.iter().all(|t| e.message.contains(t)) && seen.insert(e.id.clone()));
    read.events.sort_by_key(|e| (e.timestamp_ms, e.source));
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(source: Source, message: &str) -> Event {
        Event { id: "e".into(), timestamp_ms: 1_796_056_444_346, source, message: message.into() }
    }

    /// Each kind of line the groups hold, as `infra logs` prints it.
    #[test]
    fn lines_render_readably() {
        let cases = [
            (
                Source::Function,
                r#"{"level":"INFO","fields":{"message":"request","method":"POST","path":"/oauth/token","status":200,"outcome":"issued","client_id":"orders"},"span":{"requestId":"r-1","name":"Lambda runtime invoke"}}"#,
                "2026-11-30T16:34:04.346Z function INFO  request=r-1 client=orders outcome=issued status=200 request",
            ),
            (
                Source::Function,
                r#"{"level":"ERROR","fields":{"message":"signing failed","error":"Sign: throttled"},"span":{"requestId":"r-2"}}"#,
                "2026-11-30T16:34:04.346Z function ERROR request=r-2 signing failed error=\"Sign: throttled\"",
            ),
            (
                Source::Function,
                r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"TokenService","Metrics":[{"Name":"AuthFailures","Unit":"Count"}]}]},"Service":"s","AuthFailures":1,"Reason":"invalid_client"}"#,
                "2026-11-30T16:34:04.346Z function METRIC AuthFailures=1 reason=invalid_client",
            ),
            (
                Source::Function,
                r#"{"time":"2026-11-30T16:34:04.346Z","type":"platform.report","record":{"requestId":"r-1","metrics":{"durationMs":3.5}}}"#,
                "2026-11-30T16:34:04.346Z function PLATFORM platform.report request=r-1 3.5ms",
            ),
            (
                Source::Api,
                r#"{"requestId":"a-1","httpMethod":"POST","resourcePath":"/oauth/token","status":"401","responseLatency":"12","awsEndpointRequestId":"r-3","errorMessage":"-"}"#,
                "2026-11-30T16:34:04.346Z api      POST /oauth/token 401 12ms request=a-1 function_request=r-3",
            ),
            (
                Source::Function,
                "START RequestId: r-1 Version: $LATEST\n",
                "2026-11-30T16:34:04.346Z function START RequestId: r-1 Version: $LATEST",
            ),
        ];
        for (source, message, want) in cases {
            assert_eq!(render(&ev(source, message)), want);
        }
    }

    #[test]
    fn times_keep_their_width() {
        assert_eq!(iso_time(1_796_056_444_050), "2026-11-30T16:34:04.050Z");
        assert_eq!(iso_time(1_796_056_444_000), "2026-11-30T16:34:04.000Z");
        assert_eq!(iso_seconds(1_796_056_444), "2026-11-30T16:34:04Z");
    }

    #[test]
    fn filter_terms_are_quoted() {
        assert_eq!(filter_pattern(&[]), None);
        assert_eq!(filter_pattern(&["", ""]), None);
        assert_eq!(filter_pattern(&["invalid_client"]).as_deref(), Some("\"invalid_client\""));
        assert_eq!(filter_pattern(&["a b", "r-1"]).as_deref(), Some("\"a b\" \"r-1\""));
        assert_eq!(filter_pattern(&["say \"hi\""]).as_deref(), Some(r#""say \"hi\"""#));
    }
}
