"""The image's command (deploy/Dockerfile's CMD), run as the container runs it: through /bin/sh
with Cloud Run's $PORT, serving on every interface."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest

from tests.server import DIAGPRO, clean_env, free_port, wait_for
from tests.unit.test_deploy_image import _instructions

pytestmark = pytest.mark.process


def _image_command() -> list[str]:
    (cmd,) = [args for keyword, args in _instructions() if keyword == "CMD"]
    return list(json.loads(cmd))  # the exec (JSON) form: no extra shell around it


def test_the_image_command_serves_on_every_interface_at_port(tmp_path):
    port = free_port()
    env = clean_env(tmp_path / "var")
    # The image's PATH holds diagpro where pip put it; here, next to this interpreter.
    env["PATH"] = f"{DIAGPRO.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PORT"] = str(port)
    env["DIAGPRO_PUBLIC_BASE_URL"] = "https://diagpro.example.com"
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(_image_command(), env=env, stdout=stdout, stderr=stderr)
    try:

        def healthy() -> bool:
            assert process.poll() is None, err.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_for(healthy, 30, f"/healthz on $PORT={port}")
        assert f"serving on http://0.0.0.0:{port}" in out.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
