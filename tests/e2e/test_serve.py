"""``diagpro serve`` as an operator runs it: a real process on the embedded defaults, the whole
paid flow over HTTP (the local checkout delivering its signed event to the server's own webhook,
the in-process worker making a real PDF), a clean stop on SIGTERM, and a restart that keeps the
API key and the report."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import pdf_text
from tests.forms import send_form
from tests.server import json_lines, wait_for

pytestmark = pytest.mark.process

INTAKE = {
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "errorCodes": "P0301 P0171",
    "problemDescription": "Rough idle and shaking at stops, worse when cold",
    "fullName": "Pat Example",
    "email": "pat.owner@example.com",
}


def test_serve_runs_the_paid_flow_stops_cleanly_and_restarts_with_its_data(serve, tmp_path):
    server = serve()
    key = server.api_key()
    headers = {"x-api-key": key}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        saved = client.post(
            "/saveSubmission", json={"payload": INTAKE}, headers={"x-request-id": "e2e-save-1"}
        )
        assert saved.status_code == 200, saved.text
        assert saved.headers["x-request-id"] == "e2e-save-1"
        sid = saved.json()["submissionId"]

        checkout = client.post("/createCheckoutSession", json={"submissionId": sid})
        assert checkout.status_code == 200, checkout.text
        session_id = checkout.json()["sessionId"]
        assert checkout.json()["url"] == f"{server.url}/checkout/local/{session_id}"
        page = client.get(f"/checkout/local/{session_id}")
        assert page.status_code == 200
        assert "$4.99" in page.text

        paid = send_form(client, f"/checkout/local/{session_id}/pay")
        assert paid.status_code == 303
        assert paid.headers["location"] == f"/success?session_id={session_id}"

        # The local checkout delivers the signed event to /webhook/stripe in the background;
        # the in-process worker analyses and renders. Poll as the success page does.
        def ready() -> dict[str, Any] | None:
            status = client.get("/reports/status", params={"submissionId": sid})
            assert status.status_code in (200, 202), status.text
            return status.json() if status.status_code == 200 else None

        report = wait_for(ready, 60, "the report", interval=0.25)
        assert report["status"] == "ready"
        assert report["expiresInSeconds"] == 900
        download = httpx.get(report["downloadUrl"], timeout=10)  # the link needs no API key
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.content.startswith(b"%PDF")
        first_pdf = tmp_path / "first.pdf"
        first_pdf.write_bytes(download.content)
        assert "P0301" in pdf_text(first_pdf)
        assert (
            client.get("/checkout/session", params={"id": session_id}).json()["payment_status"]
            == "paid"
        )

    server.stop()
    log = json_lines(server.stderr())
    assert "worker started" in [entry["message"] for entry in log]
    access = [entry for entry in log if entry["logger"] == "diagpro.access"]
    assert access and all(entry["request_id"] for entry in access)
    assert any(
        entry["request_id"] == "e2e-save-1" and entry["path"] == "/saveSubmission"
        for entry in access
    )
    assert any(entry["path"] == "/webhook/stripe" and entry["status"] == 200 for entry in access)
    webhook = [entry for entry in log if entry["logger"] == "diagpro.webhook"]
    assert webhook and all(entry["request_id"] for entry in webhook)
    assert INTAKE["email"] not in server.stderr()
    # The key it made is never printed, neither in the banner nor in any log line.
    assert key not in server.stderr()
    assert key not in server.stdout()
    assert f"kept in {tmp_path / 'var' / 'secrets.json'}" in server.stdout()
    assert "jq -r .api_key" in server.stdout()

    again = serve()
    assert again.api_key() == key  # kept in the data folder
    with httpx.Client(base_url=again.url, headers=headers, timeout=10) as client:
        status = client.post("/analysisStatus", json={"submissionId": sid})
        assert status.status_code == 200
        assert status.json()["status"] == "ready"
        links = client.post("/getDownloadUrl", json={"submissionId": sid})
        assert links.status_code == 200, links.text
        fresh = links.json()["downloadUrl"]
        assert fresh.startswith(f"{again.url}/files/reports/{sid}.pdf?")
        download = httpx.get(fresh, timeout=10)
        assert download.status_code == 200
        assert download.content == first_pdf.read_bytes()
    again.stop()


def test_serve_takes_up_jobs_a_previous_run_left_behind(serve, env):
    # A payment recorded while no server ran (or by a server that crashed before working it).
    from tests.harness import container_for_tests

    container = container_for_tests(memory=False, env=env)
    sid = container.save_submission()(INTAKE).id
    self_checkout = container.self_checkout()
    assert self_checkout is not None
    signed = self_checkout.pay(container.open_checkout()(sid).id)
    container.receive_payment_event()(signed.payload, signed.signature)
    assert container.describe()(sid).submission.status.value == "paid"

    server = serve()
    headers = {"x-api-key": server.api_key()}

    def ready() -> bool:
        answer = httpx.post(
            f"{server.url}/analysisStatus", json={"submissionId": sid}, headers=headers
        )
        return answer.json()["status"] == "ready"

    wait_for(ready, 60, "the left-behind job to be finished", interval=0.25)
    server.stop()


def test_serve_listens_on_port_on_every_interface_as_cloud_run_asks(serve):
    server = serve(port_from_env=True)  # $PORT, no --port, no --host
    assert f"diagpro is serving on http://0.0.0.0:{server.port}" in server.stdout()
    assert httpx.get(f"{server.url}/healthz", timeout=5).json()["status"] == "ok"
    server.stop()


def test_serve_refuses_to_start_a_deployment_that_guesses(env, tmp_path):
    from tests.e2e.conftest import run

    # Only GCP_PROJECT: the original sold the offline report and made a key per instance.
    result = run(["serve", "--port", "1"], {**env, "GCP_PROJECT": "demo-proj"}, tmp_path)
    assert result.returncode == 2
    for named in ("DIAGPRO_ANALYZER", "DIAGPRO_PUBLIC_BASE_URL", "DIAGPRO_API_KEYS"):
        assert named in result.stderr
    assert not (tmp_path / "var" / "secrets.json").exists()
