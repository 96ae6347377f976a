"""What only the GCS ReportStore promises, beyond the shared contract.

Against gcp-storage-emulator where it can show it (object attributes, dispositions served); with
small stand-ins where the emulator cannot (it ignores ``ifGenerationMatch``, never answers 403 and
has no IAM): a loopback HTTP stub that refuses everything with 403, and a fake IAM ``signBlob``
that signs with a local key so the URL it produced still verifies offline. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import google.auth.exceptions
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage import _signing

from diagpro.adapters import gcs
from diagpro.adapters.gcs import CACHE_CONTROL, GcsReportStore
from diagpro.domain.errors import ReportMissing, ReportStorageError
from tests.contract.test_report_store_contract import (
    PDF,
    SID,
    signing_credentials,
    signing_key,
    v4_canonical_request,
    v4_expiry,
    v4_query,
    v4_signature_ok,
)
from tests.signing import pin_signing_clock

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIFTEEN_MINUTES = 900
SA_EMAIL = "diagpro-runtime@demo-proj.iam.gserviceaccount.com"


def _client() -> storage.Client:
    return storage.Client(project="demo-proj", credentials=AnonymousCredentials())


@pytest.fixture
def bucket(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    pin_signing_clock(monkeypatch, lambda: NOW)
    name = f"diagpro-reports-{uuid.uuid4().hex[:12]}"
    _client().create_bucket(name)
    return name


@pytest.fixture
def store(bucket: str) -> GcsReportStore:
    return GcsReportStore(_client(), bucket, signing_credentials=signing_credentials())


def _fetch(url: str) -> tuple[bytes, str]:
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers["Content-Disposition"]


# -- save ---------------------------------------------------------------------------------------


@pytest.mark.emulator
def test_a_second_save_keeps_the_first_bytes(store: GcsReportStore, bucket: str) -> None:
    assert store.save(SID, PDF) == f"reports/{SID}.pdf"
    assert store.save(SID, b"%PDF-1.7 a retry's different report") == f"reports/{SID}.pdf"

    assert store.read(SID) == PDF
    stored = _client().bucket(bucket).get_blob(f"reports/{SID}.pdf")
    assert stored is not None
    assert stored.content_type == "application/pdf"
    assert stored.cache_control == CACHE_CONTROL == "private, max-age=0, no-store"
    assert stored.metadata == {"submissionId": SID}


@pytest.mark.emulator
def test_a_lost_race_is_settled_by_the_generation_precondition(
    store: GcsReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exists check passed, but another writer finished first: GCS answers 412 to
    ``ifGenerationMatch=0`` (the emulator ignores the precondition, so the upload is stubbed)."""
    store.save(SID, PDF)
    uploads: list[dict[str, Any]] = []

    def refused_upload(self: storage.Blob, data: bytes, **kwargs: Any) -> None:
        uploads.append(kwargs)
        raise api_exceptions.PreconditionFailed("At least one of the pre-conditions failed")

    with monkeypatch.context() as patched:
        patched.setattr(storage.Blob, "exists", lambda self, *a, **k: False)
        patched.setattr(storage.Blob, "upload_from_string", refused_upload)

        assert store.save(SID, b"%PDF-1.7 the loser") == f"reports/{SID}.pdf"

    assert uploads == [{"content_type": "application/pdf", "if_generation_match": 0}]
    assert store.read(SID) == PDF


@pytest.mark.emulator
def test_a_missing_bucket_is_a_storage_error_naming_it(
    gcs_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    store = GcsReportStore(_client(), "no-such-bucket", signing_credentials=signing_credentials())

    with pytest.raises(ReportStorageError, match=r"'no-such-bucket' does not exist.*REPORT_BUCKET"):
        store.save(SID, PDF)


# -- 403 from the bucket --------------------------------------------------------------------


class _Forbidden(BaseHTTPRequestHandler):
    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "error": {
                    "code": 403,
                    "message": "diagpro-runtime@demo-proj.iam.gserviceaccount.com does not have "
                    "storage.objects.create access to the Google Cloud Storage object.",
                    "errors": [{"reason": "forbidden"}],
                }
            }
        ).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def forbidding_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_403_names_the_bucket_and_the_missing_role(forbidding_endpoint: str) -> None:
    store = GcsReportStore(
        _client(), "diagpro-prod-reports", signing_credentials=signing_credentials()
    )

    for call in (
        lambda: store.save(SID, PDF),
        lambda: store.exists(SID),
        lambda: store.read(SID),
        lambda: store.links(SID, FIFTEEN_MINUTES, NOW),
    ):
        with pytest.raises(ReportStorageError) as caught:
            call()
        message = str(caught.value)
        assert "'diagpro-prod-reports'" in message
        assert "roles/storage.objectAdmin" in message
        assert "403" in message
        assert isinstance(caught.value.__cause__, api_exceptions.Forbidden)


# -- links ----------------------------------------------------------------------------------


@pytest.mark.emulator
def test_links_last_fifteen_minutes(store: GcsReportStore) -> None:
    store.save(SID, PDF)
    links = store.links(SID, FIFTEEN_MINUTES, NOW)

    assert links.expires_in_seconds == FIFTEEN_MINUTES
    for url in (links.download_url, links.view_url):
        assert v4_query(url)["X-Goog-Expires"] == "900"
        assert v4_query(url)["X-Goog-Date"] == "20261126T120000Z"
        assert v4_expiry(url) == NOW + timedelta(minutes=15)
        assert v4_signature_ok(url, signing_key().public_key())


@pytest.mark.emulator
def test_no_content_type_is_signed_or_requested(store: GcsReportStore) -> None:
    store.save(SID, PDF)
    links = store.links(SID, FIFTEEN_MINUTES, NOW)

    for url in (links.download_url, links.view_url):
        query = v4_query(url)
        assert query["X-Goog-SignedHeaders"] == "host"
        assert "content-type" not in query["X-Goog-SignedHeaders"].lower()
        assert "response-content-type" not in query
        assert "content-type" not in v4_canonical_request(url).lower()


@pytest.mark.emulator
def test_both_dispositions_are_signed_and_served(store: GcsReportStore) -> None:
    store.save(SID, PDF)
    links = store.links(SID, FIFTEEN_MINUTES, NOW)

    expected = {
        links.download_url: f'attachment; filename="diagpro-{SID}.pdf"',
        links.view_url: f'inline; filename="diagpro-{SID}.pdf"',
    }
    for url, disposition in expected.items():
        assert v4_query(url)["response-content-disposition"] == disposition
        assert _fetch(url) == (PDF, disposition)


@pytest.mark.emulator
def test_links_refuse_ttls_v4_cannot_sign(store: GcsReportStore) -> None:
    store.save(SID, PDF)
    for ttl in (0, -1, 7 * 24 * 3600 + 1):
        with pytest.raises(ValueError, match="7 days"):
            store.links(SID, ttl, NOW)
    with pytest.raises(ValueError, match="naive"):
        store.links(SID, 60, datetime(2026, 11, 26, 12, 0))  # deliberately naive


@pytest.mark.emulator
def test_links_are_dated_by_the_wall_clock_and_last_the_ttl_reported(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cloud Storage checks a link against Google's clock, so the store dates it by the real
    clock at signing (through the public ``Blob.generate_signed_url``), not by the port's
    ``now``: the reported ``expires_in_seconds`` is the link's ``X-Goog-Expires`` from then."""
    pin_signing_clock(monkeypatch, lambda: datetime.now(UTC))  # the wall clock, as in production
    store = GcsReportStore(_client(), bucket, signing_credentials=signing_credentials())
    store.save(SID, PDF)
    a_week_ago = datetime.now(UTC) - timedelta(days=7)

    before = datetime.now(UTC).replace(microsecond=0)
    links = store.links(SID, FIFTEEN_MINUTES, a_week_ago)
    after = datetime.now(UTC)

    assert links.expires_in_seconds == FIFTEEN_MINUTES
    for url in (links.download_url, links.view_url):
        query = v4_query(url)
        assert query["X-Goog-Expires"] == str(FIFTEEN_MINUTES)
        signed_at = v4_expiry(url) - timedelta(seconds=FIFTEEN_MINUTES)
        assert before <= signed_at <= after
        assert v4_signature_ok(url, signing_key().public_key())
    assert _fetch(links.download_url)[0] == PDF


@pytest.mark.emulator
def test_links_for_a_missing_report_raise(store: GcsReportStore) -> None:
    with pytest.raises(ReportMissing):
        store.links(SID, FIFTEEN_MINUTES, NOW)


# -- signing through IAM signBlob (Cloud Run: no private key) ---------------------------------


class FakeSignBlob:
    """Stands in for ``POST iamcredentials…/serviceAccounts/{email}:signBlob``: signs with the
    local test key and records who asked with which token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None

    def __call__(
        self, message: str | bytes, access_token: str, service_account_email: str, *_: Any
    ) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append((access_token, service_account_email))
        data = message.encode() if isinstance(message, str) else message
        signature = signing_key().sign(data, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


@pytest.fixture
def sign_blob(monkeypatch: pytest.MonkeyPatch) -> FakeSignBlob:
    fake = FakeSignBlob()
    monkeypatch.setattr(_signing, "_sign_message", fake)
    return fake


@pytest.mark.emulator
def test_sign_blob_builds_the_url_as_the_service_account(
    bucket: str, sign_blob: FakeSignBlob
) -> None:
    tokens = iter(["token-1", "token-2"])
    store = GcsReportStore(
        _client(), bucket, service_account_email=SA_EMAIL, access_token_source=lambda: next(tokens)
    )
    store.save(SID, PDF)

    first = store.links(SID, FIFTEEN_MINUTES, NOW)
    store.links(SID, FIFTEEN_MINUTES, NOW)

    # a fresh token for every links() call, used for both of its URLs
    assert sign_blob.calls == [
        ("token-1", SA_EMAIL),
        ("token-1", SA_EMAIL),
        ("token-2", SA_EMAIL),
        ("token-2", SA_EMAIL),
    ]
    for url in (first.download_url, first.view_url):
        query = v4_query(url)
        assert query["X-Goog-Credential"] == f"{SA_EMAIL}/20261126/auto/storage/goog4_request"
        assert query["X-Goog-SignedHeaders"] == "host"
        assert v4_signature_ok(url, signing_key().public_key())
    assert _fetch(first.view_url) == (PDF, f'inline; filename="diagpro-{SID}.pdf"')


@pytest.mark.emulator
def test_a_refused_sign_blob_names_the_token_creator_role(
    bucket: str, sign_blob: FakeSignBlob
) -> None:
    store = GcsReportStore(
        _client(), bucket, service_account_email=SA_EMAIL, access_token_source=lambda: "t"
    )
    store.save(SID, PDF)
    sign_blob.fail_with = google.auth.exceptions.TransportError(
        "Error calling the IAM signBytes API: 403 Permission 'iam.serviceAccounts.signBlob' denied"
    )

    with pytest.raises(ReportStorageError, match=r"roles/iam\.serviceAccountTokenCreator"):
        store.links(SID, FIFTEEN_MINUTES, NOW)


def test_the_default_token_source_refreshes_expired_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Credentials:
        def __init__(self) -> None:
            self.valid = False
            self.token: str | None = None
            self.refreshes = 0

        def refresh(self, request: object) -> None:
            self.refreshes += 1
            self.token = f"fresh-{self.refreshes}"
            self.valid = True

    credentials = Credentials()
    scopes_seen: list[object] = []

    def fake_default(scopes: object = None) -> tuple[Credentials, str]:
        scopes_seen.append(scopes)
        return credentials, "demo-proj"

    monkeypatch.setattr(gcs.google.auth, "default", fake_default)
    source = gcs.default_access_token_source()

    assert source() == "fresh-1"
    assert source() == "fresh-1"  # still valid: no refresh
    credentials.valid = False
    assert source() == "fresh-2"
    assert scopes_seen == [[gcs.CLOUD_PLATFORM_SCOPE]]  # looked up once


def test_a_store_that_cannot_sign_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match=r"signing_credentials.*service_account_email"):
        GcsReportStore(_client(), "diagpro-reports")
    with pytest.raises(ValueError, match="bucket"):
        GcsReportStore(_client(), "", service_account_email=SA_EMAIL)
    with pytest.raises(ValueError, match="private key"):
        GcsReportStore(_client(), "diagpro-reports", signing_credentials=AnonymousCredentials())
