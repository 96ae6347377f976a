"""VertexAnalyzer through the real google-genai client against a local Vertex stub: what it
sends, what it keeps from the answer, and how it retries (delays injected, never slept)."""

from __future__ import annotations

import logging
import socket
import time
import traceback

import pytest
from dependency_injector import providers

from diagpro.adapters.gemini.models import THINKING_ALLOWANCE_TOKENS
from diagpro.adapters.gemini.output_budget import MODEL_OUTPUT_CEILING, answer_tokens, output_cap
from diagpro.adapters.gemini.prompt import OPEN_MARK, build_prompt
from diagpro.adapters.gemini.schema import response_schema
from diagpro.adapters.gemini.vertex import STUB_TOKEN, VertexAnalyzer, vertex_client
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.domain.analysis import Certainty, DecodedCode
from diagpro.domain.codes import extract_codes
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
)
from diagpro.domain.submission import ModelFallback, Status
from tests.builders import CURRENCY, make_intake
from tests.harness import Harness
from tests.stubs import vertex_stub as vs

MODEL = "gemini-3.5-flash"  # the configured model (VAI_MODEL) in these tests
PROJECT = "demo-proj"
LOCATION = "europe-west1"
INTAKE = make_intake()
CODES = extract_codes(INTAKE)


@pytest.fixture(scope="module")
def stub():
    with vs.VertexStub(slow_seconds=1.0) as server:
        yield server


@pytest.fixture
def vertex(stub):
    stub.reset()
    client = vertex_client(PROJECT, LOCATION, base_url=stub.url, timeout_seconds=5)
    yield client
    client.close()


class Waits:
    """An injected sleep that records the delays and moves a fake clock forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_analyzer(
    client, waits: Waits | None = None, model: str = MODEL, **options
) -> VertexAnalyzer:
    waits = waits or Waits()
    options.setdefault("timeout_seconds", 5)
    return VertexAnalyzer(client, model, sleep=waits.sleep, clock=waits.clock, **options)


def thinking_sent(config: dict) -> dict | None:
    """The thinking config as sent. google-genai 3.6 writes its keys in snake_case (Vertex's
    JSON parser takes both spellings), so both are read."""
    thinking = config.get("thinkingConfig", config.get("thinking_config"))
    if thinking is None:
        return None
    return {key.replace("_", "").lower(): value for key, value in thinking.items()}


def safety_sent(body: dict) -> dict[str, str]:
    settings = body.get("safetySettings", body.get("safety_settings", []))
    return {s["category"]: s["threshold"] for s in settings}


# --- a good answer ------------------------------------------------------------------------------


def test_a_good_answer_gives_a_checked_analysis_with_model_and_tokens(vertex, stub):
    analysis = make_analyzer(vertex).analyse(INTAKE, CODES, CURRENCY)
    assert analysis.check() is analysis
    assert analysis.model == vs.MODEL_VERSION
    assert (analysis.prompt_tokens, analysis.output_tokens) == (vs.PROMPT_TOKENS, vs.OUTPUT_TOKENS)
    assert analysis.detected_codes == CODES
    assert not analysis.offline
    assert len(stub.requests) == 1


def test_the_request_carries_instruction_customer_data_schema_and_bearer(vertex, stub):
    make_analyzer(vertex).analyse(INTAKE, CODES, CURRENCY)
    prompt = build_prompt(INTAKE, CODES, CURRENCY)
    (request,) = stub.requests
    assert request.path == (
        f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/"
        f"{MODEL}:generateContent"
    )
    assert request.headers["authorization"] == f"Bearer {STUB_TOKEN}"
    body = request.body
    assert body["systemInstruction"]["parts"] == [{"text": prompt.system_instruction}]
    (turn,) = body["contents"]
    assert turn["role"] == "user"
    assert turn["parts"] == [{"text": prompt.user_text}]
    assert OPEN_MARK in turn["parts"][0]["text"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == response_schema()
    # Gemini 3 keeps its default temperature (Google's guidance): none is sent.
    assert "temperature" not in config
    # The cap is the schema's longest answer plus room for Gemini 3's thinking.
    assert config["maxOutputTokens"] == answer_tokens() + THINKING_ALLOWANCE_TOKENS
    assert thinking_sent(config) == {"thinkinglevel": "MEDIUM"}
    assert safety_sent(body) == {
        "HARM_CATEGORY_DANGEROUS_CONTENT": "BLOCK_ONLY_HIGH",
        "HARM_CATEGORY_HARASSMENT": "BLOCK_MEDIUM_AND_ABOVE",
        "HARM_CATEGORY_HATE_SPEECH": "BLOCK_MEDIUM_AND_ABOVE",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT": "BLOCK_MEDIUM_AND_ABOVE",
    }


def test_the_default_cap_holds_the_longest_answer_the_schema_allows():
    assert answer_tokens() < output_cap(THINKING_ALLOWANCE_TOKENS)
    assert output_cap(THINKING_ALLOWANCE_TOKENS) <= MODEL_OUTPUT_CEILING


@pytest.mark.parametrize(
    ("model", "thinking"),
    [
        ("gemini-3.5-flash", {"thinkinglevel": "MEDIUM"}),
        ("gemini-3.1-pro-preview", {"thinkinglevel": "MEDIUM"}),
        ("gemini-3-pro-preview", {"thinkinglevel": "LOW"}),  # 3.0 Pro: LOW or HIGH only
        ("gemini-2.5-flash", {"thinkingbudget": 0}),  # 2.5 takes a budget; 0 turns it off
        ("gemini-2.5-pro", {"thinkingbudget": 128}),  # 2.5 Pro cannot turn it off
        ("acme-reasoner-7", None),  # unknown family: nothing it might refuse
    ],
)
def test_thinking_is_configured_per_model_family(vertex, stub, model, thinking):
    make_analyzer(vertex, model=model).analyse(INTAKE, CODES, CURRENCY)
    (request,) = stub.requests
    assert request.model == model
    assert thinking_sent(request.generation_config) == thinking


def test_a_spanish_description_gets_a_spanish_analysis(vertex, stub):
    intake = make_intake(
        problem_description=(
            "La camioneta falla en frío y tiembla mucho en ralentí; el taller dice que hay que "
            "cambiar todas las bobinas y los inyectores."
        ),
        troubleshooting_steps="cambié la bobina 1 por la 2 y la falla siguió en el cilindro 1",
        symptoms=("tiembla en ralentí",),
    )
    analysis = make_analyzer(vertex).analyse(intake, CODES, CURRENCY)
    assert analysis.language == "es"
    assert analysis.ruled_out[0].cause == "Bobina de encendido del cilindro 1"
    assert analysis.most_likely_cause.startswith("Inyector del cilindro 1")


def test_the_code_book_is_asked_in_the_customers_language_and_sent_as_data(vertex, stub):
    asked = []

    def decode(intake, codes, language):
        asked.append((codes, language))
        return (DecodedCode("P0301", "OBD-II", "Cylinder 1 misfire", Certainty.KNOWN),)

    make_analyzer(vertex, decode=decode).analyse(INTAKE, CODES, CURRENCY)
    assert asked == [(CODES, "en")]
    (request,) = stub.requests
    assert '"meaning": "Cylinder 1 misfire"' in request.body["contents"][0]["parts"][0]["text"]


def test_a_model_id_is_required():
    with pytest.raises(ValueError, match="VAI_MODEL"):
        VertexAnalyzer(object(), "")  # type: ignore[arg-type]


# --- retried failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        vs.ERROR_429,
        vs.ERROR_500,
        vs.ERROR_503,
        vs.BROKEN_JSON,
        vs.BAD_SCHEMA,
        vs.EMPTY,
    ],
)
def test_a_passing_failure_is_retried_and_the_second_answer_is_kept(vertex, stub, failure):
    stub.script(failure, vs.GOOD)
    waits = Waits()
    analysis = make_analyzer(vertex, waits).analyse(INTAKE, CODES, CURRENCY)
    assert analysis.check() is analysis
    assert len(stub.requests) == 2
    assert len(waits.delays) == 1


def test_backoff_grows_exponentially_with_full_jitter(vertex, stub):
    stub.script(vs.ERROR_429, vs.ERROR_429, vs.ERROR_429, vs.GOOD)
    draws = iter([0.9, 0.6, 0.7])
    waits = Waits()
    analyzer = make_analyzer(vertex, waits, base_delay=1.0, rng=lambda: next(draws))
    assert analyzer.analyse(INTAKE, CODES, CURRENCY).check()
    # Full jitter: a random fraction of the exponential cap (1, 2, 4 s).
    assert waits.delays == pytest.approx([0.9 * 1, 0.6 * 2, 0.7 * 4])
    assert waits.delays == sorted(waits.delays)
    assert len(stub.requests) == 4


def test_full_jitter_spreads_the_delays_below_the_cap(vertex, stub):
    stub.script(vs.ERROR_503, vs.GOOD)
    waits = Waits()
    make_analyzer(vertex, waits, rng=lambda: 0.25, base_delay=2.0).analyse(INTAKE, CODES, CURRENCY)
    assert waits.delays == [pytest.approx(0.5)]


def test_persistent_503_gives_up_within_the_budget(vertex, stub):
    stub.default = vs.ERROR_503
    waits = Waits()
    analyzer = make_analyzer(
        vertex, waits, budget_seconds=10, base_delay=2.0, max_attempts=10, rng=lambda: 1.0
    )
    with pytest.raises(AnalysisUnavailable) as raised:
        analyzer.analyse(INTAKE, CODES, CURRENCY)
    # Waits of 2 and 4 s fit; a third of 8 s would end past the 10 s budget.
    assert waits.delays == [2.0, 4.0]
    assert waits.now <= 10
    assert len(stub.requests) == 3
    assert "503" in raised.value.message
    assert "budget" in raised.value.message


def test_attempts_are_capped(vertex, stub):
    stub.default = vs.ERROR_500
    with pytest.raises(AnalysisUnavailable, match="4 attempt"):
        make_analyzer(vertex, max_attempts=4).analyse(INTAKE, CODES, CURRENCY)
    assert len(stub.requests) == 4


def test_a_slow_answer_times_out_and_is_retried(stub):
    stub.reset()
    stub.script(vs.SLOW, vs.GOOD)
    client = vertex_client(PROJECT, LOCATION, base_url=stub.url, timeout_seconds=0.3)
    try:
        analyzer = VertexAnalyzer(client, MODEL, timeout_seconds=0.3, sleep=lambda _: None)
        started = time.monotonic()
        assert analyzer.analyse(INTAKE, CODES, CURRENCY).check()
        assert time.monotonic() - started < stub.slow_seconds
    finally:
        client.close()
    assert len(stub.requests) == 2


def test_a_refused_connection_is_retried_then_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the client calls it
    client = vertex_client(PROJECT, LOCATION, base_url=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(AnalysisUnavailable, match="connection failed"):
            make_analyzer(client, max_attempts=2).analyse(INTAKE, CODES, CURRENCY)
    finally:
        client.close()


def test_persistent_bad_output_is_invalid_and_never_quotes_the_model(vertex, stub, caplog):
    stub.default = vs.BAD_SCHEMA
    stub.script(vs.BROKEN_JSON)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AnalysisInvalid) as raised:
        make_analyzer(vertex, max_attempts=3).analyse(INTAKE, CODES, CURRENCY)
    assert len(stub.requests) == 3
    printed = "".join(traceback.format_exception(raised.value))
    assert "other_pct" in raised.value.message
    for text in (printed, caplog.text):
        assert vs.SECRET_WORDS not in text
        assert OPEN_MARK not in text  # nor the prompt


def test_an_answer_breaking_rules_the_schema_cannot_state_is_repaired_not_retried(vertex, stub):
    # The attack: the model answers shares adding up to 175% (and four next steps, and a range
    # upside down) on every request. Refused, that used up the retries and the paid report.
    stub.default = vs.RULE_BREAKING
    analysis = make_analyzer(vertex).analyse(INTAKE, CODES, CURRENCY)
    assert len(stub.requests) == 1
    assert sum(c.likelihood_pct for c in analysis.causes) + analysis.other_pct == 100
    assert len(analysis.next_steps) == 3
    assert analysis.costs[0].total_cents_low < analysis.costs[0].total_cents_high
    assert len(analysis.corrections) == 3
    assert analysis.check() is analysis


def test_a_model_answering_wrong_shapes_every_time_still_gives_a_paid_report(
    vertex, stub, tmp_path
):
    # The attack end to end: Gemini answers in the wrong shape on every request. The worker
    # does not spend its retry budget on more billed calls: the offline analyzer stands in.
    stub.default = vs.BAD_SCHEMA
    h = Harness.build(tmp_path)
    h.container.analyzer.override(providers.Object(make_analyzer(vertex, max_attempts=2)))
    h.container.stand_in_analyzer.override(providers.Object(OfflineAnalyzer()))
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    done = h.submission(sub.id)
    assert done.status == Status.READY and len(stub.requests) == 2
    assert done.analysis is not None and done.analysis.stands_in_for_model
    assert done.analysis_fallback is ModelFallback.OFFLINE
    assert "wrong shape" in done.model_failure and vs.SECRET_WORDS not in done.model_failure


# --- not retried unchanged -----------------------------------------------------------------------


def test_an_answer_cut_off_at_the_cap_is_asked_once_more_with_the_largest_cap(vertex, stub):
    stub.script(vs.MAX_TOKENS, vs.GOOD)
    waits = Waits()
    analysis = make_analyzer(vertex, waits).analyse(INTAKE, CODES, CURRENCY)
    assert analysis.check() is analysis
    first, second = stub.requests
    assert first.generation_config["maxOutputTokens"] < MODEL_OUTPUT_CEILING
    assert second.generation_config["maxOutputTokens"] == MODEL_OUTPUT_CEILING
    assert waits.delays == []  # not a passing fault: no backoff


def test_an_answer_cut_off_twice_is_refused_without_a_third_request(vertex, stub):
    stub.default = vs.MAX_TOKENS
    with pytest.raises(AnalysisRefused, match="MAX_TOKENS"):
        make_analyzer(vertex).analyse(INTAKE, CODES, CURRENCY)
    assert len(stub.requests) == 2


def test_a_safety_stop_is_refused_at_once(vertex, stub):
    stub.script(vs.SAFETY)
    waits = Waits()
    with pytest.raises(AnalysisRefused, match="SAFETY"):
        make_analyzer(vertex, waits).analyse(INTAKE, CODES, CURRENCY)
    assert len(stub.requests) == 1
    assert waits.delays == []


def test_model_not_found_is_a_configuration_error_naming_the_setting(vertex, stub):
    stub.script(vs.ERROR_404)
    waits = Waits()
    with pytest.raises(AnalysisMisconfigured) as raised:
        make_analyzer(vertex, waits).analyse(INTAKE, CODES, CURRENCY)
    message = raised.value.message
    assert "VAI_MODEL" in message
    assert MODEL in message
    assert LOCATION in message
    assert PROJECT in message
    assert "404" in message
    assert len(stub.requests) == 1
    assert waits.delays == []


def test_a_rejected_schema_is_a_configuration_error_that_never_quotes_the_server(vertex, stub):
    stub.script(vs.ERROR_400_SCHEMA)
    with pytest.raises(AnalysisMisconfigured) as raised:
        make_analyzer(vertex).analyse(INTAKE, CODES, CURRENCY)
    assert "response schema" in raised.value.message
    assert "400 INVALID_ARGUMENT" in raised.value.message
    assert vs.SECRET_WORDS not in raised.value.message
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    ("failure", "named"),
    [
        (vs.ERROR_400, "VAI_MODEL"),
        (vs.ERROR_401, "Application Default Credentials"),
        (vs.ERROR_403, "roles/aiplatform.user"),
    ],
)
def test_a_refused_request_is_a_configuration_error_naming_the_fix(vertex, stub, failure, named):
    stub.script(failure)
    with pytest.raises(AnalysisMisconfigured) as raised:
        make_analyzer(vertex).analyse(INTAKE, CODES, CURRENCY)
    assert named in raised.value.message
    assert vs.SECRET_WORDS not in raised.value.message
    assert len(stub.requests) == 1


def test_analyse_once_sends_the_real_schema_once_and_does_not_retry(vertex, stub):
    stub.script(vs.ERROR_503)
    with pytest.raises(AnalysisUnavailable, match="503"):
        make_analyzer(vertex).analyse_once(INTAKE, CODES, CURRENCY, 5)
    (request,) = stub.requests
    assert request.response_schema == response_schema()
