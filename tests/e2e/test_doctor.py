"""``diagpro doctor``: every check green on the defaults and on the emulators and stubs, each
failure a blocker naming its fix, and no secret ever printed whole."""

from __future__ import annotations

import io
import json
import socket
import time
import uuid
from pathlib import Path

import pytest
from dependency_injector import providers

from diagpro.adapters.gemini.schema import response_schema
from diagpro.config import load_settings, with_local_secrets
from diagpro.entrypoints.doctor import (
    Check,
    diagnose,
    exit_code,
    print_report,
    redact,
    run_checks,
    stripe_key_checks,
    to_json,
)
from tests.e2e.conftest import run
from tests.emulators import firestore_project
from tests.harness import container_for_tests
from tests.signing import write_key_file
from tests.stubs.stripe_stub import StripeStub
from tests.stubs.vertex_stub import ERROR_400_SCHEMA, ERROR_404, VertexStub

SECRET_KEY = "sk_test_51DoctorSecretKeyValue0000abcd1234"
WEBHOOK_SECRET = "whsec_DoctorWebhookSecretValue00009876"


class FakeRenderer:
    def render(self, document: object) -> bytes:
        return b"%PDF-1.7 doctor"


def checks_for(env: dict[str, str], *, real_render: bool = False) -> list[Check]:
    container = container_for_tests(memory=False, env=env)
    settings = container.settings()
    if not real_render:
        container.renderer.override(providers.Object(FakeRenderer()))
    return run_checks(settings, container, timeout=3)


def named(checks: list[Check], name: str) -> Check:
    found = [c for c in checks if c.name == name]
    assert found, f"no {name!r} check in {[c.name for c in checks]}"
    return found[0]


def output(checks: list[Check]) -> str:
    text = io.StringIO()
    print_report(checks, text)
    return text.getvalue() + to_json(checks)


@pytest.fixture
def base(tmp_path: Path) -> dict[str, str]:
    return {"DIAGPRO_DATA_DIR": str(tmp_path / "var")}


@pytest.fixture
def cloud_base(base: dict[str, str]) -> dict[str, str]:
    """What every deployment gives: its analyzer, its public address, its API keys."""
    return {
        **base,
        "DIAGPRO_ANALYZER": "offline",
        "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
        "DIAGPRO_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "DIAGPRO_API_KEYS": "dpk_DoctorDeployedKey000000000001",
        "DIAGPRO_TRUSTED_PROXIES": "2",  # API Gateway and Cloud Run, as deploy/service.yaml
    }


@pytest.fixture
def stripe_env(cloud_base: dict[str, str], stripe_stub: StripeStub) -> dict[str, str]:
    return {
        **cloud_base,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DIAGPRO_STRIPE_API_BASE": stripe_stub.api_base,
    }


def _key_file(tmp_path: Path) -> str:
    return str(
        write_key_file(
            tmp_path / "signer.json", "demo-proj", "diagpro@demo-proj.iam.gserviceaccount.com"
        )
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- green ---------------------------------------------------------------------------------------


@pytest.mark.process  # the rendering check starts the isolated render process
def test_the_offline_defaults_are_all_green(base: dict[str, str]) -> None:
    checks = checks_for(base, real_render=True)

    assert exit_code(checks) == 0, output(checks)
    assert all(c.ok for c in checks)
    names = [c.name for c in checks]
    assert names[:3] == ["configuration", "adapters", "api keys"]
    assert {"data folder", "sqlite", "pdf rendering"} <= set(names)
    assert "embedded default" in named(checks, "adapters").detail
    assert "generated" in named(checks, "api keys").detail
    assert "limits 30 s, 1536 MiB" in named(checks, "pdf rendering").detail


@pytest.mark.emulator
def test_every_cloud_adapter_against_the_emulators_and_stubs_is_green(
    stripe_env: dict[str, str],
    firestore_emulator: str,
    gcs_emulator: str,
    pubsub_emulator: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, pubsub_v1, storage

    from diagpro.adapters.pubsub import ensure_topic_and_subscription

    project = firestore_project()
    bucket = f"diagpro-doctor-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    ensure_topic_and_subscription(
        publisher,
        subscriber,
        publisher.topic_path(project, "jobs"),
        subscriber.subscription_path(project, "workers"),
    )
    subscriber.close()
    gcs = storage.Client(project=project, credentials=AnonymousCredentials())
    gcs.create_bucket(bucket)

    with VertexStub() as vertex:
        checks = checks_for(
            {
                **stripe_env,
                "GCP_PROJECT": project,
                "DIAGPRO_STORE": "firestore",
                "REPORT_BUCKET": bucket,
                "REPORT_SIGNING_KEY_FILE": _key_file(tmp_path),
                "DIAGPRO_ANALYZER": "vertex",
                "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
                "VAI_MODEL": "gemini-3.5-flash",
                "VAI_LOCATION": "europe-west1",
                "DIAGPRO_VERTEX_BASE_URL": vertex.url,
                "PUBSUB_TOPIC": "jobs",
                "PUBSUB_SUBSCRIPTION": "workers",
            }
        )
        # One request, carrying the real response schema (a probe without it proves nothing).
        (probe,) = vertex.requests
        assert probe.response_schema == response_schema()
        assert probe.model == "gemini-3.5-flash"

    assert exit_code(checks) == 0, output(checks)
    assert all(c.ok for c in checks), output(checks)
    for name in (
        "stripe key",
        "stripe webhook secret",
        "stripe api",
        "firestore",
        "bucket",
        "pub/sub",
    ):
        assert named(checks, name).ok
    assert "fetched it" in named(checks, "signed urls").detail
    assert "with the real response schema" in named(checks, "vertex ai").detail
    assert "a current family" in named(checks, "vertex model").detail
    adapters = named(checks, "adapters").detail
    assert "Stripe Checkout" in adapters and "Firestore" in adapters
    assert "Cloud Storage" in adapters and "Vertex AI" in adapters
    # The probes are cleaned up.
    assert list(gcs.list_blobs(bucket)) == []
    client = firestore.Client(project=project, credentials=AnonymousCredentials())
    assert list(client.collection("_doctor").stream()) == []
    client.close()


# -- each failure: a blocker naming the fix -------------------------------------------------------


def test_a_publishable_key_is_a_blocker(base: dict[str, str]) -> None:
    checks = diagnose(
        {
            **base,
            "STRIPE_SECRET_KEY": "pk_live_51PublishableKeyValue000011112222",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    )

    assert exit_code(checks) == 1
    config = named(checks, "configuration")
    assert not config.ok and "publishable key" in config.detail
    key = named(checks, "stripe key")
    assert key.blocks and "publishable" in key.detail and "sk_" in key.fix
    assert "pk_live_…2222" in key.detail
    assert "PublishableKeyValue" not in output(checks)


def test_a_revoked_key_is_a_blocker(stripe_env: dict[str, str], stripe_stub: StripeStub) -> None:
    stripe_stub.fail_next(401, "Invalid API Key provided", type_="invalid_request_error")
    checks = checks_for(stripe_env)

    api = named(checks, "stripe api")
    assert api.blocks and "revoked" in api.detail
    assert "API keys" in api.fix and "STRIPE_SECRET_KEY" in api.fix
    assert exit_code(checks) == 1


@pytest.mark.parametrize(
    "secret",
    ["not-a-webhook-secret-at-all", SECRET_KEY, "whsec_short"],
    ids=["no-prefix", "an-api-key", "too-short"],
)
@pytest.mark.process  # the rendering check starts the isolated render process
def test_a_malformed_webhook_secret_is_a_blocker(stripe_env: dict[str, str], secret: str) -> None:
    checks = diagnose({**stripe_env, "STRIPE_WEBHOOK_SECRET": secret})

    webhook = named(checks, "stripe webhook secret")
    assert webhook.blocks and "Signing secret" in webhook.fix
    assert exit_code(checks) == 1
    assert secret not in output(checks)


def test_a_live_key_needs_an_https_base_url_and_a_test_key_in_production_warns() -> None:
    live = stripe_key_checks("sk_live_" + "x" * 24, WEBHOOK_SECRET, "http://shop.example.com")
    mode = named(live, "stripe mode")
    assert mode.blocks and "https://" in mode.fix

    test = stripe_key_checks(SECRET_KEY, WEBHOOK_SECRET, "https://diagnosticpro.io")
    mode = named(test, "stripe mode")
    assert not mode.ok and mode.severity == "warning"
    assert exit_code(test) == 0

    local = stripe_key_checks(SECRET_KEY, WEBHOOK_SECRET, "http://127.0.0.1:8000")
    assert [c.name for c in local] == ["stripe key", "stripe webhook secret"]


@pytest.mark.emulator
def test_a_missing_bucket_is_a_blocker(
    cloud_base: dict[str, str], gcs_emulator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    checks = checks_for(
        {
            **cloud_base,
            "GCP_PROJECT": "demo-proj",
            "REPORT_BUCKET": "no-such-bucket-doctor",
            "REPORT_SIGNING_KEY_FILE": _key_file(tmp_path),
        }
    )

    bucket = named(checks, "bucket")
    assert bucket.blocks and "does not exist" in bucket.detail
    assert "REPORT_BUCKET" in bucket.fix and "gcloud storage buckets create" in bucket.fix
    assert exit_code(checks) == 1


def test_an_unreachable_firestore_is_a_blocker(
    cloud_base: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    checks = checks_for({**cloud_base, "GCP_PROJECT": "demo-proj", "DIAGPRO_STORE": "firestore"})

    assert time.monotonic() - started < 10
    store = named(checks, "firestore")
    assert store.blocks and "did not answer" in store.detail
    assert "FIRESTORE_EMULATOR_HOST" in store.fix
    assert exit_code(checks) == 1


def test_firestore_permission_denied_names_the_role(
    cloud_base: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.api_core import exceptions as api_exceptions
    from google.cloud.firestore_v1.document import DocumentReference

    def refused(self: object, *args: object, **kwargs: object) -> None:
        raise api_exceptions.PermissionDenied("Missing or insufficient permissions.")

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    monkeypatch.setattr(DocumentReference, "set", refused)
    checks = checks_for({**cloud_base, "GCP_PROJECT": "demo-proj", "DIAGPRO_STORE": "firestore"})

    store = named(checks, "firestore")
    assert store.blocks and "roles/datastore.user" in store.fix


def _vertex_env(cloud_base: dict[str, str], url: str, model: str) -> dict[str, str]:
    return {
        **cloud_base,
        "DIAGPRO_ANALYZER": "vertex",
        "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
        "GCP_PROJECT": "demo-proj",
        "VAI_MODEL": model,
        "VAI_LOCATION": "mars-central1",
        "DIAGPRO_VERTEX_BASE_URL": url,
    }


def test_a_vertex_model_not_found_is_a_blocker(cloud_base: dict[str, str]) -> None:
    with VertexStub() as vertex:
        vertex.script(ERROR_404)
        checks = checks_for(_vertex_env(cloud_base, vertex.url, "gemini-9-flash"))

    check = named(checks, "vertex ai")
    assert check.blocks and "gemini-9-flash in mars-central1" in check.detail
    assert "404" in check.detail
    assert "VAI_MODEL" in check.fix and "VAI_LOCATION" in check.fix
    assert "gemini-3.5-flash" in check.fix
    assert exit_code(checks) == 1


def test_a_rejected_response_schema_is_a_blocker(cloud_base: dict[str, str]) -> None:
    with VertexStub() as vertex:
        vertex.script(ERROR_400_SCHEMA)
        checks = checks_for(_vertex_env(cloud_base, vertex.url, "gemini-3.5-flash"))
        (probe,) = vertex.requests
        assert probe.response_schema == response_schema()

    check = named(checks, "vertex ai")
    assert check.blocks and "rejected the response schema" in check.detail
    assert "schema" in check.fix
    assert exit_code(checks) == 1


@pytest.mark.parametrize(
    ("model", "words"),
    [("gemini-2.5-flash", "retired"), ("acme-reasoner-7", "not a Gemini model id")],
)
def test_a_retired_or_unknown_model_family_is_a_warning(
    cloud_base: dict[str, str], model: str, words: str
) -> None:
    with VertexStub() as vertex:  # the stub still answers: the warning is about the id alone
        checks = checks_for(_vertex_env(cloud_base, vertex.url, model))

    family = named(checks, "vertex model")
    assert not family.ok and family.severity == "warning"
    assert words in family.detail and "VAI_MODEL" in family.fix
    assert named(checks, "vertex ai").ok
    assert exit_code(checks) == 0


@pytest.mark.emulator
def test_signing_through_iam_without_credentials_names_the_token_creator_role(
    cloud_base: dict[str, str], gcs_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from diagpro.adapters import gcs

    def no_token() -> str:
        import google.auth.exceptions

        raise google.auth.exceptions.RefreshError("no metadata server")

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    monkeypatch.setattr(gcs, "default_access_token_source", lambda: no_token)
    bucket = f"diagpro-doctor-{uuid.uuid4().hex[:12]}"
    storage.Client(project="demo-proj", credentials=AnonymousCredentials()).create_bucket(bucket)
    checks = checks_for(
        {
            **cloud_base,
            "GCP_PROJECT": "demo-proj",
            "REPORT_BUCKET": bucket,
            "REPORT_SIGNER_EMAIL": "diagpro@demo-proj.iam.gserviceaccount.com",
        }
    )

    assert named(checks, "bucket").ok
    signed = named(checks, "signed urls")
    assert signed.blocks
    assert "roles/iam.serviceAccountTokenCreator" in signed.fix
    assert "iamcredentials.googleapis.com" in signed.fix


# -- secrets --------------------------------------------------------------------------------------


def test_redaction_keeps_the_kind_and_the_last_four() -> None:
    assert redact(SECRET_KEY) == "sk_test_…1234"
    assert redact(WEBHOOK_SECRET) == "whsec_…9876"
    assert redact("rk_live_" + "a" * 20 + "wxyz") == "rk_live_…wxyz"
    assert redact("short") == "…"
    assert redact("") == "(empty)"


def test_secrets_never_appear_whole(
    stripe_env: dict[str, str], stripe_stub: StripeStub, tmp_path: Path
) -> None:
    api_key = "dpk_DoctorApiKeyValue0000000000zzzz"
    env = {**stripe_env, "DIAGPRO_API_KEYS": api_key}
    stripe_stub.fail_next(
        401, f"Invalid API Key provided: {SECRET_KEY}", type_="invalid_request_error"
    )
    checks = checks_for(env)
    text = output(checks)

    assert "sk_test_…1234" in text and "whsec_…9876" in text
    settings = with_local_secrets(load_settings(env))
    for secret in (SECRET_KEY, WEBHOOK_SECRET, api_key, settings.link_secret):
        assert secret not in text
    assert settings.local_webhook_secret not in text


def test_a_crashing_check_is_a_finding_not_a_traceback(
    base: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from diagpro.entrypoints import doctor

    def boom(*args: object) -> Check:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(doctor.local_checks, "sqlite_store", boom)
    checks = checks_for(base)
    assert named(checks, "sqlite").blocks and "RuntimeError" in named(checks, "sqlite").detail


# -- the command ----------------------------------------------------------------------------------


@pytest.mark.process
def test_the_command_prints_findings_and_exits_1_on_a_blocker(
    env: dict[str, str], tmp_path: Path, stripe_stub: StripeStub
) -> None:
    stripe_stub.fail_next(401, "Invalid API Key provided", type_="invalid_request_error")
    env = {
        **env,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DIAGPRO_STRIPE_API_BASE": stripe_stub.api_base,
        "DIAGPRO_ANALYZER": "offline",
        "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
        "DIAGPRO_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "DIAGPRO_API_KEYS": "dpk_DoctorCommandKey00000000001",
    }
    result = run(["doctor"], env, tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "BLOCKER  stripe api" in out and "fix: copy the current secret key" in out
    assert "ok       pdf rendering" in out
    assert "sk_test_…1234" in out
    assert SECRET_KEY not in out + result.stderr and WEBHOOK_SECRET not in out + result.stderr

    broken = run(["doctor", "--json"], {**env, "DIAGPRO_PRICE_CENTS": "nope"}, tmp_path)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    report = json.loads(broken.stdout)
    assert report["exit_code"] == 1
    assert report["checks"][0]["name"] == "configuration"
    assert "DIAGPRO_PRICE_CENTS" in report["checks"][0]["detail"]


@pytest.mark.emulator
def test_a_missing_pubsub_subscription_is_a_blocker_with_the_command_to_create_it(
    cloud_base: dict[str, str], pubsub_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator)
    checks = checks_for(
        {
            **cloud_base,
            "GCP_PROJECT": firestore_project(),
            "PUBSUB_TOPIC": "jobs",
            "PUBSUB_SUBSCRIPTION": "workers",
        }
    )
    finding = named(checks, "pub/sub")
    assert finding.blocks and exit_code(checks) == 1
    assert "gcloud pubsub topics create jobs" in finding.fix
