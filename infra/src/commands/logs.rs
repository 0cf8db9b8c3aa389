//! `logs <env> [--since D] [--follow] [--filter TEXT] [--request-id ID]` (see
//! `crate::deploy::logs`).

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::LogsArgs;
use crate::deploy::interrupt;
use crate::deploy::logs::{FOLLOW_INTERVAL, MAX_PAGES, Source, iso_time, newer, render};
use crate::env::Environment;
use crate::session::{block_on, connect, out};
use crate::stacks::service;

/// How far before the newest event `--follow` asks again.
const LOOKBACK_MS: i64 = 60_000;

pub fn run(dir: &Path, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let groups =
        [(service::function_log_group(&env), Source::Function), (service::access_log_group(&env), Source::Api)];
    let terms: Vec<&str> = args.filter.iter().chain(&args.request_id).map(String::as_str).collect();
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut start = now_ms - args.since.as_millis() as i64;
    block_on(async {
        let aws = connect(&env).await?;
        let mut seen = HashSet::new();
        let names: Vec<&str> = groups.iter().map(|(g, _)| g.as_str()).collect();
        let containing = match terms.is_empty() {
            true => String::new(),
            false => {
                format!(" containing {}", terms.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(" and "))
            }
        };
        if args.follow {
            eprintln!("following events{containing} in {} from {}; Ctrl-C stops", names.join(" and "), iso_time(start));
        }
        loop {
            let read = newer(&aws.logs, &groups, start, &terms, &mut seen).await?;
            let events = read.events;
            for e in &events {
                out!("{}", render(e));
            }
            for group in &read.unfinished {
                eprintln!(
                    "{group}: stopped after {MAX_PAGES} pages with more to read; what is shown may be incomplete: narrow --since or --filter"
                );
            }
            if seen.is_empty() && !args.follow {
                eprintln!("no events{containing} since {} in {}", iso_time(start), names.join(" and "));
            }
            // Ask again from a minute before the newest event: events reach CloudWatch Logs out of
            // order across streams and groups; `seen` drops the repeats.
            let newest = events.iter().map(|e| e.timestamp_ms).max().unwrap_or(start);
            start = start.max(newest - LOOKBACK_MS);
            if !args.follow {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(FOLLOW_INTERVAL) => {}
                () = interrupt::wait() => break,
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
