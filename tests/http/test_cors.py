"""A browser frontend on another origin (DIAGPRO_CORS_ORIGINS): its preflight is answered for the
listed origins only, without an API key, and the API's answers carry what the page may read.
The gateway side (OPTIONS forwarded without a key) is in test_gateway_spec_cors.py."""

from __future__ import annotations

import pytest

from diagpro.config import ConfigError, load_settings
from tests.http.conftest import AUTOMOTIVE

SHOP = "https://shop.example.com"
PREFLIGHT = {
    "origin": SHOP,
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type,x-api-key",
}


@pytest.fixture
def cors_api(make_api):
    return make_api(env={"DIAGPRO_CORS_ORIGINS": f"{SHOP}, https://admin.example.com/"}, fresh=True)


def test_a_listed_origin_is_answered_its_preflight_without_a_key(cors_api):
    response = cors_api.client.options("/saveSubmission", headers=PREFLIGHT)
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"x-api-key", "content-type"} <= {h.strip() for h in allowed.split(",")}
    assert "POST" in response.headers["access-control-allow-methods"]


def test_the_api_answers_a_listed_origin_with_what_it_may_read(cors_api):
    response = cors_api.client.post(
        "/saveSubmission",
        json={"payload": AUTOMOTIVE},
        headers=cors_api.headers(origin="https://admin.example.com"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "https://admin.example.com"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_an_origin_not_listed_gets_no_permission(cors_api):
    preflight = cors_api.client.options(
        "/saveSubmission", headers={**PREFLIGHT, "origin": "https://evil.example.net"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = cors_api.client.post(
        "/saveSubmission",
        json={"payload": AUTOMOTIVE},
        headers=cors_api.headers(origin="https://evil.example.net"),
    )
    assert "access-control-allow-origin" not in response.headers


def test_without_the_setting_no_origin_gets_permission(make_api):
    api = make_api(fresh=True)
    response = api.client.options("/saveSubmission", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("bad", ["shop.example.com", "https://shop.example.com/app", "ftp://x.y"])
def test_something_that_is_not_an_origin_is_refused_by_name(bad):
    with pytest.raises(ConfigError, match="DIAGPRO_CORS_ORIGINS"):
        load_settings({"DIAGPRO_CORS_ORIGINS": f"{SHOP},{bad}"})
