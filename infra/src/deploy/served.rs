//! What the deployed API really invokes: the function's configuration as Lambda holds it for the
//! qualifier API Gateway calls (the `live` alias where there is one, else `$LATEST`). A published
//! version's configuration is frozen (Lambda developer guide, "Manage Lambda function
//! versions"), so where an alias serves a version, its variables may differ from the template's
//! and from `$LATEST`; `serve --lambda` and the smoke check run exactly these.

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// The configuration one qualifier of a function runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Served {
    /// The qualifier asked for (`live`, `$LATEST`).
    pub qualifier: String,
    /// The version it resolves to (`7`, or `$LATEST`).
    pub version: String,
    /// `Environment.Variables`.
    pub variables: BTreeMap<String, String>,
    /// `Timeout`, seconds; `None` where not read from Lambda (then the template's).
    pub timeout_seconds: Option<u64>,
    /// `MemorySize`, MB; `None` where not read from Lambda.
    pub memory_mb: Option<u64>,
    /// `AWS_LAMBDA_LOG_FORMAT` / `AWS_LAMBDA_LOG_LEVEL` as Lambda sets them from the version's
    /// `LoggingConfig`; empty where not read from Lambda.
    pub logging: BTreeMap<String, String>,
    /// `CodeSha256`: base64 of the SHA-256 of the deployed zip.
    pub code_sha256: Option<String>,
    /// Other versions the alias sends a share of requests to (a canary's `RoutingConfig`), with
    /// their weights (0 to 1).
    pub routing: Vec<(String, f64)>,
}

impl Served {
    /// Only variables (no deployed function to read): the template's other settings apply.
    pub fn variables_only(variables: BTreeMap<String, String>) -> Self {
        Served {
            qualifier: "$LATEST".into(),
            version: "$LATEST".into(),
            variables,
            timeout_seconds: None,
            memory_mb: None,
            logging: BTreeMap::new(),
            code_sha256: None,
            routing: Vec::new(),
        }
    }

    /// Whether `zip_sha256_hex` (the local artifact's SHA-256, hex) is the deployed code.
    pub fn runs_code(&self, zip_sha256_hex: &str) -> Option<bool> {
        let local = super::package::base64_sha256(zip_sha256_hex);
        self.code_sha256.as_ref().map(|deployed| *deployed == local)
    }
}

/// The qualifier the template's API invokes: the `Name` of the function's alias that the API's
/// integration targets (`${Alias}` in its URI), or `$LATEST` when it targets the function.
pub fn invoked_qualifier(template: &Json) -> String {
    let resources = template["Resources"].as_object();
    let alias = resources.into_iter().flatten().find(|(id, r)| {
        r["Type"] == "AWS::Lambda::Alias"
            && resources.into_iter().flatten().any(|(_, m)| {
                m["Type"] == "AWS::ApiGateway::Method"
                    && m["Properties"]["Integration"]["Uri"].to_string().contains(&format!("${{{id}}}"))
            })
    });
    alias.and_then(|(_, a)| a["Properties"]["Name"].as_str()).unwrap_or("$LATEST").to_owned()
}

/// Why [`served`] could not read a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServedError {
    /// The function, or the alias asked for, does not exist (Lambda's
    /// `ResourceNotFoundException`): what is missing, and to deploy first.
    #[error("{0}")]
    Missing(String),
    /// Any other failure of the call, in one line with its cause.
    #[error("{0}")]
    Unreadable(String),
}

/// Lambda's configuration of `function` at `qualifier`: an alias is resolved to the version it
/// points at (`GetAlias`), whose configuration is read (`GetFunctionConfiguration`).
///
/// # Errors
/// The function or alias does not exist, or the call failed (access denied, a dead endpoint),
/// in one line with its cause.
pub async fn served(lambda: &aws_sdk_lambda::Client, function: &str, qualifier: &str) -> Result<Served, ServedError> {
    let mut routing = Vec::new();
    let version = if qualifier == "$LATEST" {
        qualifier.to_owned()
    } else {
        let alias = lambda.get_alias().function_name(function).name(qualifier).send().await.map_err(|e| {
            let text = super::stack::sdk_text(&e);
            if e.into_service_error().is_resource_not_found_exception() {
                ServedError::Missing(format!(
                    "{function} has no alias `{qualifier}` in Lambda; deploy the environment first"
                ))
            } else {
                ServedError::Unreadable(format!("cannot read alias {function}:{qualifier} from Lambda: {text}"))
            }
        })?;
        if let Some(weights) = alias.routing_config().and_then(|r| r.additional_version_weights()) {
            routing = weights.iter().map(|(v, w)| (v.clone(), *w)).collect();
        }
        alias.function_version().unwrap_or("$LATEST").to_owned()
    };
    let c =
        lambda.get_function_configuration().function_name(function).qualifier(&version).send().await.map_err(|e| {
            let text = super::stack::sdk_text(&e);
            if e.into_service_error().is_resource_not_found_exception() {
                ServedError::Missing(format!(
                    "{function}:{version} does not exist in Lambda; deploy the environment first"
                ))
            } else {
                ServedError::Unreadable(format!("cannot read {function}:{version} from Lambda: {text}"))
            }
        })?;
    let variables = c
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut logging = BTreeMap::new();
    if let Some(l) = c.logging_config()
        && let Some(format) = l.log_format()
    {
        logging.insert("AWS_LAMBDA_LOG_FORMAT".to_owned(), format.as_str().to_owned());
        if format.as_str() == "JSON" {
            let level = l.application_log_level().map_or("INFO", |v| v.as_str());
            logging.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.to_owned());
        }
    }
    Ok(Served {
        qualifier: qualifier.to_owned(),
        version: c.version().unwrap_or(&version).to_owned(),
        variables,
        timeout_seconds: c.timeout().and_then(|t| u64::try_from(t).ok()),
        memory_mb: c.memory_size().and_then(|m| u64::try_from(m).ok()),
        logging,
        code_sha256: c.code_sha256().map(str::to_owned),
        routing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_hash_compares_as_lambda_writes_it() {
        let mut s = Served::variables_only(BTreeMap::new());
        assert_eq!(s.runs_code("00"), None);
        // SHA-256 of the empty input, hex and as Lambda's base64 CodeSha256.
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        s.code_sha256 = Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into());
        assert_eq!(s.runs_code(hex), Some(true));
        assert_eq!(s.runs_code(&hex.replace("e3", "f3")), Some(false));
    }

    #[test]
    fn the_qualifier_is_the_alias_the_api_invokes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        for name in crate::env::Environment::names(&dir).unwrap() {
            let env = crate::env::Environment::load_named(&dir, &name).unwrap();
            let t = crate::stacks::service::build(&env).unwrap().to_json();
            let want = if env.function.canary.is_some() { "live" } else { "$LATEST" };
            assert_eq!(invoked_qualifier(&t), want, "{name}");
        }
    }
}
