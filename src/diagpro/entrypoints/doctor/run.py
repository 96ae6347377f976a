"""Putting the checks together: the order a reader wants, the exit code, the command."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from diagpro.config import ConfigError, Settings, load_settings, with_local_secrets
from diagpro.config.declarations import PUBLIC_BASE_URL
from diagpro.config.values import Values
from diagpro.container import Container
from diagpro.entrypoints.doctor import email_checks, local_checks, vertex_checks, work_checks
from diagpro.entrypoints.doctor.cloud_checks import (
    bucket_probe,
    firestore_probe,
    pubsub_probe,
    stripe_api,
    stripe_key_checks,
)
from diagpro.entrypoints.doctor.findings import (
    Check,
    exit_code,
    guarded,
    print_report,
    scrub,
    to_json,
)
from diagpro.entrypoints.doctor.gateway_checks import gateway_checks
from diagpro.entrypoints.doctor.identity import identity
from diagpro.entrypoints.doctor.stripe_webhook import webhook_endpoint_checks

DEFAULT_TIMEOUT_SECONDS = 10.0


def run_checks(
    settings: Settings,
    container: Container,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    gateway_url: str | None = None,
) -> list[Check]:
    """Every check for a configuration that loads, in the order a reader wants them."""
    cloud = settings.cloud
    checks = [
        Check("configuration", True, "blocker", "loads"),
        local_checks.adapters_in_use(settings),
        local_checks.api_key_source(settings),
        local_checks.client_addresses(settings),
        local_checks.metrics_port(settings),
    ]
    checks += guarded("identity", lambda: identity(settings))
    checks += guarded("data folder", lambda: local_checks.data_folder(settings))
    checks += guarded("sqlite", lambda: local_checks.sqlite_store(container, settings))
    checks += guarded("pdf rendering", lambda: local_checks.pdf_rendering(container, settings))
    if cloud.stripe.enabled:
        shape = stripe_key_checks(
            cloud.stripe.secret_key, cloud.stripe.webhook_secret, settings.public_base_url
        )
        checks += shape
        if not any(c.blocks and c.name == "stripe key" for c in shape):
            checks += guarded("stripe api", lambda: stripe_api(container, settings))
            if not any(c.blocks and c.name == "stripe api" for c in checks):
                checks += guarded(
                    "stripe webhook endpoint", lambda: webhook_endpoint_checks(container, settings)
                )
    if cloud.firestore.enabled:
        store = guarded("firestore", lambda: firestore_probe(container, settings, timeout))
        checks += store
        if all(check.ok for check in store):
            checks += guarded(
                "claim query", lambda: work_checks.claim_query(container, settings, timeout)
            )
            checks += guarded(
                "erasure query", lambda: work_checks.erasure_query(container, settings, timeout)
            )
            checks += guarded(
                "orders query", lambda: work_checks.orders_query(container, settings, timeout)
            )
    if cloud.storage.enabled:
        checks += guarded("bucket", lambda: bucket_probe(container, settings, timeout))
    if cloud.pubsub.enabled:
        checks += guarded("pub/sub", lambda: pubsub_probe(settings, timeout))
    if settings.work.push:
        checks += guarded(
            "push subscription", lambda: work_checks.push_subscription(settings, timeout)
        )
    if cloud.vertex.enabled:
        checks += guarded("vertex model", lambda: vertex_checks.model_family(container, settings))
        checks += [vertex_checks.model_fallback(settings)]
        checks += guarded(
            "vertex ai", lambda: vertex_checks.vertex_probe(container, settings, timeout)
        )
    checks += guarded("email", lambda: email_checks.email_sender(settings, container))
    if gateway_url:
        checks += guarded("gateway", lambda: gateway_checks(gateway_url, settings, timeout))
    return scrub(checks, _secrets(settings))


def _secrets(settings: Settings) -> list[str]:
    return [
        settings.cloud.stripe.secret_key,
        settings.cloud.stripe.webhook_secret,
        settings.local_webhook_secret,
        settings.link_secret,
        settings.email.smtp_password,
        *settings.api_keys,
    ]


def diagnose(
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    gateway_url: str | None = None,
) -> list[Check]:
    """Load the configuration from ``env`` (the process environment by default) and check it."""
    env = os.environ if env is None else env
    try:
        settings = with_local_secrets(load_settings(env))
    except ConfigError as exc:
        checks = [
            Check(
                "configuration",
                False,
                "blocker",
                str(exc),
                "fix each setting named above; the service refuses to start until then",
            )
        ]
        key = env.get("STRIPE_SECRET_KEY", "").strip()
        secret = env.get("STRIPE_WEBHOOK_SECRET", "").strip()
        if key or secret:
            # As declared; the default when it is unset or is itself one of the problems.
            base = Values(env)[PUBLIC_BASE_URL]
            checks += stripe_key_checks(key, secret, base)
        return scrub(checks, [key, secret, *env.get("DIAGPRO_API_KEYS", "").split(",")])
    from dependency_injector import providers

    container = Container()
    container.settings.override(providers.Object(settings))
    return run_checks(settings, container, timeout=timeout, gateway_url=gateway_url)


def main(
    *, as_json: bool = False, out: TextIO | None = None, gateway_url: str | None = None
) -> int:
    checks = diagnose(gateway_url=gateway_url)
    out = out or sys.stdout
    if as_json:
        out.write(to_json(checks) + "\n")
        out.flush()
    else:
        print_report(checks, out)
    return exit_code(checks)
