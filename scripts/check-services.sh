#!/usr/bin/env bash
# The test suite runs against the local PostgreSQL server as well as the embedded store.
# Fail early and clearly when it is not there, instead of a wall of connection errors.
set -euo pipefail
PGHOST=${REGISTRY_TEST_PG_HOST:-127.0.0.1}
PGPORT=${REGISTRY_TEST_PG_PORT:-5432}
if ! (exec 3<>"/dev/tcp/$PGHOST/$PGPORT") 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "check-services: PostgreSQL not reachable on $PGHOST:$PGPORT, starting the local cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    sleep 2
  fi
fi
if ! (exec 3<>"/dev/tcp/$PGHOST/$PGPORT") 2>/dev/null; then
  echo "check-services: PostgreSQL is not reachable on $PGHOST:$PGPORT." >&2
  echo "  The test suite needs a PostgreSQL 15 server with trust auth and a database 'test'." >&2
  echo "  Start it (e.g. 'pg_ctlcluster 15 main start') or set REGISTRY_TEST_PG_HOST/PORT." >&2
  exit 1
fi
