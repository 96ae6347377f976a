from pytest_bdd import given, parsers, scenarios, then, when

from tests.features.conftest import in_process
from tests.features.drivers import Links, Refusal, Why
from tests.features.drivers.base import stretched

scenarios("reports.feature")


@given("I was given a download link", target_fixture="link")
def given_a_link(driver, submission_id):
    links = driver.links(submission_id)
    assert isinstance(links, Links), links
    return links.download_url


@given("its file went missing from the report storage")
def file_went_missing(driver, submission_id):
    driver.lose_report_file(submission_id)


@when(parsers.parse("{minutes:d} minutes pass"))
def minutes_pass(driver, minutes):
    in_process(driver).harness.clock.advance(minutes=minutes)


@when("I stretch that link's expiry by a day", target_fixture="link")
def stretch(link):
    return stretched(link)


@when("I ask about the submission without an id", target_fixture="answer")
def ask_without_id(driver):
    return driver.progress_of_raw_id(None)


@when(parsers.parse('I ask about the submission "{raw_id}"'), target_fixture="answer")
def ask_about(driver, raw_id):
    return driver.progress(raw_id)


@then(parsers.parse("following that link is refused because {why}"))
def link_refused(driver, link, why):
    answer = driver.follow(link)
    assert isinstance(answer, Refusal), f"the link still works: {link}"
    assert answer.why == Why(why), answer


@then("the links last 15 minutes")
def links_last(answer):
    assert isinstance(answer, Links), answer
    assert answer.expires_in_seconds == 15 * 60


@then("the view link gives me the report")
def view_gives_report(driver, answer):
    pdf = driver.follow(answer.view_url)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF"), pdf
