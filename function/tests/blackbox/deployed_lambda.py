"""End to end against a local AWS emulator: the real artifact, deployed and run.

1. Builds the function zip with `infra package` (the zip deploy uploads) for a copy of
   environments/dev.yaml, for the architecture the file ships (arm64: cargo-zigbuild builds it,
   and on an x86_64 machine the smoke check and `serve --lambda` run it under qemu-user), so
   the artifact users deploy is the one tested.
2. Bootstraps and deploys that environment to the emulator at AWS_ENDPOINT_URL (LocalStack);
   the deploy's smoke check runs the uploaded zip locally and must pass.
3. Registers a client with `infra clients dev add` (the secret is printed once).
4. Runs `infra serve dev --lambda` (the same zip behind a local Lambda Runtime API and REST
   API translation, with the deployed KMS key and secret), obtains tokens with Authlib's
   OAuth 2.0 client and verifies them with PyJWT against the served JWKS and against a JWK
   built here from KMS GetPublicKey.
5. Rotates the client's secret (`rotate`, then `finish-rotation`): both secrets work during
   the overlap, only the new one after it.
6. Rotates the signing key (`keys rotate`, three steps): tokens signed before the switch verify
   until the old key leaves the JWKS; tokens signed after it carry the new kid.
   Then the same with `signing_key.algorithm: RS256` in a second environment: a KMS RSA_2048
   key signs and PyJWT verifies RS256 against the JWKS.
7. Envelope mode (`signing_key.mode: envelope`), ES256 and RS256, each in an environment of its
   own: deploy generates the key pair under the environment's symmetric KMS key (the secret
   holds only its ciphertext, which decrypts only under its service's encryption context), the
   artifact signs in process and PyJWT verifies against the JWKS; the ES256 one rotates its key
   all the way round (a -> b -> a), each new slot getting a fresh key pair, the retired one
   leaving the secret. And an environment deployed in kms mode switched to envelope mode:
   refused without --replace-signing-keys, then signing with the pair deploy kept.
8. Destroys the environments' stacks.

Exits non-zero on any failure and prints 'N passed, N failed'.
"""

import base64
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import boto3
import jwt
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from cryptography.hazmat.primitives.serialization import load_der_public_key

import discovery

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BINARY = os.environ.get("INFRA_BIN") or os.path.join(ROOT, "target", "debug", "infra")
# Unique per run: an emulator may keep what an earlier run left behind.
PREFIX = "e2e-" + os.urandom(3).hex()
CLIENT = "dev-test-client"
# `serve --lambda` issues under its own URL, `http://127.0.0.1:<port>/<stage>`.
LOCAL_ISSUER = re.compile(r"http://127\.0\.0\.1:\d+/v1")
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


def infra(envs, *args, timeout=900, now=None):
    env = dict(os.environ, **({"INFRA_NOW": str(now)} if now else {}))
    out = subprocess.run([BINARY, "--environments", envs, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    return out.returncode, out.stdout, out.stderr


def environment(folder, algorithm=None, prefix=None, mode=None):
    with open(os.path.join(ROOT, "environments", "dev.yaml")) as f:
        text = f.read()
    assert "architecture: arm64" in text, "dev.yaml no longer ships arm64: update this test's docstring"
    replacements = [("stack_prefix: token-service", f"stack_prefix: {prefix or PREFIX}"),
                    # No API Gateway JWT authorizer verifies these tokens: publish 300 s before signing.
                    ("signing_key:\n", "signing_key:\n  verifier_cache_seconds: 300\n")]
    if algorithm:
        replacements.append(("signing_key:\n", f"signing_key:\n  algorithm: {algorithm}\n"))
    if mode:
        replacements.append(("signing_key:\n", f"signing_key:\n  mode: {mode}\n"))
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    with open(os.path.join(folder, "dev.yaml"), "w") as f:
        f.write(text)


def add_client(envs, *action):
    code, out, err = infra(envs, "clients", "dev", *action, "dev-test-client", "--json")
    check(f"clients {action[0]} prints the secret once", code == 0, err[-2000:])
    return json.loads(out)["client_secret"] if code == 0 else ""


def token_status(base, secret):
    r = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(CLIENT, secret),
                      timeout=60)
    return r.status_code


def rotation(envs, zip_path, old):
    """Both secrets work during a rotation; after finish-rotation only the new one. Each phase
    starts the function afresh, as a cold start reads the registry at once."""
    new = add_client(envs, "rotate")
    proc, base = serve(envs, zip_path)
    try:
        check("during the rotation the old and the new secret work",
              (token_status(base, old), token_status(base, new)) == (200, 200))
    finally:
        stop(proc)
    code, _, err = infra(envs, "clients", "dev", "finish-rotation", "dev-test-client")
    check("finish-rotation", code == 0, err[-2000:])
    proc, base = serve(envs, zip_path)
    try:
        check("after it only the new secret works", (token_status(base, old), token_status(base, new)) == (401, 200))
    finally:
        stop(proc)
    code, out, _ = infra(envs, "clients", "dev", "list", "--json")
    standing = {r["client_id"]: r["standing"] for r in json.loads(out)} if code == 0 else {}
    check("clients list shows who is registered", standing == {"dev-test-client": "registered",
                                                                "inventory-service": "not_registered"}, standing)


def stack_outputs(name):
    cfn = boto3.client("cloudformation", region_name="eu-west-1")
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def kms_jwk(key_arn):
    """The signing key's public half as a JWK, from KMS itself, with its RFC 7638 thumbprint."""
    der = boto3.client("kms", region_name="eu-west-1").get_public_key(KeyId=key_arn)["PublicKey"]
    numbers = load_der_public_key(der).public_numbers()
    b64 = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()
    jwk = {"crv": "P-256", "kty": "EC", "x": b64(numbers.x), "y": b64(numbers.y)}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return jwk, thumbprint


def serve(envs, zip_path, **extra_env):
    proc = subprocess.Popen(
        [BINARY, "--environments", envs, "serve", "dev", "--lambda", "--function-zip", zip_path, "--port", "0"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        env=dict(os.environ, **extra_env),
    )
    deadline = time.time() + 60
    lines = []
    while time.time() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        m = re.search(r"function on (http://127\.0\.0\.1:\d+/\S+)", line or "")
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    sys.exit(f"serve --lambda did not start: {''.join(lines)}{proc.stderr.read()}")


def tokens(base, jwk, thumbprint, secret):
    url = f"{base}/oauth/token"
    session = OAuth2Session(CLIENT, secret, token_endpoint_auth_method="client_secret_basic")
    tok = session.fetch_token(url, grant_type="client_credentials")
    check("Authlib obtains a token from the real artifact", tok.get("token_type") == "Bearer", tok)
    token = tok["access_token"]
    header = jwt.get_unverified_header(token)
    check("the token's kid is the RFC 7638 thumbprint of the KMS key", header.get("kid") == thumbprint, header)
    served = jwt.PyJWKClient(f"{base}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, served.key, algorithms=["ES256"], audience=AUDIENCE, issuer=base)
    check("verifies against the served JWKS", claims["client_id"] == CLIENT and claims["scope"] == "orders:read",
          claims)
    from_kms = jwt.PyJWK(dict(jwk, alg="ES256")).key
    claims = jwt.decode(token, from_kms, algorithms=["ES256"], audience=AUDIENCE, issuer=base)
    check("verifies against the key KMS holds", claims["sub"] == CLIENT, claims)

    post = OAuth2Session(CLIENT, secret, token_endpoint_auth_method="client_secret_post", scope="orders:write")
    tok = post.fetch_token(url, grant_type="client_credentials")
    claims = jwt.decode(tok["access_token"], from_kms, algorithms=["ES256"], audience=AUDIENCE, issuer=base)
    check("client_secret_post with a scope", claims["scope"] == "orders:write", claims)

    for name, session, want in [
        ("a wrong secret is invalid_client", OAuth2Session(CLIENT, secret + "x"), "invalid_client"),
        ("a secret with junk after & is invalid_client", OAuth2Session(CLIENT, secret + "&junk"), "invalid_client"),
        ("a scope outside the client's is invalid_scope", OAuth2Session(CLIENT, secret, scope="payments:write"),
         "invalid_scope"),
    ]:
        try:
            session.fetch_token(url, grant_type="client_credentials")
            check(name, False, "a token was issued")
        except OAuthError as e:
            check(name, e.error == want, e.error)

    r = requests.get(url, timeout=10)
    check("GET on the token path is 405 with Allow: POST", r.status_code == 405 and r.headers.get("allow") == "POST",
          (r.status_code, dict(r.headers)))
    r = requests.get(f"{base}/nowhere", timeout=10)
    check("an unknown path gets the API's 404 gateway response", r.status_code == 404, (r.status_code, r.text))
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    check("metadata names the issuer", meta.get("issuer") == base, meta)
    # A verifier configured with nothing but the issuer (an API Gateway JWT authorizer, go-oidc).
    discovery.verify(base, token, AUDIENCE, check)


def verifies(token, jwks):
    """Whether `token` verifies against one key of the JWKS document `jwks` (PyJWT)."""
    kid = jwt.get_unverified_header(token).get("kid")
    keys = [k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid]
    if not keys:
        return False
    # Each `serve --lambda` issues under its own port: the issuer is any of them.
    issuer = jwt.decode(token, options={"verify_signature": False}).get("iss", "")
    if not LOCAL_ISSUER.fullmatch(issuer):
        return False
    try:
        jwt.decode(token, keys[0].key, algorithms=["ES256", "RS256"], audience=AUDIENCE, issuer=issuer)
        return True
    except jwt.PyJWTError:
        return False


def token_and_jwks(envs, zip_path, secret):
    """One token and the JWKS from a fresh `serve --lambda` (a cold start reads every key at
    once); the token is "" when none was issued."""
    proc, base = serve(envs, zip_path)
    try:
        r = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(CLIENT, secret), timeout=60)
        jwks = requests.get(f"{base}/.well-known/jwks.json", timeout=60).json()
    finally:
        stop(proc)
    return r.json().get("access_token", ""), jwks


def key_rotation(envs, zip_path, secret, label=""):
    """One rotation of the signing key, each step a `keys rotate` (INFRA_NOW walks the clock past
    the JWKS cache and the token lifetime): a token signed before the switch verifies against the
    JWKS until the old key leaves it; tokens signed after the switch carry the new kid."""
    t0 = int(time.time())

    def phase():
        return token_and_jwks(envs, zip_path, secret)

    kids = lambda jwks: sorted(k["kid"] for k in jwks["keys"])
    before, jwks = phase()
    kid_a = jwt.get_unverified_header(before)["kid"]
    check(label + "one key before the rotation", kids(jwks) == [kid_a], jwks)

    code, _, err = infra(envs, "keys", "dev", "rotate", "--yes", now=t0)
    check(label + "keys rotate: a -> a-publish-b", code == 0 and "a -> a-publish-b" in err, err[-2000:])
    token, jwks = phase()
    check(label + "the new key is published while the old one signs",
          len(kids(jwks)) == 2 and jwt.get_unverified_header(token)["kid"] == kid_a, (kids(jwks), token[:40]))

    code, _, err = infra(envs, "keys", "dev", "rotate", "--yes", now=t0 + 10)
    check(label + "a step before the JWKS cache time is refused", code == 1 and "too early" in err, err[-1000:])
    code, _, err = infra(envs, "keys", "dev", "rotate", "--yes", now=t0 + 900)
    check(label + "keys rotate: -> b-signs-a-published", code == 0 and "-> b-signs-a-published" in err, err[-2000:])
    after, jwks = phase()
    kid_b = jwt.get_unverified_header(after)["kid"]
    check(label + "tokens signed after the switch carry the new kid", kid_b != kid_a and kid_b in kids(jwks), kid_b)
    check(label + "a token signed before the switch still verifies against the JWKS", verifies(before, jwks))

    code, _, err = infra(envs, "keys", "dev", "rotate", "--yes", now=t0 + 3000)
    check(label + "the old key stays until the longest token has expired", code == 1 and "too early" in err, err[-1000:])
    code, _, err = infra(envs, "keys", "dev", "rotate", "--yes", now=t0 + 900 + 3600 + 120)
    check(label + "keys rotate: -> b", code == 0 and "-> b " in err, err[-2000:])
    latest, jwks = phase()
    check(label + "then the old key has left the JWKS", kids(jwks) == [kid_b], kids(jwks))
    check(label + "tokens of the old key no longer verify; the new key's do",
          not verifies(before, jwks) and verifies(after, jwks) and verifies(latest, jwks))
    code, out, _ = infra(envs, "keys", "dev", "status", now=t0 + 900 + 3600 + 120)
    check(label + "keys status names the stage", code == 0 and out.startswith("stage: b "), out)
    return kid_a, kid_b, t0 + 900 + 3600 + 120


def switch_to_envelope(work, zip_path):
    """A deployed kms-mode environment switched to envelope mode: refused without
    --replace-signing-keys, then a configuration change: the key pair deploy kept in step in kms
    mode signs at once (a new kid), and PyJWT verifies it against the JWKS."""
    made = variant(work, zip_path, "switch", "s")
    if not made:
        return
    envs, secret = made
    name = f"{PREFIX}s-dev-service"
    kms_kid = kms_jwk(stack_outputs(name)["SigningKeyArn"])[1]
    path = os.path.join(envs, "dev.yaml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("signing_key:\n", "signing_key:\n  mode: envelope\n"))
    code, _, err = infra(envs, "deploy", "dev", "--yes", "--function-zip", zip_path)
    check("switching the mode needs --replace-signing-keys", code == 1 and "--replace-signing-keys" in err, err[-1500:])
    code, _, err = infra(envs, "deploy", "dev", "--yes", "--function-zip", zip_path, "--replace-signing-keys")
    check("the switch deploys, smoke check included", code == 0 and "with a wrong secret: 401" in err, err[-3000:])
    token, jwks = token_and_jwks(envs, zip_path, secret)
    kid = jwt.get_unverified_header(token or "e30.e30.").get("kid")
    check("after the switch a key pair signs (a new kid) and PyJWT verifies it",
          stack_outputs(name).get("SigningMode") == "envelope" and kid != kms_kid and verifies(token, jwks),
          (kid, kms_kid, jwks))
    infra(envs, "destroy", "dev", "--yes", "--force")


def environments_left():
    out = subprocess.run(["pgrep", "-f", "infra-lambda-"], capture_output=True, text=True)
    return out.stdout.split()


def stop(proc):
    """Ctrl-C, as a user stops it: exit 0, no function process left behind."""
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "still running 20 s after Ctrl-C"
    check("Ctrl-C stops serve --lambda with exit 0", code == 0, code)
    time.sleep(0.5)
    check("no bootstrap process outlives it", environments_left() == [], environments_left())


def throttling(base):
    """dev's stage allows 20 requests per second with a burst of 40: 120 at once exceed it."""
    def get(_):
        r = requests.get(f"{base}/health", timeout=60)
        return r.status_code, r.text
    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(get, range(120)))
    statuses = sorted({s for s, _ in answers})
    throttled = [t for s, t in answers if s == 429]
    check("over the stage's rate: 429 temporarily_unavailable (the API's gateway response), the rest 200",
          statuses == [200, 429] and all(json.loads(t) == {"error": "temporarily_unavailable",
                                                           "error_description": "too many requests; retry later"}
                                         for t in throttled), (statuses, throttled[:1]))


def dead_kms(envs, zip_path):
    """KMS unreachable: the function cannot start; the API answers 502 and goes on serving."""
    proc, base = serve(envs, zip_path, AWS_ENDPOINT_URL_KMS="http://127.0.0.1:9")
    try:
        answers = [requests.get(f"{base}/health", timeout=60) for _ in range(2)]
        check("a function that cannot start gets 502 server_error, every time",
              all(r.status_code == 502 and r.json() == {"error": "server_error",
                                                        "error_description": "Internal server error"}
                  for r in answers),
              [(r.status_code, r.text) for r in answers])
    finally:
        stop(proc)
    err = proc.stderr.read()
    check("the runtime's exit is reported", "Runtime exited" in err, err[-2000:])


def variant(work, zip_path, name, tag, algorithm=None, mode=None):
    """The same artifact in an environment of its own with another `algorithm` or `mode`:
    deployed with its smoke check, a client registered, a token that PyJWT verifies against the
    served JWKS. `tag` makes its stack prefix unique. Returns (envs, client secret), or None when
    the deploy failed."""
    envs = os.path.join(work, name)
    os.makedirs(envs)
    environment(envs, algorithm=algorithm, prefix=PREFIX + tag, mode=mode)
    code, _, err = infra(envs, "bootstrap", "dev", "--yes")
    check(f"{name}: bootstrap", code == 0, err[-2000:])
    code, _, err = infra(envs, "deploy", "dev", "--yes", "--function-zip", zip_path)
    check(f"{name}: deploy with its smoke check", code == 0 and "with a wrong secret: 401" in err, err[-3000:])
    if code != 0:
        return None
    secret = add_client(envs, "add")
    alg = algorithm or "ES256"
    proc, base = serve(envs, zip_path)
    try:
        session = OAuth2Session(CLIENT, secret, token_endpoint_auth_method="client_secret_basic")
        token = session.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")["access_token"]
        jwks = requests.get(f"{base}/.well-known/jwks.json", timeout=30).json()
        kty = {"ES256": "EC", "RS256": "RSA"}[alg]
        check(f"{name}: the token's alg and the JWKS's key are {alg}",
              jwt.get_unverified_header(token)["alg"] == alg and [k["kty"] for k in jwks["keys"]] == [kty],
              (jwt.get_unverified_header(token), jwks))
        key = jwt.PyJWKClient(f"{base}/.well-known/jwks.json").get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=[alg], audience=AUDIENCE, issuer=base)
        check(f"{name}: PyJWT verifies the token against the JWKS", claims["client_id"] == CLIENT, claims)
        claims = discovery.verify(base, token, AUDIENCE, check)
        check(f"{name}: discovery lists {alg}", jwt.get_unverified_header(token)["alg"] == alg, claims)
    finally:
        stop(proc)
    return envs, secret


def key_pairs(outputs):
    """The envelope key pair document, as stored."""
    sm = boto3.client("secretsmanager", region_name="eu-west-1")
    return json.loads(sm.get_secret_value(SecretId=outputs["SigningKeyPairsSecretArn"])["SecretString"])["key_pairs"]


def envelope_secret_holds_no_plaintext(name, outputs):
    """The stored private key is KMS ciphertext: it decrypts only under its service's and slot's
    encryption context, to a PKCS #8 key whose public half is the published one."""
    pairs = key_pairs(outputs)
    check(f"{name}: the secret holds slot a's pair and no plaintext key",
          sorted(pairs) == ["a"] and sorted(pairs["a"]) == ["algorithm", "created", "private_key_ciphertext", "public_key"],
          pairs)
    kms = boto3.client("kms", region_name="eu-west-1")
    blob = base64.b64decode(pairs["a"]["private_key_ciphertext"])
    service = outputs["FunctionName"].removesuffix("-token")
    refused = []
    for context in [{}, {"service": service, "slot": "b"}, {"service": "other-dev", "slot": "a"}]:
        try:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        except kms.exceptions.InvalidCiphertextException:
            refused.append(context)
    check(f"{name}: the ciphertext does not decrypt under another context", len(refused) == 3, refused)
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_private_key
    pkcs8 = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"service": service, "slot": "a"})["Plaintext"]
    public = load_der_private_key(pkcs8, None).public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    check(f"{name}: under its own context it is the private half of the published key",
          base64.b64encode(public).decode() == pairs["a"]["public_key"])


def envelope(work, zip_path):
    """Envelope mode: ES256 with a whole rotation a -> b -> a, then RS256."""
    made = variant(work, zip_path, "envelope", "e", mode="envelope")
    if made:
        envs, secret = made
        outputs = stack_outputs(f"{PREFIX}e-dev-service")
        check("envelope: the stack says its mode", outputs.get("SigningMode") == "envelope", outputs)
        envelope_secret_holds_no_plaintext("envelope", outputs)
        try:
            kid_a, kid_b, t = key_rotation(envs, zip_path, secret, label="envelope: ")
            check("envelope: slot a's pair left the secret with its key", sorted(key_pairs(outputs)) == ["b"])
            for step, at in [("b-publish-a", t), ("a-signs-b-published", t + 600), ("a", t + 600 + 3600 + 120)]:
                code, _, err = infra(envs, "keys", "dev", "rotate", "--yes", now=at)
                check(f"envelope: keys rotate -> {step}", code == 0 and f"-> {step}" in err, err[-2000:])
            token, jwks = token_and_jwks(envs, zip_path, secret)
            kid = jwt.get_unverified_header(token or "e30.e30.").get("kid")
            check("envelope: back in slot a, a fresh key signs and alone is published",
                  kid not in (kid_a, kid_b) and [k["kid"] for k in jwks["keys"]] == [kid]
                  and verifies(token, jwks), (kid, kid_a, kid_b, jwks))
            check("envelope: the secret holds slot a's new pair only", sorted(key_pairs(outputs)) == ["a"])
        finally:
            infra(envs, "destroy", "dev", "--yes", "--force")
    made = variant(work, zip_path, "rs256-envelope", "n", algorithm="RS256", mode="envelope")
    if made:
        infra(made[0], "destroy", "dev", "--yes", "--force")


def deployed_issuer(outputs):
    """Without a custom domain the deployed function issues under the API's own URL, which the
    template resolves once the API exists, and the metadata's URL is under it."""
    name = outputs["FunctionName"]
    variables = boto3.client("lambda", region_name="eu-west-1").get_function_configuration(
        FunctionName=name)["Environment"]["Variables"]
    api = outputs["ApiUrl"]
    check("the deployed function's issuer is the API's URL",
          # LocalStack's AWS::URLSuffix is its own address; on AWS it is amazonaws.com.
          variables.get("TOKEN_ISSUER") == api and re.fullmatch(r"https://[a-z0-9]+\.execute-api\.[^/]+/v1", api),
          (variables.get("TOKEN_ISSUER"), api))
    check("the stack names the OpenID configuration under it",
          outputs.get("OpenIdConfigurationUrl") == f"{api}/.well-known/openid-configuration", outputs)


def main():
    if not os.environ.get("AWS_ENDPOINT_URL"):
        sys.exit("set AWS_ENDPOINT_URL to a local emulator (scripts/localstack start prints it)")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.setdefault("INFRA_POLL_MS", "100")
    work = tempfile.mkdtemp(prefix="e2e-lambda-")
    envs = os.path.join(work, "environments")
    os.makedirs(envs)
    environment(envs)
    zip_path = os.path.join(work, "function.zip")
    try:
        code, _, err = infra(envs, "package", "dev", "--out", zip_path, timeout=1800)
        check("infra package builds the artifact", code == 0, err[-2000:])
        if code != 0:
            return
        code, _, err = infra(envs, "bootstrap", "dev", "--yes")
        check("bootstrap", code == 0, err[-2000:])
        code, _, err = infra(envs, "deploy", "dev", "--yes", "--function-zip", zip_path)
        check("deploy with its smoke check", code == 0, err[-3000:])
        check("the smoke check ran the uploaded artifact locally", "checking the uploaded artifact run locally" in err
              and "with a wrong secret: 401 invalid_client" in err, err[-3000:])
        outputs = stack_outputs(f"{PREFIX}-dev-service")
        deployed_issuer(outputs)
        secret = add_client(envs, "add")
        jwk, thumbprint = kms_jwk(outputs["SigningKeyArn"])
        proc, base = serve(envs, zip_path)
        try:
            tokens(base, jwk, thumbprint, secret)
            throttling(base)
        finally:
            stop(proc)
        rotation(envs, zip_path, secret)
        key_rotation(envs, zip_path, add_client(envs, "rotate"))
        dead_kms(envs, zip_path)
        made = variant(work, zip_path, "rs256", "r", algorithm="RS256")
        if made:
            infra(made[0], "destroy", "dev", "--yes", "--force")
        envelope(work, zip_path)
        switch_to_envelope(work, zip_path)
    finally:
        infra(envs, "destroy", "dev", "--yes", "--force")
        shutil.rmtree(work, ignore_errors=True)
        print(f"{passed} passed, {failed} failed")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
