"""Structured JSON logs with a request id on every line, and no secret or email in any line.

The request id (``x-request-id`` honoured or made) lives in a contextvar set by a small ASGI
middleware, so every log call made while serving a request carries it, including the worker's
progress when a request enqueues work. The redaction filter runs on the final message, so a
careless ``log.info("%s", email)`` still cannot leak a customer's address or a key.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
REQUEST_ID_HEADER = "x-request-id"

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_SECRET = re.compile(r"\b(whsec|sk_live|sk_test|rk_live|rk_test|dpk)_[A-Za-z0-9_\-]{4,}")
_QUERY_SECRET = re.compile(r"(signature|X-Goog-Signature|api_key|key)=[^&\s\"]+", re.IGNORECASE)
# A client's x-request-id is honoured only when it is a plain token: it goes unredacted into every
# log line, so an id carrying an email address or a key is replaced by one of ours.
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SCOPE_KEY = "diagpro.request_id"


def redact(text: str) -> str:
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _SECRET.sub(lambda m: f"{m.group(1)}_***", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}=***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "") or request_id.get(),
        }
        for key in ("method", "path", "status", "duration_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO) -> None:
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


def request_id_for(scope: Scope) -> str:
    """This request's id: the client's ``x-request-id`` if it is a plain token, else a new one.

    Kept in the scope, so every answer to one request carries the same id, including answers
    Litestar makes outside RequestIds (404 for an unknown path, the rate limiter's 429).
    """
    state = scope.setdefault("state", {})
    rid = state.get(_SCOPE_KEY)
    if not isinstance(rid, str) or not rid:
        raw = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"")
        given = raw.decode("latin-1").strip()
        rid = given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        state[_SCOPE_KEY] = rid
    return rid


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
        token = request_id.set(rid)
        started = time.perf_counter()
        status = {"code": 500, "sent": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = 1
                # Error envelopes already carry the id; never send the header twice.
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Raised by a middleware inside this one (the rate limiter's 429): Litestar's outer
            # handler answers it, with this id (errors.py); log the status it will answer with.
            if not status["sent"]:
                status["code"] = int(getattr(exc, "status_code", 500))
            raise
        finally:
            access_log.info(
                "%s %s %s",
                method,
                scope["path"],
                status["code"],
                extra={
                    "method": method,
                    "path": scope["path"],
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id.reset(token)
