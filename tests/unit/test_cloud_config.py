"""Cloud adapters are chosen by their settings; a half-configured one stops start-up with every
missing or malformed setting named (the original found a wrong Stripe key through customers)."""

import pytest

from diagpro.config import ConfigError, load_settings
from tests.harness import container_for_tests

# What any deployment must give once a cloud setting is present.
DEPLOYED = {
    "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example.com",
    "DIAGPRO_API_KEYS": "dpk_cloud_config_key_0001",
}
STRIPE = {"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_abc", **DEPLOYED}
VERTEX = {
    "DIAGPRO_ANALYZER": "vertex",
    "GCP_PROJECT": "demo-proj",
    "VAI_LOCATION": "us-central1",
    "VAI_MODEL": "gemini-3.5-flash",
    **DEPLOYED,
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
        **{**STRIPE, **VERTEX},
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
        (
            {"DIAGPRO_ANALYZER": "vertex", "VAI_MODEL": "gemini-3.5-flash"},
            ["GCP_PROJECT is missing"],
        ),
        ({**VERTEX, "VAI_MODEL": "gemini-2.0-flash-exp"}, ["experimental"]),
        ({**VERTEX, "VAI_MODEL": ""}, ["VAI_MODEL is missing", "no default"]),
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
    container = container_for(
        tmp_path,
        DIAGPRO_STORE="firestore",
        GCP_PROJECT="demo-proj",
        DIAGPRO_ANALYZER="offline",
        **DEPLOYED,
    )
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


def test_vertex_is_on_only_when_chosen_and_has_no_default_model(tmp_path):
    assert not settings(tmp_path).cloud.vertex.enabled
    vertex = settings(tmp_path, **{**VERTEX, "VAI_LOCATION": "europe-west4"}).cloud.vertex
    assert (vertex.enabled, vertex.model, vertex.location) == (
        True,
        "gemini-3.5-flash",
        "europe-west4",
    )
    offline = settings(tmp_path, **{**VERTEX, "DIAGPRO_ANALYZER": "offline"})
    assert offline.cloud.analysis == "offline"
    assert not offline.cloud.vertex.enabled


@pytest.mark.parametrize(
    "env",
    [
        {"GCP_PROJECT": "demo-proj", **DEPLOYED},  # the original's failure: offline, silently
        {**STRIPE},
        {"VAI_MODEL": "gemini-3.5-flash", "GCP_PROJECT": "demo-proj", **DEPLOYED},
    ],
)
def test_with_any_cloud_setting_the_analyzer_must_be_chosen(tmp_path, env):
    message = problems(tmp_path, **env)
    assert "DIAGPRO_ANALYZER is not set" in message
    assert "`vertex`" in message and "`offline`" in message


def test_the_offline_analyzer_can_be_chosen_on_a_deployment(tmp_path):
    container = container_for(tmp_path, **STRIPE, DIAGPRO_ANALYZER="offline")
    assert type(container.analyzer()).__name__ == "OfflineAnalyzer"


def test_an_unknown_analyzer_is_named(tmp_path):
    assert "DIAGPRO_ANALYZER='gemini' must be offline or vertex" in problems(
        tmp_path, DIAGPRO_ANALYZER="gemini"
    )


def test_a_deployment_needs_its_public_address_and_its_api_keys(tmp_path):
    message = problems(tmp_path, GCP_PROJECT="demo-proj", DIAGPRO_ANALYZER="offline")
    assert "DIAGPRO_PUBLIC_BASE_URL is required once a cloud setting is given" in message
    assert "DIAGPRO_API_KEYS is required once a cloud setting is given" in message
    given = settings(tmp_path, GCP_PROJECT="demo-proj", DIAGPRO_ANALYZER="offline", **DEPLOYED)
    # Taken from the environment: no key is made for this instance.
    assert given.api_keys == (DEPLOYED["DIAGPRO_API_KEYS"],)
    assert given.api_key_source == "DIAGPRO_API_KEYS"
    assert not (tmp_path / "secrets.json").exists()


def test_port_is_read_as_a_tcp_port(tmp_path):
    assert settings(tmp_path).port == 0
    assert settings(tmp_path, PORT="8080").port == 8080
    assert "PORT='http' is not a number" in problems(tmp_path, PORT="http")
    assert "PORT='70000' must be a TCP port, 1-65535" in problems(tmp_path, PORT="70000")
