"""``load_settings``: the environment in, ``Settings`` out, every problem named at once.

Loading only reads. The secrets the embedded defaults need when the environment gives none are
made by a separate, explicit step (``local_secrets.with_local_secrets``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from diagpro.config import declarations as d
from diagpro.config.cloud import cloud_settings
from diagpro.config.emails import email_settings
from diagpro.config.metrics_port import metrics_port_settings
from diagpro.config.settings import Settings
from diagpro.config.values import Values
from diagpro.config.work_mode import work_mode_settings


class ConfigError(Exception):
    """A setting that cannot work; the message names each one and how to fix it."""


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    values = Values(os.environ if env is None else env)
    cloud = cloud_settings(values)
    work = work_mode_settings(values, cloud)
    email = email_settings(values)
    metrics_port = metrics_port_settings(values)
    if values[d.ENVIRONMENT] == "production":
        for setting in d.SETTINGS:
            if setting.test_only and values.given(setting):
                values.refuse(
                    f"{setting.env} is a test-only switch and is refused when "
                    "DIAGPRO_ENVIRONMENT=production"
                )
    if values.problems:
        raise ConfigError("Configuration is not usable: " + "; ".join(values.problems))
    keys = values[d.API_KEYS]
    return Settings(
        environment=values[d.ENVIRONMENT],
        data_dir=values[d.DATA_DIR],
        public_base_url=values[d.PUBLIC_BASE_URL],
        price_cents=values[d.PRICE_CENTS],
        currency=values[d.CURRENCY],
        local_webhook_secret=values[d.LOCAL_WEBHOOK_SECRET],
        link_secret=values[d.LINK_SECRET],
        api_keys=keys,
        api_key_source=d.API_KEYS.env if keys else "",
        job_max_attempts=values[d.JOB_MAX_ATTEMPTS],
        job_lease_seconds=values[d.JOB_LEASE_SECONDS],
        retry_base_seconds=values[d.RETRY_BASE_SECONDS],
        job_budget_seconds=values[d.JOB_BUDGET_SECONDS],
        submissions_per_minute=values[d.SUBMISSIONS_PER_MINUTE],
        trusted_proxies=values[d.TRUSTED_PROXIES],
        cors_origins=values[d.CORS_ORIGINS],
        render_timeout_seconds=values[d.RENDER_TIMEOUT_SECONDS],
        render_memory_mb=values[d.RENDER_MEMORY_MB],
        auto_refund=values[d.AUTO_REFUND],
        # An operator who asked for refunds keeps getting them unless they choose otherwise.
        model_fallback=values[d.MODEL_FALLBACK]
        or ("refund" if values[d.AUTO_REFUND] else "offline"),
        cloud=cloud,
        work=work,
        port=values[d.PORT],
        email=email,
        retention_days=values[d.RETENTION_DAYS],
        operator_keys=values[d.OPERATOR_KEYS],
        model_input_usd_per_million_tokens=values[d.MODEL_INPUT_USD_PER_MILLION_TOKENS],
        model_output_usd_per_million_tokens=values[d.MODEL_OUTPUT_USD_PER_MILLION_TOKENS],
        ready_slo_seconds=values[d.READY_SLO_SECONDS],
        metrics_port=metrics_port,
    )
