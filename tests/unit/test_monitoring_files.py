"""deploy/monitoring/: every file parses, and every log filter names a logger diagpro has and
text diagpro logs, so a reworded log line cannot silently blind an alert. The stuck-order
metrics' filters are also run against the very JSON line diagpro writes."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import yaml

from diagpro.application.orders import ALERT_AFTER
from diagpro.entrypoints.http.observability import JsonFormatter
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
SOURCE = "\n".join(p.read_text() for p in (ROOT / "src" / "diagpro").rglob("*.py"))
FILES = sorted(MONITORING.rglob("*.yaml"))
LOG_METRICS = sorted((MONITORING / "log-metrics").glob("*.yaml"))
# policies/: what works with log lines only; prometheus/: the optional PromQL ones (a scrape).
DEFAULT_POLICIES = sorted((MONITORING / "policies").glob("*.yaml"))
PROMQL_POLICIES = sorted((MONITORING / "prometheus").glob("*.yaml"))
POLICIES = DEFAULT_POLICIES + PROMQL_POLICIES


def _filters(document: object) -> list[str]:
    """Every ``filter`` value in a parsed document, at any depth."""
    if isinstance(document, dict):
        found = [v for k, v in document.items() if k == "filter" and isinstance(v, str)]
        return found + [f for v in document.values() for f in _filters(v)]
    if isinstance(document, list):
        return [f for v in document for f in _filters(v)]
    return []


def _load(path: Path) -> dict[str, object]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    return document


def test_the_alerts_asked_for_are_all_there() -> None:
    names = {p.stem for p in DEFAULT_POLICIES}
    assert names == {
        "paid-order-without-report",
        "webhook-failures",
        "model-errors",
        "auto-refunds",
        "sweep-not-running",
    }
    assert {p.stem for p in PROMQL_POLICIES} == {"paid-order-without-report"}


def test_the_default_policies_need_no_scrape() -> None:
    for path in DEFAULT_POLICIES:
        assert "conditionPrometheusQueryLanguage" not in path.read_text(), path.name


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_a_policy_has_what_gcloud_needs(path: Path) -> None:
    policy = _load(path)
    assert {"displayName", "combiner", "conditions", "documentation"} <= set(policy)
    for condition in policy["conditions"]:  # type: ignore[attr-defined]
        kinds = set(condition) - {"displayName"}
        assert len(kinds) == 1 and kinds <= {
            "conditionThreshold",
            "conditionAbsent",
            "conditionMatchedLog",
            "conditionPrometheusQueryLanguage",
        }, condition
        if "conditionMatchedLog" in condition:
            # Cloud Monitoring refuses a log-match policy without a notification rate limit.
            assert policy["alertStrategy"]["notificationRateLimit"]["period"]  # type: ignore[index]


@pytest.mark.parametrize("path", LOG_METRICS, ids=lambda p: p.stem)
def test_a_log_metric_is_a_counter(path: Path) -> None:
    metric = _load(path)
    assert metric["metricDescriptor"] == {"metricKind": "DELTA", "valueType": "INT64", "unit": "1"}


def test_policies_use_only_log_metrics_defined_here() -> None:
    defined = {p.stem for p in LOG_METRICS}
    used = {
        name
        for path in POLICIES
        for f in _filters(_load(path))
        for name in re.findall(r"logging\.googleapis\.com/user/(\w+)", f)
    }
    assert used and used <= defined


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_filters_match_what_diagpro_logs(path: Path) -> None:
    for text in _filters(_load(path)):
        for logger in re.findall(r'jsonPayload\.logger="([^"]+)"', text):
            assert f'getLogger("{logger}")' in SOURCE, f"{path.name}: no logger {logger}"
        for message in re.findall(r'jsonPayload\.message:"([^"]+)"', text):
            assert message in SOURCE, f"{path.name}: diagpro never logs {message!r}"
        for route in re.findall(r'jsonPayload\.path="([^"]+)"', text):
            assert f'"{route}"' in SOURCE, f"{path.name}: no route {route}"


def test_the_stuck_orders_query_names_the_gauge() -> None:
    query = _load(MONITORING / "prometheus" / "paid-order-without-report.yaml")["conditions"]
    assert "diagpro_paid_orders_without_report" in str(query)
    assert "diagpro_paid_orders_without_report" in SOURCE
    # The PromQL leaves out the buckets under ALERT_AFTER, as the log-based policy's lines do.
    assert ALERT_AFTER.total_seconds() == 600 and "<5m|5m-10m" in str(query)


def _matches(line: dict[str, object], log_filter: str) -> bool:
    """Whether a JSON log line meets a filter made of ``jsonPayload.F="v"`` (equals) and
    ``jsonPayload.F:"v"`` (has, for text: contains) clauses joined by AND, as Cloud Logging's
    query language reads them (https://cloud.google.com/logging/docs/view/logging-query-language).
    Any other clause fails the test: this reader would not know what it means."""
    for clause in re.split(r"\s+AND\s+", log_filter.strip()):
        found = re.fullmatch(r'jsonPayload\.(\w+)(=|:)"([^"]*)"', clause.strip())
        assert found, f"clause {clause!r} is not one this test can evaluate"
        field, op, value = found.groups()
        actual = str(line.get(field, ""))
        if (op == "=" and actual != value) or (op == ":" and value not in actual):
            return False
    return True


@pytest.fixture
def overdue_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The JSON lines one check writes with one order overdue, as `diagpro serve` writes them."""
    h = Harness.build(tmp_path)
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.clock.advance(minutes=11)
    caplog.set_level(logging.INFO, logger="diagpro.orders")
    assert h.container.check_overdue_orders()() == 1
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "diagpro.orders"]


def test_the_stuck_order_metrics_count_the_lines_diagpro_writes(
    overdue_lines: list[dict[str, object]],
) -> None:
    overdue_filter = _load(MONITORING / "log-metrics" / "diagpro_overdue_orders.yaml")["filter"]
    checks_filter = _load(MONITORING / "log-metrics" / "diagpro_order_checks.yaml")["filter"]
    assert isinstance(overdue_filter, str) and isinstance(checks_filter, str)
    overdue = [line for line in overdue_lines if _matches(line, overdue_filter)]
    checks = [line for line in overdue_lines if _matches(line, checks_filter)]
    assert len(overdue) == 1 and overdue[0]["level"] == "WARNING"
    assert len(checks) == 1 and checks[0]["level"] == "INFO"
    policies = {
        name: str(_load(MONITORING / "policies" / f"{name}.yaml")["conditions"])
        for name in ("paid-order-without-report", "sweep-not-running")
    }
    assert "user/diagpro_overdue_orders" in policies["paid-order-without-report"]
    assert "user/diagpro_order_checks" in policies["sweep-not-running"]
