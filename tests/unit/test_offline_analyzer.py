"""The offline analyzer: complete, customer-specific, deterministic reports without a network."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

import diagpro
from diagpro.adapters.offline_analyzer import MODEL_NAME, OfflineAnalyzer
from diagpro.adapters.offline_analyzer.knowledge import knowledge
from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, SECTION_KEYS, Analysis, Urgency
from diagpro.domain.codes import CodeFamily, DetectedCode, extract_codes
from diagpro.domain.equipment import CATEGORIES
from diagpro.domain.intake import Intake, validate_intake
from diagpro.domain.payment import format_money
from diagpro.domain.ports import Analyzer
from tests.builders import CURRENCY


@dataclass(frozen=True)
class Case:
    payload: dict[str, object]
    codes: tuple[tuple[str, str], ...] = ()  # (code as cited, words of its decoded meaning)
    likely: tuple[str, ...] = ()  # any of these words in the most likely cause
    safety: tuple[str, ...] = ()  # category safety points that must appear
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
        safety=("Brakes",),
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
        safety=("regeneration",),
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
        safety=("spark-plug wire",),
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
        safety=("carbon-monoxide", "EPA Section 608"),
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
        safety=("Back up your data",),
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
        safety=("Do not leave the dock",),
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
        safety=("Brakes, tyres",),
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
        safety=("hydrogen",),
    ),
}


def _intake(payload: dict[str, object]) -> Intake:
    return validate_intake({"email": "owner@example.com", **payload})


def _analyse(payload: dict[str, object]) -> tuple[Intake, Analysis]:
    intake = _intake(payload)
    return intake, OfflineAnalyzer().analyse(intake, extract_codes(intake), CURRENCY)


def _text(analysis: Analysis, key: str | None = None) -> str:
    sections = [analysis.section(key)] if key else list(analysis.sections)
    return "\n".join(f"{s.summary}\n" + "\n".join(s.points) for s in sections)


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
    assert tuple(s.key for s in analysis.sections) == SECTION_KEYS
    for section in analysis.sections:
        assert section.summary.strip(), section.key
        assert section.points and all(p.strip() for p in section.points), section.key
    assert len(analysis.section("next_steps_summary").points) == 3


def test_it_is_labelled_offline(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    assert analysis.offline is True
    assert analysis.model == MODEL_NAME and MODEL_NAME.startswith("diagpro-offline-")
    assert analysis.prompt_tokens == 0 and analysis.output_tokens == 0
    for key in ("primary_diagnosis", "source_verification"):
        summary = analysis.section(key).summary
        assert "offline analysis" in summary.lower() and "knowledge base" in summary
        assert "not the AI model" not in summary  # neutral: it says what wrote it, not what did not


def test_it_names_the_equipment_and_cites_the_customers_own_words(
    case: tuple[Case, Intake, Analysis],
) -> None:
    _, intake, analysis = case
    primary = _text(analysis, "primary_diagnosis")
    assert intake.equipment_name in analysis.section("primary_diagnosis").summary
    for symptom in intake.symptoms:
        assert symptom in primary
    if intake.mileage_hours:
        assert intake.mileage_hours in primary
    for history in (intake.previous_repairs, intake.troubleshooting_steps):
        assert history in primary


def test_it_decodes_the_customers_codes(case: tuple[Case, Intake, Analysis]) -> None:
    spec, intake, analysis = case
    primary = _text(analysis, "primary_diagnosis")
    for code, meaning in spec.codes:
        points = analysis.section("primary_diagnosis").points
        line = next(p for p in points if p.startswith(f"{code}: "))
        assert meaning in line, line
    assert analysis.detected_codes == extract_codes(intake)
    assert ("No fault codes were given" in primary) == (not analysis.detected_codes)


def test_confidence_is_bounded_and_explained(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    assert 0 <= analysis.confidence_pct <= 85
    assert f"{analysis.confidence_pct}%" in analysis.section("primary_diagnosis").summary
    primary = _text(analysis, "primary_diagnosis")
    if analysis.confidence_pct < CONFIDENCE_THRESHOLD:
        # The PDF prints data_needed in its own box; the primary diagnosis points to it.
        assert analysis.data_needed
        assert "listed under Data Needed" in primary
        assert not any(item in primary for item in analysis.data_needed)
    else:
        assert analysis.data_needed == ()


def test_the_most_likely_cause_fits_the_evidence(case: tuple[Case, Intake, Analysis]) -> None:
    spec, _, analysis = case
    cause = analysis.most_likely_cause.lower()
    assert any(word.lower() in cause for word in spec.likely), cause
    assert len(analysis.most_likely_cause) < 200
    assert analysis.ranked_causes[0].cause == analysis.most_likely_cause


def test_the_structured_fields_match_the_sections(case: tuple[Case, Intake, Analysis]) -> None:
    spec, _, analysis = case
    assert analysis.urgency == spec.urgency
    causes = analysis.ranked_causes
    assert causes[0].likelihood_pct == analysis.confidence_pct
    assert sum(c.likelihood_pct for c in causes) <= 100
    assert all(c.reasoning and c.evidence for c in causes)
    ranked = analysis.section("likely_causes_ranked").points
    for n, c in enumerate(causes, start=1):
        assert ranked[n - 1].startswith(f"{n}. {c.cause}: {c.likelihood_pct}%.")
    assert analysis.costs and analysis.cost_range_cents == (
        analysis.costs[0].total_cents_low,
        analysis.costs[0].total_cents_high,
    )
    costs = _text(analysis, "cost_breakdown")
    for cost in analysis.costs:
        total = (
            f"{format_money(cost.total_cents_low, 'usd')} to "
            f"{format_money(cost.total_cents_high, 'usd')}"
        )
        assert f"{cost.repair}: parts" in costs and total in costs
    verification = _text(analysis, "diagnostic_verification")
    assert all(
        f"{t.name}: {t.how}. Expected: {t.expected}." in verification for t in analysis.shop_tests
    )
    assert analysis.section("next_steps_summary").points == analysis.next_steps
    assert len(analysis.next_steps) == 3
    interrogation = analysis.section("shop_interrogation").points
    assert interrogation[: len(analysis.shop_questions)] == tuple(
        f"Q{n}: {q}" for n, q in enumerate(analysis.shop_questions, start=1)
    )
    recommendations = analysis.section("recommendations").points
    assert all(f"Now: {flag}" in recommendations for flag in analysis.safety_flags)


def test_the_ranked_causes_add_up_to_100(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    points = analysis.section("likely_causes_ranked").points
    total = sum(int(p.rsplit(": ", 1)[1].split("%")[0]) for p in points if p.startswith("Other"))
    total += sum(int(p.split("%.")[0].rsplit(" ", 1)[1]) for p in points if p[0].isdigit())
    assert total == 100
    assert points[0].startswith("1. ") and f"{analysis.confidence_pct}%" in points[0]


def test_the_shop_quote_is_compared_in_money_format(case: tuple[Case, Intake, Analysis]) -> None:
    _, intake, analysis = case
    costs = _text(analysis, "cost_breakdown")
    assert "$" in costs and "USD" in costs
    if intake.shop_quote_cents is None:
        assert "No shop quote was given" in costs
    else:
        quote = format_money(intake.shop_quote_cents, CURRENCY)
        assert f"Your shop quote of {quote}" in costs
        assert quote in _text(analysis, "negotiation_tactics")


def test_safety_points_for_the_category(case: tuple[Case, Intake, Analysis]) -> None:
    spec, _, analysis = case
    recommendations = _text(analysis, "recommendations")
    for phrase in spec.safety:
        assert phrase in recommendations


def test_sources_are_named_not_linked(case: tuple[Case, Intake, Analysis]) -> None:
    _, _, analysis = case
    text = _text(analysis)
    assert "http" not in text and "www." not in text
    assert len(analysis.section("source_verification").points) >= 3


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
    # With no make/model/year the report still says what the equipment is.
    assert "your vehicle (Cars & SUVs)" in vague.section("primary_diagnosis").summary


def test_an_older_model_year_alone_still_reads_as_equipment() -> None:
    _, analysis = _analyse(
        {"equipmentType": "marine", "year": "older", "symptoms": ["Overheating"]}
    )
    assert "your boat (Marine, older model year)" in analysis.section("primary_diagnosis").summary


def test_input_that_matches_no_rule_still_gives_a_valid_analysis() -> None:
    _, analysis = _analyse({"equipmentType": "power-tools", "problemDescription": "Hmm."})
    assert analysis.check() is analysis
    assert "cannot be narrowed down" in analysis.most_likely_cause
    assert analysis.confidence_pct <= 35 and analysis.data_needed
    # Nothing to price until the tests find the fault, but still three next steps.
    assert analysis.costs == () and analysis.cost_range_cents is None
    assert len(analysis.next_steps) == 3 and "only the diagnosis" in analysis.next_steps[2]


@pytest.mark.parametrize("category", [c.key for c in CATEGORIES])
def test_every_category_gets_a_complete_analysis(category: str) -> None:
    _, analysis = _analyse(
        {"equipmentType": category, "symptoms": ["Won't start", "Overheating", "Leaking"]}
    )
    assert analysis.check() is analysis
    assert all(s.summary for s in analysis.sections)


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
    # Equipment and blink codes: no invented meanings.
    for family, code in ((CodeFamily.EQUIPMENT, "ERR-42"), (CodeFamily.BLINK, "FLASH:3-2")):
        text = meaning(family, code)
        assert "manufacturer-specific" in text and "look it up" in text


def test_a_part_already_replaced_ranks_lower() -> None:
    payload = dict(CASES["ford_f150_misfire_lean"].payload)
    _, before = _analyse(payload)
    _, after = _analyse({**payload, "previousRepairs": "Replaced the ignition coil last month"})
    assert 'you already reported "Replaced the ignition coil last month"' in _text(
        after, "differential_diagnosis"
    )
    coil = "A failing ignition coil on the misfiring cylinder"

    def pct(analysis: Analysis) -> int:
        line = next(p for p in analysis.section("likely_causes_ranked").points if coil in p)
        return int(line.split(": ")[1].split("%")[0])

    assert pct(after) < pct(before)


def test_merely_mentioning_a_part_does_not_count_as_a_repair() -> None:
    _, analysis = _analyse(CASES["motorcycle_charging"].payload)
    assert "you already reported" not in _text(analysis)
    payload = {**CASES["ford_f150_misfire_lean"].payload, "troubleshootingSteps": ""}
    _, analysis = _analyse({**payload, "previousRepairs": "Did not replace the coil yet"})
    assert "you already reported" not in _text(analysis)


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
    assert semi.urgency == Urgency.SOON
    assert semi.safety_flags and "inducement" in semi.safety_flags[0]
    assert semi.section("recommendations").summary.startswith("Urgency: soon. Act on the points")
    assert "FMCSA" in _text(semi, "recommendations")


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
    assert analysis.urgency == Urgency.STOP
    assert flag in analysis.safety_flags[0]
    assert analysis.section("recommendations").summary.startswith("Urgency: stop.")
    # The first next step says what to do now, in the category's words.
    profile = knowledge().profiles[str(payload["equipmentType"])]
    assert analysis.next_steps[0] == profile.stop


def test_the_customers_emergency_means_stop_and_high_means_at_least_soon() -> None:
    mower = {"equipmentType": "lawn-garden", "symptoms": ["Won't start after winter"]}
    assert _analyse(mower)[1].urgency == Urgency.CAN_WAIT
    assert _analyse({**mower, "urgencyLevel": "high"})[1].urgency == Urgency.SOON
    _, emergency = _analyse({**mower, "urgencyLevel": "emergency"})
    assert emergency.urgency == Urgency.STOP
    assert "emergency" in emergency.safety_flags[0]


def test_a_safety_item_as_the_likeliest_cause_means_stop() -> None:
    """No alert word, but the likeliest cause itself is a hazard (CO from a cracked exchanger)."""
    _, furnace = _analyse(
        {
            "equipmentType": "hvac",
            "problemDescription": "I was told the heat exchanger has a crack.",
        }
    )
    assert furnace.most_likely_cause.startswith("A cracked heat exchanger")
    assert furnace.urgency == Urgency.STOP
    assert furnace.safety_flags[0].startswith("A cracked heat exchanger")


def test_one_warning_per_hazard() -> None:
    """A car's own brake warning replaces the generic one rather than adding to it."""
    _, analysis = _analyse({"equipmentType": "automotive", "symptoms": ["Brake pedal sinks"]})
    assert len([f for f in analysis.safety_flags if "brake" in f.lower()]) == 1


def test_details_that_describe_the_equipment_are_not_complaints() -> None:
    """An engine brake, a smart thermostat or an ABS bike is not a brake or thermostat fault."""
    _, semi = _analyse(
        {
            "equipmentType": "semi-trucks",
            "engineBrakeType": "Jacobs compression brake",
            "symptoms": ["Loss of power"],
        }
    )
    assert not any("rake" in flag for flag in semi.safety_flags)
    _, bike = _analyse(
        {**CASES["motorcycle_charging"].payload, "absEquipped": True, "driveType": "chain"}
    )
    assert not any("brake" in c.cause.lower() for c in bike.ranked_causes)


def test_a_battery_health_below_80_percent_is_evidence_and_above_is_not() -> None:
    base = {"equipmentType": "electronics", "symptoms": ["Screen flickers"]}

    def battery(analysis: Analysis) -> bool:
        return any("battery" in c.cause.lower() for c in analysis.ranked_causes)

    assert battery(_analyse({**base, "batteryHealthPercent": "72"})[1])
    assert not battery(_analyse({**base, "batteryHealthPercent": "95"})[1])


def test_a_lettered_p2_code_is_not_called_a_hybrid_code() -> None:
    kb = knowledge()
    decoded = kb.decode(DetectedCode(CodeFamily.OBD2, "P2B00"), kb.profiles["automotive"])
    assert "hybrid" not in decoded.detail
    hybrid = kb.decode(DetectedCode(CodeFamily.OBD2, "P0A80"), kb.profiles["automotive"])
    assert "hybrid" in hybrid.detail


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
    assert all(p.baseline_tests and p.stop for p in kb.profiles.values())
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
