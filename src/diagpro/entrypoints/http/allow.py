"""An explicit ``OPTIONS`` answer for a path served by several handlers (one per method).

Litestar 2 registers handlers one at a time and makes a path's automatic OPTIONS handler with the
first one, so its ``Allow`` header lists only that handler's method (litestar-org/litestar#4169,
fixed in 3.0): ``OPTIONS /analysisStatus`` said ``OPTIONS, POST`` and left GET out. A path with an
OPTIONS handler of its own gets no automatic one; this one reads the methods the app really
routes for the path when asked, so it cannot go stale (RFC 9110, section 9.3.7).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_204_NO_CONTENT


def allow_answer(path: str) -> HTTPRouteHandler:
    """Register it beside (before) the path's handlers, under the same router."""

    # Like Litestar's automatic OPTIONS answers, left out of the API Gateway config
    # (gateway_spec.py): `diagpro gateway-spec --cors` forwards preflights on its own.
    @route(
        path,
        http_method=[HttpMethod.OPTIONS],
        include_in_schema=False,
        sync_to_thread=False,
        opt={"gateway": False},
    )
    def options(request: Request[Any, Any, Any]) -> Response[None]:
        methods = request.app.route_handler_method_map.get(path, {})
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": ", ".join(sorted(methods))}
        )

    return options
