"""The 15 report sections, written from the findings and the customer's own words.

Each section names the customer's equipment and reuses their codes, symptoms, history and quote,
so the report reads as theirs even though the wording comes from templates. Money only becomes
text through ``format_money``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from diagpro.adapters.offline_analyzer.knowledge import Cause, KnowledgeBase, Profile
from diagpro.adapters.offline_analyzer.rules import Findings, RankedCause, find
from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, SECTION_TITLES, Section
from diagpro.domain.codes import CodeFamily
from diagpro.domain.intake import Intake
from diagpro.domain.payment import format_money

# Codes a scan tool reads (and can record freeze-frame data for); the rest need a maker's table.
_READABLE = frozenset({CodeFamily.OBD2, CodeFamily.J1939})
# A quote this far above the fair range's top is worth a second opinion, not just a question.
SECOND_OPINION_RATIO = 1.25


@dataclass(frozen=True)
class Context:
    intake: Intake
    profile: Profile
    findings: Findings
    kb: KnowledgeBase
    version: str

    @property
    def name(self) -> str:
        # equipment_name falls back to the plural category label ("Cars & SUVs"), which does not
        # read as "your ..."; name the kind of thing instead and keep the label for reference.
        i = self.intake
        if i.make or i.model or (i.year and i.year != "older"):
            return i.equipment_name
        older = ", older model year" if i.year == "older" else ""
        return f"{self.profile.noun} ({i.category.label}{older})"

    @property
    def top(self) -> RankedCause:
        return self.findings.ranked[0]

    @property
    def alternatives(self) -> tuple[RankedCause, ...]:
        return self.findings.ranked[1:4]


def money(dollars: float) -> str:
    return format_money(round(dollars * 100), "usd")


def to_five(dollars: float) -> int:
    return 5 * round(dollars / 5)


def walk_away(high: int) -> int:
    """Above this a second opinion is worth more than the hassle of getting one."""
    return to_five(high * SECOND_OPINION_RATIO)


def fair_range(cause: Cause, profile: Profile) -> tuple[int, int]:
    """Parts plus labor at the category's independent-to-dealer rates, to the nearest $5."""
    low = cause.parts_usd[0] + cause.labor_hours[0] * profile.labor_usd[0]
    high = cause.parts_usd[1] + cause.labor_hours[1] * profile.labor_usd[1]
    return to_five(low), to_five(high)


def _range(cause: Cause, profile: Profile) -> str:
    low, high = fair_range(cause, profile)
    return f"{money(low)} to {money(high)}"


def lower_first(text: str) -> str:
    # Keep acronyms ("DPF ...", "EVAP ...") as written.
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _hours(cause: Cause) -> str:
    low, high = cause.labor_hours
    return f"{low:g}-{high:g} h"


def _codes_list(ctx: Context) -> str:
    return ", ".join(d.display for d in ctx.findings.codes)


def _evidence_text(r: RankedCause, limit: int = 4) -> str:
    cited = [e.text for e in r.evidence[:limit]]
    return "; ".join(cited) if cited else "a general fit with your description"


def shop_repairs(ctx: Context) -> list[tuple[Cause, int | None]]:
    """The repairs the shop recommends that we recognise, each with its rank here (1-based) or
    None when none of the customer's evidence points to it."""
    text = " ".join(ctx.intake.shop_recommendation.lower().split())
    found: dict[str, tuple[Cause, int | None]] = {}
    if not text:
        return []
    for rank, r in enumerate(ctx.findings.ranked, start=1):
        if any(find(t, text) for t in r.cause.terms):
            found.setdefault(r.cause.id, (r.cause, rank))
    if not found:
        for cause in ctx.kb.causes_for(ctx.profile):
            if any(find(t, text) for t in cause.terms):
                found.setdefault(cause.id, (cause, None))
                break
    return list(found.values())


def quoted_work(ctx: Context) -> tuple[str, tuple[int, int]]:
    """What the shop quote should be compared with: the recommended repairs if we recognise
    them (their fair ranges added up), else the most likely cause."""
    repairs = [c for c, _ in shop_repairs(ctx)] or [ctx.top.cause]
    ranges = [fair_range(c, ctx.profile) for c in repairs]
    label = " plus ".join(lower_first(c.name) for c in repairs)
    return label, (sum(r[0] for r in ranges), sum(r[1] for r in ranges))


def quote_verdict(ctx: Context) -> str | None:
    cents = ctx.intake.shop_quote_cents
    if cents is None:
        return None
    label, (low, high) = quoted_work(ctx)
    quote = format_money(cents, "usd")
    basis = f"the fair range for {label} ({money(low)} to {money(high)})"
    if cents < low * 100:
        return (
            f"Your shop quote of {quote} is below {basis}: ask what it leaves out (parts "
            "grade, diagnosis, taxes) and whether it covers only a test."
        )
    if cents <= high * 100:
        return (
            f"Your shop quote of {quote} is within {basis}: fair, provided a test confirms "
            "the diagnosis."
        )
    over = format_money(cents - high * 100, "usd")
    if cents <= high * 100 * SECOND_OPINION_RATIO:
        return (
            f"Your shop quote of {quote} is {over} above {basis}: ask for parts and labor "
            "hours line by line."
        )
    return (
        f"Your shop quote of {quote} is {over} above {basis}: get a second written quote "
        "before approving."
    )


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


def primary(ctx: Context) -> tuple[str, list[str]]:
    f, i = ctx.findings, ctx.intake
    summary = (
        "Offline analysis from diagpro's built-in knowledge base (not the AI model). For your "
        f"{ctx.name}, the most likely cause is {lower_first(ctx.top.cause.name)}, at "
        f"{f.confidence}% confidence."
    )
    points = [f"Evidence for it: {_evidence_text(ctx.top, 6)}."]
    points += [f"{d.display}: {d.meaning}. {capitalise(d.detail)}." for d in f.codes]
    if not f.codes:
        points.append(f"No fault codes were given. This equipment reports {ctx.profile.code_hint}.")
    if i.symptoms:
        points.append(f"Your symptoms: {', '.join(i.symptoms)}.")
    if i.problem_description:
        points.append(f'Your description: "{_clip(i.problem_description)}"')
    if i.mileage_hours:
        note = ""
        if f.usage is not None and f.usage >= ctx.profile.wear_at:
            note = ": old enough that wear parts are a realistic suspect"
        points.append(f"{i.category.usage_label}: {i.mileage_hours}{note}.")
    if i.when_started or i.frequency:
        started = _WHEN.get(i.when_started, "at an unknown time")
        often = _HOW_OFTEN.get(i.frequency, "at an unknown frequency")
        points.append(f"Pattern: it started {started} and happens {often}.")
    if i.previous_repairs:
        points.append(f'Previous repairs you reported: "{_clip(i.previous_repairs)}"')
    if i.troubleshooting_steps:
        points.append(f'Troubleshooting already done: "{_clip(i.troubleshooting_steps)}"')
    points.append(f"Component failure analysis: {ctx.top.cause.explain}")
    points += [f"Act now: {a}" for a in f.alerts]
    points.append(f"Confidence: {f.confidence}%.")
    if f.confidence < CONFIDENCE_THRESHOLD:
        points.append("Data needed to raise it: " + "; ".join(f.data_needed) + ".")
    return summary, points


def differential(ctx: Context) -> tuple[str, list[str]]:
    summary = (
        f"Other causes that fit the evidence from your {ctx.name}, and why each ranks below "
        "the primary."
    )
    points: list[str] = []
    top_count = len(ctx.top.evidence)
    for r in ctx.alternatives:
        if r.lowered_by:
            why = f"ranked down because {r.lowered_by[0].text}: less likely, not impossible"
        elif len(r.evidence) < top_count:
            clues = "clue points" if len(r.evidence) == 1 else "clues point"
            why = f"{len(r.evidence)} of your {clues} to it, versus {top_count} for the primary"
        else:
            why = "the same clues point to it less often than to the primary"
        points.append(
            f"{r.cause.name} ({r.pct}%): ruled in by {_evidence_text(r, 3)}; {why}. "
            f"Tell it apart with: {r.cause.tests[0]}."
        )
    if not points:
        points.append(
            "Nothing else in the knowledge base matches what you described. If the tests in "
            "Diagnostic Verification do not confirm the primary cause, start again with: "
            f"{ctx.profile.baseline_tests[0]}."
        )
    if ctx.top.lowered_by:
        points.append(
            f"Note on the primary: {ctx.top.lowered_by[0].text}; it still ranks first on the "
            "remaining evidence."
        )
    return summary, points


def verification(ctx: Context) -> tuple[str, list[str]]:
    low, high = ctx.profile.diag_fee_usd
    summary = (
        f"Tests {ctx.profile.shop} should perform on your {ctx.name} before replacing parts, "
        f"most decisive first. Expect {money(low)} to {money(high)} for diagnosis; ask for it "
        "to be credited toward the repair."
    )
    points = [ctx.profile.baseline_tests[0]]
    readable = [d.code.code for d in ctx.findings.codes if d.code.family in _READABLE]
    if readable:
        points.append(
            f"Record freeze-frame or snapshot data for {', '.join(readable)} before any code "
            "is cleared."
        )
    for d in ctx.findings.codes:
        if d.code.family not in _READABLE:
            points.append(
                f"Write down what {d.display} means; it is listed in {ctx.profile.code_table}."
            )
    points += [f"For {lower_first(ctx.top.cause.name)}: {t}." for t in ctx.top.cause.tests]
    points += [
        f"For {lower_first(r.cause.name)}: {r.cause.tests[0]}." for r in ctx.alternatives[:2]
    ]
    return summary, points


def interrogation(ctx: Context) -> tuple[str, list[str]]:
    summary = (
        f"Five technical questions for {ctx.profile.shop} about your {ctx.name}. A competent "
        "technician answers with test results, not opinions."
    )
    questions = [*ctx.top.cause.questions[:2]]
    questions += [r.cause.questions[0] for r in ctx.alternatives[:2]]
    questions.append(
        f"Which test result proves it is {lower_first(ctx.top.cause.name)}, and can you write "
        "it on the estimate?"
    )
    questions.append("Can I see the test readings and the old part, and have the old part back?")
    points = [f"Q{n}: {q}" for n, q in enumerate(dict.fromkeys(questions), start=1)][:5]
    points.append(
        'Red-flag answers: "we\'ll replace it and see", "that\'s what we always do for that '
        'code", or no test result to show.'
    )
    if ctx.findings.codes:
        points.append(
            f"Data to demand: the full code list with freeze-frame data for {_codes_list(ctx)}, "
            "and the readings behind the diagnosis."
        )
    return summary, points


def scripting(ctx: Context) -> tuple[str, list[str]]:
    i = ctx.intake
    noticed = i.symptoms[0].lower() if i.symptoms else "the problem I described"
    codes = f"the codes were {_codes_list(ctx)} and " if ctx.findings.codes else ""
    top = lower_first(ctx.top.cause.name)
    summary = (
        "Word-for-word phrasing that keeps the conversation curious and factual rather than "
        "confrontational."
    )
    points = [
        f"Opening: \"Before I approve anything on my {ctx.name}, I'd like to understand the "
        f'diagnosis: {codes}I noticed {noticed}."',
        f'Curiosity: "I\'ve done some research and want to understand: how did you confirm {top}?"',
    ]
    if ctx.alternatives:
        other = lower_first(ctx.alternatives[0].cause.name)
        points.append(f'Ruling out: "How did you rule out {other}?"')
    if i.shop_quote_cents is not None:
        points.append(
            f'On the price: "The estimate is {format_money(i.shop_quote_cents, "usd")}. Could you '
            'break it into parts and labor hours, and tell me which labor guide time you used?"'
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


def costs(ctx: Context) -> tuple[str, list[str]]:
    p, i = ctx.profile, ctx.intake
    summary = (
        f"Fair cost ranges for the likely repairs on your {ctx.name}, at typical labor rates of "
        f"{money(p.labor_usd[0])} to {money(p.labor_usd[1])} per hour (independent shop to "
        "dealer)."
    )
    verdict = quote_verdict(ctx)
    summary += f" {verdict}" if verdict else " No shop quote was given; use these to judge one."
    points = []
    for r in ctx.findings.ranked[:3]:
        c = r.cause
        points.append(
            f"{c.name}: parts {money(c.parts_usd[0])} to {money(c.parts_usd[1])}, labor "
            f"{_hours(c)}, total about {_range(c, p)}."
        )
    low, high = p.diag_fee_usd
    points.append(f"Diagnosis: {money(low)} to {money(high)}, often credited toward the repair.")
    if i.shop_recommendation:
        points.append(f'The shop recommended: "{_clip(i.shop_recommendation)}"')
    points.append(
        "Overcharge markers: labor hours above the labor guide time, parts marked up far above "
        "list, and shop supplies above about 10% of labor."
    )
    return summary, points


def ripoff(ctx: Context) -> tuple[str, list[str]]:
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
    cents = ctx.intake.shop_quote_cents
    label, (_, high) = quoted_work(ctx)
    if cents is not None and cents > high * 100 * SECOND_OPINION_RATIO:
        points.append(
            f"Price check: {format_money(cents, 'usd')} is well above the top of the fair range "
            f"for {label} ({money(high)})."
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


def authorization(ctx: Context) -> tuple[str, list[str]]:
    p, top = ctx.profile, ctx.top.cause
    low, high = fair_range(top, p)
    fee_low, fee_high = p.diag_fee_usd
    summary = (
        f"What to approve, what to reject and when to get a second opinion on your {ctx.name}."
    )
    points = [
        f"Approve now: the diagnosis ({money(fee_low)} to {money(fee_high)}) and the tests in "
        "Diagnostic Verification.",
        f"Approve once a test confirms it: the repair for {lower_first(top.name)}, at "
        f"{money(low)} to {money(high)}.",
    ]
    if ctx.findings.urgent:
        points.append(
            "Approve regardless of cost: anything needed to make it safe (see Recommendations)."
        )
    if ctx.alternatives:
        names = "; ".join(lower_first(r.cause.name) for r in ctx.alternatives)
        points.append(
            f"Reject for now: parts for these other causes without a test that points to them: "
            f"{names}."
        )
    points.append(
        f"Second opinion: if the estimate for this repair is above "
        f"{money(walk_away(high))}, or the shop will not share its test results."
    )
    return summary, points


def education(ctx: Context) -> tuple[str, list[str]]:
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


def parts(ctx: Context) -> tuple[str, list[str]]:
    ident = ctx.intake.category.identifier_label
    points = [f"{ctx.top.cause.name}: {ctx.top.cause.parts}"]
    points += [f"{r.cause.name}: {r.cause.parts}" for r in ctx.alternatives[:2]]
    points += [
        "Ask for the part numbers on the estimate, then price them yourself at the dealer's "
        f"parts counter (quote your {ident}) and one or two other sellers.",
        "Ask which parts grade is quoted (OEM, OE supplier, aftermarket) and the warranty on "
        "both parts and labor.",
    ]
    return ctx.profile.parts, points


def negotiation(ctx: Context) -> tuple[str, list[str]]:
    top = ctx.top.cause
    low, high = fair_range(top, ctx.profile)
    summary = (
        f"How to keep the price of fixing your {ctx.name} fair without souring the relationship."
    )
    points = [
        "Price comparison: get a second written quote for the same repair; the fair range for "
        f"{lower_first(top.name)} is {money(low)} to {money(high)}.",
        f"Labor justification: ask which labor guide time they used; {_hours(top)} is typical "
        "for this job.",
        "Ask for the diagnosis fee to be credited toward the repair, and for an OE-supplier "
        "part instead of a dealer-boxed one where it is the same part.",
        "Approve in stages: the tests first, then the repair the tests confirm.",
        f"Walk-away point: above {money(walk_away(high))} for this repair, thank "
        "them and get another quote.",
    ]
    verdict = quote_verdict(ctx)
    if verdict:
        points.insert(0, verdict)
    return summary, points


def ranked_causes(ctx: Context) -> tuple[str, list[str]]:
    summary = (
        "Ranked from the evidence you gave; the percentages add up to 100, the remainder being "
        "causes not listed."
    )
    points = [
        f"{n}. {r.cause.name}: {r.pct}%. Why: {_evidence_text(r)}."
        for n, r in enumerate(ctx.findings.ranked[:4], start=1)
    ]
    if ctx.findings.other_pct:
        points.append(f"Other or less common causes: {ctx.findings.other_pct}%.")
    return summary, points


def recommendations(ctx: Context) -> tuple[str, list[str]]:
    p, f = ctx.profile, ctx.findings
    if f.urgent or ctx.intake.urgency_level in ("high", "emergency"):
        summary = f"Treat this as urgent. {p.no_go}"
    else:
        summary = (
            "Nothing you described signals an immediate safety risk, but do not let it run on "
            "unchecked: small faults become expensive ones."
        )
    points = [f"Immediately: {a}" for a in f.alerts]
    points += [f"Safety: {s}" for s in p.safety]
    points += [f"Maintenance: {m}." for m in p.maintenance]
    points.append(f"Maintenance: {ctx.top.cause.prevention}")
    points += [f"Warning sign to watch: {w}." for w in p.warning_signs]
    return summary, points


def sources(ctx: Context) -> tuple[str, list[str]]:
    summary = (
        f"This is an offline analysis from diagpro's built-in knowledge base (version "
        f"{ctx.version}), not the AI model. Check it against these sources; they are named "
        "rather than linked so you can find the current official version yourself."
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
        f"check by {ctx.intake.category.identifier_label}."
    )
    return summary, points


def next_steps(ctx: Context) -> tuple[str, list[str]]:
    top, f = ctx.top.cause, ctx.findings
    if f.alerts:
        first = f"{'Safety first' if f.urgent else 'Before anything else'}: {f.alerts[0]}"
    else:
        first = f"Get the key test done: {top.tests[0]}."
    second = (
        f"Ask {ctx.profile.shop} the questions in Shop Interrogation and get the estimate as "
        f"parts plus labor hours; fair range for {lower_first(top.name)}: "
        f"{_range(top, ctx.profile)}."
    )
    if f.data_needed:
        third = f"Firm up the diagnosis with the missing data, starting with: {f.data_needed[0]}."
    else:
        third = "Approve the repair only once a test confirms it; keep the old part and invoice."
    return "Your three next steps.", [first, second, third]


def _clip(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "..."


WRITERS: dict[str, Callable[[Context], tuple[str, list[str]]]] = {
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


def write_sections(ctx: Context, keys: Iterable[str]) -> tuple[Section, ...]:
    sections = []
    for key in keys:
        summary, points = WRITERS[key](ctx)
        sections.append(Section(key, SECTION_TITLES[key], summary, tuple(points)))
    return tuple(sections)
