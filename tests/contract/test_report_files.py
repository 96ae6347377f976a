"""ReportFiles: the local report folder hands a report to a link it signed, and to nothing else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from diagpro.adapters.local_files import LocalReportFolder
from diagpro.domain.errors import LinkInvalid, ReportMissing
from diagpro.domain.ports import ReportFiles
from tests.builders import T0

SID = "diag_1764158400000_0123456789abcdef01234567"


@pytest.fixture
def folder(tmp_path: Path) -> LocalReportFolder:
    folder = LocalReportFolder(tmp_path, "http://127.0.0.1:8000", b"link-secret")
    folder.save(SID, b"%PDF-1.7 the report")
    return folder


def _parts(url: str) -> tuple[str, str, str, str]:
    split = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    path = split.path.removeprefix("/files/")
    return path, query["disposition"], query["expires"], query["signature"]


def test_the_local_folder_offers_report_files(folder: LocalReportFolder) -> None:
    assert isinstance(folder, ReportFiles)
    assert folder.file_path(SID).read_bytes() == b"%PDF-1.7 the report"


def test_a_signed_link_gets_the_report(folder: LocalReportFolder) -> None:
    links = folder.links(SID, 900, T0)
    for url in (links.download_url, links.view_url):
        report = folder.read_linked(*_parts(url), T0 + timedelta(minutes=14))
        assert (report.submission_id, report.pdf) == (SID, b"%PDF-1.7 the report")


def test_an_expired_or_changed_link_is_refused(folder: LocalReportFolder) -> None:
    path, disposition, expires, signature = _parts(folder.links(SID, 900, T0).download_url)
    with pytest.raises(LinkInvalid):
        folder.read_linked(path, disposition, expires, signature, T0 + timedelta(minutes=15))
    with pytest.raises(LinkInvalid):
        folder.read_linked(path, "inline", expires, signature, T0)
    with pytest.raises(LinkInvalid):
        folder.read_linked(path, disposition, str(int(expires) + 60), signature, T0)
    with pytest.raises(LinkInvalid):
        folder.read_linked("reports/other.pdf", disposition, expires, signature, T0)


def test_a_signed_link_to_a_lost_report_is_missing(folder: LocalReportFolder) -> None:
    parts = _parts(folder.links(SID, 900, T0).download_url)
    folder.file_path(SID).unlink()
    with pytest.raises(ReportMissing):
        folder.read_linked(*parts, T0)
