"""The secrets the embedded defaults need when the environment gives none.

They are made once and kept (0600) in the data folder, so download links and signed local
payment events stay valid across restarts and across processes (``diagpro serve`` and
``diagpro status`` must agree on the link secret). Making them is an explicit step of the
composition root, never a side effect of reading the configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from diagpro.config.settings import Settings


@dataclass(frozen=True)
class StoredSecrets:
    local_webhook_secret: str
    link_secret: str
    api_key: str


class LocalSecrets:
    """``secrets.json`` in the data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "secrets.json"

    def ensure(self) -> StoredSecrets:
        """The kept secrets, made first if there are none yet."""
        if not self.path.exists():
            self._make()
        return StoredSecrets(**json.loads(self.path.read_text()))

    def _make(self) -> None:
        # 0700, like the database and reports made in it: only this user reads the data folder.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        made = StoredSecrets(
            local_webhook_secret="whsec_local_" + secrets.token_hex(24),
            link_secret=secrets.token_hex(32),
            api_key="dpk_" + secrets.token_urlsafe(24),
        )
        tmp = self.path.with_name(f".secrets.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(made.__dict__, handle)
        # os.link fails instead of replacing: when two processes start at once, the first
        # writer wins and both read its secrets.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, self.path)
        tmp.unlink(missing_ok=True)


def with_local_secrets(settings: Settings) -> Settings:
    """``settings`` with every secret the environment did not give taken from the data folder.

    Touches no file when the environment gives all three.
    """
    if settings.has_every_secret:
        return settings
    folder = LocalSecrets(settings.data_dir)
    stored = folder.ensure()
    return replace(
        settings,
        local_webhook_secret=settings.local_webhook_secret or stored.local_webhook_secret,
        link_secret=settings.link_secret or stored.link_secret,
        api_keys=settings.api_keys or (stored.api_key,),
        api_key_source=settings.api_key_source or str(folder.path),
    )
