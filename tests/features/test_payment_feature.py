import subprocess

import pytest
from pytest_bdd import parsers, scenarios, then, when

from diagpro.adapters.stripe_events import build_event, session_object, sign_event
from diagpro.domain.analysis import SECTIONS
from tests.harness import Harness

scenarios("payment.feature")

# The harness renders with the real renderer, which runs WeasyPrint in a child process.
pytestmark = pytest.mark.process


@pytest.fixture
def harness(tmp_path):
    # Real WeasyPrint here: the customer's report is checked as a customer would read it.
    return Harness.build(tmp_path, real_renderer=True)


@when("I pay on the checkout")
def pay(harness, submission_id, ctx):
    ctx["receipt"] = harness.deliver(harness.checkout_and_pay(submission_id))


@when(parsers.parse("I pay on the checkout and the payment event is delivered {times:d} times"))
def pay_and_redeliver(harness, submission_id, times):
    event = harness.checkout_and_pay(submission_id)
    receipts = [harness.deliver(event) for _ in range(times)]
    assert sum(not r.duplicate for r in receipts) == 1


@when(parsers.parse("a signed payment event for {cents:d} cents arrives for my checkout"))
def wrong_amount(harness, submission_id, cents):
    session = harness.container.open_checkout()(submission_id)
    obj = session_object(session) | {"amount_total": cents, "payment_status": "paid"}
    payload = build_event(
        "evt_wrong_amount", "checkout.session.completed", obj, harness.clock.now()
    )
    secret = harness.container.settings().local_webhook_secret
    harness.deliver(sign_event(payload, secret))


@when("I cancel on the checkout")
def cancel(harness, submission_id):
    session = harness.container.open_checkout()(submission_id)
    harness.deliver(harness.container.gateway().cancel(session.id))


@then("I can open a new checkout")
def new_checkout(harness, submission_id):
    session = harness.container.open_checkout()(submission_id)
    assert session.status == "open"


@then(parsers.parse('the report lists the 15 sections and the codes "{codes}"'))
def report_lists(harness, submission_id, tmp_path, codes):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(harness.container.reports().read(submission_id))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    positions = [text.find(f"{n}. {title}") for n, (_, title) in enumerate(SECTIONS, start=1)]
    assert -1 not in positions, "a section heading is missing from the PDF"
    assert positions == sorted(positions), "sections are out of order"
    for code in codes.split(", "):
        assert code in text


@then("fresh download and view links are offered")
def links_offered(harness, submission_id):
    links = harness.container.download_links()(submission_id)
    assert "disposition=attachment" in links.download_url
    assert "disposition=inline" in links.view_url


@then(parsers.parse("the analysis ran {count:d} time"))
def analysis_ran(harness, count):
    assert len(harness.analyzer.calls) == count
