//! ES256 JSON Web Tokens (RFC 7515/7518/9068) and the public key set (RFC 7517). Signing is
//! behind `Signer`: an in-process P-256 key locally, KMS on Lambda. `der_to_jose` turns the
//! DER signature KMS returns into the fixed r||s form JOSE requires.

use std::future::Future;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Serialize;

/// A public key as a JWK (RFC 7517), P-256 only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub y: String,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
}

impl Jwk {
    /// From an uncompressed SEC1 point (`0x04 || x || y`, 65 bytes); `kid` is the RFC 7638
    /// thumbprint, so the same key always gets the same id.
    pub fn from_point(point: &[u8]) -> Result<Self, SignError> {
        let (tag, xy) = point.split_first().ok_or(SignError::Key("empty public key"))?;
        if *tag != 0x04 || xy.len() != 64 {
            return Err(SignError::Key("public key is not an uncompressed P-256 point"));
        }
        let (x, y) = xy.split_at(32);
        let (x, y) = (B64.encode(x), B64.encode(y));
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = B64.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()));
        Ok(Jwk { kty: "EC", crv: "P-256", x, y, use_: "sig", alg: "ES256", kid })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("signing key: {0}")]
    Key(&'static str),
    #[error("signature is not a DER ECDSA signature")]
    Der,
    #[error("signing failed: {0}")]
    Backend(String),
}

/// Something that signs ES256.
pub trait Signer: Send + Sync {
    /// The public key, with its `kid`.
    fn jwk(&self) -> &Jwk;
    /// Every key the JWKS publishes: the signing key first, then keys that signed before it
    /// or will sign after it (a signing-key rotation).
    fn published(&self) -> Vec<&Jwk> {
        vec![self.jwk()]
    }
    /// Signs `input` with ECDSA P-256 / SHA-256; returns the JOSE form, r||s (64 bytes).
    fn sign(&self, input: &[u8]) -> impl Future<Output = Result<[u8; 64], SignError>> + Send;
}

/// An in-process key: for local serving, tests and benchmarks.
#[derive(Debug)]
pub struct LocalSigner {
    key: EcdsaKeyPair,
    jwk: Jwk,
    rng: SystemRandom,
}

impl LocalSigner {
    /// A fresh random key.
    pub fn generate() -> Result<Self, SignError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| SignError::Key("cannot generate a P-256 key"))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SignError> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| SignError::Key("not a PKCS#8 P-256 key"))?;
        let jwk = Jwk::from_point(key.public_key().as_ref())?;
        Ok(LocalSigner { key, jwk, rng: SystemRandom::new() })
    }
}

impl Signer for LocalSigner {
    fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, input: &[u8]) -> impl Future<Output = Result<[u8; 64], SignError>> + Send {
        let result =
            self.key.sign(&self.rng, input).map_err(|_| SignError::Backend("local key".into())).and_then(|sig| {
                <[u8; 64]>::try_from(sig.as_ref()).map_err(|_| SignError::Backend("unexpected signature length".into()))
            });
        std::future::ready(result)
    }
}

/// Signs `claims` as a JWT with header `{"alg":"ES256","typ":"at+jwt","kid":…}`.
pub async fn encode<S: Signer>(signer: &S, claims: &impl Serialize) -> Result<String, SignError> {
    let header = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": signer.jwk().kid});
    let claims = serde_json::to_vec(claims).map_err(|e| SignError::Backend(e.to_string()))?;
    let mut token = B64.encode(header.to_string());
    token.push('.');
    token.push_str(&B64.encode(claims));
    let sig = signer.sign(token.as_bytes()).await?;
    token.push('.');
    token.push_str(&B64.encode(sig));
    Ok(token)
}

/// Reads one DER element: (tag, content, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = if len0 < 0x80 {
        (usize::from(len0), rest)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 2 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), rest)
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((tag, content, rest))
}

/// A DER INTEGER's magnitude as 32 big-endian bytes.
fn fixed32(int: &[u8]) -> Option<[u8; 32]> {
    let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
    let digits = int.get(start..)?;
    if digits.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out.get_mut(32 - digits.len()..)?.copy_from_slice(digits);
    Some(out)
}

/// `SEQUENCE { INTEGER r, INTEGER s }` (what KMS `Sign` returns) → r||s.
pub fn der_to_jose(der: &[u8]) -> Result<[u8; 64], SignError> {
    let (tag, seq, rest) = der_element(der).ok_or(SignError::Der)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(SignError::Der);
    }
    let (tr, r, seq) = der_element(seq).ok_or(SignError::Der)?;
    let (ts, s, seq) = der_element(seq).ok_or(SignError::Der)?;
    if tr != 0x02 || ts != 0x02 || !seq.is_empty() {
        return Err(SignError::Der);
    }
    let (r, s) = (fixed32(r).ok_or(SignError::Der)?, fixed32(s).ok_or(SignError::Der)?);
    let mut out = [0u8; 64];
    let (a, b) = out.split_at_mut(32);
    a.copy_from_slice(&r);
    b.copy_from_slice(&s);
    Ok(out)
}

/// The EC point inside a DER SubjectPublicKeyInfo (what KMS `GetPublicKey` returns).
pub fn spki_point(der: &[u8]) -> Result<Vec<u8>, SignError> {
    let bad = SignError::Key("public key is not a DER SubjectPublicKeyInfo");
    let (tag, spki, _) = der_element(der).ok_or(SignError::Key("public key is not DER"))?;
    if tag != 0x30 {
        return Err(bad);
    }
    let (_, _algorithm, rest) = der_element(spki).ok_or(SignError::Key("public key has no algorithm"))?;
    let (tag, bits, _) = der_element(rest).ok_or(SignError::Key("public key has no key bits"))?;
    match bits.split_first() {
        Some((0, point)) if tag == 0x03 => Ok(point.to_vec()),
        _ => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    /// Signs with the DER variant (as KMS does), converts, and verifies the JOSE form.
    #[test]
    fn der_signatures_convert_to_verifiable_jose() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let der_key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, der_key.public_key().as_ref().to_vec());
        let (mut short_seen, mut padded_seen) = (false, false);
        for i in 0..20_000u32 {
            if short_seen && padded_seen {
                break;
            }
            let msg = format!("message {i}");
            let der = der_key.sign(&rng, msg.as_bytes()).unwrap();
            // r or s below 2^255 are encoded shorter than 32 bytes; above, with a 0x00 pad.
            short_seen |= der.as_ref().len() < 70;
            padded_seen |= der.as_ref().len() > 70;
            let jose = der_to_jose(der.as_ref()).unwrap();
            public.verify(msg.as_bytes(), &jose).unwrap();
            assert!(public.verify(b"other", &jose).is_err());
        }
        assert!(short_seen && padded_seen, "short and padded integers both exercised");
    }

    #[test]
    fn malformed_der_is_refused() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x02, 0x02, 0x00],
            &[0x31, 0x00],
            &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00],
        ] {
            assert!(der_to_jose(bad).is_err(), "{bad:?}");
        }
        let mut long = vec![0x30, 0x46, 0x02, 0x21];
        long.extend([0x7f; 33]);
        long.extend([0x02, 0x21]);
        long.extend([0x7f; 33]);
        assert!(der_to_jose(&long).is_err());
    }

    #[test]
    fn spki_point_and_thumbprint() {
        // RFC 7638 §3.1's example is RSA; check a P-256 key round-trips through SPKI instead.
        let signer = LocalSigner::generate().unwrap();
        let point = signer.key.public_key().as_ref().to_vec();
        let mut spki = vec![0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        spki.extend([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]);
        spki.extend(&point);
        assert_eq!(spki_point(&spki).unwrap(), point);
        let jwk = Jwk::from_point(&point).unwrap();
        assert_eq!(&jwk, signer.jwk());
        assert_eq!(jwk.kid.len(), 43);
        assert!(Jwk::from_point(&point[1..]).is_err());
    }
}
