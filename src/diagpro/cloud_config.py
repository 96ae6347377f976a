"""Cloud settings: which real adapter replaces which embedded default, and why not.

Each cloud adapter is chosen when its settings are present. A half-configured one is a start-up
error naming every missing or malformed setting, so a bad deployment fails before a customer
pays (the original found a wrong Stripe key and a missing permission through its customers).
Secrets are checked for shape here; `diagpro doctor` (later) checks them against the services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str = ""
    webhook_secret: str = ""
    api_base: str = ""  # DIAGPRO_STRIPE_API_BASE: a local stub in tests

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)


@dataclass(frozen=True)
class VertexSettings:
    project: str = ""
    location: str = "global"
    model: str = ""
    base_url: str = ""  # DIAGPRO_VERTEX_BASE_URL: a local stub in tests

    @property
    def enabled(self) -> bool:
        return bool(self.model)


@dataclass(frozen=True)
class StorageSettings:
    project: str = ""
    bucket: str = ""
    signing_key_file: str = ""  # a service-account JSON key, where one is deployed
    signer_email: str = ""  # otherwise sign through IAM signBlob as this account (Cloud Run)

    @property
    def enabled(self) -> bool:
        return bool(self.bucket)


@dataclass(frozen=True)
class FirestoreSettings:
    project: str = ""
    database: str = "(default)"

    @property
    def enabled(self) -> bool:
        return bool(self.project)


@dataclass(frozen=True)
class PubSubSettings:
    project: str = ""
    topic: str = ""  # PUBSUB_TOPIC: HTTP instances publish new jobs here
    subscription: str = ""  # PUBSUB_SUBSCRIPTION: workers pull them from here

    @property
    def enabled(self) -> bool:
        return bool(self.topic and self.subscription)


@dataclass(frozen=True)
class CloudSettings:
    stripe: StripeSettings = field(default_factory=StripeSettings)
    vertex: VertexSettings = field(default_factory=VertexSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    firestore: FirestoreSettings = field(default_factory=FirestoreSettings)
    pubsub: PubSubSettings = field(default_factory=PubSubSettings)


DEFAULT_VERTEX_MODEL = "gemini-2.5-flash"  # a current GA Flash model; never an -exp one


def _stripe(env: Mapping[str, str], problems: list[str]) -> StripeSettings:
    key = env.get("STRIPE_SECRET_KEY", "").strip()
    secret = env.get("STRIPE_WEBHOOK_SECRET", "").strip()
    if not key and not secret:
        return StripeSettings()
    if not key:
        problems.append("STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is missing")
    elif key.startswith("pk_"):
        problems.append(
            "STRIPE_SECRET_KEY holds a publishable key (pk_…): use the secret key (sk_…) "
            "or a restricted key (rk_…) from the Stripe dashboard"
        )
    elif not key.startswith(("sk_", "rk_")):
        problems.append("STRIPE_SECRET_KEY must be a Stripe secret key (sk_… or rk_…)")
    if not secret:
        problems.append(
            "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is missing: without it no "
            "payment event can be verified (Stripe dashboard > Webhooks > signing secret)"
        )
    elif not secret.startswith("whsec_"):
        problems.append("STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…)")
    return StripeSettings(key, secret, env.get("DIAGPRO_STRIPE_API_BASE", "").strip())


def _vertex(env: Mapping[str, str], problems: list[str]) -> VertexSettings:
    model = env.get("VAI_MODEL", "").strip()
    location = env.get("VAI_LOCATION", "").strip()
    base_url = env.get("DIAGPRO_VERTEX_BASE_URL", "").strip()
    if not (model or location or base_url):
        return VertexSettings()
    project = env.get("GCP_PROJECT", "").strip()
    if not project:
        problems.append("VAI_MODEL/VAI_LOCATION are set but GCP_PROJECT is missing")
    model = model or DEFAULT_VERTEX_MODEL
    if "-exp" in model:
        problems.append(f"VAI_MODEL={model!r} is an experimental model: use a GA model")
    return VertexSettings(project, location or "global", model, base_url)


def _storage(env: Mapping[str, str], problems: list[str]) -> StorageSettings:
    bucket = env.get("REPORT_BUCKET", "").strip()
    key_file = env.get("REPORT_SIGNING_KEY_FILE", "").strip()
    signer = env.get("REPORT_SIGNER_EMAIL", "").strip()
    if not bucket:
        if key_file or signer:
            problems.append(
                "REPORT_SIGNING_KEY_FILE/REPORT_SIGNER_EMAIL are set but REPORT_BUCKET is missing"
            )
        return StorageSettings()
    project = env.get("GCP_PROJECT", "").strip()
    if not project:
        problems.append("REPORT_BUCKET is set but GCP_PROJECT is missing")
    if not (key_file or signer):
        problems.append(
            "REPORT_BUCKET is set but download links cannot be signed: set REPORT_SIGNER_EMAIL "
            "(the service account, signing through IAM signBlob) or REPORT_SIGNING_KEY_FILE"
        )
    return StorageSettings(project, bucket, key_file, signer)


def _firestore(env: Mapping[str, str], problems: list[str]) -> FirestoreSettings:
    # Submissions, events and jobs move together: a store split across backends would lose
    # the compare-and-set between them.
    store = env.get("DIAGPRO_STORE", "").strip().lower() or "sqlite"
    if store not in ("sqlite", "firestore"):
        problems.append(f"DIAGPRO_STORE={store!r} must be sqlite or firestore")
        return FirestoreSettings()
    if store == "sqlite":
        return FirestoreSettings()
    project = env.get("GCP_PROJECT", "").strip()
    if not project:
        problems.append("DIAGPRO_STORE=firestore but GCP_PROJECT is missing")
    return FirestoreSettings(project, env.get("FIRESTORE_DATABASE", "").strip() or "(default)")


_PUBSUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}")


def _pubsub(env: Mapping[str, str], problems: list[str]) -> PubSubSettings:
    topic = env.get("PUBSUB_TOPIC", "").strip()
    subscription = env.get("PUBSUB_SUBSCRIPTION", "").strip()
    if not topic and not subscription:
        return PubSubSettings()
    if not topic:
        problems.append("PUBSUB_SUBSCRIPTION is set but PUBSUB_TOPIC is missing")
    if not subscription:
        problems.append("PUBSUB_TOPIC is set but PUBSUB_SUBSCRIPTION is missing")
    for name, value in (("PUBSUB_TOPIC", topic), ("PUBSUB_SUBSCRIPTION", subscription)):
        if value and (not _PUBSUB_NAME.fullmatch(value) or value.startswith("goog")):
            problems.append(
                f"{name}={value!r} must be a short Pub/Sub name (3-255 characters, starting "
                "with a letter, not with goog), not a projects/… path"
            )
    project = env.get("GCP_PROJECT", "").strip()
    if not project:
        problems.append("PUBSUB_TOPIC/PUBSUB_SUBSCRIPTION are set but GCP_PROJECT is missing")
    return PubSubSettings(project, topic, subscription)


def load_cloud_settings(env: Mapping[str, str], problems: list[str]) -> CloudSettings:
    """Read the cloud settings, appending every problem to ``problems``."""
    return CloudSettings(
        stripe=_stripe(env, problems),
        vertex=_vertex(env, problems),
        storage=_storage(env, problems),
        firestore=_firestore(env, problems),
        pubsub=_pubsub(env, problems),
    )
