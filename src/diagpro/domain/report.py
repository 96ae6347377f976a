"""What the renderer is given and what a customer downloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from diagpro.domain.analysis import Analysis
from diagpro.domain.intake import Intake
from diagpro.domain.retention import DEFAULT_RETENTION_DAYS


def report_path(submission_id: str) -> str:
    """Where a report lives in any report store (the original's object path)."""
    return f"reports/{submission_id}.pdf"


@dataclass(frozen=True)
class ReportDocument:
    submission_id: str
    intake: Intake
    analysis: Analysis
    generated_at: datetime
    # What the submission was priced in (ISO 4217, lower case): the customer's shop quote is in
    # it, and so are the analysis' amounts unless the analysis names its own currency.
    currency: str
    # How long the customer's details and this report are kept (DIAGPRO_RETENTION_DAYS): the
    # report's "About" section says so.
    retention_days: int = DEFAULT_RETENTION_DAYS


@dataclass(frozen=True)
class DownloadLinks:
    submission_id: str
    download_url: str  # Content-Disposition: attachment
    view_url: str  # Content-Disposition: inline
    expires_in_seconds: int


@dataclass(frozen=True)
class ReportFile:
    """A stored report as a signed link hands it out."""

    submission_id: str
    pdf: bytes
