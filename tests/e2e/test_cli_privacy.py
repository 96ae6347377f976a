"""``diagpro purge`` and ``diagpro forget`` as an operator runs them: real processes on a data
folder holding real orders made by ``diagpro diagnose`` (SQLite, the local report folder)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from tests.e2e.conftest import run

pytestmark = pytest.mark.process

NAME, PHONE, VIN = "Pat Quixote", "555-123-4567", "1FTFW1EF5FFA00000"
SECRETS = (NAME, PHONE, VIN, "pat.q@example.com")


def diagnose(env: dict[str, str], cwd: Path, email: str, problem: str) -> str:
    result = run(
        [
            "diagnose",
            "--equipment-type",
            "automotive",
            "--make",
            "Ford",
            "--problem",
            problem,
            "--email",
            email,
            "--name",
            NAME,
            "--phone",
            PHONE,
            "--serial-number",
            VIN,
        ],
        env,
        cwd,
    )
    assert result.returncode == 0, result.stderr
    found = re.search(r"submission\s+(diag_\d{13}_[0-9a-f]{24}) saved", result.stdout)
    assert found, result.stdout
    return found.group(1)


def age(data: Path, sid: str, days: int) -> None:
    """The order last changed ``days`` ago (the test cannot wait 90 days)."""
    db = Database(data / "diagpro.sqlite3")
    store = SqliteSubmissionStore(db)
    sub = store.get(sid)
    store.update(
        replace(sub, updated_at=sub.updated_at - timedelta(days=days), version=sub.version + 1)
    )
    db.close()


def assert_nothing_personal(*outputs: str) -> None:
    for output in outputs:
        for secret in SECRETS:
            assert secret not in output, output


def test_purge_erases_what_is_past_the_period_prints_ids_only_and_a_second_run_does_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "var"
    old = diagnose(env, tmp_path, "pat.q@example.com", "Rough idle, call Pat Quixote")
    recent = diagnose(env, tmp_path, "pat.q@example.com", "Brakes squeal")
    age(data, old, 100)

    dry = run(["purge", "--dry-run"], env, tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "1 submission(s) would be erased" in dry.stdout and old in dry.stdout
    assert (data / "reports" / f"{old}.pdf").exists()

    purged = run(["purge"], env, tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert "purge: 1 submission(s) erased" in purged.stdout
    assert old in purged.stdout and recent not in purged.stdout
    assert "removed: 1 report(s)" in purged.stdout
    assert_nothing_personal(dry.stdout, dry.stderr, purged.stdout, purged.stderr)
    assert not (data / "reports" / f"{old}.pdf").exists()
    assert (data / "reports" / f"{recent}.pdf").exists()

    again = run(["purge", "--json"], env, tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["erased"] == 0

    status = run(["status", old], env, tmp_path)
    assert status.returncode == 0, status.stderr
    assert f"{old}: ready" in status.stdout and "erased" in status.stdout
    assert "paid $4.99 USD" in status.stdout
    assert "\n  Cars & SUVs\n" in status.stdout  # the kind of machine is all that is left
    assert "to (address erased)" in status.stdout
    assert_nothing_personal(status.stdout)


def test_forget_erases_every_order_under_an_email_and_refuses_when_nothing_matches(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "var"
    mine = [
        diagnose(env, tmp_path, "pat.q@example.com", "Rough idle"),
        diagnose(env, tmp_path, "pat.q@example.com", "Brakes squeal"),
    ]
    theirs = diagnose(env, tmp_path, "sam@example.org", "Overheats")

    # -v: the log lines too (INFO), which must name ids and counts only.
    forgotten = run(["-v", "forget", "PAT.Q@example.com"], env, tmp_path)

    assert forgotten.returncode == 0, forgotten.stderr
    assert "forget: 2 submission(s) erased" in forgotten.stdout
    assert all(sid in forgotten.stdout for sid in mine) and theirs not in forgotten.stdout
    assert "removed: 2 report(s)" in forgotten.stdout
    assert mine[0] in forgotten.stderr  # logged, by id
    assert_nothing_personal(forgotten.stdout, forgotten.stderr.replace(NAME, ""))
    assert "pat.q@example.com" not in forgotten.stderr.lower()

    again = run(["forget", "pat.q@example.com"], env, tmp_path)
    assert again.returncode == 2  # an erased order holds no email to be found by
    by_id = run(["forget", mine[0]], env, tmp_path)
    assert by_id.returncode == 0 and "erased before" in by_id.stdout
    for sid in mine:
        assert not (data / "reports" / f"{sid}.pdf").exists()
    assert (data / "reports" / f"{theirs}.pdf").exists()
    database = b"".join(p.read_bytes() for p in data.glob("diagpro.sqlite3*"))
    assert NAME.encode() in database  # Sam's order still holds the same name
    assert b"pat.q@example.com" not in database

    nobody = run(["forget", "nobody@example.com"], env, tmp_path)
    assert nobody.returncode == 2
    assert "no submission holds that email address" in nobody.stderr
