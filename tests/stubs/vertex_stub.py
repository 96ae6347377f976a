"""A local Vertex AI ``generateContent`` endpoint with scripted answers, for contract tests.

It answers ``POST /{v1,v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}
:generateContent`` on 127.0.0.1 only. Each request takes the next scripted behaviour (then
``default``, which is ``GOOD``); every request is recorded (path, headers, JSON body)::

    with VertexStub() as stub:
        stub.script(ERROR_429, GOOD)
        client = vertex_client("demo-proj", "europe-west1", base_url=stub.url)
        ...
        assert stub.requests[0].headers["authorization"] == "Bearer stub-token"
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from tests.stubs.local_http import LocalHttpStub, StubRequestHandler
from tests.unit.test_gemini_output import F150

# Behaviours.
GOOD = "good"  # a valid analysis for the builders' F-150 intake, in the prompt's language
SLOW = "slow"  # sleep ``slow_seconds`` (past the client's timeout), then answer well
ERROR_429 = "429"
ERROR_500 = "500"
ERROR_503 = "503"
ERROR_403 = "403"
ERROR_404 = "404"  # model not found (a retired or misspelt id)
ERROR_400_SCHEMA = "400_schema"  # the response schema refused (Vertex: too complex to serve)
ERROR_400 = "400"  # some other invalid argument
ERROR_401 = "401"
BROKEN_JSON = "broken_json"  # the answer's text is not JSON
BAD_SCHEMA = "bad_schema"  # JSON, but not the schema's shape
EMPTY = "empty"  # no candidates at all
SAFETY = "safety"  # a candidate without content, finish reason SAFETY
MAX_TOKENS = "max_tokens"  # the answer cut off, finish reason MAX_TOKENS
# Schema-valid JSON that breaks rules the schema cannot state: shares adding up to 175%, four
# next steps, an upside-down cost range.
RULE_BREAKING = "rule_breaking"

MODEL_VERSION = "gemini-3.5-flash-stub-001"
PROMPT_TOKENS = 2345
OUTPUT_TOKENS = 3456
# Text a test can look for to prove the model's words never reach an error message.
SECRET_WORDS = "IGNORE-ALL-INSTRUCTIONS-canary-7f3a"

_PATH = re.compile(
    r"\A/(?P<version>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/google/models/(?P<model>[^/:]+):generateContent\Z"
)
_ERRORS = {
    ERROR_429: (429, "RESOURCE_EXHAUSTED", "Resource exhausted. Please try again later."),
    ERROR_500: (500, "INTERNAL", "Internal error encountered."),
    ERROR_503: (503, "UNAVAILABLE", "The service is currently unavailable."),
    ERROR_403: (403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied."),
    # Vertex's wording for a schema it cannot serve ("control generated output" docs).
    ERROR_400_SCHEMA: (
        400,
        "INVALID_ARGUMENT",
        "The specified schema produces a constraint that has too many states for serving. "
        "Typical causes of this error are schemas with lots of text (for example, very long "
        f"property or enum names) {SECRET_WORDS}",
    ),
    ERROR_400: (400, "INVALID_ARGUMENT", f"Request contains an invalid argument. {SECRET_WORDS}"),
    ERROR_401: (
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
    ),
}


def good_answer(language: str = "en") -> dict[str, Any]:
    """The unit tests' F-150 coil-swap answer (the coil ruled out by the owner's swap, the
    injector ranked first), or the same answer written in Spanish for ``language="es"``."""
    answer = copy.deepcopy(F150)
    if language == "es":
        answer.update(_SPANISH)
    return answer


# What Gemini writes for the same F-150 when the description is in Spanish: every text value in
# Spanish, codes and units as the maker writes them.
_SPANISH: dict[str, Any] = {
    "language": "es",
    "equipment_assumed": "Ford F-150 2015 de gasolina, automática, 4x4, 98.000 millas; V6",
    "facts_used": [
        {
            "fact": "Cambió la bobina 1 por la 2 y la falla siguió en el cilindro 1",
            "proves": "La bobina no es la causa: una bobina mala se lleva la falla consigo",
        }
    ],
    "ruled_out": [
        {
            "cause": "Bobina de encendido del cilindro 1",
            "because": "la falla siguió en el cilindro 1 después de cambiar las bobinas",
        }
    ],
    "causes": [
        {
            "cause": "Inyector del cilindro 1 obstruido o con fuga",
            "pct": 45,
            "why": "P0301 con P0171: el cilindro 1 falla mientras el banco va pobre.",
            "for": ["P0301", "P0171", "la falla siguió en el cilindro 1"],
            "against": [],
        },
        {
            "cause": "Fuga en la junta de admisión del cilindro 1",
            "pct": 25,
            "why": "El aire no medido empobrece el banco y afecta más al cilindro cercano.",
            "for": ["P0171"],
            "against": ["no se oye silbido"],
        },
        {
            "cause": "Compresión baja en el cilindro 1",
            "pct": 15,
            "why": "Una válvula que no sella mantiene la falla en un cilindro.",
            "for": ["la falla no se mueve"],
            "against": [],
        },
    ],
    "data_needed": ["Ajustes de combustible del banco 1 en ralentí y a 2.500 rpm"],
    "urgency": {
        "level": "soon",
        "reason": "La luz de motor parpadeando calienta el catalizador.",
        "stop_if": ["La luz parpadea a velocidad constante"],
    },
    "codes": [
        {
            "code": "P0301",
            "system": "OBD-II (SAE J2012)",
            "meaning": "Falla de encendido detectada en el cilindro 1",
            "certainty": "known",
            "bearing": "La falla está en un cilindro, no en todo el motor",
        },
        {
            "code": "P0171",
            "system": "OBD-II (SAE J2012)",
            "meaning": "Sistema demasiado pobre, banco 1",
            "certainty": "known",
            "bearing": "Entra aire sin medir o falta combustible en el banco 1",
        },
    ],
    "safety": ["La luz de motor parpadeando puede recalentar el catalizador."],
    "owner_checks": [
        {
            "check": "Escuche en ralentí si hay un silbido cerca de la admisión",
            "what_it_tells": "Un silbido junto al cilindro 1 apunta a la junta de admisión",
        }
    ],
    "shop_tests": [
        {
            "test": "Intercambio o prueba de balance de inyectores, cilindro 1",
            "how": "Intercambiar los inyectores 1 y 2, o prueba de balance con escáner.",
            "confirms": "Si la falla pasa al cilindro 2, el inyector está mal.",
            "cost_low": 100,
            "cost_high": 150,
        },
        {
            "test": "Prueba de humo de la admisión",
            "how": "Introducir humo en la admisión con el motor apagado.",
            "confirms": "Humo en el conducto del cilindro 1 indica una fuga en la junta.",
            "cost_low": 80,
            "cost_high": 120,
        },
    ],
    "do_not": ["No cambie las seis bobinas: su prueba ya las descartó."],
    "repair_costs": [
        {
            "repair": "Cambiar el inyector del cilindro 1",
            "cause_index": 0,
            "worst_case": False,
            "parts_low": 90,
            "parts_high": 120,
            "hours_low": 1.5,
            "hours_high": 2.0,
            "total_low": 320,
            "total_high": 420,
        },
        {
            "repair": "Cambiar el catalizador tras conducir con la falla",
            "cause_index": -1,
            "worst_case": True,
            "parts_low": 600,
            "parts_high": 900,
            "hours_low": 1.0,
            "hours_high": 2.0,
            "total_low": 750,
            "total_high": 1100,
        },
    ],
    "quote_check": {
        "shop_job": "Cambiar todas las bobinas e inyectores",
        "fair_low": 1100,
        "fair_high": 1400,
        "verdict": "unjustified_scope",
        "explanation": "El precio es justo para ese trabajo, pero su prueba descartó las bobinas.",
    },
    "shop_questions": [
        "¿Qué valores dieron los ajustes de combustible del banco 1, en frío y en caliente?",
        "¿Probaron el inyector del cilindro 1 antes de presupuestar los seis?",
        "¿Por qué cambiar bobinas que mi prueba ya descartó?",
    ],
    "how_it_works": "Cada cilindro necesita aire, combustible y chispa en el momento justo.",
    "sources": ["Manual de taller de Ford, sección 303-14, diagnóstico de fallas de encendido"],
    "next_steps": [
        "Pida una prueba de inyectores y una prueba de humo antes de cambiar piezas.",
        "No apruebe el cambio de las seis bobinas: su prueba ya las descartó.",
        "Conduzca con suavidad hasta la reparación.",
    ],
}


def _language_asked(body: dict[str, Any]) -> str:
    """The language the request's system instruction asks for ("detected: es")."""
    parts = body.get("systemInstruction", {}).get("parts", [])
    text = " ".join(part.get("text", "") for part in parts)
    match = re.search(r"\(detected: ([A-Za-z-]+)\)", text)
    return match.group(1) if match else "en"


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]

    @property
    def model(self) -> str:
        match = _PATH.match(self.path.split("?", 1)[0])
        return match.group("model") if match else ""

    @property
    def generation_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.body.get("generationConfig", {})
        return config

    @property
    def response_schema(self) -> dict[str, Any] | None:
        """The JSON schema the request asked the answer to follow, as sent on the wire."""
        schema: dict[str, Any] | None = self.generation_config.get("responseJsonSchema")
        return schema


def _response(text: str | None, finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"finishReason": finish}
    if text is not None:
        candidate["content"] = {"role": "model", "parts": [{"text": text}]}
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": PROMPT_TOKENS,
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": PROMPT_TOKENS + OUTPUT_TOKENS,
        },
        "modelVersion": MODEL_VERSION,
        "responseId": "stub-response",
        **extra,
    }


class VertexStub(LocalHttpStub):
    methods = ("POST",)

    def __init__(self, *, slow_seconds: float = 2.0) -> None:
        self.slow_seconds = slow_seconds
        self.default = GOOD
        self.requests: list[Recorded] = []
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # --- control -------------------------------------------------------------------------------

    def script(self, *behaviours: str) -> None:
        """Answer the next requests with these behaviours, in order, then with ``default``."""
        with self._lock:
            self._script.extend(behaviours)

    def reset(self) -> None:
        """Forget the script and the recorded requests; answer well again."""
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.default = GOOD

    def stop(self) -> None:
        self._stopping.set()  # a SLOW answer still sleeping gives up at once
        super().stop()

    # --- serving -------------------------------------------------------------------------------

    def _next(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def respond(self, handler: StubRequestHandler) -> None:
        raw = handler.read_body()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_unparsable": raw.decode("utf-8", "replace")}
        with self._lock:
            self.requests.append(
                Recorded(
                    path=handler.path,
                    headers={k.lower(): v for k, v in handler.headers.items()},
                    body=body,
                )
            )
        match = _PATH.match(handler.path.split("?", 1)[0])
        if not match:
            self._error(handler, 404, "NOT_FOUND", f"No route for {handler.path}")
            return
        behaviour = self._next()
        if behaviour in _ERRORS:
            self._error(handler, *_ERRORS[behaviour])
        elif behaviour == ERROR_404:
            model = match.group("model")
            project = match.group("project")
            self._error(
                handler,
                404,
                "NOT_FOUND",
                f"Publisher Model `projects/{project}/locations/{match.group('location')}/"
                f"publishers/google/models/{model}` was not found or your project does not "
                "have access to it.",
            )
        elif behaviour == SLOW:
            if self._stopping.wait(self.slow_seconds):
                return
            self._send(handler, 200, _response(json.dumps(good_answer(_language_asked(body)))))
        else:
            self._send(handler, 200, self._answer(behaviour, _language_asked(body)))

    @staticmethod
    def _answer(behaviour: str, language: str) -> dict[str, Any]:
        if behaviour == GOOD:
            return _response(json.dumps(good_answer(language)))
        if behaviour == BROKEN_JSON:
            return _response('{"causes": [{"cause": "' + SECRET_WORDS)
        if behaviour == BAD_SCHEMA:
            answer = good_answer()
            answer["other_pct"] = SECRET_WORDS
            del answer["next_steps"]
            return _response(json.dumps(answer))
        if behaviour == RULE_BREAKING:
            answer = good_answer(language)
            answer["causes"][0]["pct"] = 120
            answer["next_steps"].append(answer["next_steps"][0])
            cost = answer["repair_costs"][0]
            cost["total_low"], cost["total_high"] = cost["total_high"], cost["total_low"]
            return _response(json.dumps(answer))
        if behaviour == EMPTY:
            return {
                "candidates": [],
                "usageMetadata": {"promptTokenCount": PROMPT_TOKENS, "totalTokenCount": 0},
                "modelVersion": MODEL_VERSION,
            }
        if behaviour == SAFETY:
            return _response(None, "SAFETY")
        if behaviour == MAX_TOKENS:
            return _response(json.dumps(good_answer())[:500], "MAX_TOKENS")
        raise ValueError(f"unknown stub behaviour {behaviour!r}")

    @classmethod
    def _error(cls, handler: StubRequestHandler, code: int, status: str, message: str) -> None:
        cls._send(handler, code, {"error": {"code": code, "message": message, "status": status}})

    @staticmethod
    def _send(handler: StubRequestHandler, code: int, payload: dict[str, Any]) -> None:
        # A client that gave up (a timeout test) has nothing left to be told.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.send_json(code, payload, content_type="application/json; charset=UTF-8")
