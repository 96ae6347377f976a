"""CPU per saveSubmission inside the app: 32 concurrent clients call the ASGI app in-process.

No sockets and no HTTP parser, so what is left is the app's own work; the figure is the
process's CPU time (every thread: the SQLite writer's too) divided by the requests. Variants
show what the storage and the writer thread add:

    .venv/bin/python bench/asgi_cpu.py bare|memory-on-loop|sqlite-on-loop|shipped [--requests N]

`bare` is a Litestar POST that decodes the same body; `shipped` is diagpro as `diagpro serve`
builds it (embedded defaults, one trusted proxy, the default rate limit, a new client address
per request). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_bench import API_KEY, INTAKE_BODY

CLIENTS = 32


def build_app(variant: str, folder: str) -> Any:
    os.environ.update(
        {"DIAGPRO_DATA_DIR": folder, "DIAGPRO_API_KEYS": API_KEY, "DIAGPRO_TRUSTED_PROXIES": "1"}
    )
    if variant == "bare":
        from litestar import Litestar, post

        @post("/saveSubmission", status_code=200)
        async def bare(data: dict[str, Any]) -> dict[str, str]:
            return {"submissionId": "diag_0000000000000_0000", "status": "pending"}

        return Litestar([bare])

    from dependency_injector import providers

    from diagpro.config import load_settings, with_local_secrets
    from diagpro.container import Container, use_memory_adapters
    from diagpro.entrypoints.http.app import create_app
    from diagpro.entrypoints.http.observability import configure_json_logging

    container = Container()
    container.settings.override(providers.Object(with_local_secrets(load_settings(os.environ))))
    if variant == "memory-on-loop":
        use_memory_adapters(container)
    if variant.endswith("on-loop"):

        async def on_the_loop(use_case: Any, *args: Any) -> Any:
            return use_case(*args)

        container.order_path.override(providers.Object(on_the_loop))
    app = create_app(container, start_worker=False)
    configure_json_logging()
    logging.getLogger().handlers[0].stream = open(os.path.join(folder, "log"), "w")  # noqa: SIM115
    return app


async def one_save(app: Any, client: int) -> None:
    forwarded = f"10.{client // 65536 % 256}.{client // 256 % 256}.{client % 256}".encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/saveSubmission",
        "raw_path": b"/saveSubmission",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(INTAKE_BODY)).encode()),
            (b"x-forwarded-for", forwarded),
            (b"x-api-key", API_KEY.encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": INTAKE_BODY, "more_body": False}
        await asyncio.sleep(3600)  # the client never disconnects
        raise AssertionError

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise SystemExit(f"saveSubmission answered {sent[0]['status']}: {sent}")


async def measure(app: Any, requests: int) -> float:
    counter = 0

    async def client(count: int) -> None:
        nonlocal counter
        for _ in range(count):
            counter += 1
            await one_save(app, counter)

    await asyncio.gather(*(client(20) for _ in range(CLIENTS)))  # warm-up
    best = float("inf")
    per_client = requests // CLIENTS
    for _ in range(3):
        started = time.process_time()
        await asyncio.gather(*(client(per_client) for _ in range(CLIENTS)))
        best = min(best, (time.process_time() - started) / (per_client * CLIENTS))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=["bare", "memory-on-loop", "sqlite-on-loop", "shipped"])
    parser.add_argument("--requests", type=int, default=6000, help="per round; best of 3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="diagpro-asgi-cpu-") as folder:
        app = build_app(args.variant, folder)
        from diagpro.entrypoints.http.memory import settle_memory

        settle_memory()  # as `diagpro serve` does
        try:
            import uvloop

            seconds = uvloop.run(measure(app, args.requests))
        except ImportError:
            seconds = asyncio.run(measure(app, args.requests))
        print(f"{args.variant:16s} {seconds * 1e6:5.0f} µs CPU per save ({CLIENTS} clients)")


if __name__ == "__main__":
    main()
