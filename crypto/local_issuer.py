"""JSON Web Tokens: the embedded issuer's signing key, and checking a JWT against a JWKS.

The registry is an OpenID Connect relying party. So that a newcomer can mint a token on
the command line without any outside service, it ships its own issuer: one Ed25519 key
in a JWK file (mode 0600). That issuer is not on the network; it is trusted through its
key file, so its name is a URN, not a URL.

All JOSE work is done by joserfc (a maintained library), never by hand. Which issuers,
audiences and algorithms to accept is decided by the caller (registry/access/tokens.py);
this module only knows how to sign, how to read a token, and how to check one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import stat
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal, TypeGuard

import msgspec
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyCurveError,
    InvalidKeyIdError,
    JoseError,
    KeyParameterError,
    MissingClaimError,
    MissingKeyError,
    UnsupportedAlgorithmError,
)
from joserfc.jwa import EdDSAAlgorithm, JWSAlgModel
from joserfc.jwk import JWKRegistry, Key, KeySet, OKPKey
from joserfc.jws import JWSRegistry

from crypto.keyring import KeyringError, fsync_dir

__all__ = [
    "LOCAL_ISSUER",
    "JwtKeySet",
    "JwtProblem",
    "JwtRefused",
    "LocalIssuer",
    "UnverifiedJwt",
    "read_unverified_jwt",
]

LOCAL_ISSUER = "urn:blootstellingsregister:local-issuer"

# Claims the issuer sets itself; a caller may not override them (a token must not lie about its origin).
_REGISTERED = frozenset({"iss", "aud", "iat", "nbf", "exp", "jti"})
# Only asymmetric keys can come from a JWKS: a published "oct" key would let anyone sign.
_PUBLIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})

JwtProblem = Literal[
    "malformed",  # not a compact JWS with a JSON header and a JSON object as payload
    "algorithm",  # header "alg" not among the allowed ones
    "unknown-key",  # no key in the set has the header's "kid" (the issuer may have rotated)
    "signature",  # a key was found but the signature does not verify, or the key does not fit the algorithm
    "expired",
    "not-yet-valid",  # "nbf" or "iat" in the future
    "missing-claim",  # `claim` names it
    "invalid-claim",  # `claim` names it: wrong type, blank, or not the expected value
]


class JwtRefused(Exception):
    """Why a token was refused. The message names the problem, never the token itself."""

    def __init__(self, problem: JwtProblem, claim: str | None = None) -> None:
        super().__init__(problem if claim is None else f"{problem}: {claim}")
        self.problem: JwtProblem = problem
        self.claim = claim


class UnverifiedJwt(msgspec.Struct, frozen=True):
    """Header and claims of a token whose signature has NOT been checked: use only to route."""

    header: dict[str, Any]
    claims: dict[str, Any]


class _QuietEdDSA(EdDSAAlgorithm):
    """EdDSA pinned to Ed25519.

    RFC 9864 deprecates the name "EdDSA" because it does not say which curve; joserfc warns
    on every use. Pinning the curve gives it the meaning of the fully-specified "Ed25519",
    so the warning no longer applies, and OpenID providers still publish "EdDSA".
    """

    security_warning = ""  # joserfc warns when this is truthy

    def check_key(self, key: OKPKey) -> None:
        super().check_key(key)
        if key.curve_name != "Ed25519":
            raise InvalidKeyCurveError("EdDSA is accepted with Ed25519 keys only")


_ALGORITHMS: dict[str, JWSAlgModel] = {**JWSRegistry.algorithms, "EdDSA": _QuietEdDSA()}


def _registry(algorithms: Collection[str]) -> JWSRegistry:
    # joserfc falls back to its "recommended" list (which includes HS256) when the allowed
    # list is empty, and ignores `algorithms=` when a registry is passed: never let either happen.
    allowed = sorted(algorithms)
    if not allowed:
        raise ValueError("at least one algorithm must be allowed")
    # Unknown header parameters are ignored, as RFC 7515 says; "crit" is still enforced.
    registry = JWSRegistry(algorithms=allowed, strict_check_header=False)
    registry.algorithms = _ALGORITHMS  # shadows joserfc's class-wide table for this registry only
    return registry


def read_unverified_jwt(token: str) -> UnverifiedJwt:
    """Header and claims before any signature check, so the caller can pick whose keys to use.

    Nothing in the result may be trusted; `JwtKeySet.verify` is what checks it.
    """
    try:
        obj = jws.extract_compact(token.encode("ascii"))
        header = obj.headers()
        claims = json.loads(obj.payload or b"")
    except (JoseError, ValueError, TypeError):  # UnicodeError is a ValueError
        raise JwtRefused("malformed") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtRefused("malformed")
    return UnverifiedJwt(header=header, claims=claims)


class JwtKeySet:
    """The public keys of one issuer (its JWKS), ready to check that issuer's tokens."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    def __repr__(self) -> str:
        return f"JwtKeySet(kids={sorted(self.kids)})"

    @classmethod
    def from_jwks(cls, document: object) -> JwtKeySet:
        """Import a JWKS document; keys that cannot be used to verify signatures are skipped.

        Raises ValueError when no usable key is left (the document is not a key set we can use).
        """
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWKS document (no 'keys' list)")
        keys: list[Key] = []
        for entry in document["keys"]:
            if not isinstance(entry, dict) or entry.get("kty") not in _PUBLIC_KEY_TYPES:
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                key = JWKRegistry.import_key(entry)
                # Keep the public half only, even if a careless JWKS published a private key.
                keys.append(JWKRegistry.import_key(key.as_dict(private=False)))
            except (JoseError, ValueError, TypeError, KeyError):
                continue
        if not keys:
            raise ValueError("the JWKS holds no usable signature key")
        return cls(KeySet(keys))

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(key.kid for key in self._keys if key.kid is not None)

    def verify(
        self,
        token: str,
        *,
        algorithms: Collection[str],
        issuer: str,
        audience: str,
        now: int,
        leeway: int,
    ) -> UnverifiedJwt:
        """Check the signature and the registered claims; return header and claims, now verified.

        `iss` must equal `issuer`, `aud` must be or contain `audience`, `exp` and `sub` are
        essential, and `exp`, `nbf` and `iat` are checked against `now` with `leeway` seconds.
        Raises JwtRefused.
        """
        read_unverified_jwt(token)  # the same shape checks, before any key is touched
        try:
            decoded = jwt.decode(token, self._keys, registry=_registry(algorithms))
        except UnsupportedAlgorithmError:
            raise JwtRefused("algorithm") from None
        except InvalidKeyIdError:
            raise JwtRefused("unknown-key") from None
        except (BadSignatureError, KeyParameterError, InvalidKeyCurveError, MissingKeyError):
            # A key of the wrong type, use or curve for the algorithm is as bad as a wrong signature.
            raise JwtRefused("signature") from None
        except (JoseError, ValueError, TypeError, AttributeError):
            raise JwtRefused("malformed") from None

        claims = decoded.claims
        rules = jwt.JWTClaimsRegistry(
            now=now,
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            rules.validate(claims)
        except ExpiredTokenError:
            raise JwtRefused("expired") from None
        except MissingClaimError as exc:
            raise JwtRefused("missing-claim", exc.claim) from None
        except ClaimError as exc:
            value = claims.get(exc.claim)
            in_future = exc.claim in ("nbf", "iat") and _is_number(value) and value > now + leeway
            raise JwtRefused("not-yet-valid" if in_future else "invalid-claim", exc.claim) from None
        return UnverifiedJwt(header=dict(decoded.header), claims=claims)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class LocalIssuer:
    """The embedded issuer: signs tokens with an Ed25519 key kept in a JWK file (mode 0600)."""

    def __init__(self, key: OKPKey) -> None:
        if key.key_type != "OKP" or key.curve_name != "Ed25519" or not key.is_private:
            raise KeyringError("the local issuer needs a private Ed25519 key")
        self._key = key
        self.kid: str = key.thumbprint()  # RFC 7638: the kid names the key and nothing else

    def __repr__(self) -> str:  # never print key material
        return f"LocalIssuer(issuer={LOCAL_ISSUER!r}, kid={self.kid!r})"

    @classmethod
    def load_or_create(cls, path: Path) -> LocalIssuer:
        """Load the key file, or create it (mode 0600, never overwriting) when there is none."""
        try:
            return cls._load(path)
        except FileNotFoundError:
            pass
        issuer = cls(OKPKey.generate_key("Ed25519", parameters={"use": "sig"}))
        data = issuer._key.as_dict(private=True, kid=issuer.kid)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return cls._load(path)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(msgspec.json.format(msgspec.json.encode(data)))
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            raise
        fsync_dir(path.parent)
        return issuer

    @classmethod
    def _load(cls, path: Path) -> LocalIssuer:
        mode = path.stat().st_mode  # FileNotFoundError tells load_or_create to create it
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"issuer key file {path} is readable by others; run: chmod 600 {path}")
        try:
            data = msgspec.json.decode(path.read_bytes(), type=dict[str, Any])
            key = OKPKey.import_key(data)
        except (msgspec.DecodeError, JoseError, ValueError, TypeError, KeyError):
            # The exception text could quote key material: do not chain it.
            raise KeyringError(f"issuer key file {path} is not a valid Ed25519 JWK") from None
        issuer = cls(key)
        if data.get("kid") != issuer.kid:
            raise KeyringError(f"issuer key file {path}: 'kid' is not the key's RFC 7638 thumbprint")
        return issuer

    def issue(
        self,
        claims: Mapping[str, object],
        *,
        audience: str,
        ttl: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> str:
        """A signed JWT (compact JWS) for `claims`, which must name the subject (`sub`).

        The issuer sets iss, aud, iat, nbf, exp and a random jti itself; claims may not override them.
        """
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise ValueError("claims must include a non-empty 'sub'")
        overridden = sorted(_REGISTERED & claims.keys())
        if overridden:
            raise ValueError(f"claims may not set {', '.join(overridden)}: the issuer sets them")
        if not audience:
            raise ValueError("audience must not be empty")
        if ttl <= dt.timedelta(0):
            raise ValueError("ttl must be positive")
        moment = dt.datetime.now(dt.UTC) if now is None else now
        if moment.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        issued_at = int(moment.timestamp())
        payload: dict[str, Any] = {
            **claims,
            "iss": LOCAL_ISSUER,
            "aud": audience,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + int(ttl.total_seconds()),
            "jti": secrets.token_urlsafe(16),
        }
        header = {"alg": "EdDSA", "typ": "JWT", "kid": self.kid}
        return jwt.encode(header, payload, self._key, registry=_registry(["EdDSA"]))

    def public_jwks(self) -> dict[str, object]:
        """The JWKS to trust this issuer with: the public key only."""
        public = self._key.as_dict(private=False, kid=self.kid, alg="EdDSA")
        return {"keys": [public]}
