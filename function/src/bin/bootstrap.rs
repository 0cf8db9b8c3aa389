//! The Lambda entry point: configuration and AWS clients are built once per cold start, then
//! each API Gateway event runs through the same `Service` as `infra serve`.

use std::sync::Arc;
use std::time::SystemTime;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use token_function::lambda::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    token_function::telemetry::install(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref());
    // Every KMS and Secrets Manager call is bounded well inside the function's timeout.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(std::time::Duration::from_secs(2))
        .operation_timeout(std::time::Duration::from_secs(5))
        .build();
    let config = aws_config::from_env().timeout_config(timeouts).load().await;
    let app = Arc::new(App::from_vars(|name| std::env::var(name).ok(), &config).await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayProxyRequest>| {
        let app = app.clone();
        async move {
            let (response, metrics) = app.handle(event.payload, SystemTime::now()).await;
            if let Some(line) = metrics {
                println!("{line}");
            }
            Ok::<_, Error>(response)
        }
    }))
    .await
}
