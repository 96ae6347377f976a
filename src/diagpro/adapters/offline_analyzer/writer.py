"""The analysis, written once from the findings: each field short, specific and in the owner's
language.

Every sentence here is a msgid in the ``knowledge`` catalogue (``N_`` marks it, ``ctx.t``
translates it) and every knowledge-base text goes through the same catalogue, so a Spanish
description gets a Spanish analysis. There are no prose sections: the renderer prints each field
once, so nothing here restates another field (the ranking, the steps and the costs live in one
place each).
"""

from __future__ import annotations

import re

from diagpro.adapters.offline_analyzer.context import N_, Context
from diagpro.adapters.offline_analyzer.knowledge import UNDETERMINED, Cause, Procedure, WarningSign
from diagpro.adapters.offline_analyzer.machine import fits
from diagpro.adapters.offline_analyzer.pricing import procedure_cost
from diagpro.adapters.offline_analyzer.rules import (
    Evidence,
    already_given,
    code_matches,
    find,
    normalise,
)
from diagpro.adapters.offline_analyzer.rules import RankedCause as Scored
from diagpro.adapters.offline_analyzer.wording import capitalise, dollars, lower_first
from diagpro.domain.analysis import (
    OwnerCheck,
    OwnerFact,
    RankedCause,
    RuledOut,
    ShopTest,
    Urgency,
    UrgencyAdvice,
)
from diagpro.domain.equipment import DETAIL_LABELS

MAX_TESTS = 4
MAX_CHECKS = 3
MAX_DO_NOT = 3
MAX_SAFETY = 3
MAX_STOP_IF = 3
MAX_SOURCES = 3
QUESTIONS = 5

CODE_CLUE = N_('{code} ("{meaning}")')
QUOTED = N_('"{words}"')
DETAIL_CLUE = N_("{label}: {value}")
USAGE_CLUE = N_("{amount} {unit}, an age at which this part commonly wears out")
REPORTED = N_('You reported: "{words}"')
LESS_LIKELY = N_("After that repair this is less likely (a new part can fail too): {cause}.")
WHY_ONLY = N_("Only this cause explains {clues}.")
WHY_TOP = N_("Fits {clues} more strongly than any other cause.")
WHY_ALONE = N_("Fits {clues}; nothing else in the knowledge base does.")
WHY_FINDING = N_("Your own finding points here: {fact}.")
WHY_FINDING_TOO = N_("Your finding points here too, but {cause} is the more common fault.")
WHY_MISSING = N_("Fits {clues}, but does not explain {missing}.")
WHY_WEAKER = N_("Fits {clues}, but they are a more typical sign of the first cause.")
WHY_LOWERED = N_('Less likely because you already reported: "{words}"')
WHY_NOTHING = N_(
    "Nothing you described matches a specific cause, so the tests start from the basics."
)
NOT_EXPLAINED = N_("Does not explain {clues}")
REASON_TOP_SAFETY = N_("{cause} is the most likely cause, and a safety item.")
REASON_EMERGENCY = N_("You marked this as a safety concern.")
REASON_SOON = N_(
    "{cause} is not a hazard on its own, but it costs more the longer it runs: have it checked "
    "within days."
)
REASON_CAN_WAIT = N_(
    "{cause} is not a safety risk and is unlikely to get worse quickly: book it when convenient."
)
STEP_TEST = N_(
    "Have {shop} do the {test} before any part is replaced (about {cost} if billed on its own)."
)
STEP_CHECK = N_("First, for free: {check}.")
STEP_ESTIMATE = N_(
    "Ask {shop} for a written estimate in parts and labour hours before any work starts."
)
ASK_PROOF = N_("Which test result proves it is {cause}, and can you write it on the estimate?")
ASK_OLD_PART = N_("Can I see the test readings and the old part, and have the old part back?")
ASSUMED = N_("{name} ({facts})")
# Written by rules._data_needed (which the writer imports, so it cannot import this); marked
# here so the catalogue extracts it.
NEED_CODE = N_("What {code} means in {table}")
TAGS = {
    "diesel": N_("diesel"),
    "gasoline": N_("gasoline"),
    "electric": N_("electric"),
    "duramax": N_("Duramax engine"),
    "cummins": N_("Cummins engine"),
    "powerstroke": N_("Power Stroke engine"),
    "detroit": N_("Detroit engine"),
    "paccar": N_("PACCAR engine"),
    "no_crank": N_("does not crank"),
    "wideband_o2": N_("wide-band upstream air-fuel sensor"),
    "phone": N_("phone"),
    "computer": N_("computer"),
    "hydraulic": N_("hydraulic system"),
}


def equipment_assumed(ctx: Context) -> str:
    facts = [ctx.t(TAGS[tag]) for tag in TAGS if tag in ctx.findings.tags]
    return ctx.t(ASSUMED, name=ctx.name, facts=ctx.t(", ").join(facts)) if facts else ctx.name


def clue(ctx: Context, e: Evidence) -> str:
    """One piece of evidence as the report quotes it: codes decoded, the owner's own words."""
    t = ctx.t
    if e.kind == "code":
        return t(CODE_CLUE, code=e.short, meaning=t(e.text))
    if e.kind == "detail":
        label = ctx.labels(DETAIL_LABELS.get(e.short, e.short))
        return t(DETAIL_CLUE, label=label, value=e.text)
    if e.kind == "usage":
        return t(USAGE_CLUE, amount=e.text, unit=t(e.short))
    if e.kind == "finding":
        return t(e.text, n=e.short)
    return t(QUOTED, words=_bare(e.text))


# The report prints each text whole within a per-field width (the PDF renderer's limits, in
# average prose characters) and marks a cut: these keep the analyzer's texts inside them, with
# a margin for wide glyphs and for translations that run longer than the English.
EVIDENCE_WIDTH = 80  # an evidence item (the renderer allows 90)
WHY_WIDTH = 130  # a cause's one-sentence ``why`` (150)
BRIEF_WIDTH = 40  # one of the owner's clues named inside a ``why`` or "does not explain"
BRIEF_CLUES = 2  # the clues a ``why`` names; the evidence list quotes them all
YOUR_FINDING = N_("your own finding")
YOUR_DESCRIPTION = N_("your description")


def _bare(words: str) -> str:
    """The owner's words without their closing full stop, so a quote can end a sentence."""
    return words.rstrip(" .")


def evidence_item(ctx: Context, e: Evidence) -> str:
    """A clue as the evidence list prints it: a code with its meaning when that fits the
    column, else the code alone (the codes table decodes it in full)."""
    text = clue(ctx, e)
    return e.short if e.kind == "code" and len(text) > EVIDENCE_WIDTH else text


def _brief(ctx: Context, e: Evidence) -> str:
    """A clue named inside a sentence: a code by its code, the owner's words quoted when short
    (else their first clause), a finding as "your own finding"."""
    t = ctx.t
    if e.kind == "code":
        return e.short
    if e.kind == "finding":
        return t(YOUR_FINDING)
    if e.kind == "detail":
        return lower_first(ctx.labels(DETAIL_LABELS.get(e.short, e.short)))
    words = _first_clause(e.text)
    return t(YOUR_DESCRIPTION) if len(words) > BRIEF_WIDTH else t(QUOTED, words=words)


def _first_clause(words: str) -> str:
    """The owner's words, or their first clause when they are longer than a brief mention."""
    words = _bare(words)
    return words if len(words) <= BRIEF_WIDTH else _bare(re.split(r"[,;:.!?]\s", words)[0])


def _clues(ctx: Context, evidence: tuple[Evidence, ...] | list[Evidence]) -> list[str]:
    """The owner's clues named briefly, in a list (mid-sentence), without the usage note (about
    the part); the evidence list beside the ``why`` quotes them in full."""
    return list(dict.fromkeys(_brief(ctx, e) for e in evidence if e.kind != "usage"))


def _fitted(ctx: Context, template: str, width: int, **lists: list[str]) -> str:
    """``template`` with each list of clues joined, as many clues as keep it within ``width``
    (at most BRIEF_CLUES each, at least one)."""
    for count in range(BRIEF_CLUES, 0, -1):
        text = ctx.t(template, **{k: ctx.join(v[:count]) for k, v in lists.items()})
        if len(text) <= width:
            break
    return text


def causes(ctx: Context) -> tuple[RankedCause, ...]:
    """The ranking, each clue listed once: under the first cause it supports (a lower cause's
    ``why`` says which of the earlier clues it also fits)."""
    printed: set[str] = set()
    ranked = []
    for r in ctx.findings.ranked[:4]:
        clues = [evidence_item(ctx, e) for e in r.evidence]
        ranked.append(
            RankedCause(
                ctx.t(r.cause.name),
                r.pct,
                _why(ctx, r),
                tuple(c for c in dict.fromkeys(clues) if c not in printed),
                _against(ctx, r),
            )
        )
        printed.update(clues)
    return tuple(ranked)


def _why(ctx: Context, r: Scored) -> str:
    t = ctx.t
    if r.cause.id == UNDETERMINED:
        return t(WHY_NOTHING)
    finding = next((e for e in r.evidence if e.kind == "finding"), None)
    if (
        finding is not None
        and r is not ctx.top
        and finding.source in {e.source for e in ctx.top.evidence}
    ):
        return t(WHY_FINDING_TOO, cause=lower_first(t(ctx.top.cause.name)))
    if finding is not None:
        return t(WHY_FINDING, fact=lower_first(clue(ctx, finding)))
    mine = _clues(ctx, r.evidence)
    if r is ctx.top:
        others = {e.source for alt in ctx.alternatives for e in alt.evidence}
        only = _clues(ctx, [e for e in r.evidence if e.source not in others])
        if not ctx.alternatives:
            return _fitted(ctx, WHY_ALONE, WHY_WIDTH, clues=mine)
        if only:
            return _fitted(ctx, WHY_ONLY, WHY_WIDTH, clues=only)
        return _fitted(ctx, WHY_TOP, WHY_WIDTH, clues=mine)
    if r.lowered_by:
        return t(WHY_LOWERED, words=_first_clause(r.lowered_by[0].text))
    sources = {e.source for e in r.evidence}
    missing = _clues(ctx, [e for e in ctx.top.evidence if e.source not in sources])
    if missing:
        return _fitted(ctx, WHY_MISSING, WHY_WIDTH, clues=mine, missing=missing)
    return _fitted(ctx, WHY_WEAKER, WHY_WIDTH, clues=mine)


def _against(ctx: Context, r: Scored) -> tuple[str, ...]:
    # What the owner already repaired is stated once, in facts_used and the ``why``.
    against: list[str] = []
    if r is not ctx.top:
        sources = {e.source for e in r.evidence}
        missing = _clues(ctx, [e for e in ctx.top.evidence if e.source not in sources])
        if missing:
            against.append(_fitted(ctx, NOT_EXPLAINED, EVIDENCE_WIDTH, clues=missing))
    return tuple(against)


def facts_used(ctx: Context) -> tuple[OwnerFact, ...]:
    t = ctx.t
    facts = [OwnerFact(t(f.fact, n=f.number), t(f.finding.proves)) for f in ctx.findings.owner]
    facts += [
        OwnerFact(t(REPORTED, words=_bare(words)), t(LESS_LIKELY, cause=lower_first(t(cause.name))))
        for cause, words in ctx.findings.lowered
    ]
    return tuple(facts[:5])


def ruled_out(ctx: Context) -> tuple[RuledOut, ...]:
    return tuple(RuledOut(ctx.t(cause.name), ctx.t(why)) for cause, why in ctx.findings.ruled_out)


def urgency(ctx: Context) -> tuple[UrgencyAdvice, tuple[str, ...]]:
    """The one urgency instruction and the other hazards the data shows (``safety``)."""
    t, alerts, top = ctx.t, ctx.findings.alerts, ctx.top.cause
    texts = [t(a.text) for a in alerts]
    if any(a.level == Urgency.STOP for a in alerts):
        level, reason = Urgency.STOP, texts.pop(0)
    elif top.urgency == Urgency.STOP:
        level, reason = Urgency.STOP, t(REASON_TOP_SAFETY, cause=capitalise(t(top.name)))
    elif ctx.intake.urgency_level == "emergency":
        level, reason = Urgency.STOP, t(REASON_EMERGENCY)
    elif alerts:
        level, reason = Urgency.SOON, texts.pop(0)
    elif ctx.intake.urgency_level == "high" or top.urgency != Urgency.CAN_WAIT:
        level, reason = Urgency.SOON, t(REASON_SOON, cause=capitalise(t(top.name)))
    else:
        level, reason = Urgency.CAN_WAIT, t(REASON_CAN_WAIT, cause=capitalise(t(top.name)))
    stop_if = () if level == Urgency.STOP else tuple(t(w.text) for w in warning_signs(ctx))
    return UrgencyAdvice(level, reason, stop_if), tuple(texts[:MAX_SAFETY])


def warning_signs(ctx: Context) -> tuple[WarningSign, ...]:
    """The category's warning signs this case is about: a ranked cause's, a code's, or one the
    owner's words name; at most three (the top three causes count, as for the owner checks)."""
    ranked = {r.cause.id for r in ctx.findings.ranked[:3]}
    codes = [d.code.code for d in ctx.findings.codes]
    said = normalise(" . ".join((*ctx.intake.symptoms, ctx.intake.problem_description)))
    return tuple(
        w
        for w in ctx.profile.warning_signs
        if ranked & set(w.causes)
        or any(code_matches(c, p) for c in codes for p in w.codes)
        or any(find(word, said) for word in w.words)
    )[:MAX_STOP_IF]


def _fits(ctx: Context, p: Procedure) -> bool:
    """A test fits when the machine allows it, the owner has not done it, and it is not a free
    check the report already gives the owner (a swap the owner can do is not billed)."""
    return (
        fits(p.needs, p.not_for, ctx.findings.tags)
        and p.name not in ctx.findings.tests_done
        and p.name not in {done_by for _, _, done_by in _owner_checks(ctx)}
    )


def usable_tests(ctx: Context, cause: Cause) -> list[Procedure]:
    """The cause's tests that fit this machine and that the owner has not already done."""
    return [p for p in cause.tests if _fits(ctx, p)]


def shop_test(ctx: Context, p: Procedure) -> ShopTest:
    low, high = procedure_cost(p, ctx.profile)
    return ShopTest(ctx.t(p.name), ctx.t(p.how), ctx.t(p.expected), low * 100, high * 100)


def shop_tests(ctx: Context) -> tuple[ShopTest, ...]:
    chosen = [*usable_tests(ctx, ctx.top.cause)]
    for r in ctx.alternatives[:2]:
        chosen += usable_tests(ctx, r.cause)[:1]
    baseline = [p for p in ctx.profile.baseline_tests if _fits(ctx, p)][:1]
    unique = {p.name: p for p in [*baseline, *chosen]}
    return tuple(shop_test(ctx, p) for p in list(unique.values())[:MAX_TESTS])


def _owner_checks(ctx: Context) -> list[tuple[str, str, str]]:
    """The free checks printed: (check, what it tells, the shop test it stands in for)."""
    usage, done = ctx.findings.usage, ctx.findings.tests_done
    found: dict[str, tuple[str, str, str]] = {}
    for r in ctx.findings.ranked[:3]:
        for check, tells, done_by in (*r.cause.owner_checks, *ctx.profile.owner_checks):
            if done_by not in done and not already_given(check, ctx.intake, usage, done):
                found.setdefault(check, (check, tells, done_by))
    return list(found.values())[:MAX_CHECKS]


def owner_checks(ctx: Context) -> tuple[OwnerCheck, ...]:
    return tuple(OwnerCheck(ctx.t(c), ctx.t(tells)) for c, tells, _ in _owner_checks(ctx))


def do_not(ctx: Context) -> tuple[str, ...]:
    warnings = [w for r in ctx.findings.ranked[:3] for w in r.cause.do_not]
    return tuple(ctx.t(w) for w in dict.fromkeys(warnings))[:MAX_DO_NOT]


def shop_questions(ctx: Context) -> tuple[str, ...]:
    t, done, usage = ctx.t, ctx.findings.tests_done, ctx.findings.usage
    asked = [*ctx.top.cause.questions[:2], *(r.cause.questions[0] for r in ctx.alternatives[:2])]
    asked = [q for q in asked if not already_given(q, ctx.intake, usage, done)]
    questions = [t(q) for q in asked]
    if ctx.top.cause.id != UNDETERMINED:
        questions.append(t(ASK_PROOF, cause=lower_first(t(ctx.top.cause.name))))
    questions.append(t(ASK_OLD_PART))
    return tuple(dict.fromkeys(questions))[:QUESTIONS]


def first_test(ctx: Context) -> Procedure:
    return (usable_tests(ctx, ctx.top.cause) or [ctx.profile.baseline_tests[0]])[0]


def next_steps(ctx: Context, level: Urgency, approval: str) -> tuple[str, ...]:
    """Three actions in order: what to do first (stop using it, or the free check that can
    settle it), which test to ask the shop for and what it costs, and what to approve or
    decline."""
    t, shop = ctx.t, ctx.t(ctx.profile.shop)
    test = first_test(ctx)
    low, high = procedure_cost(test, ctx.profile)
    test_step = t(STEP_TEST, shop=shop, test=lower_first(t(test.name)), cost=dollars(low, high))
    if level == Urgency.STOP:
        return t(ctx.profile.stop), test_step, approval
    checks = _owner_checks(ctx)
    if checks:
        first = t(STEP_CHECK, check=lower_first(t(checks[0][0])).rstrip("."))
    else:
        first = t(STEP_ESTIMATE, shop=shop)
    return first, test_step, approval


def data_needed(ctx: Context) -> tuple[str, ...]:
    t = ctx.t
    return tuple(
        t(n.text, **{k: lower_first(ctx.labels(v)) if k == "usage" else t(v) for k, v in n.values})
        if n.values
        else t(n.text)
        for n in ctx.findings.data_needed
    )


def sources(ctx: Context) -> tuple[str, ...]:
    return tuple(ctx.t(s) for s in ctx.profile.sources[:MAX_SOURCES])
