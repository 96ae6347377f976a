"""The served API does what its OpenAPI document says.

Schemathesis reads ``/schema/openapi.json`` from ``diagpro serve`` (a real process on the embedded
defaults), generates requests from it and runs every check it has on each answer: no 5xx, only
documented status codes, content types, headers and bodies, bad data refused, good data
accepted, the API key enforced, undocumented methods refused. The submission rate limit is raised
so the run measures the API, not the limiter; webhook requests are signed as Stripe would sign
them (schemathesis_hooks.py).

Bounded and repeatable: ``EXAMPLES`` per operation and phase, with a fixed seed, so a failure is
the same on every machine. To explore further, run the printed command with another seed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import clean_env, start_serve

pytestmark = pytest.mark.process

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROOT = Path(__file__).resolve().parents[2]
# Enough to cross each route's refusals (missing, malformed and unknown ids, wrong types, unsigned
# and malformed events) while the whole run stays well under a minute on two cores.
EXAMPLES = 25
SEED = 20261203


def test_the_served_api_does_what_its_document_says(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(24)
    env = {
        **clean_env(tmp_path / "var"),
        "DIAGPRO_API_KEYS": key,
        "DIAGPRO_SUBMISSIONS_PER_MINUTE": "1000000",
        "DIAGPRO_LOCAL_WEBHOOK_SECRET": "whsec_schemathesis_" + secrets.token_hex(16),
    }
    server = start_serve(env, tmp_path)
    try:
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{server.url}/schema/openapi.json",
                "--checks=all",
                f"--max-examples={EXAMPLES}",
                f"--seed={SEED}",
                "--workers=1",
                f"--header=x-api-key: {key}",
                "--no-color",
            ],
            env={
                **env,
                "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
            },
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.kill()
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20_000:]
    assert "0 failures" not in report or "passed" in report, report[-5_000:]
