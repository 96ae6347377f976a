"""How a deployment made by ``diagpro cloud-setup`` sends the customer's emails.

On the default ``outbox`` sender each email is a file on a Cloud Run instance's disk, which is
the instance's memory and goes with it: the customer who closed the tab gets nothing. So the setup
writes a deployment that sends through an SMTP relay (``--email-from``, ``--smtp-host``, the
password read from ``DIAGPRO_SMTP_PASSWORD`` on the operator's machine into Secret Manager), or,
only when the operator says so with ``--no-email``, one that sets ``DIAGPRO_EMAIL_SENDER=outbox``
explicitly, so ``diagpro doctor`` knows nobody forgot it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from diagpro.config import declarations as d
from diagpro.config.emails import email_settings
from diagpro.config.values import Values

PASSWORD_SECRET = "diagpro-smtp-password"  # noqa: S105 - the secret's name, not its value
# The operator exports the password under the setting's own name, as STRIPE_SECRET_KEY is: the
# script pipes it to Secret Manager, so it is on no command line and in no file.
PASSWORD_VARIABLE = d.SMTP_PASSWORD.env

# The service refuses DIAGPRO_SMTP_* beside the outbox (config/emails.py): with --no-email
# these entries of deploy/service.yaml are left out.
SMTP_ONLY = frozenset(
    {
        d.EMAIL_FROM.env,
        d.SMTP_HOST.env,
        d.SMTP_PORT.env,
        d.SMTP_SECURITY.env,
        d.SMTP_USER.env,
        d.SMTP_PASSWORD.env,
    }
)

# Google Cloud blocks outbound connections to port 25; 587 and 465 are open to relays
# (https://cloud.google.com/compute/docs/tutorials/sending-mail).
_BLOCKED_PORT = 25
# `none` sends the password in clear and is only accepted for a relay on the same machine, which
# a Cloud Run instance has none of.
SECURITIES = ("starttls", "tls")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
# The values are written into the script's unquoted heredoc and the doctor job's "|"-separated
# --set-env-vars, where the shell or gcloud would expand or split on these.
_UNSAFE = frozenset("$`\\|\n\r")
# The address customers reach, only known once the gateway exists: any public one will do for
# checking the rest of the settings (the service refuses a loopback address with smtp).
_SOME_PUBLIC_URL = "https://gateway.example.com"


@dataclass(frozen=True)
class CustomerEmail:
    """The relay the deployment sends through, or the operator's choice to send nothing."""

    sender_address: str = ""
    smtp_host: str = ""
    smtp_port: int = int(d.SMTP_PORT.default)
    smtp_security: str = d.SMTP_SECURITY.default
    smtp_user: str = ""  # default: the sender's address (Gmail, Mailgun); SendGrid's is `apikey`
    no_email: bool = False

    @property
    def sends(self) -> bool:
        return not self.no_email

    @property
    def login(self) -> str:
        return self.smtp_user or parseaddr(self.sender_address)[1]

    def settings(self) -> dict[str, str]:
        """The service's email settings but the password, which comes from its secret."""
        if self.no_email:
            return {d.EMAIL_SENDER.env: "outbox"}
        return {
            d.EMAIL_SENDER.env: "smtp",
            d.EMAIL_FROM.env: self.sender_address,
            d.SMTP_HOST.env: self.smtp_host,
            d.SMTP_PORT.env: str(self.smtp_port),
            d.SMTP_SECURITY.env: self.smtp_security,
            d.SMTP_USER.env: self.login,
        }

    def placeholders(self) -> dict[str, str]:
        """deploy/service.yaml's ``${EMAIL_…}``/``${SMTP_…}`` names and their values."""
        values = self.settings()
        return {
            name: values.get(setting.env, "")
            for name, setting in (
                ("EMAIL_SENDER", d.EMAIL_SENDER),
                ("EMAIL_FROM", d.EMAIL_FROM),
                ("SMTP_HOST", d.SMTP_HOST),
                ("SMTP_PORT", d.SMTP_PORT),
                ("SMTP_SECURITY", d.SMTP_SECURITY),
                ("SMTP_USER", d.SMTP_USER),
            )
        }

    def problems(self) -> list[str]:
        if self.no_email:
            given = [
                flag
                for flag, value in (
                    ("--email-from", self.sender_address),
                    ("--smtp-host", self.smtp_host),
                    ("--smtp-user", self.smtp_user),
                    ("--smtp-port", self.smtp_port != int(d.SMTP_PORT.default)),
                    ("--smtp-security", self.smtp_security != d.SMTP_SECURITY.default),
                )
                if value
            ]
            return (
                [f"--no-email contradicts {', '.join(given)}: give the relay or --no-email"]
                if given
                else []
            )
        if not self.sender_address and not self.smtp_host:
            return [
                "the deployment would send customers no email (the outbox's files are lost with "
                "each Cloud Run instance, and a customer who closes the tab has no way back to "
                "the report): give --email-from and --smtp-host, with the relay's password in "
                f'{PASSWORD_VARIABLE} (README, "The customer\'s emails"), or --no-email to '
                "deploy without sending any"
            ]
        found = self._flag_problems()
        if found:
            return found
        # The service's own rule on the rest (a sender address it accepts, ...), so the setup
        # never deploys settings the service refuses at start.
        values = Values(
            {
                **self.settings(),
                d.SMTP_PASSWORD.env: "given-in-secret-manager",
                d.PUBLIC_BASE_URL.env: _SOME_PUBLIC_URL,
            }
        )
        email_settings(values)
        return [f"--email-from/--smtp-*: {problem}" for problem in values.problems]

    def _flag_problems(self) -> list[str]:
        found = []
        if not self.sender_address:
            found.append("--email-from is needed with --smtp-host: the address emails come from")
        if not self.smtp_host:
            found.append("--smtp-host is needed with --email-from: the relay that sends them")
        elif not _HOST.fullmatch(self.smtp_host):
            found.append(f"--smtp-host {self.smtp_host!r} is not a host name like smtp.example.com")
        if self.smtp_port == _BLOCKED_PORT:
            found.append(
                "--smtp-port 25 is blocked on Google Cloud: use 587 (--smtp-security starttls) "
                "or 465 (--smtp-security tls)"
            )
        elif not 0 < self.smtp_port < 65536:
            found.append(f"--smtp-port {self.smtp_port} is not a port")
        if self.smtp_security not in SECURITIES:
            found.append(
                f"--smtp-security {self.smtp_security!r} must be one of {', '.join(SECURITIES)} "
                "(`none` is only for a relay on the same machine)"
            )
        for flag, value in (("--email-from", self.sender_address), ("--smtp-user", self.login)):
            unsafe = sorted(_UNSAFE & set(value))
            if unsafe:
                found.append(f"{flag} {value!r} must not hold {' '.join(unsafe)}")
        return found
