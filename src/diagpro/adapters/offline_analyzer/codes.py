"""The owner's codes decoded from the built-in tables, for when no maker code book is wired in.

OBD-II (SAE J2012) and J1939 (SAE J1939-71/-73) codes are decoded from ``data/obd2.json`` and
``data/j1939.json``; a maker's own flash or error code is reported as not decoded, with where to
confirm it. ``diagpro.adapters.code_book`` decodes maker codes; the container passes it to the
analyzer, which then uses it instead of this module.
"""

from __future__ import annotations

from diagpro.adapters.offline_analyzer.context import N_, Context
from diagpro.domain.analysis import Certainty, DecodedCode
from diagpro.domain.codes import CodeFamily

SYSTEMS = {
    CodeFamily.OBD2: N_("OBD-II"),
    CodeFamily.J1939: N_("SAE J1939"),
    CodeFamily.EQUIPMENT: N_("Maker's error code"),
    CodeFamily.BLINK: N_("Maker's flash code"),
}
CONFIRM_IN = N_("Not decoded offline: confirm it in {table}.")


def decoded_codes(ctx: Context) -> tuple[DecodedCode, ...]:
    t = ctx.t
    result = []
    for d in ctx.findings.codes:
        family = d.code.family
        if family in (CodeFamily.OBD2, CodeFamily.J1939):
            certainty = Certainty.KNOWN if d.specific else Certainty.TYPICAL
            result.append(
                DecodedCode(d.display, t(SYSTEMS[family]), t(d.meaning), certainty, t(d.detail))
            )
        else:
            result.append(
                DecodedCode(
                    d.display,
                    t(SYSTEMS[family]),
                    "",
                    Certainty.UNKNOWN,
                    t(CONFIRM_IN, table=t(ctx.profile.code_table)),
                )
            )
    return tuple(result)
