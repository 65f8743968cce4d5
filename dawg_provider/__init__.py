"""DAWG: Grafana dashboards rendered by sandboxed WebAssembly generators.

The public face of the package. Data flows one way: a generator reference is
parsed, its artifact (bytes + digest) fetched from a file or a registry and
verified, run in the sandbox on the user's config, and the dashboard it prints
validated.
"""

from .errors import (
    ArtifactNotFound,
    CacheError,
    ConfigInvalid,
    DawgError,
    DigestMismatch,
    GeneratorCrashed,
    GeneratorError,
    GeneratorFailed,
    GeneratorTimeout,
    InvalidArtifact,
    InvalidDashboard,
    InvalidLimit,
    InvalidModule,
    InvalidOutput,
    InvalidReference,
    MemoryLimitExceeded,
    OutputTooLarge,
    RegistryAuthError,
    RegistryError,
    RegistryUnreachable,
)
from .sources.artifact import Artifact, BinaryKind, load_artifact
from .sources.fetch import Fetched, Fetcher
from .sources.reference import FileRef, GeneratorRef, OciRef, Scheme, parse_reference
from .sources.registry import RegistryOptions
from .units import parse_duration, parse_size
from .wasm.config_schema import ConfigSchema
from .wasm.limits import Limits
from .wasm.runtime import ModuleInfo, ModuleKind, RenderedDashboard, Runtime, default_runtime

_PULUMI_NAMES = ("WasmDashboard", "WasmDashboardArgs", "GrafanaConnectionArgs")


def __getattr__(name: str) -> object:
    """The Pulumi resource, imported on first use: the core never imports pulumi."""
    if name in _PULUMI_NAMES:
        from .pulumi import resource

        return getattr(resource, name)
    raise AttributeError(f"module 'dawg_provider' has no attribute {name!r}")


__all__ = [
    "Artifact",
    "ArtifactNotFound",
    "BinaryKind",
    "CacheError",
    "ConfigInvalid",
    "ConfigSchema",
    "DawgError",
    "DigestMismatch",
    "Fetched",
    "Fetcher",
    "FileRef",
    "GeneratorCrashed",
    "GeneratorError",
    "GeneratorFailed",
    "GeneratorRef",
    "GeneratorTimeout",
    "GrafanaConnectionArgs",
    "InvalidArtifact",
    "InvalidDashboard",
    "InvalidLimit",
    "InvalidModule",
    "InvalidOutput",
    "InvalidReference",
    "Limits",
    "MemoryLimitExceeded",
    "ModuleInfo",
    "ModuleKind",
    "OciRef",
    "OutputTooLarge",
    "RegistryAuthError",
    "RegistryError",
    "RegistryOptions",
    "RegistryUnreachable",
    "RenderedDashboard",
    "Runtime",
    "Scheme",
    "WasmDashboard",
    "WasmDashboardArgs",
    "default_runtime",
    "load_artifact",
    "parse_duration",
    "parse_reference",
    "parse_size",
]
