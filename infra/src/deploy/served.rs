//! What the deployed API really invokes: the function's configuration as Lambda holds it for the
//! qualifier API Gateway calls (the `live` alias where there is one, else `$LATEST`). A published
//! version's configuration is frozen (Lambda developer guide, "Manage Lambda function
//! versions"), so where an alias serves a version, its variables may differ from the template's
//! and from `$LATEST`; `serve --lambda` and the smoke check run exactly these.

use std::collections::BTreeMap;

use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::Value as Json;

/// The configuration one qualifier of a function runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The qualifier asked for (`live`, `$LATEST`).
    pub qualifier: String,
    /// The version it resolves to (`7`, or `$LATEST`).
    pub version: String,
    /// `Environment.Variables`.
    pub variables: BTreeMap<String, String>,
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

/// Lambda's configuration of `function` at `qualifier`: an alias is resolved to the version it
/// points at (`GetAlias`), whose configuration is read (`GetFunctionConfiguration`).
///
/// # Errors
/// The function or alias does not exist, or the call failed (access denied, a dead endpoint),
/// in one line with its cause.
pub async fn served(lambda: &aws_sdk_lambda::Client, function: &str, qualifier: &str) -> Result<Served, String> {
    let version = if qualifier == "$LATEST" {
        qualifier.to_owned()
    } else {
        let alias = lambda.get_alias().function_name(function).name(qualifier).send().await.map_err(|e| {
            let e = e.into_service_error();
            if e.is_resource_not_found_exception() {
                format!("{function} has no alias `{qualifier}` in Lambda; deploy the environment first")
            } else {
                format!("cannot read alias {function}:{qualifier} from Lambda: {}", DisplayErrorContext(e))
            }
        })?;
        alias.function_version().unwrap_or("$LATEST").to_owned()
    };
    let c =
        lambda.get_function_configuration().function_name(function).qualifier(&version).send().await.map_err(|e| {
            let e = e.into_service_error();
            if e.is_resource_not_found_exception() {
                format!("{function}:{version} does not exist in Lambda; deploy the environment first")
            } else {
                format!("cannot read {function}:{version} from Lambda: {}", DisplayErrorContext(e))
            }
        })?;
    let variables = c
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(Served { qualifier: qualifier.to_owned(), version: c.version().unwrap_or(&version).to_owned(), variables })
}

#[cfg(test)]
mod tests {
    use super::*;

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
