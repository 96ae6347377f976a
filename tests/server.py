"""``diagpro serve`` as a real process, for the end-to-end tests and the features' serve driver:
start, wait, read, stop."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DIAGPRO = Path(sys.executable).with_name("diagpro")
# serve never prints a key: it says where the key it made is kept.
KEY_LINE = re.compile(r"^API key \(x-api-key header\): kept in (\S+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    out: Path
    err: Path
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def api_key(self) -> str:
        """A key this server accepts: the first of DIAGPRO_API_KEYS, or the one it made, read
        from the file its banner names (as an operator would)."""
        given = self.env.get("DIAGPRO_API_KEYS", "").strip()
        if given:
            return given.split(",")[0].strip()
        found = wait_for(lambda: KEY_LINE.search(self.stdout()), 30, "the API key banner")
        return str(json.loads(Path(found.group(1)).read_text())["api_key"])

    def wait_healthy(self) -> None:
        def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited early:\n{self.stderr()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 30, "/healthz")

    def kill(self) -> None:
        """Stop at once, whatever state it is in (the test is over or went wrong)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self, *, worker: bool = True) -> None:
        """SIGTERM, as a platform stops a container, and check the shutdown was graceful (and
        that the in-process worker stopped, or with ``worker=False`` that none ever ran)."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        # uvicorn shuts down, then re-raises the signal it caught, so the exit status is the
        # conventional "terminated by SIGTERM" (what service managers count as a clean stop).
        assert code in (0, -signal.SIGTERM), f"exit status {code}:\n{self.stderr()}"
        log = json_lines(self.stderr())
        messages = [entry["message"] for entry in log]
        if worker:
            assert "worker stopped" in messages
        else:
            assert not {"worker started", "worker stopped"} & set(messages), messages
        assert "Application shutdown complete." in messages
        assert not [entry for entry in log if entry["level"] in ("ERROR", "CRITICAL")]


def clean_env(data_dir: Path) -> dict[str, str]:
    """This process's environment without any diagpro or Stripe setting, on a fresh data folder:
    the embedded defaults, whatever the developer's shell exports."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DIAGPRO_", "STRIPE_")) and k != "PORT"
    }
    clean["DIAGPRO_DATA_DIR"] = str(data_dir)
    return clean


def start_serve(
    env: Mapping[str, str], workdir: Path, name: str = "serve", *, port_from_env: bool = False
) -> Server:
    """Start ``diagpro serve`` on a free port and wait until /healthz answers (on loopback).

    The port is given with ``--port``, or with ``port_from_env`` as Cloud Run gives it: ``$PORT``
    (serve then listens on every interface). Its output goes to ``{workdir}/{name}.out`` and
    ``.err``; the caller stops (or kills) it.
    """
    port = free_port()
    out, err = workdir / f"{name}.out", workdir / f"{name}.err"
    args = (
        [str(DIAGPRO), "serve"] if port_from_env else [str(DIAGPRO), "serve", "--port", str(port)]
    )
    env = {
        **env,
        # Links and the local checkout's webhook delivery point at this very port.
        "DIAGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **({"PORT": str(port)} if port_from_env else {}),
    }
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            args,
            env=env,
            cwd=workdir,
            stdout=stdout,
            stderr=stderr,
        )
    server = Server(process, port, out, err, env)
    try:
        server.wait_healthy()
    except BaseException:
        server.kill()
        raise
    return server


def pdf_text(path: Path) -> str:
    """The text of a PDF as a reader sees it (poppler's pdftotext, layout kept)."""
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def json_lines(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        if line.strip():
            entries.append(json.loads(line))  # every line the server logs is JSON
    return entries
