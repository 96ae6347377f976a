"""The JSON API as the original frontend calls it: every endpoint, its answer and each refusal.

Every refusal is the one envelope ``{"error", "code", "details"}`` with the request id header
(``assert_error``), and nothing a client can send gets a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dependency_injector import providers

from diagpro.domain.errors import AnalysisUnavailable
from tests.http.conftest import AUTOMOTIVE, Api, assert_error
from tests.lost_reports import VanishingReports, lose_report

SUBMISSION_ID = re.compile(r"^diag_\d{13}_[0-9a-f]{24}$")
UNKNOWN_ID = "diag_1795694400000_" + "e" * 24
GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")

BODY_ENDPOINTS = [
    "/saveSubmission",
    "/createCheckoutSession",
    "/analysisStatus",
    "/analyzeDiagnostic",
    "/getDownloadUrl",
    "/reports/ensure",
]
ORIGINAL_22_KEYS = [
    *("equipmentType", "make", "model", "year", "mileageHours", "serialNumber", "errorCodes"),
    *("symptoms", "whenStarted", "frequency", "urgencyLevel", "locationEnvironment"),
    *("usagePattern", "problemDescription", "previousRepairs", "modifications"),
    *("troubleshootingSteps", "shopQuoteAmount", "shopRecommendation", "fullName", "email"),
    "phone",
]


def failed(make_api: Any) -> tuple[Api, str]:
    """An app whose jobs give up after one attempt, and a submission that failed."""
    api = make_api(env={"DIAGPRO_JOB_MAX_ATTEMPTS": "1"})
    sid = api.save()
    api.pay(sid)
    api.analyzer.fail_next(AnalysisUnavailable("the model is overloaded"))
    assert api.work() == 1
    assert api.status(sid)["status"] == "failed"
    return api, sid


def link_query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def local_path(api: Api, url: str) -> str:
    """A link minted for the public base URL, as a path the test client can follow."""
    assert url.startswith(api.settings.public_base_url + "/files/reports/")
    return url[len(api.settings.public_base_url) :]


# -- POST /saveSubmission -----------------------------------------------------------------------


def test_save_submission_returns_the_new_id(api: Api) -> None:
    response = api.post("/saveSubmission", {"payload": AUTOMOTIVE})
    assert response.status_code == 200
    body = response.json()
    assert SUBMISSION_ID.match(body["submissionId"])
    assert body["status"] == "pending"
    assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])
    assert api.status(body["submissionId"])["status"] == "pending"


def test_save_submission_accepts_what_the_original_frontend_sends(api: Api) -> None:
    """All 22 keys, empty strings for what was skipped, symptoms comma-joined."""
    payload = {key: "" for key in ORIGINAL_22_KEYS}
    payload |= {
        "equipmentType": "hvac",
        "symptoms": "no heat, short cycling",
        "email": "someone@example.com",
        "urgencyLevel": "normal",
        "systemType": "furnace",  # a category detail the original dropped
    }
    sid = api.save(payload)
    assert api.status(sid)["status"] == "pending"


def test_save_submission_names_every_bad_field(api: Api) -> None:
    payload = {"equipmentType": "spaceship", "email": "not-an-email", "year": "15", "colour": "red"}
    body = assert_error(api.post("/saveSubmission", {"payload": payload}), 400, "VALIDATION_ERROR")
    fields = {d["field"] for d in body["details"]}
    assert {"equipmentType", "email", "year", "colour", "problemDescription"} <= fields
    assert all(d["message"] for d in body["details"])
    unknown = next(d for d in body["details"] if d["field"] == "colour")
    assert "not a known field" in unknown["message"]


@pytest.mark.parametrize(
    "body",
    [{}, {"payload": None}, {"payload": []}, {"payload": "text"}, {"payload": 42}],
    ids=["no-payload", "null", "list", "text", "number"],
)
def test_save_submission_without_a_payload_object_is_a_validation_error(
    api: Api, body: dict[str, Any]
) -> None:
    answer = assert_error(api.post("/saveSubmission", body), 400, "VALIDATION_ERROR")
    assert answer["details"][0]["field"] == "payload"


@pytest.mark.parametrize(
    "field, value",
    [
        ("equipmentType", 5),
        ("email", {"x": 1}),
        ("symptoms", {"a": 1}),
        ("problemDescription", ["a"]),
        ("shopQuoteAmount", "lots"),
        ("problemDescription", "x" * 5001),
        ("fuelType", ["diesel"]),
    ],
)
def test_save_submission_refuses_wrong_types_and_sizes_by_name(
    api: Api, field: str, value: Any
) -> None:
    payload = {**AUTOMOTIVE, field: value}
    body = assert_error(api.post("/saveSubmission", {"payload": payload}), 400, "VALIDATION_ERROR")
    assert field in {d["field"] for d in body["details"]}


def test_malformed_json_is_invalid_json(api: Api) -> None:
    response = api.client.post(
        "/saveSubmission",
        content=b'{"payload": {"equipmentType": ',
        headers=api.headers(**{"content-type": "application/json"}),
    )
    assert_error(response, 400, "INVALID_JSON")


def test_absurdly_nested_json_is_invalid_json_not_a_crash(api: Api) -> None:
    response = api.client.post(
        "/saveSubmission",
        content=b"[" * 20_000 + b"]" * 20_000,
        headers=api.headers(**{"content-type": "application/json"}),
    )
    assert_error(response, 400, "INVALID_JSON")


def test_an_oversized_body_is_payload_too_large(api: Api) -> None:
    huge = {"payload": {**AUTOMOTIVE, "problemDescription": "x" * 200_000}}
    assert_error(api.post("/saveSubmission", huge), 413, "PAYLOAD_TOO_LARGE")


def test_a_missing_api_key_is_refused_with_a_clear_message(api: Api) -> None:
    response = api.client.post("/saveSubmission", json={"payload": AUTOMOTIVE})
    body = assert_error(response, 401, "UNAUTHORIZED")
    assert "x-api-key" in body["error"]


@pytest.mark.parametrize("key", ["nope", "dpk_" + "a" * 32, "", " "])
def test_a_wrong_api_key_is_refused(api: Api, key: str) -> None:
    response = api.client.post(
        "/saveSubmission", json={"payload": AUTOMOTIVE}, headers={"x-api-key": key}
    )
    assert_error(response, 401, "UNAUTHORIZED")


def test_the_api_key_in_another_case_or_with_extra_characters_is_refused(api: Api) -> None:
    for key in (api.key.upper(), api.key + "x", api.key[:-1]):
        response = api.client.post(
            "/saveSubmission", json={"payload": AUTOMOTIVE}, headers={"x-api-key": key}
        )
        assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/createCheckoutSession"),
        ("GET", "/checkout/session?id=cs_x"),
        ("POST", "/analysisStatus"),
        ("GET", "/analysisStatus?submissionId=x"),
        ("POST", "/analyzeDiagnostic"),
        ("POST", "/getDownloadUrl"),
        ("GET", "/reports/signed-url?submissionId=x"),
        ("GET", "/reports/status?submissionId=x"),
        ("POST", "/reports/ensure"),
    ],
)
def test_every_json_endpoint_wants_the_api_key(api: Api, method: str, path: str) -> None:
    assert_error(api.client.request(method, path, json={}), 401, "UNAUTHORIZED")


def test_creating_submissions_is_rate_limited(make_api: Any) -> None:
    api = make_api(env={"DIAGPRO_SUBMISSIONS_PER_MINUTE": "3"})
    ids = [api.save() for _ in range(3)]
    response = api.post("/saveSubmission", {"payload": AUTOMOTIVE}, headers={"x-request-id": "r-9"})
    assert_error(response, 429, "RATE_LIMITED")
    assert response.headers["x-request-id"] == "r-9"
    # Only creation is limited: the customer can still pay for what they saved.
    assert api.checkout(ids[0])["sessionId"].startswith("cs_")


# -- POST /createCheckoutSession ----------------------------------------------------------------


def test_create_checkout_session_returns_the_url_to_pay_at(api: Api) -> None:
    sid = api.save()
    body = api.checkout(sid)
    assert set(body) == {"url", "sessionId"}
    assert body["sessionId"].startswith("cs_")
    assert body["url"] == f"{api.settings.public_base_url}/checkout/local/{body['sessionId']}"


def test_a_second_call_returns_the_open_session(api: Api) -> None:
    sid = api.save()
    assert api.checkout(sid) == api.checkout(sid)


@pytest.mark.parametrize("body", [{}, {"submissionId": ""}, {"submissionId": "   "}])
def test_create_checkout_session_needs_a_submission_id(api: Api, body: dict[str, Any]) -> None:
    assert_error(api.post("/createCheckoutSession", body), 400, "MISSING_SUBMISSION_ID")


@pytest.mark.parametrize(
    "sid",
    ["abc", "diag_123_abc", "DIAG_1795694400000_" + "a" * 24, "x" * 100_000, "diag_1\n", "../x"],
    ids=["short", "few-digits", "upper", "huge", "newline", "traversal"],
)
def test_create_checkout_session_refuses_what_is_not_a_submission_id(api: Api, sid: str) -> None:
    body = assert_error(api.post("/createCheckoutSession", {"submissionId": sid}), 400, "BAD_ID")
    assert body["details"] == [{"field": "submissionId", "message": "not a submission id"}]


def test_create_checkout_session_with_a_wrong_type_is_a_validation_error(api: Api) -> None:
    for value in (5, ["diag"], {"$gt": ""}, True):
        body = assert_error(
            api.post("/createCheckoutSession", {"submissionId": value}), 400, "VALIDATION_ERROR"
        )
        assert body["details"][0]["field"] == "submissionId"


def test_create_checkout_session_for_an_unknown_submission_is_404(api: Api) -> None:
    response = api.post("/createCheckoutSession", {"submissionId": UNKNOWN_ID})
    assert_error(response, 404, "SUBMISSION_NOT_FOUND")


def test_only_a_pending_submission_can_check_out(api: Api) -> None:
    sid = api.save()
    api.pay(sid)
    body = assert_error(
        api.post("/createCheckoutSession", {"submissionId": sid}), 409, "INVALID_STATUS"
    )
    assert body["status"] == "paid"


# -- GET /checkout/session ----------------------------------------------------------------------


def test_checkout_session_shows_what_the_success_page_needs(api: Api) -> None:
    sid = api.save()
    session_id = api.checkout(sid)["sessionId"]
    response = api.get("/checkout/session", params={"id": session_id})
    assert response.status_code == 200
    assert response.json() == {
        "id": session_id,
        "status": "open",
        "payment_status": "unpaid",
        "submissionId": sid,
        "client_reference_id": sid,
        "amount_total": 499,
        "customer_email": AUTOMOTIVE["email"],
    }


def test_the_success_page_lookup_fulfils_a_paid_session(api: Api) -> None:
    """Stripe's guidance: fulfil from the redirect too, in case the webhook is late or lost."""
    sid = api.save()
    session_id = api.checkout(sid)["sessionId"]
    api.container.self_checkout().pay(session_id)  # paid at the provider; the webhook never arrives
    for _ in range(3):  # the success page polls
        body = api.get("/checkout/session", params={"id": session_id}).json()
        assert body["status"] == "complete"
        assert body["payment_status"] == "paid"
    assert api.status(sid)["status"] == "paid"
    assert len(api.jobs(sid)) == 1
    assert api.work() == 1
    assert api.status(sid)["status"] == "ready"


@pytest.mark.parametrize("query", [{}, {"id": ""}, {"id": "pi_123"}, {"id": "diag_1"}])
def test_checkout_session_needs_a_checkout_session_id(api: Api, query: dict[str, str]) -> None:
    assert_error(api.get("/checkout/session", params=query), 400, "BAD_SESSION_ID")


def test_an_unknown_checkout_session_is_404(api: Api) -> None:
    response = api.get("/checkout/session", params={"id": "cs_test_unknown"})
    assert_error(response, 404, "CHECKOUT_SESSION_NOT_FOUND")


# -- POST and GET /analysisStatus ---------------------------------------------------------------


def test_analysis_status_follows_the_lifecycle(api: Api) -> None:
    sid = api.save()
    pending = api.status(sid)
    assert pending["status"] == "pending"
    assert pending["submissionId"] == sid
    assert pending["message"]
    assert "downloadUrl" not in pending
    api.pay(sid)
    assert api.status(sid)["status"] == "paid"
    api.work()
    ready = api.status(sid)
    assert ready["status"] == "ready"
    assert ready["attempts"] == 1
    assert ready["expiresInSeconds"] == 900
    assert ready["downloadUrl"] and ready["viewUrl"]


def test_analysis_status_adds_the_latest_emails_fate_and_keeps_every_original_field(
    api: Api,
) -> None:
    sid = api.save()
    api.pay(sid)
    before = api.status(sid)
    assert "email" not in before  # nothing sent yet: the original frontend's body, as it was
    api.work()

    ready = api.status(sid)

    assert ready["email"] == {"event": "ready", "state": "sent", "at": ready["email"]["at"]}
    assert ready["email"]["at"].endswith("+00:00")
    assert "owner@example.com" not in json.dumps(ready["email"])  # the address is the operator's
    assert set(before) - {"nextTry"} <= set(ready)


def test_analysis_status_by_get_answers_the_same(api: Api) -> None:
    sid = api.save()
    by_get = api.get("/analysisStatus", params={"submissionId": sid})
    assert by_get.status_code == 200
    assert by_get.json() == api.status(sid)


def test_analysis_status_refusals(api: Api) -> None:
    assert_error(api.post("/analysisStatus", {}), 400, "MISSING_SUBMISSION_ID")
    assert_error(api.get("/analysisStatus"), 400, "MISSING_SUBMISSION_ID")
    assert_error(api.post("/analysisStatus", {"submissionId": "nope"}), 400, "BAD_ID")
    assert_error(api.get("/analysisStatus", params={"submissionId": "nope"}), 400, "BAD_ID")
    unknown = {"submissionId": UNKNOWN_ID}
    assert_error(api.post("/analysisStatus", unknown), 404, "SUBMISSION_NOT_FOUND")
    assert_error(api.get("/analysisStatus", params=unknown), 404, "SUBMISSION_NOT_FOUND")


def test_analysis_status_says_a_submission_failed_in_plain_words(make_api: Any) -> None:
    api, sid = failed(make_api)
    body = api.status(sid)
    assert body["failureReason"].startswith("We could not make your report.")
    # The operator's reason stays on the submission and in the log.
    assert "the model is overloaded" not in str(body)
    assert "the model is overloaded" in api.container.submissions().get(sid).failure_reason


# -- POST /analyzeDiagnostic --------------------------------------------------------------------


def test_analyze_diagnostic_requeues_a_failed_submission(make_api: Any) -> None:
    api, sid = failed(make_api)
    response = api.post("/analyzeDiagnostic", {"submissionId": sid})
    assert response.status_code == 202
    assert response.json()["status"] == "processing"
    assert api.status(sid)["status"] == "paid"
    assert api.work() == 1  # the analysis runs in the worker, never in the request
    assert api.status(sid)["status"] == "ready"


def test_analyze_diagnostic_on_a_queued_submission_adds_no_second_job(api: Api) -> None:
    sid = api.save()
    api.pay(sid)
    for _ in range(3):
        assert api.post("/analyzeDiagnostic", {"submissionId": sid}).status_code == 202
    assert api.work() == 1
    assert api.work() == 0


def test_analyze_diagnostic_on_a_ready_report_says_so(api: Api) -> None:
    sid = api.ready()
    response = api.post("/analyzeDiagnostic", {"submissionId": sid})
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "message": "Already processed"}
    assert api.work() == 0


def test_analyze_diagnostic_refusals(api: Api) -> None:
    assert_error(api.post("/analyzeDiagnostic", {}), 400, "MISSING_SUBMISSION_ID")
    assert_error(api.post("/analyzeDiagnostic", {"submissionId": "x"}), 400, "BAD_ID")
    response = api.post("/analyzeDiagnostic", {"submissionId": UNKNOWN_ID})
    assert_error(response, 404, "SUBMISSION_NOT_FOUND")


# -- POST /getDownloadUrl and GET /reports/signed-url -------------------------------------------


def test_download_links_wait_for_the_report(api: Api) -> None:
    sid = api.save()

    def refused_while(expected: str) -> None:
        by_post = api.post("/getDownloadUrl", {"submissionId": sid})
        assert assert_error(by_post, 409, "REPORT_NOT_READY")["status"] == expected
        by_get = api.get("/reports/signed-url", params={"submissionId": sid})
        assert assert_error(by_get, 409, "REPORT_NOT_READY")["status"] == expected

    refused_while("pending")
    api.pay(sid)
    refused_while("paid")


def test_download_links_are_fresh_fifteen_minute_links(api: Api) -> None:
    sid = api.ready()
    response = api.post("/getDownloadUrl", {"submissionId": sid})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"submissionId", "downloadUrl", "viewUrl", "expiresInSeconds"}
    assert body["submissionId"] == sid
    assert body["expiresInSeconds"] == 900
    download, view = link_query(body["downloadUrl"]), link_query(body["viewUrl"])
    assert download["disposition"] == "attachment"
    assert view["disposition"] == "inline"
    now = int(api.clock.now().timestamp())
    assert int(download["expires"]) == now + 900
    assert f"/files/reports/{sid}.pdf?" in body["downloadUrl"]

    api.clock.advance(60)  # minted per request, never stored
    again = api.get("/reports/signed-url", params={"submissionId": sid})
    assert again.status_code == 200
    assert int(link_query(again.json()["downloadUrl"])["expires"]) == now + 960
    assert again.json()["expiresInSeconds"] == 900


def test_download_link_refusals(api: Api) -> None:
    assert_error(api.post("/getDownloadUrl", {}), 400, "MISSING_SUBMISSION_ID")
    assert_error(api.get("/reports/signed-url"), 400, "MISSING_SUBMISSION_ID")
    assert_error(api.post("/getDownloadUrl", {"submissionId": "bad"}), 400, "BAD_ID")
    unknown = {"submissionId": UNKNOWN_ID}
    assert_error(api.post("/getDownloadUrl", unknown), 404, "SUBMISSION_NOT_FOUND")
    assert_error(api.get("/reports/signed-url", params=unknown), 404, "SUBMISSION_NOT_FOUND")


# -- GET /reports/status ------------------------------------------------------------------------


def test_reports_status_is_202_while_the_report_is_on_its_way(api: Api) -> None:
    sid = api.save()
    api.pay(sid)
    response = api.get("/reports/status", params={"submissionId": sid})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "processing"
    assert body["submissionStatus"] == "paid"
    assert "downloadUrl" not in body


def test_reports_status_is_200_with_links_when_ready(api: Api) -> None:
    sid = api.ready()
    response = api.get("/reports/status", params={"submissionId": sid})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["downloadUrl"] and body["viewUrl"]
    assert body["expiresInSeconds"] == 900


def test_reports_status_is_409_with_a_plain_reason_when_failed(make_api: Any) -> None:
    api, sid = failed(make_api)
    response = api.get("/reports/status", params={"submissionId": sid})
    body = assert_error(response, 409, "REPORT_FAILED")
    assert body["status"] == "failed"
    assert "We could not make your report." in body["error"]
    assert "the model is overloaded" not in response.text


def test_reports_status_of_an_unknown_submission_is_404_not_found(api: Api) -> None:
    response = api.get("/reports/status", params={"submissionId": UNKNOWN_ID})
    body = assert_error(response, 404, "SUBMISSION_NOT_FOUND")
    assert body["status"] == "not_found"


def test_reports_status_refuses_what_is_not_a_submission_id(api: Api) -> None:
    assert_error(api.get("/reports/status", params={"submissionId": "x"}), 400, "BAD_ID")
    assert_error(api.get("/reports/status"), 400, "MISSING_SUBMISSION_ID")


# -- POST /reports/ensure -----------------------------------------------------------------------


def test_reports_ensure_requeues_a_failed_report(make_api: Any) -> None:
    api, sid = failed(make_api)
    response = api.post("/reports/ensure", {"submissionId": sid})
    assert response.status_code == 202
    assert response.json() == {"status": "processing", "submissionId": sid}
    assert api.work() == 1
    ready = api.post("/reports/ensure", {"submissionId": sid})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "submissionId": sid}


def test_reports_ensure_refusals(api: Api) -> None:
    sid = api.save()
    assert_error(api.post("/reports/ensure", {"submissionId": sid}), 409, "NOT_PAID")
    assert_error(api.post("/reports/ensure", {}), 400, "MISSING_SUBMISSION_ID")
    assert_error(api.post("/reports/ensure", {"submissionId": "x"}), 400, "BAD_ID")
    unknown = {"submissionId": UNKNOWN_ID}
    assert_error(api.post("/reports/ensure", unknown), 404, "SUBMISSION_NOT_FOUND")


# -- GET /view/{id} -----------------------------------------------------------------------------


def test_view_redirects_to_a_fresh_inline_link_without_an_api_key(api: Api) -> None:
    sid = api.ready()
    response = api.client.get(f"/view/{sid}", follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert f"/files/reports/{sid}.pdf?" in location
    assert link_query(location)["disposition"] == "inline"


def test_view_refusals(api: Api) -> None:
    sid = api.save()
    body = assert_error(api.client.get(f"/view/{sid}"), 409, "REPORT_NOT_READY")
    assert body["status"] == "pending"
    assert_error(api.client.get(f"/view/{UNKNOWN_ID}"), 404, "SUBMISSION_NOT_FOUND")
    assert_error(api.client.get("/view/not-an-id"), 400, "BAD_ID")


# -- a ready report whose file was lost ---------------------------------------------------------
# The attack: delete the stored PDF of a paid, ready order, then ask for it every way a client
# can. Each request answers "being prepared" (never 404 REPORT_NOT_FOUND) and the first one
# queues a re-render from the kept analysis; the worker makes it again without a model call.


def _ask_status(api: Api, sid: str) -> None:
    response = api.get("/reports/status", params={"submissionId": sid})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["submissionStatus"]) == ("processing", "paid")
    assert "being prepared" in body["message"].lower() and "downloadUrl" not in body


def _ask_analysis_status(api: Api, sid: str) -> None:
    body = api.status(sid)
    assert body["status"] == "paid" and "being prepared" in body["message"].lower()


def _not_ready(response: Any) -> None:
    body = assert_error(response, 409, "REPORT_NOT_READY")
    assert body["status"] == "paid" and "being prepared" in body["error"]


LINK_ASKS = {
    "GET /reports/status": _ask_status,
    "POST /analysisStatus": _ask_analysis_status,
    "GET /reports/signed-url": lambda api, sid: _not_ready(
        api.get("/reports/signed-url", params={"submissionId": sid})
    ),
    "POST /getDownloadUrl": lambda api, sid: _not_ready(
        api.post("/getDownloadUrl", {"submissionId": sid})
    ),
    "GET /view/{id}": lambda api, sid: _not_ready(api.client.get(f"/view/{sid}")),
    "POST /reports/ensure": lambda api, sid: _accepted(
        api.post("/reports/ensure", {"submissionId": sid}), {"status": "processing"}
    ),
    "POST /analyzeDiagnostic": lambda api, sid: _accepted(
        api.post("/analyzeDiagnostic", {"submissionId": sid}), {"status": "processing"}
    ),
}


def _accepted(response: Any, expected: dict[str, str]) -> None:
    assert response.status_code == 202, response.text
    assert expected.items() <= response.json().items()


@pytest.mark.parametrize("memory", [True, False], ids=["memory", "embedded"])
@pytest.mark.parametrize("ask", LINK_ASKS.values(), ids=LINK_ASKS.keys())
def test_a_lost_report_file_is_being_prepared_and_made_again_without_a_model_call(
    make_api: Any, memory: bool, ask: Any
) -> None:
    api = make_api(memory=memory)
    sid = api.ready()
    lose_report(api.container, sid)

    ask(api, sid)
    for again in LINK_ASKS.values():  # every other way of asking agrees meanwhile
        again(api, sid)

    assert len(api.jobs(sid)) == 2  # the first run's and one re-render, however often asked
    assert api.work() == 1
    body = api.get("/reports/status", params={"submissionId": sid}).json()
    assert body["status"] == "ready" and body["downloadUrl"]
    if not memory:  # only the local folder is served under /files/reports
        pdf = api.client.get(body["downloadUrl"])
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert len(api.analyzer.calls) == 1  # the kept analysis, rendered again
    assert len(api.renderer.rendered) == 2


def test_a_report_file_lost_as_it_is_looked_at_is_still_on_its_way(api: Api) -> None:
    sid = api.ready()
    api.container.reports.override(providers.Object(VanishingReports(api.container.reports())))
    response = api.get("/reports/status", params={"submissionId": sid})
    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["submissionStatus"]) == (
        "processing",
        "paid",
    )
    not_ready = assert_error(
        api.post("/getDownloadUrl", {"submissionId": sid}), 409, "REPORT_NOT_READY"
    )
    assert "being prepared" in not_ready["error"]
    progress = api.client.get(f"/success/status?submission_id={sid}").json()
    assert progress["status"] == "paid" and "downloadUrl" not in progress


# -- GET /healthz and /schema -------------------------------------------------------------------


def test_healthz_answers_without_a_key(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "diagpro", "version": "0.1.0"}


def test_healthz_reports_degraded_with_the_reason_after_a_configuration_error(api: Api) -> None:
    from diagpro.domain.errors import AnalysisMisconfigured

    container = api.container
    sid = container.save_submission()(AUTOMOTIVE).id
    self_checkout = container.self_checkout()
    assert self_checkout is not None
    signed = self_checkout.pay(container.open_checkout()(sid).id)
    container.receive_payment_event()(signed.payload, signed.signature)
    api.analyzer.fail_next(
        AnalysisMisconfigured("the model gemini-2.5-flash was not found (404)", "set VAI_MODEL")
    )
    container.process_jobs()()

    response = api.client.get("/healthz")
    # Still 200: a liveness probe must not restart the instance and lose the reason.
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "problems": [
            "analyzer: the model gemini-2.5-flash was not found (404): set VAI_MODEL",
        ],
        "service": "diagpro",
        "version": "0.1.0",
    }


def test_the_status_says_which_analyzer_wrote_the_report(api: Api) -> None:
    container = api.container
    sid = container.save_submission()(AUTOMOTIVE).id
    self_checkout = container.self_checkout()
    assert self_checkout is not None
    signed = self_checkout.pay(container.open_checkout()(sid).id)
    container.receive_payment_event()(signed.payload, signed.signature)
    assert "analysisBy" not in api.post("/analysisStatus", {"submissionId": sid}).json()
    container.process_jobs()()

    body = api.post("/analysisStatus", {"submissionId": sid}).json()
    assert body["status"] == "ready"
    assert body["analysisBy"].startswith("diagpro's offline knowledge base (diagpro-offline-")


def test_the_openapi_schema_lists_the_api(api: Api) -> None:
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "diagpro"
    assert {
        "/saveSubmission",
        "/createCheckoutSession",
        "/checkout/session",
        "/analysisStatus",
        "/analyzeDiagnostic",
        "/getDownloadUrl",
        "/reports/signed-url",
        "/reports/status",
        "/reports/ensure",
        "/view/{submission_id}",
        "/webhook/stripe",
        "/healthz",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"
    assert schema["paths"]["/saveSubmission"]["post"]["security"] == [{"apiKey": []}]
    assert api.client.get("/schema").status_code == 200


# -- /files/reports/...: the local report folder behind signed links ----------------------------


def test_a_valid_link_serves_the_pdf(sqlite_api: Api) -> None:
    api = sqlite_api
    sid = api.ready()
    links = api.post("/getDownloadUrl", {"submissionId": sid}).json()
    download = api.client.get(local_path(api, links["downloadUrl"]))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == f'attachment; filename="diagpro-{sid}.pdf"'
    assert download.headers["cache-control"] == "private, no-store"
    assert download.content.startswith(b"%PDF")
    assert download.content == (api.settings.data_dir / f"reports/{sid}.pdf").read_bytes()
    view = api.client.get(local_path(api, links["viewUrl"]))
    assert view.status_code == 200
    assert view.headers["content-disposition"].startswith("inline;")
    # /view/{id} leads to the same file
    followed = api.client.get(f"/view/{sid}", follow_redirects=False).headers["location"]
    assert api.client.get(local_path(api, followed)).content == download.content


def test_a_tampered_or_expired_link_is_forbidden(sqlite_api: Api) -> None:
    api = sqlite_api
    sid = api.ready()
    other = api.ready()
    url = local_path(api, api.post("/getDownloadUrl", {"submissionId": sid}).json()["downloadUrl"])
    path, _, query = url.partition("?")
    q = link_query(url)
    flipped = q["signature"][:-1] + ("0" if q["signature"][-1] != "0" else "1")
    tampered = [
        f"{path}?disposition=attachment&expires={q['expires']}&signature={flipped}",
        f"{path}?disposition=attachment&expires={int(q['expires']) + 1}&signature={q['signature']}",
        f"{path}?disposition=inline&expires={q['expires']}&signature={q['signature']}",
        f"{path.replace(sid, other)}?{query}",
        f"{path}?disposition=attachment&expires=99999999999999999999&signature={q['signature']}",
        f"{path}?disposition=attachment&expires=-1&signature={q['signature']}",
        f"{path}?disposition=attachment&expires={q['expires']}&signature=zz",
    ]
    for bad in tampered:
        assert_error(api.client.get(bad), 403, "FORBIDDEN")
    assert api.client.get(url).status_code == 200
    api.clock.advance(900)
    assert_error(api.client.get(url), 403, "FORBIDDEN")


def test_a_link_without_its_parameters_is_forbidden(sqlite_api: Api) -> None:
    api = sqlite_api
    sid = api.ready()
    url = local_path(api, api.post("/getDownloadUrl", {"submissionId": sid}).json()["downloadUrl"])
    path, _, _ = url.partition("?")
    q = link_query(url)
    for query in (
        "",
        "?disposition=attachment",
        f"?disposition=attachment&expires={q['expires']}",
        f"?expires={q['expires']}&signature={q['signature']}",
    ):
        assert_error(api.client.get(path + query), 403, "FORBIDDEN")


def test_the_file_route_lists_nothing_and_leaves_the_folder_for_nothing(sqlite_api: Api) -> None:
    api = sqlite_api
    api.ready()
    query = "?disposition=inline&expires=9999999999&signature=" + "0" * 64
    for path in (
        "/files/reports/",
        "/files/reports/secrets.json",
        "/files/reports/..%2Fsecrets.json",
    ):
        response = api.client.get(path + query)
        assert response.status_code in (403, 404), path
        assert b"link_secret" not in response.content


def test_on_a_bucket_the_file_route_is_not_there(api: Api) -> None:
    sid = api.ready()  # the in-memory report store stands in for a bucket with its own links
    url = api.post("/getDownloadUrl", {"submissionId": sid}).json()["downloadUrl"]
    assert_error(api.client.get(local_path(api, url)), 404, "NOT_FOUND")


# -- the local checkout page --------------------------------------------------------------------


def test_the_local_checkout_page_shows_the_price_and_the_buttons(api: Api) -> None:
    sid = api.save()
    session_id = api.checkout(sid)["sessionId"]
    page = api.client.get(f"/checkout/local/{session_id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "$4.99" in page.text
    assert f"/checkout/local/{session_id}/pay" in page.text
    assert f"/checkout/local/{session_id}/cancel" in page.text


def test_paying_on_the_local_page_redirects_to_success_and_fulfils(api: Api) -> None:
    sid = api.save()
    session_id = api.checkout(sid)["sessionId"]
    response = api.form(f"/checkout/local/{session_id}/pay")
    assert response.status_code == 303
    assert response.headers["location"] == f"/success?session_id={session_id}"
    # the signed event went through /webhook/stripe (in-process here) after the redirect
    assert api.status(sid)["status"] == "paid"
    assert len(api.jobs(sid)) == 1


def test_paying_twice_on_the_local_page_is_harmless(api: Api) -> None:
    """A double-click on Pay used to answer 502 PAYMENT_PROVIDER_ERROR."""
    sid = api.save()
    session_id = api.checkout(sid)["sessionId"]
    for _ in range(2):
        response = api.form(f"/checkout/local/{session_id}/pay")
        assert response.status_code == 303
        assert response.headers["location"] == f"/success?session_id={session_id}"
    assert len(api.jobs(sid)) == 1


def test_cancelling_on_the_local_page_leaves_the_submission_payable(api: Api) -> None:
    sid = api.save()
    session_id = api.checkout(sid)["sessionId"]
    response = api.form(f"/checkout/local/{session_id}/cancel")
    assert response.status_code == 303
    assert response.headers["location"] == f"/cancel?submission_id={sid}"
    assert api.status(sid)["status"] == "pending"
    body = assert_error(
        api.form(f"/checkout/local/{session_id}/pay"),
        409,
        "CHECKOUT_CLOSED",
    )
    assert body["status"] == "expired"
    again = api.checkout(sid)["sessionId"]
    assert again != session_id
    paid = api.form(f"/checkout/local/{again}/pay")
    assert paid.status_code == 303
    assert api.status(sid)["status"] == "paid"


def test_an_unknown_local_checkout_session_is_404(api: Api) -> None:
    assert api.client.get("/checkout/local/cs_local_nope").status_code == 404
    for action in ("pay", "cancel"):
        response = api.form(f"/checkout/local/cs_local_nope/{action}")
        assert_error(response, 404, "CHECKOUT_SESSION_NOT_FOUND")


# -- the envelope, request ids, and no 500 for anything a client sends --------------------------


def test_a_given_request_id_is_echoed_on_success_and_on_errors(api: Api) -> None:
    ok = api.get("/healthz", headers={"x-request-id": "req-42.a:b"})
    assert ok.headers["x-request-id"] == "req-42.a:b"
    bad = api.post("/analysisStatus", {}, headers={"x-request-id": "req-43"})
    assert_error(bad, 400, "MISSING_SUBMISSION_ID")
    assert bad.headers["x-request-id"] == "req-43"
    assert bad.headers.get_list("x-request-id") == ["req-43"]


def test_every_answer_has_one_request_id_even_outside_the_routes(api: Api) -> None:
    for method, path, status, code in (
        ("GET", "/no/such/path", 404, "NOT_FOUND"),
        ("DELETE", "/healthz", 405, "METHOD_NOT_ALLOWED"),
        ("PUT", "/saveSubmission", 405, "METHOD_NOT_ALLOWED"),
    ):
        response = api.client.request(method, path, headers={"x-request-id": "outer-1"})
        assert_error(response, status, code)
        assert response.headers.get_list("x-request-id") == ["outer-1"]
        generated = api.client.request(method, path)
        assert GENERATED_REQUEST_ID.match(generated.headers["x-request-id"])


@pytest.mark.parametrize(
    "given", ["owner@example.com", "a b", "x" * 129, "é", "<script>", "dpk_key=secret&x"]
)
def test_a_request_id_that_is_not_a_plain_token_is_replaced(api: Api, given: str) -> None:
    response = api.client.get("/healthz", headers={"x-request-id": given.encode("utf-8")})
    assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])


GARBAGE_BODIES = [
    b"",
    b"null",
    b"0",
    b"[]",
    b'"text"',
    b"{",
    b"\xff\xfe\x00garbage",
    bytes(range(256)) * 4,
    b'{"payload": {"equipmentType": ["automotive"], "email": 5, "symptoms": {"a": [1]}}}',
    b'{"payload": {"shopQuoteAmount": 1e400, "equipmentType": "hvac", "email": "a@b.co", '
    b'"errorCodes": "E1"}}',
    b'{"payload": {"shopQuoteAmount": "NaN", "year": 2015.5, "": null, "\\u0000": 1}}',
    b'{"payload": {"errorCodes": "\\ud800", "equipmentType": "automotive", "email": "a@b.co"}}',
    b'{"submissionId": null}',
    b'{"submissionId": {"$gt": ""}}',
    b'{"submissionId": "diag_1795694400000_\\u0000\\u202e"}',
    json.dumps({"submissionId": "diag_1795694400000_" + "f" * 100_000}).encode(),
    json.dumps({"payload": {str(i): i for i in range(3000)}}).encode(),
    b'{"a":' * 900 + b"1" + b"}" * 900,
    b"[" * 50_000 + b"]" * 50_000,
]


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_no_body_a_client_sends_gets_a_500(
    make_api: Any, path: str, content_type: str | None
) -> None:
    api = make_api()
    headers = api.headers(**({"content-type": content_type} if content_type else {}))
    for body in GARBAGE_BODIES:
        response = api.client.post(path, content=body, headers=headers)
        assert response.status_code < 500, (body[:60], response.text)
        if response.status_code >= 400:
            assert_error(response, response.status_code, response.json()["code"])


@pytest.mark.parametrize(
    "path",
    [
        "/checkout/session?id=cs_" + "x" * 20_000,
        "/checkout/session?id=%00",
        "/checkout/session?id=cs_%FF%FE",
        "/checkout/session?id=a&id=b",
        "/analysisStatus?submissionId=" + "x" * 20_000,
        "/analysisStatus?submissionId=%00",
        "/reports/status?submissionId=diag_%0A",
        "/reports/status?submissionId=a&submissionId=b",
        "/reports/signed-url?submissionId=%F0%9F%92%A9",
        "/view/" + "x" * 10_000,
        "/view/%00",
        "/view/%FF",
        "/view/diag_1795694400000_000000000000000000000001%0A",
        "/files/reports/%00.pdf",
        "/files/reports/a.pdf?disposition=inline&expires=1e9&signature=" + "a" * 64,
        "/checkout/local/" + "x" * 5_000,
        "/checkout/local/%00",
        "/healthz?x=%ff",
    ],
)
def test_no_url_a_client_sends_gets_a_500(api: Api, path: str) -> None:
    for headers in (api.headers(), {}):
        response = api.client.get(path, headers=headers)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert_error(response, response.status_code, response.json()["code"])


def test_odd_headers_get_no_500(api: Api) -> None:
    for headers in (
        {"x-api-key": "é".encode("latin-1")},
        {"x-api-key": b"\x7f\x00"},
        {"x-api-key": api.key.encode() + b"\xff"},
        {"content-type": b"application/json; charset=utf-16"},
    ):
        response = api.client.post("/createCheckoutSession", json={}, headers=headers)
        assert response.status_code < 500, response.text
