"""Every setting diagpro reads, declared once: its variable, kind, default, meaning, and whether
it exists for tests only. Loading, validation and the README's configuration table are all
derived from this table (``python -m diagpro.config`` prints the table).

A default is written as the text an operator would set, and is read by the same parser as a
value given in the environment, so a default can never be something the parser would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from diagpro.config import kinds
from diagpro.config.kinds import Kind

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    env: str
    kind: Kind[T]
    default: str
    doc: str
    test_only: bool = False
    minimum: float | None = None
    # A rule beyond the kind's, for a value the operator gave: returns what is wrong, or None.
    check: Callable[[T], str | None] | None = None
    # How the table states a default that is made rather than fixed (secrets, cloud switches).
    shown_default: str | None = None


# Every declared setting, in the order the README's table lists them.
SETTINGS: list[Setting[Any]] = []


def _declare(setting: Setting[T]) -> Setting[T]:
    SETTINGS.append(setting)
    return setting


_MADE_ONCE = "made once, kept in `secrets.json` in the data folder (0600)"

# -- the service ---------------------------------------------------------------------------------

ENVIRONMENT = _declare(
    Setting(
        "DIAGPRO_ENVIRONMENT",
        kinds.choice("development", "production"),
        "development",
        "`production` refuses every test-only switch below",
    )
)
DATA_DIR = _declare(
    Setting(
        "DIAGPRO_DATA_DIR",
        kinds.FOLDER,
        "var",
        "SQLite database, local reports (`reports/{id}.pdf`) and the generated local secrets",
    )
)
PUBLIC_BASE_URL = _declare(
    Setting(
        "DIAGPRO_PUBLIC_BASE_URL",
        kinds.URL,
        "http://127.0.0.1:8000",
        "base of checkout, success and download links (`diagpro serve` uses its own address "
        "when unset)",
    )
)
# Stripe refuses charges under 0.50 USD (https://docs.stripe.com/currencies, minimum and maximum
# charge amounts): a lower price would fail at checkout, after the customer described the problem.
PRICE_CENTS = _declare(
    Setting(
        "DIAGPRO_PRICE_CENTS",
        kinds.WHOLE,
        "499",
        "price of one report in the currency's smallest unit (cents), at least 50",
        minimum=50,
    )
)
CURRENCY = _declare(Setting("DIAGPRO_CURRENCY", kinds.CURRENCY, "usd", "currency of the price"))
API_KEYS = _declare(
    Setting(
        "DIAGPRO_API_KEYS",
        kinds.KEYS,
        "",
        "keys accepted in the `x-api-key` header, 16+ characters each",
        shown_default="one " + _MADE_ONCE,
    )
)
OPERATOR_KEYS = _declare(
    Setting(
        "DIAGPRO_OPERATOR_KEYS",
        kinds.KEYS,
        "",
        "keys accepted as `Authorization: Bearer <key>` on `/metrics` and as the Basic password "
        "on `/admin`, 16+ characters each; none: both answer 404",
    )
)
# A port of its own for the counters, served by prometheus_client beside `serve` or `worker`
# (config/metrics_port.py): a `diagpro worker` serves no HTTP otherwise, and the Cloud Run
# Prometheus sidecar scrapes without credentials.
METRICS_PORT = _declare(
    Setting(
        "DIAGPRO_METRICS_PORT",
        kinds.PORT,
        "",
        "a port of its own where `diagpro serve` and `diagpro worker` serve their metrics in the "
        "Prometheus format (for a worker, a Prometheus agent, the Cloud Run sidecar); unset: off",
        shown_default="off",
    )
)
METRICS_ADDRESS = _declare(
    Setting(
        "DIAGPRO_METRICS_ADDRESS",
        kinds.IP_ADDRESS,
        "127.0.0.1",
        "the address `DIAGPRO_METRICS_PORT` listens on; a loopback address asks for no key, any "
        "other needs `DIAGPRO_OPERATOR_KEYS` and answers only `Authorization: Bearer <key>`",
    )
)
SUBMISSIONS_PER_MINUTE = _declare(
    Setting(
        "DIAGPRO_SUBMISSIONS_PER_MINUTE",
        kinds.WHOLE,
        "20",
        "submissions one client may create per minute, counted apart on the API (per key and "
        "address; refused keys never count) and on the intake form (per address); 429 with "
        "`Retry-After` past it",
        minimum=1,
    )
)
TRUSTED_PROXIES = _declare(
    Setting(
        "DIAGPRO_TRUSTED_PROXIES",
        kinds.WHOLE,
        "0",
        "proxies in front that append to `X-Forwarded-For` (Cloud Run: 1, plus API Gateway: "
        "2), so rate limits key on the customer; the only thing that decides a client's address",
        minimum=0,
    )
)
CORS_ORIGINS = _declare(
    Setting(
        "DIAGPRO_CORS_ORIGINS",
        kinds.ORIGINS,
        "",
        "browser origins (`https://shop.example.com`) whose pages may call the JSON API; "
        "none: only the service's own pages",
    )
)
LOCAL_WEBHOOK_SECRET = _declare(
    Setting(
        "DIAGPRO_LOCAL_WEBHOOK_SECRET",
        kinds.SECRET,
        "",
        "signs the local checkout's payment events (Stripe's scheme)",
        shown_default=_MADE_ONCE,
    )
)
LINK_SECRET = _declare(
    Setting(
        "DIAGPRO_LINK_SECRET",
        kinds.SECRET,
        "",
        "signs the local report folder's download links",
        shown_default=_MADE_ONCE,
    )
)
# Cloud Run tells the container which port to listen on through PORT
# (https://cloud.google.com/run/docs/container-contract#port).
PORT = _declare(
    Setting(
        "PORT",
        kinds.PORT,
        "",
        "port `diagpro serve` listens on when `--port` is not given, on every interface "
        "unless `--host` is (Cloud Run sets it)",
        shown_default="`8000` on `127.0.0.1`",
    )
)

# -- jobs and rendering --------------------------------------------------------------------------

JOB_MAX_ATTEMPTS = _declare(
    Setting(
        "DIAGPRO_JOB_MAX_ATTEMPTS",
        kinds.WHOLE,
        "5",
        "attempts before a submission is marked failed",
        minimum=1,
    )
)
RETRY_BASE_SECONDS = _declare(
    Setting(
        "DIAGPRO_RETRY_BASE_SECONDS",
        kinds.NUMBER,
        "2",
        "first backoff; doubles per attempt (capped at 2 min)",
        minimum=0,
    )
)
JOB_BUDGET_SECONDS = _declare(
    Setting(
        "DIAGPRO_JOB_BUDGET_SECONDS",
        kinds.NUMBER,
        "1200",
        "total time from payment before giving up",
        minimum=1,
    )
)
JOB_LEASE_SECONDS = _declare(
    Setting(
        "DIAGPRO_JOB_LEASE_SECONDS",
        kinds.NUMBER,
        "30",
        "how long a job stays with a worker that stopped renewing it (it renews every third of "
        "this while it works): a killed worker's job is taken again this long after",
        minimum=1,
    )
)
AUTO_REFUND = _declare(
    Setting(
        "DIAGPRO_AUTO_REFUND",
        kinds.SWITCH,
        "false",
        "`true`: a submission whose report cannot be made (retry budget spent) is refunded in "
        "full at once through Stripe (or the local checkout) and shows `refunded`; a refund that "
        "fails leaves it `failed`, the reason saying an operator must refund it",
    )
)
# A customer who paid gets a report even when the model keeps failing; the offline knowledge
# base is the stand-in, and the report says in one sentence that it is one.
MODEL_FALLBACK = _declare(
    Setting(
        "DIAGPRO_MODEL_FALLBACK",
        kinds.choice("offline", "refund", "none", absent=""),
        "",
        "when the model (`DIAGPRO_ANALYZER=vertex`) fails for good on a paid submission (retry "
        "budget spent, a refusal, a misconfiguration, wrong-shaped answers every time): "
        "`offline` diagpro's offline knowledge base writes the report, which says so; `refund` "
        "it is refunded in full; `none` it fails. A misconfiguration is still logged at ERROR "
        "and makes `/healthz` degraded",
        shown_default="`offline`; `refund` with `DIAGPRO_AUTO_REFUND=true`",
    )
)
# Model prices change and differ by model, region and contract: never a built-in default that
# would silently go stale. Unset: no cost metric, the token counters only.
MODEL_INPUT_USD_PER_MILLION_TOKENS = _declare(
    Setting(
        "DIAGPRO_MODEL_INPUT_USD_PER_MILLION_TOKENS",
        kinds.OPTIONAL_NUMBER,
        "",
        "what the model's prompt tokens cost you, in US dollars per million, for the estimated "
        "cost on `/metrics` (`diagpro_model_cost_usd_total`); unset: no cost is estimated",
        minimum=0,
    )
)
MODEL_OUTPUT_USD_PER_MILLION_TOKENS = _declare(
    Setting(
        "DIAGPRO_MODEL_OUTPUT_USD_PER_MILLION_TOKENS",
        kinds.OPTIONAL_NUMBER,
        "",
        "the same for output tokens (thinking included, as billed)",
        minimum=0,
    )
)
RENDER_TIMEOUT_SECONDS = _declare(
    Setting(
        "DIAGPRO_RENDER_TIMEOUT_SECONDS",
        kinds.NUMBER,
        "30",
        "wall-clock limit on one PDF render (the render process is killed past it)",
        minimum=1,
    )
)
RENDER_MEMORY_MB = _declare(
    Setting(
        "DIAGPRO_RENDER_MEMORY_MB",
        kinds.WHOLE,
        "1536",
        # A warm render child peaks at 350-500 MB of address space; 768 leaves it room.
        "address-space limit of the render process, in MiB",
        minimum=768,
    )
)

# -- the customer's emails (config/email.py) ----------------------------------------------------

EMAIL_SENDER = _declare(
    Setting(
        "DIAGPRO_EMAIL_SENDER",
        kinds.choice("outbox", "smtp"),
        "outbox",
        "who delivers the customer's emails: `outbox` writes each one as a `.eml` file in "
        "`outbox/` in the data folder (nothing leaves the machine); `smtp` sends them through "
        "`DIAGPRO_SMTP_HOST`",
    )
)
EMAIL_FROM = _declare(
    Setting(
        "DIAGPRO_EMAIL_FROM",
        kinds.TEXT,
        "",
        "the emails' sender address (`reports@example.com` or `diagpro <reports@example.com>`); "
        "required with `smtp` (the relay must accept it: `diagpro doctor` asks)",
        shown_default="`diagpro <reports@diagpro.localhost>` with `outbox`",
    )
)
# A mail relay that is down for an hour must not cost the customer their email: mail servers
# themselves keep trying for days (RFC 5321 section 4.5.4.1); a day of tries, backing off from
# DIAGPRO_RETRY_BASE_SECONDS to an hour, then `diagpro resend-email`.
EMAIL_MAX_ATTEMPTS = _declare(
    Setting(
        "DIAGPRO_EMAIL_MAX_ATTEMPTS",
        kinds.WHOLE,
        "24",
        "tries at an email the mail server did not take before giving up (each waits twice "
        "the one before, from `DIAGPRO_RETRY_BASE_SECONDS`, at most an hour)",
        minimum=1,
    )
)
EMAIL_BUDGET_SECONDS = _declare(
    Setting(
        "DIAGPRO_EMAIL_BUDGET_SECONDS",
        kinds.NUMBER,
        "86400",
        "total time from the event before giving up on its email (logged at ERROR; "
        "`diagpro resend-email` sends it then)",
        minimum=1,
    )
)
SMTP_HOST = _declare(
    Setting(
        "DIAGPRO_SMTP_HOST",
        kinds.TEXT,
        "",
        "SMTP relay (`smtp.gmail.com`, `smtp.sendgrid.net`, `smtp.mailgun.org`, "
        "`email-smtp.<region>.amazonaws.com`); required with `smtp`",
    )
)
SMTP_PORT = _declare(
    Setting("DIAGPRO_SMTP_PORT", kinds.PORT, "587", "SMTP port (587: submission with STARTTLS)")
)
SMTP_SECURITY = _declare(
    Setting(
        "DIAGPRO_SMTP_SECURITY",
        kinds.choice("starttls", "tls", "none"),
        "starttls",
        "`starttls` (port 587; a server without it is refused), `tls` (implicit TLS, port 465) "
        "or `none` (only for a relay on this machine: `localhost`, `127.0.0.1`, `::1`)",
    )
)
SMTP_USER = _declare(
    Setting("DIAGPRO_SMTP_USER", kinds.TEXT, "", "SMTP login (SendGrid: `apikey`); empty: none")
)
SMTP_PASSWORD = _declare(
    Setting(
        "DIAGPRO_SMTP_PASSWORD",
        kinds.SECRET,
        "",
        "SMTP password or API key (on Cloud Run, from Secret Manager like the other secrets)",
    )
)


# -- personal data -------------------------------------------------------------------------------

RETENTION_DAYS = _declare(
    Setting(
        "DIAGPRO_RETENTION_DAYS",
        kinds.WHOLE,
        "90",
        "days an order's personal data (name, email, phone, VIN/serial, every typed text, the "
        "analysis) and its PDF are kept after the order's last change; then the purge erases "
        "them (daily by the worker of `serve` or `diagpro worker`, `POST /tasks/purge` in push "
        "mode, or `diagpro purge`), keeping amounts, statuses, dates and Stripe ids. A paid "
        "order still being made is kept until it is finished (see Privacy)",
        minimum=1,
    )
)

# -- operations ----------------------------------------------------------------------------------

READY_SLO_SECONDS = _declare(
    Setting(
        "DIAGPRO_READY_SLO_SECONDS",
        kinds.WHOLE,
        "300",
        "seconds a paid order may wait for its report before it counts as stuck: "
        "`GET /readyz` answers 503 while one has waited longer, and `diagpro orders --stuck` "
        "lists them",
        minimum=1,
    )
)

# -- cloud adapters: each replaces its embedded default when its settings are given -----------

STRIPE_SECRET_KEY = _declare(
    Setting(
        "STRIPE_SECRET_KEY",
        kinds.SECRET,
        "",
        "Stripe secret (`sk_…`) or restricted (`rk_…`) key: payments go through Stripe "
        "Checkout instead of the local checkout",
    )
)
STRIPE_WEBHOOK_SECRET = _declare(
    Setting(
        "STRIPE_WEBHOOK_SECRET",
        kinds.SECRET,
        "",
        "the Stripe webhook endpoint's signing secret (`whsec_…`); needed with the key",
    )
)
# Stripe renders every response, and every event sent to an endpoint, in one API version
# (https://docs.stripe.com/api/versioning, https://docs.stripe.com/webhooks/versioning). Pinned
# to the version the installed `stripe` library is written against: a unit test fails when an
# upgrade of the library changes it, so moving to a new version is a deliberate change.
STRIPE_API_VERSION_DEFAULT = "2026-10-28.endive"
_STRIPE_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}\.[a-z]+")


def _stripe_api_version(version: str) -> str | None:
    if _STRIPE_API_VERSION.fullmatch(version):
        return None
    return "must be a Stripe API version such as 2026-10-28.endive (date.release)"


STRIPE_API_VERSION = _declare(
    Setting(
        "STRIPE_API_VERSION",
        kinds.TEXT,
        STRIPE_API_VERSION_DEFAULT,
        "Stripe API version sent with every Stripe request; the webhook endpoint must use the "
        "same one (`diagpro doctor` checks it)",
        check=_stripe_api_version,
    )
)
GCP_PROJECT = _declare(
    Setting(
        "GCP_PROJECT",
        kinds.TEXT,
        "",
        "Google Cloud project of Vertex AI, Cloud Storage, Firestore and Pub/Sub",
    )
)


def _general_availability(model: str) -> str | None:
    # Experimental models change or vanish without notice; a paid report needs a stable one.
    return "is an experimental model: use a GA model" if "-exp" in model else None


# Who writes the analysis is always a choice someone made: a deployment that silently fell back
# to the offline knowledge base would sell customers a report they did not pay for.
ANALYZER = _declare(
    Setting(
        "DIAGPRO_ANALYZER",
        kinds.choice("offline", "vertex", absent=""),
        "",
        "who writes the analysis: `offline` (the built-in knowledge base) or `vertex` (Gemini "
        "on Vertex AI: needs `GCP_PROJECT` and `VAI_MODEL`); required once any cloud setting "
        "is given",
        shown_default="`offline` while no cloud setting is given",
    )
)
# No default model: every Gemini id reaches a retirement date, after which each call fails
# (https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions). A default
# shipped in the code would rot unnoticed; the operator owns the id and `diagpro doctor`
# checks it.
VAI_MODEL = _declare(
    Setting(
        "VAI_MODEL",
        kinds.TEXT,
        "",
        "Gemini model id on Vertex AI, e.g. `gemini-3.5-flash`; required with "
        "`DIAGPRO_ANALYZER=vertex`",
        check=_general_availability,
    )
)
VAI_LOCATION = _declare(Setting("VAI_LOCATION", kinds.TEXT, "global", "Vertex AI location"))
REPORT_BUCKET = _declare(
    Setting(
        "REPORT_BUCKET",
        kinds.TEXT,
        "",
        "Cloud Storage bucket for reports, instead of the local folder",
    )
)
REPORT_SIGNER_EMAIL = _declare(
    Setting(
        "REPORT_SIGNER_EMAIL",
        kinds.TEXT,
        "",
        "service account that signs download links through IAM signBlob (Cloud Run)",
    )
)
REPORT_SIGNING_KEY_FILE = _declare(
    Setting(
        "REPORT_SIGNING_KEY_FILE",
        kinds.TEXT,
        "",
        "path of a service-account JSON key that signs download links, where one is deployed",
    )
)
STORE = _declare(
    Setting(
        "DIAGPRO_STORE",
        kinds.choice("sqlite", "firestore"),
        "sqlite",
        "where submissions, payment events and jobs are kept (all three move together)",
    )
)
FIRESTORE_DATABASE = _declare(
    Setting("FIRESTORE_DATABASE", kinds.TEXT, "(default)", "Firestore database id")
)

# Pub/Sub's resource name rule: 3-255 characters from this set, starting with a letter, and not
# starting with "goog".
_PUBSUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}")


def _pubsub_name(name: str) -> str | None:
    if _PUBSUB_NAME.fullmatch(name) and not name.startswith("goog"):
        return None
    return (
        "must be a short Pub/Sub name (3-255 characters, starting with a letter, not with "
        "goog), not a projects/… path"
    )


PUBSUB_TOPIC = _declare(
    Setting(
        "PUBSUB_TOPIC",
        kinds.TEXT,
        "",
        "Pub/Sub topic HTTP instances announce new jobs on (with `PUBSUB_SUBSCRIPTION`)",
        check=_pubsub_name,
    )
)
PUBSUB_SUBSCRIPTION = _declare(
    Setting(
        "PUBSUB_SUBSCRIPTION",
        kinds.TEXT,
        "",
        "Pub/Sub subscription workers pull new jobs from (with `PUBSUB_TOPIC`)",
        check=_pubsub_name,
    )
)

# -- work modes (where paid work runs) ------------------------------------------------------------

# Cloud Run gives a container CPU only while it answers a request (with request-based billing,
# https://cloud.google.com/run/docs/configuring/billing-settings), so a background worker thread
# there starves: in `push` mode each job is one request.
WORK_MODE = _declare(
    Setting(
        "DIAGPRO_WORK_MODE",
        kinds.choice("inline", "push", "pull"),
        "inline",
        "where paid work runs: `inline` a worker thread inside `diagpro serve`; `push` no worker "
        "at all, each job is delivered by a Pub/Sub push subscription to `POST /tasks/jobs` and "
        "done inside that request (Cloud Run); `pull` only `diagpro worker` processes",
    )
)
PUSH_AUDIENCE = _declare(
    Setting(
        "DIAGPRO_PUSH_AUDIENCE",
        kinds.TEXT,
        "",
        "audience of the OIDC token Pub/Sub push and Cloud Scheduler send to `/tasks/jobs` and "
        "`/tasks/sweep` (the subscription's `--push-auth-token-audience`); required in push mode",
    )
)


def _service_account_email(email: str) -> str | None:
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        return None
    return "must be a service account's email (name@project.iam.gserviceaccount.com)"


PUSH_SERVICE_ACCOUNT = _declare(
    Setting(
        "DIAGPRO_PUSH_SERVICE_ACCOUNT",
        kinds.TEXT,
        "",
        "the service account whose Google-signed OIDC token `/tasks/jobs` and `/tasks/sweep` "
        "accept (the subscription's `--push-auth-service-account`); required in push mode",
        check=_service_account_email,
    )
)

# -- test-only switches: refused when DIAGPRO_ENVIRONMENT=production ----------------------------

STRIPE_API_BASE = _declare(
    Setting(
        "DIAGPRO_STRIPE_API_BASE",
        kinds.URL,
        "",
        "Stripe API calls go to this local stub instead of api.stripe.com",
        test_only=True,
    )
)
VERTEX_BASE_URL = _declare(
    Setting(
        "DIAGPRO_VERTEX_BASE_URL",
        kinds.URL,
        "",
        "Vertex AI calls go to this local stub, carrying the placeholder bearer `stub-token` "
        "(`STUB_TOKEN`) instead of Google credentials",
        test_only=True,
    )
)
# Google's client libraries read these themselves; they are declared so that they are
# documented and refused in production, where an emulator would silently lose the data.
FIRESTORE_EMULATOR_HOST = _declare(
    Setting(
        "FIRESTORE_EMULATOR_HOST",
        kinds.TEXT,
        "",
        "Firestore calls go to this emulator (`host:port`)",
        test_only=True,
    )
)
PUBSUB_EMULATOR_HOST = _declare(
    Setting(
        "PUBSUB_EMULATOR_HOST",
        kinds.TEXT,
        "",
        "Pub/Sub calls go to this emulator (`host:port`)",
        test_only=True,
    )
)
STORAGE_EMULATOR_HOST = _declare(
    Setting(
        "STORAGE_EMULATOR_HOST",
        kinds.TEXT,
        "",
        "Cloud Storage calls go to this emulator (`http://host:port`)",
        test_only=True,
    )
)
