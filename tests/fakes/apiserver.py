"""A fake Kubernetes API server over plain HTTP, enough for a just-created cluster's readiness
wait (providers.wait_until_usable): /version, discovery, and lists of one Ready node, one Ready
kube-system pod and the default ServiceAccount. The fake kind writes kubeconfigs pointing here
(FAKE_APISERVER), so production code needs no switch for the framework's own tests.

For runs against an existing cluster (--kubeconfig) it can also play a user's cluster: another
/version, a /metrics text (kubernetes_feature_enabled), more nodes, and API group versions it
serves (GET /apis/<group>/<version>: 200 when served, else 404)."""

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


def _answer(path: str, fake: FakeApiServer) -> dict | None:
    if path == "/version":
        major, minor = fake.version.lstrip("v").split(".")[:2]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": fake.version,
            "gitCommit": "0" * 40,
            "gitTreeState": "clean",
            "buildDate": "2024-01-01T00:00:00Z",
            "goVersion": "go1.22",
            "compiler": "gc",
            "platform": "linux/amd64",
        }
    if path.startswith("/apis/") and path.count("/") == 3:
        group_version = path.removeprefix("/apis/")
        if group_version in fake.served:
            return {"kind": "APIResourceList", "groupVersion": group_version, "resources": []}
        return None
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
        names = ["fake-control-plane"] + [f"fake-worker{i or ''}" for i in range(fake.nodes - 1)]
        return _list(
            "Node", [{"metadata": {"name": n}, "status": {"conditions": READY}} for n in names]
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
        path = url.path.rstrip("/") or "/"  # the client asks for /version/
        fake: FakeApiServer = self.server.fake  # type: ignore[attr-defined]
        body = b"" if "watch=true" in url.query.lower() else None
        if path == "/metrics" and fake.metrics is not None:
            self._send(200, fake.metrics.encode(), "text/plain")
            return
        if body is None:
            answer = _answer(path, fake)
            status = 200 if answer is not None else 404
            answer = answer or {"kind": "Status", "code": 404, "reason": "NotFound"}
            body = json.dumps(answer).encode()
        else:
            status = 200  # a watch that ends at once, as a server timeout does
        self._send(status, body)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


# serve_forever checks for shutdown() this often; its default (0.5 s) is what every test that
# stops the server would wait, so each plugin test paid half a second in its teardown.
POLL_SECONDS = 0.02


class FakeApiServer:
    def __init__(
        self,
        version: str = "v1.28.15",
        metrics: str | None = None,
        nodes: int = 1,
        served: tuple[str, ...] = (),
    ) -> None:
        self.version = version
        self.metrics = metrics  # None: /metrics is 404
        self.nodes = nodes
        self.served = served
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.fake = self  # type: ignore[attr-defined]
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
