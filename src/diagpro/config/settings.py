"""What the rest of diagpro reads: the settings, grouped by the adapter they choose.

The values come from ``load_settings``; defaults and meanings live in ``declarations.py`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    webhook_secret: str
    api_base: str  # test-only: a local stub of Stripe's API
    api_version: str  # STRIPE_API_VERSION, sent with every request

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)


@dataclass(frozen=True)
class VertexSettings:
    project: str
    location: str
    model: str  # empty while the offline analyzer is in use
    base_url: str  # test-only: a local stub of Vertex AI

    @property
    def enabled(self) -> bool:
        return bool(self.model)


@dataclass(frozen=True)
class StorageSettings:
    project: str
    bucket: str
    signing_key_file: str  # a service-account JSON key, where one is deployed
    signer_email: str  # otherwise sign through IAM signBlob as this account (Cloud Run)

    @property
    def enabled(self) -> bool:
        return bool(self.bucket)


@dataclass(frozen=True)
class FirestoreSettings:
    project: str  # empty while SQLite is the store
    database: str
    emulator_host: str  # test-only: read by google-cloud-firestore itself, shown by the doctor

    @property
    def enabled(self) -> bool:
        return bool(self.project)


@dataclass(frozen=True)
class PubSubSettings:
    project: str
    topic: str  # HTTP instances publish new jobs here
    subscription: str  # workers pull them from here

    @property
    def enabled(self) -> bool:
        return bool(self.topic and self.subscription)


@dataclass(frozen=True)
class CloudSettings:
    stripe: StripeSettings
    vertex: VertexSettings
    storage: StorageSettings
    firestore: FirestoreSettings
    pubsub: PubSubSettings

    # Which adapter serves each port: the keys the container's selectors choose by.
    @property
    def store(self) -> str:
        return "firestore" if self.firestore.enabled else "sqlite"

    @property
    def report_storage(self) -> str:
        return "gcs" if self.storage.enabled else "local"

    @property
    def payments(self) -> str:
        return "stripe" if self.stripe.enabled else "local"

    @property
    def analysis(self) -> str:
        return "vertex" if self.vertex.enabled else "offline"


INLINE, PUSH, PULL = "inline", "push", "pull"  # DIAGPRO_WORK_MODE (config/work_mode.py)


@dataclass(frozen=True)
class WorkModeSettings:
    mode: str  # inline, push or pull
    push_audience: str  # the OIDC token's audience on /tasks/jobs and /tasks/sweep
    push_service_account: str  # the email the OIDC token must carry
    # Pub/Sub's emulator pushes without any token (https://cloud.google.com/pubsub/docs/emulator,
    # "known limitations"): only then are tokenless pushes accepted.
    tokenless_pushes: bool

    @property
    def worker_in_server(self) -> bool:
        """Whether ``diagpro serve`` runs the worker thread."""
        return self.mode == INLINE

    @property
    def push(self) -> bool:
        return self.mode == PUSH


@dataclass(frozen=True)
class MetricsPortSettings:
    """The counters on a port of their own (config/metrics_port.py); port 0: off."""

    port: int = 0
    address: str = "127.0.0.1"
    needs_key: bool = False  # not loopback: only an operator key as a Bearer key is answered

    @property
    def enabled(self) -> bool:
        return self.port != 0


@dataclass(frozen=True)
class EmailSettings:
    """The customer's emails (config/emails.py)."""

    sender: str = "outbox"  # outbox or smtp
    sender_chosen: bool = False  # DIAGPRO_EMAIL_SENDER was given (not the default)
    sender_address: str = "diagpro <reports@diagpro.localhost>"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls, tls or none (a relay on this machine)
    smtp_user: str = ""
    smtp_password: str = ""
    max_attempts: int = 24  # tries at one email before giving up
    budget_seconds: float = 86400.0  # from the event to giving up

    @property
    def domain(self) -> str:
        """The sender address's domain: the right-hand side of our Message-IDs."""
        return self.sender_address.rstrip(">").rpartition("@")[2] or "diagpro.localhost"


@dataclass(frozen=True)
class Settings:
    environment: str  # development or production
    data_dir: Path
    public_base_url: str
    price_cents: int
    currency: str
    # The three secrets below are empty when the environment does not give them, until
    # ``with_local_secrets`` fills them from the data folder.
    local_webhook_secret: str
    link_secret: str
    api_keys: tuple[str, ...]
    api_key_source: str  # "DIAGPRO_API_KEYS" or the file the generated key is kept in
    job_max_attempts: int
    job_lease_seconds: float
    retry_base_seconds: float
    job_budget_seconds: float
    submissions_per_minute: int
    # X-Forwarded-For entries appended by proxies we trust (Cloud Run: 1; plus API Gateway: 2).
    trusted_proxies: int
    # The PDF is rendered in a child process killed after this long, with this much address
    # space, so a hostile description cannot hang or exhaust the worker.
    render_timeout_seconds: float
    render_memory_mb: int
    # Refund a paid submission automatically when its report cannot be made.
    auto_refund: bool
    cloud: CloudSettings
    # Where paid work runs (DIAGPRO_WORK_MODE): config/work_mode.py.
    work: WorkModeSettings
    # Where `diagpro serve` listens when --port is not given (Cloud Run's PORT); 0 when unset.
    port: int = 0
    # Browser origins allowed to call the JSON API (CORS); empty: none.
    cors_origins: tuple[str, ...] = ()
    # When the model fails for good: "offline" (the offline analyzer stands in), "refund" or
    # "none" (DIAGPRO_MODEL_FALLBACK; unset: "refund" with auto_refund, else "offline").
    model_fallback: str = "offline"
    # Who delivers the customer's emails (DIAGPRO_EMAIL_SENDER, DIAGPRO_SMTP_*).
    email: EmailSettings = EmailSettings()
    # Days an order's personal data is kept after its last change (DIAGPRO_RETENTION_DAYS).
    retention_days: int = 90
    # Who may read /metrics (Bearer) and /admin (Basic password); none: both are off.
    operator_keys: tuple[str, ...] = ()
    # What the model's tokens cost, US dollars per million (0: not given, no cost estimated).
    model_input_usd_per_million_tokens: float = 0.0
    model_output_usd_per_million_tokens: float = 0.0
    # Seconds a paid order may wait for its report before it is stuck (DIAGPRO_READY_SLO_SECONDS).
    ready_slo_seconds: int = 300
    # DIAGPRO_METRICS_PORT / DIAGPRO_METRICS_ADDRESS: the counters on a port of their own.
    metrics_port: MetricsPortSettings = MetricsPortSettings()

    @property
    def database_path(self) -> Path:
        return self.data_dir / "diagpro.sqlite3"

    @property
    def has_every_secret(self) -> bool:
        return bool(self.local_webhook_secret and self.link_secret and self.api_keys)
