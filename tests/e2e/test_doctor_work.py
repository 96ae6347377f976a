"""``diagpro doctor``'s checks of where paid work runs: the Firestore claim query (run for real)
and the push subscription (on the Pub/Sub emulator, which keeps push configs and OIDC settings).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1
from google.cloud.firestore_v1.query import Query

from tests.e2e.test_doctor import checks_for, named
from tests.emulators import firestore_project

pytestmark = pytest.mark.emulator

BASE_URL = "https://diagpro.example"
PUSHER = "diagpro-push@demo-proj.iam.gserviceaccount.com"
AUDIENCE = "https://diagpro.example/tasks/jobs"
# What any cloud configuration must say besides (part B of issue 9).
CLOUD = {
    "DIAGPRO_ANALYZER": "offline",
    "DIAGPRO_EMAIL_SENDER": "outbox",  # a deployment chooses
    "DIAGPRO_API_KEYS": "dpk_doctor_work_0123456789",
    "DIAGPRO_PUBLIC_BASE_URL": BASE_URL,
}
# What Firestore answers a query whose composite index is missing.
NO_INDEX = (
    "The query requires an index. You can create it here: "
    "https://console.firebase.google.com/v1/r/project/demo/firestore/indexes?create_composite=x"
)


@pytest.fixture
def firestore_env(tmp_path: Path, firestore_emulator: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator)
    return {
        "DIAGPRO_DATA_DIR": str(tmp_path / "var"),
        "GCP_PROJECT": firestore_project(),
        "DIAGPRO_STORE": "firestore",
        "FIRESTORE_EMULATOR_HOST": firestore_emulator,
        **CLOUD,
    }


def test_the_claim_query_runs_against_firestore(firestore_env: dict[str, str]) -> None:
    check = named(checks_for(firestore_env), "claim query")
    assert check.ok, check


def test_the_erasure_query_runs_against_firestore(firestore_env: dict[str, str]) -> None:
    check = named(checks_for(firestore_env), "erasure query")
    assert check.ok, check


def test_the_orders_query_runs_against_firestore(firestore_env: dict[str, str]) -> None:
    check = named(checks_for(firestore_env), "orders query")
    assert check.ok, check


def test_a_missing_index_is_a_blocker_with_the_command_that_creates_it(
    firestore_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator never enforces indexes: the missing index is Firestore's real answer, raised
    # where the SDK would raise it.
    def no_index(self: Query, *args: object, **kwargs: object) -> Iterator[Any]:
        raise api_exceptions.FailedPrecondition(NO_INDEX)

    monkeypatch.setattr(Query, "stream", no_index)

    checks = checks_for(firestore_env)

    check = named(checks, "claim query")
    assert check.blocks and "requires an index" in check.detail
    project = firestore_env["GCP_PROJECT"]
    assert check.fix.startswith(
        f"gcloud firestore indexes composite create --project={project} --database='(default)' "
        "--collection-group=jobs --query-scope=collection "
        "--field-config=field-path=state,order=ascending "
        "--field-config=field-path=due_at,order=ascending "
        "--field-config=field-path=arrived,order=ascending"
    )
    assert "deploy/firestore.indexes.json" in check.fix
    erasure = named(checks, "erasure query")
    assert erasure.blocks and "DIAGPRO_RETENTION_DAYS" in erasure.detail
    assert erasure.fix.startswith(
        f"gcloud firestore indexes composite create --project={project} --database='(default)' "
        "--collection-group=diagnosticSubmissions --query-scope=collection "
        "--field-config=field-path=erasable,order=ascending "
        "--field-config=field-path=updatedAt,order=ascending"
    )
    orders = named(checks, "orders query")
    assert not orders.ok and not orders.blocks  # only the operator's filtered list fails
    assert "diagpro orders --status" in orders.detail
    assert (
        "--field-config=field-path=status,order=ascending "
        "--field-config=field-path=updatedAt,order=descending"
    ) in orders.fix


class PushProject:
    def __init__(self, emulator: str) -> None:
        self.project = f"demo-{uuid.uuid4().hex[:12]}"
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.topic = self.publisher.topic_path(self.project, "jobs")
        self.subscription = self.subscriber.subscription_path(self.project, "jobs-push")
        self.publisher.create_topic(request={"name": self.topic})
        dead = self.publisher.topic_path(self.project, "jobs-dead")
        self.publisher.create_topic(request={"name": dead})

    def subscribe(self, **push_config: Any) -> None:
        self.subscriber.create_subscription(
            request={
                "name": self.subscription,
                "topic": self.topic,
                "push_config": push_config,
                "ack_deadline_seconds": 600,
                "dead_letter_policy": {
                    "dead_letter_topic": self.publisher.topic_path(self.project, "jobs-dead"),
                    "max_delivery_attempts": 10,
                },
            }
        )

    def env(self, tmp_path: Path, emulator: str) -> dict[str, str]:
        return {
            "DIAGPRO_DATA_DIR": str(tmp_path / "var"),
            "DIAGPRO_PUBLIC_BASE_URL": BASE_URL,
            "DIAGPRO_WORK_MODE": "push",
            "GCP_PROJECT": self.project,
            "PUBSUB_TOPIC": "jobs",
            "PUBSUB_SUBSCRIPTION": "jobs-push",
            "PUBSUB_EMULATOR_HOST": emulator,
            "DIAGPRO_PUSH_AUDIENCE": AUDIENCE,
            "DIAGPRO_PUSH_SERVICE_ACCOUNT": PUSHER,
            **CLOUD,
        }


@pytest.fixture
def push(pubsub_emulator: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[PushProject]:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator)
    project = PushProject(pubsub_emulator)
    yield project
    project.subscriber.close()
    project.publisher.transport.close()


def test_a_push_subscription_set_up_as_documented_passes(
    push: PushProject, pubsub_emulator: str, tmp_path: Path
) -> None:
    push.subscribe(
        push_endpoint=f"{BASE_URL}/tasks/jobs",
        oidc_token={"service_account_email": PUSHER, "audience": AUDIENCE},
    )

    checks = checks_for(push.env(tmp_path, pubsub_emulator))

    check = named(checks, "push subscription")
    assert check.ok, check
    assert not [c for c in checks if c.name.startswith("push ") and not c.ok]


def test_a_wrong_endpoint_and_token_settings_are_named_with_the_update_command(
    push: PushProject, pubsub_emulator: str, tmp_path: Path
) -> None:
    push.subscribe(
        push_endpoint="https://old.example/tasks/jobs",
        oidc_token={"service_account_email": "other@demo.iam.gserviceaccount.com"},
    )

    check = named(checks_for(push.env(tmp_path, pubsub_emulator)), "push subscription")

    assert check.blocks
    assert (
        "pushes to https://old.example/tasks/jobs, not https://diagpro.example/tasks/jobs"
        in check.detail
    )
    assert "other@demo.iam.gserviceaccount.com" in check.detail
    assert "audience is unset" in check.detail
    assert check.fix == (
        f"gcloud pubsub subscriptions update jobs-push --project={push.project} "
        f"--push-endpoint={BASE_URL}/tasks/jobs --push-auth-service-account={PUSHER} "
        f"--push-auth-token-audience={AUDIENCE}"
    )


def test_behind_a_gateway_the_push_goes_to_the_service_url_of_the_audience(
    push: PushProject, pubsub_emulator: str, tmp_path: Path
) -> None:
    """As the deploy kit sets it up: DIAGPRO_PUBLIC_BASE_URL is the gateway (which does not
    forward /tasks/*), the audience and the push endpoint are the Cloud Run URL."""
    service = "https://diagpro-abc-uc.a.run.app"
    push.subscribe(
        push_endpoint=f"{service}/tasks/jobs",
        oidc_token={"service_account_email": PUSHER, "audience": service},
    )
    env = {
        **push.env(tmp_path, pubsub_emulator),
        "DIAGPRO_PUBLIC_BASE_URL": "https://gw-abc.uc.gateway.dev",
        "DIAGPRO_PUSH_AUDIENCE": service,
    }

    check = named(checks_for(env), "push subscription")

    assert check.ok, check


def test_a_pull_subscription_in_push_mode_is_a_blocker(
    push: PushProject, pubsub_emulator: str, tmp_path: Path
) -> None:
    push.subscribe()  # no push config: a pull subscription

    check = named(checks_for(push.env(tmp_path, pubsub_emulator)), "push subscription")

    assert check.blocks and "none (a pull subscription)" in check.detail


def test_a_missing_push_subscription_gets_the_create_command(
    push: PushProject, pubsub_emulator: str, tmp_path: Path
) -> None:
    check = named(checks_for(push.env(tmp_path, pubsub_emulator)), "push subscription")

    assert check.blocks and "does not exist" in check.detail
    for part in (
        "gcloud pubsub subscriptions create jobs-push",
        "--topic=jobs",
        f"--push-endpoint={BASE_URL}/tasks/jobs",
        f"--push-auth-service-account={PUSHER}",
        f"--push-auth-token-audience={AUDIENCE}",
        "--ack-deadline=600",
        "--min-retry-delay=10s --max-retry-delay=600s",
        "--dead-letter-topic=jobs-dead --max-delivery-attempts=10",
    ):
        assert part in check.fix


def test_in_push_mode_the_pub_sub_check_never_suggests_a_pull_subscription(
    push: PushProject, pubsub_emulator: str, tmp_path: Path
) -> None:
    pubsub = named(checks_for(push.env(tmp_path, pubsub_emulator)), "pub/sub")

    assert pubsub.blocks and "does not exist" in pubsub.detail
    assert "--ack-deadline 60" not in pubsub.fix
    assert "push subscription check" in pubsub.fix
