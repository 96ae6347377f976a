"""GET /admin: off without an operator key, refused without the right one (HTTP Basic, the key
as the password), and for an operator the recent orders with the stuck ones highlighted, the day's
counts and the payment-to-report chart, with the pages' security headers and no customer details
beyond the machine."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

import httpx
import pytest
from dependency_injector import providers

from diagpro.domain.errors import AnalysisUnavailable, PaymentProviderError
from diagpro.domain.submission import Status
from diagpro.entrypoints.http.admin import basic_password
from diagpro.entrypoints.http.form_guard import COOKIE, FIELD
from diagpro.entrypoints.http.page_headers import PAGE_HEADERS
from tests.doubles import RecordingRefunds
from tests.http.conftest import AUTOMOTIVE, Api, assert_error

OPERATOR_KEY = "op_key_for_admin_tests_0001"
ENV = {"DIAGPRO_OPERATOR_KEYS": f"another_operator_key_000, {OPERATOR_KEY}"}


def basic(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


@pytest.fixture
def ops(make_api: Callable[..., Api]) -> Api:
    return make_api(env=ENV)


def page(api: Api) -> httpx.Response:
    response = api.client.get("/admin", headers=basic("anyone", OPERATOR_KEY))
    assert response.status_code == 200, response.text
    return response


def test_off_without_an_operator_key(api: Api) -> None:
    body = assert_error(api.client.get("/admin", headers=basic("op", "x")), 404, "NOT_FOUND")
    assert "DIAGPRO_OPERATOR_KEYS" in body["error"]


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "sign in"),
        (basic("op", "not_an_operator_key"), "not one of"),
        ({"Authorization": f"Bearer {OPERATOR_KEY}"}, "sign in"),  # not Basic
        ({"Authorization": "Basic !!not-base64!!"}, "sign in"),
    ],
)
def test_refused_without_an_operator_key(ops: Api, headers: dict[str, str], says: str) -> None:
    response = ops.client.get("/admin", headers=headers)
    body = assert_error(response, 401, "UNAUTHORIZED")
    assert says in body["error"]
    assert response.headers["www-authenticate"].startswith('Basic realm="diagpro operator"')


def test_an_api_key_is_not_an_operator_key(ops: Api) -> None:
    assert_error(ops.client.get("/admin", headers=basic("op", ops.key)), 401, "UNAUTHORIZED")


def test_the_basic_password_may_hold_colons_and_the_scheme_any_case() -> None:
    pair = base64.b64encode(b"user:pa:ss").decode()
    assert basic_password(f"bAsIc {pair}") == b"pa:ss"
    assert basic_password("Basic " + base64.b64encode(b"no colon").decode()) == b""


def test_an_operator_sees_orders_without_customer_details_and_with_the_page_headers(
    ops: Api,
) -> None:
    sid = ops.ready()
    response = page(ops)
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name] == value
    html = response.text
    assert sid in html
    assert "F-150" in html  # the machine: what the operator needs
    for private in (AUTOMOTIVE["email"], AUTOMOTIVE["fullName"]):
        assert private not in html
    assert 'id="count-saved">1<' in html
    assert 'id="count-paid">1<' in html
    assert 'id="count-ready">1<' in html
    assert 'id="count-failed">0<' in html
    assert '<svg id="ready-chart"' in html
    assert f"<title>{sid}: " in html
    assert "<script" not in html  # the page works without scripts (CSP: none inline)


def test_a_stuck_order_is_highlighted_and_counted(ops: Api) -> None:
    ready = ops.ready()
    stuck = ops.save()
    ops.pay(stuck)
    ops.analyzer.fail_next(*[AnalysisUnavailable("the model is overloaded")] * 5)
    ops.container.process_jobs()()  # attempt 1 fails; it waits for its retry
    ops.clock.advance(minutes=6)

    html = page(ops).text

    assert f'<tr class="stuck" data-order="{stuck}">' in html
    assert f'<tr data-order="{ready}">' in html
    assert "1 paid order(s) waiting longer than" in html
    assert "the model is overloaded" in html


def test_the_day_counts_leave_out_older_orders(ops: Api) -> None:
    ops.ready()
    ops.clock.advance(hours=25)
    ops.save()
    html = page(ops).text
    assert 'id="count-saved">1<' in html
    assert 'id="count-paid">0<' in html
    assert 'id="count-ready">0<' in html


def test_an_empty_store(ops: Api) -> None:
    html = page(ops).text
    assert "No orders yet." in html
    assert "No ready orders yet." in html
    assert "No stuck orders" in html


def action(
    api: Api,
    sid: str,
    what: str = "requeue",
    *,
    confirm: bool = True,
    key: str = OPERATOR_KEY,
    user: str = "op",
) -> httpx.Response:
    """An action's form (``requeue``, ``refund``) as the page's browser sends it: the CSRF
    cookie's token, Basic credentials."""
    api.client.get("/admin", headers=basic(user, OPERATOR_KEY))  # sets the form cookie
    token = api.client.cookies.get(COOKIE)
    assert token
    data = {FIELD: token, **({"confirm": "yes"} if confirm else {})}
    return api.client.post(
        f"/admin/orders/{sid}/{what}", data=data, headers=basic(user, key), follow_redirects=False
    )


def run_again(
    api: Api, sid: str, *, confirm: bool = True, key: str = OPERATOR_KEY
) -> httpx.Response:
    return action(api, sid, "requeue", confirm=confirm, key=key)


def _failed_order(api: Api) -> str:
    sid = api.save()
    api.pay(sid)
    api.analyzer.fail_next(*[AnalysisUnavailable("the model is overloaded")] * 20)
    for _ in range(20):  # every retry, until the order fails for good
        api.work()
        if api.container.submissions().get(sid).status == Status.FAILED:
            return sid
        api.clock.advance(hours=1)
    raise AssertionError("the order never failed")


def test_a_failed_order_has_a_run_again_form_with_a_confirmation_and_a_csrf_token(
    ops: Api,
) -> None:
    sid = _failed_order(ops)
    html = page(ops).text
    assert f'action="/admin/orders/{sid}/requeue"' in html
    assert 'name="confirm" value="yes" required' in html
    assert f'name="{FIELD}" value="' in html


def test_run_again_queues_the_failed_order_and_is_logged(
    ops: Api, caplog: pytest.LogCaptureFixture
) -> None:
    sid = _failed_order(ops)
    ops.analyzer.recover()  # the model is back
    with caplog.at_level(logging.WARNING, logger="diagpro.operator"):
        response = run_again(ops, sid)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    assert f"operator action: requeued {sid} by op" in caplog.text
    assert OPERATOR_KEY not in caplog.text
    assert "requeued by op: the failed order was queued again" in page(ops).text
    assert ops.work() == 1
    assert ops.container.submissions().get(sid).status == Status.READY


def test_run_again_needs_the_box_ticked_the_key_and_the_csrf_token(ops: Api) -> None:
    sid = _failed_order(ops)
    assert_error(run_again(ops, sid, confirm=False), 400, "NOT_CONFIRMED")
    assert_error(run_again(ops, sid, key="not_the_operator_key_0"), 401, "UNAUTHORIZED")
    forged = ops.client.post(
        f"/admin/orders/{sid}/requeue",
        data={"confirm": "yes"},  # another site's form: no token
        headers=basic("op", OPERATOR_KEY),
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_run_again_refuses_an_order_it_cannot_run(ops: Api) -> None:
    sid = ops.save()  # not paid
    assert run_again(ops, sid).status_code == 409


def _stuck_order(api: Api) -> str:
    """A paid order past the SLO whose analysis keeps failing: its job waits for its retry. Its
    refunds go to a recording provider (the tests' payments never reach the local checkout)."""
    api.container.refunds.override(providers.Object(RecordingRefunds()))
    sid = api.save()
    api.pay(sid)
    api.analyzer.fail_next(*[AnalysisUnavailable("the model is overloaded")] * 2)
    api.work()
    api.clock.advance(minutes=6)
    api.work()  # attempt 2 fails too: it waits for the next
    return sid


def test_a_stuck_order_runs_now_from_the_page_and_the_action_shows(ops: Api) -> None:
    sid = _stuck_order(ops)
    html = page(ops).text
    assert f'action="/admin/orders/{sid}/requeue" class="run-now"' in html
    assert ops.work() == 0  # still waiting for its retry

    response = action(ops, sid, user="  Ana Ops ")

    assert response.status_code == 303
    [recorded] = ops.container.submissions().get(sid).actions
    assert recorded.by == "Ana Ops" and recorded.what.value == "ran now"
    assert "ran now by Ana Ops: job " in page(ops).text
    assert ops.work() == 1
    assert ops.container.submissions().get(sid).status == Status.READY


def test_run_now_while_a_worker_holds_the_job_is_refused_saying_who(ops: Api) -> None:
    sid = _stuck_order(ops)
    held = ops.container.jobs().claim("worker-on-it", ops.clock.advance(minutes=1), 30.0)
    assert held is not None and held.submission_id == sid

    body = assert_error(action(ops, sid), 409, "JOB_LEASED")

    assert "worker-on-it" in body["error"]
    assert ops.container.submissions().get(sid).actions == ()


def test_a_refund_form_is_on_paid_and_failed_orders_only(ops: Api) -> None:
    ready = ops.ready()
    stuck = _stuck_order(ops)
    pending = ops.save()
    html = page(ops).text
    assert f'action="/admin/orders/{stuck}/refund"' in html
    for sid in (ready, pending):
        assert f'action="/admin/orders/{sid}/refund"' not in html


def test_a_refund_from_the_page_refunds_in_full_and_shows(
    ops: Api, caplog: pytest.LogCaptureFixture
) -> None:
    sid = _stuck_order(ops)

    with caplog.at_level(logging.WARNING, logger="diagpro.operator"):
        response = action(ops, sid, "refund", user="opal-q")

    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    sub = ops.container.submissions().get(sid)
    assert sub.status == Status.REFUNDED and sub.refund_id
    assert f"operator action: refunded {sid} by opal-q: refund {sub.refund_id}" in caplog.text
    assert OPERATOR_KEY not in caplog.text
    html = page(ops).text
    assert f"refunded by opal-q: refund {sub.refund_id}" in html
    assert f'action="/admin/orders/{sid}/refund"' not in html  # nothing left to refund
    status = ops.post("/analysisStatus", {"submissionId": sid})
    assert status.json()["status"] == "refunded"
    assert "opal-q" not in status.text  # the operator's record is not the customer's to read


def test_a_refund_needs_the_box_ticked_the_key_and_the_csrf_token(ops: Api) -> None:
    sid = _stuck_order(ops)
    assert_error(action(ops, sid, "refund", confirm=False), 400, "NOT_CONFIRMED")
    assert_error(action(ops, sid, "refund", key="not_the_operator_key_0"), 401, "UNAUTHORIZED")
    forged = ops.client.post(
        f"/admin/orders/{sid}/refund",
        data={"confirm": "yes"},  # another site's form: no token
        headers=basic("op", OPERATOR_KEY),
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert ops.container.submissions().get(sid).status == Status.PROCESSING


def test_a_ready_order_is_not_refunded_from_the_page(ops: Api) -> None:
    sid = ops.ready()
    body = assert_error(action(ops, sid, "refund"), 409, "REFUND_REFUSED")
    assert "Stripe dashboard" in body["error"]
    assert body["status"] == "ready"
    assert ops.container.submissions().get(sid).status == Status.READY


def test_a_second_refund_is_refused_with_the_first_refund_id(ops: Api) -> None:
    sid = _stuck_order(ops)
    assert action(ops, sid, "refund").status_code == 303
    refund_id = ops.container.submissions().get(sid).refund_id

    body = assert_error(action(ops, sid, "refund"), 409, "ALREADY_REFUNDED")

    assert refund_id in body["error"]


def test_a_refund_the_provider_refuses_is_shown_and_changes_nothing(ops: Api) -> None:
    sid = _stuck_order(ops)
    ops.container.refunds().fail_next(PaymentProviderError("Stripe: this charge is disputed"))
    before = ops.container.submissions().get(sid)

    body = assert_error(action(ops, sid, "refund"), 502, "REFUND_FAILED")

    assert "this charge is disputed" in body["error"]
    assert "the order is unchanged" in body["error"]
    assert ops.container.submissions().get(sid) == before


def test_the_operator_name_is_shown_as_text_never_as_markup(ops: Api) -> None:
    sid = _stuck_order(ops)
    assert action(ops, sid, user="<img src=x onerror=alert(1)>").status_code == 303
    html = page(ops).text
    assert "<img src=x" not in html
    assert "ran now by &lt;img src=x onerror=alert(1)&gt;" in html
