"""A scrape of ``/metrics`` after the Gherkin suite shows the counts it caused.

The in-process scenarios run in a pytest of their own, in collection order (pytest-randomly
would shuffle this test among them otherwise), with the ``tests.features.suite_metrics`` plugin:
every scenario's container counts on one meter, spies at the ports keep the suite's own ledger
of what happened, and at the end ``/metrics`` is scraped through the HTTP app with an operator
key. Every counter in the scrape (and each histogram's count) must equal the ledger's figure,
and every counter must have one: a new counter fails here until the ledger counts it too. The
payment-to-report histogram is compared bucket by bucket, from the times the store kept.

Not compared: the durations of model calls, renders and webhook requests (wall-clock times no
ledger can know), and the gauge of paid orders waiting (each scenario has a database of its own;
tests/http/test_stuck_order.py follows it). The suite's analyzer stub (the offline analyzer)
bills no tokens, so the token and cost counters are compared at zero; the in-process driver
sends no webhook request, so that histogram's count is too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
# What tests/features/conftest.py reads to run against a deployed service instead.
_FEATURE_ENV = ("BASE_URL", "API_KEY", "WEBHOOK_SECRET", "CURRENCY", "WAIT_SECONDS")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _run_the_suite(out: Path, basetemp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DIAGPRO_", "STRIPE_", "PYTEST_")) and k not in _FEATURE_ENV
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/features",
        "-m",
        "not process",  # the in-process driver: the served one counts in its own process
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.features.suite_metrics",
        f"--suite-metrics={out}",
        f"--basetemp={basetemp}",
        "-q",
    ]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def _expected(ledger: dict[str, Any]) -> Samples:
    """What the scrape must show, from the ledger alone."""
    want: Samples = {}
    for outcome, n in ledger["orders"].items():
        want[_key("diagpro_orders_total", outcome=outcome)] = n
    for event_type, outcome, n in ledger["paymentEvents"]:
        want[_key("diagpro_payment_events_total", type=event_type, outcome=outcome)] = n
    for outcome, n in ledger["modelCalls"].items():
        want[_key("diagpro_model_calls_total", outcome=outcome)] = n
        want[_key("diagpro_model_call_duration_seconds_count", outcome=outcome)] = n
    tokens_in, tokens_out = ledger["inputTokens"], ledger["outputTokens"]
    want[_key("diagpro_model_input_tokens_total")] = tokens_in
    want[_key("diagpro_model_output_tokens_total")] = tokens_out
    prices = ledger["prices"]
    cost = (tokens_in * prices["input"] + tokens_out * prices["output"]) / 1_000_000
    want[_key("diagpro_model_cost_usd_total")] = cost
    for outcome, n in ledger["renders"].items():
        want[_key("diagpro_renders_total", outcome=outcome)] = n
    want[_key("diagpro_render_duration_seconds_count")] = ledger["renders"].get("ok", 0)
    for event, outcome, n in ledger["emails"]:
        want[_key("diagpro_emails_total", event=event, outcome=outcome)] = n
    # Every order of the suite made ready was paid (the ledger saw its payment written).
    want[_key("diagpro_paid_to_ready_seconds_count")] = ledger["orders"].get("ready", 0)
    assert len(ledger["paidToReadySeconds"]) == ledger["orders"].get("ready", 0), ledger
    want[_key("diagpro_webhook_duration_seconds_count")] = ledger["webhookRequests"]
    return want


def _counted(exposition: str) -> tuple[Samples, set[str]]:
    """Every counter's samples and every histogram's counts; and the counters' names."""
    seen: Samples = {}
    counters = set()
    for family in text_string_to_metric_families(exposition):
        if family.type == "counter":
            counters.add(family.name)
            wanted = f"{family.name}_total"
        elif family.type == "histogram":
            wanted = f"{family.name}_count"
        else:
            continue  # the _created timestamps; the suite's meter has no gauge
        for sample in family.samples:
            if sample.name == wanted:
                seen[_key(sample.name, **sample.labels)] = sample.value
    return seen, counters


def _paid_to_ready(exposition: str) -> tuple[dict[float, float], float]:
    """The payment-to-report histogram's cumulative buckets (by upper bound) and its sum."""
    [family] = [
        f
        for f in text_string_to_metric_families(exposition)
        if f.name == "diagpro_paid_to_ready_seconds"
    ]
    buckets = {float(s.labels["le"]): s.value for s in family.samples if s.name.endswith("_bucket")}
    [total] = [s.value for s in family.samples if s.name.endswith("_sum")]
    return buckets, total


def _nonzero(samples: Samples) -> Samples:
    # A labelled counter shows no sample until counted once: absent and 0 mean the same.
    return {key: value for key, value in samples.items() if value}


def test_a_scrape_after_the_gherkin_suite_shows_the_counts_it_caused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = _run_the_suite(out, tmp_path / "suite")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    ledger = json.loads((out / "ledger.json").read_text())
    seen, counters = _counted((out / "metrics.txt").read_text())
    want = _expected(ledger)

    # The suite did enough for the comparison to mean something.
    assert ledger["scenarios"] >= 10, ledger
    assert all(ledger["orders"].get(step) for step in ("saved", "paid", "ready")), ledger
    assert set(ledger["modelCalls"]) - {"ok"}, "no scenario made the model fail"

    counted_in_the_ledger = {name.removesuffix("_total") for name, _ in want if "_total" in name}
    assert counters == counted_in_the_ledger, "a counter the ledger does not count, or the reverse"
    cost = _key("diagpro_model_cost_usd_total")
    assert seen.pop(cost) == pytest.approx(want.pop(cost))
    assert _nonzero(seen) == _nonzero(want)

    # The payment-to-report times too, bucket by bucket: the suite moves its clock, so these are
    # the waits the scenarios made, from the times the store kept.
    buckets, total = _paid_to_ready((out / "metrics.txt").read_text())
    waits = ledger["paidToReadySeconds"]
    assert buckets == {le: sum(1 for w in waits if w <= le) for le in buckets}
    assert total == pytest.approx(sum(waits))
