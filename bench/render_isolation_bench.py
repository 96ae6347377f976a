"""Render benchmark: what rendering in IsolatedRenderer's child process costs over WeasyPrint
in-process.

Builds one realistic report (an automotive intake analysed by the offline analyzer), warms up
both renderers, then renders it ``--renders`` times with each, alternating so background noise
hits both alike, and prints the median and spread. Also measures the child's cold start (the
first render through a fresh child: interpreter, WeasyPrint import, renderer construction, first
render), the bare round trip through the child (a renderer that returns a tiny fake PDF), and
the child's memory high-water marks, which is what ``DIAGPRO_RENDER_MEMORY_MB`` must leave room
for.

    .venv/bin/python bench/render_isolation_bench.py [--renders 10]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.adapters.pdf import WeasyPrintRenderer
from diagpro.adapters.pdf.isolation import IsolatedRenderer
from diagpro.domain.codes import extract_codes
from diagpro.domain.intake import validate_intake
from diagpro.domain.report import ReportDocument

INTAKE = {
    "equipmentType": "automotive",
    "email": "owner@example.com",
    "fullName": "Pat Example",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "mileageHours": "98000",
    "errorCodes": "P0301, P0171",
    "symptoms": ["rough idle", "check engine light flashing", "loss of power uphill"],
    "whenStarted": "week",
    "frequency": "often",
    "urgencyLevel": "high",
    "problemDescription": "Misfire on cold start; the shop says it needs new coils.",
    "previousRepairs": "spark plugs replaced last year",
    "troubleshootingSteps": "swapped coil 1 and 2, misfire stayed on cylinder 1",
    "shopQuoteAmount": "1250.00",
    "shopRecommendation": "replace all six coils and injectors",
}
# The bare round trip uses the tests' fake renderer; the child gets this sys.path, so it finds it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
FAKE = "tests.doubles:RecordingRenderer"


def make_document() -> ReportDocument:
    intake = validate_intake(INTAKE)
    analysis = OfflineAnalyzer().analyse(intake, extract_codes(intake), "usd")
    sid = "diag_1764158400000_0123456789abcdef01234567"
    return ReportDocument(sid, intake, analysis, datetime(2026, 11, 26, 12, 0, tzinfo=UTC), "usd")


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def memory(pid: int) -> str:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return ", ".join(f"{k} {fields[k].strip()}" for k in ("VmPeak", "VmHWM"))


def row(label: str, seconds: list[float], reference: float | None = None) -> str:
    median = statistics.median(seconds)
    spread = f"{min(seconds) * 1000:7.1f}–{max(seconds) * 1000:7.1f}"
    extra = "" if reference is None else f"   {(median - reference) * 1000:+7.1f} ms"
    return f"  {label:<36} {median * 1000:8.1f} ms   (min–max {spread} ms){extra}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=10, help="measured renders per row")
    args = parser.parse_args()

    document = make_document()
    direct = WeasyPrintRenderer()
    started = time.perf_counter()
    with IsolatedRenderer() as isolated, IsolatedRenderer(renderer_factory=FAKE) as fake:
        pdf = isolated.render(document)
        cold = time.perf_counter() - started
        assert isolated.pid is not None
        assert direct.render(document).startswith(b"%PDF-") and pdf.startswith(b"%PDF-")
        fake.render(document)

        inproc: list[float] = []
        child: list[float] = []
        trip: list[float] = []
        for _ in range(args.renders):
            inproc.append(timed(lambda: direct.render(document)))
            child.append(timed(lambda: isolated.render(document)))
            trip.append(timed(lambda: fake.render(document)))
        child_memory = memory(isolated.pid)

    print(f"python {platform.python_version()} on {platform.machine()}, {len(pdf):,}-byte PDF")
    print(f"median of {args.renders} warm renders, alternating:")
    reference = statistics.median(inproc)
    print(row("WeasyPrintRenderer, in-process", inproc))
    print(row("IsolatedRenderer (child process)", child, reference))
    print(row("child round trip, fake renderer", trip))
    print(f"  cold start + first render in a fresh child: {cold * 1000:.0f} ms")
    print(f"  render child memory: {child_memory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
