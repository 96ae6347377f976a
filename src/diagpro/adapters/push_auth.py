"""Who may call ``/tasks/jobs`` and ``/tasks/sweep``: the ``TaskCallers`` port.

Pub/Sub push (with ``--push-auth-service-account``) and Cloud Scheduler (with
``--oidc-service-account-email``) send ``Authorization: Bearer <Google-signed OIDC ID token>``
(https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions). The token is verified
with google-auth's ``id_token.verify_token``: the RS256 signature against Google's published
certificates, expiry, and the audience; then the issuer (``accounts.google.com``), the service
account's ``email`` and ``email_verified``, as Google's guide says to check.

Pub/Sub's emulator pushes without a token (https://cloud.google.com/pubsub/docs/emulator,
"known limitations"): a tokenless call is accepted only when ``PUBSUB_EMULATOR_HOST`` is set
(``allow_tokenless``); a token that is present is always verified.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from google.auth import exceptions as auth_exceptions
from google.auth import transport
from google.auth.transport import requests as auth_requests
from google.oauth2 import id_token

log = logging.getLogger("diagpro.tasks")

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_CACHE_SECONDS = 300.0  # Google rotates these keys over days; a push must not wait on them
CLOCK_SKEW_SECONDS = 10


class _CachedCerts(transport.Request):
    """A google-auth ``Request`` that keeps the certificates' answer for a while, so each push
    does not fetch them again (``verify_token`` fetches on every call)."""

    def __init__(self, ttl: float = CERTS_CACHE_SECONDS) -> None:
        self._request = auth_requests.Request()
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[float, Any]] = {}

    def __call__(
        self,
        url: Any,
        method: Any = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> Any:
        with self._lock:
            hit = self._cached.get(url)
            if hit is not None and time.monotonic() - hit[0] < self._ttl:
                return hit[1]
        response = self._request(
            url, method=method, body=body, headers=headers, timeout=timeout, **kwargs
        )
        if response.status == 200:
            with self._lock:
                self._cached[url] = (time.monotonic(), response)
        return response


class OidcTaskCallers:
    def __init__(
        self,
        audience: str,
        service_account: str,
        *,
        allow_tokenless: bool = False,
        certs_url: str = GOOGLE_CERTS_URL,
    ) -> None:
        self._audience = audience
        self._account = service_account
        self._allow_tokenless = allow_tokenless
        self._certs_url = certs_url
        self._request = _CachedCerts()

    def refusal(self, authorization: str) -> str | None:
        scheme, _, token = authorization.strip().partition(" ")
        if not authorization.strip():
            if self._allow_tokenless:
                return None  # the Pub/Sub emulator, which sends no token
            return "no Authorization header: a Google-signed OIDC bearer token is required"
        if scheme.lower() != "bearer" or not token.strip():
            return "the Authorization header is not 'Bearer <token>'"
        if not (self._audience and self._account):
            return (
                "DIAGPRO_PUSH_AUDIENCE/DIAGPRO_PUSH_SERVICE_ACCOUNT are not set: no token can pass"
            )
        try:
            claims = id_token.verify_token(
                token.strip(),
                self._request,
                audience=self._audience,
                certs_url=self._certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except (ValueError, auth_exceptions.GoogleAuthError) as exc:
            # ValueError: bad signature, expired, wrong audience, malformed (google.auth.jwt).
            return f"the token does not verify: {exc}"
        if claims.get("iss") not in GOOGLE_ISSUERS:
            return f"the token's issuer {claims.get('iss')!r} is not Google"
        if claims.get("email") != self._account:
            return (
                f"the token is for {claims.get('email')!r}, not DIAGPRO_PUSH_SERVICE_ACCOUNT "
                f"{self._account!r}"
            )
        if claims.get("email_verified") is not True:
            return "the token's email is not verified"
        return None
