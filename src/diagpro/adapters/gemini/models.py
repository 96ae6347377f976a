"""What diagpro knows about a Gemini model id: its family, how to configure thinking for it, and
whether the family is still served.

The id itself is configuration (``VAI_MODEL``), never a constant: every stable Gemini id reaches a
retirement date, after which calls fail with 404 (Vertex AI, "Model versions and lifecycle",
https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions). What is kept here is
only what differs between families, so a new id of a known family needs no code change.

Thinking (https://cloud.google.com/vertex-ai/generative-ai/docs/thinking):
- Gemini 3 takes ``thinking_level``. MEDIUM is used: the report now reasons from the owner's own
  findings (a swap that clears a part, codes to decode) before it ranks anything, which thinking
  turned off could not do. Gemini 3.5 Flash and 3.1 Pro accept MEDIUM ("Developer's guide to
  Gemini 3.5 Flash", https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/guides/gemini-3-5-flash);
  Gemini 3.0 Pro accepts only LOW and HIGH, so it gets LOW.
- Gemini 2.5 takes ``thinking_budget`` in tokens: 0 turns it off on Flash and Flash-Lite; Pro
  cannot turn it off and its smallest budget is 128.
- Sending ``thinking_level`` to 2.5, or both fields at once, is refused with 400. An id of an
  unknown family therefore gets no thinking config at all: the model's own default.

Temperature: Google's Gemini 3 guidance is to keep the default 1.0 (lower values can loop or
degrade reasoning: "Gemini 3 Developer Guide", https://ai.google.dev/gemini-api/docs/gemini-3),
so none is sent to Gemini 3 or an unknown family; 2.5 keeps the 0.2 it was tuned with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.genai import types

# Families whose models Vertex AI has shut down (1.0, 1.5, 2.0; 2.5 in late 2026): an id in one
# of them fails every call, so the doctor warns before a customer pays.
RETIRED_FAMILIES = frozenset({"1.0", "1.5", "2.0", "2.5"})
# The family the docs' example id belongs to (gemini-3.5-flash).
EXAMPLE_MODEL = "gemini-3.5-flash"

# gemini-3.5-flash, gemini-2.5-flash-lite-001, publishers/google/models/gemini-3.1-pro-preview
_GEMINI = re.compile(r"gemini-(?P<major>\d+)(?:\.(?P<minor>\d+))?-(?P<tier>[a-z]+)")

GEMINI_2_5_PRO_MIN_BUDGET = 128
GEMINI_2_5_TEMPERATURE = 0.2
# Thinking tokens are billed as output and count against max_output_tokens, so the cap leaves
# room for them. MEDIUM thinking on a task this size stays well below this in practice.
THINKING_ALLOWANCE_TOKENS = 12_288


@dataclass(frozen=True)
class ModelFamily:
    model: str  # the id as configured
    family: str  # "3.5", "2.5", ... or "" when the id is not a Gemini id we can read
    tier: str  # "flash", "pro", ... or ""

    @property
    def known(self) -> bool:
        return bool(self.family)

    @property
    def retired(self) -> bool:
        return self.family in RETIRED_FAMILIES

    @property
    def generation(self) -> int:
        return int(self.family.split(".")[0]) if self.family else 0

    def thinking(self) -> types.ThinkingConfig | None:
        """The thinking config this family takes; None (the model's default) when unknown."""
        if self.generation >= 3:
            level = (
                types.ThinkingLevel.LOW
                if (self.family, self.tier) == ("3.0", "pro")
                else types.ThinkingLevel.MEDIUM
            )
            return types.ThinkingConfig(thinking_level=level)
        if self.family == "2.5":
            budget = GEMINI_2_5_PRO_MIN_BUDGET if self.tier == "pro" else 0
            return types.ThinkingConfig(thinking_budget=budget)
        return None

    def temperature(self) -> float | None:
        """The temperature to send; None keeps the model's default (Gemini 3 and unknown)."""
        return GEMINI_2_5_TEMPERATURE if self.generation == 2 else None

    def thinking_allowance(self) -> int:
        """Output tokens to leave for thinking on top of the answer."""
        config = self.thinking()
        if config is None:
            # Unknown family: it may think by default, and we cannot tell it not to.
            return THINKING_ALLOWANCE_TOKENS
        if config.thinking_budget is not None:
            return config.thinking_budget
        return THINKING_ALLOWANCE_TOKENS

    def problem(self) -> str | None:
        """Why this id will probably not work, for the doctor; None when it looks current."""
        if self.retired:
            return (
                f"{self.model} is a Gemini {self.family} model, a family Vertex AI has retired: "
                f"calls fail with 404. Set VAI_MODEL to a current GA model (e.g. {EXAMPLE_MODEL})"
            )
        if not self.known:
            return (
                f"{self.model} is not a Gemini model id diagpro knows (gemini-<version>-<tier>): "
                "no thinking config is sent and its retirement cannot be checked"
            )
        return None


def model_family(model: str) -> ModelFamily:
    name = model.rsplit("/", 1)[-1].lower()
    match = _GEMINI.match(name)
    if match is None:
        return ModelFamily(model, "", "")
    family = f"{match['major']}.{match['minor'] or '0'}"
    return ModelFamily(model, family, match["tier"])
