import pytest
from pytest_bdd import parsers, scenarios, then, when

from diagpro.application.payments import Outcome
from tests.features.conftest import progress
from tests.features.drivers import Checkout, Links
from tests.server import pdf_text

scenarios("payment.feature")

# The harness renders with the real renderer, which runs WeasyPrint in a child process.
pytestmark = pytest.mark.process


@pytest.fixture
def harness_options():
    # Real WeasyPrint here: the customer's report is checked as a customer would read it.
    return {"real_renderer": True}


@when(parsers.parse("a signed payment event for {cents:d} cents arrives for my checkout"))
def wrong_amount(driver, submission_id, cents):
    (delivery,) = driver.deliver_payment(submission_id, cents=cents)
    assert delivery.outcome == Outcome.AMOUNT_MISMATCH


@when("a payment event signed with another secret arrives for my checkout", target_fixture="answer")
def forged_payment(driver, submission_id):
    return driver.deliver_forged_payment(submission_id)


@when("I cancel on the checkout", target_fixture="cancelled")
def cancel(driver, submission_id):
    checkout = driver.open_checkout(submission_id)
    assert isinstance(checkout, Checkout), checkout
    driver.cancel(submission_id)
    return checkout


@when("the payment provider reports the payment refunded")
def refunded(driver, submission_id):
    assert driver.deliver_refund(submission_id).outcome == Outcome.REFUNDED


@when(parsers.parse("the payment provider reports {cents:d} cent of the payment refunded"))
def partly_refunded(driver, submission_id, cents):
    assert driver.deliver_refund(submission_id, cents).outcome == Outcome.PARTLY_REFUNDED


@then("only the first delivery is acted on")
def first_delivery_only(deliveries):
    first, *again = deliveries
    assert (first.outcome, first.duplicate) == (Outcome.FULFILLED, False)
    assert again and all(d.duplicate and d.outcome == Outcome.FULFILLED for d in again), again


@then("no report is being made")
def no_report_in_the_making(driver, submission_id):
    now = progress(driver, submission_id)
    assert (now.status, now.attempts) == ("pending", 0)


@then("I can open a new checkout")
def new_checkout(driver, submission_id, cancelled):
    checkout = driver.open_checkout(submission_id)
    assert isinstance(checkout, Checkout), checkout
    assert checkout.session_id != cancelled.session_id
    assert checkout.status == "open"


@then(parsers.parse('the report puts the verdict first and decodes the codes "{codes}"'))
def report_lists(driver, submission_id, tmp_path, codes):
    links = driver.links(submission_id)
    assert isinstance(links, Links), links
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(driver.follow(links.download_url))
    text = pdf_text(pdf)
    # The verdict and the next steps open the report; the ranking and the shop's checklist follow.
    headings = ("Most likely cause", "Your next steps", "Likely causes, ranked", "At the shop")
    # Some labels print in capitals (CSS text-transform): compare without case.
    positions = [text.lower().find(heading.lower()) for heading in headings]
    assert -1 not in positions, f"a heading is missing from the PDF: {headings}"
    assert positions == sorted(positions), "the report's parts are out of order"
    assert text.count("Likely causes, ranked") == 1, "the ranking is printed once"
    for code in codes.split(", "):
        assert code in text


@then("fresh download and view links are offered")
def links_offered(driver, submission_id):
    links = driver.links(submission_id)
    assert isinstance(links, Links), links
    assert "attachment" in links.download_url
    assert "inline" in links.view_url
