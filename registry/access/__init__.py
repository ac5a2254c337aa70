"""Who may do what: actors and purposes, the policy, the audit log, and the gate joining them."""

from registry.access.actors import Actor, ActorKind, Purpose
from registry.access.gate import Gate, audited
from registry.access.policy import Action, Decision, Record, scope_sql

__all__ = [
    "Action",
    "Actor",
    "ActorKind",
    "Decision",
    "Gate",
    "Purpose",
    "Record",
    "audited",
    "scope_sql",
]
