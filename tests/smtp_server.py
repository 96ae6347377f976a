"""A real SMTP server for tests: aiosmtpd on loopback, optionally with STARTTLS (a certificate
from a throwaway CA made by trustme) and a required login.

It runs in a thread of the test process (aiosmtpd's Controller), keeps every message it accepts,
and answers MAIL, RCPT and DATA as a test tells it to (``refuse_sender``, ``refuse_recipient``),
so a sender meets the answers of a real relay.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

QUEUE_REPLY = "250 2.0.0 Ok: queued as TEST42"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse_sender: str = ""  # e.g. "553 5.7.1 Sender not allowed"
    refuse_recipient: str = ""  # e.g. "550 5.1.1 No such user" or "450 4.2.0 Try later"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipient:
            return self.refuse_recipient
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return QUEUE_REPLY


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Handler
    client_tls: ssl.SSLContext  # trusts the server's certificate
    user: str
    password: str

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.handler.received]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(*, tls: bool = True, login: bool = True) -> Iterator[SmtpServer]:
    """A running server: STARTTLS required and a login required (``tls``, ``login``)."""
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    user, password = "diagpro", "s3cret-app-password"

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (user, password)
        return AuthResult(success=ok, handled=False)

    handler = Handler()
    kwargs: dict[str, Any] = {}
    if tls:
        kwargs.update(tls_context=server_tls, require_starttls=True)
    if login:
        kwargs.update(authenticator=authenticator, auth_required=True)
        kwargs.update(auth_require_tls=tls)
    port = free_port()
    with warnings.catch_warnings():
        # aiosmtpd warns about AUTH without TLS (only the no-TLS server here allows it), and
        # deprecates a Session attribute it sets itself after every login; in its thread, a
        # warning turned into an error (pytest's filterwarnings) would leave the client waiting.
        warnings.simplefilter("ignore", UserWarning)
        warnings.filterwarnings("ignore", "Session.login_data", DeprecationWarning)
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        try:
            yield SmtpServer("127.0.0.1", port, handler, client_tls, user, password)
        finally:
            controller.stop()
