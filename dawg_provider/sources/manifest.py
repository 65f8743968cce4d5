"""OCI manifests of generator artifacts: the media types DAWG speaks, parsing, and
picking the one wasm layer. Pure: bytes in, typed values or `InvalidArtifact` out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArtifact
from ..units import format_size

WASM_LAYER_MEDIA_TYPE = "application/vnd.wasm.content.layer.v1+wasm"
ARTIFACT_TYPE = "application/vnd.dawg.generator.v1"
WASM_TO_OCI_CONFIG = "application/vnd.wasm.config.v1+json"
EMPTY_CONFIG_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST))


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a manifest says about a blob."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str]


@dataclass(frozen=True)
class Manifest:
    """A parsed, digest-checked image manifest."""

    digest: str
    raw: bytes
    media_type: str
    artifact_type: str | None
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str]


def _descriptor(label: str, where: str, value: Any) -> Descriptor:
    if not isinstance(value, dict):
        raise InvalidArtifact(label, f"manifest {where} is not a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not isinstance(digest, str) or not isinstance(size, int):
        raise InvalidArtifact(label, f"manifest {where} lacks mediaType, digest or size")
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise InvalidArtifact(label, f"manifest {where} has an unsupported digest {digest[:20]!r}")
    annotations = value.get("annotations") or {}
    return Descriptor(media_type, digest, size, {str(k): str(v) for k, v in annotations.items()})


def parse_manifest(label: str, raw: bytes, digest: str) -> Manifest:
    """Parse manifest bytes whose digest was already checked. Pure."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidArtifact(label, "the registry served a manifest that is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidArtifact(label, "the registry served a manifest that is not a JSON object")
    media_type = value.get("mediaType") or OCI_MANIFEST
    if media_type in (OCI_INDEX, DOCKER_LIST) or "manifests" in value:
        raise InvalidArtifact(
            label,
            "is an image index (several platforms), not a generator artifact",
            "push the .wasm with `dawg push` and use that reference",
        )
    if media_type not in (OCI_MANIFEST, DOCKER_MANIFEST):
        raise InvalidArtifact(label, f"has an unsupported manifest media type {media_type!r}")
    layers = value.get("layers")
    if not isinstance(layers, list):
        raise InvalidArtifact(label, "manifest has no layers list")
    annotations = value.get("annotations") or {}
    artifact_type = value.get("artifactType")
    return Manifest(
        digest=digest,
        raw=raw,
        media_type=media_type,
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        config=_descriptor(label, "config", value.get("config")),
        layers=tuple(_descriptor(label, f"layer {i}", layer) for i, layer in enumerate(layers)),
        annotations={str(k): str(v) for k, v in annotations.items()},
    )


def wasm_layer(label: str, manifest: Manifest, max_size: int) -> Descriptor:
    """The one wasm layer of a generator manifest, or why there is none. Pure."""
    wasm = [layer for layer in manifest.layers if layer.media_type == WASM_LAYER_MEDIA_TYPE]
    if len(wasm) != 1:
        found = ", ".join(sorted({layer.media_type for layer in manifest.layers})) or "no layers"
        count = "no" if not wasm else str(len(wasm))
        raise InvalidArtifact(
            label,
            f"manifest has {count} layers of type {WASM_LAYER_MEDIA_TYPE} (found: {found}); "
            "a generator artifact has exactly one",
            "push generators with `dawg push`",
        )
    layer = wasm[0]
    if layer.size > max_size:
        raise InvalidArtifact(
            label,
            f"its wasm layer is {format_size(layer.size)}, over the {format_size(max_size)} limit",
            "raise the blob size limit if this generator is really that large",
        )
    return layer
