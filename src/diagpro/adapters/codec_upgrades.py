"""Stored submission documents of an older layout, brought to the current one.

Each function takes a document of format *n* and returns one of format *n + 1*; ``codec``
registers them. They work on the plain JSON document, never on domain classes, because the
classes of the old layout no longer exist.

Format 1 -> 2: the analysis changed from 15 prose sections plus a confidence to one structured
shape printed once (``domain.analysis``). What a stored report said is kept where the new shape
has a place for it, so a paid report can be rendered again and the status API keeps answering:

* ``ranked_causes`` become ``causes`` (``reasoning`` -> ``why``, ``evidence`` -> ``evidence_for``),
  most likely first, at most four; the share not listed goes to ``other_pct``, so the shares add
  up to 100 as the new rule requires. With no ranked causes, the old ``most_likely_cause`` at the
  old ``confidence_pct`` is the one cause. (The old confidence was a separate number; the new one
  is the top cause's share, so a report whose two disagreed now shows the ranked share.)
* ``urgency`` and ``safety_flags`` become ``UrgencyAdvice`` and ``safety``;
* shop tests, costs (the first one repairs the most likely cause, as the old layout defined it;
  the free-text cost ``note`` has no place and is dropped), shop questions, next steps and the
  data needed are kept; the "technical education" section becomes ``how_it_works`` and the
  "source verification" points become ``sources``;
* the other sections are dropped: their content was the repetition the new layout removes;
* ``language`` is "en": every format-1 report was written in English.
"""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]

MAX_CAUSES = 4  # domain.analysis.MAX_CAUSES; a stored value, so kept here as it was written
MAX_NEXT_STEPS = 3
# The old layout had no sentence for why the urgency was rated; the new one must say something.
URGENCY_REASON = "As rated when this report was first written."


def _texts(value: object) -> list[str]:
    return [str(v) for v in value if str(v).strip()] if isinstance(value, list) else []


def _percent(value: object) -> int:
    return min(100, max(0, value)) if isinstance(value, int) and not isinstance(value, bool) else 0


def _sections(analysis: Document) -> dict[str, Document]:
    sections = analysis.get("sections")
    if not isinstance(sections, list):
        return {}
    return {s["key"]: s for s in sections if isinstance(s, dict) and isinstance(s.get("key"), str)}


def _causes(analysis: Document) -> tuple[list[Document], int]:
    ranked = [c for c in analysis.get("ranked_causes") or [] if isinstance(c, dict)]
    causes: list[dict[str, Any]] = [
        {
            "cause": str(c.get("cause", "")),
            "likelihood_pct": _percent(c.get("likelihood_pct")),
            "why": str(c.get("reasoning", "")),
            "evidence_for": _texts(c.get("evidence")),
            "evidence_against": [],
        }
        for c in ranked
        if str(c.get("cause", "")).strip()
    ]
    causes.sort(key=lambda c: c["likelihood_pct"], reverse=True)  # stable: ties keep their order
    if not causes and str(analysis.get("most_likely_cause", "")).strip():
        primary = _sections(analysis).get("primary_diagnosis", {})
        causes = [
            {
                "cause": str(analysis["most_likely_cause"]),
                "likelihood_pct": _percent(analysis.get("confidence_pct")),
                "why": str(primary.get("summary", "")),
                "evidence_for": _texts(primary.get("points")),
                "evidence_against": [],
            }
        ]
    causes = causes[:MAX_CAUSES]
    listed: int = sum(c["likelihood_pct"] for c in causes)
    if listed > 100:  # the old rule refused this, but a stored document is not to be trusted
        for cause in causes:  # scaled down, rounded down: still in order, still <= 100
            cause["likelihood_pct"] = cause["likelihood_pct"] * 100 // listed
        listed = sum(c["likelihood_pct"] for c in causes)
    return causes, 100 - listed


def _costs(analysis: Document, has_cause: bool) -> list[Document]:
    costs = [dict(c) for c in analysis.get("costs") or [] if isinstance(c, dict)]
    for index, cost in enumerate(costs):
        cost.pop("note", None)
        cost["cause_index"] = 0 if index == 0 and has_cause else -1
        cost["worst_case"] = False
    return costs


def _next_steps(analysis: Document) -> list[str]:
    steps = _texts(analysis.get("next_steps"))
    if not steps:
        summary = _sections(analysis).get("next_steps_summary", {})
        steps = _texts(summary.get("points")) or _texts([summary.get("summary", "")])
    return steps[:MAX_NEXT_STEPS]


def analysis_1_to_2(old: Document) -> Document:
    """One stored format-1 analysis in the format-2 shape (see the module's docstring)."""
    sections = _sections(old)
    causes, other_pct = _causes(old)
    safety = _texts(old.get("safety_flags"))
    sources = _texts(sections.get("source_verification", {}).get("points"))
    return {
        "causes": causes,
        "other_pct": other_pct,
        "urgency": {
            "level": old.get("urgency") or "soon",
            "reason": URGENCY_REASON,
            "stop_if": [],
        },
        "next_steps": _next_steps(old),
        "detected_codes": old.get("detected_codes") or [],
        "language": "en",
        "safety": safety,
        "shop_tests": [t for t in old.get("shop_tests") or [] if isinstance(t, dict)],
        "costs": _costs(old, bool(causes)),
        "shop_questions": _texts(old.get("shop_questions")),
        "how_it_works": str(sections.get("technical_education", {}).get("summary", "")),
        "sources": sources,
        "data_needed": _texts(old.get("data_needed")),
        "model": str(old.get("model", "")),
        "prompt_tokens": old.get("prompt_tokens") or 0,
        "output_tokens": old.get("output_tokens") or 0,
        "offline": bool(old.get("offline", False)),
        "currency": str(old.get("currency", "")),
    }


def submission_1_to_2(document: Document) -> Document:
    """A format-1 submission document as format 2: only the analysis changed shape."""
    upgraded = dict(document)
    if isinstance(upgraded.get("analysis"), dict):
        upgraded["analysis"] = analysis_1_to_2(upgraded["analysis"])
    return upgraded
