"""Who may do what: actors and purposes, the policy, the audit log, and the unit of work
that joins them to the store."""

from registry.access.actors import Actor, ActorKind, Purpose
from registry.access.policy import DEFAULT_PURPOSE, Action, Decision, HistoryReach, Record, scope_sql
from registry.access.work import Work

__all__ = [
    "DEFAULT_PURPOSE",
    "Action",
    "Actor",
    "ActorKind",
    "Decision",
    "HistoryReach",
    "Purpose",
    "Record",
    "Work",
    "scope_sql",
]
