"""POST /webhook/stripe: verify, deduplicate, record, enqueue; answer in milliseconds.

Public (Stripe cannot send our API key), authenticated by ``Stripe-Signature`` over the raw
bytes. Never runs the analysis: fulfilment only marks the submission paid and queues a job.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK

from diagpro.application.payments import ReceivePaymentEvent

log = logging.getLogger("diagpro.webhook")


@post("/webhook/stripe", status_code=HTTP_200_OK)
async def stripe_webhook(
    request: Request[Any, Any, Any], receive_payment_event: NamedDependency[ReceivePaymentEvent]
) -> dict[str, Any]:
    """Receive a Stripe event. 400 on a bad signature (Stripe retries); 200 for everything
    verified, including events for unknown submissions (recorded, so nothing is lost); 503 when
    a store is down, so Stripe delivers the event again later."""
    payload = await request.body()
    signature = request.headers.get("stripe-signature", "")
    receipt = await anyio.to_thread.run_sync(receive_payment_event, payload, signature)
    log.info(
        "payment event %s for %s: %s%s",
        receipt.event_id,
        receipt.submission_id or "-",
        receipt.outcome,
        " (duplicate)" if receipt.duplicate else "",
    )
    return {"received": True, "outcome": receipt.outcome, "duplicate": receipt.duplicate}
