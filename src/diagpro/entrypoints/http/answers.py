"""The JSON API's success bodies, for the OpenAPI document (``responses=`` with ``ResponseSpec``).

Handlers build their answers as dicts (api.py ``status_body``, ``links_body``); these Structs
only describe them, so a client sees which fields always come (required) and which only in some
states (``UNSET``: absent until then). Bodies may gain fields: none forbids extra ones.
"""

from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType


class Saved(Struct):
    submissionId: str
    status: str


class CheckoutOpened(Struct):
    url: str
    sessionId: str


class CheckoutSessionState(Struct):
    id: str
    status: str
    payment_status: str
    submissionId: str
    client_reference_id: str
    amount_total: int
    customer_email: str


class Links(Struct):
    """Fresh 15-minute links to the report: to download, and to view in the browser."""

    submissionId: str
    downloadUrl: str
    viewUrl: str
    expiresInSeconds: int


class EmailState(Struct):
    """The latest email to the customer: for which ``event`` (ready, failed, refunded), its
    ``state`` (sending, sent, failed) and when (ISO 8601 UTC)."""

    event: str
    state: str
    at: str


class SubmissionState(Struct):
    """Where a submission is, in words (``message``) and as a status."""

    submissionId: str
    status: str
    message: str
    attempts: int
    createdAt: str
    updatedAt: str
    analysisBy: str | UnsetType = UNSET
    analysisFallback: str | UnsetType = UNSET  # "offline" or "refund": the model failed for good
    failureReason: str | UnsetType | None = UNSET
    paymentProblem: str | UnsetType = UNSET
    nextTry: str | UnsetType = UNSET
    submissionStatus: str | UnsetType = UNSET
    downloadUrl: str | UnsetType = UNSET
    viewUrl: str | UnsetType = UNSET
    expiresInSeconds: int | UnsetType = UNSET
    email: EmailState | UnsetType = UNSET
    erased: bool | UnsetType = UNSET  # its details and report were erased (retention, forget)
    erasedAt: str | UnsetType = UNSET


class Queued(Struct):
    """Work asked for: ``processing`` (queued, or already under way) or ``ready``."""

    status: str
    message: str | UnsetType = UNSET
    submissionId: str | UnsetType = UNSET


class Health(Struct):
    status: str
    service: str
    version: str
    problems: list[str] | UnsetType = UNSET
