"""The embedded default EmailSender: each email is a ``.eml`` file in ``var/outbox/``.

Nothing leaves the machine: an operator (or a developer) opens the file in any mail program.
Each send is one file, named after the Message-ID and the moment it was written
(``{submission}.{event}.{UTC time}.eml``), so the folder shows every email that went out, a
repeat included; it is written to a temporary name and renamed (atomic on POSIX), so a reader
never sees half a message. The folder holds customers' addresses and names: it is made 0700 and each
file 0600, like the database.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from diagpro.adapters.email.mime import sender_address, to_message
from diagpro.domain.email import OutgoingEmail
from diagpro.domain.errors import EmailUnavailable, StoreUnavailable
from diagpro.domain.ports import Clock

log = logging.getLogger("diagpro.email")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutboxFolder:
    def __init__(self, folder: Path, sender: str, clock: Clock) -> None:
        sender_address(sender)  # a bad sender is a configuration error, found at start
        self.folder = Path(folder)
        self._sender = sender
        self._clock = clock

    def path_for(self, message_id: str, at: datetime) -> Path:
        local = _UNSAFE.sub("_", message_id.strip("<>").split("@")[0])
        return self.folder / f"{local}.{at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.eml"

    def send(self, email: OutgoingEmail) -> str:
        now = self._clock.now()
        message = to_message(email, self._sender, now)
        path = self.path_for(email.message_id, now)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for n in itertools.count(2):  # two sends in one microsecond (a test's fixed clock)
                if not path.exists():
                    break
                path = path.with_name(f"{path.name.removesuffix('.eml')}-{n}.eml")
            partial = path.with_name(path.name + ".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(message.as_bytes())
            os.replace(partial, path)
        except OSError as exc:
            raise EmailUnavailable(f"cannot write {path}: {exc.strerror or exc}") from exc
        log.info("email for submission %s written to %s", email.submission_id, path)
        return str(path)

    def erase(self, submission_id: str) -> int:
        """Delete every email of a submission (its files start with its id); how many."""
        if not self.folder.is_dir():
            return 0
        gone = 0
        for path in self.folder.glob(f"{_UNSAFE.sub('_', submission_id)}.*.eml"):
            path.unlink(missing_ok=True)
            gone += 1
        return gone


class OutboxEmails:
    """The Eraser of the outbox's copies: each ``.eml`` holds the customer's address, name and
    problem as typed, so they go with the rest of the order's personal data."""

    name = "email"

    def __init__(self, outbox: OutboxFolder) -> None:
        self._outbox = outbox

    def erase(self, submission_id: str) -> int:
        try:
            return self._outbox.erase(submission_id)
        except OSError as exc:  # the next purge tries again (the Eraser port's contract)
            folder = self._outbox.folder
            raise StoreUnavailable(f"cannot erase the emails in {folder}: {exc}") from exc
