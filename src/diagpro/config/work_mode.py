"""``DIAGPRO_WORK_MODE``: where paid work runs, and the combinations that cannot work.

- ``inline``: a worker thread inside ``diagpro serve`` (the embedded defaults, one machine).
- ``push``: no worker anywhere. Each job is published to Pub/Sub and a push subscription
  delivers it to ``POST /tasks/jobs``, which does the job inside the request, so Cloud Run gives
  it CPU (with request-based billing a container gets CPU only while it serves a request:
  https://cloud.google.com/run/docs/configuring/billing-settings).
- ``pull``: only ``diagpro worker`` processes work (a Cloud Run worker pool, a VM).

A combination that would strand paid work is refused at start-up with the reason.
"""

from __future__ import annotations

from diagpro.config import declarations as d
from diagpro.config.settings import PULL, PUSH, CloudSettings, WorkModeSettings
from diagpro.config.values import Values


def work_mode_settings(values: Values, cloud: CloudSettings) -> WorkModeSettings:
    mode = values[d.WORK_MODE]
    audience, account = values[d.PUSH_AUDIENCE], values[d.PUSH_SERVICE_ACCOUNT]
    emulator = bool(values[d.PUBSUB_EMULATOR_HOST])
    production = values[d.ENVIRONMENT] == "production"
    if mode == PUSH:
        if not cloud.pubsub.enabled:
            values.refuse(
                "DIAGPRO_WORK_MODE=push needs Pub/Sub: set PUBSUB_TOPIC (jobs are published "
                "there), PUBSUB_SUBSCRIPTION (the push subscription delivering them to "
                "/tasks/jobs) and GCP_PROJECT"
            )
        if not emulator and not (audience and account):
            values.refuse(
                "DIAGPRO_WORK_MODE=push needs DIAGPRO_PUSH_AUDIENCE and "
                "DIAGPRO_PUSH_SERVICE_ACCOUNT: /tasks/jobs only accepts a Google-signed OIDC "
                "token for that audience and service account (tokenless pushes only come from "
                "the emulator, with PUBSUB_EMULATOR_HOST)"
            )
    elif values.given(d.PUSH_AUDIENCE, d.PUSH_SERVICE_ACCOUNT):
        values.refuse(
            f"DIAGPRO_PUSH_AUDIENCE/DIAGPRO_PUSH_SERVICE_ACCOUNT are set but "
            f"DIAGPRO_WORK_MODE={mode}: they only apply to DIAGPRO_WORK_MODE=push"
        )
    if mode in (PUSH, PULL) and production and cloud.store == "sqlite":
        values.refuse(
            f"DIAGPRO_WORK_MODE={mode} with the SQLite store in production: the instances "
            "doing the work would each have their own database file and never see the jobs; "
            "set DIAGPRO_STORE=firestore (with GCP_PROJECT)"
        )
    return WorkModeSettings(mode, audience, account, tokenless_pushes=emulator)
