"""From a generator reference to an artifact: files, the content store, registries.

The one entry point the CLI, the Pulumi provider and the sync job call. Its rules:

- A reference pinned to a digest that is in the content store is served from disk
  with no network request at all.
- A tag always resolves through the registry (a tag is a promise that may move).
  When the registry is unreachable (not when it says "not found" or "forbidden"),
  a caller that knows the generator digest it used last time (Pulumi state,
  Dashboard status) passes it as `known_digest`; if that blob is stored, the fetch
  succeeds with a warning, so an unchanged preview or sync survives an outage.
- Nothing is returned that was not hashed against its digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidArtifact, RegistryUnreachable
from .artifact import Artifact, load_artifact
from .blobstore import BlobStore
from .cachedir import default_cache_root
from .manifest import Manifest, parse_manifest, wasm_layer
from .reference import FileRef, GeneratorRef, OciRef, parse_reference
from .registry import RegistryClient, RegistryOptions

log = logging.getLogger("dawg.fetch")


@dataclass(frozen=True)
class Fetched:
    """An artifact and how it was found: the pinned reference and any warnings."""

    artifact: Artifact
    ref: GeneratorRef
    """For OCI, the reference pinned to the manifest digest it resolved to."""
    warnings: tuple[str, ...] = ()
    manifest: Manifest | None = None


class Fetcher:
    """Resolves references to verified artifacts, caching registry content by digest."""

    def __init__(
        self,
        cache_root: Path | None = None,
        options: RegistryOptions | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.store = BlobStore((cache_root or default_cache_root()) / "blobs")
        self.base_dir = base_dir
        self.options = options or RegistryOptions.from_env()
        self._client: RegistryClient | None = None
        self._files: dict[Path, tuple[tuple[int, int, int], Artifact]] = {}

    @property
    def client(self) -> RegistryClient:
        """The registry client, created on first network use."""
        if self._client is None:
            self._client = RegistryClient(self.options)
        return self._client

    def fetch(self, reference: GeneratorRef | str, known_digest: str | None = None) -> Fetched:
        """The artifact `reference` names; see the module docstring for the rules."""
        ref = parse_reference(reference, self.base_dir) if isinstance(reference, str) else reference
        if isinstance(ref, FileRef):
            return Fetched(self._file(ref), ref)
        warnings: list[str] = []
        if ref.tag_defaulted:
            warnings.append(f"{ref.text}: no tag or digest given, using ':latest'; pin a version or digest")
        if ref.digest:
            cached = self._from_store(ref, ref.digest)
            if cached is not None:
                return Fetched(cached[0], ref, tuple(warnings), cached[1])
        with self.client.fetching():  # one deadline for the manifest and the blob together
            return self._fetch_remote(ref, known_digest, warnings)

    def _fetch_remote(self, ref: OciRef, known_digest: str | None, warnings: list[str]) -> Fetched:
        try:
            manifest = self.client.fetch_manifest(ref)
        except RegistryUnreachable as error:
            fallback = self._known(ref, known_digest)
            if fallback is None:
                raise
            warnings.append(
                f"{ref.text}: {error.problem}; using the last known generator {known_digest} "
                "(the tag may have moved since)"
            )
            log.debug("registry fallback for %s", ref.text)
            return Fetched(fallback, ref, tuple(warnings))
        pinned = ref.with_digest(manifest.digest)
        layer = wasm_layer(ref.text, manifest, self.options.max_blob_size)
        self._keep_manifest(manifest)
        if not self.store.has(layer.digest):
            with self.store.locked(layer.digest):
                if not self.store.has(layer.digest):
                    self.client.fetch_blob(ref, layer, self.store, self.options.max_blob_size)
        artifact = Artifact(
            ref.text, layer.digest, path=self.store.path(layer.digest), manifest_digest=manifest.digest
        )
        return Fetched(artifact, pinned, tuple(warnings), manifest)

    def _file(self, ref: FileRef) -> Artifact:
        """A file generator, re-read and re-hashed only when its size, mtime or inode changed."""
        try:
            info = ref.path.stat()
        except OSError:
            return load_artifact(ref)  # raises the precise error
        signature = (info.st_size, info.st_mtime_ns, info.st_ino)
        cached = self._files.get(ref.path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        artifact = load_artifact(ref)
        self._files[ref.path] = (signature, artifact)
        return artifact

    def _from_store(self, ref: OciRef, manifest_digest: str) -> tuple[Artifact, Manifest] | None:
        raw = self.store.read(manifest_digest)
        if raw is None:
            return None
        manifest = parse_manifest(ref.text, raw, manifest_digest)
        layer = wasm_layer(ref.text, manifest, self.options.max_blob_size)
        if not self.store.has(layer.digest):
            return None
        artifact = Artifact(
            ref.text, layer.digest, path=self.store.path(layer.digest), manifest_digest=manifest_digest
        )
        return artifact, manifest

    def fetch_known(self, reference: str, known_digest: str) -> Fetched | None:
        """The stored generator with `known_digest`, without any network; None if not stored."""
        ref = parse_reference(reference, self.base_dir)
        if not isinstance(ref, OciRef):
            return None
        artifact = self._known(ref, known_digest)
        if artifact is None:
            return None
        warning = f"{ref.text}: the registry is unreachable; using the last known generator {known_digest}"
        return Fetched(artifact, ref, (warning,))

    def _known(self, ref: OciRef, known_digest: str | None) -> Artifact | None:
        if not known_digest:
            return None
        try:
            path = self.store.path(known_digest)
        except ValueError:
            raise InvalidArtifact(
                ref.text, f"the last known digest {known_digest!r} is not a sha256 digest"
            ) from None
        if not path.is_file():
            return None
        return Artifact(ref.text, known_digest, path=path)

    def _keep_manifest(self, manifest: Manifest) -> None:
        if not self.store.has(manifest.digest):
            self.store.write(manifest.digest, [manifest.raw], len(manifest.raw))
