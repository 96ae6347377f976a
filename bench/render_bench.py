"""Render benchmark: the full diagpro report beside a bare WeasyPrint render of one page.

Two kinds of "cold", both measured in one run of this script:

* **fresh process**: for each of the two documents, a new Python process (this script with
  ``--child``) imports WeasyPrint, builds the renderer (for the report) and renders once; it
  reports the import, construction and first-render times. This is what the first report after a
  worker (or IsolatedRenderer's child) starts costs.
* **in-process**, in this process and in this order:

  1. **bare**: a one-page HTML document (a heading, a few paragraphs, a list and a small table,
     the host's sans-serif font, a "Page N of M" footer), ``HTML(string=...).write_pdf()``:
     cold is the first WeasyPrint render in the process (Pango and fontconfig start-up, the
     user-agent stylesheet), warm the median of ``--runs`` more.
  2. **report, typical**: ``WeasyPrintRenderer()`` (timed on its own: the Jinja template, the
     packaged fonts fetched through the asset-only fetcher and registered with fontconfig, the
     stylesheet), then its first render (cold) and the median of ``--runs`` more (warm).
  3. **report, worst case**: every field at its limit in wide glyphs, the same way.
  4. **report, offline F-150**: a real report, the golden case ``GOLDEN_CASE``'s intake through
     ``OfflineAnalyzer``, built as ``tests/golden/test_golden_cases.py`` builds it.

  The four first (cold) renders run in that order; then ``--runs`` rounds each render all
  four once (warm), so background load is spread across the rows. Warm figures are medians,
  wall-clock and process CPU time (``time.process_time``, which load from other processes
  does not inflate the way it does wall-clock).

The typical report is ``tests/report_documents.make_document()``: a 2015 F-150 misfiring, with
the structured analysis of ``tests/builders.make_analysis()`` (an owner's coil swap ruling the
coil out, two decoded codes, three ranked causes, owner checks, shop tests, two repairs and a
worst case, a like-for-like quote check). Timings are taken around the render call
(``time.perf_counter``, and ``time.process_time`` for CPU); the PDFs stay in memory.

    .venv/bin/python bench/render_bench.py [--runs 10]

Not part of the test suite. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_CASE = "tech_f150_coil_swap_stayed"  # a real report: the offline analyzer's, 4 pages

BARE_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bare</title><style>
@page { size: letter; margin: 0.85in 0.75in;
        @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; } }
html { font-family: sans-serif; font-size: 9pt; line-height: 1.42; }
table { width: 100%; border-collapse: separate; border-spacing: 0; }
td, th { text-align: left; padding: 3pt 6pt; border-bottom: 0.5pt solid #ccc; }
</style></head><body>
<h1>Bare WeasyPrint page</h1>
<p>A one-page reference document rendered with WeasyPrint's defaults and the host's sans-serif
font, to compare diagpro's full report with the cost of WeasyPrint itself on this machine.</p>
<p>Misfire on cylinder 1 since last week, worse when cold. The shop quoted $1,250.00 for six coils
and injectors. Codes P0301 and P0171 were stored; plugs were replaced at 100,000 miles.</p>
<ul><li>Rough idle when cold</li><li>Check engine light flashing under load</li>
<li>Loss of power uphill</li></ul>
<table><tr><th>Make</th><td>Ford</td></tr><tr><th>Model</th><td>F-150</td></tr>
<tr><th>Year</th><td>2015</td></tr><tr><th>Mileage</th><td>98,000</td></tr></table>
</body></html>
"""


@dataclass(frozen=True)
class Row:
    name: str
    cold_ms: float
    warm_ms: float
    spread_ms: tuple[float, float]  # min, max of the warm runs
    cpu_ms: float  # median process CPU time of the warm runs
    pages: int
    size_kb: float


def _timed(render: Callable[[], bytes]) -> tuple[float, bytes]:
    start = time.perf_counter()
    pdf = render()
    return (time.perf_counter() - start) * 1000, pdf


def _timed_cpu(render: Callable[[], bytes]) -> tuple[float, float]:
    """(wall ms, process CPU ms) of one render."""
    wall, cpu = time.perf_counter(), time.process_time()
    render()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        info = subprocess.run(["pdfinfo", handle.name], capture_output=True, text=True, check=True)
    line = next(ln for ln in info.stdout.splitlines() if ln.startswith("Pages:"))
    return int(line.split()[1])


def measure(renders: dict[str, Callable[[], bytes]], runs: int) -> list[Row]:
    """Each render's first (cold) run in turn, then ``runs`` rounds of one warm run of each, so
    a burst of background load is spread across the rows instead of landing on one."""
    cold = {name: _timed(render) for name, render in renders.items()}
    warm: dict[str, list[tuple[float, float]]] = {name: [] for name in renders}
    for _ in range(runs):
        for name, render in renders.items():
            warm[name].append(_timed_cpu(render))
    rows = []
    for name, (cold_ms, pdf) in cold.items():
        walls = [wall for wall, _ in warm[name]]
        rows.append(
            Row(
                name=name,
                cold_ms=cold_ms,
                warm_ms=statistics.median(walls),
                spread_ms=(min(walls), max(walls)),
                cpu_ms=statistics.median(cpu for _, cpu in warm[name]),
                pages=_pages(pdf),
                size_kb=len(pdf) / 1024,
            )
        )
    return rows


def _documents() -> tuple[Any, Any]:
    """(typical, worst case) ReportDocuments, from tests/report_documents.py."""
    sys.path.insert(0, str(ROOT))  # tests/ is not installed; import it from the checkout
    documents = importlib.import_module("tests.report_documents")
    return documents.make_document(), documents.worst_case_document("WWWWWWW")


def _golden_document(case: str = GOLDEN_CASE) -> Any:
    """A real report: the golden case's intake through the offline analyzer, built into a
    ReportDocument the way tests/golden/test_golden_cases.py does."""
    sys.path.insert(0, str(ROOT))
    golden = importlib.import_module("tests.golden.test_golden_cases")
    return golden._document(golden._load(ROOT / "tests" / "golden" / "cases" / f"{case}.json"))


def child(kind: str) -> None:
    """In a fresh process: import, construct (report only), render once; print JSON timings."""
    start = time.perf_counter()
    from weasyprint import HTML

    import_ms = (time.perf_counter() - start) * 1000
    construct_ms = 0.0
    if kind == "bare":
        render_ms, _ = _timed(lambda: HTML(string=BARE_HTML).write_pdf())
    else:
        typical, _ = _documents()
        from diagpro.adapters.pdf import WeasyPrintRenderer

        start = time.perf_counter()
        renderer = WeasyPrintRenderer()
        construct_ms = (time.perf_counter() - start) * 1000
        render_ms, _ = _timed(lambda: renderer.render(typical))
    print(json.dumps({"import": import_ms, "construct": construct_ms, "render": render_ms}))


def fresh(kind: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    timings: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="warm renders per row (median)")
    parser.add_argument("--child", choices=("bare", "report"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    fresh_bare, fresh_report = fresh("bare"), fresh("report")

    import weasyprint
    from weasyprint import HTML

    typical, worst = _documents()
    from diagpro.adapters.pdf import WeasyPrintRenderer

    construct_ms, _ = _timed(lambda: (WeasyPrintRenderer(), b"")[1])
    golden = _golden_document()
    renderer, worst_renderer = WeasyPrintRenderer(), WeasyPrintRenderer()
    golden_renderer = WeasyPrintRenderer()
    bare, report, worst_row, golden_row = measure(
        {
            "bare WeasyPrint, 1 page": lambda: HTML(string=BARE_HTML).write_pdf(),
            "diagpro report, typical": lambda: renderer.render(typical),
            "diagpro report, worst case": lambda: worst_renderer.render(worst),
            "diagpro report, offline F-150": lambda: golden_renderer.render(golden),
        },
        args.runs,
    )

    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"weasyprint {weasyprint.__version__}, {platform.machine()}, "
        f"{_cpu_name()}; warm = median of {args.runs} runs"
    )
    print()
    print("fresh process, first render (ms):")
    header = f"{'render':<28} {'import':>7} {'construct':>9} {'render':>7} {'total':>7}"
    print(header)
    print("-" * len(header))
    for name, t in (("bare WeasyPrint, 1 page", fresh_bare), ("diagpro report", fresh_report)):
        total = t["import"] + t["construct"] + t["render"]
        print(
            f"{name:<28} {t['import']:>7.0f} {t['construct']:>9.0f} {t['render']:>7.0f} "
            f"{total:>7.0f}"
        )
    ratio = fresh_report["render"] / fresh_bare["render"]
    print(f"first render, report ÷ bare: {ratio:.1f}")
    print()
    print(f"in-process (WeasyPrintRenderer() took {construct_ms:.0f} ms):")
    header = (
        f"{'render':<30} {'pages':>5} {'KB':>6} {'cold ms':>8} {'warm ms':>8} "
        f"{'warm min–max':>13} {'cold ÷ bare':>11} {'warm ÷ bare':>11} {'CPU ms':>7} "
        f"{'CPU ÷ bare':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in (bare, report, worst_row, golden_row):
        spread = f"{row.spread_ms[0]:.0f}–{row.spread_ms[1]:.0f}"
        print(
            f"{row.name:<30} {row.pages:>5} {row.size_kb:>6.1f} {row.cold_ms:>8.0f} "
            f"{row.warm_ms:>8.0f} {spread:>13} {row.cold_ms / bare.cold_ms:>11.1f} "
            f"{row.warm_ms / bare.warm_ms:>11.1f} {row.cpu_ms:>7.0f} "
            f"{row.cpu_ms / bare.cpu_ms:>10.1f}"
        )
    print()
    print(
        f"typical report: {report.warm_ms / report.pages:.0f} ms per page warm "
        f"(bare: {bare.warm_ms / bare.pages:.0f} ms for its one page)"
    )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cores = Path("/proc/cpuinfo").read_text().count("processor\t:")
                return f"{cores} × {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
