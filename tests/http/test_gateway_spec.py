"""The API Gateway config is generated from the app's routes, so a route cannot miss the gateway.

The original lost payments to routes its hand-kept gateway config did not have (incidents 0100 and
0026); here every (path, method) the app serves must reach the gateway, with the API key demanded
exactly where the backend checks it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from litestar import Litestar, Router, get, post, websocket
from litestar.connection import WebSocket
from litestar.params import FromPath
from litestar.testing import TestClient
from openapi_spec_validator import validate

from diagpro.entrypoints import cli
from diagpro.entrypoints.http.app import create_app
from diagpro.entrypoints.http.auth import ApiKeys, api_key_check
from diagpro.entrypoints.http.gateway_spec import GatewaySpecError, gateway_spec
from tests.harness import container_for_tests

BACKEND = "https://diagpro-xyz.a.run.app"
KEY = {"api_key": []}

# The JSON API behind the x-api-key header. Everything else (webhook, health, pages, files, the
# local checkout) is public. A new API route must be added here on purpose.
PROTECTED = {
    ("/saveSubmission", "post"),
    ("/createCheckoutSession", "post"),
    ("/checkout/session", "get"),
    ("/analysisStatus", "post"),
    ("/analysisStatus", "get"),
    ("/analyzeDiagnostic", "post"),
    ("/getDownloadUrl", "post"),
    ("/reports/signed-url", "get"),
    ("/reports/status", "get"),
    ("/reports/ensure", "post"),
}
# Called on the Cloud Run URL directly by Pub/Sub push and Cloud Scheduler, with Google's OIDC
# token: never through the gateway, which would open them to the internet.
INTERNAL = {("/tasks/jobs", "post"), ("/tasks/sweep", "post")}
PUBLIC_AT_LEAST = {
    ("/webhook/stripe", "post"),
    ("/healthz", "get"),
    ("/readyz", "get"),
    ("/view/{submission_id}", "get"),
    ("/checkout/local/{session_id}", "get"),
    ("/checkout/local/{session_id}/pay", "post"),
    ("/checkout/local/{session_id}/cancel", "post"),
    ("/files/reports/{name}", "get"),
}


@pytest.fixture
def app(tmp_path: Path) -> Litestar:
    container = container_for_tests(tmp_path)
    return create_app(container, start_worker=False)


@pytest.fixture
def spec(app: Litestar) -> dict[str, Any]:
    return gateway_spec(app, BACKEND)


def app_operations(app: Litestar) -> set[tuple[str, str]]:
    """(Swagger path, method) for every route the app serves, worked out here on its own."""
    found = set()
    for route in app.routes:
        if route.path.startswith("/tasks/") or route.path == "/metrics":
            continue  # called on the service directly (Pub/Sub, Cloud Scheduler, a scraper)
        if route.path == "/schema" or route.path.startswith("/schema/"):
            continue
        swagger_path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods:
            if method != "OPTIONS":  # Litestar answers OPTIONS on every path by itself
                found.add((swagger_path, method.lower()))
    return found


def spec_operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def test_every_route_of_the_app_reaches_the_gateway(app: Litestar, spec: dict[str, Any]) -> None:
    served = app_operations(app)
    routed = set(spec_operations(spec))
    assert served - routed == set(), "routes the gateway would answer 404 for"
    assert routed - served == set(), "gateway operations with no route behind them"
    assert routed >= PROTECTED | PUBLIC_AT_LEAST
    assert not any(path.startswith("/schema") for path, _ in routed)
    assert ("/metrics", "get") not in routed  # a scraper with an operator key, not the public


def test_the_task_routes_exist_but_stay_out_of_the_gateway(
    app: Litestar, spec: dict[str, Any]
) -> None:
    served = {
        (route.path, method.lower())
        for route in app.routes
        for method in route.methods
        if method != "OPTIONS"
    }
    assert served >= INTERNAL
    assert not INTERNAL & set(spec_operations(spec))
    assert not any(path.startswith("/tasks") for path in spec["paths"])


def test_the_api_key_is_demanded_exactly_on_the_json_api(spec: dict[str, Any]) -> None:
    for (path, method), operation in spec_operations(spec).items():
        expected = [KEY] if (path, method) in PROTECTED else []
        assert operation["security"] == expected, f"{method.upper()} {path}"
    assert spec["securityDefinitions"] == {
        "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
    }


def test_the_spec_says_what_the_backend_does_about_the_key(
    app: Litestar, spec: dict[str, Any]
) -> None:
    """Without a key, the backend refuses exactly the operations the gateway guards."""
    with TestClient(app) as client:
        for (path, method), operation in spec_operations(spec).items():
            url = re.sub(r"\{\w+\}", "x", path)
            answer = client.request(method.upper(), url, follow_redirects=False)
            refused = answer.status_code == 401
            assert refused == bool(operation["security"]), f"{method.upper()} {path}"


def test_operations_are_forwarded_to_the_backend_with_their_path(spec: dict[str, Any]) -> None:
    operations = spec_operations(spec)
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(ids) == len(set(ids))
    for operation in operations.values():
        backend = operation["x-google-backend"]
        assert backend["address"].startswith(BACKEND)
        # The gateway appends the request path itself; a path in the address would be doubled.
        assert backend == {
            "address": BACKEND,
            "path_translation": "APPEND_PATH_TO_ADDRESS",
            "deadline": 60.0,
        }
        assert operation["responses"]
    view = operations[("/view/{submission_id}", "get")]
    assert view["parameters"] == [
        {"name": "submission_id", "in": "path", "required": True, "type": "string"}
    ]
    assert list(view["responses"]) == ["302"]
    assert list(operations[("/analyzeDiagnostic", "post")]["responses"]) == ["202"]


def test_the_spec_is_valid_swagger_2(spec: dict[str, Any]) -> None:
    assert spec["swagger"] == "2.0"
    assert spec["schemes"] == ["https"]
    validate(spec)


def test_the_cli_writes_the_same_spec_as_yaml(
    app: Litestar,
    spec: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(tmp_path / "cli-data"))
    target = tmp_path / "gateway.yaml"
    assert cli.main(["gateway-spec", "--backend", BACKEND + "/", "--output", str(target)]) == 0
    assert yaml.safe_load(target.read_text(encoding="utf-8")) == spec
    capsys.readouterr()

    assert cli.main(["gateway-spec", "--backend", BACKEND]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == spec

    assert cli.main(["gateway-spec", "--backend", "not-a-url"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err


def test_a_new_route_reaches_the_gateway_with_its_key_check() -> None:
    check = api_key_check(ApiKeys(("k" * 16,)))

    @get("/things/{thing_id:int}", sync_to_thread=False)
    def thing(thing_id: FromPath[int]) -> dict[str, int]:
        return {"id": thing_id}

    @post("/hook", sync_to_thread=False)
    def hook() -> None:
        return None

    private = Router(
        path="/", route_handlers=[thing], middleware=[check], security=[{"apiKey": []}]
    )
    spec = gateway_spec(Litestar([private, hook], openapi_config=None), BACKEND)
    assert spec["paths"]["/things/{thing_id}"]["get"]["security"] == [KEY]
    assert spec["paths"]["/things/{thing_id}"]["get"]["parameters"][0]["type"] == "integer"
    assert spec["paths"]["/hook"]["post"]["security"] == []
    validate(spec)


def test_a_key_check_without_its_declared_security_is_refused() -> None:
    @get("/secret", middleware=[api_key_check(ApiKeys(("k" * 16,)))], sync_to_thread=False)
    def secret() -> str:
        return "s"

    @get("/claims", security=[{"apiKey": []}], sync_to_thread=False)
    def claims() -> str:
        return "c"

    for handler in (secret, claims):
        with pytest.raises(GatewaySpecError, match="agree"):
            gateway_spec(Litestar([handler]), BACKEND)


def test_routes_the_gateway_cannot_express_are_refused() -> None:
    @websocket("/socket")
    async def socket(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.close()

    @get("/files/{rest:path}", sync_to_thread=False)
    def files(rest: FromPath[Path]) -> str:
        return str(rest)

    for handler in (socket, files):
        with pytest.raises(GatewaySpecError):
            gateway_spec(Litestar([handler]), BACKEND)


@pytest.mark.parametrize("backend", ["", "diagpro-xyz.a.run.app", "https://x.run.app/?a=1"])
def test_a_bad_backend_is_refused(app: Litestar, backend: str) -> None:
    with pytest.raises(GatewaySpecError):
        gateway_spec(app, backend)
