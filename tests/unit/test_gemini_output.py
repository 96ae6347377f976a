"""Gemini's answer -> Analysis: a valid answer parses whole, anything else is refused with a
reason that never quotes the model, and the schema and the parser agree."""

import copy
import json
import re
import traceback
from dataclasses import replace

import jsonschema
import pytest

from diagpro.adapters.gemini import schema as s
from diagpro.adapters.gemini.output import ELLIPSIS, parse_analysis
from diagpro.adapters.gemini.schema import response_schema
from diagpro.domain.analysis import (
    MAX_CAUSES,
    Certainty,
    OwnerFact,
    QuoteVerdict,
    RuledOut,
    Urgency,
)
from diagpro.domain.codes import CodeFamily, DetectedCode, extract_codes
from diagpro.domain.errors import AnalysisInvalid
from tests.builders import CURRENCY, make_intake

CODES = extract_codes(make_intake())  # P0301, P0171, ERR-42
MODEL = "gemini-3.5-flash"


# What a good answer for the builders' 2015 F-150 looks like: P0301 and P0171, and the owner
# swapped coils 1 and 2 with the misfire staying on cylinder 1 (which clears the coil).
F150 = {
    "language": "en",
    "equipment_assumed": (
        "2015 Ford F-150, gasoline, automatic, 4WD, 98,000 miles; six coils quoted, so the "
        "3.5 L or 3.7 L V6"
    ),
    "facts_used": [
        {
            "fact": "You swapped coils 1 and 2 and the misfire stayed on cylinder 1",
            "proves": "The coil is not the cause: a bad coil takes the misfire with it",
        },
        {
            "fact": "The spark plugs were replaced last year",
            "proves": "A worn plug is unlikely, though one new plug can be faulty",
        },
    ],
    "codes": [
        {
            "code": "P0301",
            "system": "OBD-II (SAE J2012)",
            "meaning": "Cylinder 1 misfire detected",
            "certainty": "known",
            "bearing": "The fault is on one cylinder, not the whole engine",
        },
        {
            "code": "P0171",
            "system": "OBD-II (SAE J2012)",
            "meaning": "System too lean, bank 1",
            "certainty": "known",
            "bearing": "Unmetered air or too little fuel on the bank with cylinder 1",
        },
        {
            "code": "ERR-42",
            "system": "Not an OBD-II code",
            "meaning": "",
            "certainty": "unknown",
            "bearing": "Ask the shop which scan tool showed it and print its screen",
        },
    ],
    "ruled_out": [
        {
            "cause": "Ignition coil on cylinder 1",
            "because": "the misfire stayed on cylinder 1 after your coil swap",
        }
    ],
    "causes": [
        {
            "cause": "Restricted or leaking fuel injector, cylinder 1",
            "pct": 45,
            "why": "P0301 with P0171: cylinder 1 misfires while the bank runs lean, worst cold.",
            "for": ["P0301", "P0171", "misfire stayed on cylinder 1 after the coil swap"],
            "against": [],
        },
        {
            "cause": "Intake gasket leak at cylinder 1",
            "pct": 25,
            "why": "Unmetered air leans the bank and hits the nearest cylinder hardest.",
            "for": ["P0171", "worse on cold mornings"],
            "against": ["no hissing reported"],
        },
        {
            "cause": "Low compression on cylinder 1",
            "pct": 15,
            "why": "A valve not sealing keeps the misfire on one cylinder whatever the coil.",
            "for": ["misfire stays on cylinder 1"],
            "against": ["98,000 miles is young for a valve fault"],
        },
    ],
    "other_pct": 15,
    "data_needed": [
        "Short- and long-term fuel trims for bank 1 at idle and 2,500 rpm, cold and warm",
        "An injector swap or balance test result for cylinder 1",
    ],
    "urgency": {
        "level": "soon",
        "reason": "A flashing check-engine light means unburnt fuel is heating the converter.",
        "stop_if": ["The light flashes at a steady cruise", "The engine shakes hard or stalls"],
    },
    "safety": [
        "A flashing check-engine light means the misfire can overheat the catalytic converter."
    ],
    "owner_checks": [
        {
            "check": "Listen around the intake at idle for a hiss",
            "what_it_tells": "A hiss near cylinder 1 points to the intake gasket",
        }
    ],
    "shop_tests": [
        {
            "test": "Injector swap or balance test, cylinder 1",
            "how": "Swap injectors 1 and 2, or run a balance test with a scan tool.",
            "confirms": "The misfire moves to cylinder 2 if the injector is bad.",
            "cost_low": 100,
            "cost_high": 150,
        },
        {
            "test": "Intake smoke test",
            "how": "Feed smoke into the intake with the engine off.",
            "confirms": "Smoke at the cylinder 1 runner means a gasket leak.",
            "cost_low": 80,
            "cost_high": 120,
        },
        {
            "test": "Compression and leak-down test, cylinder 1",
            "how": "Compare cylinder 1 with the others.",
            "confirms": "Within 10% of the others rules out a mechanical fault.",
            "cost_low": 100,
            "cost_high": 150,
        },
    ],
    "do_not": ["Do not replace all six coils: your swap already cleared them."],
    "labour_rate": 150,
    "repair_costs": [
        {
            "repair": "Replace fuel injector, cylinder 1",
            "cause_index": 0,
            "worst_case": False,
            "parts_low": 90,
            "parts_high": 120,
            "hours_low": 1.5,
            "hours_high": 2.0,
            "total_low": 320,
            "total_high": 420,
        },
        {
            "repair": "Replace the intake manifold gaskets",
            "cause_index": 1,
            "worst_case": False,
            "parts_low": 40,
            "parts_high": 60,
            "hours_low": 2.0,
            "hours_high": 2.5,
            "total_low": 340,
            "total_high": 440,
        },
        {
            "repair": "Replace the catalytic converter after driving on the misfire",
            "cause_index": -1,
            "worst_case": True,
            "parts_low": 600,
            "parts_high": 900,
            "hours_low": 1.0,
            "hours_high": 2.0,
            "total_low": 750,
            "total_high": 1100,
        },
    ],
    "quote_check": {
        "shop_job": "Replace all six coils and injectors",
        "fair_low": 1100,
        "fair_high": 1400,
        "verdict": "unjustified_scope",
        "explanation": "The price is fair for that job, but your coil swap cleared the coils.",
    },
    "shop_questions": [
        "What did the bank 1 fuel trims read, cold and warm?",
        "Did you test the cylinder 1 injector before quoting all six?",
        "Why replace coils that my swap test cleared?",
    ],
    "next_steps": [
        "Ask for an injector swap test and a smoke test before approving any parts.",
        "Decline the six-coil-and-injector quote until a test proves it is needed.",
        "Drive gently and little until the misfire is fixed.",
    ],
    "how_it_works": "Each cylinder needs air, fuel and a spark at the right moment.",
    "sources": ["Ford workshop manual, section 303-14, misfire diagnosis for your engine"],
}


def answer(**changes):
    """The F-150 answer with top-level fields replaced (a copy; F150 itself never changes)."""
    data = copy.deepcopy(F150)
    data.update(changes)
    return data


def parse(data_or_text, codes=CODES, intake=None):
    text = data_or_text if isinstance(data_or_text, str) else json.dumps(data_or_text)
    return parse_analysis(
        text,
        codes,
        currency=CURRENCY,
        model=MODEL,
        prompt_tokens=2345,
        output_tokens=3456,
        intake=intake,
    )


def changed(field, index=0, **changes):
    """The F-150 answer with one item of a list field (or an object field) changed."""
    data = copy.deepcopy(F150)
    target = data[field] if index is None else data[field][index]
    target.update(changes)
    return data


# --- A valid answer -------------------------------------------------------------------------


def test_the_f150_answer_validates_against_the_schema():
    jsonschema.Draft202012Validator.check_schema(response_schema())
    jsonschema.validate(F150, response_schema())


def test_a_valid_answer_becomes_a_checked_analysis_with_every_field():
    analysis = parse(F150, intake=make_intake())
    assert analysis.check() is analysis
    assert analysis.language == "en"
    assert analysis.equipment_assumed.startswith("2015 Ford F-150")
    assert analysis.facts_used[0] == OwnerFact(
        fact="You swapped coils 1 and 2 and the misfire stayed on cylinder 1",
        proves="The coil is not the cause: a bad coil takes the misfire with it",
    )
    assert [c.code for c in analysis.codes] == ["P0301", "P0171", "ERR-42"]
    assert analysis.codes[2].certainty is Certainty.UNKNOWN
    assert analysis.ruled_out[0].cause == "Ignition coil on cylinder 1"
    assert [c.likelihood_pct for c in analysis.causes] == [45, 25, 15]
    assert analysis.other_pct == 15
    assert analysis.most_likely_cause == "Restricted or leaking fuel injector, cylinder 1"
    assert analysis.confidence_pct == 45  # derived: the top cause's share
    assert analysis.causes[1].evidence_against == ("no hissing reported",)
    assert analysis.urgency.level is Urgency.SOON
    assert len(analysis.urgency.stop_if) == 2
    assert analysis.owner_checks[0].check.startswith("Listen around the intake")
    # Whole dollars in the answer, cents in the analysis.
    assert analysis.shop_tests[0].name.startswith("Injector swap")
    assert (analysis.shop_tests[0].cost_cents_low, analysis.shop_tests[0].cost_cents_high) == (
        10_000,
        15_000,
    )
    assert analysis.labour_rate_cents == 15_000
    assert analysis.cost_range_cents == (32_000, 42_000)
    assert [c.worst_case for c in analysis.costs] == [False, False, True]
    assert analysis.worst_cases[0].total_cents_high == 110_000
    quote = analysis.quote_check
    assert quote is not None and quote.verdict is QuoteVerdict.UNJUSTIFIED_SCOPE
    assert (quote.fair_cents_low, quote.fair_cents_high) == (110_000, 140_000)
    assert analysis.do_not == tuple(F150["do_not"])
    assert analysis.next_steps == tuple(F150["next_steps"])
    assert analysis.data_needed == tuple(F150["data_needed"])
    assert analysis.model == MODEL and analysis.offline is False
    assert (analysis.prompt_tokens, analysis.output_tokens) == (2345, 3456)


def test_codes_found_come_from_the_extraction_never_from_the_model():
    data = answer(detected_codes=["P9999"])  # an unknown field, ignored
    analysis = parse(data)
    assert analysis.detected_codes == CODES
    assert DetectedCode(CodeFamily.OBD2, "P0301") in analysis.detected_codes


def test_causes_are_sorted_by_likelihood_and_repairs_follow_their_cause():
    data = copy.deepcopy(F150)
    data["causes"][0]["pct"], data["causes"][1]["pct"] = 25, 45
    analysis = parse(data)
    assert [c.likelihood_pct for c in analysis.causes] == [45, 25, 15]
    assert analysis.causes[0].cause.startswith("Intake gasket")
    # The injector row pointed at the model's cause 0, now ranked second.
    injector, gasket, _ = analysis.costs
    assert analysis.causes[injector.cause_index].cause.startswith("Restricted or leaking")
    assert analysis.causes[gasket.cause_index].cause.startswith("Intake gasket")


@pytest.mark.parametrize(
    ("pcts", "other", "scaled", "scaled_other"),
    [
        ([45, 25, 15], 15, [45, 25, 15], 15),  # already 100
        ([60, 40, 20], 0, [51, 33, 16], 0),  # a ranking that overshoots
        ([30, 20, 10], 0, [51, 33, 16], 0),  # one that falls short
        ([33, 33, 33], 0, [34, 33, 33], 0),  # the rounding residue goes to the top cause
        ([50, 30, 10], 20, [46, 27, 9], 18),
        ([120, 90, 30], 10, [48, 36, 12], 4),  # a share over 100% is scaled with the rest
    ],
)
def test_likelihoods_are_scaled_to_one_distribution_of_100(pcts, other, scaled, scaled_other):
    data = copy.deepcopy(F150)
    for cause, pct in zip(data["causes"], pcts, strict=True):
        cause["pct"] = pct
    data["other_pct"] = other
    analysis = parse(data)
    assert [c.likelihood_pct for c in analysis.causes] == scaled
    assert analysis.other_pct == scaled_other
    assert sum(scaled) + scaled_other == 100


@pytest.mark.parametrize(
    "wrap",
    ["```json\n{}\n```", "```JSON\n{}\n```\n", "```\n{}\n```", "  \n```json\n{}```", "\ufeff{}"],
    ids=["json-fence", "upper-fence", "bare-fence", "tight-fence", "bom"],
)
def test_a_fenced_answer_parses(wrap):
    text = wrap.replace("{}", json.dumps(F150, indent=2))
    assert parse(text) == parse(F150)


def test_a_confident_answer_needs_no_data_needed():
    data = changed("causes", pct=85)
    data["causes"] = data["causes"][:1]
    data["repair_costs"] = data["repair_costs"][:1]
    data["other_pct"] = 15
    assert parse(answer(**{**data, "data_needed": []})).data_needed == ()


def test_causes_past_the_cap_are_cut_and_their_share_goes_to_other():
    extra = [{**F150["causes"][2], "cause": f"Cause {n}", "pct": 5} for n in (4, 5)]
    analysis = parse(answer(causes=F150["causes"] + extra, other_pct=5))
    assert len(analysis.causes) == MAX_CAUSES
    assert [c.likelihood_pct for c in analysis.causes] == [45, 25, 15, 5]
    assert analysis.other_pct == 10


def test_blank_list_entries_are_dropped_and_text_is_trimmed():
    data = answer(safety=["  ", " Drive gently. "], shop_questions=[*F150["shop_questions"], ""])
    analysis = parse(data)
    assert analysis.safety == ("Drive gently.",)
    assert analysis.shop_questions == tuple(F150["shop_questions"])


def test_control_and_bidi_characters_never_reach_the_report():
    analysis = parse(changed("causes", cause="Injector\u202e on cylinder 1\x07"))
    assert analysis.most_likely_cause == "Injector on cylinder 1"


def test_the_language_tag_is_normalised():
    assert parse(answer(language="ES")).language == "es"
    assert parse(answer(language="es-MX")).language == "es-MX"


# --- What the intake gives is never asked for again ------------------------------------------


def test_data_needed_never_asks_for_what_the_intake_gives():
    asked = [
        "Your current mileage",
        "The VIN, to check recalls",
        "Repair history for the ignition system",
        "Confirm the fuel type",
        "Short- and long-term fuel trims for bank 1",
    ]
    analysis = parse(answer(data_needed=asked), intake=make_intake())
    assert analysis.data_needed == ("Short- and long-term fuel trims for bank 1",)


def test_a_request_is_kept_when_the_intake_does_not_give_it():
    intake = make_intake(mileage_hours="", serial_number="")
    asked = ["Your current mileage", "The VIN, to check recalls"]
    assert parse(answer(data_needed=asked), intake=intake).data_needed == tuple(asked)


def test_spanish_requests_for_given_data_are_dropped_too():
    asked = ["El kilometraje actual", "Los ajustes de combustible del banco 1"]
    analysis = parse(answer(data_needed=asked), intake=make_intake())
    assert analysis.data_needed == ("Los ajustes de combustible del banco 1",)


def test_dropping_every_item_below_the_threshold_is_refused():
    with pytest.raises(AnalysisInvalid, match="data needed"):
        parse(answer(data_needed=["Your mileage"]), intake=make_intake())


# --- Length caps ------------------------------------------------------------------------------


def test_over_long_text_is_cut_with_an_ellipsis_not_refused():
    analysis = parse(changed("causes", cause="y" * 2000, why="word " * 1000))
    assert len(analysis.most_likely_cause) == s.NAME_TEXT
    assert analysis.most_likely_cause.endswith(ELLIPSIS)
    assert len(analysis.causes[0].why) <= s.REASON_TEXT


def test_lists_over_their_cap_are_cut():
    tests = [copy.deepcopy(F150["shop_tests"][0]) for _ in range(12)]
    analysis = parse(answer(shop_tests=tests, do_not=["x"] * 9))
    assert len(analysis.shop_tests) == s.MAX_TESTS
    assert len(analysis.do_not) == s.MAX_DO_NOT


# --- Repairs: a rule the schema cannot state never costs a paid report ------------------------


def test_a_share_over_100_is_scaled_and_noted_not_refused():
    # The attack: Gemini ranks one cause at 120% (the schema bounds each share, not their sum,
    # and a model does not always keep the bound). Refused, it was retried until the budget ran
    # out and the paid customer got nothing.
    analysis = parse(changed("causes", pct=120))
    # 120 + 25 + 15 + 15 other = 175: each scaled down, whole, the residue to the top cause.
    assert [c.likelihood_pct for c in analysis.causes] == [70, 14, 8]
    assert analysis.other_pct == 8
    assert "likelihoods added up to 175%; scaled to 100%" in analysis.corrections


def test_a_ranked_cause_its_own_ruled_out_clears_is_dropped_with_its_repair():
    data = changed("causes", 1, cause="Ignition coils, cylinder 1")
    analysis = parse(data)
    assert [c.cause for c in analysis.causes] == [
        "Restricted or leaking fuel injector, cylinder 1",
        "Low compression on cylinder 1",
    ]
    # The dropped cause's 25% goes to the causes not listed, not to the ones that remain.
    assert ([c.likelihood_pct for c in analysis.causes], analysis.other_pct) == ([45, 15], 40)
    # The gasket row pointed at the dropped cause; the catalytic converter's worst case stays.
    assert [c.cause_index for c in analysis.costs] == [0, -1]
    assert "repair_costs[1] dropped: its cause_index points at no ranked cause" in (
        analysis.corrections
    )


def test_a_repair_of_a_ruled_out_cause_is_dropped():
    data = changed("repair_costs", 1, repair="Replace the ignition coil on cylinder 1")
    analysis = parse(data)
    assert len(analysis.costs) == 2
    assert "repair_costs[1] dropped: it repairs a cause ruled_out clears" in analysis.corrections


def test_next_steps_past_three_and_blank_ones_are_dropped():
    analysis = parse(answer(next_steps=["a", " ", "c", "d", SECRET]))
    assert analysis.next_steps == ("a", "c", "d")
    assert "next_steps: kept the first 3 of 4 items" in analysis.corrections


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (changed("repair_costs", total_low=420, total_high=320), "repair_costs[0].range"),
        (changed("repair_costs", hours_low=2.0, hours_high=1.5), "repair_costs[0].range"),
        (changed("shop_tests", cost_low=150, cost_high=100), "shop_tests[0].cost"),
        (changed("quote_check", None, fair_low=1400, fair_high=1100), "quote_check.fair"),
    ],
    ids=["total", "hours", "test", "quote"],
)
def test_an_upside_down_range_is_turned_the_right_way(data, where):
    analysis = parse(data)
    assert analysis == replace(parse(F150), corrections=analysis.corrections)
    assert analysis.corrections == (f"{where} range was upside down; ends swapped",)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (
            changed("repair_costs", total_low=410, total_high=2370),
            "its total range is wider than 2x its low end",
        ),
        (changed("repair_costs", cause_index=3), "its cause_index points at no ranked cause"),
        (changed("repair_costs", cause_index=-7), "its cause_index points at no ranked cause"),
        (changed("repair_costs", repair=" "), "the repair is empty"),
    ],
    ids=["too wide", "past the causes", "negative index", "no name"],
)
def test_an_unusable_repair_row_is_dropped_and_the_rest_kept(data, why):
    analysis = parse(data)
    assert [c.repair for c in analysis.costs] == [c["repair"] for c in F150["repair_costs"][1:]]
    assert analysis.corrections == (f"repair_costs[0] dropped: {why}",)


def test_optional_items_missing_a_required_text_are_dropped():
    data = changed("shop_tests", how=" ")
    data["facts_used"][1]["proves"] = ""
    data["codes"][0]["code"] = " "
    data["owner_checks"][0]["check"] = ""
    analysis = parse(data)
    assert len(analysis.shop_tests) == len(F150["shop_tests"]) - 1
    assert len(analysis.facts_used) == 1 and analysis.owner_checks == ()
    assert [c.code for c in analysis.codes] == ["P0171", "ERR-42"]
    assert len(analysis.corrections) == 4


def test_over_long_text_is_clipped_at_a_word_boundary():
    why = "The injector on cylinder one " * 40
    analysis = parse(changed("causes", why=why))
    clipped = analysis.causes[0].why
    assert len(clipped) <= s.REASON_TEXT and clipped.endswith(ELLIPSIS)
    assert why.startswith(clipped[: -len(ELLIPSIS)] + " ")  # whole words only
    assert "causes[0].why clipped to 300 characters" in analysis.corrections


def test_repair_notes_never_quote_the_model():
    data = changed("causes", pct=150, why=f"{SECRET} " * 100)
    data["next_steps"] = [SECRET] * 5
    data["repair_costs"][0].update(repair=SECRET, cause_index=9)
    analysis = parse(data)
    assert len(analysis.corrections) >= 4
    assert SECRET not in " ".join(analysis.corrections)


def test_a_valid_answer_needs_no_repair():
    assert parse(F150, intake=make_intake()).corrections == ()


# --- Refusals ---------------------------------------------------------------------------------

SECRET = "ZQX SECRET MODEL TEXT"


def without(field):
    return {k: v for k, v in F150.items() if k != field}


INVALID = {
    "empty text": ("", "empty"),
    "blank text": ("  \n\t ", "empty"),
    "not json": (f"Here is your report: {SECRET}", "not valid JSON"),
    "truncated json": (json.dumps(answer(how_it_works=SECRET))[:1500], "not valid JSON"),
    "markdown report": (f"## 1. PRIMARY DIAGNOSIS\n{SECRET}", "not valid JSON"),
    "top-level array": (json.dumps([SECRET]), "Expected `object`"),
    "pct as text": (changed("causes", pct=SECRET), "pct"),
    "pct as float": (changed("causes", pct=45.5), "pct"),
    "urgency outside the enum": (changed("urgency", None, level=SECRET), "level"),
    "certainty outside the enum": (changed("codes", certainty=SECRET), "certainty"),
    "verdict outside the enum": (changed("quote_check", None, verdict=SECRET), "verdict"),
    "missing field": (without("next_steps"), "next_steps"),
    "missing ruled_out": (without("ruled_out"), "ruled_out"),
    "missing language": (without("language"), "language"),
    "a language that is not a tag": (answer(language=SECRET), "language"),
    "an empty language": (answer(language=" "), "language"),
    "null field": (answer(how_it_works=None), "how_it_works"),
    "ruled out without a reason": (changed("ruled_out", because=" "), "ruled_out[0].because"),
    "every likelihood zero": (
        answer(causes=[{**F150["causes"][0], "pct": 0}], other_pct=0),
        "every likelihood is 0%",
    ),
    "low confidence, no data needed": (answer(data_needed=[]), "data needed"),
    "low confidence, blank data needed": (answer(data_needed=["", " "]), "data needed"),
    "no next steps": (answer(next_steps=[]), "next_steps"),
    "only blank next steps": (answer(next_steps=[" ", ""]), "next_steps"),
    "a share below 0": (changed("causes", pct=-5), "pct"),
    "every cause ruled out": (
        answer(causes=[{**F150["causes"][0], "cause": "Ignition coils, cylinder 1"}]),
        "every cause is one ruled_out clears",
    ),
    "no causes": (answer(causes=[]), "causes"),
    "no questions": (answer(shop_questions=[" "]), "shop_questions"),
    "negative dollars": (changed("repair_costs", parts_low=-5), "parts_low"),
    "cents where dollars belong": (changed("repair_costs", total_high=42_000_000), "total_high"),
    "empty cause name": (changed("causes", cause=" "), "causes[0].cause"),
    "evidence not a list": (changed("causes", **{"for": SECRET}), "for"),
    "hours as text": (changed("repair_costs", hours_low=SECRET), "hours_low"),
    "a link in a source": (answer(sources=[f"https://evil.example/{SECRET}"]), "URL"),
    "a bare domain in a question": (
        answer(shop_questions=[*F150["shop_questions"][:2], f"See {SECRET}.com"]),
        "URL",
    ),
    "www in how it works": (answer(how_it_works=f"www.{SECRET}"), "URL"),
}


@pytest.mark.parametrize(("raw", "reason"), INVALID.values(), ids=INVALID.keys())
def test_invalid_answers_are_refused_without_quoting_the_model(raw, reason):
    text = raw if isinstance(raw, str) else json.dumps(raw)
    with pytest.raises(AnalysisInvalid) as caught:
        parse(text, intake=make_intake())
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


def test_a_ruled_out_cause_with_other_words_is_not_confused_with_a_ranked_one():
    # "Spark plug on cylinder 1" shares "cylinder 1" with the cleared coil, and is not it.
    data = changed("causes", 2, cause="Spark plug on cylinder 1")
    assert parse(data).causes[2].cause == "Spark plug on cylinder 1"


def test_an_answer_far_too_long_is_refused_before_decoding():
    with pytest.raises(AnalysisInvalid, match="characters long"):
        parse(" " * 300_000 + json.dumps(F150))


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
    minItems), and makes every string exactly as long as its stated cap plus ``text_extra``.
    Open numbers are 1 (a valid amount, hour count and cause index)."""
    kind = node["type"]
    if kind == "object":
        return {
            k: example(v, many=many, text_extra=text_extra) for k, v in node["properties"].items()
        }
    if kind == "array":
        count = node["maxItems"] if many else node.get("minItems", 0)
        return [example(node["items"], many=many, text_extra=text_extra) for _ in range(count)]
    if kind == "string":
        if "enum" in node:
            return node["enum"][0]
        cap = int(_CAP.search(node["description"]).group(1))
        return ("abcdefghi " * 200)[: cap - 1 + text_extra] + "z"
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return node.get("maximum", 1)
    raise AssertionError(kind)


def maximal(text_extra=0):
    data = example(response_schema(), many=True, text_extra=text_extra)
    data["language"] = "en"
    data["causes"] = [{**c, "cause": f"cause {i}"} for i, c in enumerate(data["causes"])]
    data["ruled_out"] = [{**r, "cause": f"cleared {i}"} for i, r in enumerate(data["ruled_out"])]
    return data


def test_the_schema_uses_only_keywords_gemini_accepts_and_bounds_every_list_and_text():
    schema = response_schema()
    for path, node in walk(schema):
        assert set(node) <= ALLOWED_KEYWORDS, path
        assert node.get("description"), path
        if node["type"] == "object":
            assert node["required"] == list(node["properties"]), path
        if node["type"] == "array":
            assert "maxItems" in node, path
        if node["type"] == "string" and "enum" not in node:
            assert _CAP.search(node["description"]), path
    properties = list(schema["properties"])
    # The owner's findings and what they clear are written before the ranking.
    assert properties.index("facts_used") < properties.index("causes")
    assert properties.index("ruled_out") < properties.index("causes")
    assert schema["properties"]["urgency"]["properties"]["level"]["enum"] == [
        u.value for u in Urgency
    ]
    verdicts = schema["properties"]["quote_check"]["properties"]["verdict"]["enum"]
    assert verdicts == [v.value for v in QuoteVerdict]


def test_the_schema_is_small():
    # Vertex refuses schemas with "too many states"; the old one had 10 bounded numbers, 23
    # bounded arrays and 15.0k characters.
    schema = response_schema()
    nodes = [node for _, node in walk(schema)]
    assert sum("minimum" in n or "maximum" in n for n in nodes) <= 3
    assert sum(n["type"] == "array" for n in nodes) <= 20
    assert len(json.dumps(schema, separators=(",", ":"))) < 8_000


def test_response_schema_returns_a_fresh_copy():
    first = response_schema()
    first["properties"].clear()
    assert response_schema()["properties"]


def test_a_maximal_answer_from_the_schema_parses_without_losing_anything():
    data = maximal()
    jsonschema.validate(data, response_schema())
    analysis = parse(data)
    assert len(analysis.causes) == MAX_CAUSES
    assert len(analysis.causes[0].evidence_for) == s.MAX_EVIDENCE
    assert len(analysis.facts_used) == s.MAX_FACTS
    assert len(analysis.codes) == s.MAX_CODES
    assert len(analysis.shop_tests) == s.MAX_TESTS
    assert len(analysis.costs) == s.MAX_COSTS
    assert len(analysis.shop_questions) == s.MAX_QUESTIONS
    assert len(analysis.data_needed) == s.MAX_DATA_NEEDED
    assert len(analysis.causes[0].why) == s.REASON_TEXT
    assert len(analysis.how_it_works) == s.LONG_TEXT
    assert not analysis.how_it_works.endswith(ELLIPSIS)  # at the cap, nothing is cut


def test_a_minimal_answer_from_the_schema_parses():
    data = example(response_schema(), many=False)
    data["language"] = "en"
    data["other_pct"] = 0
    jsonschema.validate(data, response_schema())
    analysis = parse(data)
    assert len(analysis.causes) == 1 and analysis.confidence_pct == 100
    assert len(analysis.next_steps) == 1


def test_text_over_every_stated_cap_is_cut_to_the_cap():
    analysis = parse(maximal(text_extra=50))
    # Cut at the last word that fits: never over the cap, and never more than half of it lost.
    assert s.LONG_TEXT / 2 <= len(analysis.how_it_works) <= s.LONG_TEXT
    assert analysis.how_it_works.endswith("abcdefghi" + ELLIPSIS)
    assert analysis.how_it_works.endswith(ELLIPSIS)
    cause = analysis.causes[0]
    assert len(cause.why) <= s.REASON_TEXT and cause.why.endswith(ELLIPSIS)
    assert all(len(e) <= s.NAME_TEXT for e in cause.evidence_for)
    assert all(len(t.how) <= s.REASON_TEXT for t in analysis.shop_tests)
    assert all(len(q) <= s.ITEM_TEXT for q in analysis.shop_questions)


def test_a_domain_refusal_quoting_model_text_is_scrubbed(monkeypatch):
    # Every rule check() enforces is tested first with clean reasons; should a domain rule
    # quote the model (as the ruled-out rule does with repr()), the quote is removed.
    def refuse(self):
        raise AnalysisInvalid(f"{SECRET!r} is both ruled out and ranked")

    monkeypatch.setattr("diagpro.domain.analysis.Analysis.check", refuse)
    with pytest.raises(AnalysisInvalid) as caught:
        parse(F150)
    assert caught.value.message == "model output refused: '…' is both ruled out and ranked"
    assert SECRET not in "".join(traceback.format_exception(caught.value))


def test_an_answer_that_ignores_the_owners_findings_is_refused():
    """diagpro's rules found the coil swap clears the coil; an answer ruling nothing out
    has not used the owner's test, whatever language it is in."""
    cleared = (RuledOut("A failing ignition coil", "the misfire stayed put after the swap"),)
    kept = parse_analysis(
        json.dumps(answer()),
        (),
        currency=CURRENCY,
        model="m",
        prompt_tokens=1,
        output_tokens=1,
        owner_cleared=cleared,
    )
    assert kept.ruled_out
    with pytest.raises(AnalysisInvalid, match="the owner's own findings clear: A failing ignition"):
        parse_analysis(
            json.dumps(answer(ruled_out=[])),
            (),
            currency=CURRENCY,
            model="m",
            prompt_tokens=1,
            output_tokens=1,
            owner_cleared=cleared,
        )
