"""Printed width of text, and shortening by it.

Limits count characters of ordinary prose. Printed width is what fills pages, and "WWWW" is twice
as wide as prose, so text is measured in prose-character widths (from the packaged body font's
advance widths, read with fontTools) and shortened by that measure: hostile wide text cannot
stretch the page bound, ordinary text is shortened where a character count would.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import re

from fontTools.ttLib import TTFont

from diagpro.adapters.pdf.limits import MAX_PARAGRAPHS, SHORTENED_MARK, WORD_BREAK_SEARCH

BODY_FONT = "assets/fonts/DejaVuSans.ttf"  # the font the page bound is measured with
_PROSE_SAMPLE = (
    "The shop should smoke-test the intake before replacing the injectors; "
    "fuel trims at idle were +14% on bank 1, so ask for the readings."
)
# A sentence ends at . ! ? (or their full-width forms) followed by a space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")
_UNKNOWN_WIDTH = 2.0  # a glyph the body font lacks (CJK, emoji): about one em, two prose chars


@functools.cache
def _glyph_widths() -> dict[int, float]:
    """Code point -> advance width in average prose characters, for the body font."""
    data = importlib.resources.files("diagpro.adapters.pdf").joinpath(BODY_FONT).read_bytes()
    font = TTFont(io.BytesIO(data), lazy=True)
    metrics = font["hmtx"]
    advances = {cp: metrics[name][0] for cp, name in font.getBestCmap().items()}
    unit = sum(advances[ord(ch)] for ch in _PROSE_SAMPLE) / len(_PROSE_SAMPLE)
    return {cp: width / unit for cp, width in advances.items()}


def text_width(text: str) -> float:
    """Printed width of ``text`` in average prose characters (len() for ordinary prose)."""
    widths = _glyph_widths()
    return sum(widths.get(ord(ch), _UNKNOWN_WIDTH) for ch in text)


def _cut(text: str, limit: int) -> str:
    """The longest start of ``text`` at most ``limit`` prose characters wide (and never more than
    2 × limit characters: zero-width marks count too), ended at a word break when one is near."""
    widths = _glyph_widths()
    total = 0.0
    for index, ch in enumerate(text[: 2 * limit + 1]):
        total += widths.get(ord(ch), _UNKNOWN_WIDTH)
        if total > limit or index >= 2 * limit:
            cut = text[:index]
            space = cut.rfind(" ", max(0, index - WORD_BREAK_SEARCH))
            return (cut[:space] if space > 0 else cut).rstrip(" ,;:")
    return text


def _fitting_end(text: str, limit: float) -> int | None:
    """How many leading characters of ``text`` fit in ``limit`` prose characters, or None when
    all of it fits. It stops at the limit: a 5000-character field costs what its printed start
    costs, not 5000 lookups per sentence (widths are never negative, so prefixes only grow)."""
    widths = _glyph_widths()
    total = 0.0
    for index, ch in enumerate(text):
        total += widths.get(ord(ch), _UNKNOWN_WIDTH)
        if total > limit:
            return index
    return None


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` prose characters: its whole sentences that fit, so nothing is
    cut mid-sentence; only a first sentence longer than the limit is cut at a word, ending with
    SHORTENED_MARK. Text within the limit comes back as it is (stripped)."""
    text = text.strip()
    end = _fitting_end(text, limit)
    if end is None:
        return text
    kept = ""
    for boundary in _SENTENCE_END.finditer(text):
        if boundary.start() > end:  # text[:start] is wider than the limit
            break
        kept = text[: boundary.start()].rstrip()
    return kept or _cut(text, limit - 1) + SHORTENED_MARK


def paragraphs(text: str, limit: int | None = None) -> tuple[str, ...]:
    """Customer or model text as paragraphs: blank lines dropped, at most MAX_PARAGRAPHS."""
    if limit is not None:
        text = shorten(text, limit)
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line]
    if len(kept) > MAX_PARAGRAPHS:
        kept = [*kept[: MAX_PARAGRAPHS - 1], " ".join(kept[MAX_PARAGRAPHS - 1 :])]
    return tuple(kept)
