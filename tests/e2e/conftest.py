from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DIAGPRO = Path(sys.executable).with_name("diagpro")


@pytest.fixture
def env(tmp_path):
    """A clean environment pointing the embedded defaults at a fresh data folder."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DIAGPRO_", "STRIPE_"))}
    clean["DIAGPRO_DATA_DIR"] = str(tmp_path / "var")
    return clean


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
