"""Who the Google Cloud checks run as: the first thing to know when one of them is refused.

Application Default Credentials (``google.auth.default()``,
https://cloud.google.com/docs/authentication/application-default-credentials) are what every
Google client of the service uses: a key file named by ``GOOGLE_APPLICATION_CREDENTIALS``, the
user of ``gcloud auth application-default login``, or the service account of the Cloud Run
service (metadata server). Always an info line: an unknown identity is not itself a problem,
the probes that follow say what it may not do.
"""

from __future__ import annotations

from typing import Any

from diagpro.config import Settings
from diagpro.entrypoints.doctor.findings import Check, short

NAME = "identity"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def uses_google(settings: Settings) -> bool:
    cloud = settings.cloud
    return any(
        (cloud.firestore.enabled, cloud.storage.enabled, cloud.pubsub.enabled, cloud.vertex.enabled)
    )


def identity(settings: Settings) -> Check:
    if not uses_google(settings):
        return Check(NAME, True, "info", "unknown: no Google Cloud service is configured")
    import google.auth
    import google.auth.exceptions

    try:
        credentials, project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except google.auth.exceptions.DefaultCredentialsError:
        return Check(
            NAME,
            True,
            "info",
            "unknown: no Application Default Credentials (on Cloud Run the service account; "
            "elsewhere GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login)",
        )
    who = _who(credentials)
    where = f", project {project}" if project else ""
    return Check(NAME, True, "info", f"{who}{where}")


def _who(credentials: Any) -> str:
    kind = type(credentials).__module__ + "." + type(credentials).__name__
    if kind == "google.oauth2.credentials.Credentials":
        account = getattr(credentials, "account", "")
        return (
            f"user {account} (gcloud application-default login)"
            if account
            else "a user account (gcloud application-default login; its email is not recorded)"
        )
    email = getattr(credentials, "service_account_email", None)
    if email == "default":
        # The metadata server names the attached service account once asked for a token.
        import google.auth.exceptions
        from google.auth.transport.requests import Request

        try:
            credentials.refresh(Request())
        except google.auth.exceptions.GoogleAuthError as exc:
            return f"the attached service account (its email could not be read: {short(exc)})"
        email = credentials.service_account_email
    if email:
        source = (
            "metadata server"
            if kind.startswith("google.auth.compute_engine")
            else "impersonated"
            if "impersonated" in kind
            else "key file"
        )
        return f"service account {email} ({source})"
    return f"{type(credentials).__name__} credentials (no email to show)"
