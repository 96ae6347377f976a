"""A stand-in for the metadata server Cloud Run gives every instance
(https://cloud.google.com/run/docs/container-contract#metadata-server), enough for
``google.auth.default()`` to find it and name the attached service account.

google-auth reads ``GCE_METADATA_HOST`` and ``GCE_METADATA_IP`` when it is imported, so a test
points a *new process* at it. Every answer carries ``Metadata-Flavor: Google``, as google-auth
requires of a genuine server.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class MetadataStub:
    def __init__(self, email: str, project: str) -> None:
        self.paths: list[str] = []
        stub = self
        answers: dict[str, Any] = {
            "/": "computeMetadata/",
            "/computeMetadata/v1/project/project-id": project,
            "/computeMetadata/v1/instance/service-accounts/default/": {
                "aliases": ["default"],
                "email": email,
                "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
            },
            "/computeMetadata/v1/instance/service-accounts/default/token": {
                "access_token": "ya29.metadata-stub-token",
                "expires_in": 3599,
                "token_type": "Bearer",
            },
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                stub.paths.append(path)
                answer = answers.get(path)
                if answer is None or self.headers.get("Metadata-Flavor") != "Google":
                    self.send_response(404)
                    self.send_header("Metadata-Flavor", "Google")
                    self.end_headers()
                    return
                is_text = isinstance(answer, str)
                body = (answer if is_text else json.dumps(answer)).encode()
                self.send_response(200)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", "text/plain" if is_text else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MetadataStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
