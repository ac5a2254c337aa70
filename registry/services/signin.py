"""Who a verified OpenID Connect token is, as an actor the rules understand.

The token says who someone is (their issuer, subject, role and, for a worker, BSN); the
registry decides what they may do: a worker is found by the BSN blind index, a company
doctor or hygienist by the contracts and mandates employers gave them that are in force
today. Which roles each issuer may vouch for is configuration (a DigiD broker speaks for
workers, never for operators).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from crypto import LOCAL_ISSUER, LocalIssuer, Vault
from registry.access import Actor, ActorKind
from registry.access.tokens import TokenVerifier, TrustedIssuer, VerifiedToken
from registry.settings import Settings
from registry.store import Database
from registry.store import grants as grant_table
from registry.store import organisations as org_table
from registry.store import people as people_table
from schemas.errors import Forbidden, Unauthenticated
from schemas.identifiers import normalise_bsn, normalise_kvk

__all__ = ["ROLE_CLAIM", "SIGN_IN_ROLES", "SignIn", "actor_for_token", "local_issuer"]

ROLE_CLAIM = "registry_role"
BSN_CLAIM = "bsn"
PROJECT_CLAIM = "registry_project"
# Employers and agencies keep their API keys; everyone else signs in.
SIGN_IN_ROLES = frozenset(
    {
        ActorKind.WORKER,
        ActorKind.COMPANY_DOCTOR,
        ActorKind.HYGIENIST,
        ActorKind.RESEARCHER,
        ActorKind.INSPECTOR,
        ActorKind.OPERATOR,
    }
)


class SignIn:
    """The issuers this registry trusts, and for which roles."""

    def __init__(self, verifier: TokenVerifier, issuer_roles: Mapping[str, frozenset[ActorKind]]) -> None:
        self.verifier = verifier
        self.issuer_roles = dict(issuer_roles)

    @classmethod
    def from_settings(cls, settings: Settings) -> SignIn:
        issuers: list[TrustedIssuer] = []
        roles: dict[str, frozenset[ActorKind]] = {}
        if settings.local_issuer:
            jwks = local_issuer(settings).public_jwks()
            issuers.append(TrustedIssuer(issuer=LOCAL_ISSUER, audience=settings.oidc_audience, jwks=jwks))
            roles[LOCAL_ISSUER] = SIGN_IN_ROLES
        for entry in settings.oidc_issuers:
            url, _, names = entry.partition("=")
            try:
                allowed = frozenset(ActorKind(n) for n in names.split(",") if n) & SIGN_IN_ROLES
            except ValueError as exc:
                raise ValueError(f"REGISTRY_OIDC_ISSUERS {entry!r}: {exc}") from None
            issuers.append(TrustedIssuer(issuer=url, audience=settings.oidc_audience))
            roles[url] = allowed
        return cls(TokenVerifier(issuers), roles)

    def close(self) -> None:
        self.verifier.close()


def local_issuer(settings: Settings) -> LocalIssuer:
    """The embedded issuer (created on first use), so a newcomer can sign in without any
    outside service: `registry token --role worker --bsn ...`."""
    return LocalIssuer.load_or_create(settings.issuer_key_file)


def actor_for_token(
    db: Database,
    vault: Vault,
    token: VerifiedToken,
    issuer_roles: Mapping[str, frozenset[ActorKind]],
    *,
    employer_kvk: str | None,
    today: dt.date,
) -> Actor:
    """The actor behind a verified token; `employer_kvk` chooses which of several mandates
    or contracts a request acts under."""
    role = _role(token, issuer_roles)
    label = f"oidc:{token.subject}@{token.issuer}"
    with db.read() as tx:
        if role is ActorKind.WORKER:
            try:
                bsn = normalise_bsn(str(token.claims.get(BSN_CLAIM, "")))
            except ValueError:
                raise Unauthenticated(f"a worker's token carries a valid BSN in the claim {BSN_CLAIM!r}") from None
            person = vault.blind_index("bsn", bsn)
            known = people_table.workers_of_person(tx, person)
            return Actor(kind=role, id=label, person=person if known else None)
        if role in (ActorKind.COMPANY_DOCTOR, ActorKind.HYGIENIST):
            grants = grant_table.grants_in_force(tx, role, token.issuer, token.subject, today)
            employers = {g.employer_id for g in grants}
            if employer_kvk is not None:
                chosen = org_table.employer_by_kvk(tx, _kvk(employer_kvk))
                if chosen is None or chosen.id not in employers:
                    raise Forbidden(f"no {role} grant in force with employer {employer_kvk}")
                employers = {chosen.id}
            single = next(iter(employers)) if len(employers) == 1 else None
            return Actor(
                kind=role,
                id=label,
                employer_id=single if role is ActorKind.HYGIENIST else None,
                employer_ids=frozenset(employers),
                acting_for=f"employer:{single}" if single else None,
            )
        if role is ActorKind.INSPECTOR:
            # Data minimisation: an inspection is of one employer, named in X-Employer.
            inspected = org_table.employer_by_kvk(tx, _kvk(employer_kvk)) if employer_kvk else None
            if employer_kvk and inspected is None:
                raise Forbidden(f"no employer with KvK number {employer_kvk}")
            return Actor(
                kind=role,
                id=label,
                employer_ids=frozenset({inspected.id}) if inspected else frozenset(),
            )
        project = token.claims.get(PROJECT_CLAIM)
        return Actor(kind=role, id=label, project=str(project) if project is not None else None)


def _role(token: VerifiedToken, issuer_roles: Mapping[str, frozenset[ActorKind]]) -> ActorKind:
    claimed = token.claims.get(ROLE_CLAIM)
    try:
        role = ActorKind(str(claimed))
    except ValueError:
        role = None
    if role is None or role not in SIGN_IN_ROLES:
        raise Unauthenticated(f"the token names no registry role in the claim {ROLE_CLAIM!r}")
    if role not in issuer_roles.get(token.issuer, frozenset()):
        raise Unauthenticated(f"this issuer is not trusted to sign in a {role}")
    return role


def _kvk(value: str) -> str:
    try:
        return normalise_kvk(value)
    except ValueError:
        raise Forbidden("X-Employer: not a KvK number") from None
