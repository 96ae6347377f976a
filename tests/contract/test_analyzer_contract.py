"""The Analyzer contract: whatever writes the analysis (the offline analyzer, the scripted fake,
Gemini on Vertex against a local stub) returns a complete report or a domain error."""

from __future__ import annotations

import pytest

from diagpro.adapters.gemini.vertex import VertexAnalyzer, vertex_client
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.domain.codes import extract_codes
from diagpro.domain.errors import AnalysisUnavailable
from tests.analysis_text import analysis_text
from tests.builders import CURRENCY, make_intake
from tests.doubles import ScriptedAnalyzer
from tests.stubs.vertex_stub import VertexStub


@pytest.fixture(scope="module")
def vertex_stub():
    with VertexStub() as stub:
        yield stub


@pytest.fixture(params=["offline", "scripted", "vertex"])
def analyzer(request):
    if request.param == "vertex":
        stub = request.getfixturevalue("vertex_stub")
        stub.reset()  # answers well
        client = vertex_client("demo-proj", "europe-west1", base_url=stub.url, timeout_seconds=5)
        request.addfinalizer(client.close)
        return VertexAnalyzer(client, "gemini-3.5-flash", timeout_seconds=5, sleep=lambda _: None)
    offline = OfflineAnalyzer()
    return offline if request.param == "offline" else ScriptedAnalyzer(offline)


def test_the_analysis_is_complete_and_names_the_customers_codes(analyzer):
    intake = make_intake()
    codes = extract_codes(intake)
    analysis = analyzer.analyse(intake, codes, CURRENCY)
    assert analysis.check() is analysis
    assert analysis.detected_codes == codes
    assert analysis.model and analysis.language
    # The owner's coil swap is used as a test result: the coil is never ranked.
    assert all("coil" not in cause.cause.lower() for cause in analysis.causes)
    text = analysis_text(analysis)
    for code in codes:
        assert code.code in text


def test_the_scripted_fake_fails_like_a_model_then_answers():
    fake = ScriptedAnalyzer(OfflineAnalyzer(), [AnalysisUnavailable("429")])
    intake = make_intake()
    with pytest.raises(AnalysisUnavailable):
        fake.analyse(intake, (), CURRENCY)
    assert fake.analyse(intake, (), CURRENCY).check()
    assert len(fake.calls) == 2
