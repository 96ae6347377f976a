"""The offline analyzer: complete, customer-specific, deterministic reports without a network."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import diagpro
from diagpro.adapters.offline_analyzer import MODEL_NAME, OfflineAnalyzer
from diagpro.adapters.offline_analyzer.knowledge import knowledge, translatable_texts
from diagpro.domain.analysis import (
    CONFIDENCE_THRESHOLD,
    Analysis,
    Certainty,
    QuoteVerdict,
    Urgency,
)
from diagpro.domain.codes import CodeFamily, DetectedCode, extract_codes
from diagpro.domain.equipment import CATEGORIES
from diagpro.domain.intake import Intake, validate_intake
from diagpro.domain.ports import Analyzer
from tests.builders import CURRENCY


@dataclass(frozen=True)
class Case:
    payload: dict[str, object]
    codes: tuple[tuple[str, str], ...] = ()  # (code as cited, words of its decoded meaning)
    likely: tuple[str, ...] = ()  # any of these words in the most likely cause
    urgency: Urgency = Urgency.SOON
    extra: dict[str, object] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "ford_f150_misfire_lean": Case(
        {
            "equipmentType": "gas-trucks",
            "make": "Ford",
            "model": "F-150",
            "year": "2015",
            "mileageHours": "142,000",
            "errorCodes": "P0301, P0171",
            "symptoms": ["Rough idle", "Hesitation when accelerating"],
            "problemDescription": "Truck shakes at idle and the check engine light came on.",
            "checkEngineLightOn": True,
            "troubleshootingSteps": "Cleaned the MAF sensor, no change",
            "whenStarted": "week",
            "frequency": "always",
            "shopQuoteAmount": "1,850.00",
            "shopRecommendation": "Replace all 8 ignition coils and spark plugs",
        },
        codes=(("P0301", "Cylinder 1 misfire"), ("P0171", "System too lean")),
        likely=("vacuum", "coil", "spark plug", "injector"),
    ),
    "cummins_dpf": Case(
        {
            "equipmentType": "diesel-trucks",
            "make": "Ram",
            "model": "2500 Cummins",
            "year": "2019",
            "mileageHours": "168k",
            "errorCodes": "SPN 3251 FMI 16",
            "symptoms": ["Frequent regens", "Loss of power"],
            "dpfRegenIssues": "regens every 100 miles and they keep getting interrupted",
            "problemDescription": "DPF light stays on; I mostly drive short trips to work.",
            "shopQuoteAmount": "4200",
            "shopRecommendation": "Replace DPF",
        },
        codes=(("SPN3251/FMI16", "DPF differential pressure"),),
        likely=("DPF",),
    ),
    "mower_no_start": Case(
        {
            "equipmentType": "lawn-garden",
            "make": "Toro",
            "model": "Recycler 22",
            "symptoms": ["Won't start"],
            "problemDescription": "Pull cord works but it won't start after sitting all winter.",
            "engineType": "Briggs & Stratton 163cc",
        },
        likely=("fuel", "carburetor"),
        urgency=Urgency.CAN_WAIT,
    ),
    "furnace_short_cycling": Case(
        {
            "equipmentType": "hvac",
            "make": "Carrier",
            "model": "59SC5",
            "mileageHours": "12",
            "symptoms": ["Short cycling"],
            "problemDescription": "Burners light then shut off after a few seconds. Blink code 3.",
            "systemType": "gas furnace",
            "shopQuoteAmount": "650",
            "shopRecommendation": "Replace control board",
        },
        codes=(("blink code 3", "manufacturer-specific"),),
        likely=("flame sensor", "airflow"),
    ),
    "iphone_restarts": Case(
        {
            "equipmentType": "electronics",
            "make": "Apple",
            "model": "iPhone 12",
            "mileageHours": "4",
            "symptoms": ["Restarts randomly", "Battery drains fast"],
            "problemDescription": "Restarts by itself several times a day, usually below 30%.",
            "batteryHealthPercent": "76",
            "osAndVersion": "iOS 17.5",
        },
        likely=("battery",),
    ),
    "outboard_overheating": Case(
        {
            "equipmentType": "marine",
            "make": "Yamaha",
            "model": "F150 outboard",
            "year": "2014",
            "mileageHours": "1,150 hours",
            "symptoms": ["Overheating", "Weak tell-tale stream"],
            "problemDescription": "Overheat alarm after 10 minutes at cruise.",
            "waterType": "saltwater",
            "previousRepairs": "Replaced the thermostat last season",
            "urgencyLevel": "high",
        },
        likely=("impeller", "cooling"),
        urgency=Urgency.STOP,
    ),
    "motorcycle_charging": Case(
        {
            "equipmentType": "motorcycles",
            "make": "Honda",
            "model": "CBR600RR",
            "year": "2009",
            "mileageHours": "38000",
            "symptoms": ["Battery dies after a ride", "Dim lights at idle"],
            "problemDescription": "Starts fine after charging but dies after a 30 minute ride.",
            "troubleshootingSteps": "Charged the battery and it tested fine at 12.7V",
            "shopQuoteAmount": "600",
            "shopRecommendation": "Replace stator and regulator",
        },
        likely=("charging", "stator"),
    ),
    "golf_cart_fallback": Case(
        {
            "equipmentType": "golf-carts",
            "make": "Club Car",
            "model": "Precedent",
            "year": "2016",
            "powerSource": "electric 48V",
            "batteryAge": "6 years",
            "symptoms": ["Won't move", "Clicking when pressing pedal"],
            "problemDescription": "Cart clicks when I press the pedal but won't go.",
            "errorCodes": "ERR-42 on the controller",
        },
        codes=(("ERR-42", "manufacturer-specific"),),
        likely=("battery", "solenoid"),
    ),
}


def _intake(payload: dict[str, object]) -> Intake:
    return validate_intake({"email": "owner@example.com", **payload})


def _analyse(payload: dict[str, object]) -> tuple[Intake, Analysis]:
    intake = _intake(payload)
    return intake, OfflineAnalyzer().analyse(intake, extract_codes(intake), CURRENCY)


def _text(analysis: Analysis) -> str:
    """Every text the analysis holds, one per line."""

    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, tuple):
            return [t for item in value for t in strings(item)]
        if hasattr(value, "__dataclass_fields__"):
            return [t for f in fields(value) for t in strings(getattr(value, f.name))]  # type: ignore[arg-type]
        return []

    return "\n".join(strings(analysis))


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[Case, Intake, Analysis]:
    spec = CASES[request.param]
    intake, analysis = _analyse(spec.payload)
    return spec, intake, analysis


def test_it_implements_the_analyzer_port() -> None:
    assert isinstance(OfflineAnalyzer(), Analyzer)


def test_the_analysis_is_complete_and_valid(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    assert analysis.check() is analysis
    assert 1 <= len(analysis.next_steps) <= 3
    assert analysis.shop_tests and analysis.shop_questions and analysis.how_it_works
    assert analysis.language == "en" and analysis.currency == "usd"
    assert (
        analysis.labour_rate_cents == knowledge().profiles[analysis_category(case)].labour_usd * 100
    )


def analysis_category(case: tuple[Case, Intake, Analysis]) -> str:
    return case[1].equipment_type


def test_it_is_labelled_offline(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    assert analysis.offline is True
    assert analysis.model == MODEL_NAME and MODEL_NAME.startswith("diagpro-offline-")
    assert analysis.prompt_tokens == 0 and analysis.output_tokens == 0
    # Neutral: the analysis says what wrote it (written_by), never what did not.
    assert "not the AI model" not in _text(analysis) and "without the AI" not in _text(analysis)


def test_it_names_the_equipment_and_cites_the_customers_own_words(
    case: tuple[Case, Intake, Analysis],
) -> None:
    _, intake, analysis = case
    assert analysis.equipment_assumed.startswith(intake.equipment_name)
    cited = " ".join(e for c in analysis.causes for e in c.evidence_for)
    assert any(s in cited for s in intake.symptoms) or any(c.code in cited for c in analysis.codes)


def test_it_decodes_the_customers_codes(case: tuple[Case, Intake, Analysis]) -> None:
    spec, intake, analysis = case
    # One decoded code per detected code, in order (the maker code book prints them its way:
    # "Flash code 3", "Error 42").
    assert len(analysis.codes) == len(analysis.detected_codes)
    for (code, meaning), found in zip(spec.codes, analysis.codes, strict=False):
        digits = "".join(ch for ch in code if ch.isdigit())
        assert digits and digits in "".join(ch for ch in found.code if ch.isdigit()), found
        if found.certainty == Certainty.UNKNOWN:  # not in any table: it names where to look
            assert "look it up in" in found.bearing or "confirm" in found.bearing, found
            assert found.meaning == ""
            continue
        assert meaning in f"{found.meaning} {found.bearing}", found
    assert analysis.detected_codes == extract_codes(intake)
    assert len(analysis.codes) == len(analysis.detected_codes)


def test_confidence_is_bounded_and_explained(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    assert 0 <= analysis.confidence_pct <= 85
    if analysis.confidence_pct < CONFIDENCE_THRESHOLD:
        assert analysis.data_needed
    else:
        assert analysis.data_needed == ()


def test_the_most_likely_cause_fits_the_evidence(case: tuple[Case, Intake, Analysis]) -> None:
    spec, _, analysis = case
    cause = analysis.most_likely_cause.lower()
    assert any(word.lower() in cause for word in spec.likely), cause
    assert len(analysis.most_likely_cause) < 200


def test_one_urgency_and_the_steps_agree_with_it(case: tuple[Case, Intake, Analysis]) -> None:
    spec, intake, analysis = case
    assert analysis.urgency.level == spec.urgency and analysis.urgency.reason
    stop = knowledge().profiles[intake.equipment_type].stop
    assert (analysis.next_steps[0] == stop) == (analysis.urgency.level == Urgency.STOP)


def test_the_ranked_causes_add_up_to_100(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    assert sum(c.likelihood_pct for c in analysis.causes) + analysis.other_pct == 100
    assert analysis.causes[0].likelihood_pct == analysis.confidence_pct


def test_costs_are_narrow_named_jobs_at_one_labour_rate(
    case: tuple[Case, Intake, Analysis],
) -> None:
    _, _, analysis = case
    rate = analysis.labour_rate_cents
    for cost in analysis.costs:
        assert cost.total_cents_high <= 1.5 * cost.total_cents_low, cost
        # The totals are the parts plus the hours at the one stated rate, to the nearest $5.
        low = cost.parts_cents_low + cost.labour_hours_low * rate
        assert abs(cost.total_cents_low - low) <= 250, cost
    assert analysis.cost_range_cents == (
        analysis.repairs[0].total_cents_low,
        analysis.repairs[0].total_cents_high,
    )


def test_the_shop_quote_is_compared_as_the_shop_wrote_it(
    case: tuple[Case, Intake, Analysis],
) -> None:
    _, intake, analysis = case
    quote = analysis.quote_check
    if intake.shop_quote_cents is None and not intake.shop_recommendation:
        assert quote is None
        return
    assert quote is not None and quote.shop_job == intake.shop_recommendation
    if quote.verdict != QuoteVerdict.NO_QUOTE:
        assert f"${round(intake.shop_quote_cents or 0, -2) // 100:,}" in quote.explanation


def test_sources_are_named_not_linked(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    text = _text(analysis)
    assert "http" not in text and "www." not in text
    assert 1 <= len(analysis.sources) <= 3


def test_the_same_input_gives_the_same_analysis(case: tuple[Case, Intake, Analysis]) -> None:
    spec, intake, analysis = case
    again = OfflineAnalyzer().analyse(intake, extract_codes(intake), CURRENCY)
    assert again == analysis
    assert _analyse(spec.payload)[1] == analysis


def test_a_vague_description_gives_a_valid_but_less_confident_analysis() -> None:
    _, vague = _analyse(
        {"equipmentType": "automotive", "problemDescription": "It makes a weird noise sometimes."}
    )
    _, detailed = _analyse(CASES["ford_f150_misfire_lean"].payload)
    assert vague.check() is vague
    assert vague.confidence_pct < detailed.confidence_pct
    assert vague.confidence_pct < CONFIDENCE_THRESHOLD and vague.data_needed
    needed = " ".join(vague.data_needed)
    assert "code scan" in needed and "make, model and year" in needed
    # With no make/model/year the analysis still says what the equipment is.
    assert vague.equipment_assumed.startswith("vehicle (Cars & SUVs)")


def test_an_older_model_year_alone_still_reads_as_equipment() -> None:
    _, analysis = _analyse(
        {"equipmentType": "marine", "year": "older", "symptoms": ["Overheating"]}
    )
    assert analysis.equipment_assumed == "boat (Marine, older model year)"


def test_input_that_matches_no_rule_still_gives_a_valid_analysis() -> None:
    _, analysis = _analyse({"equipmentType": "power-tools", "problemDescription": "Hmm."})
    assert analysis.check() is analysis
    assert "cannot be narrowed down" in analysis.most_likely_cause
    assert analysis.confidence_pct <= 35 and analysis.data_needed
    # Nothing to price until the tests find the fault.
    assert analysis.costs == () and analysis.cost_range_cents is None
    assert "only the diagnosis" in analysis.next_steps[-1]


@pytest.mark.parametrize("category", [c.key for c in CATEGORIES])
def test_every_category_gets_a_complete_analysis(category: str) -> None:
    _, analysis = _analyse(
        {"equipmentType": category, "symptoms": ["Won't start", "Overheating", "Leaking"]}
    )
    assert analysis.check() is analysis


def test_codes_are_decoded_from_tables_or_by_structure() -> None:
    kb = knowledge()
    profile = kb.profiles["automotive"]

    def meaning(family: CodeFamily, code: str) -> str:
        decoded = kb.decode(DetectedCode(family, code), profile)
        return f"{decoded.meaning} | {decoded.detail}"

    assert meaning(CodeFamily.OBD2, "P0420").startswith("Catalyst system efficiency")
    assert "Generic SAE-defined".lower() in meaning(CodeFamily.OBD2, "P0420").lower()
    assert "EVAP" in meaning(CodeFamily.OBD2, "P0455")
    assert "manufacturer-specific" in meaning(CodeFamily.OBD2, "P1450")
    assert "auxiliary emission controls" in meaning(CodeFamily.OBD2, "P1450")
    assert "generic" in meaning(CodeFamily.OBD2, "P3400") and "manufacturer" in meaning(
        CodeFamily.OBD2, "P3000"
    )
    assert "ignition system or misfire" in meaning(CodeFamily.OBD2, "P0399")
    assert "transmission" in meaning(CodeFamily.OBD2, "P0899")
    assert "body" in meaning(CodeFamily.OBD2, "B1234")
    assert "chassis" in meaning(CodeFamily.OBD2, "C0999")
    assert "Lost communication with the engine control module" in meaning(CodeFamily.OBD2, "U0100")
    assert "network" in meaning(CodeFamily.OBD2, "U0999")
    proprietary = meaning(CodeFamily.J1939, "SPN520198/FMI7")
    assert "Manufacturer-proprietary" in proprietary
    assert "mechanical system not responding" in proprietary
    assert "Engine oil pressure" in meaning(CodeFamily.J1939, "SPN100/FMI1")
    assert "SAE J1939-71" in meaning(CodeFamily.J1939, "SPN9999/FMI31")
    assert all(str(n) in kb.j1939["fmis"] for n in range(32))
    # Without the maker code book, maker codes are not decoded: the analysis says where to look.
    intake = _intake({"equipmentType": "hvac", "errorCodes": "ERR-42"})
    analysis = OfflineAnalyzer(code_book=None).analyse(intake, extract_codes(intake), CURRENCY)
    (code,) = analysis.codes
    assert code.certainty == Certainty.UNKNOWN and code.meaning == ""
    assert "confirm it in the LED code chart" in code.bearing


def test_a_part_already_replaced_ranks_lower_and_is_stated_as_a_fact() -> None:
    payload = dict(CASES["ford_f150_misfire_lean"].payload)
    _, before = _analyse(payload)
    _, after = _analyse({**payload, "previousRepairs": "Replaced the ignition coil last month"})
    assert any(
        f.fact == 'You reported: "Replaced the ignition coil last month"' for f in after.facts_used
    )
    coil = "A failing ignition coil on the misfiring cylinder"

    def pct(analysis: Analysis) -> int:
        return next((c.likelihood_pct for c in analysis.causes if c.cause == coil), 0)

    assert pct(after) < pct(before)


def test_merely_mentioning_a_part_does_not_count_as_a_repair() -> None:
    _, analysis = _analyse(CASES["motorcycle_charging"].payload)
    assert "You reported" not in _text(analysis)
    payload = {**CASES["ford_f150_misfire_lean"].payload, "troubleshootingSteps": ""}
    _, analysis = _analyse({**payload, "previousRepairs": "Did not replace the coil yet"})
    assert "You reported" not in _text(analysis)


def test_a_coil_swap_that_kept_the_misfire_rules_the_coil_out() -> None:
    payload = {
        **CASES["ford_f150_misfire_lean"].payload,
        "troubleshootingSteps": "Swapped coil 1 and coil 2; the misfire stayed on cylinder 1.",
    }
    _, analysis = _analyse(payload)
    assert [r.cause for r in analysis.ruled_out] == [
        "A failing ignition coil on the misfiring cylinder"
    ]
    assert "stayed on cylinder 1" in analysis.facts_used[0].fact
    assert all("Coil swap" not in t.name for t in analysis.shop_tests)
    assert all("coil" not in c.cause.lower() for c in analysis.causes)


def test_advice_fits_the_machine() -> None:
    """A Duramax gets no grid heater; a phone no fan; a mower that does not crank no spark test;
    a wide-band Honda no switching test."""
    _, duramax = _analyse(
        {
            "equipmentType": "diesel-trucks",
            "make": "Chevrolet",
            "model": "Silverado 2500HD Duramax",
            "symptoms": ["Hard to start when cold", "White smoke on startup"],
        }
    )
    assert "grid heater" not in _text(duramax).lower()
    _, cummins = _analyse(
        {
            "equipmentType": "diesel-trucks",
            "make": "Ram",
            "model": "2500 6.7 Cummins",
            "symptoms": ["Hard to start when cold"],
        }
    )
    assert "grid heater" in _text(cummins).lower()
    _, phone = _analyse(
        {
            "equipmentType": "electronics",
            "model": "iPhone 13",
            "symptoms": ["Gets hot", "Overheating"],
        }
    )
    assert "Fan and vent" not in _text(phone) and "dust-clogged fan" not in _text(phone)
    _, mower = _analyse(
        {"equipmentType": "lawn-garden", "problemDescription": "It just clicks and won't crank."}
    )
    assert "spark test" not in _text(mower).lower()
    _, honda = _analyse(
        {
            "equipmentType": "automotive",
            "make": "Honda",
            "year": "2014",
            "model": "Accord",
            "errorCodes": "P0420",
        }
    )
    assert "Oxygen sensor switching test" not in _text(honda) and "Air-fuel" in _text(honda)


def test_an_inducement_countdown_is_soon_not_stop() -> None:
    """The truck still drives: get it to a shop before the speed limit bites."""
    _, semi = _analyse(
        {
            "equipmentType": "semi-trucks",
            "make": "Freightliner",
            "model": "Cascadia",
            "eldEcmFaultCodes": "SPN 5246 FMI 0, SPN 4364 FMI 18",
            "problemDescription": "Dash says speed will be limited; DEF quality warning.",
        }
    )
    assert "SCR" in semi.most_likely_cause or "DEF" in semi.most_likely_cause
    assert semi.urgency.level == Urgency.SOON
    assert "inducement" in semi.urgency.reason


@pytest.mark.parametrize(
    ("payload", "flag"),
    [
        ({"equipmentType": "automotive", "symptoms": ["Grinding when braking"]}, "Brake"),
        ({"equipmentType": "automotive", "symptoms": ["Death wobble at 50 mph"]}, "Steering"),
        ({"equipmentType": "gas-trucks", "problemDescription": "Strong fuel smell."}, "Fuel"),
        ({"equipmentType": "rvs", "problemDescription": "The CO alarm went off."}, "carbon"),
        ({"equipmentType": "hvac", "symptoms": ["CO detector beeping"]}, "carbon monoxide"),
        ({"equipmentType": "farm-ag", "symptoms": ["Engine overheating"]}, "Overheating"),
        ({"equipmentType": "automotive", "errorCodes": "P0217"}, "Overheating"),
        ({"equipmentType": "marine", "symptoms": ["Running hot"]}, "Do not leave the dock"),
    ],
)
def test_hazards_in_the_symptoms_mean_stop(payload: dict[str, object], flag: str) -> None:
    _, analysis = _analyse(payload)
    assert analysis.urgency.level == Urgency.STOP
    assert flag in analysis.urgency.reason
    # The first next step says what to do now, in the category's words.
    profile = knowledge().profiles[str(payload["equipmentType"])]
    assert analysis.next_steps[0] == profile.stop


def test_the_customers_emergency_means_stop_and_high_means_at_least_soon() -> None:
    mower: dict[str, object] = {
        "equipmentType": "lawn-garden",
        "symptoms": ["Won't start after winter"],
    }
    assert _analyse(mower)[1].urgency.level == Urgency.CAN_WAIT
    assert _analyse({**mower, "urgencyLevel": "high"})[1].urgency.level == Urgency.SOON
    _, emergency = _analyse({**mower, "urgencyLevel": "emergency"})
    assert emergency.urgency.level == Urgency.STOP
    assert "safety concern" in emergency.urgency.reason


def test_a_safety_item_as_the_likeliest_cause_means_stop() -> None:
    """No alert word, but the likeliest cause itself is a hazard (CO from a cracked exchanger)."""
    _, furnace = _analyse(
        {
            "equipmentType": "hvac",
            "problemDescription": "I was told the heat exchanger has a crack.",
        }
    )
    assert furnace.most_likely_cause.startswith("A cracked heat exchanger")
    assert furnace.urgency.level == Urgency.STOP
    assert furnace.urgency.reason.startswith("A cracked heat exchanger")


def test_one_warning_per_hazard() -> None:
    """A car's own brake warning replaces the generic one rather than adding to it."""
    _, analysis = _analyse({"equipmentType": "automotive", "symptoms": ["Brake pedal sinks"]})
    warnings = (analysis.urgency.reason, *analysis.safety)
    assert len([w for w in warnings if "brake" in w.lower()]) == 1


def test_details_that_describe_the_equipment_are_not_complaints() -> None:
    """An engine brake, a smart thermostat or an ABS bike is not a brake or thermostat fault."""
    _, semi = _analyse(
        {
            "equipmentType": "semi-trucks",
            "engineBrakeType": "Jacobs compression brake",
            "symptoms": ["Loss of power"],
        }
    )
    assert "rake" not in semi.urgency.reason and not any("rake" in s for s in semi.safety)
    _, bike = _analyse(
        {**CASES["motorcycle_charging"].payload, "absEquipped": True, "driveType": "chain"}
    )
    assert not any("brake" in c.cause.lower() for c in bike.causes)


def test_a_part_said_to_work_fine_is_not_a_complaint() -> None:
    _, tractor = _analyse(
        {
            "equipmentType": "farm-ag",
            "problemDescription": "Loader is slow. Steering still works normally.",
        }
    )
    assert tractor.urgency.level != Urgency.STOP


def test_a_battery_health_below_80_percent_is_evidence_and_above_is_not() -> None:
    base = {"equipmentType": "electronics", "symptoms": ["Screen flickers"]}

    def battery(analysis: Analysis) -> bool:
        return any("battery" in c.cause.lower() for c in analysis.causes)

    assert battery(_analyse({**base, "batteryHealthPercent": "72"})[1])
    assert not battery(_analyse({**base, "batteryHealthPercent": "95"})[1])


def test_a_lettered_p2_code_is_not_called_a_hybrid_code() -> None:
    kb = knowledge()
    decoded = kb.decode(DetectedCode(CodeFamily.OBD2, "P2B00"), kb.profiles["automotive"])
    assert "hybrid" not in decoded.detail
    hybrid = kb.decode(DetectedCode(CodeFamily.OBD2, "P0A80"), kb.profiles["automotive"])
    assert "hybrid" in hybrid.detail


def test_a_spanish_description_gets_a_spanish_analysis() -> None:
    _, analysis = _analyse(
        {
            "equipmentType": "hvac",
            "problemDescription": "La calefacción no calienta. El inductor arranca pero el "
            "quemador nunca prende y la luz de la tarjeta parpadea.",
        }
    )
    assert analysis.language == "es"
    assert "interruptor de presión" in analysis.most_likely_cause
    assert any("Nunca puentee" in d for d in analysis.do_not)


def test_the_catalogue_template_holds_every_text_a_customer_can_read() -> None:
    """knowledge.pot is the extraction of translatable_texts(): out of date, this fails."""
    texts = translatable_texts()
    assert "Your own finding points here: {fact}." in texts
    assert knowledge().causes["pressure_switch"].name in texts
    with (Path(diagpro.__file__).parent / "locale" / "knowledge.pot").open("rb") as template:
        ids = {m.id for m in read_po(template) if m.id}
    # The template also holds the writer's sentences, extracted from its Python by make messages.
    assert set(texts) <= ids


def test_the_knowledge_base_is_consistent_and_ships_in_the_package() -> None:
    kb = knowledge()
    assert set(kb.profiles) == {c.key for c in CATEGORIES}
    assert "gen_undetermined" in kb.causes
    referenced = {c for r in kb.rules for c, _ in r.causes}
    assert referenced <= set(kb.causes)
    # Every cause and category says how to test it, with the reading that decides it.
    for cause in kb.causes.values():
        assert cause.repair and cause.tests
        assert all(t.name and t.how and t.expected for t in cause.tests)
    assert all(p.baseline_tests and p.stop and p.labour_usd > 0 for p in kb.profiles.values())
    package_dir = os.path.dirname(diagpro.__file__)
    data_dir = os.path.join(package_dir, "adapters", "offline_analyzer", "data")
    assert os.path.isfile(os.path.join(data_dir, "obd2.json"))


@pytest.mark.process
def test_output_does_not_depend_on_hash_seeds() -> None:
    """Set iteration order changes between processes; a report must not."""
    script = (
        "import json,sys;"
        "from tests.unit.test_offline_analyzer import CASES, _analyse;"
        "from dataclasses import asdict;"
        "print(json.dumps([asdict(_analyse(c.payload)[1]) for c in CASES.values()]))"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]


def test_a_quote_in_another_currency_is_never_compared_with_the_dollar_data() -> None:
    intake = _intake({**CASES["ford_f150_misfire_lean"].payload, "shopQuoteAmount": "1250"})
    analysis = OfflineAnalyzer().analyse(intake, extract_codes(intake), "eur")
    assert analysis.currency == "usd"  # its amounts stay US dollars, and say so
    quote = analysis.quote_check
    assert quote is not None and quote.verdict == QuoteVerdict.NO_QUOTE
    assert "1,250.00 EUR is not compared" in quote.explanation
    assert "EUR" not in " ".join(analysis.next_steps)
    dollars = OfflineAnalyzer().analyse(intake, extract_codes(intake), "usd").quote_check
    assert dollars is not None and dollars.verdict != QuoteVerdict.NO_QUOTE


def test_a_part_the_owner_already_serviced_is_not_asked_about() -> None:
    """'When were the fuel filters last changed?' is answered by 'replaced the fuel filter'."""
    payload = {
        "equipmentType": "diesel-trucks",
        "make": "Chevrolet",
        "model": "Silverado 2500HD Duramax",
        "errorCodes": "P0087",
        "problemDescription": "Goes into reduced power towing uphill with P0087.",
    }
    _, before = _analyse(payload)
    assert any("fuel filters were last changed" in d for d in before.data_needed)
    _, after = _analyse({**payload, "previousRepairs": "Replaced the fuel filter two weeks ago"})
    assert not any("last changed" in d for d in after.data_needed), after.data_needed
