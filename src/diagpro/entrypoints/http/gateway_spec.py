"""The Google API Gateway config (Swagger 2.0), generated from the app's own routes.

The original kept its gateway config by hand, and routes missing from it lost payments (incidents
0100 and 0026: the backend had the route, the gateway answered 404 or refused). Here the config is
derived from ``app.routes``, the router itself, not from the OpenAPI schema, because pages and
report files are left out of the schema but must still be routed.

Every operation is forwarded with ``APPEND_PATH_TO_ADDRESS`` to the bare backend URL: the gateway
appends the request path (``/view/diag_…`` → ``<backend>/view/diag_…``). ``CONSTANT_ADDRESS`` would
call the address as-is and move path variables into the query string (``?submission_id=…``),
which the backend does not route; and the default ID-token audience is the address, which Cloud
Run accepts only as the bare service URL.

An operation requires the ``x-api-key`` API key exactly when its handler sits behind the API key
check (``auth.ApiKeyCheck`` among its middleware). The check and the ``security`` the router
declares for the schema must agree; a handler with one but not the other is refused, so the
gateway can never demand a key the backend does not (which would lock Stripe out of the webhook)
nor drop one the backend checks.

With ``cors=True`` every path also gets an ``options`` operation, forwarded like the others and
without a key: a browser's CORS preflight carries no ``x-api-key`` (the Fetch standard leaves
custom headers out of it), and the gateway answers an OPTIONS it has no operation for with 404.
The backend answers the preflight for the origins in DIAGPRO_CORS_ORIGINS (http/cors.py).
"""

from __future__ import annotations

import inspect
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.middleware.base import DefineMiddleware
from litestar.routes import HTTPRoute

from diagpro.entrypoints.http.auth import API_KEY_HEADER, ApiKeyCheck

API_KEY_SCHEME = "api_key"
PATH_TRANSLATION = "APPEND_PATH_TO_ADDRESS"

# Names the app's own OpenAPI config may give its API key scheme (app.py says "apiKey").
_KEY_SCHEME_NAMES = frozenset({"apiKey", API_KEY_SCHEME})

_SWAGGER_TYPES: dict[type, dict[str, str]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
}


class GatewaySpecError(ValueError):
    """The app has a route the gateway config cannot express, or a bad backend URL."""


def gateway_spec(
    app: Litestar,
    backend_url: str,
    *,
    title: str = "diagpro",
    deadline: float = 60.0,
    cors: bool = False,
) -> dict[str, Any]:
    """A Google API Gateway config routing every (path, method) of ``app`` to ``backend_url``."""
    backend = _backend_address(backend_url)
    if deadline <= 0:
        raise GatewaySpecError(f"deadline must be positive, got {deadline}")
    paths: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for route, method, handler in gateway_operations(app):
        operation: dict[str, Any] = {"operationId": _operation_id(handler, method, taken)}
        summary = _summary(handler)
        if summary:
            operation["summary"] = summary
        operation["x-google-backend"] = {
            "address": backend,
            "path_translation": PATH_TRANSLATION,
            "deadline": float(deadline),
        }
        parameters = _path_parameters(route)
        if parameters:
            operation["parameters"] = parameters
        status = int(handler.status_code)
        operation["responses"] = {str(status): {"description": _phrase(status)}}
        operation["security"] = [{API_KEY_SCHEME: []}] if requires_api_key(handler) else []
        paths.setdefault(route.path_format, {})[method.lower()] = operation
    if cors:
        for operations in paths.values():
            operations["options"] = _preflight(operations, taken)
    version = app.openapi_config.version if app.openapi_config is not None else "1.0.0"
    return {
        "swagger": "2.0",
        "info": {
            "title": title,
            "description": f"{title} behind Google API Gateway; generated from the app's routes",
            "version": version,
        },
        "schemes": ["https"],
        "produces": ["application/json"],
        "paths": paths,
        "securityDefinitions": {
            API_KEY_SCHEME: {"type": "apiKey", "name": API_KEY_HEADER, "in": "header"}
        },
    }


def _preflight(operations: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    """The CORS preflight of a path: to the same backend, no key, no answer of its own."""
    first = next(iter(operations.values()))
    preflight: dict[str, Any] = {
        "operationId": _unique(f"{first['operationId']}_preflight", taken),
        "summary": "CORS preflight, answered by the backend",
        "x-google-backend": first["x-google-backend"],
    }
    if "parameters" in first:
        preflight["parameters"] = first["parameters"]
    preflight["responses"] = {"204": {"description": _phrase(204)}}
    preflight["security"] = []
    return preflight


def gateway_operations(app: Litestar) -> list[tuple[HTTPRoute, str, HTTPRouteHandler]]:
    """Every (route, method, handler) the gateway must forward, in the app's route order.

    Left out: Litestar's OpenAPI schema routes, the OPTIONS handlers Litestar adds to every
    path by itself, and the routes marked ``opt={"gateway": False}``: the task routes
    (``/tasks/*``, called by Pub/Sub and Cloud Scheduler with Google's OIDC token) and
    ``/metrics`` (a scraper's, with an operator key). A route
    the gateway cannot express raises rather than being skipped.
    """
    config = app.openapi_config
    schema_path = (config.path or "/schema").rstrip("/") if config is not None else ""
    operations: list[tuple[HTTPRoute, str, HTTPRouteHandler]] = []
    for route in app.routes:
        if schema_path and (route.path == schema_path or route.path.startswith(schema_path + "/")):
            continue
        if not isinstance(route, HTTPRoute):
            raise GatewaySpecError(
                f"{route.path}: {type(route).__name__} routes (websockets, mounted ASGI apps) "
                "cannot be expressed in the gateway config"
            )
        for method in sorted(route.route_handler_map):
            handler, _ = route.route_handler_map[method]
            if method == "OPTIONS" and _function(handler).__module__.startswith("litestar."):
                continue  # Litestar's automatic OPTIONS answer, not one of ours
            if handler.opt.get("gateway") is False:
                continue  # a task route or /metrics: called on the service directly
            operations.append((route, str(method), handler))
    return operations


def requires_api_key(handler: HTTPRouteHandler) -> bool:
    """Whether the handler enforces the API key, checked against what it declares."""
    checked = any(_is_api_key_check(layer) for layer in handler.resolve_middleware())
    declared = any(
        name in _KEY_SCHEME_NAMES
        for requirement in handler.resolve_security() or []
        for name in requirement
    )
    if checked != declared:
        what = "has the API key check but declares no" if checked else "declares an"
        raise GatewaySpecError(
            f"{handler.handler_name} {what} API key security requirement"
            f"{'' if checked else ' but has no API key check'}; make the check and "
            "`security` agree"
        )
    return checked


def _is_api_key_check(layer: Any) -> bool:
    return isinstance(layer, DefineMiddleware) and layer.middleware is ApiKeyCheck


def _function(handler: HTTPRouteHandler) -> Any:
    fn = handler.fn
    return inspect.unwrap(getattr(fn, "func", fn))


def _backend_address(backend_url: str) -> str:
    url = backend_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise GatewaySpecError(
            f"backend {backend_url!r} must be an http(s) URL, e.g. a run.app URL"
        )
    if parts.query or parts.fragment:
        raise GatewaySpecError(f"backend {backend_url!r} must not carry a query or fragment")
    return url


def _operation_id(handler: HTTPRouteHandler, method: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", handler.handler_name) or method.lower()
    return _unique(base, taken)


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:  # one handler on several paths, or two methods sharing a name
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _summary(handler: HTTPRouteHandler) -> str:
    doc = inspect.getdoc(_function(handler)) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()


def _path_parameters(route: HTTPRoute) -> list[dict[str, Any]]:
    parameters = []
    for param in route.path_parameters.values():
        swagger_type = _SWAGGER_TYPES.get(param.type)
        if param.type is Path:
            raise GatewaySpecError(
                f"{route.path}: {{{param.full}}} spans several segments, which Swagger 2.0 "
                "paths cannot express"
            )
        parameters.append(
            {
                "name": param.name,
                "in": "path",
                "required": True,
                **(swagger_type or {"type": "string"}),
            }
        )
    return parameters


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
