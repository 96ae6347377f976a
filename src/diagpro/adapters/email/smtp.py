"""EmailSender over SMTP (stdlib ``smtplib``): Gmail, SendGrid, Mailgun, Amazon SES relays.

Every one of those relays takes a submission on port 587 with STARTTLS and a login
(https://support.google.com/a/answer/176600, https://www.twilio.com/docs/sendgrid/for-developers/sending-email/integrating-with-the-smtp-api,
https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/#send-via-smtp,
https://docs.aws.amazon.com/ses/latest/dg/smtp-connect.html), so that is the default:
``security="starttls"`` upgrades the connection before the password is sent and refuses a
server that does not offer it; ``"tls"`` is implicit TLS (port 465); ``"none"`` is only for a
relay on this machine (config refuses it for any other host).

The server's answers decide retrying (RFC 5321 section 4.2.1): a 4xx is "not now"
(EmailUnavailable), a 5xx "never" (EmailRejected), as is a refused login. A connection that
cannot be made, drops or times out is EmailUnavailable.

The message is sent with MAIL / RCPT / DATA by hand rather than ``send_message`` because only
DATA's reply carries the server's queue id ("250 2.0.0 Ok: queued as 4C1F2", SES "250 Ok
<id>"), which is what support searches the provider's log for.
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from diagpro.adapters.email.mime import sender_address, to_message
from diagpro.domain.email import OutgoingEmail
from diagpro.domain.errors import EmailRejected, EmailUnavailable
from diagpro.domain.ports import Clock

SECURITY = ("starttls", "tls", "none")


def _refusal(code: int, text: bytes | str, what: str) -> Exception:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    problem = f"{what}: {code} {words}".strip()
    return EmailUnavailable(problem) if 400 <= code < 500 else EmailRejected(problem)


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        clock: Clock,
        *,
        username: str = "",
        password: str = "",
        security: str = "starttls",
        timeout_seconds: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}, not {security!r}")
        sender_address(sender)
        self.host = host
        self.port = port
        self.sender = sender
        self._clock = clock
        self._username = username
        self._password = password
        self._security = security
        self._timeout = timeout_seconds
        self._tls = tls_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        """Connected, upgraded to TLS and logged in. Raises the smtplib/OS errors."""
        if self._security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self._timeout, context=self._tls
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self._security == "starttls":
                # Raises SMTPNotSupportedError when the server offers no STARTTLS: the password
                # is never sent in clear.
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            if self._username:
                smtp.login(self._username, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def check_login(self) -> None:
        """Connect, log in and say goodbye (``diagpro doctor``). Raises EmailUnavailable or
        EmailRejected, like ``send``."""
        with self._answers("log in"):
            smtp = self._connect()
            smtp.quit()

    def check_sender(self) -> None:
        """Ask the server whether it takes mail from the sender address (MAIL FROM, then
        RSET: nothing is sent). Raises EmailRejected when it does not."""
        with self._answers("check the sender"):
            smtp = self._connect()
            try:
                code, text = smtp.mail(sender_address(self.sender).addr_spec)
                if code != 250:
                    raise _refusal(code, text, f"MAIL FROM {self.sender}")
                smtp.rset()
            finally:
                smtp.close()

    def send(self, email: OutgoingEmail) -> str:
        message = to_message(email, self.sender, self._clock.now())
        data = message.as_bytes()
        with self._answers("send"):
            smtp = self._connect()
            try:
                code, text = smtp.mail(sender_address(self.sender).addr_spec)
                if code != 250:
                    raise _refusal(code, text, "MAIL FROM")
                code, text = smtp.rcpt(email.to)
                if code not in (250, 251):
                    raise _refusal(code, text, f"RCPT TO {email.to}")
                code, text = smtp.data(data)
                if code != 250:
                    raise _refusal(code, text, "DATA")
                smtp.quit()
            finally:
                smtp.close()
        reply = text.decode("utf-8", "replace").strip()
        return f"{self.host}: {reply}" if reply else email.message_id

    def _answers(self, what: str) -> _Translated:
        return _Translated(f"SMTP {self.host}:{self.port}: cannot {what}")


class _Translated:
    """smtplib's and the socket's errors as the port's two."""

    def __init__(self, where: str) -> None:
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, EmailUnavailable | EmailRejected):
            return
        where = self._where
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            raise EmailRejected(f"{where}: the login was refused ({exc.smtp_code})") from exc
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            raise EmailRejected(f"{where}: the server offers no STARTTLS") from exc
        if isinstance(exc, smtplib.SMTPResponseException):
            raise _refusal(exc.smtp_code, exc.smtp_error, where) from exc
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            raise EmailRejected(f"{where}: recipient refused") from exc
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise EmailRejected(f"{where}: its TLS certificate is not valid ({exc})") from exc
        if isinstance(exc, smtplib.SMTPException | OSError | socket.timeout):
            raise EmailUnavailable(f"{where}: {type(exc).__name__}: {exc}") from exc
