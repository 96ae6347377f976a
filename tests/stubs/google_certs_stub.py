"""Google's OIDC signing certificates, served from 127.0.0.1, and tokens signed like Google's.

Pub/Sub push and Cloud Scheduler send an RS256 ID token signed by Google; google-auth verifies it
against ``https://www.googleapis.com/oauth2/v1/certs`` (``{key id: X.509 PEM}``). Here a
throwaway RSA key signs the tokens and this stub serves its certificate in that format, so the
real ``id_token.verify_token`` runs unchanged against a local URL::

    with GoogleCertsStub() as certs:
        token = certs.token(audience="https://svc/tasks/jobs", email="push@p.iam...")
        callers = OidcTaskCallers(audience, email, certs_url=certs.url)
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from tests.stubs.local_http import LocalHttpStub, StubRequestHandler

KEY_ID = "stub-key-1"
ISSUER = "https://accounts.google.com"


@cache
def _key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per name and test session (``"google"`` signs; another name is a forger)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _certificate(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stub google oauth2 certs")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def sign_token(claims: dict[str, Any], *, key_name: str = "google") -> str:
    signer = crypt.RSASigner.from_string(_pem(_key(key_name)), key_id=KEY_ID)
    return jwt.encode(signer, claims).decode()


class GoogleCertsStub(LocalHttpStub):
    methods = ("GET",)

    def __init__(self) -> None:
        self.fetches = 0
        self._certs = json.dumps({KEY_ID: _certificate(_key("google"))}).encode()

    def respond(self, request: StubRequestHandler) -> None:
        self.fetches += 1
        request.send_json(200, self._certs)

    @property
    def url(self) -> str:
        return f"{super().url}/oauth2/v1/certs"

    @staticmethod
    def token(audience: str, email: str, **changes: Any) -> str:
        """An ID token as Pub/Sub push sends it; ``changes`` override or (None) drop claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "azp": "1234567890",
            "sub": "1234567890",
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + 3600,
        }
        key_name = changes.pop("key_name", "google")
        for claim, value in changes.items():
            if value is None:
                claims.pop(claim, None)
            else:
                claims[claim] = value
        return sign_token(claims, key_name=key_name)
