"""Checks of the cloud adapters, each doing the smallest real thing the service will do later
with the same identity and settings."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlparse

from diagpro.config import Settings
from diagpro.container import Container
from diagpro.entrypoints.doctor.disabled_apis import enable_command, is_disabled_api
from diagpro.entrypoints.doctor.findings import Check, redact, short

Severity = Literal["blocker", "warning", "info"]

PROBE_PATH = "_doctor/probe"
PROBE_COLLECTION = "_doctor"
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104 - a name, not a bind


def is_local(url: str) -> bool:
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
        elif not live and https and not is_local(public_base_url):
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


def stripe_api(container: Container, settings: Settings) -> Check:
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


def firestore_probe(container: Container, settings: Settings, timeout: float) -> Check:
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
        host = fs.emulator_host
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


def bucket_probe(container: Container, settings: Settings, timeout: float) -> list[Check]:
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
        if is_disabled_api(exc):
            return [
                Check(
                    "bucket",
                    False,
                    "blocker",
                    f"Cloud Storage is disabled in project {settings.cloud.storage.project} "
                    f"({exc.code} SERVICE_DISABLED)",
                    enable_command("storage.googleapis.com", settings.cloud.storage.project),
                )
            ]
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
    checks.append(_signed_url(container, settings, client, blob, timeout))
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


def _signed_url(
    container: Container, settings: Settings, client: Any, blob: Any, timeout: float
) -> Check:
    storage = settings.cloud.storage
    signer = storage.signer_email or "the key in REPORT_SIGNING_KEY_FILE"
    fix = (
        f"grant the runtime service account roles/iam.serviceAccountTokenCreator on {signer} "
        "and enable iamcredentials.googleapis.com (it signs through IAM signBlob)"
        if not storage.signing_key_file
        else "check REPORT_SIGNING_KEY_FILE is a service-account JSON key with a private key"
    )
    try:
        signing = container.report_link_signing()
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
            f"could not sign a download link ({type(exc).__name__}: {short(exc)})",
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


def pubsub_probe(settings: Settings, timeout: float) -> Check:
    """The topic HTTP instances publish to and the subscription workers pull from both exist and
    are visible to this identity (a missing one means paid work is never dispatched)."""
    from google.api_core import exceptions as api_exceptions
    from google.cloud import pubsub_v1

    ps = settings.cloud.pubsub
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(ps.project, ps.topic)
    subscription = subscriber.subscription_path(ps.project, ps.subscription)
    try:
        publisher.get_topic(request={"topic": topic}, timeout=timeout)
        subscriber.get_subscription(request={"subscription": subscription}, timeout=timeout)
    except api_exceptions.NotFound:
        # In push mode the subscription is a push one: the push-subscription check that follows
        # prints its full create command, so only the topic is named here.
        create_subscription = (
            "; create the push subscription as the push subscription check says"
            if settings.work.push
            else f" && gcloud pubsub subscriptions create {ps.subscription} --topic {ps.topic} "
            "--ack-deadline 60"
        )
        return Check(
            "pub/sub",
            False,
            "blocker",
            f"topic {ps.topic} or subscription {ps.subscription} does not exist in {ps.project}",
            f"gcloud pubsub topics create {ps.topic}{create_subscription}",
        )
    except api_exceptions.PermissionDenied as exc:
        if is_disabled_api(exc):
            return Check(
                "pub/sub",
                False,
                "blocker",
                f"Pub/Sub is disabled in project {ps.project} (403 SERVICE_DISABLED)",
                enable_command("pubsub.googleapis.com", ps.project),
            )
        return Check(
            "pub/sub",
            False,
            "blocker",
            f"permission denied on {ps.topic}/{ps.subscription}: {short(exc)}",
            "grant roles/pubsub.publisher on the topic, roles/pubsub.subscriber on the "
            "subscription (and roles/pubsub.viewer so doctor can see them)",
        )
    except api_exceptions.GoogleAPIError as exc:
        return Check(
            "pub/sub",
            False,
            "blocker",
            f"Pub/Sub did not answer: {type(exc).__name__}",
            "check network access to Pub/Sub (or PUBSUB_EMULATOR_HOST), GCP_PROJECT and that "
            "pubsub.googleapis.com is enabled",
        )
    finally:
        subscriber.close()
        publisher.transport.close()
    return Check("pub/sub", True, "blocker", f"topic {ps.topic} and subscription {ps.subscription}")
