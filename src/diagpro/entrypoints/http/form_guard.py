"""CSRF protection for the page forms: Litestar's double-submit cookie, as each page needs it.

Every page sets a signed random token in a cookie and prints it in a hidden ``_csrf_token``
field of its forms; a POST is taken only when the field matches the cookie, which another site
can neither read nor set (OWASP CSRF Prevention Cheat Sheet, "Signed Double-Submit Cookie",
https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html).
The cookie is also ``SameSite=Lax``, so browsers do not send it with another site's POST.

Only the page routes carry this middleware: the JSON API (API key), the Stripe webhook
(signature) and /tasks (OIDC token) are not cookie-authenticated, so there is nothing to forge.

Two things Litestar's middleware does not do on its own, done here around it:
- ``Secure`` on the cookie when the request came over https (Cloud Run says so in
  ``X-Forwarded-Proto``), not over ``make run``'s plain http://127.0.0.1, where a secure cookie
  would never come back and no form could be sent.
- A cookie signed with another secret (the API keys changed) is dropped when a page is loaded,
  so the page sets a fresh one; Litestar would keep offering the stale token, and every form
  would be refused until the browser was closed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import CookieError, SimpleCookie

from litestar.config.csrf import CSRFConfig
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_hash
from litestar.types import ASGIApp, Empty, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from diagpro.config import Settings

COOKIE = "diagpro_csrf"
FIELD = "_csrf_token"  # the form field Litestar reads
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN_HEX = 64  # Litestar's token: 32 random bytes in hex, then their HMAC


def form_secret(settings: Settings) -> str:
    """The key that signs the tokens: the same on every instance, so a form loaded from one
    instance may be sent to another. Derived (HMAC, a label of its own) from the API keys, which
    every deployment shares; nothing to configure. Without keys, one per process."""
    keys = "\n".join(sorted(settings.api_keys))
    if not keys:
        return secrets.token_hex(32)
    return hmac.new(keys.encode(), b"diagpro page form tokens", hashlib.sha256).hexdigest()


def form_guard(settings: Settings) -> DefineMiddleware:
    """The middleware the page routers carry."""
    return DefineMiddleware(FormGuard, secret=form_secret(settings))


class FormGuard:
    def __init__(self, app: ASGIApp, secret: str) -> None:
        self._secret = secret
        configs = {
            secure: CSRFConfig(
                secret=secret,
                cookie_name=COOKIE,
                cookie_secure=secure,
                cookie_httponly=True,  # the page prints the token; no script reads the cookie
                cookie_samesite="lax",
            )
            for secure in (False, True)
        }
        self._plain = CSRFMiddleware(app, configs[False])
        self._secure = CSRFMiddleware(app, configs[True])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._plain(scope, receive, send)
            return
        if scope.get("method") in _SAFE:
            stale = _cookie(scope)
            if stale is not None and not self._signed(stale):
                _drop_cookie(scope)
        middleware = self._secure if _over_https(scope) else self._plain
        await middleware(scope, receive, send)

    def _signed(self, token: str) -> bool:
        value, mac = token[:_TOKEN_HEX], token[_TOKEN_HEX:]
        expected = generate_csrf_hash(token=value, secret=self._secret)
        return len(value) == _TOKEN_HEX and hmac.compare_digest(mac, expected)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _over_https(scope: Scope) -> bool:
    # Cloud Run ends TLS in front of the container and says so in X-Forwarded-Proto
    # (https://cloud.google.com/run/docs/container-contract, "Request headers"). Trusting it
    # can only add Secure to the caller's own cookie.
    forwarded = _header(scope, b"x-forwarded-proto").split(",")[0].strip().lower()
    return scope.get("scheme") == "https" or forwarded == "https"


def _cookie(scope: Scope) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    for key, value in scope["headers"]:
        if key.lower() == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed header is the client's: no token in it
                return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def _drop_cookie(scope: Scope) -> None:
    """Remove the form cookie from the request, keeping the others."""
    kept: list[tuple[bytes, bytes]] = []
    for key, value in scope["headers"]:
        if key.lower() == b"cookie":
            parts = [p for p in value.split(b";") if p.split(b"=", 1)[0].strip() != COOKIE.encode()]
            value = b";".join(parts).strip()
            if not value:
                continue
        kept.append((key, value))
    scope["headers"] = kept
    ScopeState.from_scope(scope).cookies = Empty  # Litestar caches the parsed cookies
