"""The analysis a report is built from: 15 sections in the original's order, with a confidence.

Whatever writes it (Gemini or the offline analyzer) must produce exactly this shape; an analysis
that does not is refused here rather than printed half-empty (the original silently dropped any
section whose heading did not parse).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from diagpro.domain.codes import DetectedCode
from diagpro.domain.errors import AnalysisInvalid

# (key, title) in the order of the original's "Proprietary 15-Section Analysis Framework".
SECTIONS: tuple[tuple[str, str], ...] = (
    ("primary_diagnosis", "PRIMARY DIAGNOSIS"),
    ("differential_diagnosis", "DIFFERENTIAL DIAGNOSIS"),
    ("diagnostic_verification", "DIAGNOSTIC VERIFICATION"),
    ("shop_interrogation", "SHOP INTERROGATION"),
    ("conversation_scripting", "CONVERSATION SCRIPTING"),
    ("cost_breakdown", "COST BREAKDOWN"),
    ("ripoff_detection", "RIPOFF DETECTION"),
    ("authorization_guide", "AUTHORIZATION GUIDE"),
    ("technical_education", "TECHNICAL EDUCATION"),
    ("oem_parts_strategy", "OEM PARTS STRATEGY"),
    ("negotiation_tactics", "NEGOTIATION TACTICS"),
    ("likely_causes_ranked", "LIKELY CAUSES (RANKED)"),
    ("recommendations", "RECOMMENDATIONS"),
    ("source_verification", "SOURCE VERIFICATION"),
    ("next_steps_summary", "NEXT STEPS SUMMARY"),
)
SECTION_KEYS: tuple[str, ...] = tuple(key for key, _ in SECTIONS)
SECTION_TITLES: dict[str, str] = dict(SECTIONS)

# Below this confidence the report must say what data would raise it (the original's rule 5).
CONFIDENCE_THRESHOLD = 80


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    summary: str
    points: tuple[str, ...] = ()


class Urgency(StrEnum):
    """How soon to act, in the customer's words on the report's first page."""

    STOP = "stop"  # do not drive / operate / leave the dock until checked
    SOON = "soon"  # book it within days
    CAN_WAIT = "can_wait"  # schedule at convenience; watch for the warning signs


@dataclass(frozen=True)
class RankedCause:
    cause: str
    likelihood_pct: int
    reasoning: str  # why it ranks here: the customer's own codes, symptoms and details
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopTest:
    name: str  # what the shop must test before replacing anything
    how: str
    expected: str  # the reading that confirms or rules out the cause
    cost_cents_low: int = 0
    cost_cents_high: int = 0


@dataclass(frozen=True)
class CostEstimate:
    repair: str
    parts_cents_low: int
    parts_cents_high: int
    labour_hours_low: float
    labour_hours_high: float
    total_cents_low: int
    total_cents_high: int
    note: str = ""


@dataclass(frozen=True)
class Analysis:
    """The 15 narrative sections plus the structured facts the report's tables, checklists and
    first page are built from; a model and the offline analyzer fill the same fields."""

    most_likely_cause: str
    confidence_pct: int
    sections: tuple[Section, ...]
    detected_codes: tuple[DetectedCode, ...]
    data_needed: tuple[str, ...] = ()
    model: str = ""
    prompt_tokens: int = 0
    output_tokens: int = 0
    offline: bool = False
    urgency: Urgency = Urgency.SOON
    safety_flags: tuple[str, ...] = ()
    ranked_causes: tuple[RankedCause, ...] = ()
    shop_tests: tuple[ShopTest, ...] = ()
    costs: tuple[CostEstimate, ...] = ()
    shop_questions: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    # ISO 4217 code of the amounts above (costs, shop tests), when the analyzer wrote them in a
    # currency other than the submission's (the offline price data is in US dollars); empty means
    # the submission's currency.
    currency: str = ""

    def _structure_problems(self) -> list[str]:
        problems: list[str] = []
        if sum(c.likelihood_pct for c in self.ranked_causes) > 100:
            problems.append("ranked causes' likelihoods add up to more than 100%")
        if any(not 0 <= c.likelihood_pct <= 100 for c in self.ranked_causes):
            problems.append("a ranked cause's likelihood is not a percentage")
        for cost in self.costs:
            if not (
                0 <= cost.parts_cents_low <= cost.parts_cents_high
                and 0 <= cost.labour_hours_low <= cost.labour_hours_high
                and 0 <= cost.total_cents_low <= cost.total_cents_high
            ):
                problems.append(f"cost range for {cost.repair!r} is not low <= high")
        if len(self.next_steps) > 3:
            problems.append("next steps are the top three actions, no more")
        return problems

    @property
    def written_by(self) -> str:
        """Who wrote this analysis, in neutral words: the report and the status both say it."""
        author = "diagpro's offline knowledge base" if self.offline else "AI model"
        return f"{author} ({self.model})" if self.model else author

    @property
    def cost_range_cents(self) -> tuple[int, int] | None:
        """The fair total for the most likely repair (the first estimate), if there is one."""
        if not self.costs:
            return None
        return self.costs[0].total_cents_low, self.costs[0].total_cents_high

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def check(self) -> Analysis:
        """Raise AnalysisInvalid unless this is a complete report; return self for chaining."""
        problems: list[str] = []
        keys = tuple(s.key for s in self.sections)
        if keys != SECTION_KEYS:
            missing = [k for k in SECTION_KEYS if k not in keys]
            extra = [k for k in keys if k not in SECTION_KEYS]
            problems.append(
                f"sections must be the 15 in order (missing: {missing or 'none'}, "
                f"unexpected: {extra or 'none'})"
            )
        for section in self.sections:
            if section.key in SECTION_TITLES and section.title != SECTION_TITLES[section.key]:
                problems.append(
                    f"section {section.key} must be titled {SECTION_TITLES[section.key]}"
                )
            if not section.summary.strip() and not any(p.strip() for p in section.points):
                problems.append(f"section {section.key} is empty")
        if not 0 <= self.confidence_pct <= 100:
            problems.append(f"confidence {self.confidence_pct} is not a percentage")
        if self.confidence_pct < CONFIDENCE_THRESHOLD and not self.data_needed:
            problems.append(
                f"confidence is {self.confidence_pct}% (< {CONFIDENCE_THRESHOLD}%) "
                "but no data needed is listed"
            )
        if not self.most_likely_cause.strip():
            problems.append("the most likely cause is empty")
        problems.extend(self._structure_problems())
        if problems:
            raise AnalysisInvalid("; ".join(problems))
        return self
