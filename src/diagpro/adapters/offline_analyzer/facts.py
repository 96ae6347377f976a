"""The structured facts of a report: urgency, safety flags, ranked causes with their reasoning,
shop tests, cost estimates, questions for the shop and the three next steps.

They are decided here, once, and the 15 narrative sections are written from them, so the tables
and checklists of the PDF and the prose around them cannot disagree on a number.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagpro.adapters.offline_analyzer.context import (
    Context,
    quote_position,
    quoted_work,
    shop_repairs,
)
from diagpro.adapters.offline_analyzer.knowledge import UNDETERMINED, Procedure, Profile
from diagpro.adapters.offline_analyzer.pricing import fair_range, money_range, procedure_cost
from diagpro.adapters.offline_analyzer.rules import Evidence
from diagpro.adapters.offline_analyzer.rules import RankedCause as Scored
from diagpro.adapters.offline_analyzer.wording import capitalise, join_words, lower_first
from diagpro.domain.analysis import CostEstimate, RankedCause, ShopTest, Urgency

# Shop questions per report: the original asked for "5 technical questions".
QUESTIONS = 5


@dataclass(frozen=True)
class Facts:
    urgency: Urgency
    safety_flags: tuple[str, ...]
    causes: tuple[RankedCause, ...]  # findings.ranked, in the same order
    tests: tuple[ShopTest, ...]  # the checklist for the shop, most decisive first
    costs: tuple[CostEstimate, ...]  # first: the most likely repair
    questions: tuple[str, ...]
    next_steps: tuple[str, ...]  # exactly three


def shop_test(test: Procedure, profile: Profile) -> ShopTest:
    low, high = procedure_cost(test, profile)
    return ShopTest(test.name, test.how, test.expected, low * 100, high * 100)


def build_facts(ctx: Context) -> Facts:
    urgency, flags = _urgency(ctx)
    return Facts(
        urgency=urgency,
        safety_flags=flags,
        causes=tuple(
            RankedCause(r.cause.name, r.pct, _reasoning(ctx, r), tuple(e.text for e in r.evidence))
            for r in ctx.findings.ranked
        ),
        tests=_tests(ctx),
        costs=_costs(ctx),
        questions=_questions(ctx),
        next_steps=_next_steps(ctx, urgency),
    )


def _urgency(ctx: Context) -> tuple[Urgency, tuple[str, ...]]:
    """STOP when a hazard alert fired, the likeliest cause is a safety item or the customer
    called it an emergency; CAN_WAIT only when nothing at all argues for hurrying."""
    alerts = ctx.findings.alerts
    flags = [a.text for a in alerts]
    top = ctx.top.cause
    if any(a.level == Urgency.STOP for a in alerts):
        return Urgency.STOP, tuple(flags)
    if top.urgency == Urgency.STOP:
        flags.insert(
            0,
            f"{capitalise(top.name)} is the most likely cause, and a safety item: treat your "
            f"{ctx.name} as unsafe until it has been checked.",
        )
        return Urgency.STOP, tuple(flags)
    if ctx.intake.urgency_level == "emergency":
        flags.insert(
            0,
            f"You marked this as an emergency: treat your {ctx.name} as unsafe to use until it "
            "has been checked.",
        )
        return Urgency.STOP, tuple(flags)
    if alerts or ctx.intake.urgency_level == "high" or top.urgency != Urgency.CAN_WAIT:
        return Urgency.SOON, tuple(flags)
    return Urgency.CAN_WAIT, ()


def _clues(evidence: tuple[Evidence, ...] | list[Evidence]) -> list[str]:
    """The customer's own clues in a list, without the usage note (which is about the part)."""
    return list(dict.fromkeys(e.short for e in evidence if e.kind != "usage" and e.short))


def _reasoning(ctx: Context, r: Scored) -> str:
    """Why this cause ranks where it does, in terms of the customer's own codes and words."""
    if r.cause.id == UNDETERMINED:
        return (
            "Nothing you described matches a specific cause in diagpro's knowledge base, so the "
            "tests start from the basics."
        )
    mine = _clues(r.evidence)
    if r is ctx.top:
        others = {e.source for alt in ctx.alternatives for e in alt.evidence}
        only = _clues([e for e in r.evidence if e.source not in others])
        if only and ctx.alternatives and len(only) < len(mine):
            text = (
                f"It accounts for {join_words(mine)}; of the causes listed, only it also "
                f"explains {join_words(only)}."
            )
        elif only and ctx.alternatives:
            text = f"It accounts for {join_words(mine)}, which no other cause listed explains."
        elif ctx.alternatives:
            which = "which points" if len(mine) == 1 else "and those clues point"
            text = (
                f"It accounts for {join_words(mine)}, {which} to it more strongly than to any "
                "alternative."
            )
        else:
            text = f"It accounts for {join_words(mine)}; nothing else in the knowledge base does."
        usage = next((e for e in r.evidence if e.kind == "usage"), None)
        if usage:
            text += f" At {usage.short} it is also a part that commonly wears out."
        if r.lowered_by:
            text += f" It still ranks first although {r.lowered_by[0].text}."
        return text
    if r.lowered_by:
        return f"Less likely because {r.lowered_by[0].text}, but not ruled out."
    sources = {e.source for e in r.evidence}
    missing = _clues([e for e in ctx.top.evidence if e.source not in sources])
    if missing:
        return f"Fits {join_words(mine)}, but does not explain {join_words(missing)}."
    # It explains everything the primary does (and perhaps more): what decides is how typical
    # the strongest shared clue is of each.
    strongest = min(ctx.top.evidence, key=lambda e: (e.kind != "code", -e.weight))
    return (
        f"Fits {join_words(mine)}, but {strongest.short} is a more typical sign of the primary "
        "cause."
    )


def _tests(ctx: Context) -> tuple[ShopTest, ...]:
    procedures = [ctx.profile.baseline_tests[0], *ctx.top.cause.tests]
    procedures += [r.cause.tests[0] for r in ctx.alternatives[:2]]
    unique: dict[str, Procedure] = {}
    for procedure in procedures:
        unique.setdefault(procedure.name, procedure)
    return tuple(shop_test(p, ctx.profile) for p in unique.values())


def _costs(ctx: Context) -> tuple[CostEstimate, ...]:
    estimates = []
    for r in ctx.findings.ranked[:3]:
        c = r.cause
        if c.id == UNDETERMINED:
            continue
        low, high = fair_range(c, ctx.profile)
        test = lower_first(c.tests[0].name)
        if r is ctx.top:
            note = f"The most likely repair ({r.pct}%): approve it once the {test} confirms it."
        else:
            note = f"Only if the {test} points to it ({r.pct}% likely)."
        estimates.append(
            CostEstimate(
                repair=c.repair,
                parts_cents_low=c.parts_usd[0] * 100,
                parts_cents_high=c.parts_usd[1] * 100,
                labour_hours_low=c.labor_hours[0],
                labour_hours_high=c.labor_hours[1],
                total_cents_low=low * 100,
                total_cents_high=high * 100,
                note=note,
            )
        )
    return tuple(estimates)


def _questions(ctx: Context) -> tuple[str, ...]:
    questions = [*ctx.top.cause.questions[:2]]
    questions += [r.cause.questions[0] for r in ctx.alternatives[:2]]
    questions.append(
        f"Which test result proves it is {lower_first(ctx.top.cause.name)}, and can you write "
        "it on the estimate?"
    )
    questions.append("Can I see the test readings and the old part, and have the old part back?")
    return tuple(dict.fromkeys(questions))[:QUESTIONS]


def _next_steps(ctx: Context, urgency: Urgency) -> tuple[str, ...]:
    f, shop = ctx.findings, ctx.profile.shop
    test = ctx.top.cause.tests[0]
    low, high = procedure_cost(test, ctx.profile)
    test_step = (
        f"Have {shop} do the {lower_first(test.name)} before any part is replaced "
        f"(about {money_range(low, high)} if billed on its own)."
    )
    if f.data_needed:
        info_step = (
            f"Give {shop} the information listed under Data Needed: it is what would raise "
            f"the {f.confidence}% confidence of this analysis."
        )
    else:
        info_step = (
            "Ask for a written estimate in parts and labor hours, and ask the questions under "
            "Shop Interrogation."
        )
    first = [ctx.profile.stop, test_step] if urgency == Urgency.STOP else [test_step, info_step]
    return (*first, _approval_step(ctx))


def _approval_step(ctx: Context) -> str:
    top = ctx.top.cause
    if top.id == UNDETERMINED:
        return "Approve only the diagnosis for now: the repair depends on what the tests find."
    test = lower_first(top.tests[0].name)
    top_fair = money_range(*fair_range(top, ctx.profile))
    position = quote_position(ctx)
    if position is None:
        return f"Approve the repair only after the {test} confirms it; a fair total is {top_fair}."
    label, (low, high) = quoted_work(ctx)
    quote, fair = ctx.quote_text, money_range(low, high)
    repairs = shop_repairs(ctx)
    if repairs and all(rank != 1 for _, rank in repairs):
        step = (
            f"Do not approve the shop's repair ({label}) yet: your evidence points first to "
            f"{lower_first(top.name)}. Ask for the {test} result first; fixing that costs a "
            f"fair {top_fair}."
        )
        if position in ("above", "far_above"):
            step += (
                f" Your quote of {quote} is also above the fair total for the shop's repair "
                f"({fair})."
            )
        return step
    if position == "far_above":
        return (
            f"Get a second written quote before approving: yours ({quote}) is well above the "
            f"fair total for {label} ({fair})."
        )
    if position == "above":
        return (
            f"Ask for the estimate line by line (parts and labor hours) before approving: your "
            f"quote of {quote} is above the fair total for {label} ({fair})."
        )
    if position == "below":
        return (
            f"Ask what your quote of {quote} leaves out: it is below the fair total for {label} "
            f"({fair}). Approve once the {test} confirms the diagnosis."
        )
    return (
        f"Your quote of {quote} is fair for {label} ({fair}): approve it once the {test} "
        "confirms the diagnosis."
    )
