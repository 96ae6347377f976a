"""Emails to the customer: which order events owe one, and the record of every attempt.

An order owes the customer one email for each event that ends a stage of it: the report is
ready, it could not be made, or the payment was refunded. (The receipt is Stripe's: Checkout
sends it to ``customer_email``.) Every attempt is recorded on the submission *before* the mail
server is asked (``sending``) and finished after (``sent`` or ``failed``), so a job retried after
a crash knows what was already done: an event with a ``sent`` attempt is never sent again by the
queue. The one window left is a crash after the server took the message and before ``sent`` was
recorded: the retry sends it again, with the same Message-ID (RFC 5322 section 3.6.4), so the
mailbox can tell the two apart. That is the residual at-least-once case.

Attempts hold the recipient's address: erasing a submission's personal data erases them too
(``Submission.emails``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EmailEvent(StrEnum):
    READY = "ready"  # the report is ready: a link to it
    FAILED = "failed"  # it could not be made: what happens next
    REFUNDED = "refunded"  # the money went back


class AttemptState(StrEnum):
    SENDING = "sending"  # recorded before the server was asked; the outcome is not known yet
    SENT = "sent"  # the server took it
    FAILED = "failed"  # the server did not take it (``error`` says why)


@dataclass(frozen=True)
class EmailAttempt:
    event: EmailEvent
    number: int  # 1, 2, ... across every attempt on the submission
    to: str  # the recipient: personal data
    state: AttemptState
    started_at: datetime
    message_id: str  # our Message-ID header, the same for every attempt at one event
    finished_at: datetime | None = None
    provider_id: str = ""  # what the sender calls it (the server's queue id, the .eml file)
    error: str = ""
    resend: bool = False  # an operator asked for it again (``diagpro resend-email``)


@dataclass(frozen=True)
class Letter:
    """What the email says, written in the customer's language (the EmailWriter port)."""

    subject: str
    text: str  # the plain-text part
    html: str  # the HTML part


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    letter: Letter
    message_id: str  # "<...@...>"
    # Who it is about, for the server's log and ours; never shown to the customer.
    submission_id: str = ""
    to_name: str = ""  # the customer's name as they typed it (a header shows it on one line)


def event_for(status: str) -> EmailEvent | None:
    """The event a submission in ``status`` owes an email for, if any."""
    try:
        return EmailEvent(status)
    except ValueError:
        return None


def message_id(submission_id: str, event: EmailEvent, domain: str, resend: int = 0) -> str:
    """One Message-ID per event (a retry of it repeats it); a resend is a new message."""
    suffix = f".resend{resend}" if resend else ""
    return f"<{submission_id}.{event.value}{suffix}@{domain}>"


def attempts_for(attempts: tuple[EmailAttempt, ...], event: EmailEvent) -> list[EmailAttempt]:
    return [a for a in attempts if a.event == event]


def was_sent(attempts: tuple[EmailAttempt, ...], event: EmailEvent) -> bool:
    return any(a.state == AttemptState.SENT for a in attempts_for(attempts, event))
