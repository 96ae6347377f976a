"""The served API does what its OpenAPI document says: schemathesis generates requests from
``/schema/openapi.json`` and runs every built-in check on each answer (no 5xx, documented status
codes, content types, headers and bodies, bad data refused, good data accepted, auth enforced).

Against ``diagpro serve`` as a real process on the embedded defaults, with the submission rate
limit raised so that the generated traffic measures the API, not the limiter. The number of
examples per operation is bounded (``EXAMPLES``) to keep ``make test`` quick on two cores.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.server import Server, clean_env, start_serve

pytestmark = pytest.mark.process

# Examples generated per operation and phase. Enough to cross each route's refusals (missing and
# malformed ids, wrong types, unknown submissions) while the whole run stays under a minute.
EXAMPLES = 25


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    workdir: Path = tmp_path_factory.mktemp("schemathesis")
    key = secrets.token_urlsafe(24)
    env = {
        **clean_env(workdir / "var"),
        "DIAGPRO_API_KEYS": key,
        "DIAGPRO_SUBMISSIONS_PER_MINUTE": "1000000",
    }
    server = start_serve(env, workdir)
    try:
        yield server, key
    finally:
        server.kill()


@pytest.fixture
def api_document(served: tuple[Server, str]) -> schemathesis.BaseSchema:
    server, _ = served
    return schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_document")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_served_api_does_what_its_document_says(
    case: schemathesis.Case, served: tuple[Server, str]
) -> None:
    _, key = served
    case.call_and_validate(headers={"x-api-key": key})
