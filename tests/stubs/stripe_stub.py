"""A small stand-in for the parts of Stripe's API that diagpro calls, for tests.

localstripe has no Checkout Sessions, and the official stripe-mock
(https://github.com/stripe/stripe-mock) is stateless (a session it creates cannot be fetched,
expired or paid later), so this local HTTP stub (``tests/stubs/local_http.py``) emulates, on
127.0.0.1 only:

- ``POST /v1/checkout/sessions`` (form-encoded bracket keys, ``Idempotency-Key`` replay),
- ``GET /v1/checkout/sessions/{id}``, ``POST /v1/checkout/sessions/{id}/expire``,
- ``POST /v1/refunds``,
- ``GET /v1/payment_intents/{id}`` and ``GET /v1/charges/{id}`` for the payments ``pay`` makes,
- ``GET /v1/webhook_endpoints`` (``limit``/``starting_after`` pages) over the endpoints a test
  registers with ``add_webhook_endpoint``,

with Stripe-shaped JSON and errors (404 ``resource_missing``, 401 for a key that does not start
with ``sk_test_``, 400 with ``param``). Idempotency keys follow Stripe's rules
(https://docs.stripe.com/api/idempotent_requests): a key sent again with other parameters is
refused with 400 ``idempotency_error``; a key's first result is replayed, 500s included, but a
request refused by validation saves nothing and may be retried. Sessions expire by time like
Stripe's, on a clock tests can inject. Every request is logged in ``requests`` (method, path,
flat form fields, headers).

    with StripeStub() as stub:
        client = StripeClient("sk_test_x", base_addresses={"api": stub.api_base})
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from tests.stubs.local_http import LocalHttpStub, StubRequestHandler

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class StubRequest:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class StubError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def nest(form: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][0][c]=v`` pairs -> nested dicts; numeric levels become lists (in index order)."""
    root: dict[str, Any] = {}
    for key, value in form:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


class StripeStub(LocalHttpStub):
    methods = ("GET", "POST", "DELETE")

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        checkout_base: str = "https://checkout.stripe.test/c/pay",
    ) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._checkout_base = checkout_base
        self.requests: list[StubRequest] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.webhook_endpoints: list[dict[str, Any]] = []
        self._idempotent: dict[str, tuple[str, str, dict[str, str], int, bytes]] = {}
        self._failures: list[StubError] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    @property
    def api_base(self) -> str:
        """What ``StripeClient(base_addresses={"api": ...})`` and DIAGPRO_STRIPE_API_BASE take."""
        return self.url

    # -- what tests do -----------------------------------------------------------------------
    def pay(self, session_id: str, email: str | None = None) -> dict[str, Any]:
        """The customer pays: the session completes, with a payment intent to refund later."""
        with self._lock:
            session = self._current(session_id)
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}")
            intent_id = f"pi_test_{next(self._ids):08d}"
            charge_id = f"ch_test_{next(self._ids):08d}"
            # payment_intent_data.metadata lands on the payment intent and on its charge.
            metadata = dict(session["payment_intent_data"].get("metadata") or {})
            money = {"amount": session["amount_total"], "currency": session["currency"]}
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                **money,
                "latest_charge": charge_id,
                "metadata": metadata,
                "status": "succeeded",
            }
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                **money,
                "amount_refunded": 0,
                "metadata": metadata,
                "paid": True,
                "payment_intent": intent_id,
                "refunded": False,
            }
            session.update(
                status="complete",
                payment_status="paid",
                url=None,
                payment_intent=intent_id,
                customer_details={"email": email or session["customer_email"]},
            )
            return dict(session)

    def add_webhook_endpoint(
        self,
        url: str,
        enabled_events: list[str],
        *,
        status: str = "enabled",
        api_version: str | None = None,
    ) -> dict[str, Any]:
        """An endpoint as the Dashboard or ``POST /v1/webhook_endpoints`` would leave it."""
        with self._lock:
            endpoint = {
                "id": f"we_test_{next(self._ids):08d}",
                "object": "webhook_endpoint",
                "api_version": api_version,
                "application": None,
                "created": int(self._now().timestamp()),
                "description": None,
                "enabled_events": list(enabled_events),
                "livemode": False,
                "metadata": {},
                "status": status,
                "url": url,
            }
            self.webhook_endpoints.append(endpoint)
            return dict(endpoint)

    def fail_next(
        self,
        status: int,
        message: str = "stub failure",
        *,
        type_: str = "api_error",
        code: str | None = None,
    ) -> None:
        """Answer the next request with this error (e.g. 429 rate_limit, 500 api_error)."""
        with self._lock:
            self._failures.append(StubError(status, message, type_=type_, code=code))

    def calls(self, method: str, path_prefix: str = "") -> list[StubRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- the API -----------------------------------------------------------------------------
    def respond(self, request: StubRequestHandler) -> None:
        raw = request.read_body().decode()
        path, _, query = request.path.partition("?")
        pairs = parse_qsl(raw or query, keep_blank_values=True)
        seen = StubRequest(request.command, path, dict(pairs), dict(request.headers.items()))
        with self._lock:
            self.requests.append(seen)
            status, body = self._answer(seen, pairs)
        headers = {"Request-Id": f"req_stub_{next(self._ids):08d}"}
        if status >= 400:
            headers["Stripe-Should-Retry"] = "false"
        request.send_json(status, body, headers)

    def _answer(self, request: StubRequest, pairs: list[tuple[str, str]]) -> tuple[int, bytes]:
        key = request.header("Idempotency-Key")
        saved = True  # Stripe saves a key's result once the endpoint began executing
        try:
            self._authenticate(request)
            if self._failures:
                raise self._failures.pop(0)
            if request.method == "POST" and key:
                seen = self._idempotent.get(key)
                if seen is not None:
                    method, path, form, status, body = seen
                    if (method, path, form) != (request.method, request.path, request.form):
                        raise StubError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                            type_="idempotency_error",
                        )
                    return status, body
            saved = False  # a request refused by validation saves nothing and may be retried
            status, body = self._route(request, nest(pairs))
            saved = True
        except StubError as exc:
            status, body = exc.status, json.dumps(exc.body).encode()
        if request.method == "POST" and key and saved and status not in (401, 429):
            self._idempotent.setdefault(
                key, (request.method, request.path, request.form, status, body)
            )
        return status, body

    def _authenticate(self, request: StubRequest) -> None:
        auth = request.header("Authorization") or ""
        api_key = auth.removeprefix("Bearer ").strip()
        if not api_key.startswith("sk_test_"):
            shown = f"{api_key[:8]}****{api_key[-4:]}" if len(api_key) > 12 else "****"
            raise StubError(401, f"Invalid API Key provided: {shown}")

    def _route(self, request: StubRequest, params: dict[str, Any]) -> tuple[int, bytes]:
        parts = request.path.strip("/").split("/")
        match request.method, parts:
            case "POST", ["v1", "checkout", "sessions"]:
                result = self._create_session(params)
            case "GET", ["v1", "checkout", "sessions", session_id]:
                result = self._current(session_id)
            case "POST", ["v1", "checkout", "sessions", session_id, "expire"]:
                result = self._expire(session_id)
            case "POST", ["v1", "refunds"]:
                result = self._create_refund(params)
            case "GET", ["v1", "payment_intents", intent_id]:
                result = self._found(self.payment_intents, "payment_intent", intent_id)
            case "GET", ["v1", "charges", charge_id]:
                result = self._found(self.charges, "charge", charge_id)
            case "GET", ["v1", "webhook_endpoints"]:
                result = self._list_webhook_endpoints(params)
            case _:
                raise StubError(404, f"Unrecognized request URL ({request.method}: {request.path})")
        return 200, json.dumps(result).encode()

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        now = int(self._now().timestamp())
        if params.get("mode") != "payment":
            raise StubError(400, "Missing required param: mode.", param="mode")
        for name in ("success_url", "cancel_url"):
            if not params.get(name):
                raise StubError(400, f"Missing required param: {name}.", param=name)
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise StubError(400, "Missing required param: line_items.", param="line_items")
        amount, currency = 0, ""
        for index, item in enumerate(items):
            price = item.get("price_data") or {}
            try:
                unit = int(price["unit_amount"])
                amount += unit * int(item.get("quantity", 1))
                currency = str(price["currency"])
                str(price["product_data"]["name"])
            except (KeyError, TypeError, ValueError) as exc:
                raise StubError(
                    400, f"Invalid line item: {exc!r}", param=f"line_items[{index}][price_data]"
                ) from exc
        expires_at = int(params.get("expires_at") or now + MAX_EXPIRY_SECONDS)
        if not now + MIN_EXPIRY_SECONDS <= expires_at <= now + MAX_EXPIRY_SECONDS:
            raise StubError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
                param="expires_at",
            )
        session_id = f"cs_test_{next(self._ids):08d}stub"
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": params["cancel_url"],
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_intent_data": params.get("payment_intent_data") or {},
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "url": f"{self._checkout_base}/{session_id}",
        }
        self.sessions[session_id] = session
        return dict(session)

    def _found(self, objects: dict[str, dict[str, Any]], kind: str, object_id: str) -> Any:
        if object_id not in objects:
            raise StubError(
                404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id"
            )
        return dict(objects[object_id])

    def _current(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise StubError(
                404,
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
                param="session",
            )
        if session["status"] == "open" and self._now().timestamp() >= session["expires_at"]:
            session.update(status="expired", url=None)
        return session

    def _expire(self, session_id: str) -> dict[str, Any]:
        session = self._current(session_id)
        if session["status"] != "open":
            raise StubError(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired. '
                f"This Checkout Session has a status of {session['status']}.",
            )
        session.update(status="expired", url=None)
        return dict(session)

    def _list_webhook_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            limit = int(params.get("limit") or 10)
        except ValueError as exc:
            raise StubError(400, "Invalid integer: limit", param="limit") from exc
        if not 1 <= limit <= 100:
            raise StubError(400, "limit must be between 1 and 100", param="limit")
        endpoints = list(reversed(self.webhook_endpoints))  # newest first, as Stripe lists
        after = params.get("starting_after")
        if after:
            ids = [e["id"] for e in endpoints]
            if after not in ids:
                raise StubError(400, f"No such webhook endpoint: '{after}'", param="starting_after")
            endpoints = endpoints[ids.index(after) + 1 :]
        return {
            "object": "list",
            "data": [dict(e) for e in endpoints[:limit]],
            "has_more": len(endpoints) > limit,
            "url": "/v1/webhook_endpoints",
        }

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = params.get("payment_intent")
        if not intent:
            raise StubError(400, "Missing required param: payment_intent.", param="payment_intent")
        paid = [s for s in self.sessions.values() if s.get("payment_intent") == intent]
        if not paid:
            raise StubError(
                400,
                f"No such payment_intent: '{intent}'",
                code="resource_missing",
                param="payment_intent",
            )
        if any(r["payment_intent"] == intent for r in self.refunds.values()):
            raise StubError(
                400,
                f"Charge for {intent} has already been refunded.",
                code="charge_already_refunded",
            )
        session = paid[0]
        refund_id = f"re_test_{next(self._ids):08d}"
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": int(params.get("amount") or session["amount_total"]),
            "currency": session["currency"],
            "created": int(self._now().timestamp()),
            "metadata": params.get("metadata") or {},
            "payment_intent": intent,
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund_id] = refund
        for charge in self.charges.values():
            if charge["payment_intent"] == intent:  # the charge keeps the running total
                charge["amount_refunded"] += refund["amount"]
                charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return dict(refund)
