"""Sending a page form as a browser does: with the CSRF token the page gave in its cookie."""

from __future__ import annotations

from typing import Any

import httpx

from diagpro.entrypoints.http.form_guard import COOKIE, FIELD


def send_form(
    client: httpx.Client, url: str, data: dict[str, Any] | None = None, *, page: str = "/"
) -> httpx.Response:
    """POST ``data`` to ``url`` with the token of the cookie a page set (``page`` is loaded
    first when the client has no cookie yet, as a customer loads the form before sending it)."""
    if COOKIE not in client.cookies:
        client.get(page)
    token = client.cookies.get(COOKIE)
    assert token, "the page set no form cookie"
    return client.post(url, data={FIELD: token, **(data or {})}, follow_redirects=False)
