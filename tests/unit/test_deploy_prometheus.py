"""deploy/service-with-prometheus.yaml and deploy/run-monitoring.yaml: the Cloud Run service with
the Managed Service for Prometheus sidecar is deploy/service.yaml plus the sidecar and nothing
else, and the sidecar scrapes the port diagpro serves its counters on, keyless on loopback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from diagpro.config import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SIDECAR_IMAGE = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/"


def _load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


def _containers(service: Any) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = service["spec"]["template"]["spec"]["containers"]
    return containers


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_it_is_the_service_plus_the_sidecar_and_nothing_else() -> None:
    plain, with_sidecar = _load("service.yaml"), _load("service-with-prometheus.yaml")
    stripped = copy.deepcopy(with_sidecar)
    template = stripped["spec"]["template"]
    del template["metadata"]["annotations"]["run.googleapis.com/container-dependencies"]
    main, collector = template["spec"]["containers"]
    assert collector["name"] == "collector" and collector["image"].startswith(SIDECAR_IMAGE)
    template["spec"]["containers"] = [main]
    del template["spec"]["volumes"]
    assert main.pop("name") == "diagpro"
    main["env"] = [e for e in main["env"] if e["name"] != "DIAGPRO_METRICS_PORT"]
    assert stripped == plain


def test_the_collector_starts_after_diagpro_and_reads_the_config_from_its_secret() -> None:
    service = _load("service-with-prometheus.yaml")
    template = service["spec"]["template"]
    depends = json.loads(
        template["metadata"]["annotations"]["run.googleapis.com/container-dependencies"]
    )
    assert depends == {"collector": ["diagpro"]}
    _, collector = _containers(service)
    [mount] = collector["volumeMounts"]
    [volume] = template["spec"]["volumes"]
    # The sidecar reads its RunMonitoring from /etc/rungmp/config.yaml.
    assert mount == {"name": volume["name"], "mountPath": "/etc/rungmp/"}
    assert volume["secret"]["secretName"] == "diagpro-run-monitoring"
    assert volume["secret"]["items"] == [{"key": "latest", "path": "config.yaml"}]


def test_the_sidecar_scrapes_the_port_diagpro_serves_keyless_on_loopback() -> None:
    config = _load("run-monitoring.yaml")
    # What the sidecar's config generator accepts (it refuses any other apiVersion or kind).
    assert (config["apiVersion"], config["kind"]) == (
        "monitoring.googleapis.com/v1beta",
        "RunMonitoring",
    )
    [endpoint] = config["spec"]["endpoints"]
    main, _ = _containers(_load("service-with-prometheus.yaml"))
    port = _env(main)["DIAGPRO_METRICS_PORT"]
    assert endpoint["port"] == port and endpoint["path"] == "/metrics"
    assert "DIAGPRO_METRICS_ADDRESS" not in _env(main)  # the default: loopback
    settings = load_settings({"DIAGPRO_METRICS_PORT": port})
    assert settings.metrics_port.enabled and not settings.metrics_port.needs_key
    # Not the service's own port, where GET /metrics wants a key the sidecar cannot send.
    assert int(port) != main["ports"][0]["containerPort"]
