"""``diagpro doctor``: check a deployment before a customer does, and say what to fix.

The original learned of a wrong Stripe key, a missing ``roles/datastore.user`` and a disabled API
from its customers (incident 0026, "Missing or insufficient permissions"). Each check here does the
smallest real thing the service will do later with the same identity and settings: one harmless
Stripe call, a probe document written, read and deleted in Firestore, a probe object written,
signed, fetched and deleted in the bucket, a two-word Gemini call, a probe report rendered.

Every finding is a :class:`Check`. ``severity`` is how serious a failure of that check is:
``blocker`` (a customer could not pay or get a report), ``warning`` or ``info``. ``diagpro doctor``
exits 1 when any blocker failed, else 0. Secrets are only ever shown redacted (``sk_test_…1234``);
as a last guard every detail and fix is scrubbed of the configured secret values.
"""

from diagpro.entrypoints.doctor.cloud_checks import stripe_key_checks
from diagpro.entrypoints.doctor.findings import (
    Check,
    exit_code,
    print_report,
    redact,
    scrub,
    to_json,
)
from diagpro.entrypoints.doctor.run import diagnose, main, run_checks

__all__ = [
    "Check",
    "diagnose",
    "exit_code",
    "main",
    "print_report",
    "redact",
    "run_checks",
    "scrub",
    "stripe_key_checks",
    "to_json",
]
