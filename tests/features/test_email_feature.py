"""Steps of features/email.feature: what reaches the customer's mailbox (the outbox folder)."""

import hashlib
import re

import pytest
from pytest_bdd import parsers, scenarios, then, when

from diagpro.application.payments import Outcome
from tests.features.drivers import Refusal

scenarios("email.feature")

EVENTS = {"my report is ready": "ready", "my payment was refunded": "refunded"}


@pytest.fixture
def mailbox():
    """What this scenario has seen arrive so far (over HTTP the steps wait for more)."""
    return {"seen": 0, "last": None}


def _event(message) -> str:
    # Our Message-ID is <{submission}.{event}@{domain}>: one per event (domain/email.py).
    return message["Message-ID"].strip("<>").split("@")[0].split(".")[1]


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@when(parsers.parse("the payment provider reports the payment refunded, delivered {times:d} times"))
def refunded_again_and_again(driver, submission_id, times):
    first, *again = driver.redeliver_refund(submission_id, times)
    assert first.outcome == Outcome.REFUNDED
    assert all(d.duplicate for d in again), again


@then(parsers.parse("I get {count:d} email saying {what}"))
def emails_about(driver, submission_id, mailbox, count, what):
    event = EVENTS[what]
    arrived = driver.emails(submission_id, at_least=mailbox["seen"] + count)
    about = [m for m in arrived if _event(m) == event]
    assert len(about) == count, [m["Subject"] for m in arrived]
    mailbox["seen"] = len(arrived)
    mailbox["last"] = about[-1]


@then(parsers.parse("I got {count:d} emails in all"))
def emails_in_all(driver, submission_id, count):
    assert len(driver.emails(submission_id, at_least=count)) == count


@then("the email names my machine and my problem")
def names_machine_and_problem(mailbox):
    message = mailbox["last"]
    assert message["To"].addresses[0].addr_spec == "qa+features@example.com"
    assert "Ford F-150" in message["Subject"]
    text = _text(message)
    assert "2015 Ford F-150" in text
    assert "Rough idle and shaking at stops" in text


@then("the email has a plain-text part and an HTML part that say the same")
def two_parts(mailbox):
    message = mailbox["last"]
    assert message.get_content_type() == "multipart/alternative"
    text, html = _text(message), _html(message)
    for line in (line for line in text.splitlines() if line.startswith(("Report ID", "SHA-256"))):
        assert line in html
    link = re.search(r"https?://\S+/view/\S+", text)
    assert link and f'href="{link.group(0)}"' in html


@then("the email gives the report ID and the SHA-256 of the PDF")
def report_id_and_digest(mailbox, submission_id):
    text = _text(mailbox["last"])
    assert f"Report ID: {submission_id}" in text
    assert re.search(r"SHA-256 of the PDF: [0-9a-f]{64}\b", text)


@then("the email's link opens my report, whose SHA-256 is the one the email gives")
def link_opens_the_report(driver, mailbox, submission_id):
    text = _text(mailbox["last"])
    link = re.search(r"https?://\S+/view/(\S+)", text)
    assert link and link.group(1) == submission_id  # the long-lived page, never a signed link
    pdf = driver.open_emailed_link(link.group(0))
    assert not isinstance(pdf, Refusal), pdf
    digest = re.search(r"SHA-256 of the PDF: ([0-9a-f]{64})", text)
    assert digest and hashlib.sha256(pdf).hexdigest() == digest.group(1)
