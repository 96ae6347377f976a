"""The customer's pages through the HTTP app: form, review, checkout, success, cancel, errors.

In-memory adapters and a recording renderer keep each test in milliseconds; the local checkout's
signed events are delivered to /webhook/stripe by the test, after the redirect, as Stripe does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from diagpro.container import Container
from diagpro.domain.equipment import CATEGORIES, DETAIL_LABELS
from diagpro.domain.errors import RenderFailed
from diagpro.domain.intake import CHOICE_LABELS, CHOICES, PAYLOAD_KEYS
from diagpro.domain.jobs import JobKind
from diagpro.domain.payment import SignedEvent
from diagpro.domain.submission import Status, Submission
from diagpro.entrypoints.http import local, order_progress, pages
from diagpro.entrypoints.http.app import create_app
from tests.doubles import FixedClock, RecordingRenderer
from tests.forms import send_form
from tests.harness import container_for_tests
from tests.lost_reports import lose_report

UNKNOWN_ID = "diag_1764115200000_" + "0" * 24

GOOD_FORM = {
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "errorCodes": "P0301 P0171",
    "symptoms": "rough idle when cold, shakes at stoplights\nsmells of fuel",
    "problemDescription": "Rough idle and shaking at stops",
    "urgencyLevel": "high",
    "fullName": "Pat Rivera",
    "email": "owner@example.com",
    "automotive.fuelType": "gasoline",
    "automotive.checkEngineLightOn": "yes",
    # Every other category's boxes post empty, as a browser without JavaScript sends them.
    "marine.fuelType": "",
    "gas-trucks.fuelType": "",
}


# -- a small HTML reader ---------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    inside: list[Element] = field(default_factory=list)  # every element within this one


@dataclass
class _Collector(HTMLParser):
    elements: list[Element] = field(default_factory=list)
    _open: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        for parent in self._open:
            parent.inside.append(element)
        if tag not in ("input", "meta", "link", "br", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


class Page:
    def __init__(self, body: str) -> None:
        self.html = body
        collector = _Collector()
        collector.feed(body)
        self.elements = collector.elements

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert found, f"no element #{element_id}"
        return found[0]

    def has_id(self, element_id: str) -> bool:
        return any(e.attrs.get("id") == element_id for e in self.elements)

    def named(self, name: str) -> list[Element]:
        return [e for e in self.elements if e.attrs.get("name") == name]

    def text(self, element_id: str) -> str:
        return " ".join(self.by_id(element_id).text.split())

    def visible(self, element_id: str) -> bool:
        return "hidden" not in self.by_id(element_id).attrs


# -- the app ---------------------------------------------------------------------------------


@dataclass
class Site:
    client: TestClient[Any]
    container: Container
    renderer: RecordingRenderer
    events: list[SignedEvent]

    def get(self, url: str) -> Any:
        return self.client.get(url, follow_redirects=False)

    def post(self, url: str, data: dict[str, str] | None = None) -> Any:
        """A form sent from its page, with the page's CSRF token."""
        return send_form(self.client, url, data)

    def page(self, url: str, status: int = 200) -> Page:
        response = self.get(url)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("text/html")
        return Page(response.text)

    def submit(self, **changes: str) -> str:
        response = self.post("/intake", {**GOOD_FORM, **changes})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith("/review/diag_")
        return str(location.removeprefix("/review/"))

    def checkout(self, sid: str) -> str:
        """Pay button -> the local checkout page; returns the checkout session id."""
        response = self.post(f"/review/{sid}/checkout")
        assert response.status_code == 303
        path = urlparse(response.headers["location"]).path
        assert path.startswith("/checkout/local/cs_local_")
        return path.rsplit("/", 1)[1]

    def pay(self, sid: str, *, deliver: bool = True) -> str:
        """Pay on the local checkout page; returns where it redirects (the success page)."""
        session_id = self.checkout(sid)
        response = self.post(f"/checkout/local/{session_id}/pay")
        assert response.status_code == 303
        if deliver:
            self.deliver()
        return str(response.headers["location"])

    def deliver(self) -> None:
        """What Stripe does after the redirect: POST the signed events to the webhook."""
        while self.events:
            event = self.events.pop(0)
            response = self.client.post(
                "/webhook/stripe",
                content=event.payload,
                headers={"stripe-signature": event.signature, "content-type": "application/json"},
            )
            assert response.status_code == 200, response.text

    def work(self) -> None:
        """Work one report job (and any email job due before it)."""
        process = self.container.process_jobs()
        while (job := process()) is not None and job.kind is not JobKind.REPORT:
            pass

    def submission(self, sid: str) -> Submission:
        return self.container.submissions().get(sid)


def _build(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock | None = None,
    env: dict[str, str] | None = None,
) -> Site:
    container = container_for_tests(tmp_path, env={"DIAGPRO_JOB_MAX_ATTEMPTS": "1", **(env or {})})
    renderer = RecordingRenderer()
    container.renderer.override(providers.Object(renderer))
    if clock is not None:
        container.clock.override(providers.Object(clock))
    events: list[SignedEvent] = []

    async def keep_for_the_test(event: SignedEvent, base_url: str) -> None:
        events.append(event)

    monkeypatch.setattr(local, "deliver_to_webhook", keep_for_the_test)
    return Site(TestClient(create_app(container, start_worker=False)), container, renderer, events)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    built = _build(tmp_path, monkeypatch)
    with built.client:
        yield built


# -- the form --------------------------------------------------------------------------------


def test_the_form_offers_every_category_with_its_details_and_every_field(site: Site) -> None:
    response = site.get("/")
    assert response.status_code == 200
    page = Page(response.text)
    form = page.by_id("intake-form")
    assert (form.attrs["method"], form.attrs["action"]) == ("post", "/intake")

    radios = [e.attrs["value"] for e in page.named("equipmentType")]
    assert radios == [c.key for c in CATEGORIES]
    for category in CATEGORIES:
        assert html.escape(category.label) in response.text
        box = page.by_id(f"details-{category.key}")
        assert box.tag == "fieldset" and box.attrs["data-category"] == category.key
        for detail in category.detail_fields:
            name = f"{category.key}.{detail}"
            assert len(page.named(name)) == 1, name
            label = [
                e for e in page.elements if e.attrs.get("for") == f"f-{category.key}--{detail}"
            ]
            assert label and label[0].text.strip() == DETAIL_LABELS[detail]

    for key in PAYLOAD_KEYS:
        assert page.named(key), key
    for key, values in CHOICES.items():
        offered = [e.attrs["value"] for e in page.by_id(f"f-{key}").inside if e.tag == "option"]
        assert offered == ["", *values], key
        assert set(CHOICE_LABELS[key]) == set(values)
    email = page.by_id("f-email").attrs
    assert (email["type"], email["autocomplete"], "required" in email) == ("email", "email", True)
    assert page.by_id("f-year").attrs["inputmode"] == "numeric"
    assert "=&#34;" not in response.text  # no attribute escaped into text
    assert page.by_id("f-symptoms").tag == "textarea"
    assert "$4.99 USD" in response.text


def test_pages_are_public_escaped_and_not_cached(site: Site) -> None:
    response = site.get("/")  # no x-api-key header
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert pages.template_engine().engine.autoescape is True
    for name, media_type in (("site.css", "text/css"), ("form.js", "text/javascript")):
        asset = site.get(f"/assets/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media_type)
    assert site.get("/assets/..%2Fpages.py").status_code == 404
    assert site.get("/assets/nothing.css").status_code == 404


def test_a_bad_form_names_every_bad_field_beside_it_and_keeps_the_values(site: Site) -> None:
    response = site.post(
        "/intake",
        {
            **GOOD_FORM,
            "email": "not-an-email",
            "year": "15",
            "phone": "call me",
            "shopQuoteAmount": "lots",
            "problemDescription": "<b>It knocks</b> & rattles",
            "marine.waterType": "salt",  # a detail of a category the customer did not choose
        },
    )
    assert response.status_code == 400
    page = Page(response.text)
    for name in ("email", "year", "phone", "shopQuoteAmount", "marine--waterType"):
        assert page.has_id(f"f-{name}-error"), name
        assert page.by_id(f"f-{name}").attrs.get("aria-invalid") == "true"
    assert "not-an-email" in page.text("f-email-error")
    assert "belongs to Marine" in page.text("f-marine--waterType-error")
    assert "Please check 5 things" in page.text("error-summary")
    assert "Year: '15' is not a four-digit year" in page.text("error-summary")
    # What the customer typed is still there, escaped.
    assert page.by_id("f-make").attrs["value"] == "Ford"
    assert page.by_id("f-email").attrs["value"] == "not-an-email"
    assert page.by_id("f-marine--waterType").attrs["value"] == "salt"
    assert page.by_id("f-problemDescription").text == "<b>It knocks</b> & rattles"
    assert "&lt;b&gt;It knocks&lt;/b&gt; &amp; rattles" in response.text
    assert "checked" in page.by_id("f-equipmentType-automotive").attrs
    assert "selected" in next(e for e in page.elements if e.attrs.get("value") == "high").attrs
    assert page.by_id("f-symptoms").text.startswith("rough idle when cold")
    assert "open" in page.by_id("more-details").attrs  # the stray box is not hidden away


def test_invisible_characters_are_named_beside_their_box_and_emoji_pass(site: Site) -> None:
    response = site.post(
        "/intake",
        {**GOOD_FORM, "make": "Fo\u200brd", "problemDescription": "👨\u200d🔧 says: coils"},
    )
    assert response.status_code == 400
    page = Page(response.text)
    assert "invisible or control characters" in page.text("f-make-error")
    assert not page.has_id("f-problemDescription-error")
    sid = site.submit(problemDescription="👨\u200d🔧 says: coils")
    assert site.submission(sid).intake.problem_description == "👨\u200d🔧 says: coils"


def test_an_empty_form_asks_for_the_three_things_the_rule_requires(site: Site) -> None:
    response = site.post("/intake", {})
    assert response.status_code == 400
    page = Page(response.text)
    assert page.has_id("f-equipmentType-error") and page.has_id("f-email-error")
    assert "something to analyse" in page.text("f-problemDescription-error")


def test_a_good_form_is_saved_and_redirects_to_its_review(site: Site) -> None:
    sid = site.submit()
    intake = site.submission(sid).intake
    assert intake.symptoms == (
        "rough idle when cold",
        "shakes at stoplights",
        "smells of fuel",
    )
    assert dict(intake.details) == {"fuelType": "gasoline", "checkEngineLightOn": "yes"}
    assert (intake.phone, intake.previous_repairs, intake.shop_quote_cents) == ("", "", None)
    assert site.get("/intake").headers["location"] == "/"  # a reload of a refused form


def test_the_review_shows_what_was_saved_escaped_with_edit_and_pay(site: Site) -> None:
    sid = site.submit(problemDescription="<script>alert('x')</script> then it stalls")
    response = site.get(f"/review/{sid}")
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; then it stalls" in response.text
    page = Page(response.text)
    main = " ".join(page.by_id("submission-id").text.split())
    assert main == sid
    for expected in (
        "2015 Ford F-150",
        "Cars &amp; SUVs",
        "P0301 P0171",
        "shakes at stoplights",
        "Fuel type",
        "gasoline",
        "Check engine light on",
        "Critical issue",
        "Pat Rivera",
        "owner@example.com",
    ):
        assert expected in response.text, expected
    assert page.by_id("edit").attrs["href"] == f"/?edit={sid}"
    assert page.text("pay-button") == "Pay $4.99 USD"
    forms = [e for e in page.elements if e.tag == "form"]
    assert forms[0].attrs["action"] == f"/review/{sid}/checkout"


def test_edit_fills_the_form_with_the_saved_description(site: Site) -> None:
    sid = site.submit()
    page = site.page(f"/?edit={sid}")
    assert sid in page.text("editing")
    assert page.by_id("f-model").attrs["value"] == "F-150"
    assert page.by_id("f-automotive--fuelType").attrs["value"] == "gasoline"
    assert page.by_id("f-symptoms").text.splitlines()[1] == "shakes at stoplights"
    assert "checked" in page.by_id("f-equipmentType-automotive").attrs
    # Sent back unchanged, it saves a new submission with the same description.
    values = {e.attrs["name"]: e.attrs.get("value", "") for e in page.elements if e.tag == "input"}
    assert values["automotive.fuelType"] == "gasoline"


# -- paying and following the order ----------------------------------------------------------


def test_pay_then_follow_the_order_until_the_report_is_ready(site: Site) -> None:
    sid = site.submit()
    session_id = site.checkout(sid)
    checkout = site.page(f"/checkout/local/{session_id}")
    assert checkout.text("session-id") == session_id
    assert checkout.has_id("pay") and checkout.has_id("cancel")
    assert "/assets/site.css" in checkout.html  # restyled on the shared base

    success_url = site.pay(sid)
    assert success_url == f"/success?session_id={session_id}"
    assert site.submission(sid).status == Status.PAID

    waiting = site.page(success_url)
    assert waiting.text("submission-id") == sid
    assert waiting.text("headline") == "Payment received: your analysis is queued"
    assert '<meta http-equiv="refresh" content="5">' in waiting.html
    assert not waiting.visible("ready") and waiting.visible("working")
    status_url = waiting.by_id("order").attrs["data-status-url"]
    assert status_url == f"/success/status?session_id={session_id}"
    before = site.get(status_url)
    assert before.status_code == 200
    assert before.json()["status"] == "paid" and "downloadUrl" not in before.json()
    early = site.get(f"/download/{sid}")  # a bookmarked download link, too early
    assert early.headers["location"] == f"/success?submission_id={sid}"

    site.work()

    after = site.get(status_url).json()
    assert after["status"] == "ready" and after["submissionId"] == sid
    assert (after["downloadUrl"], after["viewUrl"]) == (f"/download/{sid}", f"/view/{sid}")
    ready = site.page(success_url)
    assert ready.text("headline") == "Your report is ready"
    assert ready.visible("ready") and not ready.visible("working")
    assert ready.by_id("download").attrs["href"] == f"/download/{sid}"
    assert 'http-equiv="refresh"' not in ready.html
    link = site.get(f"/download/{sid}")
    assert link.status_code == 302
    assert parse_qs(urlparse(link.headers["location"]).query)["disposition"] == ["attachment"]

    review = site.page(f"/review/{sid}")
    assert not review.has_id("pay-button")
    assert review.by_id("order-link").attrs["href"] == f"/success?submission_id={sid}"
    # Paying again is refused quietly: back to the review that shows the order's state.
    assert site.post(f"/review/{sid}/checkout").headers["location"] == f"/review/{sid}"


def test_the_success_page_fulfils_when_the_webhook_is_late(site: Site) -> None:
    sid = site.submit()
    success_url = site.pay(sid, deliver=False)
    assert site.submission(sid).status == Status.PENDING
    page = site.page(success_url)
    assert site.submission(sid).status == Status.PAID
    assert page.text("headline").startswith("Payment received")
    site.deliver()  # the webhook arrives after all: nothing changes twice
    site.work()
    assert site.submission(sid).status == Status.READY


def test_the_legacy_submission_id_link_follows_and_fulfils_too(site: Site) -> None:
    sid = site.submit()
    site.pay(sid, deliver=False)
    page = site.page(f"/success?submission_id={sid}")
    assert site.submission(sid).status == Status.PAID
    assert page.by_id("order").attrs["data-status-url"] == f"/success/status?submission_id={sid}"
    assert site.get(f"/success/status?submission_id={sid}").json()["status"] == "paid"


def test_an_unpaid_order_on_the_success_page_points_back_to_paying(site: Site) -> None:
    sid = site.submit()
    site.checkout(sid)
    page = site.page(f"/success?submission_id={sid}")
    assert page.text("headline") == "Waiting for your payment to be confirmed"
    assert f'href="/review/{sid}"' in page.html


def test_a_failed_report_says_so_plainly_and_try_again_works(site: Site) -> None:
    sid = site.submit()
    site.renderer.fail_next(RenderFailed("the PDF engine ran out of memory"))
    success_url = site.pay(sid)
    site.work()
    assert site.submission(sid).status == Status.FAILED

    page = site.page(success_url)
    assert page.text("headline") == "We could not finish your report"
    assert page.visible("failed") and page.visible("retry-form")
    assert page.text("failure-reason").startswith("We could not make your report.")
    assert "out of memory" not in page.html  # the operator's reason, not the customer's
    assert 'http-equiv="refresh"' not in page.html
    status = site.get(page.by_id("order").attrs["data-status-url"]).json()
    assert status["status"] == "failed" and status["canRetry"] is True
    assert status["failureReason"].startswith("We could not make your report.")

    session_id = parse_qs(urlparse(success_url).query)["session_id"][0]
    retried = site.post("/success/retry", {"submission_id": sid, "session_id": session_id})
    assert retried.status_code == 303 and retried.headers["location"] == success_url
    assert site.submission(sid).status == Status.PAID
    site.work()
    assert site.page(success_url).text("headline") == "Your report is ready"


def test_a_lost_report_file_is_prepared_again_while_the_success_page_polls_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock()
    site = _build(tmp_path, monkeypatch, clock)
    with site.client:
        _lost_report_is_prepared_again(site, clock)


def _lost_report_is_prepared_again(site: Site, clock: FixedClock) -> None:
    sid = site.submit()
    success_url = site.pay(sid, deliver=False)  # signed for the fixed clock: the page fulfils
    site.page(success_url)
    site.work()
    assert site.submission(sid).status == Status.READY
    clock.advance(days=3)  # the file is lost long after the payment
    lose_report(site.container, sid)
    # A bookmarked download: back to the order's page, which follows the report being made.
    download = site.get(f"/download/{sid}")
    assert download.status_code == 303
    assert download.headers["location"] == f"/success?submission_id={sid}"

    page = site.page(success_url)
    assert page.text("headline") == "Writing your report"
    assert "being prepared" in page.text("explanation").lower()
    assert page.visible("working") and not page.visible("ready") and not page.visible("failed")
    assert not page.visible("slow")  # counted from when it was queued again, not from payment
    assert '<meta http-equiv="refresh" content="5">' in page.html
    status = site.get(page.by_id("order").attrs["data-status-url"]).json()
    assert status["status"] == "paid" and "downloadUrl" not in status
    assert site.submission(sid).status == Status.PAID
    assert site.submission(sid).analysis is not None

    site.work()

    ready = site.get(f"/success/status?submission_id={sid}").json()
    assert ready["status"] == "ready" and ready["downloadUrl"] == f"/download/{sid}"
    assert site.get(f"/download/{sid}").status_code == 302
    assert len(site.renderer.rendered) == 2


def test_try_again_stops_being_offered_after_a_few_tries(site: Site) -> None:
    sid = site.submit()
    site.pay(sid)
    for _ in range(order_progress.MAX_CUSTOMER_RETRIES + 1):
        site.renderer.fail_next(RenderFailed("still broken"))
        site.work()
        site.post("/success/retry", {"submission_id": sid})
    assert site.submission(sid).status == Status.FAILED
    page = site.page(f"/success?submission_id={sid}")
    assert not page.visible("retry-form") and page.visible("no-retry")


def test_a_slow_order_says_so_and_refreshes_less_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock()
    site = _build(tmp_path, monkeypatch, clock)
    with site.client:
        sid = site.submit()
        success_url = site.pay(sid, deliver=False)  # signed for the fixed clock: not delivered
        assert not site.page(success_url).visible("slow")
        clock.advance(order_progress.SLOW_AFTER_SECONDS + 1)
        page = site.page(success_url)
        assert page.visible("slow") and sid in page.text("slow")
        assert "taking longer than usual" in page.text("slow")
        assert '<meta http-equiv="refresh" content="30">' in page.html
        assert site.get(f"/success/status?submission_id={sid}").json()["slow"] is True


def test_cancelling_keeps_the_description_for_paying_later(site: Site) -> None:
    sid = site.submit()
    session_id = site.checkout(sid)
    response = site.post(f"/checkout/local/{session_id}/cancel")
    assert response.headers["location"] == f"/cancel?submission_id={sid}"
    site.deliver()  # the session's expiry event
    page = site.page(response.headers["location"])
    assert "Payment cancelled" in page.html and sid in page.text("cancelled")
    assert page.by_id("back-to-review").attrs["href"] == f"/review/{sid}"
    assert site.submission(sid).status == Status.PENDING
    assert site.checkout(sid) != session_id  # paying later opens a fresh checkout


@pytest.mark.parametrize(
    "url",
    [
        f"/review/{UNKNOWN_ID}",
        "/review/not-an-id",
        f"/?edit={UNKNOWN_ID}",
        "/success?session_id=cs_local_nothing",
        f"/success?submission_id={UNKNOWN_ID}",
        "/success",
        "/cancel?submission_id=<script>",
        f"/download/{UNKNOWN_ID}",
    ],
)
def test_unknown_orders_get_a_friendly_not_found_page(site: Site, url: str) -> None:
    response = site.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = Page(response.text)
    assert "We could not find that order" in response.text
    assert "<script" not in response.text
    assert [e.attrs["href"] for e in page.elements if "button" in e.attrs.get("class", "")]


def test_the_status_poll_answers_json_even_for_unknown_orders(site: Site) -> None:
    response = site.get(f"/success/status?submission_id={UNKNOWN_ID}")
    assert response.status_code == 404
    assert response.json()["code"] == "SUBMISSION_NOT_FOUND"
    assert site.post(f"/review/{UNKNOWN_ID}/checkout").status_code == 404


def test_the_form_is_rate_limited_like_the_api_with_a_page_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _build(tmp_path, monkeypatch, env={"DIAGPRO_SUBMISSIONS_PER_MINUTE": "1"})
    with site.client:
        site.submit()
        response = site.post("/intake", GOOD_FORM)
        assert response.status_code == 429
        assert "Too many submissions" in Page(response.text).html
        assert site.get("/").status_code == 200  # only creating submissions is limited


def test_no_page_answers_with_a_stack_trace(site: Site) -> None:
    response = site.client.post(
        "/intake", content=b"\xff\xfe", headers={"content-type": "application/json"}
    )
    assert response.status_code < 500
    assert not re.search(r"Traceback|File \"", response.text)
