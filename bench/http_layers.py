"""What each required layer costs POST /saveSubmission over HTTP: diagpro with layers left out.

The same servers and load as http_bench.py (uvicorn, one worker, wrk -t1 -c32, a new client
behind one trusted proxy on every request, the bare Litestar endpoint measured in the same
rounds), but one diagpro server per variant, each leaving out some of the work the order path
must do:

    shipped            diagpro as `diagpro serve` runs it
    no access line     the access log line left out (its request id still made and echoed)
    no request ids     the request-id middleware left out (and with it the access line)
    no rate limit      the per-client rate limiter left out
    no key check       the x-api-key check left out
    none of the four   all four left out
    ... memory store   all four left out, and the submissions kept in memory, not committed

It answers "how far is the goal from the work we may not drop", not "how fast is diagpro":
only `shipped` is a server a customer could use. A layer is left out by replacing its
``__call__`` (or ``log_access``) before the app is built, so this file names diagpro's
internals and changes with them.

    .venv/bin/python bench/http_layers.py [--seconds 5] [--rounds 2] [--only NAME,...]

Needs wrk. Not part of the test suite: see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_bench as bench

# Row names are stable: figures are compared across runs by them. Each leaves out these layers.
VARIANTS: dict[str, tuple[str, ...]] = {
    "shipped": (),
    "no access line": ("log",),
    "no request ids": ("ids",),
    "no rate limit": ("limit",),
    "no key check": ("key",),
    "none of the four": ("log", "ids", "limit", "key"),
    "none of the four, memory store": ("log", "ids", "limit", "key", "store"),
}


def serve(port: int, left_out: set[str]) -> None:
    """One diagpro server without the layers named in ``left_out`` (run in a subprocess)."""
    import logging
    import warnings

    from dependency_injector import providers

    from diagpro.config import load_settings, with_local_secrets
    from diagpro.container import Container, use_memory_adapters
    from diagpro.entrypoints.http import auth, observability, rate_limits

    async def passes_through(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    if "log" in left_out:
        observability.log_access = lambda *args, **kwargs: None
    if "ids" in left_out:
        observability.RequestIds.__call__ = passes_through  # type: ignore[method-assign]
    if "limit" in left_out:
        rate_limits.CustomerRateLimit.__call__ = passes_through  # type: ignore[method-assign]
    if "key" in left_out:
        auth.ApiKeyCheck.__call__ = passes_through  # type: ignore[method-assign]

    warnings.simplefilter("ignore", DeprecationWarning)
    from diagpro.entrypoints.http.app import create_app

    container = Container()
    container.settings.override(providers.Object(with_local_secrets(load_settings(os.environ))))
    if "store" in left_out:
        use_memory_adapters(container)

        async def on_the_loop(use_case: Any, *args: Any) -> Any:
            return use_case(*args)

        container.order_path.override(providers.Object(on_the_loop))
    app = create_app(container, start_worker=False)
    observability.configure_json_logging(logging.INFO)
    bench._uvicorn(app, port)


def start(name: str, env: dict[str, str], folder: Path) -> bench.Server:
    port = bench.free_port()
    log = folder / f"{len(os.listdir(folder))}.log"
    data = folder / f"data-{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, __file__, "serve", str(port), ",".join(VARIANTS[name])],
            env={**env, "DIAGPRO_DATA_DIR": str(data)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return bench.Server(name, port, process, log)


def run(args: argparse.Namespace) -> None:
    names = args.only.split(",") if args.only else list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    with tempfile.TemporaryDirectory(prefix="diagpro-layers-") as tmp:
        folder = Path(tmp)
        body = folder / "intake.json"
        body.write_bytes(bench.INTAKE_BODY)
        env = {
            **os.environ,
            "DIAGPRO_API_KEYS": bench.API_KEY,
            "DIAGPRO_TRUSTED_PROXIES": "1",
            "BENCH_LOOP": "auto",
            "BENCH_HTTP": "auto",
        }
        bare = bench.start_server("bare", {**env, "DIAGPRO_DATA_DIR": tmp}, folder)
        bare.name = bench.BARE
        servers = [bare]
        try:
            servers += [start(name, env, folder) for name in names]
            for server in servers:
                bench.wait_ready(server)
            rows = {s.name: bench.Row(s.name) for s in servers}
            keyed = {"x-api-key": bench.API_KEY}
            clients = 0
            for n in range(args.rounds + 1):  # the first round warms up and is not counted
                for server in servers:
                    path, headers = ("/bare", {}) if server is bare else ("/saveSubmission", keyed)
                    load = bench.Load(server, path, "clients", body, '"pending"', "", headers)
                    result = bench.drive(load, args.seconds if n else 2, args.connections, clients)
                    clients += result.requests + args.connections
                    time.sleep(0.5)
                    if n:
                        rows[server.name].rounds.append(result)
            print(
                f"{args.rounds} rounds of {args.seconds} s per row; wrk -t1 -c{args.connections};"
                " POST /saveSubmission with layers left out"
            )
            print(bench.table(list(rows.values())))
        finally:
            for server in servers:
                bench.stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve_one = sub.add_parser("serve", help="(internal) run one server")
    serve_one.add_argument("port", type=int)
    serve_one.add_argument("left_out", nargs="?", default="")
    parser.add_argument("--seconds", type=float, default=5, help="per row and round")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds, rows interleaved")
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument("--only", help="comma-separated variant names (default: all)")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, set(filter(None, args.left_out.split(","))))
    else:
        run(args)


if __name__ == "__main__":
    main()
