"""Structured JSON logs with a request id on every line, and no secret or email in any line.

The request id (``x-request-id`` honoured or made; the original frontend's ``x-dp-reqid`` when
it sends no ``x-request-id``) lives in a contextvar set by a small ASGI middleware, so every log
call made while serving a request carries it, including the worker's progress when a request
enqueues work. The redaction runs on every field of the final line (the message, the path, the
exception...), so a careless ``log.info("%s", email)`` or a path like ``/view/alice@example.com``
still cannot leak a customer's address or a key.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
REQUEST_ID_HEADER = "x-request-id"
# The original frontend (a browser app) names its request id so; honoured when no x-request-id.
FRONTEND_REQUEST_ID_HEADER = "x-dp-reqid"

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_SECRET = re.compile(r"\b(whsec|sk_live|sk_test|rk_live|rk_test|dpk)_[A-Za-z0-9_\-]{4,}")
# What _SECRET's matches start with: its regular expression runs only on a line holding one.
_SECRET_STARTS = ("whsec_", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "dpk_")
# A link signature or key in a query string. Read over JSON text: a JSON escape (a backslash and
# the character after it) counts as part of the value, so a redaction never ends inside one and
# the line stays JSON.
_QUERY_SECRET = re.compile(
    r'(signature|X-Goog-Signature|api_key|key)=(?:[^&\s"\\]|\\.)+', re.IGNORECASE
)
# A client's x-request-id is honoured only when it is a plain token: it goes unredacted into every
# log line, so an id carrying an email address or a key is replaced by one of ours.
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SCOPE_KEY = "diagpro.request_id"
_SEEN_KEY = "diagpro.access_logged"  # RequestIds saw this request and logs it itself
_HTTP_FIELDS = ("method", "path", "status", "duration_ms")
# An overdue order's line (application/overdue.py) as fields a log-based metric or a query can
# read (jsonPayload.order_id, ...): ids, counts and the operator's detail, no personal data.
_ORDER_FIELDS = ("order_id", "waited_seconds", "order_status", "attempts", "reason", "overdue")
_EXTRA_FIELDS = _HTTP_FIELDS + _ORDER_FIELDS
# A value msgspec cannot write (an object passed as an extra) is written as its str().
_ENCODER = msgspec.json.Encoder(enc_hook=str)


def redact_json_line(line: str) -> str:
    """Emails, keys and link signatures hidden in any field of a JSON log line (the message, the
    logger's name, the path, the exception...), one search per pattern over the whole line.
    JSON escapes none of the characters the patterns match, except in a query secret's value,
    which ``_QUERY_SECRET`` reads escape by escape."""
    # Each pattern only where what it matches must start: a search for a few characters is far
    # cheaper than a regular expression, and every log line pays.
    if "@" in line:
        line = _EMAIL.sub(r"\1***@\2", line)
    # Every line has "_" (its "request_id" key), so look for the keys' own beginnings instead.
    if any(start in line for start in _SECRET_STARTS):
        line = _SECRET.sub(lambda m: f"{m.group(1)}_***", line)
    if "=" in line:
        line = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}=***", line)
    return line


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second, self._second_text = -1, ""

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # strftime once a second, not once a line
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        entry: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": fields.get("request_id") or request_id.get(),
        }
        for key in _EXTRA_FIELDS:
            if key in fields:
                entry[key] = fields[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Every field, not only the message: a path, a method or a logger name is text a client
        # or a library chose, and was once logged unredacted.
        return redact_json_line(_ENCODER.encode(entry).decode())


def configure_json_logging(level: int = logging.INFO) -> None:
    # The record fields no line shows, not gathered for every line: the caller's file and line
    # (a walk up the stack), the thread, the process ("Optimization" in the logging HOWTO,
    # https://docs.python.org/3/howto/logging.html#optimization).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log has no request id; RequestIds logs each request instead.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # per-step progress is noise
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


access_log = logging.getLogger("diagpro.access")

# 404 and 405 are what scanners and id-guessers send by the thousand. They are logged, at INFO
# like every answer (DEBUG is off in production, so it would mean not at all), but at most this
# many a minute per process; past it they are counted, and the count is logged once the next
# minute's first one arrives. A flood then costs at most MISSES_PER_MINUTE + 1 lines a minute.
MISSES_PER_MINUTE = 60
_MISSES = frozenset({404, 405})


class LineCap:
    """At most ``per_window`` lines a window; ``admit`` also says how many the last window left
    out, so the caller can log that count once."""

    def __init__(
        self,
        per_window: int,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_window, self._window, self._clock = per_window, window_seconds, clock
        self._lock = threading.Lock()
        self._start, self._seen, self._left_out = clock(), 0, 0

    def admit(self) -> tuple[bool, int]:
        with self._lock:
            ended = 0
            now = self._clock()
            if now - self._start >= self._window:
                ended, self._start, self._seen, self._left_out = self._left_out, now, 0, 0
            self._seen += 1
            if self._seen > self.per_window:
                self._left_out += 1
                return False, ended
            return True, ended


misses = LineCap(MISSES_PER_MINUTE)


def log_access(
    method: str, path: str, status: int, duration_ms: float | None = None, rid: str = ""
) -> None:
    """The one access line of a request (404 and 405 through ``misses``)."""
    ids = {"request_id": rid} if rid else {}
    if status in _MISSES:
        admitted, left_out = misses.admit()
        if left_out:
            access_log.info(
                "left out %d access lines of 404/405 answers in the last minute (at most %d a "
                "minute are logged)",
                left_out,
                misses.per_window,
                extra=ids,
            )
        if not admitted:
            return
    fields: dict[str, Any] = {"method": method, "path": path, "status": status, **ids}
    if duration_ms is not None:
        fields["duration_ms"] = duration_ms
    access_log.info("%s %s %s", method, path, status, extra=fields)


async def log_unrouted(exc: BaseException, scope: Scope) -> None:
    """Litestar's ``after_exception`` hook: log what no route answered (an unknown path's 404, a
    method the path does not take: 405). Route middleware such as RequestIds never sees those:
    Litestar refuses them while routing, before any route's middleware runs."""
    if scope["type"] != ScopeType.HTTP or scope.get("state", {}).get(_SEEN_KEY):
        return
    status = int(getattr(exc, "status_code", 500))
    log_access(scope["method"], scope["path"], status, rid=request_id_for(scope))


def request_id_for(scope: Scope) -> str:
    """This request's id: the client's ``x-request-id`` (or, without one, the original frontend's
    ``x-dp-reqid``) if it is a plain token, else a new one.

    Kept in the scope, so every answer to one request carries the same id, including answers
    Litestar makes outside RequestIds (404 for an unknown path, the rate limiter's 429).
    """
    state = scope.setdefault("state", {})
    rid = state.get(_SCOPE_KEY)
    if not isinstance(rid, str) or not rid:
        given = _given_id(scope["headers"])
        rid = given if _GIVEN_ID.fullmatch(given) else secrets.token_hex(16)
        state[_SCOPE_KEY] = rid
    return rid


_ID_HEADER = REQUEST_ID_HEADER.encode()
_FRONTEND_ID_HEADER = FRONTEND_REQUEST_ID_HEADER.encode()


def _given_id(headers: Any) -> str:
    """The client's id: the first ``x-request-id``, else the first ``x-dp-reqid`` (ASGI servers
    give header names in lower case)."""
    frontend = b""
    for name, value in headers:
        if name == _ID_HEADER:
            given = bytes(value).decode("latin-1").strip()
            if given:
                return given
        elif name == _FRONTEND_ID_HEADER and not frontend:
            frontend = bytes(value)
    return frontend.decode("latin-1").strip()


class RequestIds:
    """ASGI middleware: take or make the request id, echo it back, log the request once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        rid = request_id_for(scope)
        scope["state"][_SEEN_KEY] = True
        token = request_id.set(rid)
        started = time.perf_counter()
        id_header = (_ID_HEADER, rid.encode("latin-1"))
        code, sent = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal code, sent
            if message["type"] == "http.response.start":
                code, sent = message["status"], True
                headers = list(message.get("headers", ()))
                # Error envelopes already carry the id; never send the header twice.
                if any(name.lower() == _ID_HEADER for name, _ in headers):
                    headers = [h for h in headers if h[0].lower() != _ID_HEADER]
                headers.append(id_header)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Raised by a middleware inside this one (the rate limiter's 429): Litestar's outer
            # handler answers it, with this id (errors.py); log the status it will answer with.
            if not sent:
                code = int(getattr(exc, "status_code", 500))
            raise
        finally:
            duration = round((time.perf_counter() - started) * 1000, 2)
            log_access(method, scope["path"], code, duration)
            request_id.reset(token)
