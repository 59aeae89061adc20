"""A tiny read-only OCI registry for image-pull tests, listening inside a kind node.

This machine reaches no registry, and an image already on a node is never pulled again, so a
test that must watch the kubelet pull needs a registry of its own. This one serves locally
built images (from ``docker save``) under any number of names, answers the distribution API's
pull side (``/v2/``, manifests, blobs), and records when each request started and ended: the
server-side truth about whether two pulls overlapped.

To make two parallel pulls overlap whatever the load (:meth:`LocalRegistry.hold_together`), it
holds the tag resolution of each of a group of repositories until every one of them has a tag
resolution in flight, at most a cap: pulls that run in parallel then overlap by construction,
however far apart the kubelet began them; pulls run one at a time never do - the first is held
for the whole cap, since the second cannot start before the first has ended.

It runs in the test process, but its listening socket is made inside the node's network
namespace (setns, then back), on the node's 127.0.0.1: containerd talks plain HTTP to a
localhost registry without any configuration (CRI's defaultScheme), and the traffic never
leaves the node.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kconformance.errors import CommandError

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"


_CLONE_NEWNET = 0x40000000


@contextmanager
def network_namespace_of(pid: int) -> Iterator[None]:
    """Run the block in the network namespace of process ``pid`` (this thread only)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(target, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into the network namespace of pid {pid}")
        try:
            yield
        finally:
            if libc.setns(own, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the test's network namespace")
    finally:
        os.close(own)
        os.close(target)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    started: float
    ended: float = 0.0
    # for a held tag resolution: whether every repository of the group had arrived by the end of
    # the hold (False: the cap ran out first)
    all_arrived: bool | None = None


@dataclass
class ImageContent:
    manifest: bytes
    blobs: dict[str, bytes]

    @property
    def manifest_digest(self) -> str:
        return _digest(self.manifest)


def image_content(image: str, label: str) -> ImageContent:
    """An OCI manifest plus blobs for a local Docker image (``docker save``'s layer tars are
    uncompressed, which the OCI layer media type allows and containerd accepts), as an image of
    its own: the config gets the label ``kconformance.io/served-as=<label>``, so the image ID
    (the config's digest) differs from the local image's while the layers stay shared.

    An image pulled under the local image's ID broke that image on the node: the 1.36 kubelet
    (KubeletEnsureSecretPulledImages) writes an ImagePulledRecord per image ID listing the names
    it was pulled as; once busybox's ID had one (for the test's names only), busybox was no
    longer a preloaded image and every busybox pod had to pull it to verify access - from a
    registry this machine cannot reach (ErrImagePull on every later busybox pod of the node)."""
    saved = subprocess.run(["docker", "save", image], capture_output=True, timeout=120)
    if saved.returncode != 0:
        raise CommandError(["docker", "save", image], saved.returncode, saved.stderr.decode())
    raw = saved.stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:

        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            assert member is not None, f"{name} missing in docker save of {image}"
            return member.read()

        entry = json.loads(read("manifest.json"))[0]
        config_doc = json.loads(read(entry["Config"]))
        layers = [read(name) for name in entry["Layers"]]
    inner = config_doc.setdefault("config", {})
    inner["Labels"] = {**(inner.get("Labels") or {}), "kconformance.io/served-as": label}
    config = json.dumps(config_doc).encode()
    blobs = {_digest(b): b for b in [config, *layers]}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": _digest(config), "size": len(config)},
        "layers": [
            {"mediaType": LAYER_TYPE, "digest": _digest(layer), "size": len(layer)}
            for layer in layers
        ],
    }
    return ImageContent(json.dumps(manifest).encode(), blobs)


@dataclass
class LocalRegistry:
    netns_pid: int  # a process in the node (the node container's init)
    repositories: dict[str, ImageContent] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    hold_group: frozenset[str] = frozenset()
    hold_cap: float = 0.0
    _arrived: set[str] = field(default_factory=set)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrival: threading.Condition = field(default_factory=threading.Condition)

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def add(self, repository: str, content: ImageContent) -> str:
        """Serve ``content`` as ``repository`` (any tag); returns the image reference."""
        self.repositories[repository] = content
        return f"{self.address}/{repository}"

    def hold_together(self, repositories: list[str], cap: float) -> None:
        """Hold every tag resolution of ``repositories`` until each of them has had one arrive,
        or for ``cap`` seconds when that does not happen (recorded in ``Request.all_arrived``)."""
        with self._arrival:
            self.hold_group = frozenset(repositories)
            self.hold_cap = cap

    def _hold(self, repository: str) -> bool:
        """Record ``repository``'s tag resolution and wait until the whole group has one (True)
        or the cap has passed (False). Not in the group: no wait."""
        with self._arrival:
            if repository not in self.hold_group:
                return True
            self._arrived.add(repository)
            self._arrival.notify_all()
            return self._arrival.wait_for(
                lambda: self.hold_group <= self._arrived, timeout=self.hold_cap
            )

    def start(self) -> LocalRegistry:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # keep pytest's output clean
                pass

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                record = Request(self.command, self.path, time.monotonic())
                with registry._lock:
                    registry.requests.append(record)
                try:
                    if (repository := registry._tag_resolution(self.path)) is not None:
                        record.all_arrived = registry._hold(repository)
                    status, headers, payload = registry._answer(self.path)
                    self.send_response(status)
                    headers.setdefault("Content-Length", str(len(payload)))
                    headers["Docker-Distribution-API-Version"] = "registry/2.0"
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if body:
                        self.wfile.write(payload)
                finally:
                    record.ended = time.monotonic()

        with network_namespace_of(self.netns_pid):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self._server.socket.close()
        self._server.socket = listener
        self._server.server_address = listener.getsockname()
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path.rstrip("/") == "/v2":
            return 200, {"Content-Type": "application/json"}, b"{}"
        match = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if not match or match.group(1) not in self.repositories:
            return 404, {"Content-Type": "application/json"}, b'{"errors":[]}'
        content = self.repositories[match.group(1)]
        what, ref = match.group(2), match.group(3)
        if what == "manifests":
            if ref.startswith("sha256:") and ref != content.manifest_digest:
                return 404, {}, b""
            headers = {
                "Content-Type": MANIFEST_TYPE,
                "Docker-Content-Digest": content.manifest_digest,
            }
            return 200, headers, content.manifest
        blob = content.blobs.get(ref)
        if blob is None:
            return 404, {}, b""
        return 200, {"Content-Type": "application/octet-stream", "Docker-Content-Digest": ref}, blob

    @staticmethod
    def _tag_resolution(path: str) -> str | None:
        """The repository of a manifest request by tag (a pull's first request), else None."""
        match = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path)
        if not match or match.group(2).startswith("sha256:"):
            return None
        return match.group(1)

    def tag_requests(self, repository: str) -> list[Request]:
        """The requests that resolved a tag of ``repository`` (the held ones), in order."""
        prefix = f"/v2/{repository}/manifests/"
        return [
            r
            for r in self.requests
            if r.path.startswith(prefix) and not r.path[len(prefix) :].startswith("sha256:")
        ]
