"""Schemathesis hooks for test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

Stripe signs every event, so a generated webhook request could never pass the signature check
and every well-formed event would be refused. Here a request that carries a ``Stripe-Signature``
header has it replaced by a valid one over the exact bytes sent, as Stripe would sign them; a
request the run sends without the header (the missing-header check) stays unsigned.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

from diagpro.adapters.stripe_events import sign_event

SECRET = "DIAGPRO_LOCAL_WEBHOOK_SECRET"
HEADER = "stripe-signature"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.path != "/webhook/stripe" or HEADER not in (case.headers or {}):
        return
    try:
        # What requests sends for json=: json.dumps(body, allow_nan=False), UTF-8 encoded.
        body = json.dumps(case.body, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return  # not JSON: left with its generated signature, refused as it should be
    case.headers[HEADER] = sign_event(body, os.environ[SECRET]).signature
