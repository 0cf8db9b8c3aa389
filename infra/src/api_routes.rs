//! The deployed REST API's routing, read back from a synthesized service template: which
//! path and method reach the function (and as which `resource`), and what API Gateway answers
//! by itself otherwise. Tests hold it against the function's own routing, so the deployed API
//! and `infra serve` answer alike.
//!
//! Rules modelled (API Gateway developer guide, "Set up REST API resources" and "Gateway
//! responses"): a request matches a resource by its full path (one trailing `/` ignored); a
//! method matches when the resource defines it or `ANY`; an unmatched path or method gets the
//! `MISSING_AUTHENTICATION_TOKEN` gateway response, by default `403 {"message":"Missing
//! Authentication Token"}`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

/// An answer API Gateway gives without calling the integration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayAnswer {
    /// HTTP status code of the answer.
    pub status: u16,
    /// Header names as written in the template (`Content-Type`).
    pub headers: Vec<(String, String)>,
    /// Response body: the template's `application/json` response template with the message filled
    /// in, else API Gateway's default `{"message":…}`.
    pub body: String,
}

/// A `GatewayResponse` of the template; `status` is `None` when it keeps the type's default.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Custom {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: String,
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// To the Lambda proxy integration; `resource` is the event's `resource` (`/oauth/token`).
    Integration {
        /// The matched resource's full path, without a trailing `/`.
        resource: String,
    },
    /// Answered by API Gateway itself.
    Gateway(GatewayAnswer),
}

/// The routes of one REST API in a template.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    /// Full resource path → its methods (`ANY` included as written).
    routes: BTreeMap<String, BTreeSet<String>>,
    /// Gateway response type → the template's customization.
    responses: BTreeMap<String, Custom>,
}

impl RouteTable {
    /// Reads every `AWS::ApiGateway::Resource`, `Method` and `GatewayResponse` of `template`.
    ///
    /// # Errors
    /// A resource whose parent is neither the API root nor another resource in the template, or
    /// a status code that is not a number: the template is not one this model understands.
    pub fn from_template(template: &Json) -> Result<Self, String> {
        let resources: Vec<(&String, &Json)> =
            template.get("Resources").and_then(Json::as_object).into_iter().flatten().collect();
        let of_type = |ty: &'static str| {
            resources.iter().filter(move |(_, r)| r["Type"] == ty).map(|(id, r)| (id.as_str(), &r["Properties"]))
        };
        let parts: BTreeMap<&str, (&Json, &str)> = of_type("AWS::ApiGateway::Resource")
            .map(|(id, p)| (id, (&p["ParentId"], p["PathPart"].as_str().unwrap_or_default())))
            .collect();
        let path_of = |resource_id: &Json| -> Result<String, String> {
            let mut segments = Vec::new();
            let mut at = resource_id;
            while let Some(id) = at.get("Ref").and_then(Json::as_str) {
                let (parent, part) = parts.get(id).ok_or_else(|| format!("resource {id} is not in the template"))?;
                segments.push(*part);
                at = parent;
                if segments.len() > parts.len() {
                    return Err(format!("resource {id} is its own ancestor"));
                }
            }
            if at.pointer("/Fn::GetAtt/1").and_then(Json::as_str) != Some("RootResourceId") {
                return Err(format!("resource path ends at {at}, not the API's root"));
            }
            segments.reverse();
            Ok(format!("/{}", segments.join("/")))
        };
        let mut table = RouteTable::default();
        for (_, p) in of_type("AWS::ApiGateway::Method") {
            let method = p["HttpMethod"].as_str().unwrap_or_default().to_owned();
            table.routes.entry(path_of(&p["ResourceId"])?).or_default().insert(method);
        }
        for (id, p) in of_type("AWS::ApiGateway::GatewayResponse") {
            let status = match p["StatusCode"].as_str() {
                None => None,
                Some(s) => Some(s.parse().map_err(|_| format!("{id}: StatusCode {s} is not a number"))?),
            };
            let headers = p["ResponseParameters"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| {
                    let name = k.strip_prefix("gatewayresponse.header.")?;
                    Some((name.to_owned(), v.as_str()?.trim_matches('\'').to_owned()))
                })
                .collect();
            let body = p.pointer("/ResponseTemplates/application~1json").and_then(Json::as_str).unwrap_or_default();
            let custom = Custom { status, headers, body: body.to_owned() };
            table.responses.insert(p["ResponseType"].as_str().unwrap_or_default().to_owned(), custom);
        }
        Ok(table)
    }

    /// Every path with its methods.
    pub fn routes(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.routes
    }

    /// Where `method path` goes.
    pub fn route(&self, method: &str, path: &str) -> Routed {
        let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
        match self.routes.get(path) {
            Some(methods) if methods.contains("ANY") || methods.contains(method) => {
                Routed::Integration { resource: path.to_owned() }
            }
            _ => Routed::Gateway(self.gateway("MISSING_AUTHENTICATION_TOKEN")),
        }
    }

    /// The answer for a gateway response type: the template's customization of that type,
    /// else of `DEFAULT_4XX`/`DEFAULT_5XX` for its status class, else API Gateway's default
    /// (`{"message":…}` with the type's default status; "Gateway response types for API
    /// Gateway").
    /// A type not modelled here is answered as `DEFAULT_5XX` with status 500.
    pub fn gateway(&self, response_type: &str) -> GatewayAnswer {
        let (status, message) = DEFAULT_ANSWERS
            .iter()
            .find(|(t, _, _)| *t == response_type)
            .map(|(_, s, m)| (*s, *m))
            .unwrap_or((500, "Internal server error"));
        let class = if status < 500 { "DEFAULT_4XX" } else { "DEFAULT_5XX" };
        let custom = self.responses.get(response_type).or_else(|| self.responses.get(class));
        match custom {
            Some(c) => GatewayAnswer {
                status: c.status.unwrap_or(status),
                headers: c.headers.clone(),
                body: c.body.replace("$context.error.messageString", &format!("\"{message}\"")),
            },
            None => GatewayAnswer {
                status,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: serde_json::json!({ "message": message }).to_string(),
            },
        }
    }
}

/// Gateway response types with their default status and message.
pub const DEFAULT_ANSWERS: [(&str, u16, &str); 7] = [
    ("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"),
    ("THROTTLED", 429, "Too Many Requests"),
    ("REQUEST_TOO_LARGE", 413, "Request Too Long"),
    ("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out"),
    // A function error or a malformed proxy response.
    ("INTEGRATION_FAILURE", 502, "Internal server error"),
    ("WAF_FILTERED", 403, "Forbidden"),
    ("BAD_REQUEST_BODY", 400, "Invalid request body"),
];
