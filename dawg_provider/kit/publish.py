"""What `dawg push` checks and annotates, and what `dawg inspect` shows.

Every kind the runtime runs can be published: WASI command modules, components and
prototype-ABI modules. Push decides what a file is with the runtime's own detection
(`Runtime.inspect`: compile, then read imports and exports), never a second,
stricter check of its own, so whatever `dawg render` accepts `dawg push` accepts,
and whatever it refuses is refused before a byte reaches the registry. The compiled
module lands in the disk cache on the way, so rendering it next costs nothing more.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from ..sources.artifact import Artifact, binary_kind
from ..sources.fetch import Fetched
from ..sources.reference import OciRef
from ..units import format_size
from ..wasm import config_schema
from ..wasm.config_schema import ConfigSchema
from ..wasm.runtime import ModuleInfo, ModuleKind, Runtime
from ..wasm.sandbox import WASI_MODULE
from ..wasm.sections import set_custom_section

CONTRACT_ANNOTATION = "cc.urcloud.dawg.contract"
SCHEMA_ANNOTATION = config_schema.ANNOTATION


def check_generator(name: str, wasm: bytes, runtime: Runtime) -> tuple[ModuleInfo, ConfigSchema | None]:
    """What the runtime makes of `wasm` (contract, schema), or the error it would raise."""
    binary_kind(name, wasm)
    artifact = Artifact.from_bytes(name, wasm)
    return runtime.inspect(artifact), runtime.config_schema(artifact)


def embed_schema(wasm_name: str, wasm: bytes, schema_name: str, schema: bytes) -> bytes:
    """`wasm` with `schema` in its config-schema section, checked as DAWG will read it.

    Written as compact JSON with sorted keys, so a rebuild gives the same bytes.
    """
    binary_kind(wasm_name, wasm)
    text = config_schema.load_schema(schema_name, schema).text
    return set_custom_section(wasm, config_schema.SECTION, text.encode())


def push_annotations(
    *,
    tag: str,
    version: str | None,
    created: str | None,
    source: str | None,
    description: str | None,
    title: str,
    contract: ModuleKind | None = None,
    schema: ConfigSchema | None = None,
) -> dict[str, str]:
    """The OCI annotations of a pushed generator; `created` honours SOURCE_DATE_EPOCH.

    The contract and the config schema are copied from the bytes, so a registry UI
    (or `oras manifest fetch`) shows what the generator is and takes without
    downloading it; the bytes stay the authority: DAWG reads the schema from them.
    """
    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
        created = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    annotations = {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.version": version or tag,
        "org.opencontainers.image.created": created,
    }
    if source:
        annotations["org.opencontainers.image.source"] = source
    if description:
        annotations["org.opencontainers.image.description"] = description
    if contract is not None:
        annotations[CONTRACT_ANNOTATION] = contract.value
    if schema is not None:
        annotations[SCHEMA_ANNOTATION] = schema.text
    return annotations


def import_names(info: ModuleInfo) -> list[str]:
    """Imports as people read them: WASI p1 functions by name, component interfaces in full."""
    if info.kind in (ModuleKind.COMPONENT_GENERATE, ModuleKind.COMPONENT_COMMAND):
        return list(info.imports)
    prefix = WASI_MODULE + "."
    return [name.removeprefix(prefix) for name in info.imports]


def inspect_facts(fetched: Fetched, info: ModuleInfo, schema: ConfigSchema | None) -> dict[str, Any]:
    """Everything `dawg inspect` tells about a generator, as JSON-ready data."""
    artifact = fetched.artifact
    facts: dict[str, Any] = {
        "reference": str(fetched.ref.canonical if isinstance(fetched.ref, OciRef) else fetched.ref),
        "digest": artifact.digest,
        "size": len(artifact.wasm),
        "contract": info.kind.value,
        "imports": list(info.imports),
        "exports": list(info.exports),
        "configSchema": schema.schema if schema is not None else None,
    }
    manifest = fetched.manifest
    if manifest is not None:
        layer = next(layer for layer in manifest.layers if layer.digest == artifact.digest)
        facts["manifest"] = {
            "digest": manifest.digest,
            "mediaType": manifest.media_type,
            "artifactType": manifest.artifact_type,
            "configMediaType": manifest.config.media_type,
            "layerMediaType": layer.media_type,
            "annotations": manifest.annotations,
        }
    return facts


def inspect_lines(facts: dict[str, Any], info: ModuleInfo) -> list[str]:
    """The facts as aligned text for people. Pure."""
    lines = [
        f"reference:      {facts['reference']}",
        f"digest:         {facts['digest']}  (the .wasm)",
        f"size:           {facts['size']} bytes ({format_size(facts['size'])})",
    ]
    manifest = facts.get("manifest")
    if manifest is not None:
        lines += [
            f"manifest:       {manifest['digest']}",
            f"media types:    {manifest['mediaType']}; artifactType {manifest['artifactType'] or '-'}",
            f"                config {manifest['configMediaType']}; layer {manifest['layerMediaType']}",
        ]
        for key, value in sorted(manifest["annotations"].items()):
            if key != SCHEMA_ANNOTATION:  # shown in full below
                lines.append(f"annotation:     {key}={value}")
    lines.append(f"contract:       {info.kind.value}")
    imports = import_names(info)
    origin = f" ({WASI_MODULE})" if imports and info.kind not in _COMPONENTS else ""
    lines.append(f"imports:        {', '.join(imports) or '-'}{origin}")
    lines.append(f"exports:        {', '.join(info.exports) or '-'}")
    schema = facts.get("configSchema")
    if schema is None:
        lines.append("config schema:  none (the config is opaque to DAWG; the generator checks it)")
    else:
        lines.append("config schema:  (custom section dawg.config-schema; `dawg docs` prints it as Markdown)")
        lines += ["  " + line for line in json.dumps(schema, indent=2, sort_keys=True).splitlines()]
    return lines


_COMPONENTS = (ModuleKind.COMPONENT_GENERATE, ModuleKind.COMPONENT_COMMAND)
