"""The Cloud Storage ReportStore: PDFs in a private bucket, handed out as V4 signed URLs.

Objects live at ``reports/{id}.pdf`` (the original's path). ``save`` uploads with
``if_generation_match=0``, so GCS itself refuses to replace a finished report: a PreconditionFailed
means another writer got there first, and that first report is kept. (A cheap ``exists`` check runs
first so a retried job does not upload the bytes again; the precondition is what makes it safe
under races.)

``links`` never stores a URL: it mints two fresh V4 signed GET URLs (``attachment`` and
``inline`` dispositions, both signed into the query) through the library's public
``Blob.generate_signed_url(version="v4")``, valid for ``ttl_seconds`` (15 minutes in use, at most
7 days). No content type goes into the signature: a signed ``Content-Type`` broke the original's
read URLs (``MalformedSecurityHeader``).

Which clock dates a link: the library's, i.e. this host's wall clock at the moment of signing
(``X-Goog-Date``), never the port's ``now``. Cloud Storage compares ``X-Goog-Date`` +
``X-Goog-Expires`` with Google's own clock
(https://cloud.google.com/storage/docs/authentication/signatures#query-string-parameters), so
only a real clock makes a link that lives as long as it says; a link dated by an injected or
skewed clock would be born expired or "not yet valid". The expiry the port reports,
``expires_in_seconds=ttl_seconds``, is therefore exactly ``X-Goog-Expires`` counted from the
moment the link was signed, a few milliseconds before the caller hands it out. ``now`` is still
checked (it must be timezone-aware, as for every store), and in production it is the same wall
clock (``SystemClock``); tests that fix the clock pin the library's clock to it.

Signing has two strategies:

* :class:`KeyFileSigning`: a service-account key (``google.oauth2.service_account.Credentials``)
  signs locally. Development, CI and any host with a key file.
* :class:`IamSignBlobSigning`: no private key (Cloud Run). The library sends each string-to-sign
  to the IAM Credentials ``signBlob`` API as ``service_account_email`` with an OAuth access token.
  Needs ``iamcredentials.googleapis.com`` enabled and ``roles/iam.serviceAccountTokenCreator``
  granted to the runtime service account *on* the signing service account (itself, usually).

The runtime service account needs ``roles/storage.objectAdmin`` on the bucket (create + read;
``objectCreator`` alone cannot read the report back or check that it exists).

Every google.api_core / google.auth / transport failure leaves this module as ReportStorageError
(with what to fix where we know it) or ReportMissing; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import google.auth
import google.auth.exceptions
import requests
from google.api_core import exceptions as api_exceptions
from google.auth.transport.requests import Request
from google.cloud import storage

# Named in full so that mypy resolves ``google.cloud.storage`` (the package ships no type
# information; ``from google.cloud import storage`` alone leaves it unresolved).
from google.cloud.storage import Blob

from diagpro.adapters.signed_links import ATTACHMENT, INLINE, is_safe_report_id
from diagpro.domain.errors import ReportMissing, ReportStorageError
from diagpro.domain.report import DownloadLinks, report_path

CONTENT_TYPE = "application/pdf"
CACHE_CONTROL = "private, max-age=0, no-store"
MAX_TTL_SECONDS = 7 * 24 * 3600  # the V4 limit; longer URLs fail later with SignatureDoesNotMatch
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

AccessTokenSource = Callable[[], str]


class UrlSigning(Protocol):
    """How a V4 signature is produced: keyword arguments for ``Blob.generate_signed_url``."""

    def signing_arguments(self) -> dict[str, Any]: ...

    def describe(self) -> str: ...


class KeyFileSigning:
    """Sign locally with a service-account key (anything with ``sign_bytes`` + ``signer_email``)."""

    def __init__(self, credentials: Any) -> None:
        if not hasattr(credentials, "sign_bytes") or not hasattr(credentials, "signer_email"):
            raise ValueError(
                "signing_credentials must be service-account credentials with a private key "
                "(google.oauth2.service_account.Credentials)"
            )
        self._credentials = credentials

    def signing_arguments(self) -> dict[str, Any]:
        return {"credentials": self._credentials}

    def describe(self) -> str:
        return f"the key of {self._credentials.signer_email}"


class IamSignBlobSigning:
    """Sign through IAM ``signBlob`` as ``service_account_email`` (the Cloud Run path).

    ``access_token_source`` returns a current OAuth token for the runtime identity; by default it
    comes from Application Default Credentials, refreshed when it has expired. The runtime
    identity needs ``roles/iam.serviceAccountTokenCreator`` on ``service_account_email``.
    """

    def __init__(
        self, service_account_email: str, access_token_source: AccessTokenSource | None = None
    ) -> None:
        if not service_account_email:
            raise ValueError("IAM signBlob signing needs a service account email")
        self.service_account_email = service_account_email
        self._token_source = access_token_source or default_access_token_source()

    def signing_arguments(self) -> dict[str, Any]:
        return {
            "credentials": None,  # unused when an access token and an email are given
            "service_account_email": self.service_account_email,
            "access_token": self._token_source(),
        }

    def describe(self) -> str:
        return f"IAM signBlob as {self.service_account_email}"


def default_access_token_source() -> AccessTokenSource:
    """A token source backed by Application Default Credentials (metadata server on Cloud Run)."""
    state: dict[str, Any] = {}

    def token() -> str:
        credentials = state.get("credentials")
        if credentials is None:
            credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            state["credentials"] = credentials
        if not credentials.valid:
            credentials.refresh(Request())
        return str(credentials.token)

    return token


class GcsReportStore:
    def __init__(
        self,
        client: storage.Client,
        bucket: str,
        *,
        signing_credentials: Any = None,
        service_account_email: str | None = None,
        access_token_source: AccessTokenSource | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("GcsReportStore needs a bucket name (REPORT_BUCKET)")
        self._client = client
        self.bucket_name = bucket
        self._bucket = client.bucket(bucket)
        self._signing: UrlSigning
        if signing_credentials is not None:
            self._signing = KeyFileSigning(signing_credentials)
        elif service_account_email:
            self._signing = IamSignBlobSigning(service_account_email, access_token_source)
        else:
            raise ValueError(
                "GcsReportStore cannot sign URLs: give signing_credentials (a service-account "
                "key) or service_account_email (IAM signBlob; needs "
                "roles/iam.serviceAccountTokenCreator)"
            )

    # -- save / exists / read -----------------------------------------------------------------

    def save(self, submission_id: str, pdf: bytes) -> str:
        if not is_safe_report_id(submission_id):
            raise ReportStorageError(f"Refusing to store a report under {submission_id!r}")
        path = report_path(submission_id)
        blob = self._bucket.blob(path)
        try:
            if blob.exists():
                return path
            blob.cache_control = CACHE_CONTROL
            blob.metadata = {"submissionId": submission_id}
            blob.upload_from_string(pdf, content_type=CONTENT_TYPE, if_generation_match=0)
        except api_exceptions.PreconditionFailed:
            return path  # a report is already there: never overwrite it
        except _FAILURES as exc:
            raise self._storage_error(exc, "write to", path) from exc
        return path

    def exists(self, submission_id: str) -> bool:
        if not is_safe_report_id(submission_id):
            return False
        path = report_path(submission_id)
        try:
            return bool(self._bucket.blob(path).exists())
        except _FAILURES as exc:
            raise self._storage_error(exc, "read from", path) from exc

    def read(self, submission_id: str) -> bytes:
        if not is_safe_report_id(submission_id):
            raise ReportMissing(submission_id)
        path = report_path(submission_id)
        try:
            return bytes(self._bucket.blob(path).download_as_bytes())
        except api_exceptions.NotFound as exc:
            raise ReportMissing(submission_id) from exc
        except _FAILURES as exc:
            raise self._storage_error(exc, "read from", path) from exc

    def delete(self, submission_id: str) -> bool:
        if not is_safe_report_id(submission_id):
            return False
        path = report_path(submission_id)
        try:
            self._bucket.blob(path).delete()
        except api_exceptions.NotFound:
            return False  # deleted already (by a previous run, or the bucket's lifecycle rule)
        except _FAILURES as exc:
            raise self._storage_error(exc, "delete from", path) from exc
        return True

    # -- links --------------------------------------------------------------------------------

    def links(self, submission_id: str, ttl_seconds: int, now: datetime) -> DownloadLinks:
        if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"V4 signed URLs last 1 s to 7 days, not {ttl_seconds} s")
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"naive datetime {now!r}: signed URLs need timezone-aware times")
        if not self.exists(submission_id):
            raise ReportMissing(submission_id)
        path = report_path(submission_id)
        filename = f'filename="diagpro-{submission_id}.pdf"'
        try:
            signing = self._signing.signing_arguments()  # one access token for both URLs
            download_url, view_url = (
                self._signed_url(path, f"{kind}; {filename}", ttl_seconds, signing)
                for kind in (ATTACHMENT, INLINE)
            )
        except (google.auth.exceptions.GoogleAuthError, requests.RequestException) as exc:
            raise ReportStorageError(
                f"Could not sign a URL for {path} with {self._signing.describe()}: {exc}. "
                "On Cloud Run the runtime service account needs "
                "roles/iam.serviceAccountTokenCreator on the signing service account, and "
                "iamcredentials.googleapis.com must be enabled."
            ) from exc
        except AttributeError as exc:  # credentials that cannot sign
            raise ReportStorageError(
                f"Could not sign a URL for {path}: {exc}; use a service-account key or "
                "service_account_email (IAM signBlob)"
            ) from exc
        return DownloadLinks(
            submission_id=submission_id,
            download_url=download_url,
            view_url=view_url,
            expires_in_seconds=ttl_seconds,
        )

    def _signed_url(self, path: str, disposition: str, ttl: int, signing: dict[str, Any]) -> str:
        # A timedelta, not an absolute time: the link lasts ``ttl`` from the moment it is signed,
        # which is what ``links`` reports (see the module docstring for why not ``now``).
        blob: Blob = self._bucket.blob(path)
        return str(
            blob.generate_signed_url(
                version="v4",
                expiration=timedelta(seconds=ttl),
                method="GET",
                response_disposition=disposition,
                client=self._client,
                **signing,
            )
        )

    # -- errors -------------------------------------------------------------------------------

    def _storage_error(self, exc: BaseException, action: str, path: str) -> ReportStorageError:
        bucket = self.bucket_name
        detail = getattr(exc, "message", None) or str(exc)
        if isinstance(exc, api_exceptions.Forbidden | api_exceptions.Unauthorized):
            return ReportStorageError(
                f"The service account cannot {action} bucket {bucket!r} ({exc.code}: {detail}): "
                "grant it roles/storage.objectAdmin on the bucket"
            )
        if isinstance(exc, api_exceptions.NotFound):
            return ReportStorageError(
                f"Bucket {bucket!r} does not exist or is not visible to this project "
                f"(404: {detail}): check REPORT_BUCKET"
            )
        if isinstance(exc, api_exceptions.GoogleAPICallError):
            return ReportStorageError(
                f"Cloud Storage failed to {action} {bucket}/{path} ({exc.code}: {detail})"
            )
        if isinstance(exc, google.auth.exceptions.GoogleAuthError):
            return ReportStorageError(
                f"No usable Google credentials to {action} bucket {bucket!r}: {detail}"
            )
        return ReportStorageError(
            f"Could not reach Cloud Storage to {action} {bucket}/{path}: {detail}"
        )


_FAILURES = (
    api_exceptions.GoogleAPIError,
    google.auth.exceptions.GoogleAuthError,
    requests.RequestException,
)
