"""The email settings (config/emails.py) and what `diagpro doctor` says about them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers

from diagpro.config import ConfigError, load_settings, with_local_secrets
from diagpro.container import Container
from diagpro.entrypoints.doctor.email_checks import email_sender
from tests.smtp_server import smtp_server

SMTP = {
    "DIAGPRO_EMAIL_SENDER": "smtp",
    "DIAGPRO_EMAIL_FROM": "diagpro <reports@example.com>",
    "DIAGPRO_SMTP_HOST": "smtp.example.com",
    "DIAGPRO_SMTP_USER": "apikey",
    "DIAGPRO_SMTP_PASSWORD": "SG.secret",
    "DIAGPRO_PUBLIC_BASE_URL": "https://diag.example.com",
}


def test_by_default_emails_go_to_the_outbox_from_a_reserved_address() -> None:
    email = load_settings({}).email
    assert (email.sender, email.sender_address) == ("outbox", "diagpro <reports@diagpro.localhost>")
    assert email.domain == "diagpro.localhost"


def test_smtp_with_everything_it_needs_loads() -> None:
    email = load_settings(SMTP).email
    assert (email.smtp_host, email.smtp_port, email.smtp_security) == (
        "smtp.example.com",
        587,
        "starttls",
    )
    assert email.domain == "example.com"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DIAGPRO_SMTP_HOST": ""}, "needs DIAGPRO_SMTP_HOST"),
        ({"DIAGPRO_EMAIL_FROM": ""}, "needs DIAGPRO_EMAIL_FROM"),
        ({"DIAGPRO_EMAIL_FROM": "reports"}, "is not an email address"),
        ({"DIAGPRO_EMAIL_FROM": "a@b.com\nBcc: c@d.com"}, "is not an email address"),
        ({"DIAGPRO_SMTP_PASSWORD": ""}, "DIAGPRO_SMTP_PASSWORD is not"),
        ({"DIAGPRO_SMTP_SECURITY": "none"}, "only accepted for a relay on this machine"),
        ({"DIAGPRO_PUBLIC_BASE_URL": "http://127.0.0.1:8000"}, "set it to the address customers"),
        ({"DIAGPRO_EMAIL_SENDER": "outbox"}, "set DIAGPRO_EMAIL_SENDER=smtp"),
    ],
)
def test_a_combination_that_cannot_reach_a_customer_is_refused(
    change: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings({**SMTP, **change})


def _checks(tmp_path: Path, env: dict[str, str]) -> list:
    settings = with_local_secrets(load_settings({**env, "DIAGPRO_DATA_DIR": str(tmp_path)}))
    container = Container()
    container.settings.override(providers.Object(settings))
    return email_sender(settings, container)


def test_the_doctor_says_the_outbox_sends_nothing(tmp_path: Path) -> None:
    (check,) = _checks(tmp_path, {})
    assert check.ok and check.severity == "warning"
    assert str(tmp_path / "outbox") in check.detail and "DIAGPRO_EMAIL_SENDER=smtp" in check.detail


def _against(server, **change: str) -> dict[str, str]:
    return {
        **SMTP,
        "DIAGPRO_SMTP_HOST": server.host,
        "DIAGPRO_SMTP_PORT": str(server.port),
        "DIAGPRO_SMTP_SECURITY": "none",
        "DIAGPRO_SMTP_USER": server.user,
        "DIAGPRO_SMTP_PASSWORD": server.password,
        **change,
    }


def test_the_doctor_logs_in_and_asks_about_the_sender(tmp_path: Path) -> None:
    with smtp_server(tls=False) as server:
        login, sender = _checks(tmp_path, _against(server))
        assert (login.name, login.ok) == ("smtp login", True)
        assert (sender.name, sender.ok) == ("email sender", True)
        assert "reports@example.com" in sender.detail

        server.handler.refuse_sender = "553 5.7.1 Sender address rejected"
        _, refused = _checks(tmp_path, _against(server))
        assert refused.blocks and "553" in refused.detail and "DIAGPRO_EMAIL_FROM" in refused.fix
        assert server.messages == []


def test_the_doctor_blocks_on_a_refused_login(tmp_path: Path) -> None:
    with smtp_server(tls=False) as server:
        (login,) = _checks(tmp_path, _against(server, DIAGPRO_SMTP_PASSWORD="wrong-password"))
    assert login.blocks and "login was refused" in login.detail
    assert "wrong-password" not in login.detail


DEPLOYED = {
    "STRIPE_SECRET_KEY": "sk_test_" + "a" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "b" * 32,
    "DIAGPRO_PUBLIC_BASE_URL": "https://diag.example.com",
    "DIAGPRO_API_KEYS": "dpk_" + "c" * 32,
    "DIAGPRO_ANALYZER": "offline",
}


def test_a_deployment_left_on_the_outbox_by_default_is_warned_about(tmp_path: Path) -> None:
    (check,) = _checks(tmp_path, DEPLOYED)
    assert not check.ok and check.severity == "warning" and "not sent" in check.detail
    assert "DIAGPRO_EMAIL_SENDER=smtp" in check.fix

    (chosen,) = _checks(tmp_path, {**DEPLOYED, "DIAGPRO_EMAIL_SENDER": "outbox"})
    assert chosen.ok and chosen.severity == "warning"  # someone chose it (a staging service)
