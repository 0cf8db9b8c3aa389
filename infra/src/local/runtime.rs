//! The Lambda Runtime API of one execution environment, on 127.0.0.1: the HTTP interface a
//! custom runtime (`bootstrap`) polls for events and posts results to.
//!
//! Paths and headers follow the AWS Lambda developer guide, "Using the Lambda runtime API for
//! custom runtimes" (API version `2018-06-01`):
//! - `GET /2018-06-01/runtime/invocation/next` waits for the next event and answers it with
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` (Unix milliseconds),
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`;
//! - `POST …/invocation/{id}/response` and `POST …/invocation/{id}/error` answer 202;
//!   an unknown id 400 `InvalidRequestID`; a response over 6 MB (the synchronous payload limit,
//!   "Lambda quotas") 413;
//! - `POST /2018-06-01/runtime/init/error`: the runtime could not start.
//!
//! One environment runs one invocation at a time, as on Lambda.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// Lambda's limit on a synchronous invocation's response payload: 6 MB ("Lambda quotas").
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

const PREFIX: &str = "/2018-06-01/runtime";

/// What the runtime made of one invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `POST …/response`: the handler's result (for API Gateway, a proxy response as JSON).
    Response(Bytes),
    /// `POST …/error`, or `…/init/error` while the invocation waited: a function error with
    /// its `errorType` and `errorMessage` when the body gave them.
    Error {
        /// The error type the function reported (`errorType`).
        error_type: String,
        /// Its message (`errorMessage`).
        message: String,
    },
}

/// One event on its way to the runtime.
#[derive(Debug)]
pub struct Invocation {
    /// The request id: `Lambda-Runtime-Aws-Request-Id`, and `{id}` in the answer's path.
    pub request_id: String,
    /// The event (for API Gateway, a proxy request as JSON).
    pub event: Bytes,
    /// When the function's `Timeout` runs out, as Unix milliseconds.
    pub deadline_ms: u128,
    /// The function's ARN, sent as `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// Where the runtime's outcome goes.
    pub answer: oneshot::Sender<Outcome>,
}

#[derive(Debug, Default)]
struct State {
    /// Invocations handed to the runtime and not yet answered, by request id.
    pending: HashMap<String, oneshot::Sender<Outcome>>,
    /// Set by `init/error`: the runtime will take no event.
    init_error: Option<Outcome>,
}

/// The Runtime API server of one execution environment.
#[derive(Debug)]
pub struct RuntimeApi {
    /// Where it listens (127.0.0.1): the runtime's `AWS_LAMBDA_RUNTIME_API`.
    pub addr: SocketAddr,
    events: mpsc::Sender<Invocation>,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1 (the runtime reads it from `AWS_LAMBDA_RUNTIME_API`).
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let (events, queue) = mpsc::channel::<Invocation>(1);
        let state = Arc::new(Mutex::new(State::default()));
        let server = tokio::spawn(serve(listener, Arc::new(tokio::sync::Mutex::new(queue)), state.clone()));
        Ok(RuntimeApi { addr, events, state, server })
    }

    /// Hands `invocation` to the runtime; its answer arrives on `invocation.answer`.
    /// Returns the runtime's init error instead when it reported one.
    pub async fn send(&self, invocation: Invocation) -> Result<(), Outcome> {
        if let Some(e) = self.init_error() {
            return Err(e);
        }
        self.events.send(invocation).await.map_err(|_| Outcome::Error {
            error_type: "Runtime.Unavailable".into(),
            message: "the Runtime API has stopped".into(),
        })
    }

    /// The runtime's `init/error`, if it posted one.
    pub fn init_error(&self) -> Option<Outcome> {
        self.state.lock().ok().and_then(|s| s.init_error.clone())
    }
}

type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>;

async fn serve(listener: TcpListener, queue: Queue, state: Arc<Mutex<State>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let (queue, state) = (queue.clone(), state.clone());
        tokio::spawn(async move {
            let handler = service_fn(move |req| {
                let (queue, state) = (queue.clone(), state.clone());
                async move { Ok::<_, Infallible>(route(req, &queue, &state).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), handler).await;
        });
    }
}

fn answer(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    r
}

async fn route(req: hyper::Request<Incoming>, queue: &Queue, state: &Mutex<State>) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().strip_prefix(PREFIX).unwrap_or_default().to_owned();
    let method = req.method().clone();
    let body = match Limited::new(req.into_body(), MAX_RESPONSE_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return answer(413, r#"{"errorMessage":"response payload over 6 MB","errorType":"RequestTooLarge"}"#);
        }
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["invocation", "next"]) => next(queue, state).await,
        ("POST", ["invocation", id, "response"]) => settle(state, id, Outcome::Response(body)),
        ("POST", ["invocation", id, "error"]) => settle(state, id, function_error(&body)),
        ("POST", ["init", "error"]) => {
            let error = function_error(&body);
            if let Ok(mut s) = state.lock() {
                s.init_error = Some(error.clone());
                for (_, waiting) in s.pending.drain() {
                    let _ = waiting.send(error.clone());
                }
            }
            answer(202, r#"{"status":"OK"}"#)
        }
        _ => answer(404, r#"{"errorMessage":"unknown Runtime API path","errorType":"InvalidPath"}"#),
    }
}

/// Waits for the next event and hands it over with its headers.
async fn next(queue: &Queue, state: &Mutex<State>) -> hyper::Response<Full<Bytes>> {
    let Some(inv) = queue.lock().await.recv().await else {
        return answer(500, r#"{"errorMessage":"the environment is shutting down","errorType":"ShutDown"}"#);
    };
    if let Ok(mut s) = state.lock() {
        s.pending.insert(inv.request_id.clone(), inv.answer);
    }
    let mut r = hyper::Response::new(Full::new(inv.event));
    let headers = [
        ("lambda-runtime-aws-request-id", inv.request_id.clone()),
        ("lambda-runtime-deadline-ms", inv.deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", inv.function_arn),
        ("lambda-runtime-trace-id", format!("Root=1-{:08x}-{}", now_ms() / 1000, inv.request_id.replace('-', ""))),
        ("content-type", "application/json".to_owned()),
    ];
    for (k, v) in headers {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

fn settle(state: &Mutex<State>, id: &str, outcome: Outcome) -> hyper::Response<Full<Bytes>> {
    let waiting = state.lock().ok().and_then(|mut s| s.pending.remove(id));
    match waiting {
        Some(tx) => {
            let _ = tx.send(outcome);
            answer(202, r#"{"status":"OK"}"#)
        }
        None => answer(400, r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#),
    }
}

/// The `{"errorType","errorMessage"}` body a runtime posts with an error.
fn function_error(body: &[u8]) -> Outcome {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| json.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    Outcome::Error { error_type: text("errorType"), message: text("errorMessage") }
}

/// Now as Unix milliseconds.
pub fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis()
}
