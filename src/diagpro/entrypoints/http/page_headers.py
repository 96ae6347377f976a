"""The security headers every HTML response carries, added as the response starts.

A ``before_send`` hook rather than each router's ``response_headers``: Litestar applies those to
what a handler returns, not to the pages its exception handlers render (the 404, 429, 500 and 503
pages), nor to what answers outside a router. The hook sees every response the app sends, so no
page can be left out. A header a handler set on purpose is kept.
"""

from __future__ import annotations

from litestar.types import Message, Scope

# Pages hold one customer's order: never cached, never framed, no referrer leaves with the id.
# CSP: only our own scripts, styles and images (https://www.w3.org/TR/CSP3/); frame-ancestors
# and X-Frame-Options (RFC 7034, for browsers without CSP 2) refuse framing (clickjacking on the
# Pay button). There is no form-action: the checkout form is redirected on to Stripe's page, and
# browsers apply form-action to that redirect too.
PAGE_HEADERS: dict[str, str] = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

# Litestar's API documentation page (/schema) runs Redoc or Swagger UI from their CDN with an
# inline script; it holds no customer data. It keeps every header but a CSP that only refuses
# framing, plugins and a changed base URL.
DOCS_PREFIX = "/schema"
DOCS_POLICY = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


_NOSNIFF = (b"x-content-type-options", b"nosniff")
_PAGE = [(name.encode(), value.encode()) for name, value in PAGE_HEADERS.items()]
_DOCS_PAGE = [
    (name, DOCS_POLICY.encode() if name == b"content-security-policy" else value)
    for name, value in _PAGE
]


async def add_page_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the page headers on every text/html response, and ``nosniff`` on
    every response, so no answer is read as a type it was not sent as."""
    if message["type"] != "http.response.start":
        return
    # The raw (name, value) list of the ASGI message, read once: every response pays for this.
    headers = list(message.get("headers", ()))
    present = {bytes(name).lower(): bytes(value) for name, value in headers}
    if not present.get(b"content-type", b"").startswith(b"text/html"):
        wanted = [_NOSNIFF]
    else:
        path = str(scope.get("path", ""))
        docs = path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/")
        wanted = _DOCS_PAGE if docs else _PAGE
    headers.extend(header for header in wanted if header[0] not in present)
    message["headers"] = headers
