"""Stand-ins for a Google API that is disabled in the project, reached through the official
clients: what Google answers before any permission is even looked at.

- ``DisabledStorage``: an HTTP server for ``STORAGE_EMULATOR_HOST`` answering every JSON API call
  403 with the body Google sends for a disabled API (reason ``accessNotConfigured``, ErrorInfo
  ``SERVICE_DISABLED``).
- ``DisabledPubSub``: a gRPC server for ``PUBSUB_EMULATOR_HOST`` answering every call
  PERMISSION_DENIED with the same message and a ``google.rpc.ErrorInfo`` detail.

The texts follow https://cloud.google.com/service-usage/docs/troubleshooting.
"""

from __future__ import annotations

import json
from concurrent import futures
from typing import Any

from tests.stubs.local_http import LocalHttpStub, StubRequestHandler

PROJECT_NUMBER = "123456789012"


def disabled_message(api: str, service: str) -> str:
    return (
        f"{api} has not been used in project {PROJECT_NUMBER} before or it is disabled. Enable "
        f"it by visiting https://console.developers.google.com/apis/api/{service}/overview?"
        f"project={PROJECT_NUMBER} then retry. If you enabled this API recently, wait a few "
        "minutes for the action to propagate to our systems and retry."
    )


def _error_info(service: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {"service": service, "consumer": f"projects/{PROJECT_NUMBER}"},
    }


class DisabledStorage(LocalHttpStub):
    methods = ("GET", "POST", "PUT", "DELETE")
    SERVICE = "storage.googleapis.com"

    def __init__(self) -> None:
        self.requests: list[str] = []
        message = disabled_message("Cloud Storage JSON API", self.SERVICE)
        self._body = json.dumps(
            {
                "error": {
                    "code": 403,
                    "message": message,
                    "errors": [
                        {
                            "message": message,
                            "domain": "usageLimits",
                            "reason": "accessNotConfigured",
                            "extendedHelp": "https://console.developers.google.com",
                        }
                    ],
                    "status": "PERMISSION_DENIED",
                    "details": [_error_info(self.SERVICE)],
                }
            }
        ).encode()

    def respond(self, request: StubRequestHandler) -> None:
        request.read_body()
        self.requests.append(f"{request.command} {request.path}")
        request.send_json(403, self._body, content_type="application/json; charset=UTF-8")


class DisabledPubSub:
    SERVICE = "pubsub.googleapis.com"

    def __init__(self) -> None:
        import grpc
        from google.protobuf import any_pb2
        from google.rpc import error_details_pb2, status_pb2
        from grpc_status import rpc_status

        self.methods: list[str] = []
        message = disabled_message("Cloud Pub/Sub API", self.SERVICE)
        info = error_details_pb2.ErrorInfo(
            reason="SERVICE_DISABLED",
            domain="googleapis.com",
            metadata={"service": self.SERVICE, "consumer": f"projects/{PROJECT_NUMBER}"},
        )
        detail = any_pb2.Any()
        detail.Pack(info)
        status = rpc_status.to_status(
            status_pb2.Status(
                code=grpc.StatusCode.PERMISSION_DENIED.value[0], message=message, details=[detail]
            )
        )
        stub = self

        def refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
            context.abort_with_status(status)
            raise AssertionError("abort_with_status returns only by raising")

        class Refuser(grpc.GenericRpcHandler):
            def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
                stub.methods.append(details.method)
                return grpc.unary_unary_rpc_method_handler(refuse)

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self._server.add_generic_rpc_handlers((Refuser(),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> DisabledPubSub:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
