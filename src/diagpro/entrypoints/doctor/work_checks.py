"""Checks of where paid work runs (``DIAGPRO_WORK_MODE``): the Firestore claim query and the
Pub/Sub push subscription.

- The claim query needs a composite index that the emulator never asks for; production answers
  FailedPrecondition without it, and every claim would fail while the webhook keeps answering
  200. So the doctor runs the very query a claim runs, and names the command creating the index.
- In push mode the push subscription must deliver to this service's ``/tasks/jobs`` with an
  OIDC token of ``DIAGPRO_PUSH_SERVICE_ACCOUNT`` for ``DIAGPRO_PUSH_AUDIENCE``: otherwise every
  push is refused (401) or goes elsewhere, and no paid report is made. The service's address is
  ``DIAGPRO_PUBLIC_BASE_URL`` when nothing stands in front of it, or, behind API Gateway (which
  does not forward ``/tasks/*``), the Cloud Run URL the deploy kit also uses as the audience.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from diagpro.config import Settings
from diagpro.container import Container
from diagpro.domain.submission import Status
from diagpro.entrypoints.doctor.findings import Check, Severity, short

ACK_DEADLINE_SECONDS = 600  # a job is worked inside the push request; Pub/Sub's maximum
MAX_DELIVERY_ATTEMPTS = 10


def claim_query(container: Container, settings: Settings, timeout: float) -> Check:
    """Run the query a claim runs (the Firestore job queue's ``due_query``, limit 1), once."""
    return _query_check(
        "claim query",
        "blocker",
        container.stored_jobs().due_query(datetime.now(UTC), 1),
        timeout,
        refused="Firestore refused the claim query, so no paid job could be claimed",
        fix=_index_command(container, settings, None),
        works="the due-jobs query runs (its index exists)",
    )


def erasure_query(container: Container, settings: Settings, timeout: float) -> Check:
    """Run the query the retention purge runs (``due_for_erasure``, limit 1), once. Without its
    index no order is ever erased: personal data would be kept past DIAGPRO_RETENTION_DAYS."""
    return _query_check(
        "erasure query",
        "blocker",
        container.submissions().erasure_query(datetime.now(UTC), 1),
        timeout,
        refused="Firestore refused the retention purge's query, so personal data would be kept "
        "past DIAGPRO_RETENTION_DAYS",
        fix=_index_command(container, settings, "diagnosticSubmissions"),
        works="the retention purge's query runs",
    )


def orders_query(container: Container, settings: Settings, timeout: float) -> Check:
    """Run the query ``diagpro orders --status`` runs (recent orders of one status, limit 1),
    once. Without its index only the operator's filtered list fails: a warning."""
    return _query_check(
        "orders query",
        "warning",
        container.submissions().recent_query(1, None, Status.PAID),
        timeout,
        refused="Firestore refused the operator's list of orders by status "
        "(`diagpro orders --status`)",
        fix=_index_command(container, settings, "diagnosticSubmissions"),
        works="the operator's orders-by-status query runs",
    )


def _query_check(
    name: str,
    severity: Severity,
    query: Any,
    timeout: float,
    *,
    refused: str,
    fix: str,
    works: str,
) -> Check:
    """Run ``query`` once, as the service would. FailedPrecondition is Firestore's answer to a
    query whose composite index is missing (https://firebase.google.com/docs/firestore/query-data/
    index-overview): the emulator never gives it, so only a real database can show it."""
    from google.api_core import exceptions as api_exceptions

    try:
        list(query.stream(retry=None, timeout=timeout))
    except api_exceptions.FailedPrecondition as exc:
        return Check(
            name,
            False,
            severity,
            f"{refused}: {short(exc)}",
            f"{fix} (or deploy deploy/firestore.indexes.json); the index builds in minutes",
        )
    except api_exceptions.GoogleAPIError as exc:
        return Check(
            name,
            False,
            severity,
            f"the {name} failed: {type(exc).__name__}: {short(exc)}",
            "see the firestore check",
        )
    return Check(name, True, severity, works)


def _index_command(container: Container, settings: Settings, collection: str | None) -> str:
    """The commands creating the composite indexes of ``collection``'s declared queries (of every
    collection for None)."""
    fs = settings.cloud.firestore
    return " && ".join(
        query.gcloud_create(fs.project, fs.database)
        for query in container.firestore_queries()
        if collection is None or query.collection == collection
    )


def _create_command(settings: Settings, endpoint: str) -> str:
    ps, work = settings.cloud.pubsub, settings.work
    return (
        f"gcloud pubsub subscriptions create {ps.subscription} --project={ps.project} "
        f"--topic={ps.topic} --push-endpoint={endpoint} "
        f"--push-auth-service-account={work.push_service_account or 'SA_EMAIL'} "
        f"--push-auth-token-audience={work.push_audience or 'AUDIENCE'} "
        f"--ack-deadline={ACK_DEADLINE_SECONDS} --min-retry-delay=10s --max-retry-delay=600s "
        f"--dead-letter-topic={ps.topic}-dead --max-delivery-attempts={MAX_DELIVERY_ATTEMPTS}"
    )


def push_endpoints(settings: Settings) -> list[str]:
    """Where the push subscription may deliver, the preferred one first: the service's URL when
    the audience is one (the deploy kit's choice), then the public base URL."""
    audience = urlparse(settings.work.push_audience)
    found = []
    if audience.scheme in ("http", "https") and audience.netloc:
        found.append(f"{audience.scheme}://{audience.netloc}/tasks/jobs")
    found.append(f"{settings.public_base_url}/tasks/jobs")
    return list(dict.fromkeys(found))


def push_subscription(settings: Settings, timeout: float) -> list[Check]:
    """The push subscription exists and pushes, with the right OIDC token, to /tasks/jobs."""
    from google.api_core import exceptions as api_exceptions
    from google.cloud import pubsub_v1

    ps, work = settings.cloud.pubsub, settings.work
    endpoints = push_endpoints(settings)
    endpoint = endpoints[0]
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(ps.project, ps.subscription)
    try:
        found: Any = subscriber.get_subscription(request={"subscription": path}, timeout=timeout)
    except api_exceptions.NotFound:
        return [
            Check(
                "push subscription",
                False,
                "blocker",
                f"subscription {ps.subscription} does not exist in {ps.project}",
                _create_command(settings, endpoint),
            )
        ]
    except api_exceptions.GoogleAPIError as exc:
        return [
            Check(
                "push subscription",
                False,
                "blocker",
                f"could not read subscription {ps.subscription}: {type(exc).__name__}: "
                f"{short(exc)}",
                "grant roles/pubsub.viewer to the identity running the doctor; check "
                "PUBSUB_SUBSCRIPTION and GCP_PROJECT",
            )
        ]
    finally:
        subscriber.close()
    push = found.push_config
    oidc = push.oidc_token
    update = f"gcloud pubsub subscriptions update {ps.subscription} --project={ps.project}"
    problems = []
    fixes = []
    if push.push_endpoint not in endpoints:
        shown = push.push_endpoint or "none (a pull subscription)"
        problems.append(f"it pushes to {shown}, not {' or '.join(endpoints)}")
        fixes.append(f"--push-endpoint={endpoint}")
    if oidc.service_account_email != work.push_service_account:
        problems.append(
            f"its OIDC service account is {oidc.service_account_email or 'unset'!s}, not "
            f"DIAGPRO_PUSH_SERVICE_ACCOUNT={work.push_service_account or 'unset'}"
        )
        fixes.append(f"--push-auth-service-account={work.push_service_account or 'SA_EMAIL'}")
    if oidc.audience != work.push_audience:
        problems.append(
            f"its OIDC audience is {oidc.audience or 'unset'}, not "
            f"DIAGPRO_PUSH_AUDIENCE={work.push_audience or 'unset'}"
        )
        fixes.append(f"--push-auth-token-audience={work.push_audience or 'AUDIENCE'}")
    checks = []
    if problems:
        checks.append(
            Check(
                "push subscription",
                False,
                "blocker",
                f"{ps.subscription}: " + "; ".join(problems) + ": no pushed job would be worked",
                f"{update} " + " ".join(fixes),
            )
        )
    else:
        checks.append(
            Check(
                "push subscription",
                True,
                "blocker",
                f"{ps.subscription} pushes to {push.push_endpoint} with an OIDC token of "
                f"{work.push_service_account or '(none: emulator)'}",
            )
        )
    if found.ack_deadline_seconds < ACK_DEADLINE_SECONDS:
        checks.append(
            Check(
                "push ack deadline",
                False,
                "warning",
                f"{ps.subscription} waits {found.ack_deadline_seconds} s for an answer, but a job "
                "runs inside the push request: a slow report is delivered again while it runs",
                f"{update} --ack-deadline={ACK_DEADLINE_SECONDS}",
            )
        )
    if not found.dead_letter_policy.dead_letter_topic:
        checks.append(
            Check(
                "push dead letters",
                False,
                "warning",
                f"{ps.subscription} has no dead-letter topic: a message that never succeeds is "
                "retried until it expires, and nobody sees it",
                f"{update} --dead-letter-topic={ps.topic}-dead "
                f"--max-delivery-attempts={MAX_DELIVERY_ATTEMPTS}",
            )
        )
    return checks
