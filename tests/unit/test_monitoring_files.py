"""deploy/monitoring/: every file parses, and every log filter names a logger diagpro has and
text diagpro logs, so a reworded log line cannot silently blind an alert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
SOURCE = "\n".join(p.read_text() for p in (ROOT / "src" / "diagpro").rglob("*.py"))
FILES = sorted(MONITORING.rglob("*.yaml"))
LOG_METRICS = sorted((MONITORING / "log-metrics").glob("*.yaml"))
POLICIES = sorted((MONITORING / "policies").glob("*.yaml"))


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
    names = {p.stem for p in POLICIES}
    assert names == {
        "paid-order-without-report",
        "webhook-failures",
        "model-errors",
        "auto-refunds",
        "sweep-not-running",
    }


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
    query = _load(MONITORING / "policies" / "paid-order-without-report.yaml")["conditions"]
    assert "diagpro_paid_orders_without_report" in str(query)
    assert "diagpro_paid_orders_without_report" in SOURCE
