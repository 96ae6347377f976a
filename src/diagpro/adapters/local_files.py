"""The embedded default ReportStore: PDFs in a folder, served through signed links.

``save`` writes ``{root}/reports/{id}.pdf`` atomically: the bytes go to a temporary file in the
same folder, are fsynced, and only then appear under the final name, so a reader (or a crash)
never sees half a report. The final name is published with ``os.link``, which fails instead of
replacing an existing file, so even two concurrent saves cannot overwrite a finished report: the
first one wins. On file systems without hard links it falls back to ``os.replace`` after checking
that no report exists yet.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from datetime import datetime
from pathlib import Path

from diagpro.adapters.signed_links import (
    is_safe_report_id,
    report_id_from_path,
    report_links,
    verify_link,
)
from diagpro.domain.errors import LinkInvalid, ReportMissing, ReportStorageError
from diagpro.domain.report import DownloadLinks, ReportFile, report_path

PRIVATE_FOLDER = 0o700

# errno values meaning "this file system cannot make hard links" (not "the link exists").
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}
)


class LocalReportFolder:
    def __init__(self, root: Path | str, base_url: str, secret: bytes) -> None:
        if not secret:
            raise ValueError("a report store needs a non-empty link secret")
        self.root = Path(root)
        self._base_url = base_url
        self._secret = secret

    def file_path(self, submission_id: str) -> Path:
        """Where the report for ``submission_id`` lives (or would live) on disk.

        Raises ReportMissing for an id that can never name a report (it would leave the folder).
        """
        if not is_safe_report_id(submission_id):
            raise ReportMissing(submission_id)
        return self.root / report_path(submission_id)

    def save(self, submission_id: str, pdf: bytes) -> str:
        if not is_safe_report_id(submission_id):
            raise ReportStorageError(f"Refusing to store a report under {submission_id!r}")
        path = report_path(submission_id)
        final = self.root / path
        try:
            if final.is_file():
                return path
            folder = final.parent
            self._make_folder(folder)
            fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{submission_id}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as temp:
                    temp.write(pdf)
                    temp.flush()
                    os.fsync(temp.fileno())
                _publish(Path(temp_name), final)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp_name)
            _fsync_folder(folder)
        except OSError as exc:
            raise ReportStorageError(
                f"Could not store the report for {submission_id}: {exc}"
            ) from exc
        return path

    def _make_folder(self, folder: Path) -> None:
        """Reports are customers' own: 0700 folders (mkstemp's files are 0600 already)."""
        self.root.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        folder.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)

    def probe(self, now: datetime) -> None:
        """StoreProbe: write a tiny file where reports go and read it back (a full or
        read-only disk fails here before a paid report does). The file is removed at once."""
        folder = self.root / "reports"
        try:
            self._make_folder(folder)
            stamp = now.isoformat().encode()
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe.", suffix=".tmp") as f:
                f.write(stamp)
                f.flush()
                os.fsync(f.fileno())  # a full disk may only refuse when the bytes go down
                if Path(f.name).read_bytes() != stamp:
                    raise OSError(errno.EIO, "the probe file read back different bytes")
        except OSError as exc:
            raise ReportStorageError(
                f"The report folder {folder} cannot be written ({exc.strerror or exc}): "
                "free space on its disk, or give this user write access to it"
            ) from exc

    def exists(self, submission_id: str) -> bool:
        try:
            return self.file_path(submission_id).is_file()
        except ReportMissing:
            return False

    def read(self, submission_id: str) -> bytes:
        file = self.file_path(submission_id)
        try:
            return file.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ReportMissing(submission_id) from exc
        except OSError as exc:
            raise ReportStorageError(
                f"Could not read the report for {submission_id}: {exc}"
            ) from exc

    def links(self, submission_id: str, ttl_seconds: int, now: datetime) -> DownloadLinks:
        if not self.exists(submission_id):
            raise ReportMissing(submission_id)
        return report_links(self._base_url, self._secret, submission_id, ttl_seconds, now)

    def delete(self, submission_id: str) -> bool:
        try:
            file = self.file_path(submission_id)
        except ReportMissing:
            return False  # an id that can never name a report has none to delete
        try:
            file.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ReportStorageError(
                f"Could not delete the report for {submission_id}: {exc}"
            ) from exc
        _fsync_folder(file.parent)  # the removal survives a crash, as a save does
        return True

    # -- ReportFiles: what /files/reports/... serves -------------------------------------------
    def read_linked(
        self, path: str, disposition: str, expires: str, signature: str, now: datetime
    ) -> ReportFile:
        if not verify_link(path, disposition, expires, signature, self._secret, now):
            raise LinkInvalid()
        submission_id = report_id_from_path(path)
        if submission_id is None:  # signed, yet not a report's path: nothing we ever stored
            raise ReportMissing(path)
        return ReportFile(submission_id, self.read(submission_id))


def _publish(temp: Path, final: Path) -> None:
    """Give the finished temp file its final name unless a report is already there."""
    try:
        os.link(temp, final)
    except FileExistsError:
        return  # someone else finished first; keep theirs
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if final.exists():
            return
        os.replace(temp, final)


def _fsync_folder(folder: Path) -> None:
    """Make the new directory entry durable (best effort: not every platform can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
