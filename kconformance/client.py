"""A handle on one cluster: its own API client and a kubectl bound to its kubeconfig.

Every cluster gets a client built from its own kubeconfig and passed explicitly, never the
process-global default configuration: two clusters live in one test process under xdist.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError
from kubernetes.dynamic.resource import ResourceList

from kconformance import process
from kconformance.profiles import Profile
from kconformance.transient import transient_retry

CORE = "v1"


class DiscoverySource(Protocol):
    """What discovery reads from a server: the group versions, and one group version's kinds."""

    def group_versions(self) -> list[str]:
        """Every served group version (preferred first within a group), core excluded."""
        ...

    def kinds(self, api_version: str) -> dict[str, list[Any]]:
        """kind -> resources of one group version; NotFoundError when it is not served (404)."""
        ...


class DynamicSource:
    """Discovery through the kubernetes DynamicClient, one group version at a time."""

    def __init__(self, dynamic: DynamicClient) -> None:
        self.dynamic = dynamic

    def group_versions(self) -> list[str]:
        found = []
        for group in self.dynamic.request("GET", "/apis").groups or []:
            preferred = group["preferredVersion"]["groupVersion"]
            versions = [v["groupVersion"] for v in group["versions"]]
            found += [preferred] + [v for v in versions if v != preferred]
        return found

    def kinds(self, api_version: str) -> dict[str, list[Any]]:
        if api_version == CORE:
            prefix, group, version = "api", "", "v1"
        else:
            prefix = "apis"
            group, _, version = api_version.rpartition("/")
        return dict(
            self.dynamic.resources.get_resources_for_api_version(prefix, group, version, True)
        )


class Discovery:
    """Resolves a kind by reading only the group versions it needs.

    kubernetes' LazyDiscoverer answers a kind-only query by loading every cached API group;
    a CRD group that another test deletes meanwhile answers 404, and the lookup of an unrelated
    kind (ServiceAccount) failed. Here a lookup reads its own group version (or, without one,
    core first, then groups in the server's order until the kind is found), skips a group
    version that went away, and on a miss refreshes what it read once and tries again.
    """

    def __init__(self, source: DiscoverySource) -> None:
        self.source = source
        self._kinds: dict[str, dict[str, list[Any]]] = {}
        self._group_versions: list[str] | None = None
        self._lock = threading.Lock()

    def _read(self, api_version: str, refresh: bool) -> dict[str, list[Any]]:
        if refresh or api_version not in self._kinds:
            try:
                self._kinds[api_version] = self.source.kinds(api_version)
            except NotFoundError:
                self._kinds[api_version] = {}  # not served (any more): nothing of ours lives there
        return self._kinds[api_version]

    def _candidates(self, api_version: str | None, refresh: bool) -> list[str]:
        if api_version:
            return [api_version]
        if refresh or self._group_versions is None:
            self._group_versions = self.source.group_versions()
        return [CORE, *self._group_versions]

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        with self._lock:
            for refresh in (False, True):
                for candidate in self._candidates(api_version, refresh):
                    found = [
                        r
                        for r in self._read(candidate, refresh and api_version is not None).get(
                            kind, []
                        )
                        if not isinstance(r, ResourceList)
                    ]
                    if found:
                        return found[0]
                if not refresh and not api_version:
                    # a miss without a version: forget every group version's kinds (a CRD's
                    # group may have been read before the CRD was established)
                    self._kinds.clear()
        where = f" in {api_version}" if api_version else ""
        raise ResourceNotFoundError(f"the server serves no kind {kind}{where}")


@dataclass
class Cluster:
    name: str
    kubeconfig: Path
    release: str
    context: str | None = None
    profile: Profile | None = None
    kubectl_bin: str = "kubectl"
    images: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def api(self) -> k8s.ApiClient:
        return k8s_config.new_client_from_config(
            config_file=str(self.kubeconfig), context=self.context
        )

    @cached_property
    def dynamic(self) -> DynamicClient:
        # The default discovery cache is one file in /tmp shared by every process: xdist workers
        # writing it at once read each other's half-written files. One file per process.
        cache = (
            Path(tempfile.gettempdir())
            / f"kconformance-discovery-{os.getpid()}-{self.name.replace('/', '_')}.json"
        )
        return DynamicClient(self.api, cache_file=str(cache))

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api)

    @cached_property
    def discovery(self) -> Discovery:
        return Discovery(DynamicSource(self.dynamic))

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        """A dynamic resource by kind (and apiVersion when the kind is ambiguous).

        Raises:
            ResourceNotFoundError: the server serves no such kind, even after a refresh.
        """
        return self.discovery.resource(kind, api_version)

    def server_version(self) -> str:
        return str(k8s.VersionApi(self.api).get_code().git_version)

    def raw_get(self, path: str, query: list[tuple[str, str]] | None = None) -> str:
        """GET an arbitrary API path (/metrics, /api/v1/nodes/x/proxy/configz) as text; a
        transient error (429, 5xx, a dropped connection) is asked again."""

        @transient_retry
        def read() -> str:
            response = self.raw_stream(path, query)
            try:
                return str(response.read().decode())
            finally:
                response.release_conn()

        return read()

    def raw_stream(
        self, path: str, query: list[tuple[str, str]] | None = None, timeout: float = 60
    ) -> Any:
        """GET a path and return the open urllib3 response (for watch streams).

        Raises:
            ApiException: when the server answers with a non-2xx status.
        """
        api = self.api
        if hasattr(api, "param_serialize"):  # kubernetes >= 32 (openapi-generator 7 layout)
            method, url, headers, _body, _ = api.param_serialize(
                "GET", path, query_params=query or [], auth_settings=["BearerToken"]
            )
            response = api.call_api(method, url, header_params=headers, _request_timeout=timeout)
            raw = response.response
        else:  # older clients
            raw = api.call_api(
                path,
                "GET",
                query_params=query or [],
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )[0]
        if not 200 <= raw.status <= 299:
            error = ApiException(status=raw.status, reason=raw.reason)
            error.body = raw.data
            raise error
        return raw

    def kubectl(
        self,
        *args: str,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run the cluster's release's kubectl against this cluster only."""
        return process.run(
            [*self.kubectl_argv, *args],
            input_text=input_text,
            env=env,
            check=check,
            timeout=timeout,
        )

    @property
    def kubectl_argv(self) -> list[str]:
        context = ["--context", self.context] if self.context else []
        return [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), *context]
