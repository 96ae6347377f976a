"""The EmailSender contract: the in-memory fake, the outbox folder and SMTP (against a real SMTP
server, aiosmtpd with STARTTLS and a login) pass the same suite, then each its own edges."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from diagpro.adapters.email import OutboxFolder, SmtpSender
from diagpro.adapters.memory.emails import MemoryEmailSender
from diagpro.domain.email import Letter, OutgoingEmail
from diagpro.domain.errors import EmailRejected, EmailUnavailable
from diagpro.domain.ports import EmailSender
from tests.doubles import FixedClock
from tests.smtp_server import QUEUE_REPLY, SmtpServer, free_port, smtp_server

SENDER = "diagpro <reports@example.com>"


@dataclass
class Under:
    sender: EmailSender
    delivered: Callable[[], list[EmailMessage]]


def _outbox(folder: Path) -> Callable[[], list[EmailMessage]]:
    def read() -> list[EmailMessage]:
        parse = BytesParser(policy=policy.default).parsebytes
        return [parse(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]  # type: ignore[misc]

    return read


@pytest.fixture(params=["memory", "outbox", "smtp"])
def under(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Under]:
    clock = FixedClock()
    if request.param == "memory":
        memory = MemoryEmailSender(SENDER, clock)
        yield Under(memory, lambda: list(memory.sent))
    elif request.param == "outbox":
        yield Under(OutboxFolder(tmp_path / "outbox", SENDER, clock), _outbox(tmp_path / "outbox"))
    else:
        with smtp_server() as server:
            yield Under(_smtp(server, clock), lambda: server.messages)


def _smtp(server: SmtpServer, clock: FixedClock, **overrides: object) -> SmtpSender:
    options: dict[str, object] = {
        "username": server.user,
        "password": server.password,
        "security": "starttls",
        "tls_context": server.client_tls,
        "timeout_seconds": 10.0,
        **overrides,
    }
    return SmtpSender(server.host, server.port, SENDER, clock, **options)  # type: ignore[arg-type]


def email(
    *, to: str = "owner@example.com", name: str = "Ana López", subject: str = "", mid: str = ""
) -> OutgoingEmail:
    letter = Letter(
        subject=subject or "Your diagnostic report is ready: 2015 Ford F-150",
        text="Hello Ana,\n\nYour report is ready.\nhttps://diag.example.com/view/diag_1\n",
        html='<p>Hello Ana,</p><p><a href="https://diag.example.com/view/diag_1">Open</a></p>',
    )
    return OutgoingEmail(to, letter, mid or "<diag_1.ready@example.com>", "diag_1", name)


def test_implements_the_port(under: Under) -> None:
    assert isinstance(under.sender, EmailSender)


def test_a_sent_email_has_both_parts_and_every_header(under: Under) -> None:
    said = under.sender.send(email())

    assert said
    (message,) = under.delivered()
    assert message["From"] == SENDER
    assert message["To"].addresses[0].addr_spec == "owner@example.com"
    assert message["To"].addresses[0].display_name == "Ana López"
    assert message["Subject"] == "Your diagnostic report is ready: 2015 Ford F-150"
    assert message["Message-ID"] == "<diag_1.ready@example.com>"
    assert message["Date"].datetime == FixedClock().now()
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and "Your report is ready." in text.get_content()
    assert html is not None and 'href="https://diag.example.com/view/diag_1"' in html.get_content()


def test_customer_text_with_line_breaks_adds_no_header(under: Under) -> None:
    """A name or a problem typed with CR/LF cannot smuggle a header (Bcc) into the message."""
    sneaky = email(
        name="Ana\r\nBcc: thief@example.net",
        subject="Ready: Ford\r\nBcc: thief@example.net\r\n\r\nbody",
    )

    under.sender.send(sneaky)

    (message,) = under.delivered()
    assert message["Bcc"] is None
    assert message.get_all("To") is not None and len(message.get_all("To")) == 1
    assert [a.addr_spec for a in message["To"].addresses] == ["owner@example.com"]
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Subject"] == "Ready: Ford Bcc: thief@example.net body"
    assert "thief@example.net" not in (message["To"].addresses[0].addr_spec)


def test_each_send_is_delivered_once(under: Under) -> None:
    under.sender.send(email())
    under.sender.send(email(mid="<diag_1.ready.resend1@example.com>"))

    assert [m["Message-ID"] for m in under.delivered()] == [
        "<diag_1.ready@example.com>",
        "<diag_1.ready.resend1@example.com>",
    ]


# -- the outbox folder ---------------------------------------------------------------------------


def test_the_outbox_keeps_each_email_private_and_says_where(tmp_path: Path) -> None:
    outbox = OutboxFolder(tmp_path / "outbox", SENDER, FixedClock())

    where = Path(outbox.send(email()))

    assert where.parent == tmp_path / "outbox" and where.name.startswith("diag_1.ready.")
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    assert stat.S_IMODE(where.parent.stat().st_mode) == 0o700
    assert outbox.erase("diag_1") == 1 and not where.exists()


def test_an_outbox_that_cannot_be_written_is_worth_retrying(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the folder should be")
    outbox = OutboxFolder(tmp_path / "outbox", SENDER, FixedClock())

    with pytest.raises(EmailUnavailable, match="cannot write"):
        outbox.send(email())


def test_a_sender_that_is_not_an_address_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        OutboxFolder(tmp_path, "diagpro", FixedClock())


# -- SMTP against a real server -----------------------------------------------------------------


def test_smtp_logs_in_over_starttls_and_returns_the_servers_queue_id() -> None:
    with smtp_server() as server:
        said = _smtp(server, FixedClock()).send(email())
        (received,) = server.handler.received

    assert said == f"127.0.0.1: {QUEUE_REPLY.removeprefix('250 ')}"
    assert received.mail_from == "reports@example.com"
    assert received.rcpt_tos == ["owner@example.com"]


def test_smtp_without_tls_only_to_a_relay_on_this_machine() -> None:
    with smtp_server(tls=False, login=False) as server:
        sender = _smtp(server, FixedClock(), security="none", username="", password="")
        sender.send(email())
        assert len(server.messages) == 1


def test_smtp_refuses_a_server_without_starttls_before_sending_the_password() -> None:
    with smtp_server(tls=False, login=False) as server:
        with pytest.raises(EmailRejected, match="no STARTTLS"):
            _smtp(server, FixedClock()).send(email())
        assert server.messages == []


def test_a_wrong_password_is_refused_for_good_and_never_echoed() -> None:
    with smtp_server() as server:
        sender = _smtp(server, FixedClock(), password="not-the-password")
        with pytest.raises(EmailRejected, match="login was refused") as refused:
            sender.send(email())
        assert "not-the-password" not in refused.value.message
        with pytest.raises(EmailRejected, match="login was refused"):
            sender.check_login()


@pytest.mark.parametrize(
    ("answer", "error"),
    [("550 5.1.1 No such user", EmailRejected), ("450 4.2.1 Mailbox busy", EmailUnavailable)],
)
def test_a_refused_recipient_is_final_on_5xx_and_retried_on_4xx(
    answer: str, error: type[Exception]
) -> None:
    with smtp_server() as server:
        server.handler.refuse_recipient = answer
        with pytest.raises(error, match=answer.split()[0]):
            _smtp(server, FixedClock()).send(email())
        assert server.messages == []


def test_a_server_that_cannot_be_reached_is_worth_retrying() -> None:
    sender = SmtpSender("127.0.0.1", free_port(), SENDER, FixedClock(), timeout_seconds=5)

    with pytest.raises(EmailUnavailable, match="cannot send"):
        sender.send(email())


def test_the_doctors_checks_log_in_and_ask_about_the_sender_without_sending() -> None:
    with smtp_server() as server:
        sender = _smtp(server, FixedClock())
        sender.check_login()
        sender.check_sender()
        server.handler.refuse_sender = "553 5.7.1 Sender address rejected: not owned by user"
        with pytest.raises(EmailRejected, match="553"):
            sender.check_sender()
        assert server.messages == []
