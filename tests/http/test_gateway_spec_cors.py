"""``diagpro gateway-spec --cors``: every path also forwards the browser's CORS preflight
(OPTIONS, which never carries the API key) to the backend, which answers it (http/cors.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from diagpro.entrypoints.http.app import create_app
from diagpro.entrypoints.http.gateway_spec import gateway_spec
from tests.harness import container_for_tests
from tests.http.test_gateway_spec import BACKEND


@pytest.fixture
def specs(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    app = create_app(container_for_tests(tmp_path), start_worker=False)
    return gateway_spec(app, BACKEND), gateway_spec(app, BACKEND, cors=True)


def test_every_path_forwards_its_preflight_without_a_key(specs):
    plain, cors = specs
    assert set(cors["paths"]) == set(plain["paths"])
    for path, operations in cors["paths"].items():
        preflight = operations.pop("options")
        assert preflight["security"] == [], path
        others = list(operations.values())
        assert preflight["x-google-backend"] == others[0]["x-google-backend"], path
        assert preflight.get("parameters") == others[0].get("parameters"), path
        # Everything else is the spec without --cors.
        assert operations == plain["paths"][path], path
    assert all("options" not in operations for operations in plain["paths"].values())


def test_the_spec_with_preflights_is_valid_swagger_2_with_unique_operation_ids(specs):
    _, cors = specs
    validate(cors)
    ids = [op["operationId"] for item in cors["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
