"""An OutgoingEmail as an RFC 5322 message, built by the stdlib ``email`` package.

Every header goes through ``EmailMessage`` with ``email.policy.SMTP`` (CRLF line ends, headers
folded and encoded per RFC 2047), which refuses a header value holding CR or LF: text a
customer wrote (their name, their machine, their problem) can never add a header. It is also
flattened to one line here first, so a name typed with a line break still sends.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from diagpro.domain.email import OutgoingEmail

_BREAKS = re.compile(r"[\s\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """Every run of whitespace or control characters (CR and LF among them) as one space."""
    return _BREAKS.sub(" ", text).strip()


def sender_address(sender: str) -> Address:
    """``reports@example.com`` or ``diagpro <reports@example.com>`` as an Address. Raises
    ValueError for anything else."""
    name, addr = parseaddr(sender)
    local, at, domain = addr.rpartition("@")
    if not at or not local or "." not in domain or one_line(sender) != sender.strip():
        raise ValueError(f"{sender!r} is not an email address")
    return Address(display_name=name, addr_spec=addr)


def to_message(email: OutgoingEmail, sender: str, now: datetime) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender_address(sender)
    message["To"] = Address(display_name=one_line(email.to_name), addr_spec=one_line(email.to))
    message["Subject"] = one_line(email.letter.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    # An automatic message: vacation responders must not answer it (RFC 3834 section 5).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.letter.text)
    message.add_alternative(email.letter.html, subtype="html")
    return message
