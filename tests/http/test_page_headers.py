"""Every HTML answer carries the security headers: each page route, each error page, the local
checkout page (which could be framed before), and the API's documentation page."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from dependency_injector import providers
from litestar.routes import HTTPRoute

from diagpro.domain import errors as domain
from diagpro.entrypoints.http.page_headers import DOCS_POLICY, PAGE_HEADERS
from tests.http.conftest import AUTOMOTIVE, Api


def assert_secured(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.headers
    for name, value in PAGE_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], path)


def test_every_get_route_that_answers_html_carries_the_headers(api: Api) -> None:
    """Walks the app's routes, so a page added later is checked without editing this test."""
    sid = api.save()
    session_id = str(api.checkout(sid)["sessionId"])
    values = {"submission_id": sid, "session_id": session_id, "name": "site.css", "path": "x"}
    html_paths = []
    for route in api.app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods:
            continue
        response = api.client.get(_url(route.path, values), follow_redirects=False)
        assert response.headers.get("x-content-type-options") == "nosniff", route.path
        if response.headers.get("content-type", "").startswith("text/html"):
            html_paths.append(route.path)
            if route.path.startswith("/schema"):
                assert response.headers["content-security-policy"] == DOCS_POLICY
                assert response.headers["x-frame-options"] == "DENY"
            else:
                assert_secured(response)
    # The walk reached the pages (a broken walk must not pass by finding none).
    for page in ("/", "/review/{submission_id:str}", "/success", "/cancel"):
        assert page in html_paths
    assert "/checkout/local/{session_id:str}" in html_paths


def test_the_local_checkout_page_cannot_be_framed(api: Api) -> None:
    session_id = str(api.checkout(api.save())["sessionId"])
    response = api.client.get(f"/checkout/local/{session_id}")
    assert response.status_code == 200
    assert_secured(response)
    assert response.headers["x-frame-options"] == "DENY"


UNKNOWN_ID = "diag_1764115200000_" + "0" * 24


@pytest.mark.parametrize(
    "url",
    [f"/review/{UNKNOWN_ID}", "/review/not-an-id", "/success", f"/download/{UNKNOWN_ID}"],
)
def test_not_found_pages_carry_the_headers(api: Api, url: str) -> None:
    response = api.client.get(url)
    assert response.status_code == 404
    assert_secured(response)


class FailingSubmissions:
    """A store whose every read fails with ``exc``."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get(self, submission_id: str) -> None:
        raise self.exc


@pytest.mark.parametrize(
    "exc, status",
    [(RuntimeError("a bug"), 500), (domain.StoreUnavailable("database is locked"), 503)],
)
def test_failure_pages_carry_the_headers(api: Api, exc: Exception, status: int) -> None:
    sid = api.save()
    api.container.submissions.override(providers.Object(FailingSubmissions(exc)))
    response = api.client.get(f"/review/{sid}")
    assert response.status_code == status
    assert_secured(response)


def test_the_refused_form_and_the_rate_limit_page_carry_the_headers(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(env={"DIAGPRO_SUBMISSIONS_PER_MINUTE": "1"})
    form = {**AUTOMOTIVE, "symptoms": "rough idle", "email": "not-an-email"}
    refused = api.form("/intake", form)
    assert refused.status_code == 400
    assert_secured(refused)
    limited = api.form("/intake", form)
    assert limited.status_code == 429
    assert_secured(limited)


def test_a_header_a_handler_chose_is_kept(api: Api) -> None:
    asset = api.client.get("/assets/site.css")
    assert asset.headers["cache-control"] == "public, max-age=300"
    assert "content-security-policy" not in asset.headers  # not HTML


def test_json_answers_are_not_sniffed_either(api: Api) -> None:
    for response in (api.client.get("/nothing-here"), api.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
