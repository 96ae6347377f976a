"""``/schema/openapi.json`` describes what the server does: its error shape, each route's refusals
and their codes, required fields, the waits it asks for, and the intake payload the domain
accepts. (tests/e2e/test_schemathesis.py checks the same against the served app, generatively.)

The attack: the document said every error was Litestar's ``{status_code, detail}``, marked no
field required, left 401, 409, 413 and 429 out, and ``OPTIONS /analysisStatus`` left GET out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from diagpro.domain.errors import IntakeInvalid
from diagpro.domain.intake import validate_intake
from tests.builders import ORIGINAL_FRONTEND_PAYLOAD
from tests.http.conftest import AUTOMOTIVE, Api, assert_error

UNKNOWN_ID = "diag_1795694400000_" + "e" * 24


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return dict(document["paths"][path][method])


def codes(document: dict[str, Any], method: str, path: str, status: int) -> list[str]:
    """The codes the document lists for one answer of one route."""
    schema = operation(document, method, path)["responses"][str(status)]["content"]
    narrowed = schema["application/json"]["schema"]["allOf"]
    assert narrowed[0] == {"$ref": "#/components/schemas/Error"}
    return list(narrowed[1]["properties"]["code"]["enum"])


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_error_answer_is_the_one_envelope_with_its_request_id(
    document: dict[str, Any],
) -> None:
    text = json.dumps(document)
    assert '"status_code"' not in text and '"detail"' not in text
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "code", "details"]
    checked = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if int(status) < 400:
                    continue
                checked += 1
                assert codes(document, method, path, int(status)), (method, path, status)
                assert answer["headers"]["x-request-id"]["required"] is True
    assert checked > 50


def test_the_refusals_the_issue_named_are_documented(document: dict[str, Any]) -> None:
    save = operation(document, "post", "/saveSubmission")["responses"]
    assert {"400", "401", "413", "429", "503"} <= set(save)
    assert codes(document, "post", "/saveSubmission", 429) == ["RATE_LIMITED"]
    assert save["429"]["headers"]["Retry-After"]["required"] is True
    assert save["503"]["headers"]["Retry-After"]["required"] is True
    assert codes(document, "post", "/createCheckoutSession", 409) == [
        "INVALID_STATUS",
        "CONFLICT",
    ]
    assert codes(document, "post", "/getDownloadUrl", 409) == ["REPORT_NOT_READY"]
    assert codes(document, "get", "/reports/status", 409) == ["REPORT_FAILED", "REFUNDED"]
    assert codes(document, "post", "/webhook/stripe", 400) == [
        "MISSING_SIGNATURE",
        "INVALID_SIGNATURE",
        "INVALID_PAYLOAD",
    ]
    # The webhook and the report link are public: no 401 to document there.
    assert "401" not in operation(document, "post", "/webhook/stripe")["responses"]
    assert "401" not in operation(document, "get", "/view/{submission_id}")["responses"]


def test_required_fields_are_marked_required(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["SubmissionRef"]["required"] == ["submissionId"]
    assert schemas["SaveSubmissionBody"]["required"] == ["payload"]
    [query] = operation(document, "get", "/analysisStatus")["parameters"]
    assert (query["name"], query["required"]) == ("submissionId", True)
    assert query["schema"]["pattern"] == "^diag_[0-9]{13}_[0-9a-f]{8,32}$"
    [signature] = operation(document, "post", "/webhook/stripe")["parameters"]
    assert (signature["name"], signature["required"]) == ("stripe-signature", True)
    for intake in (s for name, s in schemas.items() if name.startswith("Intake_")):
        assert intake["required"] == ["email", "equipmentType"]
        assert intake["additionalProperties"] is False


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "status", "code"),
    [
        ("post", "/analysisStatus", {"json": {}}, 400, "MISSING_SUBMISSION_ID"),
        ("post", "/analysisStatus", {"json": {"submissionId": "x"}}, 400, "BAD_ID"),
        ("post", "/analysisStatus", {"json": {"submissionId": 7}}, 400, "VALIDATION_ERROR"),
        ("post", "/analysisStatus", {"content": b"{"}, 400, "INVALID_JSON"),
        ("get", "/analysisStatus", {}, 400, "MISSING_SUBMISSION_ID"),
        ("post", "/getDownloadUrl", {"json": {"submissionId": UNKNOWN_ID}}, 404, None),
        ("post", "/saveSubmission", {"json": {}}, 400, "VALIDATION_ERROR"),
        ("post", "/saveSubmission", {"content": b"x" * 200_000}, 413, "PAYLOAD_TOO_LARGE"),
        ("get", "/checkout/session", {"params": {"id": "nope"}}, 400, "BAD_SESSION_ID"),
        ("post", "/webhook/stripe", {"content": b"{}"}, 400, "MISSING_SIGNATURE"),
    ],
)
def test_what_the_server_answers_is_what_the_document_lists(
    api: Api,
    document: dict[str, Any],
    method: str,
    path: str,
    request_kwargs: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    response = api.client.request(method, path, headers=api.headers(), **request_kwargs)
    body = assert_error(response, status, code or response.json().get("code", ""))
    assert body["code"] in codes(document, method, path, status)


def test_an_answer_without_a_key_is_documented_too(api: Api, document: dict[str, Any]) -> None:
    body = assert_error(api.client.post("/reports/ensure", json={}), 401, "UNAUTHORIZED")
    assert body["code"] in codes(document, "post", "/reports/ensure", 401)


def test_options_lists_every_method_of_a_path(api: Api) -> None:
    # Litestar 2 answered "OPTIONS, POST" for /analysisStatus (litestar-org/litestar#4169).
    response = api.client.options("/analysisStatus", headers=api.headers())
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS, POST"


# -- the intake payload: the document accepts what the domain accepts ----------------------------


@pytest.fixture
def payload_validator(document: dict[str, Any]) -> Draft202012Validator:
    schema = {"$ref": "#/components/schemas/IntakePayload", "components": document["components"]}
    return Draft202012Validator(schema)


def accepted_by_domain(payload: dict[str, Any]) -> bool:
    try:
        validate_intake(payload)
    except IntakeInvalid:
        return False
    return True


@pytest.mark.parametrize(
    "payload",
    [
        AUTOMOTIVE,
        ORIGINAL_FRONTEND_PAYLOAD,
        {**AUTOMOTIVE, "checkEngineLightOn": True, "fuelType": "diesel"},
        {"equipmentType": "hvac", "email": "a@b.co", "symptoms": ["no heat", None, ""]},
        {
            "equipmentType": "hvac",
            "email": "a@b.co",
            "errorCodes": "E1",
            "phone": " +1 (555) 0100 ",
        },
        {"equipmentType": "electronics", "email": "a@b.co", "problemDescription": "No 🔋"},
        {"equipmentType": "marine", "email": "a@b.co", "symptoms": "leak", "shopQuoteAmount": 99.5},
    ],
)
def test_a_payload_the_domain_accepts_is_valid_in_the_document(
    payload_validator: Draft202012Validator, payload: dict[str, Any]
) -> None:
    assert accepted_by_domain(payload)
    assert not list(payload_validator.iter_errors(payload))


@pytest.mark.parametrize(
    "changes",
    [
        {"email": ""},
        {"equipmentType": "spaceship"},
        {"make": "A\u202eB"},  # a bidi override, refused by the domain
        {"make": 2015},  # text is text
        {"year": "15"},
        {"phone": "call me"},
        {"urgencyLevel": "whenever"},
        {"fuelType": "diesel", "equipmentType": "hvac"},  # a detail of another category
        {"colour": "red"},  # unknown field
        {"symptoms": ["x"] * 31},
        {"problemDescription": "", "symptoms": [], "errorCodes": "   "},
        {"shopQuoteAmount": "$20,000,000"},
    ],
)
def test_a_payload_the_domain_refuses_is_invalid_in_the_document(
    payload_validator: Draft202012Validator, changes: dict[str, Any]
) -> None:
    payload = {**AUTOMOTIVE, **changes}
    assert not accepted_by_domain(payload)
    assert list(payload_validator.iter_errors(payload))


def test_a_rate_limited_answer_carries_the_wait_the_document_promises(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(env={"DIAGPRO_SUBMISSIONS_PER_MINUTE": "1"})
    api.save()
    document = api.client.get("/schema/openapi.json").json()
    response = api.post("/saveSubmission", {"payload": AUTOMOTIVE})
    body = assert_error(response, 429, "RATE_LIMITED")
    assert body["code"] in codes(document, "post", "/saveSubmission", 429)
    promised = operation(document, "post", "/saveSubmission")["responses"]["429"]["headers"]
    assert promised["Retry-After"]["required"]
    assert int(response.headers["retry-after"]) >= 0


def test_a_browser_preflight_for_either_method_of_analysis_status_is_answered(
    make_api: Callable[..., Api],
) -> None:
    shop = "https://shop.example.com"
    api = make_api(env={"DIAGPRO_CORS_ORIGINS": shop}, fresh=True)
    for method in ("GET", "POST"):
        response = api.client.options(
            "/analysisStatus",
            headers={
                "origin": shop,
                "access-control-request-method": method,
                "access-control-request-headers": "x-api-key",
            },
        )
        assert response.status_code == 204, response.text
        assert method in response.headers["access-control-allow-methods"]
    # Without a preflight's headers, the plain OPTIONS answer lists every method.
    plain = api.client.options("/analysisStatus", headers=api.headers())
    assert plain.headers["allow"] == "GET, OPTIONS, POST"
