"""POST /webhook/stripe: verify, deduplicate, record, enqueue; answer in milliseconds.

Public (Stripe cannot send our API key), authenticated by ``Stripe-Signature`` over the raw
bytes. Never runs the analysis: fulfilment only marks the submission paid and queues a job.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType
from litestar.params import HeaderParameter
from litestar.status_codes import HTTP_200_OK

from diagpro.application.payments import ReceivePaymentEvent
from diagpro.entrypoints.http.openapi import (
    BAD_SIGNATURE,
    NO_SIGNATURE,
    NOT_AN_EVENT,
    STORE_DOWN,
    TOO_LARGE,
    refusing,
    stripe_event_body,
)
from diagpro.entrypoints.http.order_path import Awaited

log = logging.getLogger("diagpro.webhook")

# Required in the document; read leniently so that its absence is answered MISSING_SIGNATURE.
SignatureHeader = Annotated[
    str | None,
    HeaderParameter(
        name="stripe-signature",
        required=True,
        description="t=<unix time>,v1=<HMAC-SHA256 of t.body> "
        "(https://docs.stripe.com/webhooks#verify-manually)",
        schema_extra={"one_of": None, "type": OpenAPIType.STRING},
    ),
]


@post(
    "/webhook/stripe",
    status_code=HTTP_200_OK,
    operation_class=refusing(
        NO_SIGNATURE,
        BAD_SIGNATURE,
        NOT_AN_EVENT,
        TOO_LARGE,
        STORE_DOWN,
        body=stripe_event_body(),
    ),
)
async def stripe_webhook(
    request: Request[Any, Any, Any],
    receive_payment_event: NamedDependency[Awaited[ReceivePaymentEvent]],
    signature: SignatureHeader,
) -> dict[str, Any]:
    """Receive a Stripe event. 400 on a bad signature (Stripe retries); 200 for everything
    verified, including events for unknown submissions (recorded, so nothing is lost); 503 when
    a store is down, so Stripe delivers the event again later."""
    started = time.perf_counter()
    try:
        payload = await request.body()
        receipt = await receive_payment_event(payload, signature or "")
    finally:  # refusals too: a slow 503 is what an operator needs to see
        # The meter comes with the use case: a second dependency of this handler would be
        # resolved in an anyio task group, which costs more than the rest (order_path.py).
        receive_payment_event.use_case.meter.webhook(time.perf_counter() - started)
    log.info(
        "payment event %s for %s: %s%s",
        receipt.event_id,
        receipt.submission_id or "-",
        receipt.outcome,
        " (duplicate)" if receipt.duplicate else "",
    )
    return {"received": True, "outcome": receipt.outcome, "duplicate": receipt.duplicate}
