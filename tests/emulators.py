"""Cloud emulators for tests: started once per session on a free loopback port, always stopped.

``gcs_emulator()`` runs gcp-storage-emulator in memory the same way and yields its base URL (for
``STORAGE_EMULATOR_HOST``).

``firestore_emulator()`` runs the official emulator (``gcloud emulators firestore start``) in a
new session (``setsid``), so the launcher and the ``java`` it forks share one
process group; it waits until ``http://host:port/`` answers ``Ok``, yields ``host:port``, and on
the way out kills the whole group (SIGTERM, then SIGKILL), so no JVM outlives the test session.

``pubsub_emulator()`` starts the official Pub/Sub emulator (``gcloud beta emulators pubsub
start``) the same way and yields ``host:port`` (for ``PUBSUB_EMULATOR_HOST``).

Both need the gcloud CLI, its emulator components and Java: when one is missing they raise
``EmulatorUnavailable`` with what ``scripts/check-test-tools.sh`` (run by ``make test`` first)
says about how to install it. ``GCLOUD`` names the gcloud executable, as for that script.

Tests isolate themselves by project id (``firestore_project()`` gives a fresh ``demo-<hex>``): the
emulator keeps each project's data apart, so nothing needs clearing between tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

STARTUP_TIMEOUT = 60.0
PREFLIGHT = Path(__file__).parents[1] / "scripts" / "check-test-tools.sh"


class EmulatorUnavailable(RuntimeError):
    """The emulator could not be started (not installed, or not ready in time)."""


def gcloud_for_emulators() -> str:
    """The gcloud executable, once the preflight found it, its emulators and Java; else
    EmulatorUnavailable carrying the preflight's install instructions."""
    check = subprocess.run(
        ["bash", str(PREFLIGHT)], capture_output=True, text=True, timeout=30, check=False
    )
    gcloud = os.environ.get("GCLOUD") or shutil.which("gcloud")
    if check.returncode != 0 or gcloud is None:
        raise EmulatorUnavailable(check.stderr.strip() or "gcloud is not installed")
    return gcloud


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.read().decode(errors="replace").strip() == "Ok")
    except (OSError, urllib.error.URLError):
        return False


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the emulator's process group (launcher and java), politely first."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The launcher is gone; make sure no straggler of its group is left either, and wait
        # (briefly) until the group is empty, so nothing shows in pgrep once tests end.
        deadline = time.monotonic() + 5.0
        try:
            os.killpg(process.pid, signal.SIGKILL)
            while time.monotonic() < deadline:
                os.killpg(process.pid, 0)
                time.sleep(0.05)
        except ProcessLookupError:
            pass
        return


@contextlib.contextmanager
def _gcloud_emulator(
    name: str, command: list[str], host_variable: str, timeout: float
) -> Iterator[str]:
    """Start one of gcloud's Java emulators on a free loopback port in its own process group
    (launcher and java together); yield ``127.0.0.1:<port>``; stop the whole group."""
    gcloud = gcloud_for_emulators()
    host_port = f"127.0.0.1:{_free_port()}"
    with tempfile.TemporaryDirectory(prefix=f"{name.lower().replace('/', '')}-emulator-") as tmp:
        env = {
            **os.environ,
            "CLOUDSDK_CONFIG": str(Path(tmp) / "gcloud"),
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        }
        env.pop(host_variable, None)
        log_path = Path(tmp) / "emulator.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [gcloud, *command, f"--host-port={host_port}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp,
                start_new_session=True,  # setsid(2): launcher and java form one process group
            )
        try:
            deadline = time.monotonic() + timeout
            while not _ready(f"http://{host_port}/"):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log_path.read_text(errors="replace")[-2000:]
                    raise EmulatorUnavailable(
                        f"{name} emulator not ready on {host_port}:\n{output}"
                    )
                time.sleep(0.1)
            yield host_port
        finally:
            _stop_group(process)


@contextlib.contextmanager
def firestore_emulator(timeout: float = STARTUP_TIMEOUT) -> Iterator[str]:
    """The official Firestore emulator; yields ``127.0.0.1:<port>`` (FIRESTORE_EMULATOR_HOST)."""
    with _gcloud_emulator(
        "Firestore", ["emulators", "firestore", "start"], "FIRESTORE_EMULATOR_HOST", timeout
    ) as host_port:
        yield host_port


@contextlib.contextmanager
def pubsub_emulator(timeout: float = STARTUP_TIMEOUT) -> Iterator[str]:
    """The official Pub/Sub emulator; yields ``127.0.0.1:<port>`` (PUBSUB_EMULATOR_HOST)."""
    with _gcloud_emulator(
        "Pub/Sub", ["beta", "emulators", "pubsub", "start"], "PUBSUB_EMULATOR_HOST", timeout
    ) as host_port:
        yield host_port


def firestore_project() -> str:
    """A fresh project id: the emulator keeps each project's documents apart."""
    return f"demo-{uuid.uuid4().hex[:20]}"


def _gcs_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.read().decode(errors="replace").strip() == "OK")
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def gcs_emulator(timeout: float = STARTUP_TIMEOUT) -> Iterator[str]:
    """Start gcp-storage-emulator (in memory); yield ``http://127.0.0.1:<port>``; stop it.

    The console script sits next to the test interpreter (it comes with the dev dependencies). The
    emulator does not check signed-URL signatures and ignores ``ifGenerationMatch``: tests verify
    signatures offline and test the precondition path separately.
    """
    script = Path(sys.executable).with_name("gcp-storage-emulator")
    if not script.exists():
        raise EmulatorUnavailable(f"gcp-storage-emulator is not installed ({script} missing)")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="gcs-emulator-") as tmp:
        log_path = Path(tmp) / "emulator.log"
        env = {key: value for key, value in os.environ.items() if key != "STORAGE_EMULATOR_HOST"}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(script),
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--in-memory",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout
            while not _gcs_ready(f"{base_url}/"):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log_path.read_text(errors="replace")[-2000:]
                    raise EmulatorUnavailable(f"GCS emulator not ready on {base_url}:\n{output}")
                time.sleep(0.05)
            yield base_url
        finally:
            _stop_group(process)
