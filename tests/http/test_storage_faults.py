"""A store that cannot be written, seen from outside: /healthz says so, the customer's status
says the paid report is delayed (never failed, never a server path), and the report is made
once the disk is fixed."""

from __future__ import annotations

import errno
import sqlite3
from typing import Any

import pytest

from diagpro.application.status import DELAYED
from tests.http.conftest import Api


class _ReadOnlySqlite:
    """The sqlite3 module, except that every connection opens read-only (a disk remounted
    read-only; as root, chmod would not stop a write)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    @staticmethod
    def connect(path: str, **kwargs: Any) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, **kwargs)


def make_read_only(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.container.database().close()  # the next statement opens new (read-only) connections
    monkeypatch.setattr("diagpro.adapters.sqlite.db.sqlite3", _ReadOnlySqlite())


def fill_the_report_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("diagpro.adapters.local_files.os.fsync", full)


def test_healthz_reports_a_read_only_database(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The attack: /healthz answered "ok" while no paid order could be stored.
    make_read_only(sqlite_api, monkeypatch)

    response = sqlite_api.client.get("/healthz")

    assert response.status_code == 200  # a restart cannot fix a disk: liveness stays up
    body = response.json()
    assert body["status"] == "degraded"
    [problem] = body["problems"]
    assert problem.startswith("store: database: The embedded database ")
    assert "attempt to write a readonly database" in problem


def test_healthz_reports_a_full_report_disk_and_recovers(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_the_report_disk(monkeypatch)
    store_check = sqlite_api.container.store_check()

    body = sqlite_api.client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert "No space left on device" in body["problems"][0]

    monkeypatch.undo()
    assert store_check.refusal() is None  # fixed; /healthz follows once its cache expires


def test_the_probe_is_cached_so_healthz_cannot_hammer_the_disk(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = sqlite_api.container.store_probe()
    calls = 0
    original = probe.probe

    def counted(now: Any) -> None:
        nonlocal calls
        calls += 1
        original(now)

    monkeypatch.setattr(probe, "probe", counted)
    for _ in range(50):
        assert sqlite_api.client.get("/healthz").json()["status"] == "ok"
    assert calls == 1


def test_a_full_report_disk_delays_a_paid_report_and_never_fails_it(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The attack: the report could not be stored; the job used up its retries and the paid
    # order failed (or showed "queued" for ever while the worker spun).
    sid = sqlite_api.save()
    sqlite_api.pay(sid)
    fill_the_report_disk(monkeypatch)

    for _ in range(12):  # far past the retry budget (5 attempts, 20 minutes)
        sqlite_api.work()
        sqlite_api.clock.advance(600)

    status = sqlite_api.status(sid)
    assert status["status"] == "processing"  # the wire value the original frontend reads
    assert status["message"] == DELAYED  # honest, and no server path
    [job] = sqlite_api.jobs(sid)
    assert job.state.value == "queued" and job.attempts == 12

    monkeypatch.undo()  # an operator freed space
    sqlite_api.clock.advance(600)
    assert sqlite_api.work() == 1
    assert sqlite_api.status(sid)["status"] == "ready"
