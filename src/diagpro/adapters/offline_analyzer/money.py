"""The money fields: the repairs as narrow named jobs, the worst cases, and the shop's quote
compared like for like (the job exactly as the shop wrote it, quantities included)."""

from __future__ import annotations

import re

from diagpro.adapters.offline_analyzer.context import N_, Context
from diagpro.adapters.offline_analyzer.jobs import as_written, chosen, worst_case_jobs
from diagpro.adapters.offline_analyzer.knowledge import UNDETERMINED, Cause
from diagpro.adapters.offline_analyzer.machine import _plain, fits
from diagpro.adapters.offline_analyzer.pricing import HIGH_RATIO, PRICE_DATA_CURRENCY, Job
from diagpro.adapters.offline_analyzer.rules import find
from diagpro.adapters.offline_analyzer.wording import capitalise, dollars, lower_first
from diagpro.domain.analysis import CostEstimate, QuoteCheck, QuoteVerdict
from diagpro.domain.payment import format_money

# Repairs costed: the most likely cause's and the runner-up's (the others wait for a test),
# as at most this many named jobs each, so the money page stays short: the jobs the owner's
# words name first, then the cheapest (the one a technician tries first).
COSTED_JOBS = (2, 1)
COSTED_CAUSES = len(COSTED_JOBS)
# A cause this far down can still cascade (a failing high-pressure pump): its worst case shows.
WORST_CASE_CAUSES = 3
_QUANTITY = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "eight": 8,
    "ten": 10,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "ocho": 8,
}
# Parts that come one per cylinder: a code for one cylinder calls for one of them.
_PER_CYLINDER = frozenset({"ignition_coil", "spark_plugs", "fuel_injector", "diesel_injector"})
_ONE_CYLINDER = re.compile(r"^P030[1-9]$")
UNPRICED = N_(
    "The job as the shop wrote it could not be matched to a repair in the price data: ask for "
    "it line by line, parts and labour hours."
)
NO_AMOUNT = N_("No amount was given; the job as the shop wrote it is fair at {fair}.")
OTHER_CURRENCY = N_(
    "Your quote of {quote} is not compared: the price data is in US dollars, so convert "
    "{fair} at today's rate and allow for local labour rates."
)
FAIR = N_("Your quote of {quote} is in line with the fair {fair} for {job}.")
AS_WRITTEN = N_('the job as the shop wrote it ("{job}": {jobs})')
HIGH = N_("Your quote of {quote} is above the fair {fair} for {job}: ask for it line by line.")
LOW = N_("Your quote of {quote} is below the fair {fair} for {job}: ask what it leaves out.")
SCOPE = N_(
    "Priced as the shop wrote it, the job is fair at {fair} (your quote: {quote}), but the "
    "evidence does not call for it: {problems}."
)
# Why it is ruled out is printed once, in the ruled-out list.
SCOPE_RULED_OUT = N_("{cause} is ruled out by your own finding")
SCOPE_ONE_CYLINDER = N_("your codes point at one cylinder, not {count}")
SCOPE_NO_EVIDENCE = N_("none of your evidence points at {cause}")
SCOPE_NOT_FIRST = N_("{cause} is not the most likely cause")
STEP_APPROVE = N_("Once that test confirms it, approve only this repair ({fair}): {repair}.")
STEP_DECLINE = N_(
    "Decline the job as quoted. Once that test confirms it, approve only this repair ({fair}): "
    "{repair}."
)
STEP_DIAGNOSIS_ONLY = N_("Approve only the diagnosis for now: the repair depends on the tests.")


def costs(ctx: Context) -> tuple[CostEstimate, ...]:
    rows: list[CostEstimate] = []
    worst: list[CostEstimate] = []
    for index, r in enumerate(ctx.findings.ranked[:WORST_CASE_CAUSES]):
        cause = r.cause
        if cause.id == UNDETERMINED:
            continue
        if index < COSTED_CAUSES:
            for job in chosen(cause, _owner_words(ctx), COSTED_JOBS[index]):
                rows.append(_row(ctx, job.priced(ctx.profile), index, worst_case=False))
        for job in worst_case_jobs(cause):
            worst.append(_row(ctx, job.priced(ctx.profile), index, worst_case=True))
    return (*rows, *worst[:2])


def _owner_words(ctx: Context) -> str:
    """What the owner wrote, normalised: the words that point at one named job."""
    i = ctx.intake
    return _plain(" ".join((i.problem_description, *i.symptoms, i.shop_recommendation)))


def _row(ctx: Context, job: Job, index: int, worst_case: bool) -> CostEstimate:
    return CostEstimate(
        repair=ctx.t(job.name),
        parts_cents_low=job.parts[0] * 100,
        parts_cents_high=job.parts[1] * 100,
        labour_hours_low=job.hours[0],
        labour_hours_high=job.hours[1],
        total_cents_low=job.total[0] * 100,
        total_cents_high=job.total[1] * 100,
        cause_index=index,
        worst_case=worst_case,
    )


def shop_jobs(ctx: Context) -> list[tuple[Cause, int]]:
    """The repairs the shop wrote, each with its quantity ("eight coils" -> 8), in the order
    written; a word counts for one repair only (the longest term that matches it)."""
    text = _plain(ctx.intake.shop_recommendation)
    found: dict[str, tuple[int, Cause, int]] = {}
    taken: list[tuple[int, int]] = []
    own, _ = ctx.kb.rule_tiers(ctx.profile)
    pool = dict.fromkeys(ctx.kb.causes[c] for rule in own for c, _ in rule.causes)
    candidates = [
        (term, cause)
        for cause in pool or ctx.kb.causes_for(ctx.profile)
        if fits(cause.needs, cause.not_for, ctx.findings.tags)
        for term in cause.terms
    ]
    for term, cause in sorted(candidates, key=lambda c: -len(c[0])):
        match = find(term, text)
        if match is None or any(s < match.end() and match.start() < e for s, e in taken):
            continue
        taken.append((match.start(), match.end()))
        before = text[: match.start()].split()[-3:]
        quantity = next(
            (
                int(w) if w.isdigit() else _QUANTITY[w]
                for w in reversed(before)
                if w.isdigit() or w in _QUANTITY
            ),
            1,
        )
        found.setdefault(cause.id, (match.start(), cause, max(1, min(quantity, 16))))
    return [(cause, n) for _, cause, n in sorted(found.values(), key=lambda f: f[0])]


def quote_check(ctx: Context) -> QuoteCheck | None:
    intake, t = ctx.intake, ctx.t
    if not intake.shop_recommendation and intake.shop_quote_cents is None:
        return None
    written = shop_jobs(ctx)
    shop_job = intake.shop_recommendation
    if not written:
        return QuoteCheck(shop_job, 0, 0, QuoteVerdict.NO_QUOTE, t(UNPRICED))
    text = _plain(intake.shop_recommendation)
    # Like for like: each repair the shop wrote is priced as the one named job its words name
    # (an OEM part, the inducer rather than the switch), for the quantity it wrote.
    priced = [as_written(c, text).priced(ctx.profile, n) for c, n in written]
    low, high = sum(p.total[0] for p in priced), sum(p.total[1] for p in priced)
    fair = dollars(low, high)
    job = t(AS_WRITTEN, job=shop_job, jobs=ctx.join([lower_first(t(p.name)) for p in priced]))
    cents = intake.shop_quote_cents
    if cents is None:
        return QuoteCheck(
            shop_job, low * 100, high * 100, QuoteVerdict.NO_QUOTE, t(NO_AMOUNT, fair=fair)
        )
    quote = format_money(cents, ctx.currency)
    if ctx.currency.lower() != PRICE_DATA_CURRENCY:
        explanation = t(OTHER_CURRENCY, quote=quote, fair=fair)
        return QuoteCheck(shop_job, low * 100, high * 100, QuoteVerdict.NO_QUOTE, explanation)
    quote = dollars(round(cents / 100))
    problems = _scope_problems(ctx, written)
    if problems:
        verdict, explanation = (
            QuoteVerdict.UNJUSTIFIED_SCOPE,
            t(SCOPE, fair=fair, quote=quote, problems=t("; ").join(problems)),
        )
    elif cents < low * 100:
        verdict, explanation = QuoteVerdict.LOW, t(LOW, quote=quote, fair=fair, job=job)
    elif cents > high * 100 * HIGH_RATIO:
        verdict, explanation = QuoteVerdict.HIGH, t(HIGH, quote=quote, fair=fair, job=job)
    else:
        verdict, explanation = QuoteVerdict.FAIR, t(FAIR, quote=quote, fair=fair, job=job)
    return QuoteCheck(shop_job, low * 100, high * 100, verdict, explanation)


def _scope_problems(ctx: Context, written: list[tuple[Cause, int]]) -> list[str]:
    t, f = ctx.t, ctx.findings
    ruled = {c.id for c, _ in f.ruled_out}
    ranked = [r.cause.id for r in f.ranked]
    one_cylinder = any(_ONE_CYLINDER.match(d.code.code) for d in f.codes)
    problems: list[str] = []
    for cause, n in written:
        name = capitalise(t(cause.name))
        if cause.id in ruled:
            problems.append(t(SCOPE_RULED_OUT, cause=lower_first(name)))
        elif cause.id not in ranked:
            problems.append(t(SCOPE_NO_EVIDENCE, cause=lower_first(name)))
        elif cause.id in _PER_CYLINDER and n > 1 and one_cylinder:
            problems.append(t(SCOPE_ONE_CYLINDER, count=n))
    if not problems and all(c.id != ranked[0] for c, _ in written):
        problems.append(t(SCOPE_NOT_FIRST, cause=capitalise(t(written[0][0].name))))
    return problems


def approval_step(ctx: Context, check: QuoteCheck | None) -> str:
    """The last next step, after the one naming the test: what to approve, at what fair price,
    and, when the shop quoted a job the evidence does not call for (``check``, the analysis'
    quote check), to decline it."""
    top = ctx.top.cause
    if top.id == UNDETERMINED:
        return ctx.t(STEP_DIAGNOSIS_ONLY)
    first = chosen(top, _owner_words(ctx), COSTED_JOBS[0])[0].priced(ctx.profile)
    low, high = first.total
    scope = check is not None and check.verdict == QuoteVerdict.UNJUSTIFIED_SCOPE
    return ctx.t(
        STEP_DECLINE if scope else STEP_APPROVE,
        repair=lower_first(ctx.t(first.name)),
        fair=dollars(low, high),
    )
