"""``diagpro cloud-setup --print``: the exact commands that take an empty Google Cloud project to a
deployed diagpro, in the order they must run.

The output is a bash script, printed rather than run, so an operator reads every command before
anything is created and can run it whole or line by line. Names chosen here (project, region,
bucket, topic, ...) are written into the commands literally; what only exists once an earlier
command ran (the project number, the gateway's host name, the API key, the webhook's signing
secret) is captured into a shell variable by that command and used after it.

It reads two files of the checkout: ``deploy/firestore.indexes.json`` (one ``gcloud firestore
indexes composite create`` per index, so the indexes the claim query needs exist before the first
payment) and ``deploy/service.yaml`` (the Cloud Run service, its ``${NAME}`` placeholders filled).
How the customer's emails are sent is cloud_setup_email's: a relay, or the operator's explicit
``--no-email``; a deployment that silently sends none is refused.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from diagpro.config.declarations import SETTINGS
from diagpro.domain.payment import EventKind
from diagpro.entrypoints.cloud_setup_email import (
    PASSWORD_SECRET,
    PASSWORD_VARIABLE,
    SMTP_ONLY,
    CustomerEmail,
)

# The checkout's deploy/ folder (src/diagpro/entrypoints/cloud_setup.py -> the repository root).
DEPLOY_DIR = Path(__file__).resolve().parents[3] / "deploy"

# Every Google API the deployment calls or is created through. apikeys: the gateway's API key;
# iamcredentials: signBlob for V4 links without a key file; servicemanagement and servicecontrol:
# API Gateway's managed service checks keys through them. The gateway's own managed service is
# enabled later, once `gcloud api-gateway apis create` has named it.
APIS = (
    "run.googleapis.com",
    "firestore.googleapis.com",
    "storage.googleapis.com",
    "pubsub.googleapis.com",
    "cloudscheduler.googleapis.com",
    "secretmanager.googleapis.com",
    "aiplatform.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "apigateway.googleapis.com",
    "servicemanagement.googleapis.com",
    "servicecontrol.googleapis.com",
    "apikeys.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
)

# The payment events diagpro acts on: payments, expiries, refunds and disputes (the same list
# `diagpro doctor` expects the endpoint to send).
STRIPE_EVENTS = tuple(kind.value for kind in EventKind if kind is not EventKind.OTHER)

# The operator key (/metrics as a Bearer key, /admin as the Basic password). The operator may
# export their own under the setting's name, as the SMTP password is; otherwise the script makes
# one. Either way it goes only to Secret Manager, and is read back from there.
OPERATOR_KEY_SECRET = "diagpro-operator-keys"  # noqa: S105 - the secret's name, not its value
OPERATOR_KEY_VARIABLE = "DIAGPRO_OPERATOR_KEYS"

# Secret Manager secret -> the setting it feeds (deploy/service.yaml reads them by these names);
# with email sent, also PASSWORD_SECRET -> DIAGPRO_SMTP_PASSWORD (Deployment.secrets).
SECRETS = {
    "diagpro-stripe-secret-key": "STRIPE_SECRET_KEY",
    "diagpro-stripe-webhook-secret": "STRIPE_WEBHOOK_SECRET",
    "diagpro-api-keys": "DIAGPRO_API_KEYS",
    "diagpro-link-secret": "DIAGPRO_LINK_SECRET",
    OPERATOR_KEY_SECRET: OPERATOR_KEY_VARIABLE,
}

# Push subscription, as the push endpoint expects it (issue 9's contract): Pub/Sub waits up to
# the ack deadline for the job to finish, backs off 10 s..600 s between deliveries and moves a
# message that failed 10 times to the dead-letter topic.
# https://cloud.google.com/pubsub/docs/handling-failures
ACK_DEADLINE_SECONDS = 600
MIN_RETRY_DELAY = "10s"
MAX_RETRY_DELAY = "600s"
MAX_DELIVERY_ATTEMPTS = 10

# The sidecar's scrape config, and the secret deploy/service-with-prometheus.yaml mounts it from.
RUN_MONITORING_FILE = "run-monitoring.yaml"
RUN_MONITORING_SECRET = "diagpro-run-monitoring"  # noqa: S105 - the secret's name, not its value

# Values the shell captures while the script runs; the service definition may name them.
SHELL_VALUES = frozenset({"SERVICE_URL", "PUBLIC_BASE_URL", "TAG"})

_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
_NAME = re.compile(r"[a-z][a-z0-9-]{1,61}[a-z0-9]")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]")
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")
# A fresh 256-bit secret, made on the operator's machine and sent only to Secret Manager.
_RANDOM_VALUE_PROGRAM = "import secrets; print(secrets.token_urlsafe(32))"
_ORIGIN = re.compile(r"https?://[^/\s,]+")


class CloudSetupError(ValueError):
    """A name or file the setup cannot be written from; the message says which and why."""


@dataclass(frozen=True)
class Deployment:
    """What the setup names. Only project and region have no sensible default."""

    project: str
    region: str
    stripe_api_version: str
    service: str = "diagpro"
    bucket: str = ""  # default: <project>-diagpro-reports (bucket names are global)
    topic: str = "diagpro-jobs"
    subscription: str = "diagpro-jobs-push"
    dead_letter_topic: str = "diagpro-jobs-dead-letter"
    repository: str = "diagpro-images"
    api: str = "diagpro-api"
    gateway: str = "diagpro-gateway"
    gateway_region: str = ""  # default: region (API Gateway runs in fewer regions than Cloud Run)
    sweep_job: str = "diagpro-sweep"
    sweep_schedule: str = "*/5 * * * *"
    purge_job: str = "diagpro-purge"
    purge_schedule: str = "17 3 * * *"  # daily, at a quiet hour
    model: str = "gemini-3.5-flash"
    cors_origins: str = ""
    email: CustomerEmail = field(default_factory=CustomerEmail)
    # deploy/service-with-prometheus.yaml: the Managed Service for Prometheus sidecar scrapes
    # DIAGPRO_METRICS_PORT (its config, deploy/run-monitoring.yaml, from a secret).
    prometheus_sidecar: bool = False

    @property
    def service_file(self) -> str:
        return "service-with-prometheus.yaml" if self.prometheus_sidecar else "service.yaml"

    @property
    def secrets(self) -> dict[str, str]:
        """Every secret the service reads: secret name -> the setting it feeds."""
        if self.email.sends:
            return {**SECRETS, PASSWORD_SECRET: PASSWORD_VARIABLE}
        return dict(SECRETS)

    @property
    def bucket_name(self) -> str:
        return self.bucket or f"{self.project}-diagpro-reports"

    @property
    def gateway_location(self) -> str:
        return self.gateway_region or self.region

    def account(self, name: str) -> str:
        return f"{name}@{self.project}.iam.gserviceaccount.com"

    @property
    def runtime(self) -> str:
        return self.account("diagpro-runtime")

    @property
    def push_invoker(self) -> str:
        return self.account("diagpro-push")

    @property
    def gateway_backend(self) -> str:
        return self.account("diagpro-gateway")

    @property
    def image(self) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project}/{self.repository}/diagpro:${{TAG}}"

    def problems(self) -> list[str]:
        found = []
        if not _PROJECT.fullmatch(self.project):
            found.append(
                f"--project {self.project!r} is not a project id (6-30 lowercase letters, "
                "digits and hyphens, starting with a letter)"
            )
        for flag, value in (("--region", self.region), ("--gateway-region", self.gateway_location)):
            if not _REGION.fullmatch(value):
                found.append(f"{flag} {value!r} is not a region like us-central1")
        for flag, value in (
            ("--service", self.service),
            ("--topic", self.topic),
            ("--subscription", self.subscription),
            ("--dead-letter-topic", self.dead_letter_topic),
            ("--repository", self.repository),
            ("--api", self.api),
            ("--gateway", self.gateway),
            ("--sweep-job", self.sweep_job),
            ("--purge-job", self.purge_job),
        ):
            if not _NAME.fullmatch(value):
                found.append(
                    f"{flag} {value!r} must be 3-63 lowercase letters, digits and hyphens, "
                    "starting with a letter"
                )
        if not _BUCKET.fullmatch(self.bucket_name) or ".." in self.bucket_name:
            found.append(f"--bucket {self.bucket_name!r} is not a valid Cloud Storage bucket name")
        for flag, schedule in (
            ("--sweep-schedule", self.sweep_schedule),
            ("--purge-schedule", self.purge_schedule),
        ):
            if len(schedule.split()) != 5:
                found.append(f"{flag} {schedule!r} is not a 5-field cron line")
        if not self.stripe_api_version.strip():
            found.append("--stripe-api-version must name the Stripe API version diagpro pins")
        for origin in filter(None, self.cors_origins.split(",")):
            if not _ORIGIN.fullmatch(origin.strip()):
                found.append(
                    f"--cors-origins: {origin!r} is not an origin like https://example.com"
                )
        return found + self.email.problems()


def default_stripe_api_version() -> str:
    """The pinned version, when this build declares it as a setting (STRIPE_API_VERSION)."""
    return next((s.default for s in SETTINGS if s.env == "STRIPE_API_VERSION"), "")


def setup_script(deployment: Deployment, deploy_dir: Path = DEPLOY_DIR) -> str:
    problems = deployment.problems()
    if problems:
        raise CloudSetupError("; ".join(problems))
    indexes = index_commands(_read_json(deploy_dir / "firestore.indexes.json"), deployment)
    service_yaml = service_definition(_read_text(deploy_dir / deployment.service_file), deployment)
    if deployment.prometheus_sidecar:
        _check_scraped_port(_read_text(deploy_dir / RUN_MONITORING_FILE), service_yaml)
    sections = [
        _preamble(deployment),
        _apis(deployment),
        _service_accounts(deployment),
        _image(deployment),
        _firestore(deployment, indexes),
        _bucket(deployment),
        _topics(deployment),
        _gateway(deployment),
        _stripe_webhook(deployment),
        _secrets(deployment),
        # Before the service starts: it finds its push subscription already there.
        _push_subscription(deployment),
        _deploy(deployment, service_yaml),
        _sweep(deployment),
        _purge(deployment),
        _doctor(deployment, service_yaml),
    ]
    return "\n".join(sections)


# -- the files it reads --------------------------------------------------------------------------


def _check_scraped_port(run_monitoring: str, service_yaml: str) -> None:
    """The sidecar must scrape the port the service serves its counters on."""
    try:
        endpoints = yaml.safe_load(run_monitoring)["spec"]["endpoints"]
        scraped = {str(endpoint["port"]) for endpoint in endpoints}
    except (yaml.YAMLError, TypeError, KeyError) as exc:
        raise CloudSetupError(
            f"deploy/{RUN_MONITORING_FILE} is not a RunMonitoring with spec.endpoints: {exc}"
        ) from exc
    served = service_env(service_yaml)[0].get("DIAGPRO_METRICS_PORT", "")
    if served not in scraped:
        raise CloudSetupError(
            f"deploy/{RUN_MONITORING_FILE} scrapes port(s) {', '.join(sorted(scraped))} but the "
            f"service serves its metrics on DIAGPRO_METRICS_PORT={served or '(unset)'}"
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CloudSetupError(f"cannot read {path}: {exc.strerror}") from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CloudSetupError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc


def index_commands(indexes: Any, deployment: Deployment) -> list[str]:
    """One ``gcloud firestore indexes composite create`` per index of a firestore.indexes.json.

    The file is the Firebase CLI's format (``{"indexes": [{"collectionGroup", "queryScope",
    "fields": [{"fieldPath", "order" | "arrayConfig"}]}]}``,
    https://firebase.google.com/docs/reference/firestore/indexes); gcloud takes the same index
    as ``--field-config`` flags (`gcloud firestore indexes composite create --help`).
    """
    if not isinstance(indexes, dict) or not isinstance(indexes.get("indexes"), list):
        raise CloudSetupError('firestore.indexes.json must hold {"indexes": [...]}')
    commands = []
    for n, index in enumerate(indexes["indexes"], 1):
        where = f"firestore.indexes.json index {n}"
        if not isinstance(index, dict) or not index.get("collectionGroup"):
            raise CloudSetupError(f"{where} has no collectionGroup")
        fields = index.get("fields")
        if not isinstance(fields, list) or len(fields) < 2:
            raise CloudSetupError(f"{where}: a composite index needs at least two fields")
        flags = [
            f"--collection-group={index['collectionGroup']}",
            f"--query-scope={_query_scope(index.get('queryScope', 'COLLECTION'), where)}",
        ]
        flags += [f"--field-config={_field_config(field, where)}" for field in fields]
        flags += ["--database=(default)", f"--project={deployment.project}"]
        commands.append(_command(["gcloud", "firestore", "indexes", "composite", "create"], flags))
    return commands


def _query_scope(scope: object, where: str) -> str:
    scopes = {"COLLECTION": "collection", "COLLECTION_GROUP": "collection-group"}
    if scope not in scopes:
        raise CloudSetupError(f"{where}: queryScope {scope!r} is not one of {sorted(scopes)}")
    return scopes[str(scope)]


def _field_config(field: object, where: str) -> str:
    if not isinstance(field, dict) or not field.get("fieldPath"):
        raise CloudSetupError(f"{where}: every field needs a fieldPath")
    path = field["fieldPath"]
    if field.get("order") in ("ASCENDING", "DESCENDING"):
        return f"field-path={path},order={field['order'].lower()}"
    if field.get("arrayConfig") == "CONTAINS":
        return f"field-path={path},array-config=contains"
    raise CloudSetupError(
        f"{where}: field {path!r} needs order ASCENDING/DESCENDING or arrayConfig CONTAINS"
    )


def service_definition(template: str, deployment: Deployment) -> str:
    """deploy/service.yaml with the names filled in; values only the shell knows stay ``${…}``."""
    values = {
        "SERVICE": deployment.service,
        "REGION": deployment.region,
        "PROJECT": deployment.project,
        "IMAGE": deployment.image,
        "VAI_MODEL": deployment.model,
        "BUCKET": deployment.bucket_name,
        "TOPIC": deployment.topic,
        "SUBSCRIPTION": deployment.subscription,
        "CORS_ORIGINS": deployment.cors_origins,
        **deployment.email.placeholders(),
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name in SHELL_VALUES:
            return match.group(0)
        raise CloudSetupError(f"deploy/service.yaml names ${{{name}}}, which the setup never sets")

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return _PLACEHOLDER.sub(fill, node) if isinstance(node, str) else node

    try:
        spec = yaml.safe_load(template)
    except yaml.YAMLError as exc:
        raise CloudSetupError(f"deploy/service.yaml is not valid YAML: {exc}") from exc
    if not deployment.email.sends:
        _leave_out(spec, SMTP_ONLY)
    spec = walk(spec)
    # Written into an unquoted heredoc, where the shell fills the ${…} left: dumped again without
    # the comments, whose backquotes the shell would run.
    text = str(yaml.safe_dump(spec, sort_keys=False, width=1000))
    if "`" in text or "\\" in text or "$(" in text:
        raise CloudSetupError("deploy/service.yaml values must not hold ` \\ or $(")
    return text


def _leave_out(spec: Any, names: frozenset[str]) -> None:
    try:
        containers = spec["spec"]["template"]["spec"]["containers"]
    except (TypeError, KeyError) as exc:
        raise CloudSetupError("deploy/service.yaml has no spec.template.spec.containers") from exc
    for container in containers:
        container["env"] = [e for e in container.get("env", []) if e.get("name") not in names]


def service_env(service_yaml: str) -> tuple[dict[str, str], dict[str, str]]:
    """(plain env, env from secrets: setting -> secret name) of the service's container."""
    spec = yaml.safe_load(service_yaml)
    container = spec["spec"]["template"]["spec"]["containers"][0]
    plain: dict[str, str] = {}
    secret: dict[str, str] = {}
    for item in container.get("env", []):
        if "valueFrom" in item:
            secret[item["name"]] = item["valueFrom"]["secretKeyRef"]["name"]
        else:
            plain[item["name"]] = str(item.get("value", ""))
    return plain, secret


# -- the sections, in the order they must run ----------------------------------------------------


def _command(words: Iterable[str], flags: Iterable[str] = ()) -> str:
    """One command, a flag per line; values quoted unless they are a shell expansion."""
    parts = [" ".join(_quote(w) for w in words)] + [_quote(f) for f in flags]
    return " \\\n    ".join(parts)


def _quote(word: str) -> str:
    # "$VAR"-bearing words are written in double quotes so the shell expands them.
    if "$" in word:
        return '"' + word.replace('"', '\\"') + '"'
    return shlex.quote(word)


def _section(title: str, *commands: str) -> str:
    return f"# -- {title}\n" + "\n".join(commands) + "\n"


def _preamble(d: Deployment) -> str:
    password = check = ""
    if d.email.sends:
        # Read without echo: the password is neither on the screen nor in the shell's history.
        password = (
            f"#   read -rs {PASSWORD_VARIABLE} && export {PASSWORD_VARIABLE}"
            f"   # the SMTP password (or API key) of {d.email.login} at {d.email.smtp_host}\n"
        )
        check = (
            f': "${{{PASSWORD_VARIABLE}:?export {PASSWORD_VARIABLE} (the SMTP password or API '
            'key) before running this}"\n'
        )
    return f"""#!/usr/bin/env bash
# diagpro on Google Cloud: project {d.project}, region {d.region}.
# Written by `diagpro cloud-setup --print`; run it once, from the repository root, on an empty
# project, after `make setup` and `gcloud auth login` as a project owner:
#   export STRIPE_SECRET_KEY=sk_test_...   # test mode first: see README, "Deploy to Google Cloud"
{password}#   export {OPERATOR_KEY_VARIABLE}=...   # optional (16+ characters): else one is made
#   bash cloud-setup.sh
# It stops at the first command that fails (set -e); each command can also be run by hand.
set -euo pipefail
: "${{STRIPE_SECRET_KEY:?export STRIPE_SECRET_KEY (sk_test_... first) before running this}}"
{check}PROJECT_NUMBER=$(gcloud projects describe {d.project} --format='value(projectNumber)')
# Cloud Run's deterministic URL, known before the first deploy:
# https://cloud.google.com/run/docs/triggering/https-request#deterministic
SERVICE_URL="https://{d.service}-$PROJECT_NUMBER.{d.region}.run.app"
PUBSUB_AGENT="service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
# The image is tagged with the commit it is built from.
TAG=$(git rev-parse --short HEAD)
WORK=$(mktemp -d)
"""


def _apis(d: Deployment) -> str:
    # The sidecar writes to Managed Service for Prometheus through the Cloud Monitoring API.
    apis = (*APIS, "monitoring.googleapis.com") if d.prometheus_sidecar else APIS
    return _section(
        "APIs (the gateway's own managed service follows its creation below)",
        _command(["gcloud", "services", "enable", *apis], [f"--project={d.project}"]),
    )


def _service_accounts(d: Deployment) -> str:
    p = f"--project={d.project}"
    creates = [
        _command(
            ["gcloud", "iam", "service-accounts", "create", name],
            [f"--display-name={title}", p],
        )
        for name, title in (
            ("diagpro-runtime", "diagpro service"),
            ("diagpro-push", "diagpro Pub/Sub push and Cloud Scheduler invoker"),
            ("diagpro-gateway", "diagpro API Gateway backend"),
        )
    ]
    project_roles = [
        _command(
            ["gcloud", "projects", "add-iam-policy-binding", d.project],
            [f"--member=serviceAccount:{d.runtime}", f"--role={role}", "--condition=None"],
        )
        for role in (
            "roles/datastore.user",
            "roles/aiplatform.user",
            # The sidecar writes the scraped series as the service's account.
            *(("roles/monitoring.metricWriter",) if d.prometheus_sidecar else ()),
        )
    ]
    return _section(
        "service accounts: the service, the push/scheduler invoker, the gateway backend",
        *creates,
        *project_roles,
        "# The service signs V4 download links as itself through IAM signBlob.",
        _command(
            ["gcloud", "iam", "service-accounts", "add-iam-policy-binding", d.runtime],
            [
                f"--member=serviceAccount:{d.runtime}",
                "--role=roles/iam.serviceAccountTokenCreator",
                p,
            ],
        ),
        "# Pub/Sub mints the push requests' OIDC tokens as the push invoker.",
        _command(
            ["gcloud", "iam", "service-accounts", "add-iam-policy-binding", d.push_invoker],
            [
                "--member=serviceAccount:$PUBSUB_AGENT",
                "--role=roles/iam.serviceAccountTokenCreator",
                p,
            ],
        ),
    )


def _image(d: Deployment) -> str:
    return _section(
        "the image: Artifact Registry, built by Cloud Build from deploy/Dockerfile",
        _command(
            ["gcloud", "artifacts", "repositories", "create", d.repository],
            ["--repository-format=docker", f"--location={d.region}", f"--project={d.project}"],
        ),
        _command(
            ["gcloud", "builds", "submit", "."],
            [
                "--config=deploy/cloudbuild.yaml",
                f"--substitutions=_IMAGE={d.image}",
                f"--region={d.region}",
                f"--project={d.project}",
            ],
        ),
    )


def _firestore(d: Deployment, indexes: list[str]) -> str:
    return _section(
        "Firestore (native mode) and the composite indexes of deploy/firestore.indexes.json",
        _command(
            ["gcloud", "firestore", "databases", "create"],
            [
                "--database=(default)",
                f"--location={d.region}",
                "--type=firestore-native",
                f"--project={d.project}",
            ],
        ),
        *indexes,
    )


def _bucket(d: Deployment) -> str:
    bucket = f"gs://{d.bucket_name}"
    return _section(
        "the report bucket: private, uniform access; the service reads and writes its objects",
        _command(
            ["gcloud", "storage", "buckets", "create", bucket],
            [
                f"--location={d.region}",
                "--uniform-bucket-level-access",
                "--public-access-prevention",
                f"--project={d.project}",
            ],
        ),
        _command(
            ["gcloud", "storage", "buckets", "add-iam-policy-binding", bucket],
            [f"--member=serviceAccount:{d.runtime}", "--role=roles/storage.objectAdmin"],
        ),
        "# A backstop to the purge: reports older than the retention period plus a margin go.",
        _command(
            ["gcloud", "storage", "buckets", "update", bucket],
            ["--lifecycle-file=deploy/report-bucket-lifecycle.json", f"--project={d.project}"],
        ),
    )


def _topics(d: Deployment) -> str:
    p = f"--project={d.project}"
    return _section(
        "Pub/Sub: the jobs topic, and a dead-letter topic with a subscription that keeps them",
        _command(["gcloud", "pubsub", "topics", "create", d.topic], [p]),
        _command(["gcloud", "pubsub", "topics", "create", d.dead_letter_topic], [p]),
        # A topic without a subscription drops what is published to it.
        _command(
            ["gcloud", "pubsub", "subscriptions", "create", f"{d.dead_letter_topic}-kept"],
            [f"--topic={d.dead_letter_topic}", "--message-retention-duration=7d", p],
        ),
        _command(
            ["gcloud", "pubsub", "topics", "add-iam-policy-binding", d.topic],
            [f"--member=serviceAccount:{d.runtime}", "--role=roles/pubsub.publisher", p],
        ),
        "# `diagpro doctor`, run as the service's account, reads the topic.",
        _command(
            ["gcloud", "pubsub", "topics", "add-iam-policy-binding", d.topic],
            [f"--member=serviceAccount:{d.runtime}", "--role=roles/pubsub.viewer", p],
        ),
        "# Pub/Sub itself moves undeliverable jobs to the dead-letter topic.",
        _command(
            ["gcloud", "pubsub", "topics", "add-iam-policy-binding", d.dead_letter_topic],
            ["--member=serviceAccount:$PUBSUB_AGENT", "--role=roles/pubsub.publisher", p],
        ),
    )


def _gateway(d: Deployment) -> str:
    p = f"--project={d.project}"
    return _section(
        "API Gateway: its API, config from `diagpro gateway-spec`, gateway, managed service, key",
        _command(["gcloud", "api-gateway", "apis", "create", d.api], [p]),
        f"MANAGED_SERVICE=$(gcloud api-gateway apis describe {d.api} {p} "
        "--format='value(managedService)')",
        "# The app's routes, generated with the embedded defaults: no Stripe key in its env, nor",
        "# the SMTP password, which the embedded outbox sender refuses.",
        _command(
            [
                "env",
                "-u",
                "STRIPE_SECRET_KEY",
                "-u",
                PASSWORD_VARIABLE,
                ".venv/bin/diagpro",
                "gateway-spec",
            ],
            ["--backend=$SERVICE_URL", "--cors", "--output=$WORK/gateway.yaml"],
        ),
        _command(
            ["gcloud", "api-gateway", "api-configs", "create", "diagpro-$TAG"],
            [
                f"--api={d.api}",
                "--openapi-spec=$WORK/gateway.yaml",
                f"--backend-auth-service-account={d.gateway_backend}",
                p,
            ],
        ),
        _command(
            ["gcloud", "api-gateway", "gateways", "create", d.gateway],
            [f"--api={d.api}", "--api-config=diagpro-$TAG", f"--location={d.gateway_location}", p],
        ),
        f"GATEWAY_HOST=$(gcloud api-gateway gateways describe {d.gateway} "
        f"--location={d.gateway_location} {p} --format='value(defaultHostname)')",
        'PUBLIC_BASE_URL="https://$GATEWAY_HOST"',
        "# API keys work only once the gateway's own managed service is enabled.",
        _command(["gcloud", "services", "enable", "$MANAGED_SERVICE"], [p]),
        "# The key the frontend sends as x-api-key: the gateway checks it as a Google API key and",
        "# the service checks the same value against DIAGPRO_API_KEYS.",
        _command(
            ["gcloud", "services", "api-keys", "create"],
            ["--display-name=diagpro-frontend", "--api-target=service=$MANAGED_SERVICE", p],
        ),
        f"API_KEY_NAME=$(gcloud services api-keys list {p} "
        "--filter='displayName=diagpro-frontend' --format='value(name)' --limit=1)",
        f'API_KEY=$(gcloud services api-keys get-key-string "$API_KEY_NAME" {p} '
        "--format='value(keyString)')",
    )


def _stripe_webhook(d: Deployment) -> str:
    # Stripe's API: POST /v1/webhook_endpoints answers the endpoint with its signing `secret`,
    # shown only on creation (https://docs.stripe.com/api/webhook_endpoints/create).
    fields = [
        "url=$PUBLIC_BASE_URL/webhook/stripe",
        f"api_version={d.stripe_api_version}",
        *(f"enabled_events[]={event}" for event in STRIPE_EVENTS),
    ]
    # The key reaches curl on its standard input (--config -), not on its command line, where
    # any user of the machine could read it in the process list.
    create = " \\\n    ".join(
        [
            """printf 'user = "%s:"\\n' "$STRIPE_SECRET_KEY" |""",
            "curl -sS --fail-with-body --config - https://api.stripe.com/v1/webhook_endpoints",
            *(f"-d {_quote(field)}" for field in fields),
        ]
    )
    return _section(
        f"Stripe: the webhook endpoint, pinned to API version {d.stripe_api_version}",
        create + ' > "$WORK/webhook.json"',
        "WEBHOOK_SECRET=$(python3 -c 'import json, sys; print(json.load(sys.stdin)[\"secret\"])' "
        '< "$WORK/webhook.json")',
    )


def _secrets(d: Deployment) -> str:
    p = f"--project={d.project}"
    random_value = "python3 -c " + shlex.quote(_RANDOM_VALUE_PROGRAM)
    values = {
        "diagpro-stripe-secret-key": '"$STRIPE_SECRET_KEY"',
        "diagpro-stripe-webhook-secret": '"$WEBHOOK_SECRET"',
        "diagpro-api-keys": '"$API_KEY"',
        "diagpro-link-secret": f'"$({random_value})"',
        # The exported keys when given, else a fresh one.
        OPERATOR_KEY_SECRET: f'"${{{OPERATOR_KEY_VARIABLE}:-$({random_value})}}"',
        PASSWORD_SECRET: f'"${PASSWORD_VARIABLE}"',
    }
    commands = []
    for name in d.secrets:
        commands.append(
            f"printf '%s' {values[name]} | "
            + _command(
                ["gcloud", "secrets", "create", name],
                ["--data-file=-", "--replication-policy=automatic", p],
            )
        )
        commands.append(
            _command(
                ["gcloud", "secrets", "add-iam-policy-binding", name],
                [
                    f"--member=serviceAccount:{d.runtime}",
                    "--role=roles/secretmanager.secretAccessor",
                    p,
                ],
            )
        )
    if d.prometheus_sidecar:
        commands.append("# The sidecar's scrape config, mounted as its /etc/rungmp/config.yaml.")
        commands.append(
            _command(
                ["gcloud", "secrets", "create", RUN_MONITORING_SECRET],
                [
                    f"--data-file=deploy/{RUN_MONITORING_FILE}",
                    "--replication-policy=automatic",
                    p,
                ],
            )
        )
        commands.append(
            _command(
                ["gcloud", "secrets", "add-iam-policy-binding", RUN_MONITORING_SECRET],
                [
                    f"--member=serviceAccount:{d.runtime}",
                    "--role=roles/secretmanager.secretAccessor",
                    p,
                ],
            )
        )
    return _section("Secret Manager: what the service reads at start", *commands)


def _deploy(d: Deployment, service_yaml: str) -> str:
    p = f"--project={d.project}"
    region = f"--region={d.region}"
    invokers = [
        _command(
            ["gcloud", "run", "services", "add-iam-policy-binding", d.service],
            [f"--member=serviceAccount:{account}", "--role=roles/run.invoker", region, p],
        )
        for account in (d.push_invoker, d.gateway_backend)
    ]
    return _section(
        "Cloud Run: deploy/service.yaml with these names; invokable only by the two accounts",
        # Unquoted heredoc: the shell fills ${SERVICE_URL}, ${PUBLIC_BASE_URL} and ${TAG}.
        f'cat > "$WORK/service.yaml" <<EOF\n{service_yaml.rstrip()}\nEOF',
        _command(["gcloud", "run", "services", "replace", "$WORK/service.yaml"], [region, p]),
        *invokers,
    )


def _push_subscription(d: Deployment) -> str:
    p = f"--project={d.project}"
    return _section(
        "the push subscription: each job delivered to POST /tasks/jobs with an OIDC token",
        _command(
            ["gcloud", "pubsub", "subscriptions", "create", d.subscription],
            [
                f"--topic={d.topic}",
                "--push-endpoint=$SERVICE_URL/tasks/jobs",
                f"--push-auth-service-account={d.push_invoker}",
                "--push-auth-token-audience=$SERVICE_URL",
                f"--ack-deadline={ACK_DEADLINE_SECONDS}",
                f"--min-retry-delay={MIN_RETRY_DELAY}",
                f"--max-retry-delay={MAX_RETRY_DELAY}",
                f"--dead-letter-topic={d.dead_letter_topic}",
                f"--max-delivery-attempts={MAX_DELIVERY_ATTEMPTS}",
                p,
            ],
        ),
        "# Pub/Sub acknowledges a message it dead-letters on this subscription.",
        _command(
            ["gcloud", "pubsub", "subscriptions", "add-iam-policy-binding", d.subscription],
            ["--member=serviceAccount:$PUBSUB_AGENT", "--role=roles/pubsub.subscriber", p],
        ),
        "# `diagpro doctor`, run as the service's account, reads its endpoint and OIDC settings.",
        _command(
            ["gcloud", "pubsub", "subscriptions", "add-iam-policy-binding", d.subscription],
            [f"--member=serviceAccount:{d.runtime}", "--role=roles/pubsub.viewer", p],
        ),
    )


def _sweep(d: Deployment) -> str:
    return _section(
        "Cloud Scheduler: POST /tasks/sweep re-publishes lost, expired and due jobs",
        _command(
            ["gcloud", "scheduler", "jobs", "create", "http", d.sweep_job],
            [
                f"--location={d.region}",
                f"--schedule={d.sweep_schedule}",
                "--uri=$SERVICE_URL/tasks/sweep",
                "--http-method=POST",
                f"--oidc-service-account-email={d.push_invoker}",
                "--oidc-token-audience=$SERVICE_URL",
                f"--project={d.project}",
            ],
        ),
    )


def _purge(d: Deployment) -> str:
    return _section(
        "Cloud Scheduler: POST /tasks/purge erases personal data past DIAGPRO_RETENTION_DAYS",
        _command(
            ["gcloud", "scheduler", "jobs", "create", "http", d.purge_job],
            [
                f"--location={d.region}",
                f"--schedule={d.purge_schedule}",
                "--uri=$SERVICE_URL/tasks/purge",
                "--http-method=POST",
                # The purge works in the request: allow it the service's own request timeout.
                "--attempt-deadline=900s",
                f"--oidc-service-account-email={d.push_invoker}",
                "--oidc-token-audience=$SERVICE_URL",
                f"--project={d.project}",
            ],
        ),
    )


def _doctor(d: Deployment, service_yaml: str) -> str:
    plain, secret = service_env(service_yaml)
    # gcloud's own list syntax with "|" as the separator, as values hold commas and "@"
    # (`gcloud topic escaping`).
    env = "^|^" + "|".join(f"{name}={value}" for name, value in plain.items())
    secrets = ",".join(f"{name}={secret_name}:latest" for name, secret_name in secret.items())
    region = f"--region={d.region}"
    p = f"--project={d.project}"
    relay = (
        [
            "# It logs in to the SMTP relay and asks whether it takes mail from "
            f"{d.email.sender_address}:",
            "# a wrong password or sender stops the script here, not at the first paid customer.",
        ]
        if d.email.sends
        else []
    )
    return _section(
        "diagpro doctor, as a Cloud Run job with the service's image, account, settings and "
        "secrets",
        *relay,
        _command(
            ["gcloud", "run", "jobs", "deploy", f"{d.service}-doctor"],
            [
                f"--image={d.image}",
                f"--service-account={d.runtime}",
                "--command=diagpro",
                "--args=doctor,--gateway-url=$PUBLIC_BASE_URL",
                f"--set-env-vars={env}",
                f"--set-secrets={secrets}",
                "--max-retries=0",
                region,
                p,
            ],
        ),
        _command(
            ["gcloud", "run", "jobs", "execute", f"{d.service}-doctor"], ["--wait", region, p]
        ),
        'echo "diagpro answers at $PUBLIC_BASE_URL (x-api-key: the diagpro-api-keys secret)"',
        # Printed as a command to run, never the key itself: this output may be kept in a log.
        f'echo "operator key (GET /metrics as Bearer, GET /admin as the password): '
        f'gcloud secrets versions access latest --secret={OPERATOR_KEY_SECRET} {p}"',
    )


def shell_assignments(script: str) -> Mapping[str, int]:
    """Each shell variable the script assigns, with the line it is first assigned on."""
    found: dict[str, int] = {}
    for number, line in enumerate(script.splitlines(), 1):
        match = re.match(r"([A-Z_]+)=", line)
        if match:
            found.setdefault(match.group(1), number)
    return found
