//! The AWS calls the deployed function makes, as (SDK operation, IAM action). The service stack
//! grants the function's role exactly these (infra's tests hold the role against this table),
//! and a test here holds the table against the SDK calls in the source, so a new call cannot
//! ship without its permission.

/// Every AWS SDK operation the function calls, with the IAM action that authorizes it
/// (Service Authorization Reference: AWS KMS, AWS Secrets Manager).
pub const AWS_CALLS: [(&str, &str); 3] = [
    // Once per cold start and published key: the public keys for the JWKS and `kid`.
    ("get_public_key", "kms:GetPublicKey"),
    // Once per token.
    ("sign", "kms:Sign"),
    // The client registry, cached for `lambda::REGISTRY_TTL`.
    ("get_secret_value", "secretsmanager:GetSecretValue"),
];

#[cfg(test)]
mod tests {
    use super::AWS_CALLS;

    /// `client.<operation>()` and `.client\n.<operation>()` calls in the function's source.
    fn sdk_calls(source: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find("client") {
            rest = &rest[at + "client".len()..];
            let after = rest.trim_start();
            if let Some(call) = after.strip_prefix('.') {
                let name: String = call.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if call[name.len()..].starts_with("()") && !name.is_empty() {
                    out.push(name);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_sdk_call_has_its_permission() {
        let source = include_str!("aws.rs");
        let mut declared: Vec<String> = AWS_CALLS.iter().map(|(op, _)| (*op).to_owned()).collect();
        declared.sort();
        assert_eq!(sdk_calls(source), declared);
        for (op, action) in AWS_CALLS {
            let pascal: String = op
                .split('_')
                .map(|w| w.get(..1).unwrap_or_default().to_ascii_uppercase() + w.get(1..).unwrap_or_default())
                .collect();
            assert!(action.ends_with(&format!(":{pascal}")), "{op} -> {action}");
        }
    }

    #[test]
    fn the_scan_finds_calls() {
        let text = "let x = client\n    .get_public_key()\n    .send();\nself.client.sign().key_id(k);\nclient.new()";
        assert_eq!(sdk_calls(text), ["get_public_key", "new", "sign"]);
    }
}
