"""A handle on one cluster: its own API client and a kubectl bound to its kubeconfig.

Every cluster gets a client built from its own kubeconfig and passed explicitly, never the
process-global default configuration: two clusters live in one test process under xdist.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from kconformance import process
from kconformance.profiles import Profile


@dataclass
class Cluster:
    name: str
    kubeconfig: Path
    release: str
    profile: Profile | None = None
    kubectl_bin: str = "kubectl"
    images: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def api(self) -> k8s.ApiClient:
        return k8s_config.new_client_from_config(config_file=str(self.kubeconfig))

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

    @property
    def apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.api)

    @property
    def batch(self) -> k8s.BatchV1Api:
        return k8s.BatchV1Api(self.api)

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        """A dynamic resource by kind (and apiVersion when the kind is ambiguous)."""
        query = {"kind": kind, **({"api_version": api_version} if api_version else {})}
        try:
            return self.dynamic.resources.get(**query)
        except ResourceNotFoundError:
            self.dynamic.resources.invalidate_cache()  # a kind added since discovery was cached
            return self.dynamic.resources.get(**query)

    def server_version(self) -> str:
        return str(k8s.VersionApi(self.api).get_code().git_version)

    def raw_get(self, path: str, query: list[tuple[str, str]] | None = None) -> str:
        """GET an arbitrary API path (/metrics, /api/v1/nodes/x/proxy/configz) as text."""
        response = self.raw_stream(path, query)
        try:
            return response.read().decode()
        finally:
            response.release_conn()

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
            [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), *args],
            input_text=input_text,
            env=env,
            check=check,
            timeout=timeout,
        )

    @property
    def kubectl_argv(self) -> list[str]:
        return [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig)]
