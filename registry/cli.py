"""The `registry` command: set up, serve, manage employers and keys, load demo data.

Every subcommand finds its store through --data-dir (or REGISTRY_DATA_DIR, default
./data) and its key file through --key-file (default: registry.key inside the data dir).
While `registry serve` holds the embedded store, a command is run inside the server
instead, over its operator channel (registry/operator_channel.py).

A command is a function `cmd_x(rt, args, io)`: it writes only to `io.out`/`io.err`, reads
and writes the operator's files only through `io.read_text`/`io.write_text` (naming their
arguments in the parser's `reads`/`writes` defaults) and refuses with `CommandFailed`, so
that it runs the same inside the server, in a worker thread, as in its own process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import msgspec

from registry.access import Actor, ActorKind, Purpose, Work, audit
from registry.command_io import CommandFailed, Io, ParseExit
from registry.runtime import Runtime, open_runtime
from registry.services import organisations as org_service
from registry.settings import Settings
from registry.store import organisations as org_table
from registry.store.backends import StoreBusy
from schemas.errors import RegistryError
from schemas.identifiers import normalise_bsn, normalise_cas, normalise_kvk, normalise_sbi
from schemas.organisation import EmployerIn, EmployerOut
from schemas.validation import check

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from analytics.limits import LimitImport

__all__ = ["main", "parse_args", "run"]


def _print_json(io: Io, value: object) -> None:
    io.out.write(msgspec.json.encode(value).decode() + "\n")


def cmd_init(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    _warn_if_key_in_data_dir(rt.settings, io)
    io.out.write(f"store ready: {(rt.settings.postgres_dsn and 'PostgreSQL') or rt.settings.database_file}\n")
    io.out.write(f"key file: {rt.settings.key_file} (keep it apart from the data; without it nothing can be read)\n")


def cmd_serve(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from registry.api.app import create_app
    from registry.operator_channel import CommandTable, serve

    _warn_if_key_in_data_dir(rt.settings, io)
    if args.demo:
        from registry.demo import load_demo

        summary = load_demo(rt)
        io.out.write("demo data loaded; API keys of the demo employers:\n")
        for line in summary:
            io.out.write(f"  {line}\n")
    url = f"http://{args.host}:{args.port}"
    io.out.write(f"serving on {url}/api/v1  (docs: {url}/schema/swagger)\n")
    serve(rt, create_app(rt), args.host, args.port, io, CommandTable(parse=parse_args, run=run))


def _warn_if_key_in_data_dir(settings: Settings, io: Io) -> None:
    """The default layout keeps the key beside the data it decrypts, so every copy or backup
    of the data directory carries its own key. (A PostgreSQL store's data is not in it.)"""
    if settings.postgres_dsn or not settings.key_file.resolve().is_relative_to(settings.data_dir.resolve()):
        return
    io.err.write(
        f"registry: warning: the key file {settings.key_file} is inside the data directory {settings.data_dir}, "
        "so copying the data directory copies its key; keep it elsewhere with REGISTRY_KEY_FILE or --key-file "
        "(README: Production layout)\n"
    )


def cmd_employer_create(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    employer_in = check(EmployerIn(kvk=args.kvk, name=args.name, sbi_code=args.sbi))

    def create(work: Work) -> tuple[EmployerOut, org_service.NewApiKey]:
        employer = org_service.create_employer(work.tx, employer_in)
        return employer, org_service.create_api_key(work.tx, employer.id, label=args.label)

    employer, key = _operator(rt).write(create)
    _print_json(
        io,
        {
            "id": employer.id,
            "kvk": employer.kvk,
            "name": employer.name,
            "key_id": key.key_id,
            "api_key": key.api_key,
        },
    )


def cmd_employer_list(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    for employer in _operator(rt).read(lambda w: org_table.list_employers(w.tx)):
        _print_json(io, employer)


def cmd_key_create(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    def create(work: Work) -> org_service.NewApiKey:
        employer = org_table.employer_by_kvk(work.tx, normalise_kvk(args.kvk))
        if employer is None:
            raise CommandFailed(f"no employer with KvK number {args.kvk}")
        return org_service.create_api_key(work.tx, employer.id, label=args.label)

    key = _operator(rt).write(create)
    _print_json(io, {"employer_id": key.employer_id, "key_id": key.key_id, "api_key": key.api_key})


def cmd_key_revoke(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    if not _operator(rt).write(lambda w: org_table.revoke_api_key(w.tx, args.key_id)):
        raise CommandFailed(f"no active API key {args.key_id}")
    io.out.write(f"revoked {args.key_id}\n")


def cmd_keys_rotate(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    moved, kek_id = rt.rotate_keys()
    io.out.write(f"re-wrapped {moved} worker keys under {kek_id}; retired key-encryption keys removed\n")


def cmd_limits_import(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from registry.services.limits import import_limits

    name = Path(args.file).name
    sector = _sbi(args.sector) if args.sector else None
    outcome = import_limits(rt.db, io.read_text(args.file), name, sector=sector)
    for row in outcome.report.rejected:
        io.err.write(f"{name}:{row.line}: {row.field}: {row.reason}\n")
    if outcome.changes is None:
        hint = "; a sector's list is imported with --sector SBI" if _names_sector(outcome.report) else ""
        raise CommandFailed(
            f"nothing imported ({len(outcome.report.rejected)} rejected row(s)); fix them and retry{hint}"
        )
    changes = outcome.changes
    io.out.write(
        f"{name}: {len(changes.new)} new, {len(changes.changed)} changed (superseding {len(changes.superseded)} "
        f"stored), {changes.unchanged} unchanged limit values"
        + (f"; stored as batch {outcome.batch}\n" if outcome.batch else "; nothing new to store\n")
    )


def _sbi(value: str) -> str:
    try:
        return normalise_sbi(value)
    except ValueError as exc:
        raise CommandFailed(f"--sector: {exc}") from None


def _names_sector(report: LimitImport) -> bool:
    return any(row.field == "sector_sbi" for row in report.rejected)


def cmd_limits_list(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from registry.limits_listing import limits_table
    from registry.services.limits import limits_on

    try:
        day = dt.date.fromisoformat(args.on) if args.on else dt.date.today()
    except ValueError:
        raise CommandFailed(f"--on: {args.on!r} is not a date written YYYY-MM-DD") from None
    rows = _operator(rt).read(lambda w: limits_on(w.tx, day, args.substance))
    if args.json:
        for row in rows:
            _print_json(io, row)
    elif rows:
        io.out.write(limits_table(rows))
    else:
        io.err.write(f"no limit values in force on {day}" + (f" for {args.substance!r}\n" if args.substance else "\n"))


def cmd_import(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    """A lab's file for an employer, as POST /api/v1/measurements/import takes it."""
    from registry.lab_import.command import import_lab_file

    _print_json(io, import_lab_file(rt, args.file, args.employer, args.mapping, io))


def cmd_report(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from analytics.statistics import PRIORS
    from registry.services.compliance_rows import report_rows

    if args.prior not in PRIORS:
        raise CommandFailed(f"--prior: {args.prior!r} is not one of {', '.join(PRIORS)}")
    gate = _operator(rt)
    employer_id = None
    if args.kvk:
        employer = gate.read(lambda w: org_table.employer_by_kvk(w.tx, normalise_kvk(args.kvk)))
        if employer is None:
            raise CommandFailed(f"no employer with KvK number {args.kvk}")
        employer_id = str(employer.id)
    for row in report_rows(gate, employer_id, bayesian=not args.no_bayesian, prior=args.prior):
        _print_json(io, row)


def cmd_history(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    """The operator answers a worker's request for their history (purpose tsb_claim, audited)."""
    from registry.services.history import history_by_bsn

    bsn = _bsn(args, io)
    document = _operator(rt, Purpose.TSB_CLAIM).read(lambda w: history_by_bsn(w, bsn))
    encoded = (msgspec.json.format(msgspec.json.encode(document)) + b"\n").decode()
    if args.output:
        io.write_text(args.output, encoded)
        io.err.write(f"history of worker {document.worker.id} written to {args.output}\n")
    else:
        io.out.write(encoded)


def cmd_token(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    """A bearer token from the embedded issuer, so a newcomer can sign in without any outside
    service. A worker's subject is a keyed pseudonym of the BSN: a token's subject is logged."""
    from registry.services.signin import BSN_CLAIM, PROJECT_CLAIM, ROLE_CLAIM, SIGN_IN_ROLES, local_issuer

    role = ActorKind(args.role)
    if role not in SIGN_IN_ROLES:
        raise CommandFailed(f"--role: one of {', '.join(sorted(SIGN_IN_ROLES))} (employers use API keys)")
    claims: dict[str, object] = {ROLE_CLAIM: str(role)}
    subject = args.subject
    if role is ActorKind.WORKER:
        bsn = _bsn(args, io)
        claims[BSN_CLAIM] = bsn
        subject = subject or "worker-" + rt.vault.blind_index("token-subject", bsn)[:24]
    if role is ActorKind.RESEARCHER:
        if not args.project:
            raise CommandFailed("--project: a researcher's token names the approved project")
        claims[PROJECT_CLAIM] = args.project
    if not subject:
        raise CommandFailed(f"--subject: who the {role} is at the issuer (the subject a grant names)")
    claims["sub"] = subject
    if not rt.settings.local_issuer:
        raise CommandFailed("the embedded issuer is switched off (REGISTRY_LOCAL_ISSUER=0); sign in with your provider")
    token = local_issuer(rt.settings).issue(
        claims, audience=rt.settings.oidc_audience, ttl=dt.timedelta(minutes=args.minutes)
    )
    io.out.write(token + "\n")


def cmd_identities_list(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from registry.services.identities import reconciliation_items

    items = _operator(rt).read(lambda w: reconciliation_items(w, include_resolved=args.include_resolved))
    for item in items:
        _print_json(io, item)


def cmd_identities_resolve(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from registry.services.identities import resolve_item

    _operator(rt).write(lambda w: resolve_item(w, args.item, args.note))
    io.out.write(f"resolved {args.item}\n")


def _operator(rt: Runtime, purpose: Purpose = Purpose.ADMINISTRATION) -> Work:
    """The operator's unit of work for one command: every command goes through it."""
    return Work(rt.db, rt.vault, Actor(kind=ActorKind.OPERATOR, id="cli"), purpose)


def _bsn(args: argparse.Namespace, io: Io) -> str:
    """The BSN of --bsn, or read from --bsn-file or standard input (`--bsn -`), which keep it
    out of the process list (ps, /proc/PID/cmdline) that every user of the machine can read."""
    if args.bsn_file is None:
        flag, value = "--bsn", args.bsn or ""
    else:
        flag, value = "--bsn" if args.bsn_file == "-" else "--bsn-file", io.read_text(args.bsn_file).strip()
    try:
        return normalise_bsn(value)
    except ValueError as exc:
        raise CommandFailed(f"{flag}: {exc}") from None


def cmd_aggregate(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from analytics.aggregates import DIMENSIONS
    from registry.services.aggregates import exposure_aggregates

    by = [d.strip() for d in args.by.split(",") if d.strip()]
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by:
        raise CommandFailed(f"--by: choose from {', '.join(DIMENSIONS)}")
    try:
        cas = normalise_cas(args.substance_cas) if args.substance_cas else None
    except ValueError as exc:
        raise CommandFailed(f"--substance-cas: {exc}") from None
    cells = _operator(rt).read(lambda w: exposure_aggregates(w.tx, by, substance_cas=cas))
    for cell in cells:
        _print_json(io, cell)


def cmd_demo(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from registry.demo import load_demo

    for line in load_demo(rt):
        io.out.write(f"{line}\n")


def cmd_synth(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    from registry.synthetic import generate

    # The generator draws its progress lines on the process's own stderr: only when that is
    # the operator's, not inside the server.
    summary = generate(
        rt, measurements=args.measurements, seed=args.seed, api_keys=args.api_keys, progress=io.err is sys.stderr
    )
    for key in summary.api_keys:
        _print_json(io, key)
    _print_json(io, msgspec.structs.replace(summary, api_keys=[]))


def cmd_audit_verify(rt: Runtime, args: argparse.Namespace, io: Io) -> None:
    anchored = rt.audit_anchor.read()  # before the snapshot: every head it holds was committed before it
    report = _operator(rt).read(lambda w: audit.verify_chain(w.tx, rt.audit_seal, anchored))
    rt.audit_anchor.compact()
    io.out.write(
        f"audit log intact: {report.entries} entries in {report.streams} streams, every one sealed; "
        f"{report.anchored_streams} stream heads anchored in {rt.audit_anchor.path}\n"
    )
    if report.legacy_entries:
        io.out.write(
            f"{report.legacy_entries} entries were written before sealing began and were sealed on "
            f"{report.sealed_since:%Y-%m-%d}; before that only their hash chain protected them\n"
        )
    if report.anchor_recreated:
        io.out.write(
            f"warning: the anchor file was lost and started again on {report.sealed_since:%Y-%m-%d}; "
            "removal of entries written before that date cannot be detected\n"
        )


class _BsnArgument(argparse.Action):
    """`--bsn -` means `--bsn-file -`: the BSN is read on the operator's side, also when the
    command then runs inside the server."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, "bsn_file" if values == "-" else self.dest, values)


def _add_bsn_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(
        "--bsn",
        action=_BsnArgument,
        help="the worker's BSN, or '-' to read it from standard input; a number given here is visible to "
        "other users of the machine (ps), so prefer '-' or --bsn-file",
    )
    group.add_argument("--bsn-file", metavar="PATH", help="read the worker's BSN from this file")


class _Parser(argparse.ArgumentParser):
    """Raises `ParseExit` with the help or usage error instead of printing it and exiting."""

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        raise ParseExit(0, out=self.format_help())

    def error(self, message: str) -> NoReturn:
        raise ParseExit(2, err=f"{self.format_usage()}{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    # The operator's files a command reads or writes, by argument name: sent along with, or
    # written back from, a command run inside the server (registry/operator_channel.py).
    parser.set_defaults(reads=(), writes=(), reads_binary=())
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
    limits_import.add_argument(
        "--sector", metavar="SBI", help="a sector body's catalogue for this SBI code (every row a sector limit)"
    )
    limits_import.set_defaults(run=cmd_limits_import, reads=("file",))
    limits_list = limits.add_parser("list", help="the limit values in force on a date (company limits excepted)")
    limits_list.add_argument("--substance", help="a CAS number, or part of the name as published")
    limits_list.add_argument("--on", metavar="DATE", help="YYYY-MM-DD (default today)")
    limits_list.add_argument("--json", action="store_true", help="one JSON object per row, with every field")
    limits_list.set_defaults(run=cmd_limits_list)

    import_cmd = sub.add_parser(
        "import",
        help="record a lab's file of results (CSV or xlsx) for an employer, all or nothing, with a progress bar",
    )
    import_cmd.add_argument("file", help="the lab's CSV or xlsx, header in row 1 ('-' reads standard input)")
    import_cmd.add_argument("--employer", required=True, metavar="KVK", help="the employer it is recorded for")
    import_cmd.add_argument(
        "--mapping",
        metavar="FILE",
        help="a column mapping as JSON (as PUT /api/v1/measurements/import/mapping takes it); "
        "default: the employer's saved mapping, else the template's headers",
    )
    import_cmd.set_defaults(run=cmd_import, reads=("mapping",), reads_binary=("file",))

    report = sub.add_parser("report", help="EN 689 compliance per SEG and substance, one JSON object per line")
    report.add_argument("--kvk", help="only this employer")
    report.add_argument("--no-bayesian", action="store_true", help="skip the Bayesian estimates")
    report.add_argument(
        "--prior",
        default="informedvar",
        help="Expostats prior of the Bayesian estimates: informedvar (default, the GSDs seen in practice) or "
        "uninformative (sigma uniform up to 2.3)",
    )
    report.set_defaults(run=cmd_report)
    history_cmd = sub.add_parser(
        "history", help="a worker's exposure history across all employers, as JSON (for the worker or a TSB claim)"
    )
    _add_bsn_arguments(history_cmd, required=True)
    history_cmd.add_argument("--output", help="write to this file instead of standard output")
    history_cmd.set_defaults(run=cmd_history, reads=("bsn_file",), writes=("output",))
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

    token = sub.add_parser(
        "token", help="print a sign-in token from the embedded OpenID issuer (worker, company_doctor, ...)"
    )
    token.add_argument("--role", required=True, choices=[k.value for k in ActorKind if k is not ActorKind.EMPLOYER])
    _add_bsn_arguments(token, required=False)
    token.add_argument("--subject", help="who the person is at the issuer, as an employer's grant names them")
    token.add_argument("--project", help="a researcher's approved project")
    token.add_argument("--minutes", type=int, default=60, help="how long the token is valid (default 60)")
    token.set_defaults(run=cmd_token, reads=("bsn_file",))

    identities = sub.add_parser(
        "identities", help="persons whose employers supplied differing names or birth dates"
    ).add_subparsers(dest="action", required=True)
    identities_list = identities.add_parser("list", help="open reconciliation items, one JSON object per line")
    identities_list.add_argument("--include-resolved", action="store_true")
    identities_list.set_defaults(run=cmd_identities_list)
    identities_resolve = identities.add_parser("resolve", help="record how an item was settled")
    identities_resolve.add_argument("item", help="the item's id, as listed")
    identities_resolve.add_argument("--note", required=True, help="what was decided")
    identities_resolve.set_defaults(run=cmd_identities_resolve)

    audit_cmd = sub.add_parser("audit", help="the access log").add_subparsers(dest="action", required=True)
    audit_cmd.add_parser("verify", help="check the hash chain of the audit log").set_defaults(run=cmd_audit_verify)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line; raises `ParseExit` for help and usage errors."""
    return build_parser().parse_args(argv)


def run(rt: Runtime, args: argparse.Namespace, io: Io) -> int:
    """Run a parsed command; returns its exit code, a refusal reported on `io.err`."""
    try:
        args.run(rt, args, io)
    except CommandFailed as exc:
        io.err.write(f"registry: {exc}\n")
        return 2
    except RegistryError as exc:
        detail = "; ".join(f"{e.field}: {e.reason}" for e in getattr(exc, "errors", [])) or exc.detail
        io.err.write(f"registry: {detail}\n")
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # Everything the registry creates (the store, its WAL and temporary files, key files,
    # the operator socket) is the operator's alone: mode 0600, whatever the shell's umask.
    os.umask(0o077)
    io = Io(out=sys.stdout, err=sys.stderr)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
    except ParseExit as exc:
        io.out.write(exc.out)
        io.err.write(exc.err)
        return exc.status
    try:
        settings = Settings.resolve(args.data_dir, args.key_file, args.postgres_dsn, args.postgres_schema)
    except ValueError as exc:  # a malformed REGISTRY_* setting: one line, no traceback
        io.err.write(f"registry: {exc}\n")
        return 2
    try:
        runtime = open_runtime(settings)
    except StoreBusy as busy:
        from registry.operator_channel import forward

        forwarded = forward(settings.data_dir, argv, args, io)
        if forwarded is None:  # no server answers on its channel: something else holds the store
            io.err.write(f"registry: {busy}\n")
            return 2
        return forwarded
    except (RegistryError, FileExistsError) as exc:
        io.err.write(f"registry: {exc}\n")
        return 2
    try:
        return run(runtime, args, io)
    except BrokenPipeError:  # e.g. `registry employer list | head`: the reader has all it wanted
        # Python's own advice (signal module, "Note on SIGPIPE"): point stdout at devnull so
        # the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        runtime.close()


if __name__ == "__main__":
    raise SystemExit(main())
