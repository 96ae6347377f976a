"""Storage faults on the embedded defaults: private files, a damaged database refused at start,
and a lease kept alive while a job is worked (so a dead worker's job is retaken soon)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from diagpro.adapters.local_files import LocalReportFolder
from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.jobs import SqliteJobQueue
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from diagpro.adapters.system import SystemClock
from diagpro.application.leases import lease_kept
from diagpro.domain.errors import StoreDamaged
from diagpro.entrypoints import cli
from tests.builders import make_submission
from tests.doubles import CountingIds


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- privacy: 0600 files in a 0700 folder --------------------------------------------------------


def test_the_database_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    # The attack: any local user could read every customer's description and e-mail (0644).
    data = tmp_path / "var"
    db = Database(data / "diagpro.sqlite3")
    SqliteSubmissionStore(db).add(make_submission())  # a write: SQLite makes -wal and -shm

    files = {p.name: mode(p) for p in data.iterdir()}
    assert files == {
        "diagpro.sqlite3": 0o600,
        "diagpro.sqlite3-wal": 0o600,  # SQLite copies the database file's mode
        "diagpro.sqlite3-shm": 0o600,
    }
    assert mode(data) == 0o700


def test_a_database_left_readable_by_an_older_version_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "diagpro.sqlite3"
    Database(path).close()
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            name.chmod(0o644)

    Database(path)

    assert mode(path) == 0o600
    assert all(mode(p) == 0o600 for p in tmp_path.glob("diagpro.sqlite3-*"))


def test_reports_are_kept_in_a_private_folder(tmp_path: Path) -> None:
    folder = LocalReportFolder(tmp_path / "var", "http://localhost", b"secret")
    folder.save("diag_1_ab", b"%PDF-1.7 report")

    assert mode(tmp_path / "var") == 0o700
    assert mode(tmp_path / "var" / "reports") == 0o700
    assert mode(tmp_path / "var" / "reports" / "diag_1_ab.pdf") == 0o600


# -- a damaged database --------------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "diagpro.sqlite3"
    path.write_bytes(b"not a database at all, " * 200)

    with pytest.raises(StoreDamaged) as raised:
        Database(path)

    assert str(path) in raised.value.message
    assert "move it" in raised.value.message and "restore a backup" in raised.value.message


@pytest.fixture
def damaged_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "var"
    data.mkdir()
    (data / "diagpro.sqlite3").write_bytes(b"garbage " * 512)
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(data))
    for name in ("DIAGPRO_STORE", "GCP_PROJECT", "FIRESTORE_PROJECT", "DIAGPRO_WORK_MODE"):
        monkeypatch.delenv(name, raising=False)
    return data


@pytest.mark.parametrize("command", [["serve", "--port", "8999"], ["worker", "--until-idle"]])
def test_serve_and_worker_refuse_a_damaged_database_in_one_line(
    command: list[str],
    damaged_data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The attack: "diagpro is serving" was printed, then an ExceptionGroup traceback.
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("served a damaged store"))

    assert cli.main(command) == 1

    out, err = capsys.readouterr()
    assert "serving" not in out
    [line] = err.splitlines()
    assert line.startswith("error: diagpro cannot start: database: The embedded database ")
    assert str(damaged_data_dir / "diagpro.sqlite3") in line
    assert "move it and its -wal and -shm files aside" in line


# -- the lease heartbeat -------------------------------------------------------------------------

LEASE = 0.3  # seconds of real time: the heartbeat renews every 0.1 s


def test_a_worked_job_keeps_its_lease_and_a_dead_one_is_retaken_within_a_lease(
    tmp_path: Path,
) -> None:
    clock = SystemClock()
    path = tmp_path / "diagpro.sqlite3"
    jobs = SqliteJobQueue(Database(path), CountingIds())
    other_worker = SqliteJobQueue(Database(path), CountingIds())  # a second process's view
    jobs.enqueue("sub-1", clock.now())
    job = jobs.claim("w1", clock.now(), LEASE)
    assert job is not None

    with lease_kept(jobs, job, clock, LEASE) as lost:
        time.sleep(LEASE * 4)  # a job four leases long: the heartbeat keeps it
        assert other_worker.claim("w2", clock.now(), LEASE) is None
        assert not lost.is_set()
    # The work is over (or the worker died): no more renewals, so the lease runs out.
    released = time.monotonic()
    taken = None
    while taken is None and time.monotonic() - released < LEASE * 5:
        taken = other_worker.claim("w2", clock.now(), LEASE)
        time.sleep(0.02)
    assert taken is not None and taken.attempts == 2
    assert time.monotonic() - released <= LEASE * 2


def test_the_heartbeat_stops_when_the_lease_was_lost(tmp_path: Path) -> None:
    clock = SystemClock()
    jobs = SqliteJobQueue(Database(tmp_path / "diagpro.sqlite3"), CountingIds())
    jobs.enqueue("sub-1", clock.now())
    job = jobs.claim("w1", clock.now(), LEASE)
    assert job is not None
    jobs.complete(job, clock.now())  # finished elsewhere: nothing left to hold

    with lease_kept(jobs, job, clock, LEASE) as lost:
        assert lost.wait(LEASE * 3)
    assert jobs.jobs_for("sub-1")[0].state.value == "done"
