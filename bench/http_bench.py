"""HTTP benchmark: diagpro's intake and webhook acknowledgement beside a bare Litestar endpoint.

Starts real uvicorn servers on 127.0.0.1 (one worker each, the same settings for all): diagpro on
its embedded SQLite defaults in a temporary data folder, without its worker, and a bare Litestar
app with a trivial POST handler. Drives each with an httpx client at a fixed concurrency, after a
warm-up, and prints requests/second and p50/p99 latency with the ratio to the bare endpoint.

    .venv/bin/python bench/http_bench.py [--requests 2000] [--rounds 3] [--warmup 300]
                                         [--concurrency 12]

Not part of the test suite. See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
API_KEY = "bench-api-key-0123456789abcdef"
INTAKE = {
    "payload": {
        "equipmentType": "automotive",
        "make": "Ford",
        "model": "F-150",
        "year": "2015",
        "errorCodes": "P0301 P0171",
        "problemDescription": "Rough idle and shaking at stops, worse when cold",
        "email": "owner@example.com",
    }
}
INTAKE_BODY = json.dumps(INTAKE).encode()


# -- the servers (run in subprocesses: `http_bench.py serve ROLE PORT`) ---------------------------
def _uvicorn(app: Any, port: int) -> None:
    import uvicorn

    # The same settings for every server, as `diagpro serve` runs them.
    uvicorn.run(app, host=HOST, port=port, workers=1, log_config=None, access_log=False)


def serve_diagpro(port: int) -> None:
    import logging
    import warnings

    from dependency_injector import providers

    from diagpro.config import load_settings, with_local_secrets
    from diagpro.container import Container
    from diagpro.entrypoints.http.observability import configure_json_logging

    warnings.simplefilter("ignore", DeprecationWarning)
    from diagpro.entrypoints.http.app import create_app

    container = Container()
    container.settings.override(providers.Object(with_local_secrets(load_settings(os.environ))))
    app = create_app(container, start_worker=False)  # analysis must not compete for the CPU
    configure_json_logging(logging.INFO)  # what `diagpro serve` logs (to a file, here)
    _uvicorn(app, port)


def serve_bare(port: int) -> None:
    from litestar import Litestar, get, post

    @post("/bare", status_code=200)
    async def bare(data: dict[str, Any]) -> dict[str, str]:
        return {"submissionId": "diag_0000000000000_0000", "status": "pending"}

    @post("/bare-sync", status_code=200, sync_to_thread=True)
    def bare_sync(data: dict[str, Any]) -> dict[str, str]:
        return {"submissionId": "diag_0000000000000_0000", "status": "pending"}

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _uvicorn(Litestar([bare, bare_sync, healthz]), port)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(role: str, env: dict[str, str], folder: Path) -> Server:
    port = free_port()
    log = folder / f"{role}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, __file__, "serve", role, str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(role, port, process, log)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer /healthz within {timeout:.0f} s")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


# -- the client -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Round:
    """One timed pass over a list of calls."""

    latencies: list[float]
    seconds: float
    errors: int
    bodies: list[bytes]
    server_cpu: float | None  # the server process's CPU seconds (all threads) during the pass

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def cpu_ms_per_request(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / len(self.latencies) * 1000


@dataclass
class Row:
    name: str
    rounds: list[Round] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(r.latencies) for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.rounds)

    @property
    def cpu_ms(self) -> float | None:
        values = [r.cpu_ms_per_request for r in self.rounds]
        return None if None in values else statistics.median(v for v in values if v is not None)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile over every round's latencies, in milliseconds."""
        ordered = sorted(t for r in self.rounds for t in r.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, all its threads (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(calls: Sequence[Call], concurrency: int, pid: int) -> Round:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    bodies: list[bytes] = [b""] * len(calls)
    latencies: list[float] = [0.0] * len(calls)
    errors = 0
    next_index = 0

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal next_index, errors
            while next_index < len(calls):
                i = next_index
                next_index += 1
                call = calls[i]
                started = time.perf_counter()
                response = await client.post(call.url, content=call.body, headers=call.headers)
                latencies[i] = time.perf_counter() - started
                bodies[i] = response.content
                if response.status_code != 200:
                    errors += 1

        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        cpu_after = cpu_seconds(pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Round(latencies, seconds, errors, bodies, cpu)


def drive(calls: Sequence[Call], concurrency: int, server: Server) -> Round:
    """Send every call, at most `concurrency` at once, over kept-alive connections."""
    return asyncio.run(_drive(calls, concurrency, server.process.pid))


# -- the scenario ---------------------------------------------------------------------------------
def signed_completions(
    submission_ids: Sequence[str], settings: Any, prefix: str
) -> list[tuple[bytes, str]]:
    """A signed checkout.session.completed for each submission, as Stripe would send it."""
    from diagpro.adapters.stripe_events import build_event, session_object, sign_event
    from diagpro.domain.payment import CheckoutSession

    now = datetime.now(UTC)
    events = []
    for i, sid in enumerate(submission_ids):
        session_id = f"cs_bench_{prefix}_{i:06d}"
        session = CheckoutSession(
            id=session_id,
            url=f"{settings.public_base_url}/checkout/local/{session_id}",
            submission_id=sid,
            status="complete",
            payment_status="paid",
            amount_total=settings.price_cents,
            currency=settings.currency,
            customer_email="owner@example.com",
            expires_at=now + timedelta(hours=1),
        )
        payload = build_event(
            f"evt_bench_{prefix}_{i:06d}",
            "checkout.session.completed",
            session_object(session),
            now,
        )
        events.append((payload, sign_event(payload, settings.local_webhook_secret).signature))
    return events


def resigned(events: Sequence[tuple[bytes, str]], secret: str) -> list[tuple[bytes, str]]:
    """The same events with a fresh signature timestamp (Stripe's redelivery)."""
    from diagpro.adapters.stripe_events import sign_event

    return [(payload, sign_event(payload, secret).signature) for payload, _ in events]


def webhook_calls(url: str, events: Sequence[tuple[bytes, str]]) -> list[Call]:
    headers = {"content-type": "application/json"}
    return [Call(url, payload, {**headers, "stripe-signature": sig}) for payload, sig in events]


def check(name: str, result: Round, what: str, ok: Callable[[dict[str, Any]], bool]) -> None:
    bad = sum(1 for body in result.bodies if not ok(json.loads(body)))
    if result.errors or bad:
        raise SystemExit(f"{name}: {result.errors} non-200 answers, {bad} not {what}")


BARE = "bare Litestar POST (async)"
BARE_SYNC = "bare Litestar POST (sync_to_thread)"
SAVE = "POST /saveSubmission"
FIRST = "POST /webhook/stripe (first delivery)"
DUPLICATE = "POST /webhook/stripe (duplicate)"


def one_pass(
    bare: Server, diagpro: Server, settings: Any, count: int, concurrency: int, tag: str
) -> dict[str, Round]:
    """Every row once with `count` requests: bare, intake, then a first and a second delivery
    of a payment event for each submission just saved."""
    json_headers = {"content-type": "application/json"}
    passes: dict[str, Round] = {}
    for name, path in ((BARE, "/bare"), (BARE_SYNC, "/bare-sync")):
        calls = [Call(f"{bare.url}{path}", INTAKE_BODY, json_headers)] * count
        passes[name] = drive(calls, concurrency, bare)
        check(name, passes[name], "answered", lambda body: body.get("status") == "pending")

    save_headers = {**json_headers, "x-api-key": API_KEY}
    calls = [Call(f"{diagpro.url}/saveSubmission", INTAKE_BODY, save_headers)] * count
    passes[SAVE] = drive(calls, concurrency, diagpro)
    check(SAVE, passes[SAVE], "saved", lambda body: body.get("status") == "pending")
    submission_ids = [json.loads(body)["submissionId"] for body in passes[SAVE].bodies]

    # Signed just before sending: Stripe signatures are good for 300 s.
    events = signed_completions(submission_ids, settings, tag)
    url = f"{diagpro.url}/webhook/stripe"
    passes[FIRST] = drive(webhook_calls(url, events), concurrency, diagpro)
    check(FIRST, passes[FIRST], "fulfilled", lambda b: b["outcome"] == "fulfilled")
    again = resigned(events, settings.local_webhook_secret)
    passes[DUPLICATE] = drive(webhook_calls(url, again), concurrency, diagpro)
    check(DUPLICATE, passes[DUPLICATE], "duplicates", lambda body: body["duplicate"] is True)
    return passes


def table(rows: Sequence[Row]) -> str:
    ref = rows[0]
    head = (
        f"{'endpoint':<40}{'requests':>9}{'errors':>7}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'srv CPU ms/req':>15}{'req/s ÷ bare':>13}{'p50 × bare':>11}{'CPU × bare':>11}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        cpu = row.cpu_ms
        cpu_text = "n/a" if cpu is None else f"{cpu:.2f}"
        cpu_ratio = "n/a" if cpu is None or not ref.cpu_ms else f"{cpu / ref.cpu_ms:.2f}"
        lines.append(
            f"{row.name:<40}{row.requests:>9}{row.errors:>7}{row.rps:>7.0f}"
            f"{row.percentile(50):>8.1f}{row.percentile(99):>8.1f}{cpu_text:>15}"
            f"{row.rps / ref.rps:>13.2f}{row.percentile(50) / ref.percentile(50):>11.2f}"
            f"{cpu_ratio:>11}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    from diagpro.config import load_settings, with_local_secrets

    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="diagpro-bench-") as tmp:
        folder = Path(tmp)
        total = args.warmup + args.rounds * args.requests
        diagpro_env = {
            "DIAGPRO_DATA_DIR": str(folder / "data"),
            "DIAGPRO_SUBMISSIONS_PER_MINUTE": str(100 * total + 1000),  # never the limit here
            "DIAGPRO_API_KEYS": API_KEY,
        }
        # Made here first, so this process and the server share the data folder's secrets.
        settings = with_local_secrets(load_settings(diagpro_env))
        env = {**os.environ, **diagpro_env}
        try:
            servers.append(bare := start_server("bare", env, folder))
            servers.append(diagpro := start_server("diagpro", env, folder))
            for server in servers:
                wait_ready(server)
            print(
                f"{args.rounds} rounds of {args.requests} requests per row after "
                f"{args.warmup} warm-up, concurrency {args.concurrency}; client and servers on "
                f"{os.cpu_count()} cores, {platform.machine()}, "
                f"Python {platform.python_version()}, uvicorn 1 worker ({_uvicorn_impl()})",
                flush=True,
            )
            one_pass(bare, diagpro, settings, args.warmup, args.concurrency, "warm")
            rows = {name: Row(name) for name in (BARE, BARE_SYNC, SAVE, FIRST, DUPLICATE)}
            for n in range(args.rounds):
                passes = one_pass(bare, diagpro, settings, args.requests, args.concurrency, f"r{n}")
                for name, result in passes.items():
                    rows[name].rounds.append(result)
            print(table(list(rows.values())))
        finally:
            for server in servers:
                stop_server(server)


def _uvicorn_impl() -> str:
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} loop, {http}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="(internal) run one server")
    serve.add_argument("role", choices=["diagpro", "bare"])
    serve.add_argument("port", type=int)
    parser.add_argument("--requests", type=int, default=2000, help="requests per row and round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds, interleaved")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per row")
    parser.add_argument("--concurrency", type=int, default=12, help="requests in flight")
    args = parser.parse_args(argv)
    if args.command == "serve":
        (serve_diagpro if args.role == "diagpro" else serve_bare)(args.port)
    else:
        run(args)


if __name__ == "__main__":
    main()
