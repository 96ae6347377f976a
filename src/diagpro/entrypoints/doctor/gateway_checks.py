"""``diagpro doctor --gateway-url URL``: does the deployed API Gateway guard what it should?

Three requests, each answered differently by a right and a wrong gateway config:

- ``POST /analysisStatus`` without ``x-api-key`` must be refused (401/403). Anything else means
  the JSON API is open to anyone who finds the address.
- the same with a key from ``DIAGPRO_API_KEYS`` must reach the service: diagpro's own 404 for a
  submission that does not exist. A 401/403 means customers' browsers would be locked out; a
  5xx, that the gateway cannot call the Cloud Run service.
- an unsigned ``POST /webhook/stripe`` without a key must reach diagpro and be refused there as
  ``INVALID_SIGNATURE`` (400). A 401/403 means the gateway demands a key from Stripe, which has
  none: no payment event would ever arrive.

The requests change nothing: the submission id names no submission, the webhook body is refused
before it is read.
"""

from __future__ import annotations

from typing import Any

import httpx

from diagpro.config import Settings
from diagpro.entrypoints.doctor.findings import Check, short

# A well-formed submission id (diag_<13 digits>_<hex>) dated 1970: no submission has it.
PROBE_SUBMISSION = "diag_0000000000000_d0c70000d0c70000d0c70000"
SPEC_FIX = (
    "regenerate the gateway config (diagpro gateway-spec --backend <Cloud Run URL>) and deploy "
    "it as a new API config (gcloud api-gateway api-configs create, then gateways update)"
)


def gateway_checks(gateway_url: str, settings: Settings, timeout: float) -> list[Check]:
    base = gateway_url.rstrip("/")
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        return [
            _without_key(client, base),
            _with_key(client, base, settings.api_keys),
            _webhook(client, base),
        ]


def _post(client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response | str:
    try:
        return client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {short(exc)}"


def _code(response: httpx.Response) -> str:
    """diagpro's own error code, or "" for an answer diagpro did not write (the gateway's)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("code"), str) and "error" in body:
        return str(body["code"])
    return ""


def _unreachable(name: str, url: str, problem: str) -> Check:
    return Check(
        name,
        False,
        "blocker",
        f"{url} did not answer ({problem})",
        "check the gateway URL (gcloud api-gateway gateways describe … --format="
        "'value(defaultHostname)') and that the gateway is deployed",
    )


def _without_key(client: httpx.Client, base: str) -> Check:
    name, url = "gateway without key", f"{base}/analysisStatus"
    response = _post(client, url, json={"submissionId": PROBE_SUBMISSION})
    if isinstance(response, str):
        return _unreachable(name, url, response)
    if response.status_code in (401, 403):
        who = "the service" if _code(response) else "the gateway"
        return Check(
            name,
            True,
            "blocker",
            f"POST /analysisStatus without a key: {response.status_code} (refused by {who})",
        )
    return Check(
        name,
        False,
        "blocker",
        f"POST /analysisStatus without a key answered {response.status_code}: the gateway "
        "lets requests without an API key through",
        "every route but the webhook, health and pages must carry security: api_key in the "
        f"gateway config: {SPEC_FIX}",
    )


def _with_key(client: httpx.Client, base: str, keys: tuple[str, ...]) -> Check:
    name, url = "gateway with key", f"{base}/analysisStatus"
    if not keys:
        return Check(
            name,
            False,
            "warning",
            "not checked: DIAGPRO_API_KEYS is empty, so there is no key to try",
            "set DIAGPRO_API_KEYS to the key(s) the frontend sends",
        )
    response = _post(
        client, url, json={"submissionId": PROBE_SUBMISSION}, headers={"x-api-key": keys[0]}
    )
    if isinstance(response, str):
        return _unreachable(name, url, response)
    code = _code(response)
    if response.status_code == 404 and code:
        return Check(
            name, True, "blocker", "POST /analysisStatus with a key reached the service (404)"
        )
    if response.status_code in (401, 403):
        by = "the service" if code else "the gateway"
        return Check(
            name,
            False,
            "blocker",
            f"POST /analysisStatus with the first DIAGPRO_API_KEYS key was refused by {by} "
            f"({response.status_code}): the frontend would be locked out",
            "the gateway checks x-api-key as a Google Cloud API key of its project: the key "
            "must be one (gcloud services api-keys create, restricted to the gateway's managed "
            "service) and be listed in DIAGPRO_API_KEYS, which the service checks too",
        )
    if response.status_code >= 500:
        return Check(
            name,
            False,
            "blocker",
            f"POST /analysisStatus with a key answered {response.status_code}: the gateway "
            "could not call the service",
            "grant the gateway's service account (diagpro-gateway) roles/run.invoker on the "
            "Cloud Run service and check the backend address in the config; " + SPEC_FIX,
        )
    return Check(
        name,
        False,
        "warning",
        f"POST /analysisStatus with a key answered {response.status_code} "
        f"({code or 'not diagpro'}), not the service's 404 for an unknown submission",
        "check that the gateway forwards to this diagpro service; " + SPEC_FIX,
    )


def _webhook(client: httpx.Client, base: str) -> Check:
    name, url = "gateway webhook", f"{base}/webhook/stripe"
    # A signature that cannot match: the service refuses it as INVALID_SIGNATURE (without the
    # header at all it would answer MISSING_SIGNATURE, and a gateway could drop the header).
    headers = {"content-type": "application/json", "stripe-signature": "t=0,v1=doctor-probe"}
    response = _post(client, url, content=b"{}", headers=headers)
    if isinstance(response, str):
        return _unreachable(name, url, response)
    code = _code(response)
    if response.status_code == 400 and code == "INVALID_SIGNATURE":
        return Check(
            name,
            True,
            "blocker",
            "an unsigned POST /webhook/stripe without a key reached the service (400 "
            "INVALID_SIGNATURE)",
        )
    if response.status_code in (401, 403) and not code:
        detail = (
            f"the gateway refused POST /webhook/stripe without a key ({response.status_code}): "
            "Stripe sends no API key, so no payment event would arrive"
        )
        fix = f"the webhook must have security: [] in the gateway config: {SPEC_FIX}"
    elif response.status_code >= 500:
        detail = f"POST /webhook/stripe answered {response.status_code}: the gateway could not "
        detail += "call the service"
        fix = "grant diagpro-gateway roles/run.invoker on the Cloud Run service; " + SPEC_FIX
    else:
        detail = (
            f"POST /webhook/stripe answered {response.status_code} ({code or 'not diagpro'}), "
            "not the service's 400 INVALID_SIGNATURE for an unsigned event"
        )
        fix = "the route must reach diagpro's webhook unchanged: " + SPEC_FIX
    return Check(name, False, "blocker", detail, fix)
