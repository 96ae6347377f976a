"""Steps of features/privacy.feature: the retention purge and a request to be forgotten, run as
the operator would (the container's use cases: ``diagpro purge`` and ``diagpro forget`` call the
same ones), on the in-process driver whose clock the steps move."""

from pytest_bdd import given, parsers, scenarios, then, when

from diagpro.application.retention import NothingToForget
from tests.features.conftest import F150, in_process, progress
from tests.features.drivers import Refusal, Why

scenarios("privacy.feature")

PERSONAL = {
    **F150,
    "fullName": "Pat Jones",
    "phone": "+1 555 123 4567",
    "serialNumber": "1FTFW1EF5FFA00000",
}


@given("I described another problem under the same email", target_fixture="second_id")
def another_problem(driver):
    submitted = driver.submit({**PERSONAL, "problemDescription": "The brakes squeal"})
    assert isinstance(submitted, str), submitted
    return submitted


@when(parsers.parse("{days:d} days pass"))
def days_pass(driver, days):
    in_process(driver).harness.clock.advance(days=days)


@when("the daily purge runs")
def daily_purge(driver):
    run = in_process(driver).harness.container.purge_expired().until_done()
    assert not run.failed, run.failed


@when("I ask to be forgotten by my email address", target_fixture="forgotten")
def forget_me(driver):
    harness = in_process(driver).harness
    harness.save({**PERSONAL, "email": "someone.else@example.com"})  # another customer
    return harness.container.forget_customer()(F150["email"].upper())


@when(parsers.parse('the operator is asked to forget "{who}"'), target_fixture="answer")
def forget_someone(driver, who):
    try:
        return in_process(driver).harness.container.forget_customer()(who)
    except NothingToForget as exc:
        return Refusal(Why.NOTHING_MATCHES, exc.message)


@then("my name, email, phone, VIN and description are no longer kept")
def details_gone(driver, submission_id):
    sub = in_process(driver).harness.submission(submission_id)
    intake = sub.intake
    assert sub.erased_at is not None
    assert (intake.email, intake.full_name, intake.phone, intake.serial_number) == ("", "", "", "")
    assert (intake.problem_description, intake.error_codes, intake.make) == ("", "", "")
    assert sub.analysis is None


@then("my details are still kept")
def details_kept(driver, submission_id):
    sub = in_process(driver).harness.submission(submission_id)
    assert sub.erased_at is None and sub.intake.email == F150["email"]


@then("when the worker runs my report is made")
def report_made(driver, submission_id):
    driver.wait_for_the_worker(submission_id)
    assert progress(driver, submission_id).status == "ready"


@then("my report is gone")
def report_gone(driver, submission_id):
    assert not in_process(driver).harness.container.reports().exists(submission_id)


@then("the order still records my payment of $4.99 and its Stripe ids")
def accounting_kept(driver, submission_id):
    sub = in_process(driver).harness.submission(submission_id)
    assert sub.payment is not None
    assert (sub.payment.amount_cents, sub.payment.currency) == (499, "usd")
    assert sub.payment.event_id and sub.payment.checkout_session_id
    assert sub.checkout is not None and sub.checkout.session_id == sub.payment.checkout_session_id
    assert sub.created_at <= sub.payment.paid_at <= sub.erased_at


@then("asking for the download links is refused because the report was erased")
def links_refused(driver, submission_id):
    answer = driver.links(submission_id)
    assert isinstance(answer, Refusal) and answer.why == Why.ERASED, answer


@then("both of my submissions are erased at once")
def both_erased(driver, forgotten, submission_id, second_id):
    assert sorted(forgotten.erased) == sorted([submission_id, second_id])
    harness = in_process(driver).harness
    assert all(harness.submission(sid).erased_at is not None for sid in forgotten.erased)


@then("another customer's submission is untouched")
def others_untouched(driver):
    store = in_process(driver).harness.container.submissions()
    assert len(store.with_email("someone.else@example.com")) == 1
