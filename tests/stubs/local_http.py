"""What every local HTTP stub in tests/stubs shares: a stdlib ``ThreadingHTTPServer`` on
127.0.0.1 (a free port the OS picks), served by a daemon thread for the length of a ``with``
block, and a quiet request handler that reads bodies and sends JSON.

A stub subclasses ``LocalHttpStub``, names the HTTP methods it answers in ``methods`` and writes
``respond(request)``; a request with any other method gets the stdlib's 501, as from a plain
``BaseHTTPRequestHandler``::

    class Teapot(LocalHttpStub):
        methods = ("GET",)

        def respond(self, request: StubRequestHandler) -> None:
            request.send_json(418, {"error": "I'm a teapot"})

    with Teapot() as teapot:
        httpx.get(teapot.url)

https://docs.python.org/3/library/http.server.html
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class StubRequestHandler(BaseHTTPRequestHandler):
    """One request to a stub: no access log on stderr, and helpers to read and answer it."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        """The request body (read in full, so the connection stays usable), or ``b""``."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(
        self,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        """``body`` as JSON (bytes are sent as they are: already encoded JSON)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_body(status, raw, content_type, headers)


class LocalHttpStub:
    """Owns the server and its thread; ``url`` and ``host`` name it while it runs."""

    methods: ClassVar[tuple[str, ...]] = ("GET",)

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def respond(self, request: StubRequestHandler) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        stub = self

        def answer(request: StubRequestHandler) -> None:
            stub.respond(request)

        handler = type(
            f"{type(self).__name__}Handler",
            (StubRequestHandler,),
            {f"do_{method}": answer for method in self.methods},
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # Request threads are daemons, so a client left hanging (a timeout test) never keeps
        # server_close() or the test session waiting.
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, f"the {type(self).__name__} is not running"
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, as the ``*_EMULATOR_HOST`` and ``GCE_METADATA_HOST`` want it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"
