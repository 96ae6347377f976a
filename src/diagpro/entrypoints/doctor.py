"""``diagpro doctor``: check a deployment before a customer does, and say what to fix.

The original learned of a wrong Stripe key, a missing ``roles/datastore.user`` and a disabled API
from its customers (incident 0026, "Missing or insufficient permissions"). Each check here does the
smallest real thing the service will do later with the same identity and settings: one harmless
Stripe call, a probe document written, read and deleted in Firestore, a probe object written,
signed, fetched and deleted in the bucket, a two-word Gemini call, a probe report rendered.

Every finding is a :class:`Check`. ``severity`` is how serious a failure of that check is:
``blocker`` (a customer could not pay or get a report), ``warning`` or ``info``. ``diagpro doctor``
exits 1 when any blocker failed, else 0. Secrets are only ever shown redacted (``sk_test_…1234``);
as a last guard every detail and fix is scrubbed of the configured secret values.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TextIO
from urllib.parse import urlparse

from diagpro.config import ConfigError, Settings, load_settings
from diagpro.container import Container

Severity = Literal["blocker", "warning", "info"]

DEFAULT_TIMEOUT_SECONDS = 10.0
PROBE_PATH = "_doctor/probe"
PROBE_COLLECTION = "_doctor"
_PREFIXES = (
    "sk_test_",
    "sk_live_",
    "rk_test_",
    "rk_live_",
    "pk_test_",
    "pk_live_",
    "whsec_",
    "dpk_",
)
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104 - a name, not a bind


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    severity: Severity  # how serious it is when ``ok`` is False
    detail: str
    fix: str = ""

    @property
    def blocks(self) -> bool:
        return not self.ok and self.severity == "blocker"


def redact(secret: str) -> str:
    """``sk_test_…1234``: the kind of secret and its last four characters, never the rest."""
    secret = secret.strip()
    if not secret:
        return "(empty)"
    prefix = next((p for p in _PREFIXES if secret.startswith(p)), "")
    rest = secret[len(prefix) :]
    if len(rest) < 12:
        return f"{prefix}…"
    return f"{prefix}…{rest[-4:]}"


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(check.blocks for check in checks) else 0


# -- configuration-level checks -------------------------------------------------------------------


def _is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in _LOCAL_HOSTS


def stripe_key_checks(secret_key: str, webhook_secret: str, public_base_url: str) -> list[Check]:
    """What the shape of the Stripe settings alone says (no network)."""
    checks: list[Check] = []
    shown = redact(secret_key)
    if not secret_key:
        checks.append(
            Check(
                "stripe key",
                False,
                "blocker",
                "STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is empty",
                "set STRIPE_SECRET_KEY to the secret key (sk_…) from Stripe > Developers > API "
                "keys",
            )
        )
    elif secret_key.startswith("pk_"):
        checks.append(
            Check(
                "stripe key",
                False,
                "blocker",
                f"STRIPE_SECRET_KEY is {shown}, a publishable key: it cannot create a checkout",
                "set STRIPE_SECRET_KEY to the secret key (sk_…) or a restricted key (rk_…) "
                "from Stripe > Developers > API keys",
            )
        )
    elif not secret_key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
        checks.append(
            Check(
                "stripe key",
                False,
                "blocker",
                f"STRIPE_SECRET_KEY ({shown}) is not a Stripe secret key",
                "set STRIPE_SECRET_KEY to an sk_test_…/sk_live_… (or rk_…) key",
            )
        )
    else:
        kind = "secret" if secret_key.startswith("sk_") else "restricted"
        live = "_live_" in secret_key[:8]
        mode = "live" if live else "test"
        checks.append(Check("stripe key", True, "blocker", f"{shown}: a {kind} key, {mode} mode"))
        https = urlparse(public_base_url).scheme == "https"
        if live and not https:
            checks.append(
                Check(
                    "stripe mode",
                    False,
                    "blocker",
                    f"a live key with DIAGPRO_PUBLIC_BASE_URL={public_base_url}: customers "
                    "would pay real money and come back to a non-https address",
                    "set DIAGPRO_PUBLIC_BASE_URL to the public https:// address of the service",
                )
            )
        elif not live and https and not _is_local(public_base_url):
            checks.append(
                Check(
                    "stripe mode",
                    False,
                    "warning",
                    f"a test-mode key behind {public_base_url}, which looks like production: "
                    "no real payment will be taken",
                    "use the live key (sk_live_…) and the live webhook secret if this is "
                    "production",
                )
            )
    if not webhook_secret:
        checks.append(
            Check(
                "stripe webhook secret",
                False,
                "blocker",
                "STRIPE_WEBHOOK_SECRET is empty: no payment event can be verified",
                "set it to the endpoint's signing secret (Stripe > Webhooks > your endpoint > "
                "Signing secret, whsec_…)",
            )
        )
    elif not webhook_secret.startswith("whsec_") or len(webhook_secret) < len("whsec_") + 16:
        checks.append(
            Check(
                "stripe webhook secret",
                False,
                "blocker",
                f"STRIPE_WEBHOOK_SECRET ({redact(webhook_secret)}) is not a webhook signing "
                "secret: every payment event would be refused",
                "set it to the endpoint's signing secret (Stripe > Webhooks > your endpoint > "
                "Signing secret, whsec_…), not an API key",
            )
        )
    else:
        checks.append(
            Check(
                "stripe webhook secret", True, "blocker", f"{redact(webhook_secret)}: whsec_ shape"
            )
        )
    return checks


def _adapters(settings: Settings) -> Check:
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
            "reports",
            f"Cloud Storage (gs://{cloud.storage.bucket})"
            if cloud.storage.enabled
            else f"local folder (embedded default, {settings.reports_dir})",
        ),
        (
            "analyzer",
            f"Gemini on Vertex AI ({cloud.vertex.model} in {cloud.vertex.location})"
            if cloud.vertex.enabled
            else "offline analyzer (embedded default)",
        ),
    ]
    return Check("adapters", True, "info", "; ".join(f"{port}: {what}" for port, what in ports))


def _api_keys(settings: Settings) -> Check:
    if settings.api_key_source == "DIAGPRO_API_KEYS":
        detail = f"{len(settings.api_keys)} key(s) configured in DIAGPRO_API_KEYS"
    else:
        detail = (
            f"one key generated and kept in {settings.api_key_source} (shown by diagpro serve); "
            "set DIAGPRO_API_KEYS to choose your own"
        )
    return Check("api keys", True, "info", detail)


# -- embedded defaults ----------------------------------------------------------------------------


def _data_folder(settings: Settings) -> Check:
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


def _sqlite(container: Container, settings: Settings) -> Check:
    import sqlite3

    try:
        with container.database().connect() as conn:
            conn.execute("PRAGMA quick_check").fetchone()
    except (sqlite3.Error, OSError) as exc:
        return Check(
            "sqlite",
            False,
            "blocker",
            f"the embedded database {settings.database_path} does not open: {exc}",
            "check DIAGPRO_DATA_DIR is on a local, writable disk (not a network share)",
        )
    return Check("sqlite", True, "blocker", f"{settings.database_path} opens")


def _probe_document() -> Any:
    from diagpro.adapters.offline_analyzer import OfflineAnalyzer
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
    analysis = OfflineAnalyzer().analyse(intake, codes)
    return ReportDocument("doctor-probe", intake, analysis, datetime.now(UTC))


def _render(container: Container, settings: Settings) -> Check:
    from diagpro.domain.errors import DomainError

    limits = f"limits {settings.render_timeout_seconds:g} s, {settings.render_memory_mb} MiB"
    renderer = container.renderer()
    started = time.monotonic()
    try:
        pdf = renderer.render(_probe_document())
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


# -- cloud services -------------------------------------------------------------------------------


def _stripe_call(container: Container, settings: Settings) -> Check:
    from diagpro.domain.errors import CheckoutNotFound, PaymentProviderError

    where = settings.cloud.stripe.api_base or "api.stripe.com"
    try:
        gateway = container.gateway()
        # A session that cannot exist: Stripe answers 404 when the key works, 401 when not.
        gateway.retrieve_checkout(f"cs_doctor_{uuid.uuid4().hex[:16]}")
    except CheckoutNotFound:
        return Check("stripe api", True, "blocker", f"{where} accepted the key (a read-only call)")
    except PaymentProviderError as exc:
        text = str(exc)
        if "was refused" in text:
            detail = f"{where} refused the key (401): it is revoked, rolled or of another account"
            fix = (
                "copy the current secret key from Stripe > Developers > API keys into "
                "STRIPE_SECRET_KEY (and the webhook secret of the same account and mode)"
            )
        elif "may not do this" in text:
            detail = f"{where}: this key may not read checkout sessions (403)"
            fix = (
                "use the secret key, or give the restricted key write access to Checkout "
                "Sessions and read access to Events"
            )
        elif "could not be reached" in text:
            detail = f"Stripe could not be reached at {where}"
            fix = "check outbound network access (and DIAGPRO_STRIPE_API_BASE, if set)"
        else:
            detail, fix = text, "check STRIPE_SECRET_KEY and the Stripe status page"
        return Check("stripe api", False, "blocker", detail, fix)
    return Check("stripe api", True, "blocker", f"{where} accepted the key")


def _firestore(container: Container, settings: Settings, timeout: float) -> Check:
    import google.auth.exceptions
    from google.api_core import exceptions as api_exceptions

    fs = settings.cloud.firestore
    where = f"project {fs.project}, database {fs.database}"
    role_fix = (
        "grant the service account roles/datastore.user on the project (gcloud projects "
        f"add-iam-policy-binding {fs.project} --member=serviceAccount:SA "
        "--role=roles/datastore.user) and enable firestore.googleapis.com"
    )
    try:
        client = container.firestore()
        doc = client.collection(PROBE_COLLECTION).document(f"probe-{uuid.uuid4().hex[:12]}")
        doc.set({"at": datetime.now(UTC), "by": "diagpro doctor"}, retry=None, timeout=timeout)
        if not doc.get(retry=None, timeout=timeout).exists:
            return Check(
                "firestore",
                False,
                "blocker",
                f"a probe document written to {where} could not be read back",
                role_fix,
            )
        doc.delete(retry=None, timeout=timeout)
    except google.auth.exceptions.DefaultCredentialsError:
        return Check(
            "firestore",
            False,
            "blocker",
            "no Google credentials found for Firestore",
            "run on a service account (Cloud Run) or `gcloud auth application-default login`",
        )
    except api_exceptions.PermissionDenied as exc:
        disabled = "SERVICE_DISABLED" in str(exc) or "has not been used" in str(exc)
        return Check(
            "firestore",
            False,
            "blocker",
            f"Firestore refused this identity in {where} (403"
            + (", the API is disabled)" if disabled else ")"),
            f"gcloud services enable firestore.googleapis.com --project {fs.project}"
            if disabled
            else role_fix,
        )
    except api_exceptions.NotFound:
        return Check(
            "firestore",
            False,
            "blocker",
            f"there is no Firestore database {fs.database!r} in project {fs.project}",
            "create it (gcloud firestore databases create) or set FIRESTORE_DATABASE/GCP_PROJECT",
        )
    except (api_exceptions.GoogleAPIError, google.auth.exceptions.GoogleAuthError) as exc:
        reason = type(exc).__name__
        host = os.environ.get("FIRESTORE_EMULATOR_HOST")
        target = f"the emulator at {host}" if host else "firestore.googleapis.com"
        return Check(
            "firestore",
            False,
            "blocker",
            f"Firestore ({where}) did not answer within {timeout:g} s via {target} ({reason})",
            "check network access to Firestore (or FIRESTORE_EMULATOR_HOST), GCP_PROJECT and "
            "that firestore.googleapis.com is enabled",
        )
    return Check("firestore", True, "blocker", f"wrote, read and deleted a probe in {where}")


def _signing(settings: Settings) -> Any:
    from google.oauth2 import service_account

    from diagpro.adapters.gcs import IamSignBlobSigning, KeyFileSigning

    storage = settings.cloud.storage
    if storage.signing_key_file:
        return KeyFileSigning(
            service_account.Credentials.from_service_account_file(storage.signing_key_file)  # type: ignore[no-untyped-call]
        )
    return IamSignBlobSigning(storage.signer_email)


def _gcs(settings: Settings, timeout: float) -> list[Check]:
    import google.auth.exceptions
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.cloud import storage

    bucket_name = settings.cloud.storage.bucket
    role_fix = (
        f"grant the service account roles/storage.objectAdmin on gs://{bucket_name} (gcloud "
        f"storage buckets add-iam-policy-binding gs://{bucket_name} --member=serviceAccount:SA "
        "--role=roles/storage.objectAdmin)"
    )
    failures = (
        api_exceptions.GoogleAPIError,
        google.auth.exceptions.GoogleAuthError,
        requests.RequestException,
    )
    try:
        client = storage.Client(project=settings.cloud.storage.project)
        blob = client.bucket(bucket_name).blob(PROBE_PATH)
        blob.upload_from_string(
            b"diagpro doctor probe", content_type="text/plain", timeout=timeout, retry=None
        )
        body = blob.download_as_bytes(timeout=timeout, retry=None)
    except api_exceptions.NotFound:
        return [
            Check(
                "bucket",
                False,
                "blocker",
                f"bucket gs://{bucket_name} does not exist (or not in this project)",
                f"create it (gcloud storage buckets create gs://{bucket_name} "
                "--uniform-bucket-level-access) or fix REPORT_BUCKET",
            )
        ]
    except (api_exceptions.Forbidden, api_exceptions.Unauthorized) as exc:
        return [
            Check(
                "bucket",
                False,
                "blocker",
                f"this identity may not write to gs://{bucket_name} ({exc.code})",
                role_fix,
            )
        ]
    except google.auth.exceptions.DefaultCredentialsError:
        return [
            Check(
                "bucket",
                False,
                "blocker",
                "no Google credentials found for Cloud Storage",
                "run on a service account (Cloud Run) or `gcloud auth application-default login`",
            )
        ]
    except failures as exc:
        return [
            Check(
                "bucket",
                False,
                "blocker",
                f"Cloud Storage did not answer for gs://{bucket_name} ({type(exc).__name__})",
                "check network access to storage.googleapis.com (or STORAGE_EMULATOR_HOST)",
            )
        ]
    checks = [
        Check(
            "bucket",
            True,
            "blocker",
            f"wrote and read back gs://{bucket_name}/{PROBE_PATH}"
            + ("" if body == b"diagpro doctor probe" else " (but the bytes differ)"),
        )
    ]
    checks.append(_signed_url(settings, client, blob, timeout))
    try:
        blob.delete(timeout=timeout, retry=None)
    except failures as exc:
        checks.append(
            Check(
                "bucket cleanup",
                False,
                "warning",
                f"could not delete gs://{bucket_name}/{PROBE_PATH} ({type(exc).__name__})",
                role_fix,
            )
        )
    return checks


def _signed_url(settings: Settings, client: Any, blob: Any, timeout: float) -> Check:
    storage = settings.cloud.storage
    signer = storage.signer_email or "the key in REPORT_SIGNING_KEY_FILE"
    fix = (
        f"grant the runtime service account roles/iam.serviceAccountTokenCreator on {signer} "
        "and enable iamcredentials.googleapis.com (it signs through IAM signBlob)"
        if not storage.signing_key_file
        else "check REPORT_SIGNING_KEY_FILE is a service-account JSON key with a private key"
    )
    try:
        signing = _signing(settings)
        url = blob.generate_signed_url(
            version="v4",
            expiration=timedelta(minutes=15),
            method="GET",
            client=client,
            **signing.signing_arguments(),
        )
    except Exception as exc:  # any failure to sign is the finding itself
        return Check(
            "signed urls",
            False,
            "blocker",
            f"could not sign a download link ({type(exc).__name__}: {_short(exc)})",
            fix,
        )
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https/emulator
            fetched = response.read()
    except (urllib.error.URLError, OSError) as exc:
        code = getattr(exc, "code", None)
        return Check(
            "signed urls",
            False,
            "blocker",
            f"a signed link was made but fetching it failed ({code or type(exc).__name__})",
            fix,
        )
    if fetched != b"diagpro doctor probe":
        return Check("signed urls", False, "blocker", "a signed link served other bytes", fix)
    return Check(
        "signed urls",
        True,
        "blocker",
        f"signed a V4 link ({_signer_text(settings)}) and fetched it",
    )


def _signer_text(settings: Settings) -> str:
    storage = settings.cloud.storage
    if storage.signing_key_file:
        return f"key file {storage.signing_key_file}"
    return f"IAM signBlob as {storage.signer_email}"


def _vertex(container: Container, settings: Settings, timeout: float) -> Check:
    import google.auth.exceptions
    from google.genai import errors as genai_errors
    from google.genai import types

    vertex = settings.cloud.vertex
    where = f"{vertex.model} in {vertex.location} (project {vertex.project})"
    try:
        analyzer = container.analyzer()
        analyzer.client.models.generate_content(
            model=analyzer.model,
            contents="Reply with the single word OK.",
            config=types.GenerateContentConfig(
                max_output_tokens=16,
                temperature=0,
                http_options=types.HttpOptions(timeout=max(1, int(timeout * 1000))),
            ),
        )
    except genai_errors.APIError as exc:
        if exc.code == 404:
            return Check(
                "vertex ai",
                False,
                "blocker",
                f"model {where} was not found (404)",
                "set VAI_MODEL to a GA model available in VAI_LOCATION (e.g. gemini-2.5-flash "
                "in global) and check GCP_PROJECT",
            )
        if exc.code in (401, 403):
            return Check(
                "vertex ai",
                False,
                "blocker",
                f"Vertex AI refused this identity for {where} ({exc.code})",
                "grant the service account roles/aiplatform.user and enable "
                "aiplatform.googleapis.com",
            )
        severity: Severity = "warning" if exc.code in (429, 500, 503) else "blocker"
        return Check(
            "vertex ai",
            False,
            severity,
            f"Vertex AI answered {exc.code} for {where}",
            "retry later; check the quota for the model (429) and the Google Cloud status page",
        )
    except google.auth.exceptions.GoogleAuthError as exc:
        return Check(
            "vertex ai",
            False,
            "blocker",
            f"no usable Google credentials for Vertex AI ({type(exc).__name__})",
            "run on a service account (Cloud Run) or `gcloud auth application-default login`",
        )
    except Exception as exc:  # timeouts and connection errors of whichever transport is used
        return Check(
            "vertex ai",
            False,
            "blocker",
            f"Vertex AI did not answer for {where} within {timeout:g} s ({type(exc).__name__})",
            "check network access to aiplatform.googleapis.com (or DIAGPRO_VERTEX_BASE_URL)",
        )
    return Check("vertex ai", True, "blocker", f"{where} answered a two-word prompt")


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


# -- putting it together --------------------------------------------------------------------------


def _guard(name: str, check: Callable[[], Check | list[Check]]) -> list[Check]:
    """A check that crashed is itself a finding, never a traceback."""
    try:
        result = check()
    except Exception as exc:
        return [
            Check(
                name,
                False,
                "blocker",
                f"the check failed unexpectedly: {type(exc).__name__}: {_short(exc)}",
                "run with -v for details",
            )
        ]
    return result if isinstance(result, list) else [result]


def run_checks(
    settings: Settings, container: Container, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> list[Check]:
    """Every check for a configuration that loads, in the order a reader wants them."""
    cloud = settings.cloud
    checks = [
        Check("configuration", True, "blocker", "loads"),
        _adapters(settings),
        _api_keys(settings),
    ]
    checks += _guard("data folder", lambda: _data_folder(settings))
    checks += _guard("sqlite", lambda: _sqlite(container, settings))
    checks += _guard("pdf rendering", lambda: _render(container, settings))
    if cloud.stripe.enabled:
        shape = stripe_key_checks(
            cloud.stripe.secret_key, cloud.stripe.webhook_secret, settings.public_base_url
        )
        checks += shape
        if not any(c.blocks and c.name == "stripe key" for c in shape):
            checks += _guard("stripe api", lambda: _stripe_call(container, settings))
    if cloud.firestore.enabled:
        checks += _guard("firestore", lambda: _firestore(container, settings, timeout))
    if cloud.storage.enabled:
        checks += _guard("bucket", lambda: _gcs(settings, timeout))
    if cloud.vertex.enabled:
        checks += _guard("vertex ai", lambda: _vertex(container, settings, timeout))
    return scrub(checks, _secrets(settings))


def _secrets(settings: Settings) -> list[str]:
    return [
        settings.cloud.stripe.secret_key,
        settings.cloud.stripe.webhook_secret,
        settings.local_webhook_secret,
        settings.link_secret,
        *settings.api_keys,
    ]


def scrub(checks: list[Check], secrets: Iterable[str]) -> list[Check]:
    """Replace any configured secret that slipped into a detail or fix by its redacted form."""
    values = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def clean(text: str) -> str:
        for value in values:
            text = text.replace(value, redact(value))
        return text

    return [replace(c, detail=clean(c.detail), fix=clean(c.fix)) for c in checks]


def diagnose(
    env: Mapping[str, str] | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> list[Check]:
    """Load the configuration from ``env`` (the process environment by default) and check it."""
    env = os.environ if env is None else env
    try:
        settings = load_settings(env)
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
            base = env.get("DIAGPRO_PUBLIC_BASE_URL", "").strip() or "http://127.0.0.1:8000"
            checks += stripe_key_checks(key, secret, base)
        return scrub(checks, [key, secret, *env.get("DIAGPRO_API_KEYS", "").split(",")])
    from dependency_injector import providers

    container = Container()
    container.settings.override(providers.Object(settings))
    return run_checks(settings, container, timeout=timeout)


# -- output ---------------------------------------------------------------------------------------


def _label(check: Check) -> str:
    if check.ok:
        return "info" if check.severity == "info" else "ok"
    return "BLOCKER" if check.severity == "blocker" else "warning"


def print_report(checks: list[Check], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    width = max((len(c.name) for c in checks), default=10)
    for check in checks:
        out.write(f"{_label(check):<8} {check.name:<{width}}  {check.detail}\n")
        if not check.ok and check.fix:
            out.write(f"{'':<8} {'':<{width}}  fix: {check.fix}\n")
    blockers = sum(c.blocks for c in checks)
    warnings = sum(1 for c in checks if not c.ok and c.severity == "warning")
    if blockers:
        out.write(
            f"\n{blockers} blocker(s), {warnings} warning(s): a customer could not pay or get "
            "a report until the blockers are fixed.\n"
        )
    else:
        out.write(f"\nready: no blockers, {warnings} warning(s).\n")
    out.flush()


def to_json(checks: list[Check]) -> str:
    return json.dumps(
        {
            "ok": exit_code(checks) == 0,
            "exit_code": exit_code(checks),
            "checks": [asdict(c) for c in checks],
        },
        indent=2,
        ensure_ascii=False,
    )


def main(*, as_json: bool = False, out: TextIO | None = None) -> int:
    checks = diagnose()
    out = out or sys.stdout
    if as_json:
        out.write(to_json(checks) + "\n")
        out.flush()
    else:
        print_report(checks, out)
    return exit_code(checks)


__all__ = [
    "Check",
    "diagnose",
    "exit_code",
    "main",
    "print_report",
    "redact",
    "run_checks",
    "scrub",
    "stripe_key_checks",
    "to_json",
]
