"""The 15 report sections, written from the structured facts and the customer's own words.

Each section names the customer's equipment and reuses their codes, symptoms, history and quote,
so the report reads as theirs even though the wording comes from templates. Numbers (percentages,
prices, test costs) come from ``Facts`` so the prose says what the tables say; each sentence is
written for one section only, so the report does not repeat itself. Money only becomes text
through ``pricing.money`` and ``pricing.money_cents`` (the price data, in US dollars) and
``Context.quote_text`` (the customer's quote, in the currency they were priced in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from diagpro.adapters.offline_analyzer.context import (
    Context,
    quote_position,
    quoted_work,
    shop_repairs,
)
from diagpro.adapters.offline_analyzer.facts import Facts
from diagpro.adapters.offline_analyzer.pricing import (
    PRICE_DATA_CURRENCY,
    SECOND_OPINION_RATIO,
    hours_text,
    money,
    money_cents,
    money_range,
    walk_away,
)
from diagpro.adapters.offline_analyzer.wording import capitalise, clip, lower_first
from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, SECTION_TITLES, Section, Urgency
from diagpro.domain.codes import CodeFamily

# Codes a scan tool reads (and can record freeze-frame data for); the rest need a maker's table.
_READABLE = frozenset({CodeFamily.OBD2, CodeFamily.J1939})

_WHEN = {
    "today": "today",
    "week": "within the last week",
    "month": "within the last month",
    "gradual": "gradually",
    "sudden": "suddenly",
}
_HOW_OFTEN = {
    "always": "all the time",
    "often": "often",
    "sometimes": "sometimes",
    "rarely": "rarely",
    "once": "once so far",
}

Writer = Callable[[Context, Facts], tuple[str, list[str]]]


def _codes_list(ctx: Context) -> str:
    return ", ".join(d.display for d in ctx.findings.codes)


def quote_verdict(ctx: Context) -> str | None:
    position, cents = quote_position(ctx), ctx.comparable_quote_cents
    if position is None or cents is None:
        return None
    label, (low, high) = quoted_work(ctx)
    quote = ctx.quote_text
    basis = f"the fair range for {label} ({money_range(low, high)})"
    if position == "below":
        return (
            f"Your shop quote of {quote} is below {basis}: ask what it leaves out (parts "
            "grade, diagnosis, taxes) and whether it covers only a test."
        )
    if position == "within":
        return (
            f"Your shop quote of {quote} is within {basis}: fair, provided a test confirms "
            "the diagnosis."
        )
    over = money_cents(cents - high * 100)
    if position == "above":
        return (
            f"Your shop quote of {quote} is {over} above {basis}: ask for parts and labor "
            "hours line by line."
        )
    return (
        f"Your shop quote of {quote} is {over} above {basis}: get a second written quote "
        "before approving."
    )


def primary(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    f, i = ctx.findings, ctx.intake
    summary = (
        "Offline analysis from diagpro's built-in knowledge base of codes and symptoms. For your "
        f"{ctx.name}, the most likely cause is {lower_first(ctx.top.cause.name)}, at "
        f"{f.confidence}% confidence."
    )
    points = [f"Why this cause: {facts.causes[0].reasoning}"]
    points += [f"{d.display}: {d.meaning}. {capitalise(d.detail)}." for d in f.codes]
    if not f.codes:
        points.append(f"No fault codes were given. This equipment reports {ctx.profile.code_hint}.")
    if i.symptoms:
        points.append(f"Your symptoms: {', '.join(i.symptoms)}.")
    if i.problem_description:
        points.append(f'Your description: "{clip(i.problem_description)}"')
    if i.mileage_hours:
        note = ""
        if f.usage is not None and f.usage >= ctx.profile.wear_at:
            note = " (old enough that wear parts are a realistic suspect)"
        points.append(f"{i.category.usage_label}: {i.mileage_hours}{note}.")
    if i.when_started or i.frequency:
        started = _WHEN.get(i.when_started, "at an unknown time")
        often = _HOW_OFTEN.get(i.frequency, "at an unknown frequency")
        points.append(f"Pattern: it started {started} and happens {often}.")
    if i.previous_repairs:
        points.append(f'Previous repairs you reported: "{clip(i.previous_repairs)}"')
    if i.troubleshooting_steps:
        points.append(f'Troubleshooting already done: "{clip(i.troubleshooting_steps)}"')
    confidence = f"Confidence: {f.confidence}%."
    if f.confidence < CONFIDENCE_THRESHOLD:
        confidence += (
            f" That is below {CONFIDENCE_THRESHOLD}%: the information that would raise it is "
            "listed under Data Needed."
        )
    points.append(confidence)
    return summary, points


def differential(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    summary = (
        f"Other causes that fit the evidence from your {ctx.name}, and why each ranks below "
        "the primary."
    )
    points = [
        f"{ranked.cause} ({ranked.likelihood_pct}%): {ranked.reasoning} Test that separates "
        f"it: the {lower_first(r.cause.tests[0].name)}."
        for r, ranked in zip(ctx.alternatives, facts.causes[1:], strict=True)
    ]
    if not points:
        points.append(
            "Nothing else in the knowledge base matches what you described. If the tests in "
            "Diagnostic Verification do not confirm the primary cause, start again from the "
            f"{lower_first(ctx.profile.baseline_tests[0].name)}."
        )
    return summary, points


def verification(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    low, high = ctx.profile.diag_fee_usd
    summary = (
        f"Tests {ctx.profile.shop} should perform on your {ctx.name} before replacing parts, "
        f"most decisive first. Expect {money_range(low, high)} for the diagnosis; ask for it "
        "to be credited toward the repair."
    )
    points = [
        f"{t.name}: {t.how}. Expected: {t.expected}. If billed on its own: about "
        f"{money_cents(t.cost_cents_low)} to {money_cents(t.cost_cents_high)}."
        for t in facts.tests
    ]
    readable = [d.code.code for d in ctx.findings.codes if d.code.family in _READABLE]
    if readable:
        points.append(
            "Before any code is cleared, ask for the freeze-frame (snapshot) data of "
            f"{', '.join(readable)} to be saved."
        )
    for d in ctx.findings.codes:
        if d.code.family not in _READABLE:
            points.append(f"Ask the technician what {d.display} means for your exact model.")
    return summary, points


def interrogation(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    summary = (
        f"{capitalise(_count(len(facts.questions)))} technical questions for {ctx.profile.shop} "
        f"about your {ctx.name}. A competent technician answers with test results, not opinions."
    )
    points = [f"Q{n}: {q}" for n, q in enumerate(facts.questions, start=1)]
    points.append(
        'Red-flag answers: "we\'ll replace it and see", "that\'s what we always do for that '
        'code", or no test result to show.'
    )
    points.append(
        "Data to demand: a written record of every test with its reading, and of any fault "
        "code, before you approve a repair."
    )
    return summary, points


def _count(n: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six")
    return words[n] if n < len(words) else str(n)


def scripting(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    i = ctx.intake
    noticed = f"I noticed: {lower_first(i.symptoms[0])}" if i.symptoms else "I noticed the problem"
    codes = f"the codes were {_codes_list(ctx)} and " if ctx.findings.codes else ""
    top = lower_first(ctx.top.cause.name)
    summary = (
        "Word-for-word phrasing that keeps the conversation curious and factual rather than "
        "confrontational."
    )
    points = [
        f"Opening: \"Before I approve anything on my {ctx.name}, I'd like to understand the "
        f'diagnosis: {codes}{noticed}."',
        f'Curiosity: "I\'ve done some research and want to understand: how did you confirm {top}?"',
    ]
    if ctx.alternatives:
        other = lower_first(ctx.alternatives[0].cause.name)
        points.append(f'Ruling out: "How did you rule out {other}?"')
    if i.shop_quote_cents is not None:
        points.append(
            f'On the price: "The estimate is {ctx.quote_text}. Could you break it '
            'into parts and labor hours, and tell me which labor guide time you used?"'
        )
    points += [
        'Never say: "a report told me" or "the internet says". Always say: "I\'ve done some '
        'research and want to understand..."',
        "If they get defensive: \"I'm not questioning your skill; I just want to understand "
        "what I'm paying for.\"",
        "Body language: stay calm, take notes, and ask to be shown the part or the reading on "
        "the tester.",
        "Exit: \"Thanks, I'd like to think it over. Could I have the estimate and the test "
        'results in writing?"',
    ]
    return summary, points


def costs(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    p, i = ctx.profile, ctx.intake
    summary = (
        f"Fair cost ranges for the likely repairs on your {ctx.name}, at typical labor rates of "
        f"{money(p.labor_usd[0])} to {money(p.labor_usd[1])} per hour (independent shop to "
        "dealer)."
    )
    verdict = quote_verdict(ctx)
    if verdict:
        summary += f" {verdict}"
    elif ctx.intake.shop_quote_cents is not None:
        # Dollar ranges set against a quote in another currency would mislead either way.
        summary += (
            f" Your shop quote of {ctx.quote_text} is not compared with these ranges: they are "
            f"{PRICE_DATA_CURRENCY.upper()} figures from the built-in price data, so convert them "
            "at today's rate, and allow for local labor rates, before judging the quote."
        )
    else:
        summary += " No shop quote was given; use these to judge one."
    points = [
        f"{c.repair}: parts {money_cents(c.parts_cents_low)} to "
        f"{money_cents(c.parts_cents_high)}, labor "
        f"{hours_text((c.labour_hours_low, c.labour_hours_high))}, total about "
        f"{money_cents(c.total_cents_low)} to {money_cents(c.total_cents_high)}. {c.note}"
        for c in facts.costs
    ]
    if not facts.costs:
        points.append("No repair can be priced until the tests find the fault.")
    low, high = p.diag_fee_usd
    points.append(f"Diagnosis: {money_range(low, high)}, often credited toward the repair.")
    if i.shop_recommendation:
        points.append(f'The shop recommended: "{clip(i.shop_recommendation)}"')
    points.append(
        "Overcharge markers: labor hours above the labor guide time, parts marked up far above "
        "list, and shop supplies above about 10% of labor."
    )
    return summary, points


def ripoff(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    summary = f"Signs that the repair on your {ctx.name} is being guessed at or overpriced."
    points = [*ctx.top.cause.red_flags]
    points += [r.cause.red_flags[0] for r in ctx.alternatives[:2]]
    for cause, rank in shop_repairs(ctx):
        name = lower_first(cause.name)
        if rank == 1:
            points.append(
                f"The shop's recommendation concerns {name}, the most likely cause here: good, "
                "as long as a test backs it."
            )
        elif rank:
            points.append(
                f"The shop's recommendation concerns {name}, which ranks #{rank} on your "
                "evidence: ask what rules out the higher-ranked causes first."
            )
        else:
            points.append(
                f"The shop's recommendation concerns {name}, which none of your evidence points "
                "to: ask for the test result that supports it."
            )
    cents = ctx.comparable_quote_cents
    label, (_, high) = quoted_work(ctx)
    if cents is not None and cents > high * 100 * SECOND_OPINION_RATIO:
        points.append(
            f"Price check: {ctx.quote_text} is well above the top of the fair range for {label} "
            f"({money(high)})."
        )
    points.append(
        "Parts-cannon sign: several parts replaced one after another for the same complaint, "
        "with no test in between."
    )
    points.append(
        "Diagnostic shortcut: a code names the system or circuit that failed a self-test, not "
        "the part to replace."
    )
    return summary, list(dict.fromkeys(points))


def authorization(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    fee_low, fee_high = ctx.profile.diag_fee_usd
    summary = (
        f"What to approve, what to reject and when to get a second opinion on your {ctx.name}."
    )
    points = [
        f"Approve now: the diagnosis ({money_range(fee_low, fee_high)}) and the tests in "
        "Diagnostic Verification.",
    ]
    if facts.urgency == Urgency.STOP:
        points.append("Approve regardless of cost: whatever is needed to make it safe to use.")
    if facts.costs:
        top = facts.costs[0]
        points.append(
            f"Approve once a test confirms it: {lower_first(top.repair)}, at "
            f"{money_cents(top.total_cents_low)} to {money_cents(top.total_cents_high)}."
        )
    if ctx.alternatives:
        names = "; ".join(lower_first(r.cause.name) for r in ctx.alternatives)
        points.append(
            f"Reject for now: parts for these other causes without a test that points to them: "
            f"{names}."
        )
    if facts.costs:
        high = facts.costs[0].total_cents_high // 100
        points.append(
            f"Second opinion: if the estimate for this repair is above "
            f"{money(walk_away(high))}, or the shop will not share its test results."
        )
    else:
        points.append("Second opinion: if the shop quotes a repair without a test result.")
    return summary, points


def education(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    summary = (
        f"How the systems behind the problem with your {ctx.name} work. This report follows "
        f"{ctx.profile.frame}."
    )
    points = [f"{ctx.top.cause.name}: {ctx.top.cause.explain}"]
    points += [f"{r.cause.name}: {r.cause.explain}" for r in ctx.alternatives[:2]]
    families = {d.code.family for d in ctx.findings.codes}
    if CodeFamily.OBD2 in families:
        points.append(
            "Reading OBD-II codes: the letter is the system (P powertrain, B body, C chassis, "
            "U network); a second character of 0 (or 2 on P codes) marks a generic SAE code, "
            "1 a maker-specific one. A code says which self-test failed, not which part to "
            "replace."
        )
    if CodeFamily.J1939 in families:
        points.append(
            "Reading J1939 codes: the SPN says which parameter is wrong and the FMI (0-31) says "
            "how it failed; the same SPN with a different FMI can mean a wiring fault instead "
            "of a real mechanical problem."
        )
    if families - _READABLE:
        points.append(
            "Error and blink codes are manufacturer-specific: the same number means different "
            f"things on different brands. Use {ctx.profile.code_table}."
        )
    points.append(f"Prevention: {ctx.top.cause.prevention}")
    return summary, points


def parts(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    points = [f"{ctx.top.cause.name}: {ctx.top.cause.parts}"]
    points += [f"{r.cause.name}: {r.cause.parts}" for r in ctx.alternatives[:2]]
    points += [
        "Ask for the part numbers on the estimate, then price them yourself at the dealer's "
        f"parts counter (quote your {ctx.identifier}) and one or two other sellers.",
        "Ask which parts grade is quoted (OEM, OE supplier, aftermarket) and the warranty on "
        "both parts and labor.",
    ]
    return ctx.profile.parts, points


def negotiation(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    summary = (
        f"How to keep the price of fixing your {ctx.name} fair without souring the relationship."
    )
    points: list[str] = []
    position = quote_position(ctx)
    if position is not None:
        quote = ctx.quote_text
        points.append(
            {
                "below": f"Your quote of {quote} is low: get in writing what it includes before "
                "you agree, so the final bill cannot grow.",
                "within": f"Your quote of {quote} is in the fair range: negotiate on the parts "
                "grade and the diagnosis credit rather than the labor rate.",
                "above": f"Your quote of {quote} is above the fair range: ask which line items "
                "make up the difference, and whether the labor hours can come down.",
                "far_above": f"Your quote of {quote} is far above the fair range: use a second "
                "written quote as your leverage rather than haggling line by line.",
            }[position]
        )
    if facts.costs:
        top = facts.costs[0]
        points += [
            "Price comparison: get a second written quote for the same repair "
            f"({lower_first(top.repair)}); a fair total is {money_cents(top.total_cents_low)} to "
            f"{money_cents(top.total_cents_high)}.",
            "Labor justification: ask which labor guide time they used; "
            f"{hours_text((top.labour_hours_low, top.labour_hours_high))} is typical for this "
            "job.",
        ]
    else:
        points.append(
            "Agree a price for the diagnosis only; the repair is priced once the fault is found."
        )
    points += [
        "Ask for the diagnosis fee to be credited toward the repair, and whether the same part "
        "is available from the original supplier for less (see OEM Parts Strategy).",
        "Approve in stages: the tests first, then the repair the tests confirm.",
    ]
    if facts.costs:
        high = facts.costs[0].total_cents_high // 100
        points.append(
            f"Walk-away point: above {money(walk_away(high))} for this repair, thank them and "
            "get another quote."
        )
    return summary, points


def ranked_causes(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    summary = (
        "Ranked from the evidence you gave; the percentages add up to 100, the remainder being "
        "causes not listed."
    )
    points = [
        f"{n}. {r.cause}: {r.likelihood_pct}%. Evidence: {'; '.join(r.evidence[:4])}."
        for n, r in enumerate(facts.causes, start=1)
    ]
    if ctx.findings.other_pct:
        points.append(f"Other or less common causes: {ctx.findings.other_pct}%.")
    return summary, points


_URGENCY_SUMMARY = {
    Urgency.STOP: (
        "Urgency: stop. Treat it as unsafe to use until it has been checked, for the reasons below."
    ),
    Urgency.SOON: (
        "Urgency: soon. Nothing you described makes it unsafe to use, but have it checked "
        "within days, not weeks: small faults become expensive ones."
    ),
    Urgency.CAN_WAIT: (
        "Urgency: can wait. Nothing you described is a safety risk or likely to get worse "
        "quickly: book it at a convenient time, and sooner if a warning sign below appears."
    ),
}


def recommendations(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    p = ctx.profile
    summary = _URGENCY_SUMMARY[facts.urgency]
    if facts.urgency == Urgency.SOON and facts.safety_flags:
        summary = "Urgency: soon. Act on the points below now, and have it checked within days."
    points = [f"Now: {flag}" for flag in facts.safety_flags]
    points += [f"Safety: {s}" for s in p.safety]
    points += [f"Maintenance: {m}." for m in p.maintenance]
    points += [f"Warning sign to watch: {w}." for w in p.warning_signs]
    return summary, points


def sources(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    summary = (
        f"This is an offline analysis from diagpro's built-in knowledge base (version "
        f"{ctx.version}), with no AI model involved. Check it against these sources; they are "
        "named rather than linked so you can find the current official version yourself."
    )
    points = list(ctx.profile.sources)
    families = {d.code.family for d in ctx.findings.codes}
    if CodeFamily.OBD2 in families and not any("J2012" in s for s in points):
        points.append("SAE J2012, the standard that defines OBD-II code meanings")
    if CodeFamily.J1939 in families and not any("J1939" in s for s in points):
        points.append("SAE J1939-73, the standard that defines J1939 FMI failure modes")
    if families - _READABLE:
        points.append(f"For your error or blink codes: {ctx.profile.code_table}")
    points.append(
        f"Technical service bulletins for your {ctx.name}: ask the dealer or manufacturer to "
        f"check by {ctx.identifier}."
    )
    return summary, points


def next_steps(ctx: Context, facts: Facts) -> tuple[str, list[str]]:
    return "Your three next steps.", list(facts.next_steps)


WRITERS: dict[str, Writer] = {
    "primary_diagnosis": primary,
    "differential_diagnosis": differential,
    "diagnostic_verification": verification,
    "shop_interrogation": interrogation,
    "conversation_scripting": scripting,
    "cost_breakdown": costs,
    "ripoff_detection": ripoff,
    "authorization_guide": authorization,
    "technical_education": education,
    "oem_parts_strategy": parts,
    "negotiation_tactics": negotiation,
    "likely_causes_ranked": ranked_causes,
    "recommendations": recommendations,
    "source_verification": sources,
    "next_steps_summary": next_steps,
}


def write_sections(ctx: Context, facts: Facts, keys: Iterable[str]) -> tuple[Section, ...]:
    sections = []
    for key in keys:
        summary, points = WRITERS[key](ctx, facts)
        sections.append(Section(key, SECTION_TITLES[key], summary, tuple(points)))
    return tuple(sections)
