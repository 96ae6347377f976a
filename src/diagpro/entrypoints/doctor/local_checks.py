"""Checks of the embedded defaults every deployment also uses: data folder, SQLite, rendering,
API keys, and which adapter serves each port."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from diagpro.config import Settings
from diagpro.config.settings import PULL
from diagpro.container import Container
from diagpro.domain.errors import StoreUnavailable
from diagpro.entrypoints.doctor.findings import Check


def adapters_in_use(settings: Settings) -> Check:
    cloud = settings.cloud
    ports = [
        (
            "payments",
            f"Stripe Checkout ({cloud.stripe.api_base or 'api.stripe.com'})"
            if cloud.stripe.enabled
            else "local checkout (embedded default)",
        ),
        (
            "store",
            f"Firestore (project {cloud.firestore.project}, database {cloud.firestore.database})"
            if cloud.firestore.enabled
            else f"SQLite (embedded default, {settings.database_path})",
        ),
        (
            "job dispatch",
            f"Pub/Sub ({cloud.pubsub.topic} -> {cloud.pubsub.subscription})"
            if cloud.pubsub.enabled
            else "workers poll the store (embedded default)",
        ),
        (
            "reports",
            f"Cloud Storage (gs://{cloud.storage.bucket})"
            if cloud.storage.enabled
            else f"local folder (embedded default, {settings.data_dir / 'reports'})",
        ),
        (
            "analyzer",
            f"Gemini on Vertex AI ({cloud.vertex.model} in {cloud.vertex.location})"
            if cloud.vertex.enabled
            else "diagpro's offline knowledge base (DIAGPRO_ANALYZER=offline, or no cloud setting)",
        ),
        (
            "email",
            f"SMTP ({settings.email.smtp_host}:{settings.email.smtp_port})"
            if settings.email.sender == "smtp"
            else f"outbox folder (embedded default, {settings.data_dir / 'outbox'})",
        ),
    ]
    return Check("adapters", True, "info", "; ".join(f"{port}: {what}" for port, what in ports))


def api_key_source(settings: Settings) -> Check:
    if settings.api_key_source == "DIAGPRO_API_KEYS":
        detail = f"{len(settings.api_keys)} key(s) configured in DIAGPRO_API_KEYS"
    else:
        detail = (
            f"one key generated and kept in {settings.api_key_source} (read it with "
            f"jq -r .api_key {settings.api_key_source}); set DIAGPRO_API_KEYS to choose your own"
        )
    return Check("api keys", True, "info", detail)


def metrics_port(settings: Settings) -> Check:
    """Where this process's counters can be read besides GET /metrics (DIAGPRO_METRICS_PORT).
    In pull mode the workers do the paid work and serve no HTTP: without the port their counts
    (model calls, renders, emails, paid -> ready) reach no one."""
    endpoint = settings.metrics_port
    if endpoint.enabled:
        host = f"[{endpoint.address}]" if ":" in endpoint.address else endpoint.address
        who = (
            "answered only with an operator key as Authorization: Bearer"
            if endpoint.needs_key
            else "no key: loopback, reachable from this machine only (on Cloud Run, the "
            "instance's Prometheus sidecar)"
        )
        return Check(
            "metrics port",
            True,
            "info",
            f"counters on http://{host}:{endpoint.port}/metrics, {who}",
        )
    if settings.work.mode == PULL:
        return Check(
            "metrics port",
            False,
            "warning",
            "off in pull mode: the workers' counts (model calls, renders, emails, paid to "
            "ready) are exported nowhere",
            fix="set DIAGPRO_METRICS_PORT (e.g. 9464) for each `diagpro worker` and scrape it "
            '(README, "Metrics and alerts")',
        )
    where = (
        "GET /metrics with an operator key"
        if settings.operator_keys
        else "nowhere: GET /metrics is off too (no DIAGPRO_OPERATOR_KEYS)"
    )
    return Check(
        "metrics port", True, "info", f"off (DIAGPRO_METRICS_PORT unset); counters on {where}"
    )


def client_addresses(settings: Settings) -> Check:
    """Whom the rate limits count: behind Cloud Run the socket peer is Google's front end, so
    without DIAGPRO_TRUSTED_PROXIES every customer would share one bucket and one busy client
    could lock out the rest (https://cloud.google.com/run/docs/container-contract: requests reach
    the container through Google's front end, which appends the client to X-Forwarded-For)."""
    cloud = settings.cloud
    deployed = any(
        part.enabled for part in (cloud.stripe, cloud.firestore, cloud.storage, cloud.pubsub)
    )
    proxies = settings.trusted_proxies
    if proxies == 0 and deployed:
        return Check(
            "client addresses",
            False,
            "warning",
            "DIAGPRO_TRUSTED_PROXIES is 0 on a deployment: rate limits count the proxy's address, "
            "so all customers behind it share one bucket",
            "set DIAGPRO_TRUSTED_PROXIES=1 behind Cloud Run, 2 behind API Gateway and Cloud Run",
        )
    detail = (
        "rate limits count the socket's peer address (no proxy trusted)"
        if proxies == 0
        else f"rate limits count the address {proxies} trusted prox"
        f"{'y' if proxies == 1 else 'ies'} put in X-Forwarded-For"
    )
    return Check("client addresses", True, "warning", detail)


def data_folder(settings: Settings) -> Check:
    probe = settings.data_dir / f".doctor-{uuid.uuid4().hex}"
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "data folder",
            False,
            "blocker",
            f"{settings.data_dir} is not writable ({exc.strerror or exc})",
            "set DIAGPRO_DATA_DIR to a folder this user can write, or fix its permissions",
        )
    return Check("data folder", True, "blocker", f"{settings.data_dir} is writable")


def sqlite_store(container: Container, settings: Settings) -> Check:
    import sqlite3

    try:
        with container.database().connect() as conn:
            conn.execute("PRAGMA quick_check").fetchone()
    except (sqlite3.Error, OSError, StoreUnavailable) as exc:
        return Check(
            "sqlite",
            False,
            "blocker",
            f"the embedded database {settings.database_path} does not open: {exc}",
            "check DIAGPRO_DATA_DIR is on a local, writable disk (not a network share)",
        )
    return Check("sqlite", True, "blocker", f"{settings.database_path} opens")


def probe_document(container: Container, currency: str) -> Any:
    from diagpro.domain.codes import extract_codes
    from diagpro.domain.intake import validate_intake
    from diagpro.domain.report import ReportDocument

    intake = validate_intake(
        {
            "equipmentType": "automotive",
            "make": "Ford",
            "model": "F-150",
            "year": "2015",
            "errorCodes": "P0301",
            "problemDescription": "diagpro doctor: a probe report, never sent to anyone",
            "email": "doctor@example.com",
        }
    )
    codes = extract_codes(intake)
    analysis = container.offline_analyzer().analyse(intake, codes, currency)
    return ReportDocument("doctor-probe", intake, analysis, datetime.now(UTC), currency)


def pdf_rendering(container: Container, settings: Settings) -> Check:
    from diagpro.domain.errors import DomainError

    limits = f"limits {settings.render_timeout_seconds:g} s, {settings.render_memory_mb} MiB"
    renderer = container.renderer()
    started = time.monotonic()
    try:
        pdf = renderer.render(probe_document(container, settings.currency))
    except (DomainError, OSError) as exc:
        return Check(
            "pdf rendering",
            False,
            "blocker",
            f"the probe report did not render in the isolated renderer ({limits}): {exc}",
            "install WeasyPrint's system libraries (Pango, HarfBuzz: scripts/install-system-"
            "deps.sh), or raise DIAGPRO_RENDER_TIMEOUT_SECONDS / DIAGPRO_RENDER_MEMORY_MB",
        )
    finally:
        close = getattr(renderer, "close", None)
        if close is not None:
            close()
    if not pdf.startswith(b"%PDF"):
        return Check(
            "pdf rendering", False, "blocker", "the renderer answered something that is no PDF"
        )
    took = time.monotonic() - started
    return Check(
        "pdf rendering",
        True,
        "blocker",
        f"a probe report rendered in {took:.1f} s ({len(pdf) // 1024} KiB; {limits})",
    )
