"""The ``diagpro orders`` command: the operator's table of recent orders, or of stuck ones.

It shows what an operator needs to act on an order and nothing more of the customer: the
machine, never a name, email or phone (``diagpro status <id>`` has the whole order).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from diagpro.application.orders import OrderRow
from diagpro.container import Container
from diagpro.domain.submission import Status

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGO = re.compile(r"(\d+)([smhdw])")
_WHEN = "%Y-%m-%d %H:%M"


def since_value(text: str) -> timedelta | datetime:
    """``--since``: a time back from now (``90s``, ``30m``, ``2h``, ``1d``, ``1w``) or an ISO
    8601 time (UTC when it has no offset)."""
    text = text.strip()
    ago = _AGO.fullmatch(text)
    if ago is not None:
        return timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a time back from now (30m, 2h, 1d, 1w) nor an ISO time "
            "(2026-12-03T18:00Z)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def statuses_value(text: str) -> list[Status]:
    """``--status``: one status or a comma list of them."""
    found = []
    for word in (part.strip().lower() for part in text.split(",")):
        try:
            found.append(Status(word))
        except ValueError:
            known = ", ".join(status.value for status in Status)
            raise argparse.ArgumentTypeError(f"{word!r} is not a status (one of {known})") from None
    return found


def limit_value(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_LIMIT}")
    return limit


def add_orders_command(commands: Any) -> None:
    orders = commands.add_parser(
        "orders",
        help="recent orders as a table (machine, status, paid, ready, attempts, last error, "
        "refund); --stuck: paid orders waiting for their report past DIAGPRO_READY_SLO_SECONDS",
    )
    orders.add_argument(
        "--stuck",
        action="store_true",
        help="only paid orders without their report for longer than DIAGPRO_READY_SLO_SECONDS, "
        "longest waiting first, with a count by age",
    )
    orders.add_argument(
        "--since",
        type=since_value,
        help="only orders changed since then: 30m, 2h, 1d, 1w back from now, or an ISO time",
    )
    orders.add_argument(
        "--status",
        type=statuses_value,
        action="append",
        default=[],
        help="only orders in this status (repeat it, or give a comma list): "
        + ", ".join(status.value for status in Status),
    )
    orders.add_argument(
        "--limit",
        type=limit_value,
        default=DEFAULT_LIMIT,
        help=f"at most this many orders (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
    )
    orders.add_argument("--json", action="store_true", help="print the orders as JSON")
    orders.set_defaults(run=run_orders)


def run_orders(container: Container, args: argparse.Namespace) -> int:
    statuses = frozenset(status for group in args.status for status in group)
    if args.stuck and (statuses or args.since is not None):
        print(
            "error: --stuck lists every stuck order (paid or processing); it takes no "
            "--status or --since",
            file=sys.stderr,
        )
        return 2
    if args.stuck:
        return _stuck(container, args)
    now = container.clock().now()
    since = now - args.since if isinstance(args.since, timedelta) else args.since
    rows = container.list_orders().recent(args.limit, changed_since=since, statuses=statuses)
    if args.json:
        print(json.dumps({"orders": [_json(row) for row in rows]}, indent=2))
        return 0
    if not rows:
        print("no orders" + ("" if since is None and not statuses else " match"))
        return 0
    _table(rows, waited=False)
    return 0


def _stuck(container: Container, args: argparse.Namespace) -> int:
    stuck_orders = container.stuck_orders()
    rows = container.list_orders().stuck(args.limit)
    slo = int(stuck_orders.slo.total_seconds())
    by_age = stuck_orders.stuck_by_age()
    if args.json:
        body = {"sloSeconds": slo, "stuckByAge": by_age, "orders": [_json(row) for row in rows]}
        print(json.dumps(body, indent=2))
        return 0
    total = sum(by_age.values())
    if not total:
        print(f"no stuck orders: every paid order got its report within {slo} s")
        return 0
    counts = ", ".join(f"{label}: {count}" for label, count in by_age.items() if count)
    print(f"{total} paid order(s) waiting longer than {slo} s for the report ({counts})")
    _table(rows, waited=True)
    if total > len(rows):
        print(f"(the {len(rows)} longest waiting shown: --limit to see more)")
    return 0


def _json(row: OrderRow) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    return {
        "id": row.id,
        "machine": row.machine,
        "status": row.status.value,
        "paidAt": when(row.paid_at),
        "readyAt": when(row.ready_at),
        "attempts": row.attempts,
        "lastError": row.last_error,
        "refund": row.refund,
        "lastAction": row.last_action or None,
        "waitedSeconds": None if row.waited is None else int(row.waited.total_seconds()),
    }


def _table(rows: list[OrderRow], *, waited: bool) -> None:
    heads = ["ID", "MACHINE", "STATUS", "PAID (UTC)", "READY (UTC)", "ATTEMPTS"]
    heads += ["WAITED"] if waited else []
    heads += ["REFUND", "LAST ERROR", "LAST ACTION"]
    lines = [heads]
    for row in rows:
        cells = [
            row.id,
            _cut(row.machine, 28),
            row.status.value,
            f"{row.paid_at:{_WHEN}}" if row.paid_at else "-",
            f"{row.ready_at:{_WHEN}}" if row.ready_at else "-",
            str(row.attempts),
        ]
        if waited:
            cells.append(_minutes(row.waited))
        cells += [row.refund or "-", _cut(" ".join(row.last_error.split()), 60) or "-"]
        cells.append(_cut(row.last_action, 60) or "-")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(heads))]
    for line in lines:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _minutes(waited: timedelta | None) -> str:
    if waited is None:
        return "-"
    minutes = int(waited.total_seconds()) // 60
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
