"""Cloud adapters are chosen by their settings; a half-configured one stops start-up with every
missing or malformed setting named (the original found a wrong Stripe key through customers)."""

import pytest

from diagpro.config import ConfigError, load_settings
from tests.harness import container_for_tests

STRIPE = {"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_abc"}
VERTEX = {
    "GCP_PROJECT": "demo-proj",
    "VAI_LOCATION": "us-central1",
    "VAI_MODEL": "gemini-2.5-flash",
}


def settings(tmp_path, **env):
    return load_settings({"DIAGPRO_DATA_DIR": str(tmp_path), **env})


def container_for(tmp_path, **env):
    return container_for_tests(tmp_path, memory=False, env=env)


def problems(tmp_path, **env):
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, **env)
    return str(caught.value)


def test_nothing_configured_means_the_embedded_defaults(tmp_path):
    container = container_for(tmp_path)
    assert type(container.gateway()).__name__ == "LocalCheckout"
    assert type(container.analyzer()).__name__ == "OfflineAnalyzer"
    assert type(container.reports()).__name__ == "LocalReportFolder"
    assert type(container.refunds()).__name__ == "LocalCheckout"
    # What only the embedded defaults offer: the local checkout's buttons, the report folder.
    assert container.self_checkout() is container.gateway()
    assert container.report_files() is container.reports()
    assert container.settings().auto_refund is False
    assert container.worker_settings().auto_refund is False


def test_each_cloud_adapter_is_chosen_by_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")  # no credentials needed
    container = container_for(
        tmp_path,
        **STRIPE,
        **VERTEX,
        DIAGPRO_VERTEX_BASE_URL="http://127.0.0.1:9",
        REPORT_BUCKET="reports",
        REPORT_SIGNER_EMAIL="diagpro@demo-proj.iam.gserviceaccount.com",
    )
    assert type(container.gateway()).__name__ == "StripeGateway"
    assert type(container.refunds()).__name__ == "StripeRefunds"
    assert type(container.analyzer()).__name__ == "VertexAnalyzer"
    assert type(container.reports()).__name__ == "GcsReportStore"
    # Stripe has its own checkout page and the bucket its own links: nothing local to offer.
    assert container.self_checkout() is None
    assert container.report_files() is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"STRIPE_SECRET_KEY": "sk_test_1"}, ["STRIPE_WEBHOOK_SECRET is missing"]),
        ({"STRIPE_WEBHOOK_SECRET": "whsec_1"}, ["STRIPE_SECRET_KEY is missing"]),
        ({**STRIPE, "STRIPE_SECRET_KEY": "pk_live_1"}, ["publishable key"]),
        ({**STRIPE, "STRIPE_WEBHOOK_SECRET": "secret"}, ["whsec_"]),
        ({"VAI_MODEL": "gemini-2.5-flash"}, ["GCP_PROJECT is missing"]),
        ({**VERTEX, "VAI_MODEL": "gemini-2.0-flash-exp"}, ["experimental"]),
        ({"REPORT_BUCKET": "b"}, ["GCP_PROJECT is missing", "REPORT_SIGNER_EMAIL"]),
        ({"REPORT_SIGNER_EMAIL": "a@b.iam"}, ["REPORT_BUCKET is missing"]),
    ],
)
def test_half_configured_adapters_name_what_is_missing(tmp_path, env, named):
    message = problems(tmp_path, **env)
    for words in named:
        assert words in message


def test_every_problem_is_named_at_once_and_no_secret_is_echoed(tmp_path):
    message = problems(
        tmp_path, STRIPE_SECRET_KEY="pk_live_SECRETVALUE", REPORT_BUCKET="b", VAI_MODEL="x-exp"
    )
    assert message.count(";") >= 3
    assert "SECRETVALUE" not in message


def test_the_firestore_store_is_chosen_explicitly_and_needs_a_project(tmp_path, monkeypatch):
    assert "GCP_PROJECT is missing" in problems(tmp_path, DIAGPRO_STORE="firestore")
    assert "must be sqlite or firestore" in problems(tmp_path, DIAGPRO_STORE="postgres")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # no credentials needed
    container = container_for(tmp_path, DIAGPRO_STORE="firestore", GCP_PROJECT="demo-proj")
    assert type(container.submissions()).__name__ == "FirestoreSubmissionStore"
    assert type(container.processed_events()).__name__ == "FirestoreProcessedEvents"
    assert type(container.jobs()).__name__ == "FirestoreJobQueue"


@pytest.mark.parametrize(
    ("raw", "on"), [("true", True), ("TRUE", True), ("false", False), ("", False)]
)
def test_automatic_refund_is_a_switch_off_by_default(tmp_path, raw, on):
    container = container_for(tmp_path, DIAGPRO_AUTO_REFUND=raw)
    assert container.settings().auto_refund is on
    assert container.worker_settings().auto_refund is on


def test_automatic_refund_names_a_value_it_cannot_read(tmp_path):
    assert "DIAGPRO_AUTO_REFUND='maybe' must be true or false" in problems(
        tmp_path, DIAGPRO_AUTO_REFUND="maybe"
    )


def test_vertex_is_on_when_any_of_its_settings_is_given_with_the_declared_model(tmp_path):
    assert not settings(tmp_path).cloud.vertex.enabled
    vertex = settings(tmp_path, GCP_PROJECT="demo-proj", VAI_LOCATION="europe-west4").cloud.vertex
    assert (vertex.enabled, vertex.model, vertex.location) == (
        True,
        "gemini-2.5-flash",
        "europe-west4",
    )
