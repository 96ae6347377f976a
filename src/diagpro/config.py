"""Configuration from the environment. With nothing set, everything runs on the embedded
defaults in a data folder (``./var``); secrets the embedded defaults need are made once and kept
there, never printed."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from diagpro.cloud_config import CloudSettings, load_cloud_settings


class ConfigError(Exception):
    """A setting that cannot work; the message names each one and how to fix it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    public_base_url: str
    price_cents: int
    currency: str
    local_webhook_secret: str
    link_secret: str
    job_max_attempts: int
    job_lease_seconds: float
    retry_base_seconds: float
    job_budget_seconds: float
    api_keys: tuple[str, ...]
    api_key_source: str  # "DIAGPRO_API_KEYS" or the file the generated key is kept in
    submissions_per_minute: int
    # X-Forwarded-For entries appended by proxies we trust (Cloud Run: 1; plus API Gateway: 2).
    trusted_proxies: int = 0
    # The PDF is rendered in a child process killed after this long, with this much address
    # space, as WeasyPrint's docs advise for untrusted content (a warm render child peaks at
    # 350-500 MB of address space):
    # https://doc.courtbouillon.org/weasyprint/stable/first_steps.html#security
    render_timeout_seconds: float = 30.0
    render_memory_mb: int = 1536
    # Refund a paid submission automatically when its report cannot be made (off by default).
    auto_refund: bool = False
    cloud: CloudSettings = field(default_factory=CloudSettings)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "diagpro.sqlite3"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir


def _number(
    env: Mapping[str, str], name: str, default: float, low: float, problems: list[str]
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name}={raw!r} is not a number")
        return default
    if value < low:
        problems.append(f"{name}={raw!r} must be at least {low:g}")
        return default
    return value


def _flag(env: Mapping[str, str], name: str, default: bool, problems: list[str]) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    problems.append(f"{name}={raw!r} must be true or false")
    return default


def _local_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets for the embedded defaults, made on first use and kept (0600) in the data folder,
    so links and signed local events stay valid across restarts and across processes."""
    path = data_dir / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    data_dir.mkdir(parents=True, exist_ok=True)
    made = {
        "local_webhook_secret": "whsec_local_" + secrets.token_hex(24),
        "link_secret": secrets.token_hex(32),
        "api_key": "dpk_" + secrets.token_urlsafe(24),
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(made, handle)
    with contextlib.suppress(FileExistsError):
        os.link(tmp, path)  # first writer wins if two processes start at once
    tmp.unlink(missing_ok=True)
    return dict(json.loads(path.read_text()))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    problems: list[str] = []
    data_dir = Path(env.get("DIAGPRO_DATA_DIR", "").strip() or "var").absolute()
    base_url = env.get("DIAGPRO_PUBLIC_BASE_URL", "").strip() or "http://127.0.0.1:8000"
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"DIAGPRO_PUBLIC_BASE_URL={base_url!r} must be an http(s) URL")
    price = _number(env, "DIAGPRO_PRICE_CENTS", 499, 50, problems)
    if price != int(price):
        problems.append("DIAGPRO_PRICE_CENTS must be a whole number of cents")
    currency = env.get("DIAGPRO_CURRENCY", "").strip().lower() or "usd"
    if len(currency) != 3 or not currency.isalpha():
        problems.append(f"DIAGPRO_CURRENCY={currency!r} must be a 3-letter ISO code like usd")
    attempts = _number(env, "DIAGPRO_JOB_MAX_ATTEMPTS", 5, 1, problems)
    lease = _number(env, "DIAGPRO_JOB_LEASE_SECONDS", 300, 1, problems)
    retry_base = _number(env, "DIAGPRO_RETRY_BASE_SECONDS", 2, 0, problems)
    budget = _number(env, "DIAGPRO_JOB_BUDGET_SECONDS", 1200, 1, problems)
    per_minute = _number(env, "DIAGPRO_SUBMISSIONS_PER_MINUTE", 20, 1, problems)
    proxies = _number(env, "DIAGPRO_TRUSTED_PROXIES", 0, 0, problems)
    render_timeout = _number(env, "DIAGPRO_RENDER_TIMEOUT_SECONDS", 30, 1, problems)
    render_memory = _number(env, "DIAGPRO_RENDER_MEMORY_MB", 1536, 768, problems)
    if render_memory != int(render_memory):
        problems.append("DIAGPRO_RENDER_MEMORY_MB must be a whole number of MiB")
    keys = tuple(k.strip() for k in env.get("DIAGPRO_API_KEYS", "").split(",") if k.strip())
    if any(len(k) < 16 for k in keys):
        problems.append("DIAGPRO_API_KEYS: each key must be at least 16 characters long")
    auto_refund = _flag(env, "DIAGPRO_AUTO_REFUND", False, problems)
    cloud = load_cloud_settings(env, problems)
    if problems:
        raise ConfigError("Configuration is not usable: " + "; ".join(problems))
    stored = _local_secrets(data_dir)
    return Settings(
        data_dir=data_dir,
        public_base_url=base_url.rstrip("/"),
        price_cents=int(price),
        currency=currency,
        local_webhook_secret=env.get("DIAGPRO_LOCAL_WEBHOOK_SECRET")
        or stored["local_webhook_secret"],
        link_secret=env.get("DIAGPRO_LINK_SECRET") or stored["link_secret"],
        job_max_attempts=int(attempts),
        job_lease_seconds=lease,
        retry_base_seconds=retry_base,
        job_budget_seconds=budget,
        api_keys=keys or (stored["api_key"],),
        api_key_source="DIAGPRO_API_KEYS" if keys else str(data_dir / "secrets.json"),
        submissions_per_minute=int(per_minute),
        trusted_proxies=int(proxies),
        render_timeout_seconds=render_timeout,
        render_memory_mb=int(render_memory),
        auto_refund=auto_refund,
        cloud=cloud,
    )
