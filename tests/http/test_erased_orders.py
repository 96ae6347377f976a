"""What the HTTP API answers about an order whose personal data was erased (retention purge or a
request to be forgotten): its status stays, ``erased``/``erasedAt`` are added, and everything
that would hand out or make the report again answers 410 REPORT_ERASED."""

from __future__ import annotations

from datetime import timedelta

from tests.http.conftest import Api, assert_error


def erased_order(api: Api) -> str:
    sid = api.ready()
    api.clock.advance(days=91)
    run = api.container.purge_expired().until_done()
    assert run.erased == [sid]
    return sid


def test_the_status_keeps_the_original_fields_and_says_it_was_erased(api: Api) -> None:
    sid = erased_order(api)
    erased_at = api.clock.now()

    body = api.status(sid)

    assert body["submissionId"] == sid
    assert body["status"] == "ready"  # the order's status, as the original frontend reads it
    assert body["erased"] is True
    assert body["erasedAt"] == erased_at.isoformat()
    assert "erased on" in body["message"]
    assert "downloadUrl" not in body and "analysisBy" not in body
    for field in ("createdAt", "updatedAt", "attempts"):
        assert field in body


def test_reports_status_answers_gone(api: Api) -> None:
    sid = erased_order(api)

    answer = api.get("/reports/status", params={"submissionId": sid})

    body = assert_error(answer, 410, "REPORT_ERASED")
    assert body["status"] == "ready" and body["erasedAt"]
    assert "erased on" in body["error"]


def test_links_and_asking_again_answer_gone_and_queue_nothing(api: Api) -> None:
    sid = erased_order(api)
    jobs_before = len(api.jobs(sid))

    for answer in (
        api.post("/getDownloadUrl", {"submissionId": sid}),
        api.get("/reports/signed-url", params={"submissionId": sid}),
        api.post("/reports/ensure", {"submissionId": sid}),
        api.post("/analyzeDiagnostic", {"submissionId": sid}),
    ):
        assert_error(answer, 410, "REPORT_ERASED")
    assert len(api.jobs(sid)) == jobs_before
    assert api.status(sid)["status"] == "ready"


def test_an_order_within_its_period_is_untouched(api: Api) -> None:
    sid = api.ready()
    api.clock.advance(timedelta(days=89).total_seconds())
    assert api.container.purge_expired().until_done().erased == []

    body = api.status(sid)
    assert "erased" not in body and body["downloadUrl"]


def test_the_order_page_says_the_details_were_erased_and_offers_no_download(api: Api) -> None:
    sid = erased_order(api)
    sub = api.container.submissions().get(sid)
    assert sub.payment is not None
    session_id = sub.payment.checkout_session_id

    polled = api.get("/success/status", params={"session_id": session_id})
    page = api.get("/success", params={"session_id": session_id})

    assert polled.status_code == 200, polled.text
    body = polled.json()
    assert body["erased"] is True and body["headline"] == "Your details and report were erased"
    assert "downloadUrl" not in body and "erased on" in body["explanation"]
    assert page.status_code == 200
    assert 'data-erased="true"' in page.text
    assert '<div id="ready" hidden>' in page.text
    assert "Your details and report were erased" in page.text
    assert 'http-equiv="refresh"' not in page.text  # finished: the page stops polling


def test_the_stable_download_address_leads_to_the_order_page(api: Api) -> None:
    sid = erased_order(api)

    answer = api.get(f"/download/{sid}", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/success?submission_id={sid}"
