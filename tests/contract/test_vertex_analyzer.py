"""VertexAnalyzer through the real google-genai client against a local Vertex stub: what it
sends, what it keeps from the answer, and how it retries (delays injected, never slept)."""

from __future__ import annotations

import logging
import socket
import time
import traceback

import pytest

from diagpro.adapters.gemini.prompt import OPEN_MARK, build_prompt
from diagpro.adapters.gemini.schema import response_schema
from diagpro.adapters.gemini.vertex import (
    DEFAULT_MODEL,
    MAX_OUTPUT_TOKENS,
    STUB_TOKEN,
    VertexAnalyzer,
    vertex_client,
)
from diagpro.domain.codes import extract_codes
from diagpro.domain.errors import AnalysisInvalid, AnalysisUnavailable
from tests.builders import CURRENCY, make_intake
from tests.stubs import vertex_stub as vs

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


def make_analyzer(client, waits: Waits | None = None, **options) -> VertexAnalyzer:
    waits = waits or Waits()
    options.setdefault("timeout_seconds", 5)
    return VertexAnalyzer(client, DEFAULT_MODEL, sleep=waits.sleep, clock=waits.clock, **options)


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
        f"{DEFAULT_MODEL}:generateContent"
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
    assert config["temperature"] == pytest.approx(0.2)
    assert config["maxOutputTokens"] == MAX_OUTPUT_TOKENS
    # Thinking off. google-genai 3.6 sends this key in snake_case (Vertex's JSON parser takes
    # both spellings), so accept either.
    assert config["thinkingConfig"] in ({"thinkingBudget": 0}, {"thinking_budget": 0})


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
        vs.SAFETY,
        vs.MAX_TOKENS,
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
        analyzer = VertexAnalyzer(client, timeout_seconds=0.3, sleep=lambda _: None)
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
    assert "confidence_pct" in raised.value.message
    for text in (printed, caplog.text):
        assert vs.SECRET_WORDS not in text
        assert OPEN_MARK not in text  # nor the prompt


# --- not retried --------------------------------------------------------------------------------


def test_model_not_found_is_not_retried_and_names_the_setting(vertex, stub):
    stub.script(vs.ERROR_404)
    waits = Waits()
    with pytest.raises(AnalysisUnavailable) as raised:
        make_analyzer(vertex, waits).analyse(INTAKE, CODES, CURRENCY)
    message = raised.value.message
    assert "VAI_MODEL" in message
    assert DEFAULT_MODEL in message
    assert LOCATION in message
    assert PROJECT in message
    assert len(stub.requests) == 1
    assert waits.delays == []


def test_permission_denied_is_not_retried_and_names_the_role(vertex, stub):
    stub.script(vs.ERROR_403)
    with pytest.raises(AnalysisUnavailable, match=r"roles/aiplatform\.user"):
        make_analyzer(vertex).analyse(INTAKE, CODES, CURRENCY)
    assert len(stub.requests) == 1
