"""``diagpro serve`` with every cloud adapter, against the emulators and the local stubs.

Stripe (the Checkout Sessions stub) and Vertex AI (the generateContent stub) run as threads in
this process on 127.0.0.1; Firestore is the official emulator (a fresh ``demo-<hex>`` project) and
Cloud Storage is gcp-storage-emulator (a fresh bucket), both started once per session. The server
is a real process configured only through the environment, driven over HTTP from intake to a
downloaded PDF, as a customer and Stripe would; then the submission is read back from Firestore
and the report from the bucket, directly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from diagpro.adapters.stripe_events import build_event, sign_event
from tests.e2e.conftest import LOCATION, MODEL, SIGNER_EMAIL, pdf_text
from tests.e2e.test_serve import INTAKE
from tests.emulators import firestore_project
from tests.server import json_lines, wait_for
from tests.stubs.stripe_stub import StripeStub
from tests.stubs.vertex_stub import MODEL_VERSION, OUTPUT_TOKENS, VertexStub, good_answer

pytestmark = [pytest.mark.process, pytest.mark.emulator]

STRIPE_KEY = "sk_test_e2e_cloud_0123456789"
WEBHOOK_SECRET = "whsec_e2e_cloud_0123456789abcdef"


def test_cloud_adapters_run_the_paid_flow_from_intake_to_a_downloaded_pdf(
    serve: Any,
    cloud_serve_env: Any,
    tmp_path: Path,
    gcs_emulator: str,
    stripe_stub: StripeStub,
    vertex_stub: VertexStub,
) -> None:
    project = firestore_project()
    bucket_name = f"diagpro-e2e-{uuid.uuid4().hex[:12]}"
    gcs = cloud_serve_env(
        project,
        bucket_name,
        stripe_key=STRIPE_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_key="dpk_e2e_cloud_key_0123456789",
    )
    server = serve()
    headers = {"x-api-key": server.api_key()}

    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        # -- intake -> a Stripe Checkout Session --------------------------------------------
        saved = client.post("/saveSubmission", json={"payload": INTAKE})
        assert saved.status_code == 200, saved.text
        sid = saved.json()["submissionId"]

        checkout = client.post("/createCheckoutSession", json={"submissionId": sid})
        assert checkout.status_code == 200, checkout.text
        session_id = checkout.json()["sessionId"]
        assert session_id in stripe_stub.sessions
        assert checkout.json()["url"] == stripe_stub.sessions[session_id]["url"]
        [create] = stripe_stub.calls("POST", "/v1/checkout/sessions")
        assert create.header("Authorization") == f"Bearer {STRIPE_KEY}"
        assert create.header("Idempotency-Key")
        assert create.form["mode"] == "payment"
        assert create.form["line_items[0][price_data][unit_amount]"] == "499"
        assert create.form["line_items[0][price_data][currency]"] == "usd"
        assert create.form["client_reference_id"] == sid
        assert create.form["metadata[submissionId]"] == sid
        assert create.form["success_url"].startswith(f"{server.url}/")
        assert stripe_stub.sessions[session_id]["amount_total"] == 499

        # -- the customer pays; Stripe delivers the signed event ----------------------------
        paid_session = stripe_stub.pay(session_id)
        event_id = f"evt_test_{uuid.uuid4().hex[:16]}"
        payload = build_event(
            event_id,
            "checkout.session.completed",
            paid_session,
            datetime.now(UTC),
        )
        signed = sign_event(payload, WEBHOOK_SECRET)

        def deliver() -> httpx.Response:
            return httpx.post(
                f"{server.url}/webhook/stripe",  # no API key: Stripe signs instead
                content=signed.payload,
                headers={
                    "content-type": "application/json; charset=utf-8",
                    "stripe-signature": signed.signature,
                },
                timeout=10,
            )

        first = deliver()
        assert first.status_code == 200, first.text

        def ready() -> dict[str, Any] | None:
            status = client.get("/reports/status", params={"submissionId": sid})
            assert status.status_code in (200, 202), status.text
            return status.json() if status.status_code == 200 else None

        report = wait_for(ready, 30, "the report", interval=0.2)
        assert report["status"] == "ready"

        # Stripe retries a delivery it thinks failed: the same event is answered, not redone.
        again = deliver()
        assert again.status_code == 200, again.text
        assert again.json().get("duplicate") is True, again.text

    # -- the download link: a V4 signed URL on the emulator's bucket --------------------------
    url = report["downloadUrl"]
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}" == gcs_emulator
    assert split.path == f"/{bucket_name}/reports/{sid}.pdf"
    query = parse_qs(split.query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Credential"][0].startswith(f"{SIGNER_EMAIL}/")
    assert query["X-Goog-Expires"] == ["900"]
    assert "attachment" in query["response-content-disposition"][0]
    download = httpx.get(url, timeout=10)
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(download.content)
    text = " ".join(pdf_text(pdf).split())
    assert "P0301" in text and "P0171" in text
    # The model's top cause (its first words: a column of the first page's grid may wrap it).
    assert " ".join(good_answer()["causes"][0]["cause"].split()[:4]) in text
    # The report says which analyzer and model wrote it.
    assert f"Written by an AI model ({MODEL_VERSION})" in text
    assert "offline" not in text.lower()

    # -- Vertex was asked exactly once, on the configured model and location ------------------
    [generate] = vertex_stub.requests
    assert generate.path.endswith(
        f"/projects/{project}/locations/{LOCATION}/publishers/google/models/{MODEL}:generateContent"
    )

    # -- what the server left in Firestore and in the bucket ----------------------------------
    db = firestore.Client(project=project, credentials=AnonymousCredentials())
    try:
        document = db.collection("diagnosticSubmissions").document(sid).get()
        assert document.exists
        stored = document.to_dict()
        assert stored is not None
        assert stored["status"] == "ready"
        assert stored["analysis"]["model"] == MODEL_VERSION  # what Vertex said it ran
        assert stored["analysis"]["offline"] is False
        assert stored["analysis"]["output_tokens"] == OUTPUT_TOKENS
        assert stored["payment"]["checkout_session_id"] == session_id
        assert stored["payment"]["event_id"] == event_id
        assert stored["payment"]["amount_cents"] == 499
    finally:
        db.close()
    blob = gcs.bucket(bucket_name).blob(f"reports/{sid}.pdf")
    assert blob.download_as_bytes() == download.content

    server.stop()
    log = json_lines(server.stderr())
    assert any(e.get("path") == "/webhook/stripe" and e.get("status") == 200 for e in log)
    assert INTAKE["email"] not in server.stderr()
    assert STRIPE_KEY not in server.stderr() and WEBHOOK_SECRET not in server.stderr()
