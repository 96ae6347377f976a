"""The CLI as a user runs it: a real process, the embedded defaults, a real PDF."""

import json
import re

import pytest

from tests.e2e.conftest import pdf_pages, pdf_text, run

pytestmark = pytest.mark.process

F150 = [
    "diagnose",
    "--equipment-type", "automotive",
    "--make", "Ford",
    "--model", "F-150",
    "--year", "2015",
    "--codes", "P0301 P0171",
    "--problem", "Rough idle and shaking at stops, worse when cold",
    "--email", "owner@example.com",
]  # fmt: skip


def test_diagnose_runs_the_whole_lifecycle_and_writes_the_report(env, tmp_path):
    result = run([*F150, "--output", "report.pdf"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    sid = re.search(r"submission\s+(diag_\d{13}_[0-9a-f]{24}) saved", out).group(1)
    stages = [line.split()[0] for line in out.splitlines()]
    for stage in (
        "submission",
        "checkout",
        "payment",
        "claimed",
        "analysing",
        "rendering",
        "ready",
        "emailed",
    ):
        assert stage in stages, out
    assert stages.index("payment") < stages.index("analysing") < stages.index("ready")
    assert stages.index("ready") < stages.index("emailed")  # the report never waits for it
    (eml,) = (tmp_path / "var" / "outbox").glob(f"{sid}.ready.*.eml")
    assert f"ready email sent: {eml}" in out
    assert "cs_local_" in out and "$4.99 USD" in out and "fulfilled" in out

    report = tmp_path / "report.pdf"
    text = pdf_text(report)
    assert 3 <= pdf_pages(report) <= 6  # a typical report: 4-6 pages
    assert "P0301" in text and "P0171" in text and sid in text
    # Labels print in capitals (CSS): compare without case.
    assert "most likely cause" in text.lower() and "Likely causes, ranked" in text

    status = run(["status", sid], env, tmp_path)
    assert status.returncode == 0
    assert f"{sid}: ready" in status.stdout
    assert "disposition=attachment" in status.stdout
    assert "email #1 ready: sent" in status.stdout and "to owner@example.com" in status.stdout
    assert (tmp_path / "var" / "reports" / f"{sid}.pdf").exists()

    resent = run(["resend-email", sid], env, tmp_path)
    assert resent.returncode == 0, resent.stderr
    assert "email #2 ready (resent): sent" in resent.stdout
    assert len(list((tmp_path / "var" / "outbox").glob(f"{sid}.ready.*"))) == 2


def test_diagnose_from_an_intake_file(env, tmp_path):
    intake = {
        "payload": {
            "equipmentType": "hvac",
            "make": "Carrier",
            "symptoms": ["short cycling", "no heat"],
            "errorCodes": "blink code 3",
            "email": "owner@example.com",
            "systemType": "gas furnace",
        }
    }
    (tmp_path / "intake.json").write_text(json.dumps(intake))
    result = run(["diagnose", "--from", "intake.json", "-o", "out/furnace.pdf"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    text = pdf_text(tmp_path / "out" / "furnace.pdf")
    # The code as the owner knows it, decoded for a Carrier furnace (never diagpro's FLASH:3).
    assert "short cycling" in text and "Flash code 3" in text and "FLASH:" not in text


def test_bad_input_is_one_clear_error_and_no_traceback(env, tmp_path):
    result = run(["diagnose", "--equipment-type", "car", "--email", "nope"], env, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    first, *fields = result.stderr.strip().splitlines()
    assert first.startswith("error: the description was not accepted")
    named = {line.strip()[2:].split(":")[0] for line in fields}
    assert named == {"equipmentType", "email", "problemDescription"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "diag_1700000000000_" + "0" * 24], "No submission with id"),
        (["diagnose", "--from", "missing.json"], "cannot read missing.json"),
        (["requeue", "diag_1700000000000_" + "0" * 24], "No submission with id"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(env, tmp_path, args, message):
    result = run(args, env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
