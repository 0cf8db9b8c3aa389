//! The token endpoint over HTTP/1.1 on a local socket: the same `Service` the Lambda runs,
//! for development and black-box tests.

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::error::OAuthError;
use crate::http::{Request, Response, Service, error_response};
use crate::jwt::Signer;
use crate::oauth::MAX_BODY_BYTES;
use crate::registry::Registry;
use crate::telemetry;

/// How long a client may take to send a request's headers, and then its body.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves until Ctrl-C. `service_name` is the metrics' `Service` dimension.
pub async fn serve<S: Signer + 'static>(
    listener: TcpListener,
    service: Arc<Service<S>>,
    registry: Arc<Registry>,
    service_name: Arc<str>,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let (service, registry, name) = (service.clone(), registry.clone(), service_name.clone());
        tokio::spawn(async move {
            let handler = service_fn(move |req| {
                let (service, registry, name) = (service.clone(), registry.clone(), name.clone());
                async move { Ok::<_, Infallible>(answer(req, &service, &registry, &name).await) }
            });
            // A client that stops sending holds no connection for long.
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), handler);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

async fn answer<S: Signer>(
    req: hyper::Request<Incoming>,
    service: &Service<S>,
    registry: &Registry,
    name: &str,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // A declared length over the limit is refused before anything is read.
    let declared = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return to_hyper(error_response(&OAuthError::PayloadTooLarge));
    }
    let body = match tokio::time::timeout(READ_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect()).await {
        Ok(Ok(b)) => b.to_bytes().to_vec(),
        Ok(Err(_)) => return to_hyper(error_response(&OAuthError::PayloadTooLarge)),
        Err(_) => {
            return to_hyper(error_response(&OAuthError::InvalidRequest("the request body did not arrive in time")));
        }
    };
    let request = Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
    };
    let now = SystemTime::now();
    let (response, outcome) = service.handle(&request, registry, now).await;
    tracing::info!(method = %request.method, path = %request.path, status = response.status, outcome = %outcome, client_id = outcome.client_id(), "request");
    let ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    if let Some(line) = telemetry::emf_line(&outcome, name, ms) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
    to_hyper(response)
}

fn to_hyper(r: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(r.body)));
    *out.status_mut() = hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in r.headers {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&v) {
            out.headers_mut().append(k, v);
        }
    }
    out
}
