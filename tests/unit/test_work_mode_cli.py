"""The CLI's side of the work modes: ``diagpro sweep`` needs Pub/Sub, ``diagpro worker`` is
refused in push mode (the pushed requests do the work there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagpro.entrypoints import cli

PUSH = {
    "DIAGPRO_WORK_MODE": "push",
    "GCP_PROJECT": "demo-proj",
    "PUBSUB_TOPIC": "jobs",
    "PUBSUB_SUBSCRIPTION": "jobs-push",
    "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",  # never reached: the command stops before
    "DIAGPRO_ANALYZER": "offline",
    "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example",
    "DIAGPRO_API_KEYS": "dpk_work_mode_cli_0123456789",
}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in PUSH:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(tmp_path / "var"))
    return tmp_path


@pytest.mark.usefixtures("data_dir")
def test_sweep_without_pubsub_says_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sweep"]) == 2
    err = capsys.readouterr().err
    assert "diagpro sweep announces due jobs on Pub/Sub" in err
    assert "PUBSUB_TOPIC, PUBSUB_SUBSCRIPTION and GCP_PROJECT" in err


@pytest.mark.usefixtures("data_dir")
def test_worker_is_refused_in_push_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in PUSH.items():
        monkeypatch.setenv(name, value)

    assert cli.main(["worker", "--until-idle"]) == 2
    err = capsys.readouterr().err
    assert "DIAGPRO_WORK_MODE=push" in err and "DIAGPRO_WORK_MODE=pull" in err
