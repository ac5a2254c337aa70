"""Nothing secret or personal is left where it should not be (issue 20, item 7).

A realistic session on each store: `serve --demo` with its stdout and stderr in a log file,
workers registered over the API, tokens from `registry token`, API keys issued and revoked,
a key rotation, and requests refused with a BSN or a name in the body. Then every byte the
registry left behind is searched for every BSN and name used, every API key and token, and
the keys of the key file and the embedded issuer: the files of the data directory (but the
two key files), while serving and after, the server's log, every CLI output (but the API
key or token the command exists to print), the answers to the refused requests and, for
PostgreSQL, a dump of the store's schema. The failure names what leaked where.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from crypto import LOCAL_ISSUER
from registry.demo import valid_bsn
from registry.store.backends import PostgresServer, connect
from tests.conftest import POSTGRES_DSN, STORES, Place, Server, make_place, run_cli
from tests.helpers import air_sample

KVK = "31415926"
DOCTOR = "big:19087654321"
# Our workers, with names that need more than ASCII; and names only ever sent in refused requests.
NAMES = [
    "Geertruida van Swinderen-Oosterhuis",
    "Aïcha El Idrissi",
    "Ljiljana Đorđević",
    "Bartholomeus Zwanenburg",
    "Joost van 't Hooft",
    "Siebrecht Wiersma-Kuipers",
]
LATER_NAME = "Femke Oudenaarde-Lichtveld"  # registered after the key rotation
OTHER_SPELLING = "G. van Swinderen-Oosterhuis"  # the first worker, as a second employer knows her
REFUSED_NAMES = ["Hendrikje Weigering", "Onno Afgewezen-Brinkman", "Wilhelmina Tweemaal"]
DEMO_KVKS = ["90000011", "90000022", "90000033", "90000044", "90000055"]


class Needle(msgspec.Struct, frozen=True):
    """Something that must not be found, in each form it could take; a BSN only as a number
    of its own (not inside a longer run of digits, such as a measured value)."""

    what: str
    forms: tuple[bytes, ...]
    number: bool = False

    def found_in(self, content: bytes) -> bool:
        if self.number:
            return any(re.search(rb"(?<![0-9])" + re.escape(f) + rb"(?![0-9])", content) for f in self.forms)
        return any(f in content for f in self.forms)


class Target(msgspec.Struct, frozen=True):
    """Something to search, and what it exists to show (the `what` of those needles)."""

    where: str
    content: bytes
    allowed: frozenset[str] = frozenset()


def bsn_needle(bsn: str, whose: str) -> Needle:
    return Needle(f"BSN of {whose}", (bsn.encode("ascii"),), number=True)


def name_needle(name: str) -> Needle:
    return Needle(f"name {name!r}", tuple({name.encode(), json.dumps(name)[1:-1].encode()}))


def key_needle(what: str, raw: bytes) -> Needle:
    encoded = (raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode())
    return Needle(what, (raw, *(e.rstrip("=").encode() for e in encoded)))


def secret_needle(what: str, secret: str) -> Needle:
    """An API key `brk_<key id>_<secret>` or a JWT: the whole, or the part that is secret on
    its own (the key id and a JWT's header and claims are not)."""
    part = secret.split("_", 2)[2] if secret.startswith("brk_") else secret.rsplit(".", 1)[1]
    return Needle(what, (secret.encode(), part.encode()))


class Session:
    """What one session used (the needles) and left behind (the targets)."""

    def __init__(self, place: Place) -> None:
        self.place = place
        self.needles: list[Needle] = []
        self.targets: list[Target] = []

    def cli(self, *args: str, stdin: str | None = None, prints: frozenset[str] = frozenset()) -> str:
        """Run a command; its stdout and stderr are targets, `prints` what it exists to print."""
        out = run_cli(self.place, *args, stdin=stdin)
        where = "`registry " + " ".join(args) + "`"
        self.targets.append(Target(f"stdout of {where}", out.stdout.encode(), prints))
        self.targets.append(Target(f"stderr of {where}", out.stderr.encode()))
        return out.stdout

    def api_key(self, *args: str) -> str:
        """An API key issued by `registry employer create` or `registry apikey create`."""
        what = f"API key from `registry {' '.join(args)}`"
        out = self.cli(*args, prints=frozenset({what}))
        key: str = json.loads(out)["api_key"]
        self.needles.append(secret_needle(what, key))
        return key

    def token(self, *args: str, stdin: str | None = None) -> str:
        what = f"token from `registry token {' '.join(args)}`"
        token = self.cli("token", *args, stdin=stdin, prints=frozenset({what})).strip()
        self.needles.append(secret_needle(what, token))
        return token

    def refused(self, what: str, response: httpx.Response, echoes: frozenset[str] = frozenset()) -> None:
        """An answer to a refused request: a problem document names fields, never echoes
        values (but `echoes`, such as its `instance`: the path the caller sent)."""
        assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
        self.targets.append(Target(f"the answer to {what}", response.content, echoes))

    def key_file(self) -> None:
        settings = self.place.settings()
        text, jwk_text = settings.key_file.read_bytes(), settings.issuer_key_file.read_bytes()
        data, jwk = json.loads(text), json.loads(jwk_text)
        keys = [key_needle(f"key-encryption key {kek_id}", base64.b64decode(k)) for kek_id, k in data["keks"].items()]
        keys += [key_needle(field, base64.b64decode(data[field])) for field in ("database_key", "index_key")]
        issuer = key_needle("the embedded issuer's private key", base64.urlsafe_b64decode(jwk["d"] + "=="))
        assert all(n.found_in(text) for n in keys) and issuer.found_in(jwk_text)  # the scan sees them where they are
        self.needles += [*keys, issuer]

    def data_dir(self, when: str) -> None:
        settings = self.place.settings()
        for path in sorted(self.place.data_dir.rglob("*")):
            if path.is_file() and path not in (settings.key_file, settings.issuer_key_file):
                self.targets.append(Target(f"{path.relative_to(self.place.data_dir)} ({when})", path.read_bytes()))

    def findings(self) -> list[str]:
        return [
            f"{needle.what} in {target.where}"
            for target in self.targets
            for needle in self.needles
            if needle.what not in target.allowed and needle.found_in(target.content)
        ]


def test_names_and_credentials_show_where_intended(tmp_path: Path) -> None:
    """The scanner itself: each kind of needle is found where it is meant to be."""
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"bsn": "123456782", "name": NAMES[1]}))
    content = history.read_bytes()
    assert bsn_needle("123456782", "x").found_in(content) and name_needle(NAMES[1]).found_in(content)
    assert name_needle(NAMES[1]).found_in(json.dumps(NAMES[1]).encode())  # also \u-escaped
    assert not bsn_needle("123456782", "x").found_in(b"value 0.1234567825")
    raw = bytes(range(32))
    assert all(key_needle("k", raw).found_in(b"x" + form + b"y") for form in key_needle("k", raw).forms)


@pytest.mark.parametrize("store", STORES)
def test_nothing_secret_or_personal_leaks(tmp_path: Path, store: str) -> None:
    place = make_place(tmp_path, store)
    session = Session(place)
    log = tmp_path / "server.log"
    server = Server(place, log=log, serve_args=("--demo",))
    server.start()
    try:
        session.key_file()  # before the rotation: its KEK must not outlive it anywhere
        _session(session, server, tmp_path)
        session.key_file()
        session.data_dir("while serving again, WAL included")
    finally:
        server.stop()
    session.data_dir("after the server stopped")
    session.targets.append(_server_log(session, log))
    if store == "postgres":
        dump = _postgres_dump(place.store_args[3])
        assert b"Lekvrij Metaal B.V." in dump.content  # the employer's name: the dump holds the data
        session.targets.append(dump)

    findings = session.findings()
    scanned = sum(len(t.content) for t in session.targets)
    forms = sum(len(n.forms) for n in session.needles)
    print(f"{store}: {len(session.targets)} targets, {scanned} bytes; {len(session.needles)} needles, {forms} forms")
    assert not findings, "leaked:\n" + "\n".join(findings)


def _session(s: Session, server: Server, tmp_path: Path) -> None:
    rng = random.Random(20)
    bsns = [valid_bsn(rng) for _ in NAMES]
    later_bsn, stranger_bsn = valid_bsn(rng), valid_bsn(rng)
    wrong_bsn = bsns[0][:-1] + str((int(bsns[0][-1]) + 1) % 10)  # fails the elfproef
    for bsn, name in zip(bsns, NAMES, strict=True):
        s.needles += [bsn_needle(bsn, name), name_needle(name)]
    s.needles += [bsn_needle(later_bsn, LATER_NAME), name_needle(LATER_NAME), name_needle(OTHER_SPELLING)]
    s.needles += [bsn_needle(stranger_bsn, "a person only in a token"), bsn_needle(wrong_bsn, "a refused request")]
    s.needles += [name_needle(name) for name in REFUSED_NAMES]

    first_key = s.api_key("employer", "create", "--kvk", KVK, "--name", "Lekvrij Metaal B.V.")
    key = s.api_key("apikey", "create", "--kvk", KVK, "--label", "second")
    demo_keys = {kvk: s.api_key("apikey", "create", "--kvk", kvk) for kvk in DEMO_KVKS}
    for kvk in DEMO_KVKS:  # the demo's people, as their employers registered them
        with server.client(demo_keys[kvk]) as demo:
            for worker in demo.get("/api/v1/workers", params={"limit": 500}).json()["items"]:
                s.needles += [bsn_needle(worker["bsn"], f"demo worker {worker['name']}"), name_needle(worker["name"])]

    with server.client(key) as employer:
        ids = [_register(employer, bsn, name) for bsn, name in zip(bsns, NAMES, strict=True)]
        again = {"bsn": bsns[1], "name": NAMES[1], "date_of_birth": "1970-01-01"}
        retry = {"content-type": "application/json", "Idempotency-Key": "w-1"}
        first = employer.post("/api/v1/workers", content=msgspec.json.encode(again), headers=retry)
        replay = employer.post("/api/v1/workers", content=msgspec.json.encode(again), headers=retry)
        assert first.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
        s.needles.append(_unkeyed_hash(f"the BSN of {NAMES[1]}", "POST /api/v1/workers", again))
        seg = _ok(employer.post("/api/v1/segs", json={"name": "Lassers"}))["id"]
        for worker_id in ids:
            _ok(employer.post(f"/api/v1/segs/{seg}/members", json={"worker_id": worker_id, "start_date": "2015-01-01"}))
        batch = [air_sample(w, value=round(0.1 + i / 7, 3)) for i, w in enumerate(ids)]
        _ok(employer.post("/api/v1/measurements/batch", json={"items": batch}))
        _ok(employer.post("/api/v1/measurements", json=_blood(ids[0])))
        grant = {"role": "company_doctor", "issuer": LOCAL_ISSUER, "subject": DOCTOR, "valid_from": "2020-01-01"}
        _ok(employer.post("/api/v1/grants", json=grant))
        _refused_requests(s, employer, bsns, wrong_bsn)
    with server.client(demo_keys["90000011"]) as other:  # the first worker, spelled otherwise elsewhere
        _register(other, bsns[0], OTHER_SPELLING)
    with server.client(first_key) as first_client:  # revoked below
        _ok(first_client.get("/api/v1/me"))

    bsn_file = tmp_path / "bsn.txt"
    bsn_file.write_text(bsns[2] + "\n")
    worker_tokens = [
        s.token("--role", "worker", "--bsn", "-", stdin=f"{bsns[0]}\n"),
        s.token("--role", "worker", "--bsn-file", str(bsn_file)),
        s.token("--role", "worker", "--bsn", "-", stdin=stranger_bsn),
    ]
    for token in worker_tokens:
        with server.client(token) as worker:
            worker.get("/api/v1/me")
            worker.get("/api/v1/me/history")
            worker.get("/api/v1/me/access-log")
    with server.client(s.token("--role", "company_doctor", "--subject", DOCTOR)) as doctor:
        _ok(doctor.get(f"/api/v1/workers/{ids[0]}/history"))
    with server.client(s.token("--role", "operator", "--subject", "ops-1")) as operator:
        items = _ok(operator.get("/api/v1/operator/reconciliations"))
    assert len(items) == 1

    reconciled = frozenset({f"name {NAMES[0]!r}", f"name {OTHER_SPELLING!r}"})
    s.cli("identities", "list", prints=reconciled)
    s.cli("identities", "resolve", items[0]["id"], "--note", "the second employer uses initials")
    s.cli("history", "--bsn-file", str(bsn_file), "--output", str(tmp_path / "history.json"))
    s.cli("report", "--kvk", KVK, "--no-bayesian")
    s.cli("aggregate")
    s.cli("employer", "list")
    s.cli("apikey", "revoke", first_key.split("_")[1])
    s.cli("keys", "rotate")
    s.cli("audit", "verify")
    # A server on PostgreSQL learns of another process's rotation only when it restarts (README:
    # Production layout); restart on both stores alike, after looking at the WAL it would fold in.
    s.data_dir("before the restart, WAL included")
    server.stop()
    server.start()

    with server.client(key) as employer:  # after the rotation
        _register(employer, later_bsn, LATER_NAME)
        assert _ok(employer.get(f"/api/v1/workers/{ids[0]}"))["name"] == NAMES[0]
    with server.client(first_key) as revoked:
        s.refused("a revoked API key", revoked.get("/api/v1/me"))
    with server.client(s.token("--role", "worker", "--bsn", "-", stdin=f" {bsns[0]} ")) as worker:
        _ok(worker.get("/api/v1/me/history"))
    s.cli("history", "--bsn", "-", "--output", str(tmp_path / "history-2.json"), stdin=bsns[0])
    history = (tmp_path / "history.json").read_bytes()  # the operator's own copy: the scan would see it
    assert bsn_needle(bsns[2], "").found_in(history) and name_needle(NAMES[2]).found_in(history)


def _refused_requests(s: Session, employer: httpx.Client, bsns: list[str], wrong_bsn: str) -> None:
    """Requests that fail validation with a BSN or a name in them."""
    name = REFUSED_NAMES[0]
    workers = "/api/v1/workers"
    s.refused(
        "a bad date of birth",
        employer.post(workers, json={"bsn": bsns[3], "name": name, "date_of_birth": "1970-13-45"}),
    )
    s.refused(
        "a BSN failing the elfproef",
        employer.post(workers, json={"bsn": wrong_bsn, "name": name, "date_of_birth": "1970-01-01"}),
    )
    s.refused(
        "an unknown field",
        employer.post(
            workers, json={"bsn": bsns[3], "name": name, "date_of_birth": "1970-01-01", "alias": REFUSED_NAMES[1]}
        ),
    )
    s.refused(
        "a BSN as a number",
        employer.post(workers, json={"bsn": int(bsns[3]), "name": name, "date_of_birth": "1970-01-01"}),
    )
    s.refused(
        "a name too long",
        employer.post(workers, json={"bsn": bsns[3], "name": name * 40, "date_of_birth": "1970-01-01"}),
    )
    s.refused(
        "malformed JSON",
        employer.post(
            workers,
            content=f'{{"bsn": "{bsns[3]}", "name": "{name}", '.encode(),
            headers={"content-type": "application/json"},
        ),
    )
    s.refused(
        "another name for a registered BSN",
        employer.post(workers, json={"bsn": bsns[4], "name": REFUSED_NAMES[2], "date_of_birth": "1970-01-01"}),
    )
    s.refused(
        "an idempotency key reused with another body",
        employer.post(
            workers,
            json={"bsn": bsns[3], "name": REFUSED_NAMES[2], "date_of_birth": "1971-01-01"},
            headers={"Idempotency-Key": "w-1"},
        ),
    )
    bad_batch = [air_sample(None, task=REFUSED_NAMES[1]), air_sample(bsns[3], unit="furlong", lab_report_id=name)]
    s.refused(
        "a batch with a BSN for a worker id", employer.post("/api/v1/measurements/batch", json={"items": bad_batch})
    )
    path = f"/api/v1/workers/{bsns[3]}"
    s.refused("a BSN in the path", employer.get(path), echoes=frozenset({f"BSN of {NAMES[3]}"}))
    with httpx.Client(base_url=str(employer.base_url), headers={"Authorization": f"Bearer {bsns[3]}"}) as stranger:
        s.refused("a BSN as a bearer token", stranger.get("/api/v1/me"))


def _unkeyed_hash(what: str, request: str, body: dict[str, str]) -> Needle:
    """A plain SHA-256 of a request (the body as sent, or with sorted keys) that holds a BSN:
    trying every valid BSN (about 10**8) with the rest of the body gives it away."""
    bodies = (msgspec.json.encode(body), msgspec.json.encode(body, order="sorted"))
    forms = (hashlib.sha256(request.encode() + b"\n" + b).hexdigest().encode() for b in bodies)
    return Needle(f"an unkeyed hash of a request with {what}", tuple(forms))


def _register(client: httpx.Client, bsn: str, name: str) -> str:
    worker = client.post("/api/v1/workers", json={"bsn": bsn, "name": name, "date_of_birth": "1970-01-01"})
    assert worker.status_code in (200, 201), worker.text
    worker_id: str = worker.json()["id"]
    _ok(client.post("/api/v1/employments", json={"worker_id": worker_id, "start_date": "2015-01-01"}))
    return worker_id


def _blood(worker_id: str) -> dict[str, Any]:
    return {
        "sample_type": "biological",
        "substance_cas": "7439-92-1",
        "worker_id": worker_id,
        "value": 31.7,
        "unit": "ug/100mL",
        "matrix": "blood",
        "analyte": "lood in bloed",
        "sampling_start": "2024-05-01T09:00:00+02:00",
        "sampling_end": "2024-05-01T09:05:00+02:00",
    }


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


def _server_log(s: Session, log: Path) -> Target:
    """The server's stdout and stderr, but the demo's summary (its API keys and the hint
    `registry token --role worker --bsn 123456782`) that `serve --demo` exists to print."""
    lines = log.read_bytes().splitlines(keepends=True)
    start = lines.index(b"demo data loaded; API keys of the demo employers:\n") + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith(b"  "))
    for line in lines[start:end]:
        for key in re.findall(rb"brk_\S+", line):
            s.needles.append(secret_needle("API key printed by `serve --demo`", key.decode()))
    assert end - start == len(DEMO_KVKS) + 1
    return Target("the server's log", b"".join(lines[:start] + lines[end:]))


def _postgres_dump(schema: str) -> Target:
    """pg_dump of the store's schema or, without pg_dump, every row of each of its tables as text."""
    if shutil.which("pg_dump"):
        dump = subprocess.run(
            ["pg_dump", "--dbname", POSTGRES_DSN, "--schema", schema], capture_output=True, check=True, timeout=120
        )
        return Target(f"pg_dump of schema {schema}", dump.stdout)
    con = connect(PostgresServer(dsn=POSTGRES_DSN, schema=schema))
    try:
        tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall()
        parts = []
        for (table,) in tables:  # each row as PostgreSQL prints it (bytea as hex, as pg_dump would)
            rows = con.execute(f"FROM postgres_query('store', 'SELECT t::text FROM {schema}.{table} t')").fetchall()
            parts.append("\n".join(row[0] for row in rows).encode())
    finally:
        con.close()
    return Target(f"every row of schema {schema} as text", b"\n".join(parts))
