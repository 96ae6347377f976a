from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server import DIAGPRO, Server, clean_env, pdf_text, start_serve

__all__ = ["pdf_pages", "pdf_text", "run"]


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


def run(args, env, cwd, timeout=120):
    return subprocess.run(
        [str(DIAGPRO), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])
