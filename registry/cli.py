"""The `registry` command: set up, serve, manage employers and keys, load demo data.

Every subcommand finds its store through --data-dir (or REGISTRY_DATA_DIR, default
./data) and its key file through --key-file (default: registry.key inside the data dir).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from crypto import rotate_kek, save_keyring
from registry.access import audit
from registry.runtime import Runtime, open_runtime
from registry.services import organisations as org_service
from registry.settings import Settings
from registry.store import organisations as org_table
from registry.store.people import KeyTable
from schemas.errors import RegistryError
from schemas.identifiers import normalise_bsn, normalise_cas, normalise_kvk
from schemas.organisation import EmployerIn
from schemas.validation import check

__all__ = ["main"]


def _print_json(value: object) -> None:
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


def cmd_init(rt: Runtime, args: argparse.Namespace) -> None:
    print(f"store ready: {(rt.settings.postgres_dsn and 'PostgreSQL') or rt.settings.database_file}")
    print(f"key file: {rt.settings.key_file} (keep it apart from the data; without it nothing can be read)")


def cmd_serve(rt: Runtime, args: argparse.Namespace) -> None:
    import uvicorn

    from registry.api.app import create_app

    if args.demo:
        from registry.demo import load_demo

        summary = load_demo(rt)
        print("demo data loaded; API keys of the demo employers:")
        for line in summary:
            print(f"  {line}")
    print(f"serving on http://{args.host}:{args.port}/api/v1  (docs: http://{args.host}:{args.port}/schema/swagger)")
    uvicorn.run(create_app(rt), host=args.host, port=args.port, log_level="warning", access_log=False)


def cmd_employer_create(rt: Runtime, args: argparse.Namespace) -> None:
    employer_in = check(EmployerIn(kvk=args.kvk, name=args.name, sbi_code=args.sbi))
    with rt.db.write() as tx:
        employer = org_service.create_employer(tx, employer_in)
        key = org_service.create_api_key(tx, employer.id, label=args.label)
    _print_json(
        {
            "id": employer.id,
            "kvk": employer.kvk,
            "name": employer.name,
            "key_id": key.key_id,
            "api_key": key.api_key,
        }
    )


def cmd_employer_list(rt: Runtime, args: argparse.Namespace) -> None:
    with rt.db.read() as tx:
        for employer in org_table.list_employers(tx):
            _print_json(employer)


def cmd_key_create(rt: Runtime, args: argparse.Namespace) -> None:
    with rt.db.write() as tx:
        employer = org_table.employer_by_kvk(tx, normalise_kvk(args.kvk))
        if employer is None:
            raise SystemExit(f"registry: no employer with KvK number {args.kvk}")
        key = org_service.create_api_key(tx, employer.id, label=args.label)
    _print_json({"employer_id": employer.id, "key_id": key.key_id, "api_key": key.api_key})


def cmd_key_revoke(rt: Runtime, args: argparse.Namespace) -> None:
    with rt.db.write() as tx:
        if not org_table.revoke_api_key(tx, args.key_id):
            raise SystemExit(f"registry: no active API key {args.key_id}")
    print(f"revoked {args.key_id}")


def cmd_keys_rotate(rt: Runtime, args: argparse.Namespace) -> None:
    """New KEK, every worker key re-wrapped, then the old KEK removed from the key file."""
    from crypto import Vault

    new_ring = rt.vault.keyring.with_new_kek()
    save_keyring(new_ring, rt.settings.key_file)  # old KEK kept until every key moved
    with rt.db.write() as tx:
        moved = rotate_kek(Vault(new_ring), KeyTable(tx))
    save_keyring(new_ring.without_keks_except_active(), rt.settings.key_file)
    print(f"re-wrapped {moved} worker keys under {new_ring.active_kek_id}; retired key-encryption keys removed")


def cmd_limits_import(rt: Runtime, args: argparse.Namespace) -> None:
    from registry.services.limits import import_limits

    path = Path(args.file)
    report, batch = import_limits(rt.db, path.read_text(encoding="utf-8"), path.name)
    for row in report.rejected:
        print(f"{path.name}:{row.line}: {row.field}: {row.reason}", file=sys.stderr)
    if batch is None:
        raise SystemExit(f"registry: nothing imported ({len(report.rejected)} rejected row(s)); fix them and retry")
    print(f"imported {len(report.accepted)} limit values as batch {batch}")


def cmd_report(rt: Runtime, args: argparse.Namespace) -> None:
    from analytics.compliance import compliance_report
    from registry.services.compliance import load_inputs

    with rt.db.read() as tx:
        employer = org_table.employer_by_kvk(tx, normalise_kvk(args.kvk)) if args.kvk else None
        if args.kvk and employer is None:
            raise SystemExit(f"registry: no employer with KvK number {args.kvk}")
        data = load_inputs(tx, str(employer.id) if employer else None)
    for row in compliance_report(data.indices, data.names, bayesian=not args.no_bayesian):
        _print_json(row)


def cmd_history(rt: Runtime, args: argparse.Namespace) -> None:
    """The operator answers a worker's request for their history (purpose tsb_claim, audited)."""
    from registry.access import Actor, ActorKind, Purpose, audited
    from registry.services.history import worker_history
    from registry.store.people import worker_id_by_index

    try:
        bsn = normalise_bsn(args.bsn)
    except ValueError as exc:
        raise SystemExit(f"registry: --bsn: {exc}") from None
    with audited(rt.db, Actor(kind=ActorKind.ADMIN, id="cli"), Purpose.TSB_CLAIM) as gate, rt.db.read() as tx:
        worker_id = worker_id_by_index(tx, rt.vault.blind_index("bsn", bsn))
        if worker_id is None:
            raise SystemExit("registry: no worker with this BSN is registered")
        document = worker_history(tx, rt.vault, gate, worker_id)
    encoded = msgspec.json.format(msgspec.json.encode(document)) + b"\n"
    if args.output:
        Path(args.output).write_bytes(encoded)
        print(f"history of worker {worker_id} written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(encoded)


def cmd_aggregate(rt: Runtime, args: argparse.Namespace) -> None:
    from analytics.aggregates import DIMENSIONS
    from registry.services.aggregates import exposure_aggregates

    by = [d.strip() for d in args.by.split(",") if d.strip()]
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by:
        raise SystemExit(f"registry: --by: choose from {', '.join(DIMENSIONS)}")
    try:
        cas = normalise_cas(args.substance_cas) if args.substance_cas else None
    except ValueError as exc:
        raise SystemExit(f"registry: --substance-cas: {exc}") from None
    with rt.db.read() as tx:
        cells = exposure_aggregates(tx, by, substance_cas=cas)
    for cell in cells:
        _print_json(cell)


def cmd_demo(rt: Runtime, args: argparse.Namespace) -> None:
    from registry.demo import load_demo

    for line in load_demo(rt):
        print(line)


def cmd_synth(rt: Runtime, args: argparse.Namespace) -> None:
    from registry.synthetic import generate

    summary = generate(rt, measurements=args.measurements, seed=args.seed, api_keys=args.api_keys)
    for key in summary.api_keys:
        _print_json(key)
    _print_json(msgspec.structs.replace(summary, api_keys=[]))


def cmd_audit_verify(rt: Runtime, args: argparse.Namespace) -> None:
    with rt.db.read() as tx:
        count = audit.verify_chain(tx)
    print(f"audit log intact: {count} entries")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry",
        description="Blootstellingsregister: the Dutch hazardous-substance exposure registry.",
        epilog="Start with 'registry serve --demo' and open http://127.0.0.1:8000/schema/swagger.",
    )
    parser.add_argument("--data-dir", help="where the store lives (env REGISTRY_DATA_DIR, default ./data)")
    parser.add_argument("--key-file", help="the key file (env REGISTRY_KEY_FILE, default DATA_DIR/registry.key)")
    parser.add_argument(
        "--postgres",
        dest="postgres_dsn",
        help="keep the data in this PostgreSQL database (env REGISTRY_POSTGRES_DSN)",
    )
    parser.add_argument(
        "--postgres-schema", help="schema for the registry's tables (env REGISTRY_POSTGRES_SCHEMA, default registry)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="create the key file and an empty encrypted store").set_defaults(run=cmd_init)

    serve = sub.add_parser("serve", help="run the API (creates the store on first run)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load demo employers, workers and measurements first")
    serve.set_defaults(run=cmd_serve)

    employer = sub.add_parser("employer", help="register and list employers").add_subparsers(
        dest="action", required=True
    )
    create = employer.add_parser("create", help="register an employer and print its first API key as JSON")
    create.add_argument("--kvk", required=True, help="KvK number, 8 digits")
    create.add_argument("--name", required=True)
    create.add_argument("--sbi", help="SBI sector code, e.g. 1623")
    create.add_argument("--label", help="a note on what the key is for")
    create.set_defaults(run=cmd_employer_create)
    employer.add_parser("list", help="all employers, one JSON object per line").set_defaults(run=cmd_employer_list)

    apikey = sub.add_parser("apikey", help="issue or revoke an employer's API keys").add_subparsers(
        dest="action", required=True
    )
    key_create = apikey.add_parser("create", help="issue another API key for an employer")
    key_create.add_argument("--kvk", required=True)
    key_create.add_argument("--label")
    key_create.set_defaults(run=cmd_key_create)
    key_revoke = apikey.add_parser("revoke", help="revoke an API key by its key id")
    key_revoke.add_argument("key_id")
    key_revoke.set_defaults(run=cmd_key_revoke)

    keys = sub.add_parser("keys", help="key management").add_subparsers(dest="action", required=True)
    keys.add_parser("rotate", help="new key-encryption key; re-wrap every worker key").set_defaults(run=cmd_keys_rotate)

    sub.add_parser("demo", help="load demo data into the store").set_defaults(run=cmd_demo)

    limits = sub.add_parser("limits", help="limit values (grenswaarden)").add_subparsers(dest="action", required=True)
    limits_import = limits.add_parser("import", help="import an official list (CSV, all rows valid or nothing)")
    limits_import.add_argument("file", help="CSV with the columns of analytics/reference/oel_reference.csv")
    limits_import.set_defaults(run=cmd_limits_import)

    report = sub.add_parser("report", help="EN 689 compliance per SEG and substance, one JSON object per line")
    report.add_argument("--kvk", help="only this employer")
    report.add_argument("--no-bayesian", action="store_true", help="skip the Bayesian estimates")
    report.set_defaults(run=cmd_report)
    history_cmd = sub.add_parser(
        "history", help="a worker's exposure history across all employers, as JSON (for the worker or a TSB claim)"
    )
    history_cmd.add_argument("--bsn", required=True, help="the worker's BSN (found through the blind index)")
    history_cmd.add_argument("--output", help="write to this file instead of standard output")
    history_cmd.set_defaults(run=cmd_history)
    aggregate_cmd = sub.add_parser(
        "aggregate",
        help="exposure statistics per cell, small cells suppressed, one JSON object per line (operator only)",
    )
    aggregate_cmd.add_argument("--by", default="substance,sector,year", help="dimensions: substance,sector,year,task")
    aggregate_cmd.add_argument("--substance-cas", help="only this substance")
    aggregate_cmd.set_defaults(run=cmd_aggregate)
    synth = sub.add_parser("synth", help="add synthetic employers, workers and measurements (tests, benchmarks)")
    synth.add_argument("--measurements", type=int, required=True, help="how many, e.g. 1000000; the rest scales along")
    synth.add_argument("--seed", type=int, default=1, help="same seed, same data (each seed loads once per store)")
    synth.add_argument("--api-keys", action="store_true", help="issue and print an API key per generated employer")
    synth.set_defaults(run=cmd_synth)

    audit_cmd = sub.add_parser("audit", help="the access log").add_subparsers(dest="action", required=True)
    audit_cmd.add_parser("verify", help="check the hash chain of the audit log").set_defaults(run=cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.resolve(args.data_dir, args.key_file, args.postgres_dsn, args.postgres_schema)
    try:
        runtime = open_runtime(settings)
    except (RegistryError, FileExistsError) as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
    try:
        args.run(runtime, args)
    except BrokenPipeError:  # e.g. `registry employer list | head`: the reader has all it wanted
        # Python's own advice (signal module, "Note on SIGPIPE"): point stdout at devnull so
        # the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except RegistryError as exc:
        detail = "; ".join(f"{e.field}: {e.reason}" for e in getattr(exc, "errors", [])) or exc.detail
        print(f"registry: {detail}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
