"""``diagpro doctor``'s outward checks: the Stripe webhook endpoint registered for the public
URL, the identity it runs as, a disabled Storage or Pub/Sub API, and ``--gateway-url`` against a
real ``diagpro serve`` standing in for a well-configured gateway and against gateways that
misbehave. Each finding is checked for its severity and its fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe

from diagpro.config import load_settings, with_local_secrets
from diagpro.entrypoints.doctor import Check, diagnose, exit_code
from diagpro.entrypoints.doctor.gateway_checks import gateway_checks
from diagpro.entrypoints.doctor.identity import identity
from diagpro.entrypoints.doctor.stripe_webhook import HANDLED
from tests.e2e.conftest import run
from tests.e2e.test_doctor import SECRET_KEY, WEBHOOK_SECRET, checks_for, named, output
from tests.server import clean_env, free_port, start_serve
from tests.signing import write_key_file
from tests.stubs.disabled_api import DisabledPubSub, DisabledStorage
from tests.stubs.local_http import LocalHttpStub, StubRequestHandler
from tests.stubs.stripe_stub import StripeStub

PUBLIC = "http://diagpro.example.test"
WEBHOOK_URL = f"{PUBLIC}/webhook/stripe"
API_KEY = "dpk_DoctorGatewayKey000000000000wxyz"
PINNED = stripe.api_version


@pytest.fixture
def base(tmp_path: Path) -> dict[str, str]:
    # A public URL and a key, as a cloud deployment must have (and the gateway checks use).
    return {
        "DIAGPRO_DATA_DIR": str(tmp_path / "var"),
        "DIAGPRO_PUBLIC_BASE_URL": PUBLIC,
        "DIAGPRO_API_KEYS": API_KEY,
        "DIAGPRO_ANALYZER": "offline",
        "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
    }


@pytest.fixture
def stripe_env(base: dict[str, str], stripe_stub: StripeStub) -> dict[str, str]:
    return {
        **base,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DIAGPRO_STRIPE_API_BASE": stripe_stub.api_base,
    }


def webhook_findings(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.name.startswith("stripe webhook ") and "secret" not in c.name]


# -- the Stripe webhook endpoint ------------------------------------------------------------------


def test_a_right_endpoint_is_green(stripe_env: dict[str, str], stripe_stub: StripeStub) -> None:
    stripe_stub.add_webhook_endpoint("https://elsewhere.example/hook", ["*"])
    stripe_stub.add_webhook_endpoint(WEBHOOK_URL, list(HANDLED), api_version=PINNED)

    checks = checks_for(stripe_env)

    found = webhook_findings(checks)
    assert [c.name for c in found] == [
        "stripe webhook endpoint",
        "stripe webhook events",
        "stripe webhook version",
    ]
    assert all(c.ok for c in found), output(checks)
    assert "enabled" in found[0].detail and PINNED in found[2].detail
    assert exit_code(checks) == 0, output(checks)
    # the listing carried the pinned version, like every other Stripe call
    [listing] = stripe_stub.calls("GET", "/v1/webhook_endpoints")
    assert listing.header("Stripe-Version") == PINNED


def test_no_endpoint_for_the_public_url_is_a_blocker_with_the_command_to_create_it(
    stripe_env: dict[str, str], stripe_stub: StripeStub
) -> None:
    stripe_stub.add_webhook_endpoint("https://old.example.test/webhook/stripe", ["*"])

    checks = checks_for(stripe_env)

    finding = named(checks, "stripe webhook endpoint")
    assert finding.blocks and WEBHOOK_URL in finding.detail
    assert "https://old.example.test/webhook/stripe" in finding.detail
    assert f"-d url={WEBHOOK_URL}" in finding.fix and f"api_version={PINNED}" in finding.fix
    for event in HANDLED:
        assert f"enabled_events[]={event}" in finding.fix
    assert "STRIPE_WEBHOOK_SECRET" in finding.fix
    assert exit_code(checks) == 1


def test_a_disabled_endpoint_is_a_blocker(
    stripe_env: dict[str, str], stripe_stub: StripeStub
) -> None:
    endpoint = stripe_stub.add_webhook_endpoint(
        WEBHOOK_URL, list(HANDLED), status="disabled", api_version=PINNED
    )

    checks = checks_for(stripe_env)

    finding = named(checks, "stripe webhook endpoint")
    assert finding.blocks and "disabled" in finding.detail
    assert f"webhook_endpoints/{endpoint['id']}" in finding.fix and "disabled=false" in finding.fix


def test_an_endpoint_without_the_completed_event_is_a_blocker(
    stripe_env: dict[str, str], stripe_stub: StripeStub
) -> None:
    stripe_stub.add_webhook_endpoint(WEBHOOK_URL, ["charge.refunded"], api_version=PINNED)

    finding = named(checks_for(stripe_env), "stripe webhook events")

    assert finding.blocks and "checkout.session.completed" in finding.detail
    assert "enabled_events[]=checkout.session.completed" in finding.fix
    assert "enabled_events[]=charge.refunded" in finding.fix  # the list replaces the old one


def test_an_endpoint_missing_only_secondary_events_warns(
    stripe_env: dict[str, str], stripe_stub: StripeStub
) -> None:
    stripe_stub.add_webhook_endpoint(
        WEBHOOK_URL, ["checkout.session.completed"], api_version=PINNED
    )

    checks = checks_for(stripe_env)

    finding = named(checks, "stripe webhook events")
    assert not finding.ok and finding.severity == "warning"
    assert "charge.refunded" in finding.detail and "checkout.session.expired" in finding.detail
    assert exit_code(checks) == 0


def test_every_event_is_enough(stripe_env: dict[str, str], stripe_stub: StripeStub) -> None:
    stripe_stub.add_webhook_endpoint(WEBHOOK_URL, ["*"], api_version=PINNED)
    assert named(checks_for(stripe_env), "stripe webhook events").ok


@pytest.mark.parametrize("version", ["2024-06-20", None], ids=["older", "account-default"])
def test_an_endpoint_in_another_api_version_warns_with_the_way_to_replace_it(
    stripe_env: dict[str, str], stripe_stub: StripeStub, version: str | None
) -> None:
    endpoint = stripe_stub.add_webhook_endpoint(WEBHOOK_URL, list(HANDLED), api_version=version)

    checks = checks_for(stripe_env)

    finding = named(checks, "stripe webhook version")
    assert not finding.ok and finding.severity == "warning"
    assert (version or "the account's default version") in finding.detail
    assert PINNED in finding.detail
    assert "cannot be changed" in finding.fix and f"api_version={PINNED}" in finding.fix
    assert f"delete {endpoint['id']}" in finding.fix
    assert exit_code(checks) == 0


def test_two_enabled_endpoints_for_the_url_warn(
    stripe_env: dict[str, str], stripe_stub: StripeStub
) -> None:
    stripe_stub.add_webhook_endpoint(WEBHOOK_URL, ["*"], api_version=PINNED)
    stripe_stub.add_webhook_endpoint(WEBHOOK_URL + "/", ["*"], api_version=PINNED)

    checks = checks_for(stripe_env)

    twice = [c for c in webhook_findings(checks) if "2 enabled endpoints" in c.detail]
    assert len(twice) == 1 and twice[0].severity == "warning"


def test_a_local_public_url_is_not_checked(
    stripe_env: dict[str, str], stripe_stub: StripeStub
) -> None:
    checks = checks_for({**stripe_env, "DIAGPRO_PUBLIC_BASE_URL": "http://127.0.0.1:8000"})

    finding = named(checks, "stripe webhook endpoint")
    assert finding.ok and finding.severity == "info"
    assert "stripe listen --forward-to http://127.0.0.1:8000/webhook/stripe" in finding.detail
    assert stripe_stub.calls("GET", "/v1/webhook_endpoints") == []


def test_a_key_that_may_not_list_endpoints_warns(
    stripe_env: dict[str, str], stripe_stub: StripeStub
) -> None:
    # The first call (the key check) succeeds; the listing is refused, as for a restricted key.
    original = stripe_stub._route

    def refuse_listing(request: Any, params: dict[str, Any]) -> tuple[int, bytes]:
        if request.path == "/v1/webhook_endpoints":
            from tests.stubs.stripe_stub import StubError

            raise StubError(403, "This API call cannot be made with a restricted key.")
        return original(request, params)

    stripe_stub._route = refuse_listing  # type: ignore[method-assign]
    checks = checks_for(stripe_env)

    finding = named(checks, "stripe webhook endpoint")
    assert not finding.ok and finding.severity == "warning"
    assert "may not do this" in finding.detail and "Webhook Endpoints" in finding.fix


# -- identity -------------------------------------------------------------------------------------


def _google_settings(tmp_path: Path) -> Any:
    env = {
        "DIAGPRO_DATA_DIR": str(tmp_path / "var"),
        "GCP_PROJECT": "demo-proj",
        "DIAGPRO_STORE": "firestore",
        "DIAGPRO_PUBLIC_BASE_URL": PUBLIC,
        "DIAGPRO_API_KEYS": API_KEY,
        "DIAGPRO_ANALYZER": "offline",
        "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
    }
    return with_local_secrets(load_settings(env))


def test_identity_is_unknown_offline(base: dict[str, str]) -> None:
    checks = checks_for(base)
    finding = named(checks, "identity")
    assert finding.ok and finding.severity == "info"
    assert finding.detail.startswith("unknown")


def test_identity_names_the_service_account_of_a_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = "diagpro-runtime@demo-proj.iam.gserviceaccount.com"
    key = write_key_file(tmp_path / "sa.json", "demo-proj", email)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))

    finding = identity(_google_settings(tmp_path))

    assert finding.ok and finding.severity == "info"
    assert finding.detail == f"service account {email} (key file), project demo-proj"


def test_identity_names_the_user_of_adc_user_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adc = tmp_path / "application_default_credentials.json"
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.test",
                "client_secret": "not-a-secret",
                "refresh_token": "1//refresh-token-not-used",
                "account": "dev@example.com",
                "quota_project_id": "demo-proj",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))

    finding = identity(_google_settings(tmp_path))

    assert finding.ok and "user dev@example.com" in finding.detail


def test_identity_without_credentials_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))

    finding = identity(_google_settings(tmp_path))

    assert finding.ok and finding.detail.startswith("unknown: no Application Default")


# -- a disabled API -------------------------------------------------------------------------------


def test_a_disabled_storage_api_says_to_enable_it(
    base: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with DisabledStorage() as disabled:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", disabled.url)
        key = write_key_file(
            tmp_path / "k.json", "demo-proj", "s@demo-proj.iam.gserviceaccount.com"
        )
        checks = checks_for(
            {
                **base,
                "GCP_PROJECT": "demo-proj",
                "REPORT_BUCKET": "diagpro-reports",
                "REPORT_SIGNING_KEY_FILE": str(key),
            }
        )
        assert disabled.requests  # the official client did call it

    finding = named(checks, "bucket")
    assert finding.blocks and "disabled" in finding.detail
    assert finding.fix.startswith(
        "gcloud services enable storage.googleapis.com --project demo-proj"
    )


def test_a_disabled_pubsub_api_says_to_enable_it(
    base: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with DisabledPubSub() as disabled:
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", disabled.host)
        checks = checks_for(
            {
                **base,
                "GCP_PROJECT": "demo-proj",
                "PUBSUB_TOPIC": "jobs",
                "PUBSUB_SUBSCRIPTION": "workers",
            }
        )
        assert disabled.methods == ["/google.pubsub.v1.Publisher/GetTopic"]

    finding = named(checks, "pub/sub")
    assert finding.blocks and "disabled" in finding.detail
    assert finding.fix.startswith(
        "gcloud services enable pubsub.googleapis.com --project demo-proj"
    )


def test_a_plain_permission_denied_still_names_the_roles(
    base: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a disabled API gets the enable command; a missing role keeps its own fix."""
    from google.api_core import exceptions as api_exceptions
    from google.cloud import pubsub_v1

    def refused(self: object, *args: object, **kwargs: object) -> None:
        raise api_exceptions.PermissionDenied("User not authorized to perform this action.")

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    monkeypatch.setattr(pubsub_v1.PublisherClient, "get_topic", refused)
    checks = checks_for(
        {
            **base,
            "GCP_PROJECT": "demo-proj",
            "PUBSUB_TOPIC": "jobs",
            "PUBSUB_SUBSCRIPTION": "workers",
        }
    )

    finding = named(checks, "pub/sub")
    assert finding.blocks and "roles/pubsub.publisher" in finding.fix
    assert "services enable" not in finding.fix


# -- --gateway-url --------------------------------------------------------------------------------


class FakeGateway(LocalHttpStub):
    """A gateway that answers every request with ``answer(method, path, headers)``."""

    methods = ("POST",)

    def __init__(self, answer: Callable[[str, str, dict[str, str]], tuple[int, dict[str, Any]]]):
        self.seen: list[tuple[str, str, str | None]] = []
        self._answer = answer

    def respond(self, request: StubRequestHandler) -> None:
        request.read_body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.seen.append((request.command, request.path, headers.get("x-api-key")))
        status, body = self._answer(request.command, request.path, headers)
        request.send_json(status, body)


GOOGLE_401 = {
    "code": 401,
    "message": "UNAUTHENTICATED: Method doesn't allow unregistered callers (callers without "
    "established identity). Please use API Key or other form of API consumer identity to call "
    "this API.",
}


def _gateway_findings(url: str, tmp_path: Path) -> list[Check]:
    settings = with_local_secrets(
        load_settings({"DIAGPRO_DATA_DIR": str(tmp_path / "var"), "DIAGPRO_API_KEYS": API_KEY})
    )
    return gateway_checks(url, settings, timeout=3)


def test_a_gateway_that_lets_requests_without_a_key_through_is_a_blocker(tmp_path: Path) -> None:
    with FakeGateway(lambda method, path, headers: (200, {"status": "pending"})) as gateway:
        checks = _gateway_findings(gateway.url, tmp_path)

    without = named(checks, "gateway without key")
    assert without.blocks and "without an API key through" in without.detail
    assert "diagpro gateway-spec" in without.fix
    webhook = named(checks, "gateway webhook")
    assert webhook.blocks and "INVALID_SIGNATURE" in webhook.detail
    assert gateway.seen[1] == ("POST", "/analysisStatus", API_KEY)
    assert exit_code(checks) == 1


def test_a_gateway_that_demands_a_key_from_stripe_is_a_blocker(tmp_path: Path) -> None:
    with FakeGateway(lambda method, path, headers: (401, GOOGLE_401)) as gateway:
        checks = _gateway_findings(gateway.url, tmp_path)

    without = named(checks, "gateway without key")
    assert without.ok and "refused by the gateway" in without.detail
    with_key = named(checks, "gateway with key")
    assert with_key.blocks and "refused by the gateway" in with_key.detail
    assert "API key" in with_key.fix and "DIAGPRO_API_KEYS" in with_key.fix
    webhook = named(checks, "gateway webhook")
    assert webhook.blocks and "Stripe sends no API key" in webhook.detail
    assert "security: []" in webhook.fix


def test_a_gateway_that_cannot_call_the_service_names_the_invoker_role(tmp_path: Path) -> None:
    def answer(method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if "x-api-key" in headers or path == "/webhook/stripe":
            return 503, {"code": 503, "message": "upstream connect error"}
        return 401, GOOGLE_401

    with FakeGateway(answer) as gateway:
        checks = _gateway_findings(gateway.url, tmp_path)

    for name in ("gateway with key", "gateway webhook"):
        finding = named(checks, name)
        assert finding.blocks and "could not call the service" in finding.detail
        assert "roles/run.invoker" in finding.fix


def test_an_unreachable_gateway_is_a_blocker(tmp_path: Path) -> None:
    checks = _gateway_findings(f"http://127.0.0.1:{free_port()}", tmp_path)
    assert [c.blocks for c in checks] == [True, True, True]
    assert all("did not answer" in c.detail for c in checks)


@pytest.mark.process
def test_the_command_checks_a_real_service_standing_in_for_the_gateway(tmp_path: Path) -> None:
    """``diagpro serve`` guards exactly what a right gateway guards: doctor is green on it."""
    served = {**clean_env(tmp_path / "served"), "DIAGPRO_API_KEYS": API_KEY}
    server = start_serve(served, tmp_path)
    try:
        doctor_env = {**clean_env(tmp_path / "doctor"), "DIAGPRO_API_KEYS": API_KEY}
        result = run(["doctor", "--json", "--gateway-url", server.url], doctor_env, tmp_path)
        wrong_key = diagnose(
            {"DIAGPRO_DATA_DIR": str(tmp_path / "other"), "DIAGPRO_API_KEYS": "dpk_" + "n" * 30},
            gateway_url=server.url,
        )
    finally:
        server.kill()

    report = json.loads(result.stdout)
    found = {c["name"]: c for c in report["checks"]}
    for name in ("gateway without key", "gateway with key", "gateway webhook"):
        assert found[name]["ok"], result.stdout
    assert "refused by the service" in found["gateway without key"]["detail"]
    assert "400 INVALID_SIGNATURE" in found["gateway webhook"]["detail"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr
    # A key the service does not know: refused by the service itself.
    refused = named(wrong_key, "gateway with key")
    assert refused.blocks and "refused by the service" in refused.detail


@pytest.mark.process
def test_identity_on_cloud_run_names_the_attached_service_account(
    tmp_path: Path, firestore_emulator: str
) -> None:
    """The metadata server path, as on Cloud Run: google.auth.default() finds it, and doctor
    asks it for the account's email (the credentials only say "default" until then)."""
    from tests.emulators import firestore_project
    from tests.stubs.metadata_stub import MetadataStub

    email = "diagpro-runtime@demo-proj.iam.gserviceaccount.com"
    (tmp_path / "gcloud").mkdir()
    env = {
        k: v
        for k, v in clean_env(tmp_path / "var").items()
        if k not in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
    }
    with MetadataStub(email, "demo-proj") as metadata:
        result = run(
            ["doctor", "--json"],
            {
                **env,
                "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),  # no gcloud ADC file to find first
                "GCE_METADATA_HOST": metadata.host,
                "GCE_METADATA_IP": metadata.host,
                "GCP_PROJECT": firestore_project(),
                "DIAGPRO_STORE": "firestore",
                "FIRESTORE_EMULATOR_HOST": firestore_emulator,
                "DIAGPRO_PUBLIC_BASE_URL": PUBLIC,
                "DIAGPRO_API_KEYS": API_KEY,
                "DIAGPRO_ANALYZER": "offline",
                "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
            },
            tmp_path,
        )

    report = json.loads(result.stdout)
    found = {c["name"]: c for c in report["checks"]}
    assert found["identity"]["detail"] == (
        f"service account {email} (metadata server), project demo-proj"
    ), result.stdout
    assert "/computeMetadata/v1/instance/service-accounts/default/" in metadata.paths
    assert found["firestore"]["ok"], result.stdout
