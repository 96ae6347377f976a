"""deploy/service.yaml, the Cloud Run service: every variable it sets is a diagpro setting whose
value the settings accept, secrets come from Secret Manager, the customer's emails are sent (or
their absence chosen), and the resources fit a pushed job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from diagpro.config import load_settings
from diagpro.config.declarations import SETTINGS
from diagpro.config.kinds import KEYS, SECRET
from diagpro.container import Container
from diagpro.entrypoints.cloud_setup import Deployment, service_definition, service_env
from diagpro.entrypoints.cloud_setup_email import CustomerEmail
from diagpro.entrypoints.doctor.email_checks import email_sender

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "deploy" / "service.yaml").read_text(encoding="utf-8")

RELAY = CustomerEmail(sender_address="reports@shop.example.com", smtp_host="smtp.gmail.com")
DEPLOYMENT = Deployment(
    project="my-shop-123", region="us-central1", stripe_api_version="x", email=RELAY
)
NO_EMAIL = Deployment(
    project="my-shop-123",
    region="us-central1",
    stripe_api_version="x",
    email=CustomerEmail(no_email=True),
)
# What the setup script's shell fills in at deploy time.
SHELL = {
    "${SERVICE_URL}": "https://diagpro-123456789012.us-central1.run.app",
    "${PUBLIC_BASE_URL}": "https://diagpro-gateway-abc123.uc.gateway.dev",
    "${TAG}": "0123abc",
}


def _filled(deployment: Deployment = DEPLOYMENT) -> str:
    text = service_definition(TEMPLATE, deployment)
    for placeholder, value in SHELL.items():
        text = text.replace(placeholder, value)
    assert "${" not in text
    return text


def _spec() -> dict:
    return yaml.safe_load(_filled())


def _container() -> dict:
    return _spec()["spec"]["template"]["spec"]["containers"][0]


def test_every_variable_is_a_declared_setting():
    plain, secret = service_env(_filled())
    declared = {setting.env for setting in SETTINGS}
    unknown = sorted((set(plain) | set(secret)) - declared)
    assert not unknown, f"deploy/service.yaml sets {unknown}, which no setting declares"


# What Secret Manager holds once the setup ran.
SECRET_VALUES = {
    "STRIPE_SECRET_KEY": "sk_test_" + "a" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "b" * 24,
    "DIAGPRO_API_KEYS": "AIza" + "c" * 35,
    "DIAGPRO_LINK_SECRET": "d" * 32,
    "DIAGPRO_SMTP_PASSWORD": "an-app-password",
    "DIAGPRO_OPERATOR_KEYS": "e" * 43,
}


def _settings(deployment: Deployment = DEPLOYMENT):
    plain, secret = service_env(_filled(deployment))
    assert set(secret) <= set(SECRET_VALUES)
    # raises ConfigError naming every value it refuses
    return load_settings({**plain, **{name: SECRET_VALUES[name] for name in secret}})


def test_the_settings_accept_every_value():
    settings = _settings()
    assert settings.public_base_url == SHELL["${PUBLIC_BASE_URL}"]
    assert settings.operator_keys == (SECRET_VALUES["DIAGPRO_OPERATOR_KEYS"],)
    assert not settings.metrics_port.enabled  # no sidecar: nothing to serve the port to


def test_the_sidecar_services_settings_serve_the_metrics_port_on_loopback():
    sidecar = Deployment(
        project="my-shop-123",
        region="us-central1",
        stripe_api_version="x",
        email=RELAY,
        prometheus_sidecar=True,
    )
    template = (ROOT / "deploy" / sidecar.service_file).read_text(encoding="utf-8")
    text = service_definition(template, sidecar)
    for placeholder, value in SHELL.items():
        text = text.replace(placeholder, value)
    plain, secret = service_env(text)
    settings = load_settings({**plain, **{name: SECRET_VALUES[name] for name in secret}})
    assert settings.metrics_port.port == 9464 and not settings.metrics_port.needs_key


def test_the_service_sends_the_customers_emails_through_the_relay():
    email = _settings().email
    assert email.sender == "smtp"
    assert email.sender_address == "reports@shop.example.com"
    assert (email.smtp_host, email.smtp_port, email.smtp_security) == (
        "smtp.gmail.com",
        587,
        "starttls",
    )
    assert email.smtp_user == "reports@shop.example.com"  # Gmail's login is the address
    assert email.smtp_password == SECRET_VALUES["DIAGPRO_SMTP_PASSWORD"]


def test_a_deployment_without_email_chose_it_and_the_doctor_knows():
    plain, secret = service_env(_filled(NO_EMAIL))
    assert plain["DIAGPRO_EMAIL_SENDER"] == "outbox"
    # The service refuses DIAGPRO_SMTP_* beside the outbox; no secret that was never made.
    assert not {name for name in (*plain, *secret) if name.startswith("DIAGPRO_SMTP_")}
    assert "DIAGPRO_EMAIL_FROM" not in plain
    settings = _settings(NO_EMAIL)
    (check,) = email_sender(settings, Container())
    assert check.ok, check  # chosen: the doctor's job passes without the "unchosen" finding
    # Without the explicit choice, the same deployment is the one the doctor warns about.
    unchosen = {**plain, **{name: SECRET_VALUES[name] for name in secret}}
    del unchosen["DIAGPRO_EMAIL_SENDER"]
    (check,) = email_sender(load_settings(unchosen), Container())
    assert not check.ok
    assert "choose outbox explicitly" in check.fix


def test_every_secret_comes_from_secret_manager():
    plain, secret = service_env(_filled())
    secret_settings = {s.env for s in SETTINGS if s.kind in (SECRET, KEYS)}
    assert not secret_settings & set(plain), "a secret is written into the service definition"
    assert secret == {
        "STRIPE_SECRET_KEY": "diagpro-stripe-secret-key",
        "STRIPE_WEBHOOK_SECRET": "diagpro-stripe-webhook-secret",
        "DIAGPRO_API_KEYS": "diagpro-api-keys",
        "DIAGPRO_LINK_SECRET": "diagpro-link-secret",
        "DIAGPRO_SMTP_PASSWORD": "diagpro-smtp-password",
        "DIAGPRO_OPERATOR_KEYS": "diagpro-operator-keys",
    }
    # The secrets the setup creates (and lets the runtime account read) are these.
    assert {setting: name for name, setting in DEPLOYMENT.secrets.items()} == secret
    assert set(service_env(_filled(NO_EMAIL))[1].values()) == set(NO_EMAIL.secrets)
    for item in _container()["env"]:
        if "valueFrom" in item:
            assert item["valueFrom"]["secretKeyRef"]["key"] == "latest"


def test_the_service_runs_push_mode_on_the_cloud_adapters_in_production():
    plain, _ = service_env(_filled())
    assert plain["DIAGPRO_ENVIRONMENT"] == "production"
    assert plain["DIAGPRO_WORK_MODE"] == "push"
    assert plain["DIAGPRO_ANALYZER"] == "vertex"
    assert plain["VAI_MODEL"] == "gemini-3.5-flash"
    assert plain["DIAGPRO_STORE"] == "firestore"
    assert plain["DIAGPRO_TRUSTED_PROXIES"] == "2"  # Cloud Run's front end and the gateway
    assert plain["DIAGPRO_PUSH_AUDIENCE"] == SHELL["${SERVICE_URL}"]
    assert plain["DIAGPRO_PUSH_SERVICE_ACCOUNT"] == DEPLOYMENT.push_invoker
    assert plain["REPORT_SIGNER_EMAIL"] == DEPLOYMENT.runtime
    assert plain["REPORT_BUCKET"] == DEPLOYMENT.bucket_name
    assert plain["PUBSUB_TOPIC"] == DEPLOYMENT.topic
    assert plain["PUBSUB_SUBSCRIPTION"] == DEPLOYMENT.subscription


def _mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


def test_resources_fit_the_isolated_renderer_and_a_pushed_job():
    spec = _spec()["spec"]["template"]["spec"]
    container = _container()
    assert _mebibytes(container["resources"]["limits"]["memory"]) >= 2048
    assert spec["containerConcurrency"] >= 1
    # At least the push subscription's ack deadline (cloud_setup.ACK_DEADLINE_SECONDS).
    assert spec["timeoutSeconds"] >= 600
    assert spec["serviceAccountName"] == DEPLOYMENT.runtime
    assert container["ports"] == [{"name": "http1", "containerPort": 8080}]
    assert container["image"].endswith(":0123abc")


def test_the_service_is_private_behind_the_gateway():
    metadata = _spec()["metadata"]
    # "all" reaches the gateway; privacy is IAM: the setup never grants allUsers run.invoker.
    assert metadata["annotations"]["run.googleapis.com/ingress"] == "all"
    assert "allUsers" not in _filled()
    assert "run.googleapis.com/invoker-iam-disabled" not in _filled()


def test_a_placeholder_the_setup_does_not_know_is_refused():
    from diagpro.entrypoints.cloud_setup import CloudSetupError

    with pytest.raises(CloudSetupError, match=r"\$\{BUCKET_NAME\}"):
        service_definition(TEMPLATE.replace("${BUCKET}", "${BUCKET_NAME}"), DEPLOYMENT)
