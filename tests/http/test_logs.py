"""Every field of every log line is redacted, 404 and 405 are logged without letting anyone flood
the log, and the original frontend's request id is honoured."""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any

import pytest

from diagpro.entrypoints.http import observability
from diagpro.entrypoints.http.observability import JsonFormatter, LineCap
from tests.http.conftest import Api

EMAIL = "alice@example.com"
SECRET = "sk_live_51HpXyZabcdefghijklmnop"
LEAKS = (EMAIL, SECRET)


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _record(field: str, text: str) -> logging.LogRecord:
    name = text if field == "logger" else "diagpro.test"
    record = logging.LogRecord(name, logging.INFO, __file__, 1, "plain", None, None)
    if field == "message":
        record.msg, record.args = "saw %s", (text,)
    elif field == "exception":
        try:
            raise ValueError(text)
        except ValueError:
            record.exc_info = sys.exc_info()
    elif field != "logger":
        setattr(record, field, text)
    return record


@pytest.mark.parametrize(
    "field", ["message", "logger", "request_id", "method", "path", "status", "exception"]
)
@pytest.mark.parametrize("leak", LEAKS)
def test_each_field_of_a_line_is_redacted(field: str, leak: str) -> None:
    line = JsonFormatter().format(_record(field, f"/view/{leak}?x=1"))
    entry = json.loads(line)
    assert field in entry
    assert leak not in line


def test_numbers_stay_numbers() -> None:
    record = _record("status", "x")
    record.status, record.duration_ms = 404, 1.5
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["status"], entry["duration_ms"]) == (404, 1.5)


def test_an_email_in_the_path_is_not_in_the_access_log(api: Api, json_log: io.StringIO) -> None:
    api.client.get(f"/view/{EMAIL}")
    api.client.get(f"/download/{EMAIL}")
    access = [e for e in _entries(json_log) if e["logger"] == "diagpro.access"]
    assert [e["path"] for e in access] == ["/view/a***@example.com", "/download/a***@example.com"]
    assert EMAIL not in json_log.getvalue()


def test_unknown_paths_and_refused_methods_are_logged(api: Api, json_log: io.StringIO) -> None:
    api.client.get("/wp-login.php", headers={"x-request-id": "scan-1"})
    api.client.delete("/healthz", headers={"x-request-id": "scan-2"})
    api.client.get(f"/no/{EMAIL}")
    access = [e for e in _entries(json_log) if e["logger"] == "diagpro.access"]
    assert [(e["method"], e["path"], e["status"], e["request_id"]) for e in access[:2]] == [
        ("GET", "/wp-login.php", 404, "scan-1"),
        ("DELETE", "/healthz", 405, "scan-2"),
    ]
    assert access[2]["path"] == "/no/a***@example.com"
    assert all(e["level"] == "INFO" for e in access)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_misses_is_capped_and_counted(
    api: Api, json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(observability, "misses", LineCap(3, clock=clock))
    for n in range(10):
        api.client.get(f"/scan/{n}")
    api.client.get("/view/diag_1760549969503_ebfce564")  # a routed 404 counts as a miss too
    assert api.client.get("/healthz").status_code == 200  # other answers are never capped
    clock.now = 61.0
    api.client.get("/scan/late")
    messages = [e["message"] for e in _entries(json_log) if e["logger"] == "diagpro.access"]
    assert messages[:3] == ["GET /scan/0 404", "GET /scan/1 404", "GET /scan/2 404"]
    assert messages[3] == "GET /healthz 200"
    assert messages[4] == (
        "left out 8 access lines of 404/405 answers in the last minute (at most 3 a minute are "
        "logged)"
    )
    assert messages[5] == "GET /scan/late 404"
    assert len(messages) == 6


def test_the_cap_admits_a_fresh_allowance_each_window() -> None:
    clock = FakeClock()
    cap = LineCap(2, window_seconds=60, clock=clock)
    assert [cap.admit() for _ in range(4)] == [(True, 0), (True, 0), (False, 0), (False, 0)]
    clock.now = 60.0
    assert cap.admit() == (True, 2)
    assert cap.admit() == (True, 0)


def test_the_original_frontends_request_id_is_honoured(api: Api, json_log: io.StringIO) -> None:
    alone = api.get("/healthz", headers={"x-dp-reqid": "6f1c0c9e-2b4a-4c1e-9d7a-1b2c3d4e5f60"})
    assert alone.headers["x-request-id"] == "6f1c0c9e-2b4a-4c1e-9d7a-1b2c3d4e5f60"
    both = api.get("/healthz", headers={"x-request-id": "ours-1", "x-dp-reqid": "theirs-1"})
    assert both.headers["x-request-id"] == "ours-1"
    refused = api.post("/analysisStatus", {}, headers={"x-dp-reqid": "frontend-7"})
    assert refused.status_code == 400
    assert refused.headers["x-request-id"] == "frontend-7"
    unsafe = api.get("/healthz", headers={"x-dp-reqid": EMAIL})  # validated like x-request-id
    assert unsafe.headers["x-request-id"] != EMAIL
    assert EMAIL not in json_log.getvalue()
    ids = {e["request_id"] for e in _entries(json_log) if e["logger"] == "diagpro.access"}
    assert {"6f1c0c9e-2b4a-4c1e-9d7a-1b2c3d4e5f60", "ours-1", "frontend-7"} <= ids


def test_a_browser_may_send_the_original_frontends_request_id(make_api: Any) -> None:
    shop = "https://diagnosticpro.io"
    api = make_api(env={"DIAGPRO_CORS_ORIGINS": shop}, fresh=True)
    preflight = api.client.options(
        "/saveSubmission",
        headers={
            "origin": shop,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-api-key,x-dp-reqid",
        },
    )
    assert preflight.status_code == 204, preflight.text
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "x-dp-reqid" in {h.strip() for h in allowed.split(",")}


@pytest.mark.parametrize(
    "text",
    [
        'GET /report?key=abc"def&x=1',  # a quote JSON escapes, inside the secret
        "GET /report?signature=ab\\cd",  # a backslash
        "GET /report?api_key=first\nsecond",  # a line break
    ],
)
def test_a_secret_with_characters_json_escapes_is_redacted_and_the_line_stays_json(
    text: str,
) -> None:
    line = JsonFormatter().format(_record("path", text))
    entry = json.loads(line)  # still one valid JSON object
    assert "=***" in entry["path"]
    for part in ("abc", "ab\\cd", "first"):
        assert part not in entry["path"]


def test_an_object_given_as_a_field_is_written_as_text() -> None:
    record = _record("method", "x")
    record.method = object()
    assert json.loads(JsonFormatter().format(record))["method"].startswith("<object object")
