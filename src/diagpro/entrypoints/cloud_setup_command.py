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


def _defaults() -> dict[str, str]:
    """Deployment's own defaults, so the help can never state another one."""
    return {
        f.name: f.default
        for f in dataclasses.fields(Deployment)
        if isinstance(f.default, str) and f.default
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
    parser.add_argument(
        "--deploy-dir",
        type=Path,
        default=DEPLOY_DIR,
        help="the checkout's deploy/ folder (service.yaml, firestore.indexes.json)",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write here, not to stdout")


def run_cloud_setup(args: argparse.Namespace) -> int:
    given = {field: getattr(args, field) for _, field, _ in _NAMES}
    names = {field: value for field, value in given.items() if value is not None}
    names.setdefault("stripe_api_version", default_stripe_api_version())
    try:
        script = setup_script(
            Deployment(project=args.project, region=args.region, **names), args.deploy_dir
        )
    except CloudSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(script, encoding="utf-8")
        print(f"setup script written to {args.output}; read it, then: bash {args.output}")
    else:
        sys.stdout.write(script)
    return 0
