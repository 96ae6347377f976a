from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Server, free_port

DIAGPRO = Path(sys.executable).with_name("diagpro")


@pytest.fixture
def env(tmp_path):
    """A clean environment pointing the embedded defaults at a fresh data folder."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DIAGPRO_", "STRIPE_"))}
    clean["DIAGPRO_DATA_DIR"] = str(tmp_path / "var")
    return clean


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Start ``diagpro serve`` (as many times as a test asks); every process is killed after."""
    started: list[Server] = []

    def start() -> Server:
        port = free_port()
        n = len(started)
        out, err = tmp_path / f"serve{n}.out", tmp_path / f"serve{n}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [str(DIAGPRO), "serve", "--port", str(port)],
                # Links and the local checkout's webhook delivery point at this very port.
                env={**env, "DIAGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
                cwd=tmp_path,
                stdout=stdout,
                stderr=stderr,
            )
        server = Server(process, port, out, err)
        started.append(server)
        server.wait_healthy()
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)


def run(args, env, cwd, timeout=120):
    return subprocess.run(
        [str(DIAGPRO), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])
