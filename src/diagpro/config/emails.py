"""The customer's emails: which sender delivers them, and the combinations that cannot work.

``outbox`` (the default) writes ``.eml`` files in the data folder and needs nothing. ``smtp``
needs a relay, a sender address the relay accepts, and a public address for the links in the
emails: a link to this machine's loopback address would reach no customer, so it is refused
rather than sent.
"""

from __future__ import annotations

from email.utils import parseaddr
from urllib.parse import urlsplit

from diagpro.config import declarations as d
from diagpro.config.settings import EmailSettings
from diagpro.config.values import Values

OUTBOX_FROM = "diagpro <reports@diagpro.localhost>"  # .localhost is reserved (RFC 6761)
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def _host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _is_address(text: str) -> bool:
    _, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    return bool(at and local and "." in domain and "\n" not in text and "\r" not in text)


def email_settings(values: Values) -> EmailSettings:
    sender = values[d.EMAIL_SENDER]
    sender_address = values[d.EMAIL_FROM]
    host = values[d.SMTP_HOST]
    security = values[d.SMTP_SECURITY]
    if sender_address and not _is_address(sender_address):
        values.refuse(
            f"DIAGPRO_EMAIL_FROM={sender_address!r} is not an email address "
            "(reports@example.com, or diagpro <reports@example.com>)"
        )
    if sender == "smtp":
        if not host:
            values.refuse("DIAGPRO_EMAIL_SENDER=smtp needs DIAGPRO_SMTP_HOST (the relay)")
        if not sender_address:
            values.refuse(
                "DIAGPRO_EMAIL_SENDER=smtp needs DIAGPRO_EMAIL_FROM: an address the relay "
                "accepts as sender"
            )
        if security == "none" and host.lower() not in _LOOPBACK:
            values.refuse(
                f"DIAGPRO_SMTP_SECURITY=none sends the password and the emails in clear; it "
                f"is only accepted for a relay on this machine, not {host!r}"
            )
        if values[d.SMTP_USER] and not values[d.SMTP_PASSWORD]:
            values.refuse("DIAGPRO_SMTP_USER is set but DIAGPRO_SMTP_PASSWORD is not")
        if _host_of(values[d.PUBLIC_BASE_URL]) in _LOOPBACK:
            values.refuse(
                "DIAGPRO_EMAIL_SENDER=smtp emails customers a link to their report, but "
                f"DIAGPRO_PUBLIC_BASE_URL is {values[d.PUBLIC_BASE_URL]}: set it to the address "
                "customers reach this service at"
            )
    elif values.given(d.SMTP_HOST, d.SMTP_USER, d.SMTP_PASSWORD):
        values.refuse(
            "DIAGPRO_SMTP_* is set but DIAGPRO_EMAIL_SENDER is outbox: set "
            "DIAGPRO_EMAIL_SENDER=smtp to send through it"
        )
    return EmailSettings(
        sender=sender,
        sender_chosen=values.given(d.EMAIL_SENDER),
        sender_address=sender_address or OUTBOX_FROM,
        smtp_host=host,
        smtp_port=values[d.SMTP_PORT],
        smtp_security=security,
        smtp_user=values[d.SMTP_USER],
        smtp_password=values[d.SMTP_PASSWORD],
        max_attempts=values[d.EMAIL_MAX_ATTEMPTS],
        budget_seconds=values[d.EMAIL_BUDGET_SECONDS],
    )
