"""Does `POST /api/v1/workers` tell an employer, by its timing, that another employer knows a BSN?

Employer A registers N persons; employer B then registers N of those and N new ones, in one
shuffled order, against a fresh embedded store. The answers are alike by construction (tests
check them); this measures the work: B's latency for a BSN that A registered against one
that nobody did, as the p50 ratio and a Mann-Whitney U test (p well above 0.05: the two
cannot be told apart). The baseline is the new-BSN case of the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import httpx
from scipy.stats import mannwhitneyu

from bench.common import REGISTRY, UNLIMITED, Server, free_port, machine, percentile, run_registry
from bench.report import Section, table
from registry.demo import valid_bsn

__all__ = ["NAME", "add_arguments", "run"]

NAME = "registration"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registration")
    group.add_argument(
        "--registration-probes", type=int, default=400, help="BSNs of each kind employer B registers (default 400)"
    )


def run(args: argparse.Namespace) -> Section:
    where = machine()
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        data = Path(tmp) / "data"
        first, second = (
            json.loads(run_registry(data, "employer", "create", "--kvk", kvk, "--name", name).stdout)["api_key"]
            for kvk, name in (("71717170", "Bench A"), ("72727270", "Bench B"))
        )
        port = free_port()
        command = [REGISTRY, "--data-dir", str(data), "serve", "--port", str(port)]
        with Server("registry", command, port, env=UNLIMITED) as registry:
            times = _probe(registry.url, first, second, args.registration_probes, args.seed)
    known, fresh = times["registered by A"], times["new"]
    p_value = float(mannwhitneyu(known, fresh).pvalue)
    rows = [
        [kind, f"{len(values):,}", f"{percentile(values, 50) * 1000:.2f}", f"{percentile(values, 90) * 1000:.2f}"]
        for kind, values in times.items()
    ]
    body = [
        table(["B registers a BSN that is", "requests", "p50 ms", "p90 ms"], rows),
        "",
        f"p50 ratio (registered by A ÷ new): {percentile(known, 50) / percentile(fresh, 50):.3f}; "
        f"Mann-Whitney U p = {p_value:.2f}. Both answer 201 with B's own worker id and the identity B sent; "
        "each writes the same two rows (B's worker record and its data key) whoever else knows the person.",
    ]
    return Section(name=NAME, title="Registering a worker: no timing oracle", machine=where, body="\n".join(body))


def _probe(url: str, first: str, second: str, n: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    known = [valid_bsn(rng) for _ in range(n)]
    fresh = [valid_bsn(rng) for _ in range(n)]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {first}"}) as a:
        for bsn in known:
            a.post("/api/v1/workers", json={"bsn": bsn, "name": "A", "date_of_birth": "1970-01-01"}).raise_for_status()
    order = [("registered by A", bsn) for bsn in known] + [("new", bsn) for bsn in fresh]
    rng.shuffle(order)
    times: dict[str, list[float]] = {"registered by A": [], "new": []}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {second}"}) as b:
        for kind, bsn in order:
            started = time.perf_counter()
            answer = b.post("/api/v1/workers", json={"bsn": bsn, "name": "B", "date_of_birth": "1980-01-01"})
            times[kind].append(time.perf_counter() - started)
            if answer.status_code != 201:
                raise RuntimeError(f"registration answered {answer.status_code}: {answer.text}")
    return times
