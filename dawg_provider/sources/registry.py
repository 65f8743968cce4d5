"""Talking to OCI registries: resolve, pull and push generator artifacts.

The protocol work (URLs, the bearer-token dance, blob uploads) is the `oras` SDK's;
this module puts DAWG's rules around it:

- every request has a timeout, no request is retried blindly (the SDK's own retry
  sleeps for minutes against a dead registry), and every failure becomes a typed
  error that names the reference and never a credential;
- plain HTTP only for loopback registries or hosts the user lists as insecure;
  HTTPS with the system CA store, or a CA bundle the user names;
- credentials from explicit options or the docker `config.json` (`DOCKER_CONFIG`,
  `~/.docker/config.json`, `auths` entries with a base64 `auth`);
- a manifest is checked before any blob is fetched (media types, exactly one wasm
  layer, size cap), and every byte is hashed against the digest that named it;
- `RegistryClient.observer`, when set, hears each request's status (None: no answer),
  so whoever runs the client (the controller's metrics) counts requests and errors
  without this part knowing of them.

The manifest checks are pure functions (`parse_manifest`, `wasm_layer`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from ..errors import (
    ArtifactNotFound,
    DawgError,
    DigestMismatch,
    InvalidArtifact,
    RegistryAuthError,
    RegistryError,
    RegistryUnreachable,
    register_credentials,
    scrub,
)
from ..observe import RequestObserver, notify
from ..units import format_size
from .artifact import WASM_MAGIC
from .blobstore import BlobDigestMismatch, BlobStore, BlobTooLarge
from .credentials import docker_credentials
from .deadline import Deadline, TransportError, running
from .manifest import (
    ACCEPT,
    ARTIFACT_TYPE,
    EMPTY_CONFIG,
    EMPTY_CONFIG_MEDIA_TYPE,
    OCI_MANIFEST,
    WASM_LAYER_MEDIA_TYPE,
    Descriptor,
    Manifest,
    parse_manifest,
)
from .reference import OciRef
from .transport import (
    MAX_ANSWER,
    AuthUnavailable,
    ReachRefused,
    TooLarge,
    is_loopback,
    iter_body,
    make_oras_registry,
    system_ca_bundle,
    target_problem,
)

MAX_MANIFEST_SIZE = MAX_ANSWER
DEFAULT_DEADLINE = 120.0
DEFAULT_MAX_BLOB_SIZE = 128 * 1024 * 1024
ENV_INSECURE = "DAWG_INSECURE_REGISTRIES"
ENV_CA_BUNDLE = "DAWG_REGISTRY_CA_BUNDLE"

log = logging.getLogger("dawg.registry")


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries: transport security, credentials, limits."""

    insecure: frozenset[str] = frozenset()
    """Hosts (`host[:port]`) allowed over plain HTTP besides loopback ones."""
    ca_bundle: str | None = None
    """A PEM bundle to verify HTTPS registries with, instead of the system CAs."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    docker_config: Path | None = None
    """A docker `config.json`; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`."""
    timeout: float = 30.0
    """Seconds one socket wait (connect, a read) may take."""
    deadline: float = DEFAULT_DEADLINE
    """Seconds one whole fetch (manifest, or blob, with redirects and tokens) may take."""
    max_blob_size: int = DEFAULT_MAX_BLOB_SIZE
    allowed_hosts: frozenset[str] | None = None
    """Hosts a redirect or token realm may lead to besides the registry; None = any public HTTPS host."""
    auth_realms: frozenset[tuple[str, str]] = frozenset()
    """(registry, realm host) pairs: that registry's credentials may go to a token realm on that
    host, over HTTPS (`transport.realm_credentials`); the realm host is also reachable from it."""

    @classmethod
    def from_env(cls, **overrides: Any) -> RegistryOptions:
        """Options with `DAWG_INSECURE_REGISTRIES` (comma-separated) and `DAWG_REGISTRY_CA_BUNDLE`."""
        insecure = frozenset(h.strip() for h in os.environ.get(ENV_INSECURE, "").split(",") if h.strip())
        values: dict[str, Any] = {"insecure": insecure, "ca_bundle": os.environ.get(ENV_CA_BUNDLE) or None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class RegistryClient:
    """Requests to registries, one oras session per host; counts its requests."""

    def __init__(self, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions.from_env()
        self.requests = 0
        self.observer: RequestObserver | None = None
        self._hosts: dict[str, Any] = {}
        self._lock = threading.Lock()

    def deadline(self) -> Deadline:
        """The running fetch's deadline (per thread), or a fresh one for a lone request."""
        return running() or Deadline(self.options.deadline)

    @contextlib.contextmanager
    def fetching(self) -> Iterator[Deadline]:
        """One deadline, and its watchdog, for everything inside (manifest, blob, redirects, tokens)."""
        current = running()
        if current is not None:  # inside an enclosing fetch: share its deadline
            yield current
            return
        with Deadline(self.options.deadline) as deadline:
            yield deadline

    # -- plumbing ---------------------------------------------------------------------

    def _oras(self, host: str) -> Any:
        with self._lock:
            registry = self._hosts.get(host)
            if registry is None:
                registry = _make_oras_registry(self, host)
                self._hosts[host] = registry
            return registry

    def _url(self, ref: OciRef, kind: str, name: str) -> str:
        scheme = "http" if self.plain_http(ref.registry) else "https"
        return f"{scheme}://{ref.registry}/v2/{ref.repository}/{kind}/{name}"

    def plain_http(self, host: str) -> bool:
        return is_loopback(host) or host in self.options.insecure

    def _request(
        self, ref: OciRef, method: str, url: str, what: str, *, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        try:
            response = self._send(ref, method, url, what, stream=stream, **kwargs)
        except Exception:
            notify(self.observer, None)
            raise
        notify(self.observer, response.status_code)
        if response.status_code in (401, 403):
            raise RegistryAuthError(
                ref.text,
                f"the registry refused access to {what} (HTTP {response.status_code}): "
                "the credentials are wrong or lack permission",
            )
        if response.status_code >= 500 or response.status_code == 429:
            raise RegistryUnreachable(
                ref.text, f"the registry failed {what} with HTTP {response.status_code}"
            )
        return response

    def _send(
        self, ref: OciRef, method: str, url: str, what: str, *, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One request through oras and DAWG's transport rules; failures translated."""
        registry = self._oras(ref.registry)
        try:
            response: requests.Response = registry.do_request(url, method, stream=stream, **kwargs)
            return response
        except TransportError as error:
            raise RegistryUnreachable(ref.text, error.problem, error.hint) from None
        except ReachRefused as refused:
            raise RegistryError(
                ref.text,
                f"{refused} (for {what}); nothing was sent there",
                "the job's operators decide where registries may lead (--allowed-registry)",
            ) from None
        except TooLarge as large:
            raise InvalidArtifact(ref.text, f"the answer for {what} is {large}; refusing it") from None
        except AuthUnavailable:
            raise RegistryAuthError(
                ref.text,
                f"the registry wants credentials for {what}, and none are configured",
                "log in with `docker login` (DAWG reads DOCKER_CONFIG/config.json) or pass credentials",
            ) from None

    # -- pull -------------------------------------------------------------------------

    def fetch_manifest(self, ref: OciRef) -> Manifest:
        """The manifest `ref` names (by digest if pinned, else by tag), digest-checked."""
        name = ref.digest or ref.tag or "latest"
        what = f"manifest {ref.repository}@{name}" if ref.digest else f"tag {ref.repository}:{name}"
        with self.fetching():
            response = self._request(
                ref, "GET", self._url(ref, "manifests", name), what, headers={"Accept": ACCEPT}
            )
        if response.status_code == 404:
            if ref.digest:
                problem = f"not found: repository {ref.repository} has no manifest {ref.digest}"
            else:
                problem = f"not found: repository {ref.repository} has no tag {ref.tag!r}"
            raise ArtifactNotFound(ref.text, problem, "check the repository and tag with your registry")
        if response.status_code != 200:
            raise RegistryError(ref.text, f"unexpected HTTP {response.status_code} for {what}")
        raw = response.content
        if len(raw) > MAX_MANIFEST_SIZE:
            raise InvalidArtifact(ref.text, f"manifest is larger than {format_size(MAX_MANIFEST_SIZE)}")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        claimed = ref.digest or response.headers.get("Docker-Content-Digest") or digest
        if claimed != digest:
            raise DigestMismatch(
                ref.text,
                f"the manifest's bytes hash to {digest}, not {claimed}; refusing it",
                "the registry or something between us and it altered the content",
            )
        return parse_manifest(ref.text, raw, digest)

    def fetch_blob(self, ref: OciRef, layer: Descriptor, store: BlobStore, max_size: int) -> Path:
        """Download `layer` into the store, verified against its digest."""
        what = f"blob {layer.digest[:19]}"
        with self.fetching() as deadline:
            response = self._request(ref, "GET", self._url(ref, "blobs", layer.digest), what, stream=True)
            return self._store_blob(ref, layer, store, max_size, response, deadline)

    def _store_blob(
        self,
        ref: OciRef,
        layer: Descriptor,
        store: BlobStore,
        max_size: int,
        response: requests.Response,
        deadline: Deadline,
    ) -> Path:
        what = f"blob {layer.digest[:19]}"
        with response:
            if response.status_code == 404:
                raise ArtifactNotFound(ref.text, f"the registry lost the wasm blob {layer.digest}")
            if response.status_code != 200:
                raise RegistryError(ref.text, f"unexpected HTTP {response.status_code} for {what}")
            try:
                cap = min(layer.size, max_size)
                return store.write(layer.digest, iter_body(response, deadline, cap), cap)
            except (BlobTooLarge, TooLarge):
                raise InvalidArtifact(
                    ref.text, f"the wasm blob is larger than its manifest says ({layer.size} bytes)"
                ) from None
            except BlobDigestMismatch as mismatch:
                raise DigestMismatch(
                    ref.text,
                    f"the wasm blob hashes to {mismatch.actual}, not {layer.digest}; "
                    "it was not stored or run",
                    "the registry's copy is corrupt or was tampered with",
                ) from None
            except TransportError as error:
                raise RegistryUnreachable(ref.text, f"the download of {what}: {error.problem}") from None

    # -- push -------------------------------------------------------------------------

    def push(self, ref: OciRef, wasm: bytes, annotations: dict[str, str], title: str) -> Manifest:
        """Push `wasm` as a DAWG generator artifact under `ref`'s tag; returns the manifest."""
        if not wasm.startswith(WASM_MAGIC):
            raise DawgError(f"{title}: not a WebAssembly module; refusing to push it")
        layer = {
            "mediaType": WASM_LAYER_MEDIA_TYPE,
            "digest": "sha256:" + hashlib.sha256(wasm).hexdigest(),
            "size": len(wasm),
            "annotations": {"org.opencontainers.image.title": title},
        }
        config = {
            "mediaType": EMPTY_CONFIG_MEDIA_TYPE,
            "digest": "sha256:" + hashlib.sha256(EMPTY_CONFIG).hexdigest(),
            "size": len(EMPTY_CONFIG),
        }
        self.upload_blob(ref, config, EMPTY_CONFIG)
        self.upload_blob(ref, layer, wasm)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": config,
            "layers": [layer],
            "annotations": annotations,
        }
        digest, raw = self.put_manifest(ref, manifest)
        return parse_manifest(ref.text, raw, digest)

    def upload_blob(self, ref: OciRef, descriptor: dict[str, Any], data: bytes) -> None:
        """Upload one blob (skipped when the registry has it), through the oras SDK."""
        registry = self._oras(ref.registry)
        container = registry.get_container(f"{ref.repository}:{ref.tag or 'latest'}")
        with tempfile.NamedTemporaryFile(prefix="dawg-push-") as handle:
            handle.write(data)
            handle.flush()
            try:
                response = registry.upload_blob(handle.name, container, descriptor)
            except TransportError as error:
                raise RegistryUnreachable(ref.text, error.problem, error.hint) from None
            except AuthUnavailable:
                raise RegistryAuthError(
                    ref.text, "the registry wants credentials to push, and none are configured"
                ) from None
            except ValueError as error:  # oras: no upload session location
                raise RegistryError(ref.text, f"the registry did not start a blob upload ({error})") from None
        if response.status_code in (401, 403):
            raise RegistryAuthError(
                ref.text, f"the registry refused the upload (HTTP {response.status_code})"
            )
        if response.status_code not in (200, 201, 202):
            raise RegistryError(ref.text, f"blob upload failed with HTTP {response.status_code}")

    def put_manifest(self, ref: OciRef, manifest: dict[str, Any]) -> tuple[str, bytes]:
        """PUT exact manifest bytes under the tag; returns (digest, bytes), checked with the registry's."""
        raw = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        headers = {"Content-Type": str(manifest.get("mediaType", OCI_MANIFEST))}
        url = self._url(ref, "manifests", ref.tag or "latest")
        response = self._request(
            ref, "PUT", url, f"tag {ref.repository}:{ref.tag}", data=raw, headers=headers
        )
        if response.status_code not in (200, 201):
            detail = _registry_errors(response)
            raise RegistryError(
                ref.text, f"the registry refused the manifest (HTTP {response.status_code}{detail})"
            )
        echoed = response.headers.get("Docker-Content-Digest")
        if echoed and echoed != digest:
            raise DigestMismatch(ref.text, f"the registry stored the manifest as {echoed}, expected {digest}")
        return digest, raw


def _registry_errors(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return (
            ": " + scrub("; ".join(str(e.get("message", e.get("code", ""))) for e in errors), 300)
            if errors
            else ""
        )
    except (ValueError, AttributeError):
        return ""


def _make_oras_registry(client: RegistryClient, host: str) -> Any:
    """An oras Registry for `host` with DAWG's transport rules (see `transport`)."""
    options = client.options
    credentials = (
        (options.username, options.password)
        if options.username and options.password is not None
        else docker_credentials(host, options.docker_config)
    )
    if credentials:
        register_credentials(*credentials)

    def count() -> None:
        client.requests += 1

    realms = frozenset(realm for registry, realm in options.auth_realms if registry == host.lower())
    allowed = None if options.allowed_hosts is None else options.allowed_hosts | realms
    return make_oras_registry(
        host,
        plain=client.plain_http(host),
        verify=options.ca_bundle or system_ca_bundle(),
        timeout=options.timeout,
        credentials=credentials,
        realms=realms,
        check=lambda url: target_problem(url, host, allowed, options.insecure),
        deadline=client.deadline,
        count=count,
        tls_hint=f"give its CA with --ca-bundle or {ENV_CA_BUNDLE}; plain HTTP only with --insecure-registry",
    )
