//! The Lambda entry point: configuration and AWS clients are built once per cold start, then
//! each API Gateway event runs through the same `Service` as `infra serve`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use token_function::aws::{KmsSigner, SecretRegistry};
use token_function::error::OAuthError;
use token_function::http::{Outcome, Service, error_response};
use token_function::oauth::Settings;
use token_function::{lambda, telemetry};

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

struct State {
    service: Service<KmsSigner>,
    registry: SecretRegistry,
    service_name: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().without_time().with_target(false).init();
    let ttl_seconds: u64 = var("TOKEN_TTL_SECONDS")?.parse().map_err(|_| "TOKEN_TTL_SECONDS is not a number")?;
    let settings = Settings { issuer: var("TOKEN_ISSUER")?, audience: var("TOKEN_AUDIENCE")?, ttl_seconds };
    let config = aws_config::load_from_env().await;
    let signer = KmsSigner::new(aws_sdk_kms::Client::new(&config), var("SIGNING_KEY_ARN")?).await?;
    let registry = SecretRegistry::new(
        aws_sdk_secretsmanager::Client::new(&config),
        var("CLIENT_REGISTRY_SECRET_ARN")?,
        Duration::from_secs(60),
    );
    let service_name = std::env::var("SERVICE_NAME").or_else(|_| var("AWS_LAMBDA_FUNCTION_NAME"))?;
    let state = Arc::new(State { service: Service::new(settings, signer), registry, service_name });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayProxyRequest>| {
        let state = state.clone();
        async move { Ok::<_, Error>(handle(&state, event.payload).await) }
    }))
    .await
}

async fn handle(state: &State, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let request = lambda::from_event(event);
    let now = SystemTime::now();
    let (response, outcome) = match state.registry.get().await {
        Ok(registry) => state.service.handle(&request, &registry, now).await,
        Err(e) => {
            tracing::error!(error = %e, "client registry unavailable");
            let e = OAuthError::ServerError;
            (error_response(&e), Outcome::Failed { reason: e.code() })
        }
    };
    tracing::info!(method = %request.method, path = %request.path, status = response.status, ?outcome, "request");
    let ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    if let Some(line) = telemetry::emf_line(&outcome, &state.service_name, ms) {
        println!("{line}");
    }
    lambda::to_event(response)
}
