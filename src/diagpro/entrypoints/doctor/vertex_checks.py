"""The analyzer's checks: is the model id current, and does one real request work.

The probe sends what every paid report sends (the real prompt, the real response schema, the
thinking config and output cap of the model's family) for a tiny intake, once. A probe without
the schema would prove nothing about it: Vertex AI can refuse a schema as too complex with 400
("Control generated output", https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/control-generated-output),
and a retired model id answers 404. It costs one short report's tokens.
"""

from __future__ import annotations

from diagpro.config import Settings
from diagpro.container import Container
from diagpro.domain.codes import extract_codes
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
)
from diagpro.domain.intake import validate_intake
from diagpro.entrypoints.doctor.findings import Check

# A whole report is written, so the probe needs longer than a metadata call.
PROBE_MIN_SECONDS = 90.0
TINY_INTAKE = {
    "equipmentType": "lawn-garden",
    "make": "Honda",
    "model": "HRN216",
    "problemDescription": "The mower will not start after winter storage.",
    "email": "doctor@example.com",
}


def model_family(container: Container, settings: Settings) -> Check:
    """A warning when the configured id belongs to a retired family or is not one we can read."""
    family = container.analyzer().family
    problem = family.problem()
    if problem is not None:
        return Check(
            "vertex model",
            False,
            "warning",
            problem,
            "set VAI_MODEL to a current GA Gemini id (Vertex AI > Model versions and lifecycle)",
        )
    return Check(
        "vertex model",
        True,
        "warning",
        f"{settings.cloud.vertex.model}: Gemini {family.family} {family.tier}, a current family",
    )


def model_fallback(settings: Settings) -> Check:
    """What a paid order gets when the model fails for good (DIAGPRO_MODEL_FALLBACK): a warning
    when it gets nothing, neither a report nor its money back."""
    chosen = settings.model_fallback
    if chosen == "none" and not settings.auto_refund:
        return Check(
            "model fallback",
            False,
            "warning",
            "a paid order whose model analysis fails for good is marked failed: no report, no "
            "refund until an operator acts",
            "set DIAGPRO_MODEL_FALLBACK=offline (the built-in knowledge base writes the report, "
            "which says so) or refund",
        )
    outcome = {
        "offline": "diagpro's offline knowledge base writes the report, which says so",
        "refund": "the payment is refunded in full",
        "none": "the order fails and is refunded (DIAGPRO_AUTO_REFUND)",
    }[chosen]
    return Check("model fallback", True, "warning", f"{chosen}: if the model fails, {outcome}")


def vertex_probe(container: Container, settings: Settings, timeout: float) -> Check:
    vertex = settings.cloud.vertex
    where = f"{vertex.model} in {vertex.location} (project {vertex.project})"
    intake = validate_intake(TINY_INTAKE)
    seconds = max(timeout, PROBE_MIN_SECONDS)
    try:
        analysis = container.analyzer().analyse_once(
            intake, extract_codes(intake), settings.currency, seconds
        )
    except AnalysisMisconfigured as exc:
        return Check("vertex ai", False, "blocker", f"{where}: {exc.problem}", exc.fix)
    except AnalysisRefused as exc:
        return Check(
            "vertex ai",
            False,
            "blocker",
            f"{where} refused a tiny test report: {exc.message}",
            "check the model's safety settings and output limits; run the doctor again",
        )
    except AnalysisInvalid as exc:
        return Check(
            "vertex ai",
            False,
            "blocker",
            f"{where} answered, but not in the report's shape: {exc.message}",
            "choose a model that follows structured output reliably (e.g. a Gemini 3 Flash)",
        )
    except AnalysisUnavailable as exc:
        return Check(
            "vertex ai",
            False,
            "warning",
            f"{where} did not answer this time: {exc.message}",
            "retry later; check the model's quota (429), network access to "
            "aiplatform.googleapis.com and the Google Cloud status page",
        )
    return Check(
        "vertex ai",
        True,
        "blocker",
        f"{where} wrote a test report with the real response schema "
        f"({analysis.output_tokens} output tokens)",
    )
