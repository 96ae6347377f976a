"""One customer's case as the report writers see it, and how it compares with the shop's quote."""

from __future__ import annotations

from dataclasses import dataclass

from diagpro.adapters.offline_analyzer.knowledge import Cause, KnowledgeBase, Profile
from diagpro.adapters.offline_analyzer.pricing import (
    PRICE_DATA_CURRENCY,
    SECOND_OPINION_RATIO,
    fair_range,
)
from diagpro.adapters.offline_analyzer.rules import Findings, RankedCause, find
from diagpro.adapters.offline_analyzer.wording import lower_first
from diagpro.domain.intake import Intake
from diagpro.domain.payment import format_money


@dataclass(frozen=True)
class Context:
    intake: Intake
    profile: Profile
    findings: Findings
    kb: KnowledgeBase
    version: str
    currency: str  # the submission's, which the shop quote is in

    @property
    def quote_text(self) -> str:
        """The customer's shop quote as text, in the currency they gave it in ("" if none)."""
        cents = self.intake.shop_quote_cents
        return "" if cents is None else format_money(cents, self.currency)

    @property
    def comparable_quote_cents(self) -> int | None:
        """The shop quote when it can be set against the price data: given, and in US dollars
        like the data. A quote in another currency is never compared as if it were dollars."""
        if self.currency != PRICE_DATA_CURRENCY:
            return None
        return self.intake.shop_quote_cents

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

    @property
    def identifier(self) -> str:
        """'VIN', 'HIN', 'serial number': the category's identifier as it reads mid-sentence."""
        label = self.intake.category.identifier_label
        return " ".join(w if w.isupper() else w.lower() for w in label.split())


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


def quote_position(ctx: Context) -> str | None:
    """Where the shop quote sits against the fair range: below, within, above or far_above; None
    when there is no quote, or none in the price data's currency."""
    cents = ctx.comparable_quote_cents
    if cents is None:
        return None
    _, (low, high) = quoted_work(ctx)
    if cents < low * 100:
        return "below"
    if cents <= high * 100:
        return "within"
    return "above" if cents <= high * 100 * SECOND_OPINION_RATIO else "far_above"
