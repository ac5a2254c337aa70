"""Abuse limits: how many requests one caller may make per minute.

A caller is the identity its credential proves once verified: an API key (its key id) or a
signed-in person (issuer and subject, whichever of their tokens they send). So an office
behind one address does not share one budget, nobody gains budget by spreading requests over
addresses or fresh tokens, and a forged credential cannot spend someone else's. The identity
endpoints (registering a worker, the operator's identity reconciliation, `GET /me` that
sign-in calls) have a stricter budget besides. A request whose credential is refused proves
nobody, so it is counted against its client address, with the identity budget.

Each budget is a token bucket: up to N requests at once, refilled at N per minute, so
`Retry-After` says exactly when the next request fits. Buckets are keyed by a BLAKE2b hash,
under a random per-process key, of the identity or address (never a credential, which is not
kept once verified), and dropped once full again: memory holds no secret and no name. Each
server process counts on its own.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException

from registry.settings import Settings

__all__ = ["RateLimiter"]

_WINDOW_S = 60.0  # a spent budget is whole again after one minute
# (method, route) of the identity endpoints; every operator route is one too.
_IDENTITY_ROUTES = frozenset({("POST", "/api/v1/workers"), ("GET", "/api/v1/me")})
_OPERATOR_ROUTES = "/api/v1/operator/"


class RateLimiter:
    """Token buckets per caller and budget ("any" request, "identity" endpoints, "refused" credentials)."""

    def __init__(self, per_minute: int, identity_per_minute: int) -> None:
        self._capacity = {"any": per_minute, "identity": identity_per_minute, "refused": identity_per_minute}
        self._salt = secrets.token_bytes(32)
        self._buckets: dict[tuple[str, bytes], tuple[float, float]] = {}  # -> (tokens, when)
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(settings.rate_limit_per_minute, settings.identity_rate_limit_per_minute)

    def spend(self, request: Request[Any, Any, Any], caller: str) -> None:
        """Count a request of a verified caller ("key:<id>", "oidc:<subject>@<issuer>")."""
        route = (request.method, request.scope.get("path_template", ""))
        identity = route in _IDENTITY_ROUTES or route[1].startswith(_OPERATOR_ROUTES)
        self._take(caller, ("any", "identity") if identity else ("any",))

    def refused(self, request: Request[Any, Any, Any]) -> None:
        """Count a request whose credential was refused, against its client address."""
        self._take(f"address:{request.client.host if request.client else ''}", ("refused",))

    def _take(self, caller: str, budgets: tuple[str, ...]) -> None:
        digest = hashlib.blake2b(caller.encode(), key=self._salt, digest_size=16).digest()
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            levels = {budget: self._level((budget, digest), now) for budget in budgets}
            short = {b: (1 - level) * _WINDOW_S / self._capacity[b] for b, level in levels.items() if level < 1}
            if short:
                budget = max(short, key=short.__getitem__)
                raise _too_many(budget, self._capacity[budget], math.ceil(short[budget]))
            for budget, level in levels.items():
                self._buckets[budget, digest] = (level - 1, now)

    def _level(self, key: tuple[str, bytes], now: float) -> float:
        capacity = self._capacity[key[0]]
        tokens, when = self._buckets.get(key, (capacity, now))
        return min(capacity, tokens + (now - when) * capacity / _WINDOW_S)

    def _sweep(self, now: float) -> None:
        """Once a minute, forget the buckets that have refilled: they hold nothing."""
        if now - self._swept < _WINDOW_S:
            return
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < _WINDOW_S}
        self._swept = now


def _too_many(budget: str, capacity: int, retry_after: int) -> TooManyRequestsException:
    what = {
        "any": "requests with this credential",
        "identity": "requests to identity endpoints with this credential",
        "refused": "requests with a refused credential from this address",
    }[budget]
    return TooManyRequestsException(
        detail=f"more than {capacity} {what} per minute; retry after {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )
