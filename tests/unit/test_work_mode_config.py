"""DIAGPRO_WORK_MODE: each mode's needs, and the combinations refused at start-up by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagpro.config import ConfigError, load_settings

PUBSUB = {"GCP_PROJECT": "demo-proj", "PUBSUB_TOPIC": "jobs", "PUBSUB_SUBSCRIPTION": "jobs-push"}
OIDC = {
    "DIAGPRO_PUSH_AUDIENCE": "https://diagpro.example/tasks/jobs",
    "DIAGPRO_PUSH_SERVICE_ACCOUNT": "diagpro-push@demo-proj.iam.gserviceaccount.com",
}
FIRESTORE = {"DIAGPRO_STORE": "firestore", "GCP_PROJECT": "demo-proj"}
# What any cloud configuration must say besides (part B of issue 9).
CLOUD = {
    "DIAGPRO_ANALYZER": "offline",
    "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example",
    "DIAGPRO_API_KEYS": "dpk_work_mode_test_0123456789",
}


def load(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"DIAGPRO_DATA_DIR": str(tmp_path), **CLOUD, **env})


def refused(tmp_path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **env)
    return str(caught.value)


def test_inline_is_the_default_and_runs_the_worker_in_the_server(tmp_path: Path) -> None:
    work = load(tmp_path).work
    assert work.mode == "inline" and work.worker_in_server and not work.push


def test_push_with_pubsub_and_the_token_settings(tmp_path: Path) -> None:
    work = load(tmp_path, DIAGPRO_WORK_MODE="push", **PUBSUB, **OIDC).work
    assert work.push and not work.worker_in_server
    assert work.push_audience == OIDC["DIAGPRO_PUSH_AUDIENCE"]
    assert work.push_service_account == OIDC["DIAGPRO_PUSH_SERVICE_ACCOUNT"]
    assert not work.tokenless_pushes


def test_push_needs_pubsub(tmp_path: Path) -> None:
    message = refused(tmp_path, DIAGPRO_WORK_MODE="push", **OIDC)
    assert "DIAGPRO_WORK_MODE=push needs Pub/Sub" in message and "PUBSUB_TOPIC" in message


def test_push_needs_the_token_settings_unless_on_the_emulator(tmp_path: Path) -> None:
    message = refused(tmp_path, DIAGPRO_WORK_MODE="push", **PUBSUB)
    assert "DIAGPRO_PUSH_AUDIENCE and DIAGPRO_PUSH_SERVICE_ACCOUNT" in message

    emulated = load(
        tmp_path, DIAGPRO_WORK_MODE="push", PUBSUB_EMULATOR_HOST="127.0.0.1:8085", **PUBSUB
    )
    assert emulated.work.tokenless_pushes


def test_token_settings_outside_push_mode_are_named(tmp_path: Path) -> None:
    message = refused(tmp_path, DIAGPRO_WORK_MODE="pull", **OIDC)
    assert "only apply to DIAGPRO_WORK_MODE=push" in message


def test_a_push_service_account_must_be_an_email(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        DIAGPRO_WORK_MODE="push",
        DIAGPRO_PUSH_AUDIENCE="aud",
        DIAGPRO_PUSH_SERVICE_ACCOUNT="diagpro-push",
        **PUBSUB,
    )
    assert "DIAGPRO_PUSH_SERVICE_ACCOUNT='diagpro-push'" in message


@pytest.mark.parametrize("mode", ["push", "pull"])
def test_several_instances_cannot_share_sqlite_in_production(tmp_path: Path, mode: str) -> None:
    extra = {**PUBSUB, **OIDC} if mode == "push" else {}
    message = refused(tmp_path, DIAGPRO_ENVIRONMENT="production", DIAGPRO_WORK_MODE=mode, **extra)
    assert f"DIAGPRO_WORK_MODE={mode} with the SQLite store in production" in message
    assert "DIAGPRO_STORE=firestore" in message

    env = {"DIAGPRO_ENVIRONMENT": "production", "DIAGPRO_WORK_MODE": mode, **FIRESTORE, **extra}
    settings = load(tmp_path, **env)
    assert settings.work.mode == mode


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    assert "DIAGPRO_WORK_MODE='threads' must be inline or push or pull" in refused(
        tmp_path, DIAGPRO_WORK_MODE="threads"
    )
