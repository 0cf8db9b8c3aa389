//! ES256 and RS256 JSON Web Tokens (RFC 7515/7518/9068) and the public key set (RFC 7517).
//! Signing is behind `Signer`: an in-process key locally, KMS on Lambda. `der_to_jose` turns the
//! DER ECDSA signature KMS returns into the fixed r||s form JOSE requires; RSASSA-PKCS1-v1_5
//! signatures are used as they are.

use std::future::Future;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Serialize;

/// A JWS algorithm the service signs with (RFC 7518 §3.1): `ES256` (ECDSA P-256 SHA-256) or
/// `RS256` (RSASSA-PKCS1-v1_5 SHA-256, the one RFC 9068 §2.1 requires every verifier to take).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    RS256,
}

impl Algorithm {
    /// The `alg` value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
        }
    }
}

/// A public key as a JWK (RFC 7517): EC P-256 (`crv`, `x`, `y`) or RSA (`n`, `e`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Jwk {
    /// Key type (RFC 7517 §4.1): `EC` or `RSA`.
    pub kty: &'static str,
    /// The EC key's curve, `P-256` (RFC 7518 §6.2.1.1); absent for RSA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    /// The EC point's x coordinate, base64url of 32 bytes (RFC 7518 §6.2.1.2); absent for RSA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The EC point's y coordinate, base64url of 32 bytes (RFC 7518 §6.2.1.3); absent for RSA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The RSA modulus, base64url of its big-endian bytes without leading zeros
    /// (RFC 7518 §6.3.1.1); absent for EC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The RSA public exponent, base64url (RFC 7518 §6.3.1.2); absent for EC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Public key use, serialized as `use` (RFC 7517 §4.2): always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// The algorithm the key signs with (RFC 7517 §4.4): `ES256` or `RS256`.
    pub alg: &'static str,
    /// Key ID (RFC 7517 §4.5): the key's RFC 7638 thumbprint, as tokens it signs carry it.
    pub kid: String,
}

/// RFC 7638 thumbprint of the required members, given in lexicographic order as JSON.
fn thumbprint(canonical: &str) -> String {
    B64.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()))
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
        let kid = thumbprint(&format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#));
        Ok(Jwk {
            kty: "EC",
            crv: Some("P-256"),
            x: Some(x),
            y: Some(y),
            n: None,
            e: None,
            use_: "sig",
            alg: "ES256",
            kid,
        })
    }

    /// From an RSA modulus and public exponent (big-endian, leading zeros ignored); at least
    /// 2048 bits (RFC 7518 §3.3).
    pub fn from_rsa(modulus: &[u8], exponent: &[u8]) -> Result<Self, SignError> {
        let strip = |b: &[u8]| b.iter().skip_while(|x| **x == 0).copied().collect::<Vec<u8>>();
        let (modulus, exponent) = (strip(modulus), strip(exponent));
        if modulus.len() < 256 || exponent.is_empty() {
            return Err(SignError::Key("RSA public key is under 2048 bits"));
        }
        let (n, e) = (B64.encode(modulus), B64.encode(exponent));
        let kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        Ok(Jwk { kty: "RSA", crv: None, x: None, y: None, n: Some(n), e: Some(e), use_: "sig", alg: "RS256", kid })
    }

    /// From a DER SubjectPublicKeyInfo (what KMS `GetPublicKey` returns): an EC P-256 key
    /// (id-ecPublicKey) or an RSA key (rsaEncryption, RFC 8017 `RSAPublicKey`).
    pub fn from_spki(der: &[u8]) -> Result<Self, SignError> {
        let (bits, rsa) = spki_bits(der)?;
        if !rsa {
            return Self::from_point(&bits);
        }
        rsa_jwk(&bits)
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        if self.kty == "RSA" { Algorithm::RS256 } else { Algorithm::ES256 }
    }
}

/// Why a key cannot be read or used, or a signature cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key is unusable: malformed, of the wrong type or size, missing from an AWS answer, or
    /// could not be generated; the text says what.
    #[error("signing key: {0}")]
    Key(&'static str),
    /// An ECDSA signature is not a DER `SEQUENCE { INTEGER r, INTEGER s }` of at most 32-byte
    /// integers, or KMS `Sign` returned none.
    #[error("signature is not a DER ECDSA signature")]
    Der,
    /// Signing or loading the key failed outside the key: a KMS or Secrets Manager call, the key
    /// pair document, the local key, or serializing the claims.
    #[error("signing failed: {0}")]
    Backend(String),
}

/// Something that signs tokens: ES256 or RS256, as its key is.
pub trait Signer: Send + Sync {
    /// The public key, with its `kid` and `alg`.
    fn jwk(&self) -> &Jwk;
    /// Every key the JWKS publishes: the signing key first, then keys that signed before it
    /// or will sign after it (a signing-key rotation).
    fn published(&self) -> Vec<Jwk> {
        vec![self.jwk().clone()]
    }
    /// Signs `input`; returns the JWS signature: r||s (64 bytes) for ES256, the RSASSA-PKCS1-v1_5
    /// signature (the modulus's length) for RS256.
    fn sign(&self, input: &[u8]) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send;
}

#[derive(Debug)]
enum LocalKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// An in-process key: for local serving, tests and benchmarks.
#[derive(Debug)]
pub struct LocalSigner {
    key: LocalKey,
    jwk: Jwk,
    rng: SystemRandom,
}

impl LocalSigner {
    /// A fresh random P-256 key (ES256).
    pub fn generate() -> Result<Self, SignError> {
        Self::generate_for(Algorithm::ES256)
    }

    /// A fresh random key for `alg`: P-256, or RSA 2048.
    pub fn generate_for(alg: Algorithm) -> Result<Self, SignError> {
        match alg {
            Algorithm::ES256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| SignError::Key("cannot generate a P-256 key"))?;
                Self::from_pkcs8(pkcs8.as_ref())
            }
            Algorithm::RS256 => {
                let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| SignError::Key("cannot generate an RSA key"))?;
                let jwk = rsa_jwk(key.public_key().as_ref())?;
                Ok(LocalSigner { key: LocalKey::Rsa(key), jwk, rng: SystemRandom::new() })
            }
        }
    }

    /// A P-256 key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SignError> {
        Self::from_pkcs8_for(Algorithm::ES256, der)
    }

    /// A key for `alg` from a DER PKCS #8 PrivateKeyInfo (RFC 5208; what KMS
    /// `GenerateDataKeyPair` returns as the private key): P-256 for ES256, RSA of at least 2048
    /// bits for RS256.
    pub fn from_pkcs8_for(alg: Algorithm, der: &[u8]) -> Result<Self, SignError> {
        match alg {
            Algorithm::ES256 => {
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| SignError::Key("not a PKCS#8 P-256 key"))?;
                let jwk = Jwk::from_point(key.public_key().as_ref())?;
                Ok(LocalSigner { key: LocalKey::Ec(key), jwk, rng: SystemRandom::new() })
            }
            Algorithm::RS256 => {
                let key = RsaKeyPair::from_pkcs8(der).map_err(|_| SignError::Key("not a PKCS#8 RSA key"))?;
                let jwk = rsa_jwk(key.public_key().as_ref())?;
                Ok(LocalSigner { key: LocalKey::Rsa(key), jwk, rng: SystemRandom::new() })
            }
        }
    }

    /// A fresh key for `alg` as (DER PKCS #8 private key, DER SubjectPublicKeyInfo): the shapes
    /// KMS `GenerateDataKeyPair` returns, for tests and benchmarks.
    pub fn generate_pkcs8(alg: Algorithm) -> Result<(Vec<u8>, Vec<u8>), SignError> {
        use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
        let failed = |_| SignError::Key("cannot encode the generated key");
        match alg {
            Algorithm::ES256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| SignError::Key("cannot generate a P-256 key"))?;
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                    .map_err(|_| SignError::Key("cannot read the generated key"))?;
                let spki: PublicKeyX509Der = key.public_key().as_der().map_err(failed)?;
                Ok((pkcs8.as_ref().to_vec(), spki.as_ref().to_vec()))
            }
            Algorithm::RS256 => {
                let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| SignError::Key("cannot generate an RSA key"))?;
                let pkcs8: Pkcs8V1Der = key.as_der().map_err(failed)?;
                let spki: PublicKeyX509Der = key.public_key().as_der().map_err(failed)?;
                Ok((pkcs8.as_ref().to_vec(), spki.as_ref().to_vec()))
            }
        }
    }
}

impl Signer for LocalSigner {
    fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, input: &[u8]) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send {
        let failed = |_| SignError::Backend("local key".into());
        let result = match &self.key {
            LocalKey::Ec(key) => key.sign(&self.rng, input).map(|sig| sig.as_ref().to_vec()).map_err(failed),
            LocalKey::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &self.rng, input, &mut sig).map(|()| sig).map_err(failed)
            }
        };
        std::future::ready(result)
    }
}

/// Signs `claims` as a JWT with header `{"alg":"ES256"|"RS256","typ":"at+jwt","kid":…}`.
pub async fn encode<S: Signer>(signer: &S, claims: &impl Serialize) -> Result<String, SignError> {
    let header = serde_json::json!({"alg": signer.jwk().alg, "typ": "at+jwt", "kid": signer.jwk().kid});
    let claims = serde_json::to_vec(claims).map_err(|e| SignError::Backend(e.to_string()))?;
    let mut token = B64.encode(header.to_string());
    token.push('.');
    token.push_str(&B64.encode(claims));
    let sig = signer.sign(token.as_bytes()).await?;
    token.push('.');
    token.push_str(&B64.encode(sig));
    Ok(token)
}

/// The JWK of a DER RSAPublicKey (RFC 8017 Appendix A.1.1: `SEQUENCE { n, e }`).
fn rsa_jwk(der: &[u8]) -> Result<Jwk, SignError> {
    let (tag, seq, _) = der_element(der).ok_or(SignError::Key("RSA public key"))?;
    let (tn, n, seq) = der_element(seq).ok_or(SignError::Key("RSA modulus"))?;
    let (te, e, _) = der_element(seq).ok_or(SignError::Key("RSA exponent"))?;
    if tag != 0x30 || tn != 0x02 || te != 0x02 {
        return Err(SignError::Key("RSA public key is not a DER RSAPublicKey"));
    }
    Jwk::from_rsa(n, e)
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

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 Appendix C), as a DER OID's content.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The key bits inside a DER SubjectPublicKeyInfo, and whether its algorithm is RSA.
fn spki_bits(der: &[u8]) -> Result<(Vec<u8>, bool), SignError> {
    let bad = SignError::Key("public key is not a DER SubjectPublicKeyInfo");
    let (tag, spki, _) = der_element(der).ok_or(SignError::Key("public key is not DER"))?;
    if tag != 0x30 {
        return Err(bad);
    }
    let (_, algorithm, rest) = der_element(spki).ok_or(SignError::Key("public key has no algorithm"))?;
    let rsa = der_element(algorithm).is_some_and(|(t, oid, _)| t == 0x06 && oid == RSA_ENCRYPTION);
    let (tag, bits, _) = der_element(rest).ok_or(SignError::Key("public key has no key bits"))?;
    match bits.split_first() {
        Some((0, key)) if tag == 0x03 => Ok((key.to_vec(), rsa)),
        _ => Err(bad),
    }
}

/// The EC point inside a DER SubjectPublicKeyInfo (what KMS `GetPublicKey` returns).
pub fn spki_point(der: &[u8]) -> Result<Vec<u8>, SignError> {
    spki_bits(der).map(|(bits, _)| bits)
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
        let LocalKey::Ec(key) = &signer.key else { panic!("an ES256 signer holds a P-256 key") };
        let point = key.public_key().as_ref().to_vec();
        let mut spki = vec![0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        spki.extend([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]);
        spki.extend(&point);
        assert_eq!(spki_point(&spki).unwrap(), point);
        let jwk = Jwk::from_point(&point).unwrap();
        assert_eq!(&jwk, signer.jwk());
        assert_eq!(jwk.kid.len(), 43);
        assert!(Jwk::from_point(&point[1..]).is_err());
    }

    /// RFC 7638 §3.1's own example: the thumbprint of its RSA key.
    #[test]
    fn rsa_thumbprint_is_rfc_7638_s() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = Jwk::from_rsa(&B64.decode(n).unwrap(), &B64.decode("AQAB").unwrap()).unwrap();
        assert_eq!(jwk.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!((jwk.kty, jwk.alg, jwk.n.as_deref(), jwk.e.as_deref()), ("RSA", "RS256", Some(n), Some("AQAB")));
        let mut padded = vec![0u8];
        padded.extend(B64.decode(n).unwrap());
        assert_eq!(
            Jwk::from_rsa(&padded, &[0, 1, 0, 1]).unwrap().kid,
            jwk.kid,
            "DER sign bytes are not part of the key"
        );
        assert!(Jwk::from_rsa(&[0xff; 128], &[1, 0, 1]).is_err(), "1024 bits is refused");
    }

    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=127 => out.push(n as u8),
            n @ 128..=255 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend(content);
        out
    }

    /// An RS256 signer's tokens verify with the RSA key its JWK publishes, and the key reads
    /// back from a SubjectPublicKeyInfo (as KMS returns it) to the same JWK.
    #[test]
    fn rs256_tokens_verify_with_the_published_key() {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
        let signer = LocalSigner::generate_for(Algorithm::RS256).unwrap();
        let jwk = signer.jwk().clone();
        assert_eq!((jwk.kty, jwk.alg, jwk.crv), ("RSA", "RS256", None));
        let token = futures_lite(encode(&signer, &serde_json::json!({"sub": "a"}))).unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("RS256"), Some(jwk.kid.as_str())));
        let (signed, sig) = token.rsplit_once('.').unwrap();
        let (n, e) = (B64.decode(jwk.n.as_ref().unwrap()).unwrap(), B64.decode(jwk.e.as_ref().unwrap()).unwrap());
        let public = RsaPublicKeyComponents { n: &n, e: &e };
        public.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &B64.decode(sig).unwrap()).unwrap();
        assert!(public.verify(&RSA_PKCS1_2048_8192_SHA256, b"other", &B64.decode(sig).unwrap()).is_err());

        let LocalKey::Rsa(key) = &signer.key else { panic!("an RS256 signer holds an RSA key") };
        let oid = der(0x06, RSA_ENCRYPTION);
        let algorithm = der(0x30, &[oid, vec![0x05, 0x00]].concat());
        let bits = der(0x03, &[&[0u8][..], key.public_key().as_ref()].concat());
        let spki = der(0x30, &[algorithm, bits].concat());
        assert_eq!(Jwk::from_spki(&spki).unwrap(), jwk);
        assert!(Jwk::from_spki(&spki[..spki.len() - 1]).is_err());
    }

    /// Polls a future that never waits (local signing) to its end.
    fn futures_lite<F: Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("local signing does not wait"),
        }
    }
}
