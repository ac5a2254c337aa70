"""The store layer on a real encrypted DuckDB file."""

from __future__ import annotations

import uuid

from registry.runtime import Runtime
from registry.store import migrate, organisations
from registry.store.migrations import applied_versions
from registry.store.people import workers_in_scope


def test_migrations_apply_once(runtime: Runtime) -> None:
    assert migrate(runtime.db) == []
    with runtime.db.read() as tx:
        assert applied_versions(tx) == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_id_lookups_survive_a_checkpoint(runtime: Runtime) -> None:
    """Regression: DuckDB 1.5.5's join-filter pushdown lost UUID IN-subquery matches after a checkpoint."""
    worker = uuid.uuid4()
    with runtime.db.write() as tx:
        employer = organisations.insert_employer(tx, "88888880", "Checkpoint B.V.", None)
        tx.execute("INSERT INTO workers VALUES (?, ?, 'person', ?, '', '', '', now())", [worker, employer.id, worker])
    runtime.db.checkpoint()
    with runtime.db.read() as tx:
        # a worker's list scope is such an IN-subquery (registry.access.policy.scope_sql)
        scope = ("id IN (SELECT id FROM workers WHERE bsn_index = ?)", ["person"])
        rows, total = workers_in_scope(tx, scope, limit=10, offset=0)
        assert [r.id for r in rows] == [worker] and total == 1


def test_a_failed_transaction_leaves_nothing(runtime: Runtime) -> None:
    try:
        with runtime.db.write() as tx:
            organisations.insert_employer(tx, "99999990", "Half B.V.", None)
            raise RuntimeError("crash in the middle")
    except RuntimeError:
        pass
    with runtime.db.read() as tx:
        assert organisations.employer_by_kvk(tx, "99999990") is None
