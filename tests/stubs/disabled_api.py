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
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


class DisabledStorage:
    SERVICE = "storage.googleapis.com"

    def __init__(self) -> None:
        self.requests: list[str] = []
        stub = self
        message = disabled_message("Cloud Storage JSON API", self.SERVICE)
        body = json.dumps(
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

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                stub.requests.append(f"{self.command} {self.path}")
                self.send_response(403)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _refuse

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> DisabledStorage:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


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
