"""The ReportStore contract: the memory fake and the local folder pass the same suite.

Links are checked the way the HTTP server will check them: split the URL, hand the path after
``/files/`` and the query values to ``verify_link``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from diagpro.adapters.local_files import LocalReportFolder
from diagpro.adapters.memory.clock import FixedClock
from diagpro.adapters.memory.reports import MemoryReportStore
from diagpro.adapters.signed_links import report_id_from_path, sign_link, verify_link
from diagpro.domain.errors import ReportMissing, ReportStorageError
from diagpro.domain.ports import ReportStore

BASE_URL = "https://reports.example"
SECRET = b"contract-test-secret"
SID = "diag_1795694400000_00112233445566778899aabb"
PDF = b"%PDF-1.7\n% a finished report\n%%EOF\n"
TTL = 3600
THREADS = 8

Opener = Callable[[], ReportStore]


def _memory(_: Path) -> Opener:
    store = MemoryReportStore(BASE_URL, SECRET)
    return lambda: store


def _local(tmp_path: Path) -> Opener:
    return lambda: LocalReportFolder(tmp_path / "files", BASE_URL, SECRET)


@pytest.fixture(params=[_memory, _local], ids=["memory", "local"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    factory: Callable[[Path], Opener] = request.param
    return factory(tmp_path)


@pytest.fixture
def store(opener: Opener) -> ReportStore:
    return opener()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


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


# -- links ----------------------------------------------------------------------------------


def test_links_for_a_missing_report_raise(store: ReportStore, clock: FixedClock) -> None:
    with pytest.raises(ReportMissing):
        store.links(SID, TTL, clock.now())


def test_links_offer_download_and_inline_view(store: ReportStore, clock: FixedClock) -> None:
    store.save(SID, PDF)

    links = store.links(SID, TTL, clock.now())

    assert links.submission_id == SID
    assert links.expires_in_seconds == TTL
    expected_expiry = str(int(clock.now().timestamp()) + TTL)
    for url, disposition in ((links.download_url, "attachment"), (links.view_url, "inline")):
        assert url.startswith(f"{BASE_URL}/files/reports/{SID}.pdf?")
        path, seen_disposition, expires, signature = _parts(url)
        assert path == f"reports/{SID}.pdf"
        assert report_id_from_path(path) == SID
        assert seen_disposition == disposition
        assert expires == expected_expiry
        assert len(signature) == 64
    assert links.download_url != links.view_url


def test_links_verify_until_they_expire(store: ReportStore, clock: FixedClock) -> None:
    store.save(SID, PDF)
    links = store.links(SID, TTL, clock.now())

    for url in (links.download_url, links.view_url):
        assert _valid(url, clock.now())
        assert _valid(url, clock.now() + timedelta(seconds=TTL - 1))
        assert not _valid(url, clock.now() + timedelta(seconds=TTL))
        assert not _valid(url, clock.now() + timedelta(days=30))


def test_tampered_links_fail(store: ReportStore, clock: FixedClock) -> None:
    store.save(SID, PDF)
    store.save("diag_other", PDF)
    links = store.links(SID, TTL, clock.now())
    now = clock.now()
    path, disposition, expires, signature = _parts(links.download_url)
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]

    assert verify_link(path, disposition, expires, signature, SECRET, now)
    assert not verify_link(path, disposition, expires, flipped, SECRET, now)
    assert not verify_link(path, "inline", expires, signature, SECRET, now)
    assert not verify_link(path, disposition, str(int(expires) + 1), signature, SECRET, now)
    assert not verify_link("reports/diag_other.pdf", disposition, expires, signature, SECRET, now)
    assert not verify_link(path, disposition, expires, signature, b"another-secret", now)
    assert not _valid(links.view_url, now, secret=b"another-secret")


def test_links_are_fresh_each_time(store: ReportStore, clock: FixedClock) -> None:
    store.save(SID, PDF)
    early = store.links(SID, 60, clock.now())
    late = store.links(SID, 60, clock.advance(3600))

    assert not _valid(early.download_url, clock.now())
    assert _valid(late.download_url, clock.now())


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
