"""Gemini's answer -> Analysis: a valid answer parses whole, anything else is refused with a
reason that never quotes the model, and the schema and the parser agree."""

import copy
import json
import re
import traceback

import jsonschema
import pytest

from diagpro.adapters.gemini import schema as s
from diagpro.adapters.gemini.output import ELLIPSIS, parse_analysis
from diagpro.adapters.gemini.schema import response_schema
from diagpro.domain.analysis import SECTION_KEYS, SECTIONS, Urgency
from diagpro.domain.codes import CodeFamily, DetectedCode, extract_codes
from diagpro.domain.errors import AnalysisInvalid
from tests.builders import CURRENCY, make_intake

CODES = extract_codes(make_intake())  # P0301, P0171, ERR-42
MODEL = "gemini-3.5-flash"


def _section(summary, *points):
    return {"summary": summary, "points": list(points)}


# What a good answer for the builders' 2015 F-150 (P0301, P0171, coil swap done) looks like.
F150 = {
    "ranked_causes": [
        {
            "cause": "Restricted or leaking fuel injector, cylinder 1",
            "likelihood_pct": 45,
            "reasoning": (
                "P0301 with P0171 means cylinder 1 misfires while the engine runs lean. You "
                "swapped coils 1 and 2 and the misfire stayed on cylinder 1, so the coil is "
                "not the cause; a weak injector starves that one cylinder, worst when cold."
            ),
            "evidence": ["P0301", "P0171", "coil swap: misfire stayed on cylinder 1"],
        },
        {
            "cause": "Vacuum leak near cylinder 1 (intake gasket or PCV hose)",
            "likelihood_pct": 25,
            "reasoning": (
                "Unmetered air leans the whole bank (P0171) and hits the nearest cylinder "
                "hardest; gaskets leak most when cold and seal as they warm up."
            ),
            "evidence": ["P0171", "misfire on cold start"],
        },
        {
            "cause": "Spark plug on cylinder 1 (cracked insulator or wrong gap)",
            "likelihood_pct": 15,
            "reasoning": "The plugs were changed last year; one bad plug misfires only there.",
            "evidence": ["spark plugs replaced last year"],
        },
        {
            "cause": "Low compression on cylinder 1 (valve not sealing)",
            "likelihood_pct": 10,
            "reasoning": "Less likely at 98,000 miles, but it must be ruled out before parts.",
            "evidence": ["98000 miles"],
        },
    ],
    "most_likely_cause": "A restricted or leaking fuel injector on cylinder 1",
    "confidence_pct": 70,
    "data_needed": [
        "Short- and long-term fuel trims at idle and at 2,500 rpm, cold and warm",
        "An injector balance or swap test result for cylinder 1",
        "A smoke test of the intake for vacuum leaks",
    ],
    "urgency": "soon",
    "safety_flags": [
        "A flashing check-engine light means the misfire can overheat the catalytic "
        "converter: drive gently and only to the shop."
    ],
    "shop_tests": [
        {
            "name": "Injector swap or balance test, cylinder 1",
            "how": "Swap injectors 1 and 2, or run a balance test with a scan tool.",
            "expected": "The misfire moves to cylinder 2 if the injector is bad.",
            "cost_cents_low": 10000,
            "cost_cents_high": 20000,
        },
        {
            "name": "Intake smoke test",
            "how": "Feed smoke into the intake with the engine off and look for leaks.",
            "expected": "No smoke escapes; smoke at the cylinder 1 runner means a gasket leak.",
            "cost_cents_low": 8000,
            "cost_cents_high": 15000,
        },
        {
            "name": "Compression test, all cylinders",
            "how": "Compression gauge in each plug hole, throttle open, engine cranking.",
            "expected": "All within 10% of each other; cylinder 1 much lower means a valve fault.",
            "cost_cents_low": 10000,
            "cost_cents_high": 18000,
        },
    ],
    "costs": [
        {
            "repair": "Replace fuel injector, cylinder 1",
            "parts_cents_low": 8000,
            "parts_cents_high": 25000,
            "labour_hours_low": 1.5,
            "labour_hours_high": 4.0,
            "total_cents_low": 30000,
            "total_cents_high": 85000,
            "note": "Direct-injection engines cost more; OEM injectors are worth it here.",
        },
        {
            "repair": "Intake manifold gasket",
            "parts_cents_low": 3000,
            "parts_cents_high": 9000,
            "labour_hours_low": 2.0,
            "labour_hours_high": 4.0,
            "total_cents_low": 30000,
            "total_cents_high": 70000,
            "note": "",
        },
    ],
    "shop_questions": [
        "What did the fuel trims read, cold and warm?",
        "Did you test the cylinder 1 injector before quoting all six?",
        "Since the misfire stayed on cylinder 1 after a coil swap, why replace all six coils?",
    ],
    "next_steps": [
        "Ask the shop for an injector swap test and a smoke test before any parts.",
        "Decline the six-coil-and-injector quote until a test proves it is needed.",
        "Drive gently and avoid hard acceleration until the misfire is fixed.",
    ],
    "sections": {
        "primary_diagnosis": _section(
            "Most likely a weak fuel injector on cylinder 1 (70% confidence).",
            "P0301 says cylinder 1 misfires; P0171 says the engine runs lean.",
            "Your coil swap rules out the coil: the misfire stayed on cylinder 1.",
            "A flashing check-engine light means drive gently until it is fixed.",
        ),
        "differential_diagnosis": _section(
            "Three other causes fit, in this order.",
            "Vacuum leak near cylinder 1 (25%): fits the lean code, worst when cold.",
            "Spark plug on cylinder 1 (15%): new last year, but one can crack.",
            "Low compression on cylinder 1 (10%): rare at 98,000 miles.",
        ),
        "diagnostic_verification": _section(
            "Three tests separate the causes for under $500 in total.",
            "Injector swap test: the misfire follows the injector if it is bad.",
            "Smoke test: smoke at the cylinder 1 intake runner means a gasket leak.",
            "Compression test: all cylinders within 10% of each other.",
        ),
        "shop_interrogation": _section(
            "Ask what the shop measured before it quoted.",
            "Ask for the scan report with freeze-frame data for P0301 and P0171.",
            "Ask why six coils when the misfire did not follow the coil.",
        ),
        "conversation_scripting": _section(
            "Stay curious and friendly.",
            '"I\'ve done some research and want to understand why all six coils."',
            '"Could we test the cylinder 1 injector first?"',
        ),
        "cost_breakdown": _section(
            "A single injector costs $300-$850 fitted; the $1,250 quote covers parts the "
            "evidence does not support.",
            "Injector: $80-$250 in parts plus 1.5-4 hours of labour.",
            "Tests: $280-$530 in total, often credited against the repair.",
        ),
        "ripoff_detection": _section(
            "Replacing all six coils after a swap test cleared the coil is parts-cannon repair.",
            "A quote for six injectors when one cylinder misfires is a red flag.",
        ),
        "authorization_guide": _section(
            "Approve the tests now; refuse the coils; get a second opinion if pushed.",
            "Approve: injector swap test, smoke test.",
            "Refuse for now: six coils, six injectors.",
        ),
        "technical_education": _section(
            "Each cylinder needs air, fuel and spark; cylinder 1 is short of fuel or has too "
            "much air.",
            "The engine computer adds fuel to fix a lean mixture; past its limit it sets P0171.",
        ),
        "oem_parts_strategy": _section(
            "Use OEM injectors; get the part number from a Ford parts counter with your VIN.",
            "Compare the dealer price with the OE supplier's boxed part.",
        ),
        "negotiation_tactics": _section(
            "Get a second quote for the single injector with the test results in hand.",
            "Ask the shop to credit the test fee against the repair.",
        ),
        "likely_causes_ranked": _section(
            "Injector 45%, vacuum leak 25%, spark plug 15%, compression 10%.",
            "Primary: injector, cylinder 1 (45%).",
            "Secondary: vacuum leak near cylinder 1 (25%).",
            "Tertiary: spark plug, cylinder 1 (15%).",
        ),
        "recommendations": _section(
            "Fix it soon: a long-running misfire ruins the catalytic converter.",
            "Avoid hard acceleration and towing until it is fixed.",
            "Stop driving if the light keeps flashing at steady speed.",
        ),
        "source_verification": _section(
            "Check the maker's bulletins and recalls before paying for parts.",
            "Ford TSBs for cold-start misfire on your engine, through a dealer service desk.",
            "The NHTSA recall lookup for your VIN.",
        ),
        "next_steps_summary": _section(
            "Your three next steps.",
            "Ask for the injector swap and smoke tests.",
            "Decline the six-coil quote for now.",
            "Drive gently until it is fixed.",
        ),
    },
}


def answer(**changes):
    """The F-150 answer with top-level fields replaced (a copy; F150 itself never changes)."""
    data = copy.deepcopy(F150)
    data.update(changes)
    return data


def parse(data_or_text, codes=CODES):
    text = data_or_text if isinstance(data_or_text, str) else json.dumps(data_or_text)
    return parse_analysis(
        text, codes, currency=CURRENCY, model=MODEL, prompt_tokens=2345, output_tokens=3456
    )


# --- A valid answer -------------------------------------------------------------------------


def test_the_f150_answer_validates_against_the_schema():
    jsonschema.Draft202012Validator.check_schema(response_schema())
    jsonschema.validate(F150, response_schema())


def test_a_valid_answer_becomes_a_checked_analysis_with_every_structured_field():
    analysis = parse(F150)
    assert analysis.check() is analysis
    assert analysis.most_likely_cause == F150["most_likely_cause"]
    assert analysis.confidence_pct == 70
    assert analysis.data_needed == tuple(F150["data_needed"])
    assert analysis.urgency is Urgency.SOON
    assert analysis.safety_flags == tuple(F150["safety_flags"])
    assert [c.cause for c in analysis.ranked_causes] == [c["cause"] for c in F150["ranked_causes"]]
    first = analysis.ranked_causes[0]
    assert first.likelihood_pct == 45 and first.evidence[0] == "P0301"
    assert "swapped coils 1 and 2" in first.reasoning
    assert [t.name for t in analysis.shop_tests] == [t["name"] for t in F150["shop_tests"]]
    assert analysis.shop_tests[0].cost_cents_high == 20000
    assert analysis.costs[0].labour_hours_high == 4.0
    assert analysis.cost_range_cents == (30000, 85000)
    assert analysis.costs[1].note == ""
    assert analysis.shop_questions == tuple(F150["shop_questions"])
    assert analysis.next_steps == tuple(F150["next_steps"])
    assert analysis.model == MODEL
    assert (analysis.prompt_tokens, analysis.output_tokens) == (2345, 3456)
    assert analysis.offline is False


def test_sections_come_in_the_report_order_with_their_titles():
    shuffled = answer(sections=dict(reversed(F150["sections"].items())))
    analysis = parse(shuffled)
    assert [(sec.key, sec.title) for sec in analysis.sections] == list(SECTIONS)
    primary = analysis.section("primary_diagnosis")
    assert primary.summary.startswith("Most likely a weak fuel injector")
    assert len(primary.points) == 3


def test_codes_come_from_the_extraction_never_from_the_model():
    data = answer(detected_codes=["P9999"], codes=["U0100"])  # unknown fields, ignored
    analysis = parse(data)
    assert analysis.detected_codes == CODES
    assert DetectedCode(CodeFamily.OBD2, "P0301") in analysis.detected_codes
    assert all(c.code not in ("P9999", "U0100") for c in analysis.detected_codes)


def test_ranked_causes_are_sorted_by_likelihood_keeping_ties_in_order():
    causes = copy.deepcopy(F150["ranked_causes"])
    causes[0]["likelihood_pct"], causes[1]["likelihood_pct"] = 25, 45
    analysis = parse(answer(ranked_causes=causes))
    assert [c.likelihood_pct for c in analysis.ranked_causes] == [45, 25, 15, 10]
    assert analysis.ranked_causes[0].cause.startswith("Vacuum leak")


@pytest.mark.parametrize(
    "wrap",
    [
        "```json\n{}\n```",
        "```JSON\n{}\n```\n",
        "```\n{}\n```",
        "  \n```json\n{}```",
        "\ufeff{}",
    ],
    ids=["json-fence", "upper-fence", "bare-fence", "tight-fence", "bom"],
)
def test_a_fenced_answer_parses(wrap):
    text = wrap.replace("{}", json.dumps(F150, indent=2))
    assert parse(text) == parse(F150)


def test_confidence_at_the_threshold_needs_no_data_needed():
    assert parse(answer(confidence_pct=80, data_needed=[])).data_needed == ()


def test_blank_list_entries_are_dropped_and_text_is_trimmed():
    data = answer(
        safety_flags=["  ", " Drive gently. "], shop_questions=[*F150["shop_questions"], ""]
    )
    analysis = parse(data)
    assert analysis.safety_flags == ("Drive gently.",)
    assert analysis.shop_questions == tuple(F150["shop_questions"])


def test_control_and_bidi_characters_never_reach_the_report():
    data = answer(most_likely_cause="Injector\u202e on cylinder 1\x07")
    assert parse(data).most_likely_cause == "Injector on cylinder 1"


# --- Length caps ------------------------------------------------------------------------------


def test_over_long_text_is_cut_with_an_ellipsis_not_refused():
    sections = copy.deepcopy(F150["sections"])
    sections["technical_education"]["summary"] = "word " * 1000
    sections["technical_education"]["points"] = ["x" * 5000]
    analysis = parse(answer(most_likely_cause="y" * 2000, sections=sections))
    assert len(analysis.most_likely_cause) == s.CAUSE_TEXT
    assert analysis.most_likely_cause.endswith(ELLIPSIS)
    education = analysis.section("technical_education")
    assert len(education.summary) <= s.SUMMARY_TEXT and education.summary.endswith(ELLIPSIS)
    assert len(education.points[0]) == s.POINT_TEXT


def test_lists_over_their_cap_are_cut():
    sections = copy.deepcopy(F150["sections"])
    sections["recommendations"]["points"] = [f"point {i}" for i in range(20)]
    tests = [copy.deepcopy(F150["shop_tests"][0]) for _ in range(12)]
    analysis = parse(answer(sections=sections, shop_tests=tests))
    assert len(analysis.section("recommendations").points) == s.MAX_POINTS
    assert len(analysis.shop_tests) == s.MAX_TESTS


# --- Refusals ---------------------------------------------------------------------------------

SECRET = "ZQX SECRET MODEL TEXT"


def with_section(key, value):
    sections = copy.deepcopy(F150["sections"])
    if value is None:
        del sections[key]
    else:
        sections[key] = value
    return answer(sections=sections)


def with_cost(**changes):
    costs = copy.deepcopy(F150["costs"])
    costs[0].update(changes)
    return answer(costs=costs)


def with_cause(**changes):
    causes = copy.deepcopy(F150["ranked_causes"])
    causes[0].update(changes)
    return answer(ranked_causes=causes)


def with_test(**changes):
    tests = copy.deepcopy(F150["shop_tests"])
    tests[0].update(changes)
    return answer(shop_tests=tests)


INVALID = {
    "empty text": ("", "empty"),
    "blank text": ("  \n\t ", "empty"),
    "not json": (f"Here is your report: {SECRET}", "not valid JSON"),
    "truncated json": (json.dumps(answer(most_likely_cause=SECRET))[:1500], "not valid JSON"),
    "markdown report": (f"## 1. PRIMARY DIAGNOSIS\n{SECRET}", "not valid JSON"),
    "top-level array": (json.dumps([SECRET]), "Expected `object`"),
    "confidence as text": (answer(confidence_pct=SECRET), "confidence_pct"),
    "confidence as float": (answer(confidence_pct=70.5), "confidence_pct"),
    "confidence over 100": (answer(confidence_pct=120), "confidence_pct"),
    "urgency outside the enum": (answer(urgency=SECRET), "urgency"),
    "missing field": ({k: v for k, v in F150.items() if k != "next_steps"}, "next_steps"),
    "null field": (answer(most_likely_cause=None), "most_likely_cause"),
    "missing section": (with_section("ripoff_detection", None), "ripoff_detection"),
    "section not an object": (with_section("cost_breakdown", SECRET), "sections"),
    "empty section": (with_section("cost_breakdown", _section("   ", " ")), "cost_breakdown"),
    "section without summary or points": (with_section("cost_breakdown", _section("")), "empty"),
    "empty most likely cause": (answer(most_likely_cause="  "), "most_likely_cause"),
    "low confidence, no data needed": (answer(confidence_pct=60, data_needed=[]), "data needed"),
    "low confidence, blank data needed": (
        answer(confidence_pct=60, data_needed=["", " "]),
        "data needed",
    ),
    "a likelihood over 100": (with_cause(likelihood_pct=150), "likelihood_pct"),
    "likelihoods over 100 in total": (with_cause(likelihood_pct=90), "add up to 140%"),
    "four next steps": (answer(next_steps=[*F150["next_steps"], SECRET]), "next_steps"),
    "two next steps": (answer(next_steps=F150["next_steps"][:2]), "next_steps"),
    "a blank next step": (answer(next_steps=["a", " ", "c"]), "next_steps[1]"),
    "no ranked causes": (answer(ranked_causes=[]), "ranked_causes"),
    "no tests": (answer(shop_tests=[]), "shop_tests"),
    "no costs": (answer(costs=[]), "costs"),
    "no questions": (answer(shop_questions=[" "]), "shop_questions"),
    "negative cents": (with_cost(parts_cents_low=-5), "parts_cents_low"),
    "cost range upside down": (
        with_cost(repair=SECRET, total_cents_low=90000, total_cents_high=1000),
        "costs[0].total_cents",
    ),
    "labour range upside down": (
        with_cost(repair=SECRET, labour_hours_low=5.0, labour_hours_high=1.0),
        "costs[0].labour_hours",
    ),
    "test cost upside down": (
        with_test(name=SECRET, cost_cents_low=500, cost_cents_high=100),
        "shop_tests[0]",
    ),
    "empty cause name": (with_cause(cause=" "), "ranked_causes[0].cause"),
    "evidence not a list": (with_cause(evidence=SECRET), "evidence"),
    "hours as text": (with_cost(labour_hours_low=SECRET), "labour_hours_low"),
}


@pytest.mark.parametrize(("raw", "reason"), INVALID.values(), ids=INVALID.keys())
def test_invalid_answers_are_refused_without_quoting_the_model(raw, reason):
    text = raw if isinstance(raw, str) else json.dumps(raw)
    with pytest.raises(AnalysisInvalid) as caught:
        parse(text)
    error = caught.value
    assert reason in error.message
    assert error.message.startswith("model output refused: ")
    assert len(error.message) < 200
    # Neither the message nor a logged traceback carries the model's text.
    logged = "".join(traceback.format_exception(error))
    assert SECRET not in logged
    assert error.__cause__ is None and error.__suppress_context__
    for phrase in ("Here is your report", "PRIMARY DIAGNOSIS\n"):
        assert phrase not in logged


def test_an_answer_far_too_long_is_refused_before_decoding():
    with pytest.raises(AnalysisInvalid, match="characters long"):
        parse(" " * 500_000 + json.dumps(F150))


# --- The schema and the parser agree -----------------------------------------------------------

ALLOWED_KEYWORDS = {
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "description",
}
_CAP = re.compile(r"At most (\d+) characters\.")


def walk(node, path="$"):
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")


def example(node, *, many, text_extra=0):
    """An answer built from the schema alone: ``many`` fills every list to maxItems (else
    minItems), puts numbers at their minimum (else maximum), and makes every string exactly as
    long as its stated cap plus ``text_extra``."""
    kind = node["type"]
    if kind == "object":
        return {
            k: example(v, many=many, text_extra=text_extra) for k, v in node["properties"].items()
        }
    if kind == "array":
        count = node["maxItems"] if many else node["minItems"]
        return [example(node["items"], many=many, text_extra=text_extra) for _ in range(count)]
    if kind == "string":
        if "enum" in node:
            return node["enum"][0]
        cap = int(_CAP.search(node["description"]).group(1))
        return ("abcdefghi " * 200)[: cap - 1 + text_extra] + "z"
    if kind in ("integer", "number"):
        return node["minimum"] if many else node["maximum"]
    raise AssertionError(kind)


def test_the_schema_uses_only_keywords_gemini_accepts_and_bounds_everything():
    schema = response_schema()
    for path, node in walk(schema):
        assert set(node) <= ALLOWED_KEYWORDS, path
        assert node.get("description"), path
        if node["type"] == "object":
            assert node["required"] == list(node["properties"]), path
        if node["type"] == "array":
            assert "maxItems" in node and "minItems" in node, path
        if node["type"] == "string" and "enum" not in node:
            assert _CAP.search(node["description"]), path
        if node["type"] in ("integer", "number"):
            assert "minimum" in node and "maximum" in node, path
    assert list(schema["properties"]["sections"]["properties"]) == list(SECTION_KEYS)
    assert schema["properties"]["urgency"]["enum"] == [u.value for u in Urgency]
    next_steps = schema["properties"]["next_steps"]
    assert next_steps["minItems"] == next_steps["maxItems"] == 3


def test_response_schema_returns_a_fresh_copy():
    first = response_schema()
    first["properties"].clear()
    assert response_schema()["properties"]


def test_a_maximal_answer_from_the_schema_parses_without_losing_anything():
    data = example(response_schema(), many=True)
    jsonschema.validate(data, response_schema())
    analysis = parse(data)
    assert len(analysis.ranked_causes) == s.MAX_CAUSES
    assert len(analysis.ranked_causes[0].evidence) == s.MAX_EVIDENCE
    assert len(analysis.shop_tests) == s.MAX_TESTS
    assert len(analysis.costs) == s.MAX_COSTS
    assert len(analysis.shop_questions) == s.MAX_QUESTIONS
    assert len(analysis.safety_flags) == s.MAX_SAFETY_FLAGS
    assert len(analysis.data_needed) == s.MAX_DATA_NEEDED
    assert all(len(sec.points) == s.MAX_POINTS for sec in analysis.sections)
    assert analysis.confidence_pct == 0  # minimum, so data_needed is required and present
    assert len(analysis.most_likely_cause) == s.CAUSE_TEXT
    assert len(analysis.sections[0].summary) == s.SUMMARY_TEXT
    assert len(analysis.ranked_causes[0].reasoning) == s.REASONING_TEXT
    texts = [analysis.most_likely_cause, *(sec.summary for sec in analysis.sections)]
    assert not any(t.endswith(ELLIPSIS) for t in texts)  # at the cap, nothing is cut


def test_a_minimal_answer_from_the_schema_parses():
    data = example(response_schema(), many=False)
    jsonschema.validate(data, response_schema())
    analysis = parse(data)
    assert analysis.confidence_pct == 100 and analysis.data_needed == ()
    assert len(analysis.ranked_causes) == 1 and analysis.ranked_causes[0].likelihood_pct == 100
    assert len(analysis.next_steps) == 3


def test_text_over_every_stated_cap_is_cut_to_the_cap():
    analysis = parse(example(response_schema(), many=True, text_extra=50))
    assert len(analysis.most_likely_cause) == s.CAUSE_TEXT
    assert analysis.most_likely_cause.endswith(ELLIPSIS)
    for sec in analysis.sections:
        assert len(sec.summary) <= s.SUMMARY_TEXT and sec.summary.endswith(ELLIPSIS)
        assert all(len(p) <= s.POINT_TEXT and p.endswith(ELLIPSIS) for p in sec.points)
    cause = analysis.ranked_causes[0]
    assert len(cause.reasoning) <= s.REASONING_TEXT and cause.reasoning.endswith(ELLIPSIS)
    assert all(len(e) <= s.NAME_TEXT for e in cause.evidence)
    for test in analysis.shop_tests:
        assert len(test.how) <= s.HOW_TEXT and len(test.expected) <= s.EXPECTED_TEXT
    assert all(len(c.note) <= s.NOTE_TEXT for c in analysis.costs)
    assert all(len(q) <= s.ITEM_TEXT for q in analysis.shop_questions)


def test_a_domain_refusal_quoting_model_text_is_scrubbed(monkeypatch):
    # Every rule check() enforces is tested first with clean reasons; should a future domain
    # rule quote the model (as the cost-range rule does with repr()), the quote is removed.
    def refuse(self):
        raise AnalysisInvalid(f"cost range for {SECRET!r} is not low <= high")

    monkeypatch.setattr("diagpro.domain.analysis.Analysis.check", refuse)
    with pytest.raises(AnalysisInvalid) as caught:
        parse(F150)
    assert caught.value.message == "model output refused: cost range for '…' is not low <= high"
    assert SECRET not in "".join(traceback.format_exception(caught.value))
