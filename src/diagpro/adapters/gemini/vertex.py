"""The Analyzer on Gemini through Vertex AI (google-genai), with its own bounded retries.

One ``analyse`` call builds the prompt, asks the model for JSON following ``response_schema()``
(sent verbatim as ``responseJsonSchema``) and parses the answer with ``parse_analysis``.

The model id is configuration (``VAI_MODEL``, no default: ids retire). What differs between
model families, the temperature and the thinking config, comes from ``models.model_family``;
the output cap comes from the response schema's own limits (``output_budget``); the safety
settings are fixed here (``SAFETY_SETTINGS``). With a code book (``decode``), its meanings for
the customer's codes go to the model as data.

Retries live here, not in the SDK: the client is built with ``HttpRetryOptions(attempts=1)`` so
each SDK call is exactly one HTTP request, and this loop owns the budget. A failed attempt is
retried with exponential backoff and full jitter (``rng() * min(max_delay, base_delay * 2**n)``)
when it is worth it: 408/429, 5xx, timeouts and connection errors, an answer without text
(empty candidates, finish reason OTHER) and an answer ``parse_analysis`` refuses. It stops after
``max_attempts`` or when the next wait plus a useful attempt would pass ``budget_seconds`` (each
attempt's timeout is also cut to what is left of the budget). Then it raises AnalysisInvalid if
the last failure was a refused answer, AnalysisUnavailable otherwise.

Some answers are never asked for again unchanged, because the same request gives the same answer
and is billed again:
- finish reason MAX_TOKENS: the answer was cut off. It is asked once more with the largest cap
  the models accept; cut off again, it raises AnalysisRefused.
- a safety or policy stop (SAFETY, BLOCKLIST, PROHIBITED_CONTENT, SPII, RECITATION) or a blocked
  prompt: AnalysisRefused at once.
- 400 (a rejected schema or request), 401, 403, 404 (the model does not exist, or was retired)
  and unusable credentials are configuration problems: AnalysisMisconfigured at once, naming
  the fix. The worker fails the job without retrying and ``/healthz`` reports degraded.

Reasons never carry the model's text, the prompt or the server's free-text message (a 400 can
quote the request): only status codes, status names, finish reasons and parse reasons, which
``parse_analysis`` already builds free of model text.
"""

from __future__ import annotations

import importlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any, NoReturn

from google import genai
from google.auth import exceptions as auth_exceptions
from google.genai import errors as genai_errors
from google.genai import types

from diagpro.adapters.gemini.models import EXAMPLE_MODEL, model_family
from diagpro.adapters.gemini.output import parse_analysis
from diagpro.adapters.gemini.output_budget import MODEL_OUTPUT_CEILING, output_cap
from diagpro.adapters.gemini.prompt import Prompt, build_prompt
from diagpro.adapters.gemini.schema import response_schema
from diagpro.adapters.language import detect_language
from diagpro.domain.analysis import Analysis, DecodedCode, OwnerFact, RuledOut
from diagpro.domain.codes import DetectedCode
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
)
from diagpro.domain.intake import Intake

log = logging.getLogger("diagpro.analyzer.vertex")

# The global endpoint spreads load across regions (fewer 429s than a single region).
DEFAULT_LOCATION = "global"
# A retry needs at least this much budget left to be worth starting.
MIN_ATTEMPT_SECONDS = 1.0
STUB_TOKEN = "stub-token"  # noqa: S105 - a placeholder bearer for a local stub, not a secret

# The code book (``diagpro.adapters.code_book.decode_codes``): the maker's meanings for the
# codes found, in the customer's language, handed to the model as data.
CodeDecoder = Callable[[Intake, tuple[DetectedCode, ...], str], tuple[DecodedCode, ...]]
# diagpro's own reading of the owner's findings
# (``diagpro.adapters.offline_analyzer.owner_facts.stated_findings``): what each proves and the
# causes it clears, stated in the prompt and checked in the answer.
FindingsReader = Callable[[Intake], tuple[tuple[OwnerFact, ...], tuple[RuledOut, ...]]]

_RETRY_STATUS = frozenset({408, 429})

# Set deliberately rather than left to defaults ("Safety and content filters",
# https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/configure-safety-filters).
# A repair report must talk about fuel, propane, lithium packs and high voltage, which the
# dangerous-content filter scores; it blocks only at high probability. A report has no use for
# harassment, hate or sexual content, so those block from medium up: such text could only come
# from an injection, and a refused answer is better than printing it.
SAFETY_SETTINGS: tuple[types.SafetySetting, ...] = (
    types.SafetySetting(
        category=types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
        threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
    ),
    *(
        types.SafetySetting(
            category=category, threshold=types.HarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE
        )
        for category in (
            types.HarmCategory.HARM_CATEGORY_HARASSMENT,
            types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
            types.HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT,
        )
    ),
)


def _exception_types(names: tuple[str, ...]) -> tuple[type[BaseException], ...]:
    """The named exception classes of whichever transports are installed. google-genai sends
    through httpx or its fork httpx2 (separate classes), or requests on the mTLS path."""
    found: list[type[BaseException]] = []
    for name in names:
        module_name, _, attr = name.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, attr, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


_TIMEOUTS = _exception_types(
    ("httpx.TimeoutException", "httpx2.TimeoutException", "requests.exceptions.Timeout")
)
# Checked after _TIMEOUTS (httpx's timeouts are TransportErrors too).
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    *_exception_types(
        ("httpx.TransportError", "httpx2.TransportError", "requests.exceptions.ConnectionError")
    ),
    auth_exceptions.TransportError,
)
_TEXT_FINISH = frozenset({"STOP", "FINISH_REASON_UNSPECIFIED", ""})
# Stops on the content itself: the same request stops the same way.
_POLICY_FINISH = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION"})


class _Retryable(Exception):
    """One attempt failed in a way worth another try; ``reason`` is safe to log."""

    def __init__(self, reason: str, *, invalid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid = invalid


class _CutOff(Exception):
    """The answer stopped at the output cap (finish reason MAX_TOKENS)."""


def vertex_client(
    project: str,
    location: str,
    *,
    base_url: str | None = None,
    credentials: Any = None,
    timeout_seconds: float = 60,
) -> genai.Client:
    """A Vertex AI client with the SDK's own retries off (VertexAnalyzer retries).

    In production leave ``credentials`` as None: google-genai uses Application Default
    Credentials (the service account on Cloud Run). With ``base_url`` (a local stub) and no
    credentials, a static bearer token is used, since ADC would need the network and anonymous
    credentials cannot be "refreshed". ``project`` and ``location`` are always passed
    explicitly: taken from the environment with a custom base URL, google-genai would drop them
    from the path.
    """
    if not project or not location:
        raise ValueError("vertex_client needs a project and a location")
    if base_url is not None and credentials is None:
        from google.oauth2.credentials import Credentials

        credentials = Credentials(token=STUB_TOKEN)  # type: ignore[no-untyped-call]
    options = types.HttpOptions(
        base_url=base_url,
        timeout=int(timeout_seconds * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(
        vertexai=True,
        project=project,
        location=location,
        credentials=credentials,
        http_options=options,
    )


class VertexAnalyzer:
    """The Analyzer port on Gemini (Vertex AI); see the module docstring for the retry policy."""

    def __init__(
        self,
        client: genai.Client,
        model: str,
        *,
        timeout_seconds: float = 60,
        budget_seconds: float = 120,
        max_attempts: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        decode: CodeDecoder | None = None,
        read_findings: FindingsReader | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not model:
            raise ValueError("VertexAnalyzer needs a model id (VAI_MODEL); there is no default")
        self.client = client
        self.model = model
        self.family = model_family(model)
        self.output_cap = output_cap(self.family.thinking_allowance())
        self.timeout_seconds = timeout_seconds
        self.budget_seconds = budget_seconds
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._decode = decode
        self._read_findings = read_findings

    # --- the port ------------------------------------------------------------------------------

    def _prompt(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Prompt:
        decoded = self._decode(intake, codes, detect_language(intake)) if self._decode else ()
        facts, cleared = self._read_findings(intake) if self._read_findings else ((), ())
        return build_prompt(intake, codes, currency, decoded, facts, cleared)

    def analyse(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Analysis:
        prompt = self._prompt(intake, codes, currency)
        start = self._clock()
        attempt = 0
        cap = self.output_cap
        while True:
            attempt += 1
            remaining = self.budget_seconds - (self._clock() - start)
            timeout = min(self.timeout_seconds, max(remaining, MIN_ATTEMPT_SECONDS))
            try:
                return self._attempt(prompt, intake, codes, currency, timeout, cap)
            except _Retryable as failure:
                last = failure
            except _CutOff:
                if cap >= MODEL_OUTPUT_CEILING or attempt >= self.max_attempts:
                    raise self._cut_off(cap) from None
                # Once, at once and larger: the same cap would cut the same answer again.
                log.warning(
                    "Gemini's answer was cut off at %d output tokens; asking once more with %d",
                    cap,
                    MODEL_OUTPUT_CEILING,
                )
                cap = MODEL_OUTPUT_CEILING
                continue
            delay = self._rng() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            elapsed = self._clock() - start
            if attempt >= self.max_attempts:
                self._give_up(last, attempt, elapsed, "attempts used up")
            if elapsed + delay + MIN_ATTEMPT_SECONDS > self.budget_seconds:
                self._give_up(last, attempt, elapsed, "time budget used up")
            log.warning(
                "Gemini attempt %d failed (%s); retrying in %.2f s", attempt, last.reason, delay
            )
            self._sleep(delay)

    def analyse_once(
        self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str, timeout: float
    ) -> Analysis:
        """Exactly one request with the real prompt, schema and config, no retry: the doctor's
        probe. Raises what ``analyse`` raises, each failure on its first occurrence."""
        prompt = self._prompt(intake, codes, currency)
        try:
            return self._attempt(prompt, intake, codes, currency, timeout, self.output_cap)
        except _Retryable as failure:
            kind = AnalysisInvalid if failure.invalid else AnalysisUnavailable
            raise kind(failure.reason) from None
        except _CutOff:
            raise self._cut_off(self.output_cap) from None

    @staticmethod
    def _cut_off(cap: int) -> AnalysisRefused:
        return AnalysisRefused(
            f"the answer did not fit in {cap} output tokens (finish reason MAX_TOKENS)"
        )

    # --- one attempt ---------------------------------------------------------------------------

    def request_config(
        self, system_instruction: str, timeout: float, cap: int | None = None
    ) -> types.GenerateContentConfig:
        """What every request sends besides the prompt: the response schema, the temperature
        and thinking config of the model's family, the output cap sized to the schema (thinking
        included) and the safety settings."""
        return types.GenerateContentConfig(
            system_instruction=system_instruction,
            response_mime_type="application/json",
            response_json_schema=response_schema(),
            temperature=self.family.temperature(),
            max_output_tokens=cap or self.output_cap,
            thinking_config=self.family.thinking(),
            safety_settings=list(SAFETY_SETTINGS),
            # Per call, so a late attempt never outlives the budget.
            http_options=types.HttpOptions(timeout=max(1, int(timeout * 1000))),
        )

    def _attempt(
        self,
        prompt: Prompt,
        intake: Intake,
        codes: tuple[DetectedCode, ...],
        currency: str,
        timeout: float,
        cap: int,
    ) -> Analysis:
        try:
            response = self.client.models.generate_content(
                model=self.model,
                contents=prompt.user_text,
                config=self.request_config(prompt.system_instruction, timeout, cap),
            )
        except genai_errors.APIError as exc:
            self._api_error(exc)
        except _TIMEOUTS:
            raise _Retryable(f"no answer within {timeout:.1f} s") from None
        except _CONNECTION_ERRORS as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        except (auth_exceptions.RefreshError, auth_exceptions.DefaultCredentialsError):
            raise AnalysisMisconfigured(
                "no usable Google credentials for Vertex AI",
                "check Application Default Credentials (the service account on Cloud Run)",
            ) from None
        except genai_errors.UnknownApiResponseError:
            # A body that is not JSON (a proxy's HTML error page, a cut-off response).
            raise _Retryable("the response was not readable JSON") from None

        text = self._text(response)
        usage = response.usage_metadata
        prompt_tokens = (usage.prompt_token_count or 0) if usage else 0
        # Thinking tokens are billed as output, so they count as output here.
        output_tokens = (
            (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0) if usage else 0
        )
        try:
            return parse_analysis(
                text,
                codes,
                currency=currency,
                model=response.model_version or self.model,
                prompt_tokens=prompt_tokens,
                output_tokens=output_tokens,
                intake=intake,
                owner_cleared=prompt.owner_cleared,
            )
        except AnalysisInvalid as exc:
            raise _Retryable(exc.message, invalid=True) from None

    @staticmethod
    def _text(response: types.GenerateContentResponse) -> str:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise AnalysisRefused(f"the prompt was blocked ({_name(feedback.block_reason)})")
        candidates = response.candidates or []
        if not candidates:
            raise _Retryable("the answer had no candidates")
        candidate = candidates[0]
        finish = _name(candidate.finish_reason)
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        # Thought parts are never the answer.
        text = "".join(p.text for p in parts if p.text and not p.thought)
        if finish == "MAX_TOKENS":
            raise _CutOff()
        if finish in _POLICY_FINISH:
            # The same request would stop the same way and be billed again.
            raise AnalysisRefused(
                f"the model stopped its answer on a content filter (finish reason {finish}); "
                "the same request is not sent again"
            )
        if finish not in _TEXT_FINISH:
            raise _Retryable(f"the answer stopped early (finish reason {finish})")
        if not text.strip():
            raise _Retryable("the answer had no text")
        return text

    def _api_error(self, exc: genai_errors.APIError) -> NoReturn:
        code = exc.code
        status = _safe_status(exc.status)
        if code in _RETRY_STATUS or code >= 500:
            raise _Retryable(f"Vertex AI answered {code} {status}".rstrip()) from None
        api = getattr(self.client, "_api_client", None)
        location = getattr(api, "location", "?")
        project = getattr(api, "project", "?")
        answered = f"{code} {status}".rstrip()
        if code == 404:
            raise AnalysisMisconfigured(
                f"the model {self.model} was not found in location {location} for project "
                f"{project} (404): it may be retired or not offered there",
                f"set VAI_MODEL to a current GA model (e.g. {EXAMPLE_MODEL}) available in "
                "VAI_LOCATION",
            ) from None
        if code == 400 and _mentions_schema(exc):
            raise AnalysisMisconfigured(
                f"Vertex AI rejected the response schema for the model {self.model} ({answered})",
                "choose a model that supports this structured output, or simplify the schema "
                "in adapters/gemini/schema.py",
            ) from None
        if code == 403:
            raise AnalysisMisconfigured(
                f"permission denied on project {project} ({answered})",
                "grant roles/aiplatform.user to the service account and enable the Vertex AI "
                "API (aiplatform.googleapis.com)",
            ) from None
        if code == 401:
            raise AnalysisMisconfigured(
                f"Vertex AI refused the credentials ({answered})",
                "check Application Default Credentials (the service account)",
            ) from None
        # Any other 4xx (400 above all) refuses a request built entirely from our own settings
        # and prompt: the same request would be refused again.
        raise AnalysisMisconfigured(
            f"Vertex AI refused the request for the model {self.model} in location {location} "
            f"({answered})",
            "check VAI_MODEL and VAI_LOCATION, and run `diagpro doctor`",
        ) from None

    @staticmethod
    def _give_up(last: _Retryable, attempts: int, elapsed: float, why: str) -> NoReturn:
        summary = f"{why} after {attempts} attempt(s) in {elapsed:.1f} s; last: {last.reason}"
        if last.invalid:
            raise AnalysisInvalid(f"Gemini kept answering in the wrong shape: {summary}")
        raise AnalysisUnavailable(f"Gemini is unavailable: {summary}")


def _name(value: object) -> str:
    if value is None:
        return ""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(value)


def _mentions_schema(exc: genai_errors.APIError) -> bool:
    """Whether a 400 is about the response schema. The message is read, never repeated: it can
    quote the request."""
    return "schema" in (exc.message or "").lower()


def _safe_status(status: str | None) -> str:
    """Google's status names (RESOURCE_EXHAUSTED) only; anything else is dropped."""
    if status and status.replace("_", "").isalpha() and status.isupper() and len(status) < 40:
        return status
    return ""
