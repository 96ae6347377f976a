"""The ReportStore contract: the memory fake, the local folder and GCS pass the same suite.

Every variant comes with a link checker that checks links the way their server will:

* memory and local (``HmacLinks``): split the URL, hand the path after ``/files/`` and the query
  values to ``verify_link``, as the HTTP server does;
* gcs (``V4Links``, against gcp-storage-emulator): fetch the URL from the emulator (same bytes,
  right Content-Disposition) and, because the emulator does not check signatures, verify the V4
  signature offline with the signing key's public half (canonical request -> string-to-sign ->
  RSA-PKCS1v15-SHA256); a link is expired once ``X-Goog-Date + X-Goog-Expires`` has passed.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2 import service_account

from diagpro.adapters.gcs import GcsReportStore
from diagpro.adapters.local_files import LocalReportFolder
from diagpro.adapters.memory.reports import MemoryReportStore
from diagpro.adapters.signed_links import report_id_from_path, sign_link, verify_link
from diagpro.domain.errors import ReportMissing, ReportStorageError
from diagpro.domain.ports import ReportStore
from tests.doubles import FixedClock
from tests.signing import pin_signing_clock, service_account_info, signing_key

BASE_URL = "https://reports.example"
SECRET = b"contract-test-secret"
SID = "diag_1795694400000_00112233445566778899aabb"
PDF = b"%PDF-1.7\n% a finished report\n%%EOF\n"
TTL = 3600
THREADS = 8
SIGNER_EMAIL = "diagpro-signer@demo-proj.iam.gserviceaccount.com"
GCS_PROJECT = "demo-proj"

Opener = Callable[[], ReportStore]


class LinkChecker(Protocol):
    """How one variant's links are checked (the way that variant's server checks them)."""

    def check_shape(self, url: str, disposition: str, ttl: int, now: datetime) -> None: ...

    def valid(self, url: str, now: datetime) -> bool: ...

    def tampered(self, url: str) -> list[str]:
        """Altered copies of ``url`` (signature, disposition, expiry, object) that must fail."""
        ...

    def served(self, url: str, store: ReportStore) -> tuple[bytes, str]:
        """(bytes, Content-Disposition kind) a customer gets from ``url``."""
        ...


@dataclass(frozen=True)
class Variant:
    opener: Opener
    links: LinkChecker
    lose: Callable[[str], None]  # delete a stored report behind the store's back


def _flip(signature: str) -> str:
    return ("0" if signature[0] != "0" else "1") + signature[1:]


def _with_query(url: str, **changes: str) -> str:
    split = urlsplit(url)
    query = dict(parse_qsl(split.query, keep_blank_values=True, strict_parsing=True))
    query.update(changes)
    return urlunsplit(split._replace(query=urlencode(query, quote_via=quote, safe="")))


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


# -- memory and local: HMAC links -----------------------------------------------------------


def _parts(url: str) -> tuple[str, str, str, str]:
    """(path after /files/, disposition, expires, signature), as the server will see them."""
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}" == BASE_URL
    assert split.path.startswith("/files/")
    query = {key: values[0] for key, values in parse_qs(split.query, strict_parsing=True).items()}
    assert set(query) == {"disposition", "expires", "signature"}
    return (
        split.path.removeprefix("/files/"),
        query["disposition"],
        query["expires"],
        query["signature"],
    )


def _valid(url: str, now: datetime, secret: bytes = SECRET) -> bool:
    path, disposition, expires, signature = _parts(url)
    return verify_link(path, disposition, expires, signature, secret, now)


class HmacLinks:
    def check_shape(self, url: str, disposition: str, ttl: int, now: datetime) -> None:
        assert url.startswith(f"{BASE_URL}/files/reports/{SID}.pdf?")
        path, seen_disposition, expires, signature = _parts(url)
        assert path == f"reports/{SID}.pdf"
        assert report_id_from_path(path) == SID
        assert seen_disposition == disposition
        assert expires == str(int(now.timestamp()) + ttl)
        assert len(signature) == 64

    def valid(self, url: str, now: datetime) -> bool:
        return _valid(url, now)

    def tampered(self, url: str) -> list[str]:
        _, disposition, expires, signature = _parts(url)
        other = "inline" if disposition == "attachment" else "attachment"
        return [
            _with_query(url, signature=_flip(signature)),
            _with_query(url, disposition=other),
            _with_query(url, expires=str(int(expires) + 1)),
            _with_path(url, "/files/reports/diag_other.pdf"),
        ]

    def served(self, url: str, store: ReportStore) -> tuple[bytes, str]:
        path, disposition, _, _ = _parts(url)
        report_id = report_id_from_path(path)
        assert report_id is not None
        return store.read(report_id), disposition


# -- gcs: V4 signed URLs, verified offline ----------------------------------------------------


def signing_credentials() -> service_account.Credentials:
    return service_account.Credentials.from_service_account_info(
        service_account_info(GCS_PROJECT, SIGNER_EMAIL)
    )


V4_KEYS = {
    "X-Goog-Algorithm",
    "X-Goog-Credential",
    "X-Goog-Date",
    "X-Goog-Expires",
    "X-Goog-SignedHeaders",
    "X-Goog-Signature",
    "response-content-disposition",
}


def v4_query(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    query = dict(pairs)
    assert len(query) == len(pairs), "repeated query parameter"
    return query


def v4_canonical_request(url: str) -> str:
    """The V4 canonical request for a signed GET, rebuilt from the URL alone (as GCS does)."""
    split = urlsplit(url)
    query = v4_query(url)
    query.pop("X-Goog-Signature", None)
    canonical_query = "&".join(
        f"{quote(key, safe='~')}={quote(value, safe='~')}" for key, value in sorted(query.items())
    )
    signed_headers = query["X-Goog-SignedHeaders"]
    assert signed_headers == "host"
    return "\n".join(
        [
            "GET",
            split.path,
            canonical_query,
            f"host:{split.netloc}\n",
            signed_headers,
            "UNSIGNED-PAYLOAD",
        ]
    )


def v4_signature_ok(url: str, public_key: rsa.RSAPublicKey) -> bool:
    query = v4_query(url)
    if query.get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256":
        return False
    _, _, scope = query["X-Goog-Credential"].partition("/")
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(v4_canonical_request(url).encode()).hexdigest(),
        ]
    )
    try:
        signature = bytes.fromhex(query["X-Goog-Signature"])
        public_key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, InvalidSignature):
        return False
    return True


def v4_expiry(url: str) -> datetime:
    query = v4_query(url)
    dated = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return dated + timedelta(seconds=int(query["X-Goog-Expires"]))


class V4Links:
    def __init__(self, endpoint: str, bucket: str, public_key: rsa.RSAPublicKey) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.public_key = public_key

    def check_shape(self, url: str, disposition: str, ttl: int, now: datetime) -> None:
        assert url.startswith(f"{self.endpoint}/{self.bucket}/reports/{SID}.pdf?")
        query = v4_query(url)
        assert set(query) == V4_KEYS
        assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
        day = now.strftime("%Y%m%d")
        assert query["X-Goog-Credential"] == f"{SIGNER_EMAIL}/{day}/auto/storage/goog4_request"
        assert query["X-Goog-Date"] == now.strftime("%Y%m%dT%H%M%SZ")
        assert query["X-Goog-Expires"] == str(ttl)
        assert query["X-Goog-SignedHeaders"] == "host"
        expected = f'{disposition}; filename="diagpro-{SID}.pdf"'
        assert query["response-content-disposition"] == expected
        assert len(query["X-Goog-Signature"]) == 512  # hex of a 2048-bit RSA signature

    def valid(self, url: str, now: datetime) -> bool:
        return v4_signature_ok(url, self.public_key) and now < v4_expiry(url)

    def tampered(self, url: str) -> list[str]:
        query = v4_query(url)
        disposition = query["response-content-disposition"]
        other = disposition.replace("attachment", "inline", 1)
        if other == disposition:
            other = disposition.replace("inline", "attachment", 1)
        return [
            _with_query(url, **{"X-Goog-Signature": _flip(query["X-Goog-Signature"])}),
            _with_query(url, **{"response-content-disposition": other}),
            _with_query(url, **{"X-Goog-Expires": str(int(query["X-Goog-Expires"]) + 1)}),
            _with_path(url, f"/{self.bucket}/reports/diag_other.pdf"),
        ]

    def served(self, url: str, store: ReportStore) -> tuple[bytes, str]:
        assert url.startswith("http://127.0.0.1:")  # only ever fetch from the local emulator
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            body = response.read()
            disposition = response.headers["Content-Disposition"]
        assert disposition.endswith(f'; filename="diagpro-{SID}.pdf"')
        return body, disposition.partition(";")[0]


# -- the variants ---------------------------------------------------------------------------


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Variant:
    store = MemoryReportStore(BASE_URL, SECRET)

    def lose(submission_id: str) -> None:
        with store._lock:
            del store._reports[submission_id]

    return Variant(lambda: store, HmacLinks(), lose)


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> Variant:
    def lose(submission_id: str) -> None:
        (tmp_path / "files" / "reports" / f"{submission_id}.pdf").unlink()

    return Variant(
        lambda: LocalReportFolder(tmp_path / "files", BASE_URL, SECRET), HmacLinks(), lose
    )


def _gcs(request: pytest.FixtureRequest, tmp_path: Path) -> Variant:
    endpoint: str = request.getfixturevalue("gcs_emulator")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
    bucket = f"diagpro-reports-{uuid.uuid4().hex[:12]}"
    _client().create_bucket(bucket)
    credentials = signing_credentials()
    clock: FixedClock = request.getfixturevalue("clock")
    pin_signing_clock(monkeypatch, clock.now)

    def opener() -> ReportStore:
        return GcsReportStore(_client(), bucket, signing_credentials=credentials)

    def lose(submission_id: str) -> None:
        _client().bucket(bucket).blob(f"reports/{submission_id}.pdf").delete()

    return Variant(opener, V4Links(endpoint, bucket, signing_key().public_key()), lose)


def _client() -> storage.Client:
    return storage.Client(project=GCS_PROJECT, credentials=AnonymousCredentials())


@pytest.fixture(
    params=[
        pytest.param(_memory, id="memory"),
        pytest.param(_local, id="local"),
        pytest.param(_gcs, id="gcs", marks=pytest.mark.emulator),
    ]
)
def variant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Variant]:
    factory: Callable[[pytest.FixtureRequest, Path], Variant] = request.param
    yield factory(request, tmp_path)


@pytest.fixture
def opener(variant: Variant) -> Opener:
    return variant.opener


@pytest.fixture
def links(variant: Variant) -> LinkChecker:
    return variant.links


@pytest.fixture
def store(opener: Opener) -> ReportStore:
    return opener()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


# -- save / read / exists -------------------------------------------------------------------


def test_implements_the_port(store: ReportStore) -> None:
    assert isinstance(store, ReportStore)


def test_save_then_read_round_trips(store: ReportStore) -> None:
    assert store.save(SID, PDF) == f"reports/{SID}.pdf"
    assert store.read(SID) == PDF


def test_exists_only_after_save(store: ReportStore) -> None:
    assert not store.exists(SID)
    store.save(SID, PDF)
    assert store.exists(SID)
    assert not store.exists(SID + "0")


def test_saving_again_keeps_the_first_report(store: ReportStore) -> None:
    store.save(SID, PDF)
    assert store.save(SID, b"%PDF-1.7 a different report") == f"reports/{SID}.pdf"
    assert store.read(SID) == PDF


def test_a_second_handle_sees_the_report(opener: Opener) -> None:
    opener().save(SID, PDF)
    other = opener()
    assert other.exists(SID)
    assert other.read(SID) == PDF


def test_a_report_lost_after_it_was_saved_is_missing_and_can_be_stored_again(
    variant: Variant, clock: FixedClock
) -> None:
    """What making a lost report again relies on: the store says it is gone (no link to a file
    that is not there) and saving the new one is not mistaken for saving again."""
    store = variant.opener()
    store.save(SID, PDF)
    variant.lose(SID)

    assert not store.exists(SID)
    with pytest.raises(ReportMissing):
        store.read(SID)
    with pytest.raises(ReportMissing):
        store.links(SID, TTL, clock.now())
    remade = PDF + b"% made again\n"
    assert store.save(SID, remade) == f"reports/{SID}.pdf"
    assert store.exists(SID) and store.read(SID) == remade


def test_reading_a_missing_report_raises(store: ReportStore) -> None:
    with pytest.raises(ReportMissing):
        store.read(SID)


def test_concurrent_saves_keep_exactly_one_report(opener: Opener) -> None:
    barrier = threading.Barrier(THREADS)
    paths: list[str] = []
    errors: list[BaseException] = []
    versions = [PDF + f"% writer {n}\n".encode() * 1000 for n in range(THREADS)]

    def save(n: int) -> None:
        try:
            handle = opener()
            barrier.wait()
            paths.append(handle.save(SID, versions[n]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert paths == [f"reports/{SID}.pdf"] * THREADS
    stored = opener().read(SID)
    assert stored in versions  # one whole report, never a mix or a torn write


@pytest.mark.parametrize("bad_id", ["../escape", "reports/../../x", "", "a/b", "x.pdf", "é"])
def test_ids_that_cannot_name_a_report_are_refused(store: ReportStore, bad_id: str) -> None:
    with pytest.raises(ReportStorageError):
        store.save(bad_id, PDF)
    assert not store.exists(bad_id)
    with pytest.raises(ReportMissing):
        store.read(bad_id)


# -- delete (retention: a report erased with its order's personal data) ----------------------


def test_delete_removes_the_report_for_good(opener: Opener, clock: FixedClock) -> None:
    store = opener()
    store.save(SID, PDF)

    assert store.delete(SID) is True

    assert not store.exists(SID)
    assert not opener().exists(SID)  # another handle sees it gone too
    with pytest.raises(ReportMissing):
        store.read(SID)
    with pytest.raises(ReportMissing):
        store.links(SID, TTL, clock.now())


def test_deleting_twice_or_a_report_never_stored_is_harmless(store: ReportStore) -> None:
    store.save(SID, PDF)
    assert store.delete(SID) is True

    assert store.delete(SID) is False
    assert store.delete(SID.replace("0011", "9911")) is False


def test_delete_leaves_other_reports_alone(store: ReportStore) -> None:
    other = SID.replace("0011", "2233")
    store.save(SID, PDF)
    store.save(other, PDF + b"other")

    store.delete(SID)

    assert store.read(other) == PDF + b"other"


@pytest.mark.parametrize("bad_id", ["../escape", "reports/../../x", "", "a/b"])
def test_delete_of_an_id_that_cannot_name_a_report_removes_nothing(
    store: ReportStore, bad_id: str
) -> None:
    store.save(SID, PDF)

    assert store.delete(bad_id) is False
    assert store.exists(SID)


# -- links ----------------------------------------------------------------------------------


def test_links_for_a_missing_report_raise(store: ReportStore, clock: FixedClock) -> None:
    with pytest.raises(ReportMissing):
        store.links(SID, TTL, clock.now())


def test_links_offer_download_and_inline_view(
    store: ReportStore, links: LinkChecker, clock: FixedClock
) -> None:
    store.save(SID, PDF)

    found = store.links(SID, TTL, clock.now())

    assert found.submission_id == SID
    assert found.expires_in_seconds == TTL
    for url, disposition in ((found.download_url, "attachment"), (found.view_url, "inline")):
        links.check_shape(url, disposition, TTL, clock.now())
        assert links.served(url, store) == (PDF, disposition)
    assert found.download_url != found.view_url


def test_links_verify_until_they_expire(
    store: ReportStore, links: LinkChecker, clock: FixedClock
) -> None:
    store.save(SID, PDF)
    found = store.links(SID, TTL, clock.now())

    for url in (found.download_url, found.view_url):
        assert links.valid(url, clock.now())
        assert links.valid(url, clock.now() + timedelta(seconds=TTL - 1))
        assert not links.valid(url, clock.now() + timedelta(seconds=TTL))
        assert not links.valid(url, clock.now() + timedelta(days=30))


def test_tampered_links_fail(store: ReportStore, links: LinkChecker, clock: FixedClock) -> None:
    store.save(SID, PDF)
    store.save("diag_other", PDF)
    found = store.links(SID, TTL, clock.now())

    for url in (found.download_url, found.view_url):
        assert links.valid(url, clock.now())
        tampered = links.tampered(url)
        assert len(tampered) == 4
        for bad in tampered:
            assert bad != url
            assert not links.valid(bad, clock.now()), bad


def test_links_are_fresh_each_time(
    store: ReportStore, links: LinkChecker, clock: FixedClock
) -> None:
    store.save(SID, PDF)
    early = store.links(SID, 60, clock.now())
    late = store.links(SID, 60, clock.advance(3600))

    assert not links.valid(early.download_url, clock.now())
    assert links.valid(late.download_url, clock.now())


@pytest.fixture(params=[_memory, _local], ids=["memory", "local"])
def hmac_store(request: pytest.FixtureRequest, tmp_path: Path) -> ReportStore:
    factory: Callable[[pytest.FixtureRequest, Path], Variant] = request.param
    return factory(request, tmp_path).opener()


def test_hmac_links_fail_when_any_signed_part_changes(
    hmac_store: ReportStore, clock: FixedClock
) -> None:
    store = hmac_store
    store.save(SID, PDF)
    store.save("diag_other", PDF)
    links = store.links(SID, TTL, clock.now())
    now = clock.now()
    path, disposition, expires, signature = _parts(links.download_url)
    flipped = _flip(signature)

    assert verify_link(path, disposition, expires, signature, SECRET, now)
    assert not verify_link(path, disposition, expires, flipped, SECRET, now)
    assert not verify_link(path, "inline", expires, signature, SECRET, now)
    assert not verify_link(path, disposition, str(int(expires) + 1), signature, SECRET, now)
    assert not verify_link("reports/diag_other.pdf", disposition, expires, signature, SECRET, now)
    assert not verify_link(path, disposition, expires, signature, b"another-secret", now)
    assert not _valid(links.view_url, now, secret=b"another-secret")


# -- the signing module itself --------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "expires", "signature"),
    [
        ("attachment", "not-a-number", None),
        ("attachment", "-5", None),
        ("attachment", "1e12", None),
        ("attachment", True, None),
        ("download", None, None),
        ("attachment", None, "not-hex"),
        ("attachment", None, "Z" * 64),
        ("attachment", None, ""),
    ],
)
def test_verify_link_says_no_to_malformed_input(
    clock: FixedClock, disposition: str, expires: object, signature: str | None
) -> None:
    path = f"reports/{SID}.pdf"
    good_expires = int(clock.now().timestamp()) + 60
    good_signature = sign_link(path, "attachment", good_expires, SECRET)
    assert verify_link(path, "attachment", good_expires, good_signature, SECRET, clock.now())

    assert not verify_link(
        path,
        disposition,
        good_expires if expires is None else expires,  # type: ignore[arg-type]
        good_signature if signature is None else signature,
        SECRET,
        clock.now(),
    )


def test_report_id_from_path_only_accepts_report_paths() -> None:
    assert report_id_from_path(f"reports/{SID}.pdf") == SID
    for path in ("reports/../secret.pdf", f"/reports/{SID}.pdf", f"reports/{SID}.txt", ""):
        assert report_id_from_path(path) is None


# -- the local folder only ------------------------------------------------------------------


def test_the_local_folder_writes_one_file_and_no_leftovers(tmp_path: Path) -> None:
    folder = LocalReportFolder(tmp_path, BASE_URL, SECRET)

    folder.save(SID, PDF)
    folder.save(SID, b"ignored")

    assert folder.file_path(SID) == tmp_path / "reports" / f"{SID}.pdf"
    assert folder.file_path(SID).read_bytes() == PDF
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [f"{SID}.pdf"]


def test_the_local_folder_reports_storage_failures(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    folder = LocalReportFolder(blocker, BASE_URL, SECRET)

    with pytest.raises(ReportStorageError):
        folder.save(SID, PDF)
    assert not folder.exists(SID)
