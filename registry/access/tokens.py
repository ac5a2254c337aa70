"""The one place a bearer JWT is checked (the ResourceProtector idea of authlib).

The registry is an OpenID Connect relying party: it accepts tokens only from issuers it was
told to trust, and checks each against that issuer's published keys (JWKS). The issuer is
picked by the token's unverified `iss`, but only from the configured list, so an attacker
can never make the registry fetch a URL of their choosing. JOSE itself is done by joserfc,
behind the recipes in crypto/.

Every refusal is `Unauthenticated` with a short English reason that never quotes the token.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import msgspec

from crypto import JwtKeySet, JwtRefused, read_unverified_jwt
from schemas.errors import Unauthenticated

__all__ = ["ALLOWED_ALGORITHMS", "TokenVerifier", "TrustedIssuer", "VerifiedToken"]

log = logging.getLogger("registry.access.tokens")

# Asymmetric only: with HS256 a public JWKS key would become a shared secret, and "none" has no signature.
ALLOWED_ALGORITHMS = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
# RFC 9068 names access tokens "at+jwt"; plain ID-token style "JWT", or no typ at all, is also common.
_ALLOWED_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
_REFETCH_INTERVAL = 60.0  # seconds: an unknown kid refetches the JWKS at most this often
_RETRY_AFTER_FAILURE = 5.0  # seconds: a down issuer is not asked again on every request
_MAX_DOCUMENT_BYTES = 512 * 1024  # discovery documents and JWKS are a few KiB
_HTTP_TIMEOUT = httpx.Timeout(5.0)

_REASONS = {
    "malformed": "malformed token",
    "algorithm": "unsupported token algorithm",
    "unknown-key": "token signed by an unknown key",
    "signature": "bad token signature",
    "expired": "token has expired",
    "not-yet-valid": "token is not yet valid",
}


class TrustedIssuer(msgspec.Struct, frozen=True):
    """An issuer whose tokens we accept, for one audience (the registry's client id).

    With `jwks` given (the embedded local issuer) nothing is fetched; otherwise the keys come
    from the issuer's OpenID discovery document, whose `issuer` must equal ours exactly.
    """

    issuer: str
    audience: str
    jwks: dict[str, Any] | None = None


class VerifiedToken(msgspec.Struct, frozen=True):
    issuer: str
    subject: str
    claims: dict[str, object]


class _IssuerState:
    """The cached keys of one issuer; its lock serialises fetches so a burst causes one fetch."""

    def __init__(self, trusted: TrustedIssuer) -> None:
        self.trusted = trusted
        self.lock = threading.Lock()
        self.keys: JwtKeySet | None = None
        self.fetched_at = float("-inf")
        self.failed_at = float("-inf")


class TokenVerifier:
    """Checks bearer JWTs against the trusted issuers. Thread-safe; share one per process."""

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        *,
        http: httpx.Client | None = None,
        leeway_seconds: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._states: dict[str, _IssuerState] = {}
        for trusted in issuers:
            if trusted.issuer in self._states:
                raise ValueError(f"issuer {trusted.issuer!r} is listed twice")
            if not trusted.audience:
                raise ValueError(f"issuer {trusted.issuer!r} needs an audience")
            if trusted.jwks is None:
                _require_discoverable(trusted.issuer)
            self._states[trusted.issuer] = _IssuerState(trusted)
        if leeway_seconds < 0:
            raise ValueError("leeway_seconds must not be negative")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=_HTTP_TIMEOUT, follow_redirects=False)
        self._leeway = leeway_seconds
        self._clock = clock

    def close(self) -> None:
        """Close the HTTP client if this verifier made it."""
        if self._owns_http:
            self._http.close()

    def verify(self, token: str) -> VerifiedToken:
        """The token's issuer, subject and claims, or Unauthenticated saying why not."""
        try:
            unverified = read_unverified_jwt(token)
        except JwtRefused:
            raise Unauthenticated("malformed token") from None
        header = unverified.header
        alg, typ = header.get("alg"), header.get("typ", "JWT")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise Unauthenticated("unsupported token algorithm")
        if not isinstance(typ, str) or typ.lower() not in _ALLOWED_TYPES:  # media types ignore case
            raise Unauthenticated("unsupported token type")
        issuer = unverified.claims.get("iss")
        state = self._states.get(issuer) if isinstance(issuer, str) else None
        if state is None:  # decided before any network call: we never fetch attacker-chosen URLs
            raise Unauthenticated("unknown token issuer")

        keys = self._keys(state, refresh=False)
        try:
            claims = self._check(token, keys, state.trusted)
        except JwtRefused as exc:
            if exc.problem != "unknown-key":
                raise Unauthenticated(_reason(exc)) from None
            fresh = self._keys(state, refresh=True)  # the issuer may have rotated its keys
            if fresh is keys:
                raise Unauthenticated(_reason(exc)) from None
            try:
                claims = self._check(token, fresh, state.trusted)
            except JwtRefused as again:
                raise Unauthenticated(_reason(again)) from None
        return VerifiedToken(issuer=state.trusted.issuer, subject=claims["sub"], claims=claims)

    def _check(self, token: str, keys: JwtKeySet, trusted: TrustedIssuer) -> dict[str, Any]:
        verified = keys.verify(
            token,
            algorithms=ALLOWED_ALGORITHMS,
            issuer=trusted.issuer,
            audience=trusted.audience,
            now=int(self._clock()),
            leeway=self._leeway,
        )
        return verified.claims

    def _keys(self, state: _IssuerState, *, refresh: bool) -> JwtKeySet:
        """The issuer's keys: cached, or fetched (refetched at most once a minute on request)."""
        with state.lock:
            now = self._clock()
            if state.keys is not None:
                fresh_enough = now - state.fetched_at < _REFETCH_INTERVAL
                if not refresh or fresh_enough or state.trusted.jwks is not None:
                    return state.keys
            if state.trusted.jwks is not None:
                try:
                    state.keys = JwtKeySet.from_jwks(state.trusted.jwks)
                except ValueError:
                    raise Unauthenticated("token issuer has no usable keys") from None
                state.fetched_at = now
                return state.keys
            if now - state.failed_at < _RETRY_AFTER_FAILURE:
                raise Unauthenticated("token issuer could not be reached")
            try:
                keys = JwtKeySet.from_jwks(self._fetch_jwks(state.trusted.issuer))
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                state.failed_at = now
                log.warning("issuer %s could not be reached: %r", state.trusted.issuer, exc)
                raise Unauthenticated("token issuer could not be reached") from None
            except ValueError as exc:  # msgspec.DecodeError is one too
                state.failed_at = now
                log.warning("issuer %s published unusable metadata or keys: %s", state.trusted.issuer, exc)
                raise Unauthenticated("token issuer published unusable metadata or keys") from None
            # On a failed refresh the old keys stay: tokens with known kids keep working.
            state.keys, state.fetched_at = keys, now
            return keys

    def _fetch_jwks(self, issuer: str) -> object:
        """OpenID discovery, then the JWKS it points to. Raises ValueError for a bad document."""
        discovery = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if not isinstance(discovery, dict) or discovery.get("issuer") != issuer:
            # OpenID Connect Discovery 1.0, section 4.3: prevents one issuer impersonating another.
            raise ValueError("discovery document names a different issuer")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or urllib.parse.urlsplit(jwks_uri).scheme not in ("https", "http"):
            raise ValueError("discovery document has no usable jwks_uri")
        return self._get_json(jwks_uri)

    def _get_json(self, url: str) -> object:
        with self._http.stream("GET", url, headers={"Accept": "application/json"}) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _MAX_DOCUMENT_BYTES:
                    raise ValueError("document too large")
        return msgspec.json.decode(bytes(body))


def _reason(exc: JwtRefused) -> str:
    if exc.problem in ("missing-claim", "invalid-claim"):
        claim = exc.claim or ""
        if "sub" in claim.split(","):
            return "token has no subject"
        if claim == "aud":
            return "token is for another audience"
        if claim == "iss":
            return "unknown token issuer"
        if "exp" in claim.split(","):
            return "token has no valid expiry"
        return "malformed token"
    return _REASONS.get(exc.problem, "malformed token")


def _require_discoverable(issuer: str) -> None:
    """A fetched issuer must be https (OpenID Discovery); plain http only on loopback, for development."""
    parts = urllib.parse.urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise ValueError(f"issuer {issuer!r} must be an https URL (or give its jwks directly)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
