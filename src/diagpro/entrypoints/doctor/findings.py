"""Findings: what a check found, how it is shown, and the guards around every check."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Literal, TextIO

Severity = Literal["blocker", "warning", "info"]

_PREFIXES = (
    "sk_test_",
    "sk_live_",
    "rk_test_",
    "rk_live_",
    "pk_test_",
    "pk_live_",
    "whsec_",
    "dpk_",
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    severity: Severity  # how serious it is when ``ok`` is False
    detail: str
    fix: str = ""

    @property
    def blocks(self) -> bool:
        return not self.ok and self.severity == "blocker"


def redact(secret: str) -> str:
    """``sk_test_…1234``: the kind of secret and its last four characters, never the rest."""
    secret = secret.strip()
    if not secret:
        return "(empty)"
    prefix = next((p for p in _PREFIXES if secret.startswith(p)), "")
    rest = secret[len(prefix) :]
    if len(rest) < 12:
        return f"{prefix}…"
    return f"{prefix}…{rest[-4:]}"


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(check.blocks for check in checks) else 0


def scrub(checks: list[Check], secrets: Iterable[str]) -> list[Check]:
    """Replace any configured secret that slipped into a detail or fix by its redacted form."""
    values = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def clean(text: str) -> str:
        for value in values:
            text = text.replace(value, redact(value))
        return text

    return [replace(c, detail=clean(c.detail), fix=clean(c.fix)) for c in checks]


def short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def guarded(name: str, check: Callable[[], Check | list[Check]]) -> list[Check]:
    """A check that crashed is itself a finding, never a traceback."""
    try:
        result = check()
    except Exception as exc:
        return [
            Check(
                name,
                False,
                "blocker",
                f"the check failed unexpectedly: {type(exc).__name__}: {short(exc)}",
                "run with -v for details",
            )
        ]
    return result if isinstance(result, list) else [result]


def _label(check: Check) -> str:
    if check.ok:
        return "info" if check.severity == "info" else "ok"
    return "BLOCKER" if check.severity == "blocker" else "warning"


def print_report(checks: list[Check], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    width = max((len(c.name) for c in checks), default=10)
    for check in checks:
        out.write(f"{_label(check):<8} {check.name:<{width}}  {check.detail}\n")
        if not check.ok and check.fix:
            out.write(f"{'':<8} {'':<{width}}  fix: {check.fix}\n")
    blockers = sum(c.blocks for c in checks)
    warnings = sum(1 for c in checks if not c.ok and c.severity == "warning")
    if blockers:
        out.write(
            f"\n{blockers} blocker(s), {warnings} warning(s): a customer could not pay or get "
            "a report until the blockers are fixed.\n"
        )
    else:
        out.write(f"\nready: no blockers, {warnings} warning(s).\n")
    out.flush()


def to_json(checks: list[Check]) -> str:
    return json.dumps(
        {
            "ok": exit_code(checks) == 0,
            "exit_code": exit_code(checks),
            "checks": [asdict(c) for c in checks],
        },
        indent=2,
        ensure_ascii=False,
    )
