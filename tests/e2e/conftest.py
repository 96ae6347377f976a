from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from tests.server import DIAGPRO, Server, clean_env, pdf_text, start_serve
from tests.signing import write_key_file
from tests.stubs.stripe_stub import StripeStub
from tests.stubs.vertex_stub import VertexStub

__all__ = ["LOCATION", "MODEL", "SIGNER_EMAIL", "pdf_pages", "pdf_text", "run"]

# What the cloud end-to-end tests (test_cloud_e2e.py, test_push_e2e.py) configure the server with.
SIGNER_EMAIL = "diagpro-e2e@demo-e2e.iam.gserviceaccount.com"
MODEL = "gemini-3.5-flash"
LOCATION = "us-central1"


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


@pytest.fixture
def cloud_serve_env(
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    firestore_emulator: str,
    gcs_emulator: str,
    stripe_stub: StripeStub,
    vertex_stub: VertexStub,
) -> Callable[..., storage.Client]:
    """Sets ``env`` up for a ``diagpro serve`` with every cloud adapter: Firestore and Cloud
    Storage on their emulators (a new ``bucket``), Stripe and Vertex on this test's stubs, a
    signing key for SIGNER_EMAIL, and no Google setting left from the developer's shell. Returns
    this test process's Storage client, on the same emulator (as are its Firestore clients)."""

    def configure(
        project: str, bucket: str, *, stripe_key: str, webhook_secret: str, api_key: str
    ) -> storage.Client:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator)
        gcs = storage.Client(project=project, credentials=AnonymousCredentials())
        gcs.create_bucket(bucket)
        key_file = write_key_file(tmp_path / "signer.json", project, SIGNER_EMAIL)
        for name in list(env):
            if name.startswith(
                ("GOOGLE_", "GCP_", "VAI_", "REPORT_", "FIRESTORE_", "STORAGE_", "PUBSUB_")
            ):
                del env[name]
        env.update(
            STRIPE_SECRET_KEY=stripe_key,
            STRIPE_WEBHOOK_SECRET=webhook_secret,
            DIAGPRO_STRIPE_API_BASE=stripe_stub.api_base,
            GCP_PROJECT=project,
            # A deployment names its analyzer and its API keys (serve makes none).
            DIAGPRO_ANALYZER="vertex",
            DIAGPRO_API_KEYS=api_key,
            DIAGPRO_STORE="firestore",
            FIRESTORE_EMULATOR_HOST=firestore_emulator,
            VAI_MODEL=MODEL,
            VAI_LOCATION=LOCATION,
            DIAGPRO_VERTEX_BASE_URL=vertex_stub.url,
            REPORT_BUCKET=bucket,
            REPORT_SIGNING_KEY_FILE=str(key_file),
            STORAGE_EMULATOR_HOST=gcs_emulator,
        )
        return gcs

    return configure


def run(args, env, cwd, timeout=120):
    return subprocess.run(
        [str(DIAGPRO), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])
