"""The customer's emails: with SMTP, does the relay take our login and our sender address?

A wrong password or a sender the relay will not send for is found here, not by the first paid
customer whose report email is refused. Nothing is sent: the sender check stops after the
server's answer to MAIL FROM (RFC 5321 section 4.1.1.2) and resets the transaction. Relays that
only verify the sender when the message is handed over (SES checks verified identities then,
https://docs.aws.amazon.com/ses/latest/dg/verify-addresses-and-domains.html) pass this check
with a sender they may still refuse; the email's attempt record shows that refusal.
"""

from __future__ import annotations

from typing import Protocol

from diagpro.config import Settings
from diagpro.container import Container
from diagpro.domain.errors import EmailRejected, EmailUnavailable
from diagpro.entrypoints.doctor.findings import Check


class SmtpChecks(Protocol):
    """What the SMTP sender offers the doctor (adapters/email/smtp.py)."""

    def check_login(self) -> None: ...

    def check_sender(self) -> None: ...


def email_sender(settings: Settings, container: Container) -> list[Check]:
    email = settings.email
    if email.sender != "smtp":
        folder = settings.data_dir / "outbox"
        cloud = settings.cloud
        deployed = any(
            p.enabled for p in (cloud.stripe, cloud.firestore, cloud.storage, cloud.pubsub)
        )
        detail = (
            f"customers' emails are written to {folder} as .eml files, not sent: a customer "
            "who closes the tab has no way back to the report"
        )
        fix = "set DIAGPRO_EMAIL_SENDER=smtp (with DIAGPRO_SMTP_*) to deliver them"
        if deployed and not email.sender_chosen:
            # Deployed on the default: nobody chose to send no email (and on Cloud Run the
            # folder is the instance's memory, gone with it). Not a blocker: the service still
            # sells and delivers reports, which the success page offers.
            return [Check("email", False, "warning", detail, fix + ", or choose outbox explicitly")]
        return [Check("email", True, "warning", f"{detail}; {fix}")]
    sender: SmtpChecks = container.email_sender()
    where = f"{email.smtp_host}:{email.smtp_port} ({email.smtp_security})"
    try:
        sender.check_login()
    except (EmailRejected, EmailUnavailable) as exc:
        return [
            Check(
                "smtp login",
                False,
                "blocker",
                exc.message,
                "check DIAGPRO_SMTP_HOST, DIAGPRO_SMTP_PORT, DIAGPRO_SMTP_SECURITY, "
                "DIAGPRO_SMTP_USER and DIAGPRO_SMTP_PASSWORD",
            )
        ]
    who = f"as {email.smtp_user}" if email.smtp_user else "without a login"
    checks = [Check("smtp login", True, "blocker", f"{where} accepts {who}")]
    try:
        sender.check_sender()
    except (EmailRejected, EmailUnavailable) as exc:
        checks.append(
            Check(
                "email sender",
                False,
                "blocker",
                exc.message,
                "set DIAGPRO_EMAIL_FROM to an address the relay may send for (a verified "
                "sender or domain at the provider)",
            )
        )
    else:
        checks.append(
            Check(
                "email sender", True, "blocker", f"{where} accepts mail from {email.sender_address}"
            )
        )
    return checks
