"""A stand-in for the metadata server Cloud Run gives every instance
(https://cloud.google.com/run/docs/container-contract#metadata-server), enough for
``google.auth.default()`` to find it and name the attached service account.

google-auth reads ``GCE_METADATA_HOST`` and ``GCE_METADATA_IP`` when it is imported, so a test
points a *new process* at it. Every answer carries ``Metadata-Flavor: Google``, as google-auth
requires of a genuine server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.stubs.local_http import LocalHttpStub, StubRequestHandler


class MetadataStub(LocalHttpStub):
    methods = ("GET",)

    def __init__(self, email: str, project: str) -> None:
        self.paths: list[str] = []
        self._answers: dict[str, Any] = {
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

    def respond(self, request: StubRequestHandler) -> None:
        path = urlsplit(request.path).path
        self.paths.append(path)
        answer = self._answers.get(path)
        flavor = {"Metadata-Flavor": "Google"}
        if answer is None or request.headers.get("Metadata-Flavor") != "Google":
            request.send_body(404, b"", "text/plain", flavor)
        elif isinstance(answer, str):
            request.send_body(200, answer.encode(), "text/plain", flavor)
        else:
            request.send_json(200, answer, flavor)
