"""Per-request dependencies: who is calling (an API key or an OpenID Connect token), for
which purpose, and the unit of work that carries both."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.datastructures import State

from crypto import parse_api_key, verify_api_key
from registry.access import DEFAULT_PURPOSE, Actor, ActorKind, Purpose, Work
from registry.api.rate_limits import RateLimiter
from registry.runtime import Runtime
from registry.services.signin import SignIn, actor_for_token
from registry.store import organisations as org_table
from schemas.errors import FieldError, InvalidInput, Unauthenticated
from schemas.text import refuse_control_characters

__all__ = ["EMPLOYER_HEADER", "PURPOSE_HEADER", "runtime_of", "unit_of_work"]

PURPOSE_HEADER = "X-Purpose"
# A hygienist or company doctor with grants from several employers names the one it acts for.
EMPLOYER_HEADER = "X-Employer"


def runtime_of(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def authenticate(request: Request[Any, Any, Any], state: State) -> Actor:
    """The verified caller, counted against its rate limits (a refused one against its address)."""
    limiter: RateLimiter = state.limiter
    try:
        return _verified_caller(request, state, limiter)
    except Unauthenticated:
        limiter.refused(request)
        raise


def _verified_caller(request: Request[Any, Any, Any], state: State, limiter: RateLimiter) -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthenticated("send your API key or OpenID Connect token as 'Authorization: Bearer <credential>'")
    runtime = runtime_of(state)
    parsed = parse_api_key(credential)
    if parsed is None:
        sign_in: SignIn = state.sign_in
        token = sign_in.verifier.verify(credential)
        limiter.spend(request, f"oidc:{token.subject}@{token.issuer}")
        return actor_for_token(
            runtime.db,
            runtime.vault,
            token,
            sign_in.issuer_roles,
            employer_kvk=request.headers.get(EMPLOYER_HEADER),
            today=dt.datetime.now(dt.UTC).date(),
        )
    key_id, secret = parsed
    with runtime.db.read(lone=True) as tx:  # one lookup per request: no BEGIN and COMMIT around it
        row = org_table.api_key(tx, key_id)
    if row is None or not verify_api_key(secret, row.secret_hash):
        raise Unauthenticated("the API key is not valid")
    if row.revoked_at is not None:
        raise Unauthenticated("the API key was revoked")
    limiter.spend(request, f"key:{key_id}")
    return Actor(
        kind=ActorKind.EMPLOYER,
        id=f"key:{key_id}",
        employer_id=row.employer_id,
        acting_for=f"employer:{row.employer_id}",
    )


def purpose_of(request: Request[Any, Any, Any], actor: Actor) -> Purpose:
    stated = request.headers.get(PURPOSE_HEADER)
    if stated is None:
        return DEFAULT_PURPOSE[actor.kind]
    try:
        return Purpose(refuse_control_characters(stated).strip().lower())
    except ValueError:
        allowed = ", ".join(p.value for p in Purpose)
        raise InvalidInput(
            [
                FieldError(
                    field=f"header:{PURPOSE_HEADER}",
                    reason=f"unknown purpose {stated!r}; one of: {allowed}",
                )
            ]
        ) from None


def unit_of_work(request: Request[Any, Any, Any], state: State) -> Work:
    """The request's one unit of work, for the caller and the purpose it states: routes hand
    their use case to it."""
    actor = authenticate(request, state)
    runtime = runtime_of(state)
    return Work(runtime.db, runtime.vault, actor, purpose_of(request, actor))
