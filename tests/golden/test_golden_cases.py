"""Golden cases: realistic submissions through the offline analyzer, and once through the PDF.

Each ``cases/*.json`` holds the API's intake payload (camelCase, category details included) and
an ``expect`` block: the codes that must come out decoded (code -> words of their meaning), the
symptom phrases the report must cite, a substring of the expected most likely cause, the
urgency and a confidence range. Beyond the expectations, every case must give a complete,
self-consistent report: the structured fields the PDF's tables are built from say the same as
the narrative sections, and nothing is said twice.

The PDF is being redesigned elsewhere, so the PDF check asserts only that the customer's own
codes and symptom phrases reach the PDF text.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.adapters.offline_analyzer.pricing import PRICE_DATA_CURRENCY
from diagpro.adapters.pdf import WeasyPrintRenderer
from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, SECTION_KEYS, Analysis, Urgency
from diagpro.domain.codes import CodeFamily, DetectedCode, extract_codes
from diagpro.domain.intake import Intake, validate_intake
from diagpro.domain.payment import format_money
from diagpro.domain.report import ReportDocument
from tests.builders import CURRENCY

CASES_DIR = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
_SENTENCE = re.compile(r'(?<=[.!?])\s+(?=[A-Z"])')


@dataclass(frozen=True)
class Golden:
    name: str
    payload: dict[str, Any]
    expect: dict[str, Any]
    intake: Intake
    analysis: Analysis


def _load(path: Path) -> Golden:
    raw = json.loads(path.read_text("utf-8"))
    intake = validate_intake(raw["payload"])
    analysis = OfflineAnalyzer().analyse(intake, extract_codes(intake), CURRENCY)
    return Golden(path.stem, raw["payload"], raw["expect"], intake, analysis)


@pytest.fixture(scope="module", params=CASE_FILES, ids=lambda p: p.stem)
def golden(request: pytest.FixtureRequest) -> Golden:
    return _load(request.param)


def _text(analysis: Analysis, key: str | None = None) -> str:
    sections = [analysis.section(key)] if key else list(analysis.sections)
    return "\n".join(f"{s.summary}\n" + "\n".join(s.points) for s in sections)


def _display(code: DetectedCode) -> str:
    if code.family == CodeFamily.BLINK:
        return f"blink code {code.code.removeprefix('FLASH:')}"
    return code.code


def _cents(cents: int) -> str:
    return format_money(cents, PRICE_DATA_CURRENCY)  # the offline analyzer's amounts


def test_there_are_enough_cases_across_the_categories() -> None:
    categories = {json.loads(p.read_text("utf-8"))["payload"]["equipmentType"] for p in CASE_FILES}
    assert len(CASE_FILES) >= 8
    assert {"automotive", "semi-trucks", "marine", "hvac", "electronics"} <= categories
    assert len(categories) >= 8


def test_the_expectations_hold(golden: Golden) -> None:
    expect, analysis = golden.expect, golden.analysis
    assert expect["topCause"].lower() in analysis.most_likely_cause.lower()
    assert analysis.urgency == Urgency(expect["urgency"])
    low, high = expect["confidence"]
    assert low <= analysis.confidence_pct <= high


def test_the_customers_codes_come_out_decoded(golden: Golden) -> None:
    analysis = golden.analysis
    detected = {c.code: c for c in analysis.detected_codes}
    assert set(golden.expect["codes"]) == set(detected)
    primary = analysis.section("primary_diagnosis").points
    for code, meaning in golden.expect["codes"].items():
        line = next(p for p in primary if p.startswith(f"{_display(detected[code])}: "))
        assert meaning in line, line


def test_the_customers_codes_and_symptoms_are_cited(golden: Golden) -> None:
    text = _text(golden.analysis)
    for code in golden.analysis.detected_codes:
        assert _display(code) in text
    assert set(golden.expect["symptoms"]) <= set(golden.intake.symptoms)
    for symptom in golden.intake.symptoms:
        assert symptom in text
    # ... and the evidence behind the top cause quotes them, not a paraphrase.
    top = golden.analysis.ranked_causes[0]
    assert any(code.code in " ".join(top.evidence) for code in golden.analysis.detected_codes) or (
        any(symptom in " ".join(top.evidence) for symptom in golden.intake.symptoms)
    )


def test_all_15_sections_are_written(golden: Golden) -> None:
    analysis = golden.analysis
    assert analysis.check() is analysis
    assert tuple(s.key for s in analysis.sections) == SECTION_KEYS
    for section in analysis.sections:
        assert section.summary.strip(), section.key
        assert section.points and all(p.strip() for p in section.points), section.key


def test_it_is_labelled_as_an_offline_analysis(golden: Golden) -> None:
    analysis = golden.analysis
    assert analysis.offline and analysis.model.startswith("diagpro-offline-")
    assert "offline analysis" in analysis.section("primary_diagnosis").summary.lower()


def test_the_ranked_causes_agree_with_the_headline_and_the_narrative(golden: Golden) -> None:
    analysis = golden.analysis
    causes = analysis.ranked_causes
    assert causes and causes[0].cause == analysis.most_likely_cause
    assert causes[0].likelihood_pct == analysis.confidence_pct
    assert sum(c.likelihood_pct for c in causes) <= 100
    pcts = [c.likelihood_pct for c in causes]
    assert pcts == sorted(pcts, reverse=True)
    ranked_text = _text(analysis, "likely_causes_ranked")
    differential = _text(analysis, "differential_diagnosis")
    for n, cause in enumerate(causes, start=1):
        assert cause.reasoning and cause.evidence
        assert f"{n}. {cause.cause}: {cause.likelihood_pct}%." in ranked_text
        if n > 1:
            assert f"{cause.cause} ({cause.likelihood_pct}%): {cause.reasoning}" in differential
    assert f"Why this cause: {causes[0].reasoning}" in _text(analysis, "primary_diagnosis")


def test_the_costs_agree_with_the_cost_breakdown(golden: Golden) -> None:
    analysis = golden.analysis
    assert analysis.costs, "a likely repair needs a cost range"
    assert analysis.cost_range_cents == (
        analysis.costs[0].total_cents_low,
        analysis.costs[0].total_cents_high,
    )
    assert "most likely" in analysis.costs[0].note.lower()
    breakdown = _text(analysis, "cost_breakdown")
    for cost in analysis.costs:
        assert cost.repair in breakdown
        assert (
            f"total about {_cents(cost.total_cents_low)} to {_cents(cost.total_cents_high)}"
            in breakdown
        )
        assert cost.total_cents_high > 0 and cost.parts_cents_high <= cost.total_cents_high
    top = analysis.costs[0]
    authorization = _text(analysis, "authorization_guide")
    assert f"{_cents(top.total_cents_low)} to {_cents(top.total_cents_high)}" in authorization


def test_the_shop_tests_questions_and_next_steps_agree_with_their_sections(
    golden: Golden,
) -> None:
    analysis = golden.analysis
    assert len(analysis.shop_tests) >= 2
    verification = _text(analysis, "diagnostic_verification")
    for test in analysis.shop_tests:
        assert test.name and test.how and test.expected
        assert 0 <= test.cost_cents_low <= test.cost_cents_high
        assert f"{test.name}: {test.how}. Expected: {test.expected}." in verification
    assert 3 <= len(analysis.shop_questions) <= 5
    interrogation = analysis.section("shop_interrogation").points
    for n, question in enumerate(analysis.shop_questions, start=1):
        assert f"Q{n}: {question}" in interrogation
    assert len(analysis.next_steps) == 3
    assert analysis.section("next_steps_summary").points == analysis.next_steps


def test_urgency_and_safety_flags_agree(golden: Golden) -> None:
    analysis = golden.analysis
    recommendations = analysis.section("recommendations")
    word = {Urgency.STOP: "stop", Urgency.SOON: "soon", Urgency.CAN_WAIT: "can wait"}
    assert recommendations.summary.startswith(f"Urgency: {word[analysis.urgency]}.")
    if analysis.urgency == Urgency.STOP:
        assert analysis.safety_flags
    if analysis.urgency == Urgency.CAN_WAIT:
        assert not analysis.safety_flags
    for flag in analysis.safety_flags:
        assert flag.endswith(".") and len(flag) < 220
        assert f"Now: {flag}" in recommendations.points


def test_data_needed_stays_in_its_own_box(golden: Golden) -> None:
    """The PDF prints data_needed in a box of its own: the sections point to it, not copy it."""
    analysis = golden.analysis
    primary = _text(analysis, "primary_diagnosis")
    if analysis.confidence_pct < CONFIDENCE_THRESHOLD:
        assert analysis.data_needed and "Data Needed" in primary
    for item in analysis.data_needed:
        assert item not in primary
    for section in analysis.sections:
        for point in section.points:
            assert sum(item in point for item in analysis.data_needed) < 2, point


def test_no_sentence_is_repeated_across_sections(golden: Golden) -> None:
    seen: dict[str, str] = {}
    for section in golden.analysis.sections:
        for text in (section.summary, *section.points):
            for sentence in _SENTENCE.split(text):
                first = seen.setdefault(sentence.strip(), section.key)
                assert first == section.key, f"{sentence!r} in {first} and {section.key}"


def test_no_links_and_no_invented_part_numbers(golden: Golden) -> None:
    text = _text(golden.analysis)
    assert "http" not in text and "www." not in text
    # A part number the customer did not give would be invented. Model codes they gave, their
    # fault codes and SAE standard numbers (J2012, J1939-73) are fine.
    given = json.dumps(golden.payload)
    for token in re.findall(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9-]{7,}\b", text):
        assert token in given or re.match(r"(SPN|FMI|J\d{4})", token), token


def test_the_analysis_is_deterministic(golden: Golden) -> None:
    again = OfflineAnalyzer().analyse(golden.intake, extract_codes(golden.intake), CURRENCY)
    assert again == golden.analysis
    assert _load(CASES_DIR / f"{golden.name}.json").analysis == golden.analysis


# ---- The PDF: rendered once per case, checked with poppler ----


def _flat(text: str) -> str:
    """Text compared ignoring case, spacing, line breaks, hyphenation and ligatures."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u00ad", "")
    return re.sub(r"[\s\-\u2010\u2011]+", "", text).lower()


@pytest.fixture(scope="module")
def pdf_texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    renderer = WeasyPrintRenderer()
    folder = tmp_path_factory.mktemp("golden-pdfs")
    texts: dict[str, str] = {}
    for path in CASE_FILES:
        case = _load(path)
        document = ReportDocument(
            submission_id=f"diag_1795000000000_{zlib.crc32(path.stem.encode()):08x}",
            intake=case.intake,
            analysis=case.analysis,
            generated_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
            currency=CURRENCY,
        )
        pdf = folder / f"{path.stem}.pdf"
        pdf.write_bytes(renderer.render(document))
        texts[path.stem] = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
    return texts


def test_the_pdf_shows_the_customers_codes_and_symptoms(
    golden: Golden, pdf_texts: dict[str, str]
) -> None:
    text = _flat(pdf_texts[golden.name])
    for code in golden.analysis.detected_codes:
        assert _flat(code.code) in text or _flat(_display(code)) in text, code
    for symptom in golden.expect["symptoms"]:
        assert _flat(symptom) in text, symptom
