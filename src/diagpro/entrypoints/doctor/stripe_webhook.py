"""Is the Stripe webhook endpoint for this deployment there, on, and speaking our version?

A payment is applied when Stripe delivers ``checkout.session.completed`` to
``<DIAGPRO_PUBLIC_BASE_URL>/webhook/stripe``. An endpoint that is missing, disabled (Stripe
disables one that failed for days: https://docs.stripe.com/webhooks#disable), or not subscribed
to that event leaves paid customers waiting, noticed by no test. The endpoint's ``api_version``
is the version every event is rendered in; it cannot be changed after creation
(https://docs.stripe.com/webhooks/versioning), so the fix for a wrong one is a new endpoint.
"""

from __future__ import annotations

from typing import Any

from diagpro.config import Settings
from diagpro.container import Container
from diagpro.domain.payment import EventKind
from diagpro.entrypoints.doctor.cloud_checks import is_local
from diagpro.entrypoints.doctor.findings import Check, short

NAME = "stripe webhook endpoint"
WEBHOOK_PATH = "/webhook/stripe"
# Without it a payment is only applied when the customer's browser comes back to /success.
ESSENTIAL = EventKind.COMPLETED.value
HANDLED = tuple(kind.value for kind in EventKind if kind is not EventKind.OTHER)
DOCS = "https://docs.stripe.com/api/webhook_endpoints/create"


def webhook_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + WEBHOOK_PATH


def create_command(url: str, api_version: str) -> str:
    events = " ".join(f'-d "enabled_events[]={event}"' for event in HANDLED)
    return (
        f'curl https://api.stripe.com/v1/webhook_endpoints -u "$STRIPE_SECRET_KEY:" '
        f"-d url={url} {events} -d api_version={api_version} (or Stripe Dashboard > Developers "
        f"> Webhooks > Add destination, same URL, events and API version; {DOCS}); then set "
        "STRIPE_WEBHOOK_SECRET to its signing secret"
    )


def webhook_endpoint_checks(container: Container, settings: Settings) -> list[Check]:
    """Findings about the endpoint registered for this deployment's public URL."""
    from diagpro.domain.errors import PaymentProviderError

    url = webhook_url(settings)
    version = settings.cloud.stripe.api_version
    if is_local(settings.public_base_url):
        return [
            Check(
                NAME,
                True,
                "info",
                f"not checked: {url} is local, and Stripe only delivers to a public address "
                f"(in development: stripe listen --forward-to {url})",
            )
        ]
    gateway: Any = container.gateway()
    try:
        endpoints = gateway.webhook_endpoints()
    except PaymentProviderError as exc:
        return [
            Check(
                NAME,
                False,
                "warning",
                f"could not list the webhook endpoints: {short(exc)}",
                "give the key read access to Webhook Endpoints, or check Stripe > Developers > "
                f"Webhooks by hand: {url}, enabled, events {', '.join(HANDLED)}, API version "
                f"{version}",
            )
        ]
    ours = [e for e in endpoints if e.url.rstrip("/") == url]
    if not ours:
        others = ", ".join(sorted(e.url for e in endpoints)) or "none"
        return [
            Check(
                NAME,
                False,
                "blocker",
                f"no Stripe webhook endpoint delivers to {url} (the account's endpoints: "
                f"{others}): no payment would be applied until the customer comes back",
                create_command(url, version),
            )
        ]
    enabled = [e for e in ours if e.status == "enabled"]
    endpoint = enabled[0] if enabled else ours[0]
    checks = [_enabled(endpoint), *_events(endpoint), _version(endpoint, url, version)]
    if len(enabled) > 1:
        checks.append(
            Check(
                NAME,
                False,
                "warning",
                f"{len(enabled)} enabled endpoints deliver to {url} "
                f"({', '.join(e.id for e in enabled)}): each event comes twice, and only one "
                "endpoint's signing secret is STRIPE_WEBHOOK_SECRET, so the other's deliveries "
                "are refused until Stripe disables it",
                "disable or delete all but the one whose signing secret is STRIPE_WEBHOOK_SECRET",
            )
        )
    return checks


def _enabled(endpoint: Any) -> Check:
    if endpoint.status == "enabled":
        return Check(NAME, True, "blocker", f"{endpoint.id} delivers to {endpoint.url}, enabled")
    return Check(
        NAME,
        False,
        "blocker",
        f"{endpoint.id} for {endpoint.url} is {endpoint.status}: Stripe delivers no event to it "
        "(it disables an endpoint that failed for days)",
        "fix what made deliveries fail, then enable it: Stripe > Developers > Webhooks > "
        f"{endpoint.id} > Enable, or curl https://api.stripe.com/v1/webhook_endpoints/"
        f'{endpoint.id} -u "$STRIPE_SECRET_KEY:" -d disabled=false',
    )


def _events(endpoint: Any) -> list[Check]:
    subscribed = set(endpoint.enabled_events)
    if "*" in subscribed:
        return [Check("stripe webhook events", True, "blocker", "every event (*)")]
    missing = [event for event in HANDLED if event not in subscribed]
    if not missing:
        return [Check("stripe webhook events", True, "blocker", ", ".join(HANDLED))]
    events = " ".join(f'-d "enabled_events[]={e}"' for e in sorted(subscribed | set(missing)))
    fix = (
        f"subscribe it to them: curl https://api.stripe.com/v1/webhook_endpoints/{endpoint.id} "
        f'-u "$STRIPE_SECRET_KEY:" {events} (the list replaces the old one), or Stripe > '
        f"Developers > Webhooks > {endpoint.id} > Edit"
    )
    if ESSENTIAL in missing:
        detail = (
            f"{endpoint.id} does not send {ESSENTIAL}: a payment is applied only when the "
            f"customer comes back to the success page (also missing: "
            f"{', '.join(m for m in missing if m != ESSENTIAL) or 'nothing else'})"
        )
        return [Check("stripe webhook events", False, "blocker", detail, fix)]
    detail = (
        f"{endpoint.id} does not send {', '.join(missing)}: delayed payments, expiries or "
        "refunds made in the Dashboard or disputes would not reach diagpro"
    )
    return [Check("stripe webhook events", False, "warning", detail, fix)]


def _version(endpoint: Any, url: str, version: str) -> Check:
    if endpoint.api_version == version:
        return Check("stripe webhook version", True, "blocker", f"API version {version}")
    shown = endpoint.api_version or "the account's default version"
    return Check(
        "stripe webhook version",
        False,
        "warning",
        f"{endpoint.id} renders events in {shown}, not STRIPE_API_VERSION {version}: they are "
        "still handled (diagpro reads fields every version shares) and each one logs a warning",
        "an endpoint's API version cannot be changed: create a new endpoint with "
        f"api_version={version} ({create_command(url, version)}), then delete {endpoint.id} "
        "(https://docs.stripe.com/webhooks/versioning)",
    )
