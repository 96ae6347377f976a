"""HTTP benchmark: diagpro's order path beside a bare Litestar endpoint, driven by wrk.

Starts real uvicorn servers on 127.0.0.1 (one worker each, the same uvicorn settings for all):
diagpro on its embedded SQLite defaults in a temporary data folder, without its worker, behind one
trusted proxy with its default per-client rate limit; and a bare Litestar app whose POST handler
decodes the same JSON body. wrk (one thread, 32 connections, requests prepared before the clock
starts) drives every row in turn, round after round, and the table gives requests/second, p50
and p99 latency, the server's CPU per request and peak memory, each with its ratio to the bare
endpoint measured in the same round.

    .venv/bin/python bench/http_bench.py [--seconds 8] [--rounds 3] [--connections 32]
                                         [--src DIR] [--loop auto] [--http auto]

Needs wrk (Debian's `wrk` package). Not part of the test suite: see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
API_KEY = "bench-api-key-0123456789abcdef"
HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_driver.lua"
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

# Row names are stable: figures are compared across runs by them.
BARE = "bare Litestar POST (async)"
BARE_SYNC = "bare Litestar POST (sync_to_thread)"
SAVE = "POST /saveSubmission"
FIRST = "POST /webhook/stripe (first delivery)"
DUPLICATE = "POST /webhook/stripe (duplicate)"
STATUS = "POST /analysisStatus"
ROWS = (BARE, BARE_SYNC, SAVE, FIRST, DUPLICATE, STATUS)


# -- the servers (run in subprocesses: `http_bench.py serve ROLE PORT`) ---------------------------
def _uvicorn(app: Any, port: int) -> None:
    import uvicorn

    try:  # what `diagpro serve` does to the garbage collector, for every server alike
        from diagpro.entrypoints.http.memory import settle_memory
    except ImportError:  # a baseline checkout from before it
        pass
    else:
        settle_memory()

    # The same settings for every server, as `diagpro serve` runs them.
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        workers=1,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        loop=os.environ.get("BENCH_LOOP", "auto"),
        http=os.environ.get("BENCH_HTTP", "auto"),
    )


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

    def cpu_seconds(self) -> float:
        """User + system CPU of the server, all its threads (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """The server's resident memory high-water mark (VmHWM) since it started."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


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
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
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


# -- the load generator ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Load:
    """What wrk sends for one row: see wrk_driver.lua for the modes."""

    server: Server
    path: str
    mode: str  # clients | each | cycle
    file: Path
    expect: str = "-"
    header: str = ""  # the header each line of `file` sets (each, cycle)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Round:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float  # per request
    client_cpu_share: float  # wrk's CPU seconds ÷ wall seconds

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def drive(load: Load, seconds: float, connections: int, first_client: int) -> Round:
    headers = {"Content-Type": "application/json", **load.headers}
    env = {
        **os.environ,
        "BENCH_PATH": load.path,
        "BENCH_HEADER": load.header,
        "BENCH_HEADERS": ";".join(f"{k}={v}" for k, v in headers.items()),
        "BENCH_FIRST_CLIENT": str(first_client),
    }
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{round(seconds)}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        load.server.url,
        "--",
        load.mode,
        str(load.file),
        load.expect,
    ]
    cpu_before = load.server.cpu_seconds()
    started = time.perf_counter()
    wrk = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(wrk.pid, 0)
    wall = time.perf_counter() - started
    cpu = load.server.cpu_seconds() - cpu_before
    assert wrk.stdout is not None and wrk.stderr is not None
    out, err = wrk.stdout.read().decode(), wrk.stderr.read().decode()
    wrk.returncode = os.waitstatus_to_exitcode(status)
    if wrk.returncode != 0:
        raise SystemExit(f"wrk failed ({wrk.returncode}): {err}{out}")
    result = json.loads(out.strip().splitlines()[-1])
    wrong = result["bad_status"] + result["unexpected"] + result["socket_errors"]
    if wrong or not result["requests"]:
        raise SystemExit(f"{load.path}: {result} (wrk said: {out}{err})")
    return Round(
        requests=result["requests"],
        seconds=result["seconds"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        server_cpu_ms=cpu / result["requests"] * 1000,
        client_cpu_share=(usage.ru_utime + usage.ru_stime) / wall,
    )


# -- the scenario ---------------------------------------------------------------------------------
def signed_lines(events: Sequence[bytes], secret: str) -> str:
    """Each event signed now (Stripe signatures are good for 300 s), one `signature<TAB>body`
    line each."""
    from diagpro.adapters.stripe_events import sign_event

    return "".join(f"{sign_event(e, secret).signature}\t{e.decode()}\n" for e in events)


def completions(submission_ids: Sequence[str], settings: Any, tag: str) -> list[bytes]:
    """A checkout.session.completed for each submission, as Stripe would send it."""
    from diagpro.adapters.stripe_events import build_event, session_object
    from diagpro.domain.payment import CheckoutSession, CheckoutStatus, PaymentStatus

    now = datetime.now(UTC)
    events = []
    for i, sid in enumerate(submission_ids):
        session_id = f"cs_bench_{tag}_{i:06d}"
        session = CheckoutSession(
            id=session_id,
            url=f"{settings.public_base_url}/checkout/local/{session_id}",
            submission_id=sid,
            status=CheckoutStatus.COMPLETE,
            payment_status=PaymentStatus.PAID,
            amount_total=settings.price_cents,
            currency=settings.currency,
            customer_email="owner@example.com",
            expires_at=now + timedelta(hours=1),
        )
        events.append(
            build_event(
                f"evt_bench_{tag}_{i:06d}",
                "checkout.session.completed",
                session_object(session),
                now,
            )
        )
    return events


def ids_in(database: Path, status: str) -> list[str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT id FROM submissions WHERE status = ? ORDER BY created_at", (status,)
        ).fetchall()
    return [row[0] for row in rows]


class Scenario:
    """Every row once per round: bare, bare sync, saves, a first and a second delivery of a
    payment event for each submission just saved, then status reads of the paid ones."""

    def __init__(self, bare: Server, diagpro: Server, settings: Any, folder: Path, args: Any):
        self.bare, self.diagpro, self.settings, self.folder = bare, diagpro, settings, folder
        self.seconds, self.connections = args.seconds, args.connections
        self.database = Path(settings.data_dir) / "diagpro.sqlite3"
        self.used: set[str] = set()
        self.clients = 0
        self.body = folder / "intake.json"
        self.body.write_bytes(INTAKE_BODY)

    def _run(self, load: Load, seconds: float) -> Round:
        result = drive(load, seconds, self.connections, self.clients)
        self.clients += result.requests + self.connections
        time.sleep(0.5)  # the requests wrk left in flight finish before the next row looks
        return result

    def one_pass(self, tag: str, seconds: float) -> dict[str, Round]:
        rounds: dict[str, Round] = {}
        for name, path in ((BARE, "/bare"), (BARE_SYNC, "/bare-sync")):
            load = Load(self.bare, path, "clients", self.body, '"pending"')
            rounds[name] = self._run(load, seconds)

        keyed = {"x-api-key": API_KEY}
        saves = Load(self.diagpro, "/saveSubmission", "clients", self.body, '"pending"', "", keyed)
        rounds[SAVE] = self._run(saves, seconds)

        ids = [i for i in ids_in(self.database, "pending") if i not in self.used]
        self.used.update(ids)
        events = dict(zip(ids, completions(ids, self.settings, tag), strict=True))
        lines = self.folder / f"events-{tag}.tsv"
        secret = self.settings.local_webhook_secret
        lines.write_text(signed_lines(list(events.values()), secret))
        first = Load(
            self.diagpro, "/webhook/stripe", "each", lines, '"fulfilled"', "Stripe-Signature"
        )
        rounds[FIRST] = self._run(first, seconds)

        # The events that were delivered (the row may end before the last), each again with a
        # fresh signature, as Stripe redelivers.
        paid = [i for i in ids_in(self.database, "paid") if i in events]
        lines.write_text(signed_lines([events[i] for i in paid], secret))
        again = Load(
            self.diagpro, "/webhook/stripe", "cycle", lines, '"duplicate":true', "Stripe-Signature"
        )
        rounds[DUPLICATE] = self._run(again, seconds)

        asks = self.folder / f"status-{tag}.tsv"
        asks.write_text("".join(f"{API_KEY}\t{json.dumps({'submissionId': i})}\n" for i in paid))
        status = Load(self.diagpro, "/analysisStatus", "cycle", asks, '"status"', "x-api-key")
        rounds[STATUS] = self._run(status, seconds)
        return rounds


@dataclass
class Row:
    name: str
    rounds: list[Round] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.rounds)


def table(rows: Sequence[Row]) -> str:
    """Medians over the rounds; each ratio is to the bare async row."""
    ref = rows[0]
    head = (
        f"{'endpoint':<40}{'requests':>9}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'srv CPU ms/req':>15}{'wrk CPU':>8}{'req/s ÷ bare':>13}{'p99 ÷ bare':>11}"
        f"{'CPU × bare':>11}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(
            f"{row.name:<40}{sum(r.requests for r in row.rounds):>9}{row.median('rps'):>7.0f}"
            f"{row.median('p50_ms'):>8.1f}{row.median('p99_ms'):>8.1f}"
            f"{row.median('server_cpu_ms'):>15.3f}{row.median('client_cpu_share'):>8.0%}"
            f"{row.median('rps') / ref.median('rps'):>13.2f}"
            f"{row.median('p99_ms') / ref.median('p99_ms'):>11.2f}"
            f"{row.median('server_cpu_ms') / ref.median('server_cpu_ms'):>11.2f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    from diagpro.config import load_settings, with_local_secrets

    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="diagpro-bench-") as tmp:
        folder = Path(tmp)
        diagpro_env = {
            "DIAGPRO_DATA_DIR": str(folder / "data"),
            "DIAGPRO_API_KEYS": API_KEY,
            # Behind one proxy (a load balancer) that names each client in X-Forwarded-For; the
            # rate limit stays at its default, and every request is a new client.
            "DIAGPRO_TRUSTED_PROXIES": "1",
            "BENCH_LOOP": args.loop,
            "BENCH_HTTP": args.http,
        }
        # Made here first, so this process and the server share the data folder's secrets.
        settings = with_local_secrets(load_settings(diagpro_env))
        env = {**os.environ, **diagpro_env}
        if args.src:
            env["PYTHONPATH"] = str(Path(args.src).resolve())
        try:
            servers.append(bare := start_server("bare", env, folder))
            servers.append(diagpro := start_server("diagpro", env, folder))
            for server in servers:
                wait_ready(server)
            print(
                f"{args.rounds} rounds of {args.seconds} s per row after a "
                f"{args.warmup} s warm-up; wrk -t1 -c{args.connections}; "
                f"{os.cpu_count()} cores, {platform.machine()}, "
                f"Python {platform.python_version()}, uvicorn 1 worker "
                f"({_uvicorn_impl(args)}); diagpro from {args.src or 'this checkout'}",
                flush=True,
            )
            scenario = Scenario(bare, diagpro, settings, folder, args)
            scenario.one_pass("warm", args.warmup)
            rows = {name: Row(name) for name in ROWS}
            for n in range(args.rounds):
                for name, result in scenario.one_pass(f"r{n}", args.seconds).items():
                    rows[name].rounds.append(result)
            print(table(list(rows.values())))
            print(
                f"peak RSS: diagpro {diagpro.peak_rss_mb():.0f} MB, bare "
                f"{bare.peak_rss_mb():.0f} MB; wrk's own peak RSS "
                f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
            )
        finally:
            for server in servers:
                stop_server(server)


def _uvicorn_impl(args: argparse.Namespace) -> str:
    import importlib.util

    loop = args.loop
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = args.http
    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} loop, {http}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="(internal) run one server")
    serve.add_argument("role", choices=["diagpro", "bare"])
    serve.add_argument("port", type=int)
    parser.add_argument("--seconds", type=float, default=8, help="per row and round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds, rows interleaved")
    parser.add_argument("--warmup", type=float, default=3, help="seconds per row, once")
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument("--src", help="serve diagpro from this src folder (a baseline checkout)")
    parser.add_argument("--loop", default="auto", help="uvicorn --loop for both servers")
    parser.add_argument("--http", default="auto", help="uvicorn --http for both servers")
    args = parser.parse_args(argv)
    if args.command == "serve":
        (serve_diagpro if args.role == "diagpro" else serve_bare)(args.port)
    else:
        run(args)


if __name__ == "__main__":
    main()
