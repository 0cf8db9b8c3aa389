"""Black-box test of the token endpoint with real OAuth and JOSE client libraries.

Starts `infra serve dev` on a free loopback port, fetches tokens with Authlib's OAuth 2.0
client (client_secret_basic and client_secret_post), and verifies every access token against
the published JWKS with PyJWT, an independent JOSE implementation, both with the JWKS URL given
and discovered from the issuer's OpenID configuration (`discovery.py`). The issuer is the
server's own URL. Exits non-zero on any failure and prints 'N passed, N failed'.
"""

import base64
import os
import re
import subprocess
import sys
import time

import jwt
import requests

import discovery
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# Authlib sends Basic credentials without the form-encoding RFC 6749 §2.3.1 asks for, so its
# client gets a secret that encoding leaves unchanged; the second client's secret needs it.
SECRET = "local-secret_0123456789abcdef"
CLIENT = "dev-test-client"
ODD_CLIENT = "inventory-service"
ODD_SECRET = "s3cret with spaces & symbols:+/=%"
AUDIENCE = "https://api.dev.example.com"

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def start(environments=None):
    binary = os.environ.get("INFRA_BIN") or os.path.join(ROOT, "target", "debug", "infra")
    env = dict(os.environ, TOKEN_SERVICE_LOCAL_SECRETS=f"{CLIENT}={SECRET},{ODD_CLIENT}={ODD_SECRET}")
    folder = ["--environments", environments] if environments else []
    proc = subprocess.Popen(
        [binary, *folder, "serve", "dev", "--port", "0"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"on (http://127\.0\.0\.1:\d+)", line or "")
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    sys.exit(f"server did not start: {proc.stderr.read()}")


def verify(base, token, scope, alg="ES256"):
    jwks = jwt.PyJWKClient(f"{base}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(token)
    header = jwt.get_unverified_header(token)
    check(f"header alg is {alg}", header.get("alg") == alg, header)
    claims = jwt.decode(token, key.key, algorithms=[alg], audience=AUDIENCE, issuer=base,
                        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
    check("header typ is at+jwt", header.get("typ") == "at+jwt", header)
    check("sub and client_id are the client", claims["sub"] == CLIENT and claims["client_id"] == CLIENT, claims)
    check("scope claim", claims["scope"] == scope, claims)
    check("lifetime is the environment's ttl", claims["exp"] - claims["iat"] == 3600, claims)
    return claims["jti"]


def rs256():
    """The same endpoint with `signing_key.algorithm: RS256`: PyJWT verifies RS256 tokens against
    an RSA key in the JWKS (RFC 9068 2.1)."""
    import tempfile
    folder = tempfile.mkdtemp()
    with open(os.path.join(ROOT, "environments", "dev.yaml")) as f:
        text = f.read()
    text = text.replace("signing_key:\n", "signing_key:\n  algorithm: RS256\n", 1)
    with open(os.path.join(folder, "dev.yaml"), "w") as f:
        f.write(text)
    proc, base = start(folder)
    try:
        session = OAuth2Session(CLIENT, SECRET, token_endpoint_auth_method="client_secret_basic")
        tok = session.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")
        verify(base, tok["access_token"], "orders:read", alg="RS256")
        claims = discovery.verify(base, tok["access_token"], AUDIENCE, check)
        check("RS256: discovery lists RS256", claims["client_id"] == CLIENT)
        keys = requests.get(f"{base}/.well-known/jwks.json", timeout=5).json()["keys"]
        check("RS256: the JWKS holds an RSA key of 2048 bits", [k["kty"] for k in keys] == ["RSA"]
              and len(base64.urlsafe_b64decode(keys[0]["n"] + "==")) == 256, keys)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    proc, base = start()
    try:
        url = f"{base}/oauth/token"
        basic = OAuth2Session(CLIENT, SECRET, token_endpoint_auth_method="client_secret_basic")
        tok = basic.fetch_token(url, grant_type="client_credentials")
        check("basic: bearer token", tok["token_type"] == "Bearer" and tok["expires_in"] == 3600, tok)
        jti1 = verify(base, tok["access_token"], "orders:read")
        # A verifier that knows only the issuer, and a client that finds the token endpoint there.
        discovery.verify(base, tok["access_token"], AUDIENCE, check)
        found = discovery.metadata(base, check)["token_endpoint"]
        tok = OAuth2Session(CLIENT, SECRET).fetch_token(found, grant_type="client_credentials")
        check("the discovered token endpoint issues tokens", found == url and tok["token_type"] == "Bearer", found)

        post = OAuth2Session(CLIENT, SECRET, token_endpoint_auth_method="client_secret_post",
                             scope="orders:write inventory:read")
        tok = post.fetch_token(url, grant_type="client_credentials")
        jti2 = verify(base, tok["access_token"], "inventory:read orders:write")
        check("jti unique", jti1 != jti2)

        wrong = OAuth2Session(CLIENT, "wrong", token_endpoint_auth_method="client_secret_basic")
        try:
            wrong.fetch_token(url, grant_type="client_credentials")
            check("wrong secret refused", False)
        except OAuthError as e:
            check("wrong secret refused with invalid_client", e.error == "invalid_client", e)

        bad_scope = OAuth2Session(CLIENT, SECRET, scope="admin")
        try:
            bad_scope.fetch_token(url, grant_type="client_credentials")
            check("scope outside the client's refused", False)
        except OAuthError as e:
            check("scope outside the client's refused with invalid_scope", e.error == "invalid_scope", e)

        from urllib.parse import quote_plus
        import base64
        creds = base64.b64encode(f"{quote_plus(ODD_CLIENT)}:{quote_plus(ODD_SECRET)}".encode()).decode()
        r = requests.post(url, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {creds}"}, timeout=5)
        check("form-encoded Basic credentials (RFC 6749 2.3.1)", r.status_code == 200 and r.json()["scope"] == "inventory:read", r.text)
        r = requests.post(url, data={"grant_type": "client_credentials", "client_id": ODD_CLIENT, "client_secret": ODD_SECRET}, timeout=5)
        check("client_secret_post with symbols", r.status_code == 200 and r.json()["expires_in"] == 900, r.text)

        r = requests.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT, "nope"), timeout=5)
        check("401 with WWW-Authenticate", r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers)
        # RFC 6749 2.3.1: each part is form-urldecoded on its own; `&` and `=` are literal.
        for user, password in [(quote_plus(ODD_CLIENT), quote_plus(ODD_SECRET) + "&zzz"),
                               (quote_plus(ODD_CLIENT), quote_plus(ODD_SECRET) + "&"),
                               (quote_plus(ODD_CLIENT) + "&x", quote_plus(ODD_SECRET)),
                               (quote_plus(ODD_CLIENT), ODD_SECRET)]:
            creds = base64.b64encode(f"{user}:{password}".encode()).decode()
            r = requests.post(url, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {creds}"}, timeout=5)
            check(f"Basic {user}:{password} refused", r.status_code == 401 and r.json()["error"] == "invalid_client", r.text)
        r = requests.post(url, data={"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": "nope"}, timeout=5)
        check("client_secret_post 401 carries WWW-Authenticate", r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers)
        r = requests.post(url, data=b"x" * 100_000, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
        check("oversized body is 400 invalid_request", r.status_code == 400 and r.json()["error"] == "invalid_request", (r.status_code, r.text))
        r = requests.get(url, timeout=5)
        check("GET on the token endpoint is 405 with Allow: POST", r.status_code == 405 and r.headers.get("Allow") == "POST", r.headers)
        r = requests.get(f"{base}/nope", timeout=5)
        check("unknown path is 404 not_found", r.status_code == 404 and r.json() == {"error": "not_found"}, r.text)
        import socket
        host, port = base.removeprefix("http://").split(":")
        def raw(request, wait):
            with socket.create_connection((host, int(port)), timeout=wait) as c:
                c.sendall(request)
                started = time.time()
                data = b""
                try:
                    while chunk := c.recv(4096):
                        data += chunk
                except socket.timeout:
                    pass
                return data, time.time() - started
        data, took = raw(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\n", 5)
        check("declared oversized body refused at once with 400", data.startswith(b"HTTP/1.1 400") and took < 2, (data[:60], took))
        data, took = raw(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nabc", 20)
        check("a body that never arrives ends in 400 within the read timeout", data.startswith(b"HTTP/1.1 400") and took < 15, (data[:60], took))
        meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=5).json()
        check("metadata", meta["issuer"] == base and meta["grant_types_supported"] == ["client_credentials"], meta)
        check("health", requests.get(f"{base}/health", timeout=5).status_code == 200)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    rs256()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
