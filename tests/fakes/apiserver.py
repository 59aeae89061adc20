"""A fake Kubernetes API server over plain HTTP, enough for a just-created cluster's readiness
wait (providers.wait_until_usable): /version, discovery, and lists of one Ready node, one Ready
kube-system pod and the default ServiceAccount. The fake kind writes kubeconfigs pointing here
(FAKE_APISERVER), so production code needs no switch for the framework's own tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

READY = [{"type": "Ready", "status": "True"}]
RESOURCES = [
    ("nodes", "Node", False),
    ("pods", "Pod", True),
    ("serviceaccounts", "ServiceAccount", True),
    ("namespaces", "Namespace", False),
]


def _list(kind: str, items: list[dict]) -> dict:
    return {
        "kind": f"{kind}List",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"},
        "items": items,
    }


def _answer(path: str) -> dict | None:
    if path == "/version":
        return {"major": "1", "minor": "28", "gitVersion": "v1.28.15"}
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"]}
    if path == "/api/v1":
        return {
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [
                {
                    "name": name,
                    "singularName": kind.lower(),
                    "namespaced": namespaced,
                    "kind": kind,
                    "verbs": ["get", "list", "watch"],
                }
                for name, kind, namespaced in RESOURCES
            ],
        }
    if path == "/api/v1/nodes":
        return _list(
            "Node", [{"metadata": {"name": "fake-control-plane"}, "status": {"conditions": READY}}]
        )
    if path == "/api/v1/namespaces/kube-system/pods":
        return _list(
            "Pod",
            [
                {
                    "metadata": {"name": "etcd", "namespace": "kube-system"},
                    "status": {"phase": "Running", "conditions": READY},
                }
            ],
        )
    if path == "/api/v1/namespaces/default/serviceaccounts":
        return _list("ServiceAccount", [{"metadata": {"name": "default", "namespace": "default"}}])
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        body = b"" if "watch=true" in url.query.lower() else None
        if body is None:
            answer = _answer(url.path)
            status = 200 if answer is not None else 404
            answer = answer or {"kind": "Status", "code": 404, "reason": "NotFound"}
            body = json.dumps(answer).encode()
        else:
            status = 200  # a watch that ends at once, as a server timeout does
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


# serve_forever checks for shutdown() this often; its default (0.5 s) is what every test that
# stops the server would wait, so each plugin test paid half a second in its teardown.
POLL_SECONDS = 0.02


class FakeApiServer:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(POLL_SECONDS,), daemon=True
        )

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
