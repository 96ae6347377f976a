"""A service-account key made on the spot, for V4 signed URLs in tests: never sent anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@cache
def signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per test session: generating one takes ~50 ms."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(project: str, email: str) -> dict[str, Any]:
    """The JSON ``gcloud iam service-accounts keys create`` writes, around ``signing_key()``."""
    pem = (
        signing_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def write_key_file(path: Path, project: str, email: str) -> Path:
    path.write_text(json.dumps(service_account_info(project, email)), encoding="utf-8")
    path.chmod(0o600)
    return path


def pin_signing_clock(monkeypatch: Any, now: Callable[[], datetime]) -> None:
    """Date V4 links by a test's fixed clock instead of the wall clock.

    ``Blob.generate_signed_url`` reads the time through ``google.cloud.storage._signing._NOW``
    (both ``X-Goog-Date`` and the expiry offset), and the GCS store deliberately lets it (see
    ``adapters/gcs.py``). Tests that fix the clock pin that one reference: if the library moves
    it, these tests fail, production does not.
    """
    from google.cloud.storage import _signing

    monkeypatch.setattr(_signing, "_NOW", lambda tz=None: now())
