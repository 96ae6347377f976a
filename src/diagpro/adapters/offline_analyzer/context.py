"""One customer's case as the writer sees it, in the language the report is written in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from diagpro.adapters.messages import Messages
from diagpro.adapters.offline_analyzer.knowledge import KnowledgeBase, Profile
from diagpro.adapters.offline_analyzer.rules import Findings, RankedCause
from diagpro.domain.intake import Intake

_collected: list[str] = []


def N_(text: str) -> str:
    """Marks a writer sentence for the catalogue (extracted as a msgid; translated where used)
    and remembers it for ``knowledge.translatable_texts``."""
    _collected.append(text)
    return text


def writer_sentences() -> tuple[str, ...]:
    return tuple(dict.fromkeys(_collected))


AND = N_("{items} and {last}")
COMMA = N_(", ")
NAMED_AS = N_("{noun} ({category})")
OLDER = N_("{noun} ({category}, older model year)")


@dataclass(frozen=True)
class Context:
    intake: Intake
    profile: Profile
    findings: Findings
    kb: KnowledgeBase
    version: str
    currency: str  # the submission's, which the shop quote is in
    t: Messages  # the knowledge domain in the report's language
    labels: Messages  # the intake domain (field, choice and category labels)

    @property
    def name(self) -> str:
        # equipment_name falls back to the plural category label ("Cars & SUVs"), which does not
        # read as "your ..."; name the kind of thing instead and keep the label for reference.
        i = self.intake
        if i.make or i.model or (i.year and i.year != "older"):
            return i.equipment_name
        template = OLDER if i.year == "older" else NAMED_AS
        return self.t(
            template, noun=self.t(self.profile.noun), category=self.labels(i.category.label)
        )

    @property
    def top(self) -> RankedCause:
        return self.findings.ranked[0]

    @property
    def alternatives(self) -> tuple[RankedCause, ...]:
        return self.findings.ranked[1:4]

    def join(self, items: Sequence[str]) -> str:
        """'a', 'a and b', 'a, b and c' in the report's language."""
        if len(items) <= 1:
            return "".join(items)
        return self.t(AND, items=self.t(COMMA).join(items[:-1]), last=items[-1])
