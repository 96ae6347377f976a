"""What ``/schema`` says about failures: one error schema, and on each route the refusals it can
answer, each status with the codes a client can branch on.

Litestar documents its own ``{status_code, detail}`` error shape, which diagpro never sends
(every error is ``{error, code, details}``, see errors.py), and knows nothing of the refusals
handlers raise. ``refusing(...)`` gives a route an OpenAPI Operation class (Litestar's
``operation_class``, the hook it offers for this) that replaces the error responses with the
route's own: ``Error`` narrowed to the route's codes for that status, the request id every
error carries, and ``Retry-After`` where a client is told to wait (RFC 9110, section 10.2.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
    Link,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)

from diagpro.entrypoints.http.auth import API_KEY_HEADER
from diagpro.entrypoints.http.intake_schema import intake_components
from diagpro.entrypoints.http.observability import REQUEST_ID_HEADER

ERROR = "Error"


@dataclass(frozen=True)
class Refusal:
    """One way a route says no: its status, its stable code, and when it happens."""

    status: int
    code: str
    when: str


# -- the catalogue: every refusal a route of the JSON API or the webhook can answer ------------
UNAUTHORIZED = Refusal(401, "UNAUTHORIZED", "the x-api-key header is missing or not accepted")
TOO_LARGE = Refusal(413, "PAYLOAD_TOO_LARGE", "the body is larger than 128 KiB")
NOT_JSON = Refusal(400, "INVALID_JSON", "the body is not JSON")
INVALID = Refusal(
    400, "VALIDATION_ERROR", "a field is missing or of the wrong type; `details` names each"
)
MISSING_ID = Refusal(400, "MISSING_SUBMISSION_ID", "no submissionId, or an empty one")
BAD_ID = Refusal(400, "BAD_ID", "the submissionId is not shaped like diag_<13 digits>_<hex>")
NOT_FOUND = Refusal(404, "SUBMISSION_NOT_FOUND", "no submission has this id")
# A lost report file is not a refusal (it is made again and reads as not ready yet); a file
# that is there but cannot be read now is.
REPORT_UNREADABLE = Refusal(
    503, "REPORT_STORAGE_ERROR", "the stored report cannot be read for now; try after Retry-After"
)
NOT_READY = Refusal(409, "REPORT_NOT_READY", "the report is not ready; `status` says where it is")
NOT_PAID = Refusal(409, "NOT_PAID", "the submission is not paid for")
WRONG_STATUS = Refusal(409, "INVALID_STATUS", "the submission's status forbids this")
CONFLICT = Refusal(409, "CONFLICT", "the submission changed while it was being updated")
BAD_SESSION = Refusal(400, "BAD_SESSION_ID", "id is not a checkout session id (cs_...)")
NO_SESSION = Refusal(404, "CHECKOUT_SESSION_NOT_FOUND", "the payment provider has no such session")
REPORT_FAILED = Refusal(409, "REPORT_FAILED", "the report could not be made; ask /reports/ensure")
REFUNDED = Refusal(409, "REFUNDED", "the payment was refunded, so the report is withdrawn")
ERASED = Refusal(
    410, "REPORT_ERASED", "the order's details and report were erased (`erasedAt` says when)"
)
NO_SIGNATURE = Refusal(400, "MISSING_SIGNATURE", "there is no Stripe-Signature header")
BAD_SIGNATURE = Refusal(
    400, "INVALID_SIGNATURE", "the Stripe-Signature header does not match the body, or is stale"
)
NOT_AN_EVENT = Refusal(
    400, "INVALID_PAYLOAD", "the signed body is not JSON, or not a Stripe event object"
)
RATE_LIMITED = Refusal(
    429, "RATE_LIMITED", "too many submissions from this client; wait Retry-After seconds"
)
PROVIDER_FAILED = Refusal(502, "PAYMENT_PROVIDER_ERROR", "the payment provider failed the call")
STORE_DOWN = Refusal(
    503, "STORE_UNAVAILABLE", "a store cannot be reached for now; try again after Retry-After"
)

# Every JSON API route (behind the key, reading the store).
KEYED = (UNAUTHORIZED, STORE_DOWN)
# A JSON body naming a submission: {"submissionId": "diag_..."}.
ID_BODY = (NOT_JSON, INVALID, MISSING_ID, BAD_ID, TOO_LARGE)
# ?submissionId=diag_... on a GET.
ID_QUERY = (MISSING_ID, BAD_ID, INVALID)

# The waits a client is told to honour before trying again.
_WAIT = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    description="Seconds to wait before trying again (RFC 9110, section 10.2.3)",
    required=True,
)
_REQUEST_ID = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING),
    description="The request's id (the client's x-request-id, or one made here): quote it",
    required=True,
)
_RETRY_AFTER_STATUSES = frozenset({429, 503})


def error_schema() -> Schema:
    """The one error envelope (errors.py ``envelope``)."""
    text = OpenAPIType.STRING
    detail = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "field": Schema(type=text, description="The field, as the request named it"),
            "message": Schema(type=text, description="What is wrong with it"),
        },
        required=["field", "message"],
    )
    return Schema(
        type=OpenAPIType.OBJECT,
        title=ERROR,
        properties={
            "error": Schema(type=text, description="A sentence for a person"),
            "code": Schema(type=text, description="A stable code for a program"),
            "details": Schema(type=OpenAPIType.ARRAY, items=detail),
            "status": Schema(type=text, description="The submission's status, when it matters"),
        },
        required=["error", "code", "details"],
    )


def error_responses(refusals: Sequence[Refusal]) -> dict[str, OpenAPIResponse]:
    by_status: dict[int, list[Refusal]] = {}
    for refusal in refusals:
        by_status.setdefault(refusal.status, []).append(refusal)
    return {str(status): _response(status, found) for status, found in sorted(by_status.items())}


def _response(status: int, refusals: list[Refusal]) -> OpenAPIResponse:
    codes = list(dict.fromkeys(r.code for r in refusals))
    lines = [f"- `{r.code}`: {r.when}" for r in refusals]
    narrowed = Schema(
        all_of=[
            Reference(ref=f"#/components/schemas/{ERROR}"),
            Schema(properties={"code": Schema(type=OpenAPIType.STRING, enum=codes)}),
        ]
    )
    headers: dict[str, OpenAPIHeader | Reference] = {REQUEST_ID_HEADER: _REQUEST_ID}
    if status in _RETRY_AFTER_STATUSES:
        headers["Retry-After"] = _WAIT
    return OpenAPIResponse(
        description=f"{HTTPStatus(status).phrase}:\n" + "\n".join(lines),
        content={"application/json": OpenAPIMediaType(schema=narrowed)},
        headers=headers,
    )


def refusing(
    *refusals: Refusal, body: RequestBody | None = None, leads_to: dict[str, Link] | None = None
) -> type[Operation]:
    """An Operation class for a route that can answer ``refusals``: its documented error
    responses are exactly these (Litestar's generic 400 is dropped: diagpro never sends it).
    ``body`` documents a request body the handler reads raw (the webhook's signed bytes);
    ``leads_to`` are the OpenAPI links from its 200 answer to the calls that use it."""
    documented = error_responses(refusals)

    @dataclass
    class RefusingOperation(Operation):
        def __post_init__(self) -> None:
            answers = {s: r for s, r in (self.responses or {}).items() if int(s) < 400}
            self.responses = {**answers, **documented}
            if body is not None:
                self.request_body = body
            ok = answers.get("200")
            if leads_to and isinstance(ok, OpenAPIResponse):
                ok.links = dict(leads_to)

    return RefusingOperation


def submission_links(source: str) -> dict[str, Link]:
    """Links from an answer carrying ``submissionId`` (at JSON pointer ``source``) to every call
    that takes one, by Litestar's operation ids (so a client, or schemathesis' stateful phase,
    can follow a submission through the API)."""
    value = f"$response.body#{source}"
    by_body = {
        "createCheckoutSession": "CreatecheckoutsessionCreateCheckoutSession",
        "analysisStatus": "AnalysisstatusAnalysisStatus",
        "analyzeDiagnostic": "AnalyzediagnosticAnalyzeDiagnostic",
        "getDownloadUrl": "GetdownloadurlGetDownloadUrl",
        "ensureReport": "ReportsEnsureReportsEnsure",
    }
    by_query = {
        "analysisStatusGet": "AnalysisstatusAnalysisStatusGet",
        "reportStatus": "ReportsStatusReportsStatus",
        "signedUrl": "ReportsSignedUrlReportsSignedUrl",
    }
    links = {
        name: Link(operation_id=op, request_body={"submissionId": value})
        for name, op in by_body.items()
    }
    links.update(
        {
            name: Link(operation_id=op, parameters={"submissionId": value})
            for name, op in by_query.items()
        }
    )
    links["view"] = Link(
        operation_id="ViewSubmissionIdViewReport", parameters={"submission_id": value}
    )
    return links


def stripe_event_body() -> RequestBody:
    """What Stripe posts to the webhook: an event object
    (https://docs.stripe.com/api/events/object), with the fields diagpro reads typed."""
    integer, text, null = OpenAPIType.INTEGER, OpenAPIType.STRING, OpenAPIType.NULL
    # Stripe's values, and "refunded", which the local checkout marks (domain PaymentStatus).
    payment_status = ("paid", "unpaid", "no_payment_required", "refunded")
    cents = Schema(type=[integer, null], description="An amount in the currency's minor unit")
    subject = Schema(
        type=OpenAPIType.OBJECT,
        description="The checkout session, charge or dispute the event is about",
        properties={
            "object": Schema(description="Its kind: checkout.session, charge, ..."),
            "metadata": Schema(type=[OpenAPIType.OBJECT, null]),
        },
        # A checkout session's paid amount and payment status are read; of anything else, the
        # amount refunded.
        schema_if=Schema(
            properties={"object": Schema(const="checkout.session")}, required=["object"]
        ),
        then=Schema(
            properties={
                "amount_total": cents,
                "payment_status": Schema(enum=[*payment_status, None]),
            }
        ),
        schema_else=Schema(properties={"amount_refunded": cents}),
    )
    event = Schema(
        type=OpenAPIType.OBJECT,
        required=["id", "type", "data"],
        properties={
            "id": Schema(type=text, min_length=1),
            "type": Schema(type=text, min_length=1),
            # Seconds since 1970, within what a date can hold (year 9999).
            "created": Schema(type=integer, minimum=0, maximum=253_402_300_799),
            "data": Schema(
                type=OpenAPIType.OBJECT, required=["object"], properties={"object": subject}
            ),
        },
    )
    return RequestBody(
        required=True,
        description="The event exactly as Stripe sent it: the signature covers these bytes",
        content={"application/json": OpenAPIMediaType(schema=event)},
    )


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="diagpro",
        version=version,
        path="/schema",
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="apiKey", name=API_KEY_HEADER, security_scheme_in="header"
                )
            },
        ),
    )


def add_shared_schemas(document: OpenAPI, price_cents: int) -> None:
    """Add the schemas the routes refer to (the error envelope, the intake payload) to the
    built document: Litestar 2 sets ``components.schemas`` to the ones it generated itself and
    drops any given in OpenAPIConfig. ``priceCents`` is a setting (DIAGPRO_PRICE_CENTS), so its
    one accepted value is written in here, where the settings are known."""
    schemas = dict(document.components.schemas or {})
    schemas.update({ERROR: error_schema(), **intake_components()})
    body = schemas.get("SaveSubmissionBody")
    if isinstance(body, Schema) and body.properties and "priceCents" in body.properties:
        body.properties["priceCents"] = Schema(
            one_of=[Schema(const=price_cents), Schema(type=OpenAPIType.NULL)],
            description="The price the customer was shown, in cents: it must be this server's "
            "price, else the submission is refused (400 VALIDATION_ERROR naming priceCents)",
        )
    document.components.schemas = schemas
