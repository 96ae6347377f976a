"""Signed, expiring report links: the one place that signs them and the one place that checks them.

A link looks like::

    {base_url}/files/reports/{id}.pdf?disposition=attachment&expires=1795000000&signature=<hex>

The signature is HMAC-SHA256 (keyed with the report secret) over the report's store path
(``reports/{id}.pdf``: the URL path after ``/files/``), the disposition and the expiry epoch
seconds. Both report stores build links with :func:`report_links`; the local report folder,
asked for a file by the HTTP route that serves ``/files/...`` (the ReportFiles port), passes the
path after ``/files/`` and the three query values to :func:`verify_link`, and maps the path back
to an id with :func:`report_id_from_path`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime
from urllib.parse import urlencode

from diagpro.domain.report import DownloadLinks, report_path

ATTACHMENT = "attachment"
INLINE = "inline"
DISPOSITIONS = (ATTACHMENT, INLINE)
FILES_PREFIX = "/files/"

# Ids become file names and URL path segments: letters, digits, '_' and '-' only, so no id can
# climb out of the reports folder or need escaping. Real ids (diag_<ms>_<hex>) always qualify.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_REPORT_PATH = re.compile(r"reports/([A-Za-z0-9_-]{1,128})\.pdf")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_EXPIRES = re.compile(r"[0-9]{1,12}")


def is_safe_report_id(submission_id: str) -> bool:
    return bool(_SAFE_ID.fullmatch(submission_id))


def report_id_from_path(path: str) -> str | None:
    """``reports/{id}.pdf`` -> ``id``; None for any other path (including traversal attempts)."""
    found = _REPORT_PATH.fullmatch(path)
    return found.group(1) if found else None


def _epoch(now: datetime) -> float:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: signed links need timezone-aware times")
    return now.timestamp()


def _message(path: str, disposition: str, expires: int) -> bytes:
    return f"{path}\n{disposition}\n{expires}".encode()


def sign_link(path: str, disposition: str, expires: int, secret: bytes) -> str:
    """The hex HMAC-SHA256 signature for ``path`` served with ``disposition`` until ``expires``."""
    if not secret:
        raise ValueError("signing links needs a non-empty secret")
    if disposition not in DISPOSITIONS:
        raise ValueError(f"disposition must be one of {DISPOSITIONS}, not {disposition!r}")
    if "\n" in path:
        raise ValueError("a signed path cannot contain a newline")
    return hmac.new(secret, _message(path, disposition, expires), hashlib.sha256).hexdigest()


def signed_url(base_url: str, path: str, disposition: str, expires: int, secret: bytes) -> str:
    query = urlencode(
        {
            "disposition": disposition,
            "expires": str(expires),
            "signature": sign_link(path, disposition, expires, secret),
        }
    )
    return f"{base_url.rstrip('/')}{FILES_PREFIX}{path}?{query}"


def verify_link(
    path: str,
    disposition: str,
    expires: int | str,
    signature: str,
    secret: bytes,
    now: datetime,
) -> bool:
    """True only for an unexpired link signed with ``secret`` for exactly these values.

    ``path`` is the URL path after ``/files/`` (``reports/{id}.pdf``); ``expires`` may be the raw
    query string value. Malformed input is simply not valid (False), never an exception.
    """
    moment = _epoch(now)
    if not secret or disposition not in DISPOSITIONS or "\n" in path:
        return False
    if isinstance(expires, bool):
        return False
    if isinstance(expires, str):
        if not _EXPIRES.fullmatch(expires):
            return False
        expires = int(expires)
    if expires < 0 or moment >= expires:
        return False
    if not _SIGNATURE.fullmatch(signature):
        return False
    expected = sign_link(path, disposition, expires, secret)
    return hmac.compare_digest(expected, signature)


def report_links(
    base_url: str, secret: bytes, submission_id: str, ttl_seconds: int, now: datetime
) -> DownloadLinks:
    """Download (attachment) and view (inline) links for a stored report, valid ``ttl_seconds``
    from ``now`` (rounded up to the next whole second)."""
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    expires = math.ceil(_epoch(now)) + ttl_seconds
    path = report_path(submission_id)
    return DownloadLinks(
        submission_id=submission_id,
        download_url=signed_url(base_url, path, ATTACHMENT, expires, secret),
        view_url=signed_url(base_url, path, INLINE, expires, secret),
        expires_in_seconds=ttl_seconds,
    )
