"""What operators did to an order, kept on it: when, what, by whom, and what came of it.

An operator acts from the operator page (``/admin``) or the CLI (``diagpro requeue``, ``diagpro
refund``); each action that changed something is added to the order's record, oldest first, so
``diagpro status`` and the page show who ran or refunded an order and when. The record holds no
customer data (the operator's name, an order's job and refund ids), so erasing the customer's
personal data keeps it, like every date and Stripe id.

``by`` is the name the operator gave: the user name typed into the page's sign-in box (HTTP Basic
sends one with the key, RFC 7617 section 2), or the CLI's login name. Never the key itself: the
password half of the sign-in is not kept, logged or shown.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

NAME_LIMIT = 64  # characters kept of an operator's name
UNNAMED = "(no name given)"


class ActionKind(StrEnum):
    REQUEUED = "requeued"  # a failed order (or one whose report file was lost) queued again
    RAN_NOW = "ran now"  # a stuck order's waiting report job made due now
    REFUNDED = "refunded"  # the payment refunded in full


@dataclass(frozen=True)
class OperatorAction:
    at: datetime
    what: ActionKind
    by: str  # the operator's name (operator_name), never a key
    detail: str = ""  # what came of it: the job made due, the refund id


def operator_name(typed: str) -> str:
    """The name to record for an operator: ``typed`` on one line, without control characters,
    trimmed and at most NAME_LIMIT characters; UNNAMED when nothing is left."""
    printable = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in typed
    )
    name = " ".join(printable.split())[:NAME_LIMIT].strip()
    return name or UNNAMED


def describe(action: OperatorAction) -> str:
    """One line for the operator: ``2026-11-26 12:00 UTC ran now by ana: job j1 due now``."""
    detail = f": {action.detail}" if action.detail else ""
    return f"{action.at:%Y-%m-%d %H:%M} UTC {action.what.value} by {action.by}{detail}"
