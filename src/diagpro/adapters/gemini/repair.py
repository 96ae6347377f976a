"""What diagpro repairs in a model's answer, and what it refuses: the one list.

A paid report must not be lost to a rule the response schema cannot state (Gemini's structured
output follows the schema's shape, not sums across fields or ranges between two fields), so
every rule that can be met by a plain, mechanical change is met here and the change is noted.
``parse_analysis`` (``output.py``) applies the repairs and collects the notes; the worker logs
them in one line with the submission id, and they stay on the analysis (``corrections``).

Repaired (the answer is kept):

- likelihoods that do not add up to 100 (a cause over 100% included): scaled to 100, whole
  numbers, in the model's order, the rounding residue given to the top cause;
- a ranked cause that the answer's own ``ruled_out`` clears: dropped, its share to "other";
- causes past ``MAX_CAUSES``: dropped, their share to "other";
- text over its cap: clipped at a word boundary, with an ellipsis;
- list items past their cap (next steps past 3 included), and blank items: dropped;
- a low/high range written upside down (a repair's parts, hours or total, a test's cost, the
  quote's fair range): the two ends swapped;
- a repair row wider than ``MAX_SPREAD`` times its low end, one pointing at no cause, or one
  that repairs a cause ``ruled_out`` clears: the row is dropped (the rest of the report stands);
- an owner fact, owner check or shop test with a required text empty: that item is dropped;
- ``data_needed`` items asking for what the intake already gives: dropped.

Refused (the analyzer asks again, then the worker's fallback decides):

- not JSON, the wrong shape, a wrong type, a value outside an enum or a bound, a missing field:
  nothing reliable can be read from it;
- an answer that is empty, or longer than ``MAX_ANSWER_CHARS``;
- no causes, every likelihood 0%, or every cause cleared by ``ruled_out``: nothing to rank;
- a cause without a name or a reason, an urgency without a reason, a ruled-out cause without
  a reason: the report's core claims would be unexplained;
- no usable next step, no usable shop question: sections a paid report promises;
- a language that is not a BCP-47 tag: the report's language is unknown;
- a URL anywhere: the model was told never to write one, so one is an injection's payload;
- an empty ``ruled_out`` while diagpro's own reading of the owner's findings clears a cause:
  the ranking ignored the owner's evidence, which no mechanical change can restore;
- a confidence below 80% with no data needed left: the report could not say what would raise it.

The notes are built from field paths and numbers only, never from the model's text.
"""

from __future__ import annotations

ELLIPSIS = "…"
# A repair row's high end may be at most this many times its low end. The instruction asks for
# 1.5x; a row a little over the ask is kept, one past 2x is not a narrow, named job.
MAX_SPREAD = 2.0
# A cut at a word boundary may give back at most this share of the cap (else one long word,
# a code or a part number, would shrink the text to nothing: then it is cut mid-word).
_WORD_BACKOFF = 0.5


class Repairs:
    """The repairs made to one answer, as short notes free of the model's text."""

    def __init__(self) -> None:
        self._notes: list[str] = []

    def note(self, what: str) -> None:
        self._notes.append(what)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(self._notes)

    def clip(self, text: str, limit: int, where: str) -> str:
        """``text`` within ``limit`` characters, cut at a word boundary when it is longer."""
        if len(text) <= limit:
            return text
        self.note(f"{where} clipped to {limit} characters")
        return clip_at_word(text, limit)

    def cap(self, items: list[str], cap: int, where: str) -> list[str]:
        """At most ``cap`` non-blank items; blank and extra ones are dropped and noted."""
        kept = [item for item in items if item]
        if len(kept) < len(items):
            self.note(f"{where}: dropped {len(items) - len(kept)} blank item(s)")
        if len(kept) > cap:
            self.note(f"{where}: kept the first {cap} of {len(kept)} items")
        return kept[:cap]

    def ordered(self, low: float, high: float, where: str) -> tuple[float, float]:
        """A low/high range, its ends swapped when written upside down."""
        if low <= high:
            return low, high
        self.note(f"{where} range was upside down; ends swapped")
        return high, low

    def shares(self, raw: list[int], where: str) -> list[int]:
        """``raw`` (the causes' shares, then other's) scaled to add up to exactly 100."""
        total = sum(raw)
        if total != 100:
            self.note(f"{where} added up to {total}%; scaled to 100%")
        return shares_to_100(raw)


def clip_at_word(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters with an ellipsis, at the last space that
    keeps at least half the cap."""
    room = text[: limit - len(ELLIPSIS)]
    ends_a_word = text[len(room)].isspace()
    space = room.rfind(" ")
    if not ends_a_word and space >= limit * _WORD_BACKOFF:
        room = room[:space]
    return room.rstrip(" ,;:") + ELLIPSIS


def shares_to_100(raw: list[int]) -> list[int]:
    """Whole shares proportional to ``raw`` that add up to 100. The last entry is "other"; the
    rounding residue goes to the largest of the others (the first one when tied), so the
    ranking keeps its order and its top. ``raw`` must not add up to 0."""
    total = sum(raw)
    if total <= 0:
        raise ValueError("shares that add up to 0 cannot be scaled")
    shares = [p * 100 // total for p in raw]
    causes = raw[:-1] or raw
    top = causes.index(max(causes))
    shares[top] += 100 - sum(shares)
    return shares
