"""The ``diagpro cloud-setup`` command: its flags, and printing the script cloud_setup writes.

It needs no settings (it runs before any are loaded): it describes a deployment that does not
exist yet.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from diagpro.entrypoints.cloud_setup import (
    DEPLOY_DIR,
    CloudSetupError,
    Deployment,
    default_stripe_api_version,
    setup_script,
)
from diagpro.entrypoints.cloud_setup_email import PASSWORD_VARIABLE, SECURITIES, CustomerEmail

# flag -> (Deployment field, help)
_NAMES: tuple[tuple[str, str, str], ...] = (
    ("--service", "service", "Cloud Run service"),
    ("--bucket", "bucket", "report bucket (default <project>-diagpro-reports)"),
    ("--topic", "topic", "Pub/Sub topic of jobs"),
    ("--subscription", "subscription", "its push subscription"),
    ("--dead-letter-topic", "dead_letter_topic", "where undeliverable jobs go"),
    ("--repository", "repository", "Artifact Registry repository"),
    ("--api", "api", "API Gateway API"),
    ("--gateway", "gateway", "API Gateway gateway"),
    ("--gateway-region", "gateway_region", "API Gateway's region when --region has none"),
    ("--sweep-job", "sweep_job", "Cloud Scheduler job"),
    ("--sweep-schedule", "sweep_schedule", "its cron schedule"),
    ("--purge-job", "purge_job", "Cloud Scheduler job of the retention purge"),
    ("--purge-schedule", "purge_schedule", "its cron schedule"),
    ("--model", "model", "VAI_MODEL, a current Gemini id"),
    ("--stripe-api-version", "stripe_api_version", "the Stripe API version diagpro pins"),
    ("--cors-origins", "cors_origins", "browser origins of a frontend, comma-separated"),
)


# flag -> (CustomerEmail field, help); the password is never a flag (PASSWORD_VARIABLE).
_EMAIL: tuple[tuple[str, str, str], ...] = (
    (
        "--email-from",
        "sender_address",
        "the customer's emails' sender, an address the relay accepts",
    ),
    ("--smtp-host", "smtp_host", "the SMTP relay, e.g. smtp.sendgrid.net"),
    (
        "--smtp-user",
        "smtp_user",
        "its login (default: the address of --email-from; SendGrid: apikey)",
    ),
)


def _defaults(of: type[Any] = Deployment) -> dict[str, Any]:
    """The dataclass's own defaults, so the help can never state another one."""
    return {
        f.name: f.default
        for f in dataclasses.fields(of)
        if isinstance(f.default, str | int) and not isinstance(f.default, bool) and f.default
    }


def add_cloud_setup_command(commands: Any) -> None:
    parser = commands.add_parser(
        "cloud-setup",
        help="print the gcloud commands that deploy diagpro to an empty Google Cloud project",
    )
    parser.add_argument(
        "--print",
        dest="print_script",
        action="store_true",
        required=True,
        help="print the script (it is never run for you)",
    )
    parser.add_argument("--project", required=True, help="Google Cloud project id")
    parser.add_argument("--region", required=True, help="region, e.g. us-central1")
    defaults = _defaults()
    for flag, field, text in _NAMES:
        shown = f"{text} (default {defaults[field]})" if defaults.get(field) else text
        parser.add_argument(flag, dest=field, help=shown)
    _add_email_flags(parser)
    parser.add_argument(
        "--prometheus-sidecar",
        dest="prometheus_sidecar",
        action="store_true",
        help="deploy deploy/service-with-prometheus.yaml: the Managed Service for Prometheus "
        "sidecar scrapes the counters (DIAGPRO_METRICS_PORT) into Cloud Monitoring",
    )
    parser.add_argument(
        "--deploy-dir",
        type=Path,
        default=DEPLOY_DIR,
        help="the checkout's deploy/ folder (service.yaml, firestore.indexes.json)",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write here, not to stdout")


def _add_email_flags(parser: argparse.ArgumentParser) -> None:
    email = parser.add_argument_group(
        "the customer's emails",
        f"sent through an SMTP relay; its password is read from ${PASSWORD_VARIABLE} when the "
        "script runs, into Secret Manager. One of --email-from with --smtp-host, or --no-email.",
    )
    for flag, field, text in _EMAIL:
        email.add_argument(flag, dest=field, metavar=field.rsplit("_", 1)[-1].upper(), help=text)
    defaults = _defaults(CustomerEmail)
    email.add_argument(
        "--smtp-port",
        dest="smtp_port",
        type=int,
        metavar="PORT",
        help=f"its port (default {defaults['smtp_port']}; 465 with --smtp-security tls)",
    )
    email.add_argument(
        "--smtp-security",
        dest="smtp_security",
        choices=SECURITIES,
        help=f"STARTTLS or implicit TLS (default {defaults['smtp_security']})",
    )
    email.add_argument(
        "--no-email",
        dest="no_email",
        action="store_true",
        help="deploy without sending the customer's emails (DIAGPRO_EMAIL_SENDER=outbox: each "
        "is a file on the instance's disk, lost with it)",
    )


def _email(args: argparse.Namespace) -> CustomerEmail:
    fields = ("sender_address", "smtp_host", "smtp_user", "smtp_port", "smtp_security")
    given = {field: getattr(args, field) for field in fields if getattr(args, field) is not None}
    return CustomerEmail(no_email=args.no_email, **given)


def run_cloud_setup(args: argparse.Namespace) -> int:
    given = {field: getattr(args, field) for _, field, _ in _NAMES}
    names = {field: value for field, value in given.items() if value is not None}
    names.setdefault("stripe_api_version", default_stripe_api_version())
    try:
        deployment = Deployment(
            project=args.project,
            region=args.region,
            email=_email(args),
            prometheus_sidecar=args.prometheus_sidecar,
            **names,
        )
        script = setup_script(deployment, args.deploy_dir)
    except CloudSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(script, encoding="utf-8")
        print(f"setup script written to {args.output}; read it, then: bash {args.output}")
    else:
        sys.stdout.write(script)
    return 0
