"""Golden cases: realistic submissions through the offline analyzer, and once through the PDF.

Each ``cases/*.json`` holds the API's intake payload (camelCase, category details included) and
an ``expect`` block. The ``tech_*`` cases are the master technician's failures from issue 10,
with his expectations:

* ``topCause`` (a substring of the most likely cause, in the report's language), ``urgency``,
  ``confidence`` (a range) and ``language`` (default "en");
* ``codes``: code -> words of its meaning (OBD-II and J1939, decoded from the built-in tables);
* ``symptoms``: phrases the top cause's evidence or the report must quote;
* ``ruledOut`` / ``facts``: words of the causes the owner's findings clear and of the facts used;
* ``mustSay`` / ``mustNotSay``: words that must (not) appear anywhere in the analysis;
* ``quoteVerdict``, ``notFirst`` (a cause that must not rank first) and ``notInDataNeeded``
  (data the intake already gives);
* ``codeBook``: maker codes only the maker code book decodes, and the meaning it must give.

Beyond the expectations, every case must give a valid analysis that repeats nothing, prints no
truncation marker, keeps one urgency, and whose cost rows are narrow.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.domain.analysis import Analysis, QuoteVerdict, Urgency
from diagpro.domain.codes import extract_codes
from diagpro.domain.intake import Intake, validate_intake
from diagpro.domain.report import ReportDocument
from tests.analysis_text import analysis_text
from tests.builders import CURRENCY

CASES_DIR = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
TECH_FILES = [p for p in CASE_FILES if p.stem.startswith("tech_")]
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+")
# Measured over the 22 golden cases: 6.9% (797 words a report); the 15-section writer this
# replaced gave 31.8% (2,757 words a report) on the same cases. What remains shared is the
# category's own texts (a furnace's warning signs in both furnace cases), which is right; the
# bound leaves room for a few more cases of one category, not for generic sentences.
MAX_BOILERPLATE_SHARE = 0.12


@dataclass(frozen=True)
class Golden:
    name: str
    payload: dict[str, Any]
    expect: dict[str, Any]
    intake: Intake
    analysis: Analysis


def _analyse(intake: Intake) -> Analysis:
    return OfflineAnalyzer().analyse(intake, extract_codes(intake), CURRENCY)


def _load(path: Path) -> Golden:
    raw = json.loads(path.read_text("utf-8"))
    intake = validate_intake(raw["payload"])
    return Golden(path.stem, raw["payload"], raw["expect"], intake, _analyse(intake))


@pytest.fixture(scope="module", params=CASE_FILES, ids=lambda p: p.stem)
def golden(request: pytest.FixtureRequest) -> Golden:
    return _load(request.param)


def _strings(value: object) -> list[str]:
    """Every text in an analysis (or any nested dataclass or tuple in it)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [s for item in value for s in _strings(item)]
    if hasattr(value, "__dataclass_fields__"):
        return [s for f in fields(value) for s in _strings(getattr(value, f.name))]  # type: ignore[arg-type]
    return []


def _text(analysis: Analysis) -> str:
    skip = {"model", "language", "currency"}
    return "\n".join(
        s
        for f in fields(analysis)
        if f.name not in skip
        for s in _strings(getattr(analysis, f.name))
    )


def test_there_are_cases_for_every_failure_the_technician_found() -> None:
    categories = {json.loads(p.read_text("utf-8"))["payload"]["equipmentType"] for p in CASE_FILES}
    assert len(CASE_FILES) >= 20 and len(TECH_FILES) >= 10
    assert {"automotive", "semi-trucks", "marine", "hvac", "electronics", "farm-ag"} <= categories


def test_the_expectations_hold(golden: Golden) -> None:
    expect, analysis = golden.expect, golden.analysis
    assert expect["topCause"].lower() in analysis.most_likely_cause.lower(), analysis.causes
    assert analysis.urgency.level == Urgency(expect["urgency"])
    low, high = expect["confidence"]
    assert low <= analysis.confidence_pct <= high
    assert analysis.language == expect.get("language", "en")
    if "notFirst" in expect:
        assert expect["notFirst"] not in analysis.most_likely_cause.lower()
    if "quoteVerdict" in expect:
        assert analysis.quote_check is not None
        assert analysis.quote_check.verdict == QuoteVerdict(expect["quoteVerdict"])


def test_the_technicians_words_are_said_and_the_wrong_advice_is_not(golden: Golden) -> None:
    text = _text(golden.analysis)
    for words in golden.expect.get("mustSay", ()):
        assert words.lower() in text.lower(), words
    must_not = list(golden.expect.get("mustNotSay", ()))
    for words in must_not:
        assert words not in text, words


def test_the_owners_findings_are_facts(golden: Golden) -> None:
    analysis, expect = golden.analysis, golden.expect
    cleared = " ".join(r.cause.lower() for r in analysis.ruled_out)
    for words in expect.get("ruledOut", ()):
        assert words in cleared, analysis.ruled_out
        assert all(words not in c.cause.lower() for c in analysis.causes)
    used = " ".join(f.fact.lower() for f in analysis.facts_used)
    for words in expect.get("facts", ()):
        assert words in used, analysis.facts_used
    needed = " ".join(analysis.data_needed).lower()
    for words in expect.get("notInDataNeeded", ()):
        assert words not in needed, analysis.data_needed


def test_the_customers_codes_come_out_decoded(golden: Golden) -> None:
    analysis = golden.analysis
    expected = golden.expect["codes"]
    decoded = {c.code: c for c in analysis.codes}
    for code, meaning in expected.items():
        shown = code.replace("/FMI", " FMI ").replace("SPN", "SPN ") if "SPN" in code else code
        match = (
            decoded.get(code)
            or decoded.get(shown)
            or next(
                (c for c in analysis.codes if code.replace("/", "") in c.code.replace(" ", "")),
                None,
            )
        )
        assert match is not None, (code, analysis.codes)
        assert meaning.lower() in match.meaning.lower(), match


CODE_BOOK_CASES = [
    path for path in CASE_FILES if "codeBook" in json.loads(path.read_text("utf-8"))["expect"]
]


@pytest.mark.parametrize("path", CODE_BOOK_CASES, ids=lambda p: p.stem)
def test_maker_codes_are_decoded_by_the_code_book(path: Path) -> None:
    golden = _load(path)
    book = golden.expect["codeBook"]
    decoded = " ".join(f"{c.code} {c.meaning}" for c in golden.analysis.codes)
    for code in book["codes"]:
        assert code in decoded.replace("-", ""), golden.analysis.codes
    assert book["meaning"].lower() in decoded.lower()


def test_the_top_cause_cites_the_owners_evidence(golden: Golden) -> None:
    top = golden.analysis.causes[0]
    assert top.why and top.evidence_for
    cited = " ".join(top.evidence_for)
    codes = [c.code for c in golden.analysis.detected_codes]
    findings = [f.fact for f in golden.analysis.facts_used]
    assert (
        any(c.split(":")[-1] in cited for c in codes)
        or any(s in cited for s in golden.intake.symptoms)
        or any(f in cited for f in findings)
        or golden.intake.problem_description.split(".")[0] in cited
    ), top


def test_the_analysis_is_valid_and_each_item_is_printed_once(golden: Golden) -> None:
    analysis = golden.analysis
    assert analysis.check() is analysis and analysis.offline
    assert analysis.model.startswith("diagpro-offline-")
    assert 1 <= len(analysis.next_steps) <= 3
    assert 2 <= len(analysis.shop_tests) <= 4 and 3 <= len(analysis.shop_questions) <= 5
    assert len({t.name for t in analysis.shop_tests}) == len(analysis.shop_tests)
    assert analysis.labour_rate_cents > 0 and analysis.costs
    for cost in analysis.costs:
        assert cost.total_cents_high <= 1.5 * cost.total_cents_low, cost
    # Each statement once: two causes may share a reason or a clue (each row says why it ranks
    # there), but no other text is printed twice.
    texts = [
        s
        for f in fields(analysis)
        if f.name not in ("causes", "detected_codes", "codes")
        for s in _strings(getattr(analysis, f.name))
        if len(s) > 40
    ]
    assert not [s for s, n in Counter(texts).items() if n > 1]
    assert not set(texts) & {c.why for c in analysis.causes}


def test_no_truncation_markers_and_no_links(golden: Golden) -> None:
    text = _text(golden.analysis)
    for marker in ("[\u2026]", "\u2026", "...", "http", "www."):
        assert marker not in text, marker


def test_codes_are_printed_as_the_owner_knows_them(golden: Golden) -> None:
    """diagpro's internal forms (FLASH:3-1, SPN110/FMI0, ERR-42) never reach the customer."""
    text = analysis_text(golden.analysis)  # what is printed: not the detected codes' keys
    assert not re.search(r"FLASH:|SPN\d+/FMI|\b[A-Z]{3,5}-\d", text), text


def test_one_urgency_instruction(golden: Golden) -> None:
    analysis = golden.analysis
    text = _text(analysis).lower()
    if analysis.urgency.level == Urgency.STOP:
        assert "drive gently" not in text and "drive it to the shop" not in text
        assert not analysis.urgency.stop_if
    else:
        assert "tow" not in " ".join(analysis.next_steps).lower()


def test_a_test_the_owner_did_is_not_asked_for_again(golden: Golden) -> None:
    from diagpro.adapters.offline_analyzer.owner_facts import match_findings

    done = {
        t
        for f in match_findings(
            golden.intake,
            ("automotive", "diesel", "hvac", "electronics", "small_engine", "generic", "marine"),
        )
        for t in f.finding.tests_done
    }
    if golden.analysis.language != "en":
        return  # test names are translated; the English cases cover the rule
    for test in golden.analysis.shop_tests:
        assert test.name not in done, test.name


def test_the_analysis_is_deterministic(golden: Golden) -> None:
    assert _analyse(golden.intake) == golden.analysis


# ---- Repetition across reports: the technician found a fifth of the words were sentences
# printed verbatim in three or more of ten reports.


def _sentences(analysis: Analysis) -> list[str]:
    own = {golden_text.strip() for golden_text in _strings(analysis.detected_codes)}
    return [
        s.strip()
        for text in _strings(analysis)
        if text not in own
        for s in _SENTENCE.split(text)
        if s.strip()
    ]


def boilerplate_share(analyses: list[Analysis]) -> float:
    """The share of words that sit in sentences printed verbatim in 3 or more of the reports."""
    per_report = [set(_sentences(a)) for a in analyses]
    seen_in = Counter(s for sentences in per_report for s in sentences)
    total = shared = 0
    for analysis in analyses:
        for sentence in _sentences(analysis):
            words = len(sentence.split())
            total += words
            if seen_in[sentence] >= 3:
                shared += words
    return shared / total if total else 0.0


def test_boilerplate_stays_rare() -> None:
    analyses = [_load(p).analysis for p in CASE_FILES]
    share = boilerplate_share(analyses)
    assert share <= MAX_BOILERPLATE_SHARE, f"{share:.1%} of words are repeated boilerplate"


# ---- The PDF: what it prints (the view model, no WeasyPrint), then rendered once per case ----


def _document(case: Golden) -> ReportDocument:
    return ReportDocument(
        submission_id=f"diag_1795000000000_{zlib.crc32(case.name.encode()):08x}",
        intake=case.intake,
        analysis=case.analysis,
        generated_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        currency=CURRENCY,
    )


def _printed(value: object, where: str = "") -> list[tuple[str, str]]:
    """Every text in the report's view (dicts, tuples and lists), with where it sits."""
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _printed(item, f"{where}.{key}")]
    if isinstance(value, (tuple, list)):
        return [p for item in value for p in _printed(item, f"{where}[]")]
    return []


def test_nothing_the_report_prints_is_cut(golden: Golden) -> None:
    """The renderer keeps whole sentences within each field's limit and cuts only a single
    over-long sentence, marking it: the analyzer's texts must fit, so nothing is cut."""
    from diagpro.adapters.pdf.limits import SHORTENED_MARK
    from diagpro.adapters.pdf.view_model import build_context

    context = {k: v for k, v in build_context(_document(golden)).items() if k != "t"}
    cut = [(where, text) for where, text in _printed(context) if SHORTENED_MARK in text]
    cut += [(where, text) for where, text in _printed(context) if "..." in text]
    assert not cut, cut


def _flat(text: str) -> str:
    """Text compared ignoring case, spacing, line breaks, hyphenation and ligatures."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u00ad", "")
    return re.sub(r"[\s\-\u2010\u2011]+", "", text).lower()


@pytest.fixture(scope="module")
def pdf_texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from diagpro.adapters.pdf import WeasyPrintRenderer

    renderer = WeasyPrintRenderer()
    folder = tmp_path_factory.mktemp("golden-pdfs")
    texts: dict[str, str] = {}
    for path in CASE_FILES:
        document = _document(_load(path))
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
    for code in golden.analysis.codes:
        assert _flat(code.code) in text, code
    for symptom in golden.expect["symptoms"]:
        assert _flat(symptom) in text, symptom


def test_a_near_empty_last_page_is_saved_by_the_compact_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CR-V brake report's closing lines alone would spill onto a fourth page; laid out again
    with slightly tighter lines, the report ends on page 3."""
    from diagpro.adapters.pdf import WeasyPrintRenderer, renderer

    document = _document(_load(CASES_DIR / "automotive_crv_brakes.json"))
    pdf_renderer = WeasyPrintRenderer()
    fills = pdf_renderer.page_fills(document)
    assert all(fill >= renderer.LAST_PAGE_MIN_FILL for fill in fills), fills
    monkeypatch.setattr(renderer, "LAST_PAGE_MIN_FILL", 0.0)  # never compact
    loose = pdf_renderer.page_fills(document)
    assert len(loose) == len(fills) + 1 and loose[-1] < 0.3, loose
