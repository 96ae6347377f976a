from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server import DIAGPRO, Server, clean_env, pdf_text, start_serve
from tests.stubs.stripe_stub import StripeStub
from tests.stubs.vertex_stub import VertexStub

__all__ = ["MODEL", "SIGNER_EMAIL", "pdf_pages", "pdf_text", "run"]

# What the cloud end-to-end tests (test_cloud_e2e.py, test_push_e2e.py) configure the server with.
SIGNER_EMAIL = "diagpro-e2e@demo-e2e.iam.gserviceaccount.com"
MODEL = "gemini-3.5-flash"


@pytest.fixture
def env(tmp_path):
    """A clean environment pointing the embedded defaults at a fresh data folder."""
    return clean_env(tmp_path / "var")


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Start ``diagpro serve`` (as many times as a test asks); every process is killed after."""
    started: list[Server] = []

    def start(*, port_from_env: bool = False) -> Server:
        server = start_serve(env, tmp_path, f"serve{len(started)}", port_from_env=port_from_env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def stripe_stub() -> Iterator[StripeStub]:
    """The local Stripe API (tests/stubs/stripe_stub.py), fresh for each test."""
    with StripeStub() as stub:
        yield stub


@pytest.fixture
def vertex_stub() -> Iterator[VertexStub]:
    """The local Vertex AI generateContent endpoint (tests/stubs/vertex_stub.py), fresh per test."""
    with VertexStub() as stub:
        yield stub


def run(args, env, cwd, timeout=120):
    return subprocess.run(
        [str(DIAGPRO), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])
