"""A 403 because the API is off in the project, told apart from a 403 for a missing role.

Google answers a call to a disabled API with PERMISSION_DENIED, reason ``SERVICE_DISABLED``
and the text "… API has not been used in project N before or it is disabled"
(https://cloud.google.com/service-usage/docs/troubleshooting). Granting roles would not help;
enabling the API does.
"""

from __future__ import annotations

_MARKERS = ("SERVICE_DISABLED", "has not been used in project", "it is disabled")


def is_disabled_api(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", None)
    return reason == "SERVICE_DISABLED" or any(marker in str(exc) for marker in _MARKERS)


def enable_command(service: str, project: str) -> str:
    where = f" --project {project}" if project else ""
    return f"gcloud services enable {service}{where} (then wait a minute and run doctor again)"
