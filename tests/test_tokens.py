"""Bearer JWTs with real signatures: the local issuer, every refusal, and OpenID discovery over real HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from crypto import LOCAL_ISSUER, LocalIssuer
from crypto.keyring import KeyringError
from registry.access.tokens import TokenVerifier, TrustedIssuer, VerifiedToken
from schemas.errors import Unauthenticated

# The tests sign with joserfc directly, as an outside provider would; "EdDSA" makes joserfc warn there.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

AUDIENCE = "blootstellingsregister"
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer.load_or_create(tmp_path / "keys" / "issuer.jwk")


@pytest.fixture
def verifier(issuer: LocalIssuer) -> Iterator[TokenVerifier]:
    v = TokenVerifier([TrustedIssuer(issuer=LOCAL_ISSUER, audience=AUDIENCE, jwks=issuer.public_jwks())])
    yield v
    v.close()


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    reason = info.value.detail
    assert info.value.status == 401
    if len(token) > 8:
        assert token not in reason and token not in str(info.value)
    return reason


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def now() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


def claims(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": LOCAL_ISSUER, "aud": AUDIENCE, "sub": "worker-1", "iat": now(), "exp": now() + 600}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def sign_with_file(path: Path, payload: dict[str, Any], kid: str | None = None) -> str:
    """Sign arbitrary claims with a local issuer's key file (the test plays a misbehaving issuer)."""
    key = OKPKey.import_key(json.loads(path.read_text()))
    header = {"alg": "EdDSA", "kid": kid or str(key.kid)}
    return jwt.encode(header, payload, key, algorithms=["EdDSA"])


# --- the local issuer's key file -------------------------------------------------------------


def test_key_file_is_private_stable_and_never_printed(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "issuer.jwk"
    first = LocalIssuer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["kty"] == "OKP" and data["crv"] == "Ed25519" and "d" in data
    assert data["kid"] == first.kid == OKPKey.import_key(data).thumbprint()
    again = LocalIssuer.load_or_create(path)
    assert again.kid == first.kid
    assert data["d"] not in repr(first) and data["x"] not in repr(first)
    public = first.public_jwks()
    assert public["keys"] == [
        {"kty": "OKP", "crv": "Ed25519", "x": data["x"], "kid": first.kid, "use": "sig", "alg": "EdDSA"}
    ]


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "issuer.jwk"
    LocalIssuer.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        LocalIssuer.load_or_create(path)


def test_issue_refuses_claims_it_must_set_itself(issuer: LocalIssuer) -> None:
    with pytest.raises(ValueError, match="sub"):
        issuer.issue({"role": "worker"}, audience=AUDIENCE, ttl=HOUR)
    with pytest.raises(ValueError, match="iss"):
        issuer.issue({"sub": "w", "iss": "https://elsewhere.example"}, audience=AUDIENCE, ttl=HOUR)


# --- verification ----------------------------------------------------------------------------


def test_good_token_verifies(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue({"sub": "worker-1", "role": "worker"}, audience=AUDIENCE, ttl=HOUR)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": issuer.kid}
    verified = verifier.verify(token)
    assert isinstance(verified, VerifiedToken)
    assert (verified.issuer, verified.subject) == (LOCAL_ISSUER, "worker-1")
    assert verified.claims["role"] == "worker"
    assert verified.claims["aud"] == AUDIENCE
    assert set(verified.claims) >= {"iss", "aud", "iat", "nbf", "exp", "jti"}


def test_expired_and_not_yet_valid(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    past = dt.datetime.now(dt.UTC) - 2 * HOUR
    assert refused(verifier, issuer.issue({"sub": "w"}, audience=AUDIENCE, ttl=HOUR, now=past)) == "token has expired"
    future = dt.datetime.now(dt.UTC) + HOUR
    token = issuer.issue({"sub": "w"}, audience=AUDIENCE, ttl=HOUR, now=future)
    assert refused(verifier, token) == "token is not yet valid"


def test_leeway_tolerates_small_clock_skew(issuer: LocalIssuer) -> None:
    slightly_ahead = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)
    token = issuer.issue({"sub": "w"}, audience=AUDIENCE, ttl=HOUR, now=slightly_ahead)
    trusted = TrustedIssuer(issuer=LOCAL_ISSUER, audience=AUDIENCE, jwks=issuer.public_jwks())
    assert TokenVerifier([trusted]).verify(token).subject == "w"
    strict = TokenVerifier([trusted], leeway_seconds=0)
    assert refused(strict, token) == "token is not yet valid"


def test_wrong_audience(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue({"sub": "w"}, audience="some-other-service", ttl=HOUR)
    assert refused(verifier, token) == "token is for another audience"


def test_token_from_an_untrusted_issuer(tmp_path: Path, verifier: TokenVerifier) -> None:
    other_path = tmp_path / "other" / "issuer.jwk"
    LocalIssuer.load_or_create(other_path)
    token = sign_with_file(other_path, claims(iss="https://idp.elsewhere.example"))
    assert refused(verifier, token) == "unknown token issuer"
    no_iss = sign_with_file(other_path, claims(iss=None))
    assert refused(verifier, no_iss) == "unknown token issuer"


def test_other_key_claiming_to_be_the_local_issuer(
    tmp_path: Path, issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    other_path = tmp_path / "other" / "issuer.jwk"
    impostor = LocalIssuer.load_or_create(other_path)
    # Its own kid: no such key is trusted.
    token = impostor.issue({"sub": "w"}, audience=AUDIENCE, ttl=HOUR)
    assert refused(verifier, token) == "token signed by an unknown key"
    # Our kid, its signature.
    forged = sign_with_file(other_path, claims(), kid=issuer.kid)
    assert refused(verifier, forged) == "bad token signature"
    # A genuine token with one byte of the payload changed.
    genuine = issuer.issue({"sub": "worker-1"}, audience=AUDIENCE, ttl=HOUR)
    head, payload, signature = genuine.split(".")
    tampered_payload = b64url(base64.urlsafe_b64decode(payload + "==").replace(b"worker-1", b"worker-2"))
    assert refused(verifier, f"{head}.{tampered_payload}.{signature}") == "bad token signature"


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("RS256", RSAKey.generate_key(2048, auto_kid=True)),
        ("PS256", RSAKey.generate_key(2048, auto_kid=True)),
        ("ES256", ECKey.generate_key("P-256", auto_kid=True)),
    ],
)
def test_other_allowed_algorithms(alg: str, key: RSAKey | ECKey) -> None:
    idp = "https://idp.example/realms/registry"
    verifier = TokenVerifier(
        [TrustedIssuer(issuer=idp, audience=AUDIENCE, jwks={"keys": [key.as_dict(private=False)]})]
    )
    token = jwt.encode({"alg": alg, "kid": str(key.kid)}, claims(iss=idp), key, algorithms=[alg])
    assert verifier.verify(token).issuer == idp
    # The same kid claimed by a token of another key type: the key does not fit, so no signature check passes.
    okp = OKPKey.generate_key("Ed25519")
    other = jwt.encode({"alg": "EdDSA", "kid": str(key.kid)}, claims(iss=idp), okp, algorithms=["EdDSA"])
    assert refused(verifier, other) == "bad token signature"


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims()).encode())
    assert refused(verifier, f"{header}.{payload}.") == "unsupported token algorithm"


def test_hs256_is_refused_even_with_a_matching_kid(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    secret = OctKey.generate_key(256)
    token = jwt.encode({"alg": "HS256", "kid": issuer.kid}, claims(), secret, algorithms=["HS256"])
    assert refused(verifier, token) == "unsupported token algorithm"
    # The classic confusion attack: HMAC keyed with the issuer's public key bytes.
    public_x = str(issuer.public_jwks()["keys"][0]["x"])  # type: ignore[index]
    confused = jwt.encode({"alg": "HS256"}, claims(), OctKey.import_key(public_x.encode()), algorithms=["HS256"])
    assert refused(verifier, confused) == "unsupported token algorithm"


@pytest.mark.parametrize(
    "garbage",
    ["", "garbage", "a.b.c", "a.b.c.d.e", "ü.ü.ü", f"{b64url(b'[1]')}.{b64url(b'{}')}.", "Bearer x.y.z"],
)
def test_garbage_is_malformed(verifier: TokenVerifier, garbage: str) -> None:
    assert refused(verifier, garbage) == "malformed token"


@pytest.mark.parametrize("header", [{"alg": ["EdDSA"]}, {"alg": None}, {"alg": "EdDSA", "typ": ["JWT"]}])
def test_odd_header_values_are_refused_not_crashed(verifier: TokenVerifier, header: dict[str, Any]) -> None:
    token = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims()).encode())}.c2ln"
    assert refused(verifier, token) in {"unsupported token algorithm", "unsupported token type", "malformed token"}


def test_payload_that_is_not_an_object_is_malformed(verifier: TokenVerifier) -> None:
    header = b64url(json.dumps({"alg": "EdDSA"}).encode())
    assert refused(verifier, f"{header}.{b64url(b'[1,2]')}.c2ln") == "malformed token"


def test_missing_or_blank_subject(tmp_path: Path, issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    path = tmp_path / "keys" / "issuer.jwk"
    assert refused(verifier, sign_with_file(path, claims(sub=None))) == "token has no subject"
    assert refused(verifier, sign_with_file(path, claims(sub=""))) == "token has no subject"
    assert refused(verifier, sign_with_file(path, claims(sub=42))) == "token has no subject"


def test_missing_expiry(tmp_path: Path, issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    path = tmp_path / "keys" / "issuer.jwk"
    assert refused(verifier, sign_with_file(path, claims(exp=None))) == "token has no valid expiry"
    assert refused(verifier, sign_with_file(path, claims(exp="tomorrow"))) == "token has no valid expiry"


def test_token_type(tmp_path: Path, issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    key = OKPKey.import_key(json.loads((tmp_path / "keys" / "issuer.jwk").read_text()))
    for typ in ("JWT", "at+jwt", "application/at+jwt", "AT+JWT", None):
        header = {"alg": "EdDSA", "kid": issuer.kid} | ({"typ": typ} if typ else {})
        token = jwt.encode(header, claims(), key, algorithms=["EdDSA"], default_type=None)
        assert verifier.verify(token).subject == "worker-1"
    logout = jwt.encode({"alg": "EdDSA", "typ": "logout+jwt"}, claims(), key, algorithms=["EdDSA"])
    assert refused(verifier, logout) == "unsupported token type"


def test_audience_list_and_configuration_errors(tmp_path: Path, issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    path = tmp_path / "keys" / "issuer.jwk"
    token = sign_with_file(path, claims(aud=["account", AUDIENCE]))
    assert verifier.verify(token).subject == "worker-1"
    with pytest.raises(ValueError, match="https"):
        TokenVerifier([TrustedIssuer(issuer="http://idp.example", audience=AUDIENCE)])
    with pytest.raises(ValueError, match="twice"):
        trusted = TrustedIssuer(issuer=LOCAL_ISSUER, audience=AUDIENCE, jwks=issuer.public_jwks())
        TokenVerifier([trusted, trusted])


# --- OpenID discovery over real HTTP ---------------------------------------------------------


class FakeProvider:
    """A tiny OpenID provider: a discovery document and a JWKS on 127.0.0.1, counting requests."""

    def __init__(self) -> None:
        self.key = OKPKey.generate_key("Ed25519", auto_kid=True)
        self.requests: list[str] = []
        self.discovery_issuer: str | None = None  # None: the real URL
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body: object = {
                        "issuer": provider.discovery_issuer or provider.url,
                        "jwks_uri": provider.url + "/jwks",
                    }
                elif self.path == "/jwks":
                    body = {"keys": [provider.key.as_dict(private=False)]}
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def token(self, **extra: Any) -> str:
        header = {"alg": "EdDSA", "kid": str(self.key.kid)}
        return jwt.encode(header, claims(iss=self.url, **extra), self.key, algorithms=["EdDSA"])

    def close(self) -> None:
        if not self.thread.is_alive():
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    p = FakeProvider()
    yield p
    p.close()


def test_discovery_then_jwks(provider: FakeProvider) -> None:
    verifier = TokenVerifier([TrustedIssuer(issuer=provider.url, audience=AUDIENCE)])
    verified = verifier.verify(provider.token(sub="hygienist-7"))
    assert (verified.issuer, verified.subject) == (provider.url, "hygienist-7")
    assert provider.requests == ["/.well-known/openid-configuration", "/jwks"]
    verifier.verify(provider.token())
    assert len(provider.requests) == 2  # cached
    verifier.close()


def test_discovery_naming_another_issuer_is_refused(provider: FakeProvider) -> None:
    provider.discovery_issuer = "https://impostor.example"
    verifier = TokenVerifier([TrustedIssuer(issuer=provider.url, audience=AUDIENCE)])
    assert refused(verifier, provider.token()) == "token issuer published unusable metadata or keys"
    assert provider.requests == ["/.well-known/openid-configuration"]  # the JWKS was never fetched


def test_unknown_issuer_causes_no_request(provider: FakeProvider) -> None:
    verifier = TokenVerifier([TrustedIssuer(issuer=provider.url, audience=AUDIENCE)])
    token = jwt.encode({"alg": "EdDSA"}, claims(iss=provider.url + "/evil"), provider.key, algorithms=["EdDSA"])
    assert refused(verifier, token) == "unknown token issuer"
    assert provider.requests == []


def test_unreachable_issuer_is_refused_not_crashed(provider: FakeProvider) -> None:
    token = provider.token()
    url = provider.url
    provider.close()  # nothing listens on that port any more
    verifier = TokenVerifier([TrustedIssuer(issuer=url, audience=AUDIENCE)], http=httpx.Client(timeout=2.0))
    assert refused(verifier, token) == "token issuer could not be reached"


def test_key_rotation_refetches_at_most_once_a_minute(provider: FakeProvider) -> None:
    clock = [float(now())]
    verifier = TokenVerifier([TrustedIssuer(issuer=provider.url, audience=AUDIENCE)], clock=lambda: clock[0])
    verifier.verify(provider.token())
    provider.key = OKPKey.generate_key("Ed25519", auto_kid=True)  # the provider rotates
    rotated = provider.token()
    assert refused(verifier, rotated) == "token signed by an unknown key"  # fetched under a minute ago
    assert len(provider.requests) == 2
    clock[0] += 61
    assert verifier.verify(rotated).subject == "worker-1"
    assert provider.requests[2:] == ["/.well-known/openid-configuration", "/jwks"]
    junk_kid = jwt.encode({"alg": "EdDSA", "kid": "nope"}, claims(iss=provider.url), provider.key, algorithms=["EdDSA"])
    assert refused(verifier, junk_kid) == "token signed by an unknown key"
    assert len(provider.requests) == 4  # no refetch storm from made-up kids


def test_concurrent_first_use_fetches_once(provider: FakeProvider) -> None:
    verifier = TokenVerifier([TrustedIssuer(issuer=provider.url, audience=AUDIENCE)])
    tokens = [provider.token(sub=f"worker-{i}") for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        subjects = list(pool.map(lambda t: verifier.verify(t).subject, tokens))
    assert subjects == [f"worker-{i}" for i in range(16)]
    assert provider.requests == ["/.well-known/openid-configuration", "/jwks"]
