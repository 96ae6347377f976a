"""The analysis a report is built from: each finding stated once, as structured fields.

Whatever writes it (Gemini or the offline analyzer) fills the same fields, and the renderer
builds the report's sections from them, so the ranking, the next steps and the costs are printed
once each (the original asked the model for 15 prose sections that repeated one another).

The owner's own findings come first: ``facts_used`` says what each test, swap or repair they
reported proves, ``ruled_out`` holds the causes it cleared, and a cleared cause is never ranked.
Likelihoods are one distribution over mutually exclusive causes plus ``other_pct`` (= 100), and
the confidence is the top cause's share.

An analysis that breaks these rules is refused here (``check``) rather than printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from diagpro.domain.codes import DetectedCode
from diagpro.domain.errors import AnalysisInvalid

# Below this confidence the report must say what data would raise it (the original's rule 5).
CONFIDENCE_THRESHOLD = 80
MAX_CAUSES = 4
MAX_NEXT_STEPS = 3


class Urgency(StrEnum):
    """How soon to act, in the customer's words on the report's first page."""

    STOP = "stop"  # do not drive / operate / leave the dock until checked
    SOON = "soon"  # book it within days
    CAN_WAIT = "can_wait"  # schedule at convenience; watch for the warning signs


class Certainty(StrEnum):
    """How sure a code's meaning is for this maker and model family."""

    KNOWN = "known"  # the maker's published meaning for this family
    TYPICAL = "typical"  # what the code means on most machines of this kind
    UNKNOWN = "unknown"  # not decoded: the report says where to confirm it


class QuoteVerdict(StrEnum):
    """The shop's quote, priced as the shop wrote the job."""

    FAIR = "fair"
    HIGH = "high"
    LOW = "low"
    UNJUSTIFIED_SCOPE = "unjustified_scope"  # priced fairly, but the evidence does not call for it
    NO_QUOTE = "no_quote"  # the owner gave no quote (or one we cannot compare)


@dataclass(frozen=True)
class OwnerFact:
    """Something the owner reported (a test, swap, repair or reading) and what it proves."""

    fact: str  # "You swapped coil 1 with coil 2 and the misfire stayed on cylinder 1"
    proves: str  # "The coil is not the cause: a bad coil takes the misfire with it"


@dataclass(frozen=True)
class DecodedCode:
    """A code the owner gave, decoded for their machine."""

    code: str  # as printed: "P0301", "SPN 3719 FMI 0", "Flash code 3-1", "Error 4013"
    system: str  # whose code it is: "OBD-II", "Carrier/Bryant furnace", "Apple iOS restore"
    meaning: str  # "" when unknown
    certainty: Certainty
    bearing: str = ""  # what it says about this case, or where to confirm an unknown one


@dataclass(frozen=True)
class RuledOut:
    cause: str
    because: str  # "the misfire stayed on cylinder 1 after your coil swap"


@dataclass(frozen=True)
class RankedCause:
    cause: str
    likelihood_pct: int
    why: str  # why it ranks here: the customer's own codes, symptoms and details
    evidence_for: tuple[str, ...] = ()
    evidence_against: tuple[str, ...] = ()


@dataclass(frozen=True)
class UrgencyAdvice:
    """The one urgency instruction: every other part of the report agrees with it."""

    level: Urgency
    reason: str
    stop_if: tuple[str, ...] = ()  # signs that turn it into a stop, at most three


@dataclass(frozen=True)
class OwnerCheck:
    """A free check the owner can do in about ten minutes, without tools a shop has."""

    check: str
    what_it_tells: str


@dataclass(frozen=True)
class ShopTest:
    name: str  # what the shop must test before replacing anything
    how: str
    expected: str  # the reading that confirms or rules out the cause
    cost_cents_low: int = 0
    cost_cents_high: int = 0


@dataclass(frozen=True)
class CostEstimate:
    """One named job at an independent shop's labour rate (``Analysis.labour_rate_cents``)."""

    repair: str
    parts_cents_low: int
    parts_cents_high: int
    labour_hours_low: float
    labour_hours_high: float
    total_cents_low: int
    total_cents_high: int
    cause_index: int = -1  # which ranked cause this repairs (0 = the most likely), -1 for none
    # What it costs if the fault is left to cascade (a failing pump contaminating the fuel
    # system): shown as a worst case, never as the expected repair.
    worst_case: bool = False


@dataclass(frozen=True)
class QuoteCheck:
    """The shop's quote compared like for like: the job exactly as the shop wrote it."""

    shop_job: str  # "" when there is no quote
    fair_cents_low: int
    fair_cents_high: int
    verdict: QuoteVerdict
    explanation: str


@dataclass(frozen=True)
class Analysis:
    """Everything the report says, each item once; a model and the offline analyzer fill the
    same fields. Money is in cents of ``currency`` (or of the submission's currency)."""

    causes: tuple[RankedCause, ...]
    urgency: UrgencyAdvice
    next_steps: tuple[str, ...]
    detected_codes: tuple[DetectedCode, ...] = ()  # what diagpro found in the intake's text
    language: str = "en"  # BCP-47 tag of the customer's description; the report is written in it
    equipment_assumed: str = ""  # "2015 Ford F-150 with the 5.0 L V8 (eight coils)"
    facts_used: tuple[OwnerFact, ...] = ()
    codes: tuple[DecodedCode, ...] = ()
    ruled_out: tuple[RuledOut, ...] = ()
    other_pct: int = 0  # the share left for causes not listed
    safety: tuple[str, ...] = ()  # hazards the data shows, no generic checklist
    owner_checks: tuple[OwnerCheck, ...] = ()
    shop_tests: tuple[ShopTest, ...] = ()
    do_not: tuple[str, ...] = ()  # machine-specific "do not do this" warnings
    costs: tuple[CostEstimate, ...] = ()
    labour_rate_cents: int = 0  # the hourly rate the costs assume; 0 when not stated
    quote_check: QuoteCheck | None = None
    shop_questions: tuple[str, ...] = ()
    how_it_works: str = ""  # a short explanation of the system at fault
    sources: tuple[str, ...] = ()  # where to confirm: service manual sections, maker bulletins
    data_needed: tuple[str, ...] = ()  # data the owner has not given that would raise confidence
    model: str = ""
    prompt_tokens: int = 0
    output_tokens: int = 0
    offline: bool = False
    # ISO 4217 code of the amounts above when the analyzer wrote them in a currency other than
    # the submission's (the offline price data is in US dollars); empty means the submission's.
    currency: str = ""
    # What diagpro repaired in the model's answer (shares scaled, text clipped, rows dropped),
    # each as a short note without the model's text; empty when nothing was.
    corrections: tuple[str, ...] = ()
    # Written by the offline analyzer standing in for a model that failed: the report says so.
    stands_in_for_model: bool = False

    @property
    def most_likely_cause(self) -> str:
        return self.causes[0].cause if self.causes else ""

    @property
    def confidence_pct(self) -> int:
        """How sure the report is of its top cause: that cause's share of the distribution."""
        return self.causes[0].likelihood_pct if self.causes else 0

    @property
    def written_by(self) -> str:
        """Who wrote this analysis, in neutral words: the report and the status both say it."""
        author = "diagpro's offline knowledge base" if self.offline else "AI model"
        return f"{author} ({self.model})" if self.model else author

    @property
    def repairs(self) -> tuple[CostEstimate, ...]:
        """The expected repairs, without the worst cases."""
        return tuple(c for c in self.costs if not c.worst_case)

    @property
    def worst_cases(self) -> tuple[CostEstimate, ...]:
        return tuple(c for c in self.costs if c.worst_case)

    @property
    def cost_range_cents(self) -> tuple[int, int] | None:
        """The fair total for the most likely repair (the first expected repair), if any."""
        repairs = self.repairs
        if not repairs:
            return None
        return repairs[0].total_cents_low, repairs[0].total_cents_high

    def _cause_problems(self) -> list[str]:
        problems: list[str] = []
        if not self.causes:
            problems.append("there is no ranked cause")
        if len(self.causes) > MAX_CAUSES:
            problems.append(f"{len(self.causes)} ranked causes; at most {MAX_CAUSES}")
        pcts = [c.likelihood_pct for c in self.causes]
        if any(not 0 <= p <= 100 for p in (*pcts, self.other_pct)):
            problems.append("a likelihood is not a percentage")
        elif sum(pcts) + self.other_pct != 100:
            problems.append(
                f"likelihoods add up to {sum(pcts) + self.other_pct}%, not 100% "
                "(the ranked causes plus other_pct)"
            )
        if pcts != sorted(pcts, reverse=True):
            problems.append("ranked causes are not in order of likelihood")
        for cause in self.causes:
            if not cause.cause.strip():
                problems.append("a ranked cause has no name")
        ranked = {c.cause.strip().lower() for c in self.causes}
        for cleared in self.ruled_out:
            if cleared.cause.strip().lower() in ranked:
                problems.append(f"{cleared.cause!r} is both ruled out and ranked")
            if not cleared.because.strip():
                problems.append(f"{cleared.cause!r} is ruled out without a reason")
        return problems

    def _money_problems(self) -> list[str]:
        problems: list[str] = []
        for cost in self.costs:
            if not (
                0 <= cost.parts_cents_low <= cost.parts_cents_high
                and 0 <= cost.labour_hours_low <= cost.labour_hours_high
                and 0 <= cost.total_cents_low <= cost.total_cents_high
            ):
                problems.append(f"cost range for {cost.repair!r} is not low <= high")
            if not -1 <= cost.cause_index < len(self.causes):
                problems.append(f"cost {cost.repair!r} points at cause {cost.cause_index}")
        for test in self.shop_tests:
            if not 0 <= test.cost_cents_low <= test.cost_cents_high:
                problems.append(f"cost range for test {test.name!r} is not low <= high")
        quote = self.quote_check
        if quote is not None and not 0 <= quote.fair_cents_low <= quote.fair_cents_high:
            problems.append("the quote check's fair range is not low <= high")
        return problems

    def check(self) -> Analysis:
        """Raise AnalysisInvalid unless this is a complete report; return self for chaining."""
        problems = self._cause_problems() + self._money_problems()
        if self.confidence_pct < CONFIDENCE_THRESHOLD and self.causes and not self.data_needed:
            problems.append(
                f"confidence is {self.confidence_pct}% (< {CONFIDENCE_THRESHOLD}%) "
                "but no data needed is listed"
            )
        if not 1 <= len(self.next_steps) <= MAX_NEXT_STEPS:
            problems.append(f"next steps are the top one to {MAX_NEXT_STEPS} actions")
        if not self.urgency.reason.strip():
            problems.append("the urgency has no reason")
        if not self.language.strip():
            problems.append("the analysis names no language")
        if problems:
            raise AnalysisInvalid("; ".join(problems))
        return self
