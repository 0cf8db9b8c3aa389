//! The AWS calls the deployed function makes, as (SDK operation, IAM action). The service stack
//! grants the function's role exactly these (infra's tests hold the role against this table),
//! and a test here holds the table against the SDK calls in the source, so a new call cannot
//! ship without its permission.

use crate::key_pairs::SigningMode;

/// Every AWS SDK operation the function calls, with the IAM action that authorizes it
/// (Service Authorization Reference: AWS KMS, AWS Secrets Manager) and the signing mode that
/// makes it (`None`: every mode).
pub const AWS_CALLS: [(&str, &str, Option<SigningMode>); 4] = [
    // Once per cold start and published key: the public keys for the JWKS and `kid`.
    ("get_public_key", "kms:GetPublicKey", Some(SigningMode::Kms)),
    // Once per token.
    ("sign", "kms:Sign", Some(SigningMode::Kms)),
    // Once per cold start: the signing slot's private key.
    ("decrypt", "kms:Decrypt", Some(SigningMode::Envelope)),
    // The client registry, cached for `lambda::REGISTRY_TTL`; in envelope mode also the key
    // pair document, once per cold start.
    ("get_secret_value", "secretsmanager:GetSecretValue", None),
];

/// The IAM actions the function needs in `mode`, sorted.
pub fn actions(mode: SigningMode) -> Vec<&'static str> {
    let mut out: Vec<&str> =
        AWS_CALLS.iter().filter(|(_, _, m)| m.is_none_or(|m| m == mode)).map(|(_, a, _)| *a).collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::{AWS_CALLS, SigningMode};

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
        let mut declared: Vec<String> = AWS_CALLS.iter().map(|(op, _, _)| (*op).to_owned()).collect();
        declared.sort();
        assert_eq!(sdk_calls(source), declared);
        assert_eq!(super::actions(SigningMode::Kms), ["kms:GetPublicKey", "kms:Sign", "secretsmanager:GetSecretValue"]);
        assert_eq!(super::actions(SigningMode::Envelope), ["kms:Decrypt", "secretsmanager:GetSecretValue"]);
        for (op, action, _) in AWS_CALLS {
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
