//! Alert topics CloudWatch can publish to (SNS).

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype, strings};

/// SNS001.
pub const SNS001: Rule = Rule {
    id: "SNS001",
    severity: Severity::Error,
    summary: "alert topics are encrypted with a customer-managed key, never `alias/aws/sns` (CloudWatch cannot publish to those)",
    source: "CloudWatch User Guide, \"Using Amazon CloudWatch alarms\" (encrypted SNS topics need a customer managed key)",
};
/// SNS002.
pub const SNS002: Rule = Rule {
    id: "SNS002",
    severity: Severity::Error,
    summary: "the topic key's policy lets `cloudwatch.amazonaws.com` use `kms:Decrypt` and `kms:GenerateDataKey*`",
    source: "Amazon SNS developer guide, \"Configuring AWS KMS permissions\" (AWS services publishing to encrypted topics)",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&SNS001, &SNS002];

/// `true` when a key policy lets CloudWatch use the key to publish alarms.
fn lets_cloudwatch_publish(key: &Json) -> bool {
    let statements = props(key, "KeyPolicy").and_then(|p| p.get("Statement")).and_then(Json::as_array);
    statements.into_iter().flatten().any(|st| {
        let service = strings(st.pointer("/Principal/Service"));
        let actions = strings(st.get("Action"));
        st.get("Effect").and_then(Json::as_str) == Some("Allow")
            && service.iter().any(|s| s == "cloudwatch.amazonaws.com")
            && actions.iter().any(|a| a == "kms:Decrypt" || a == "kms:*")
            && actions.iter().any(|a| a == "kms:GenerateDataKey*" || a == "kms:*")
    })
}

pub(super) fn topics(cx: &mut Ctx<'_>, json: &Json) {
    let all: Vec<(&String, &Json)> = resources(json).collect();
    for (id, r) in all.iter().filter(|(_, r)| rtype(r) == "AWS::SNS::Topic") {
        let path = format!("$.Resources.{id}.Properties.KmsMasterKeyId");
        match props(r, "KmsMasterKeyId") {
            None => cx.push(&SNS001, path, "alert topic is not encrypted; use a customer-managed KMS key"),
            Some(Json::String(k)) if k.ends_with("alias/aws/sns") => cx.push(&SNS001, path,
                "alias/aws/sns cannot be used by CloudWatch: alarm notifications would be silently dropped; use a customer-managed key",
            ),
            Some(k) => {
                let target = k.get("Ref").or_else(|| k.pointer("/Fn::GetAtt/0")).and_then(Json::as_str);
                let key = target.and_then(|t| all.iter().find(|(kid, _)| kid.as_str() == t)).map(|(_, r)| *r);
                if let Some(key) = key
                    && !lets_cloudwatch_publish(key)
                {
                    cx.push(&SNS002, path,
                        format!("the key policy of `{}` does not let cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*", target.unwrap_or_default()),
                    );
                }
            }
        }
    }
}
