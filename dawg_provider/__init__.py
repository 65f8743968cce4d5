"""DAWG: Grafana dashboards rendered by sandboxed WebAssembly generators.

The public face of the package. Data flows one way: a generator reference is
parsed, its artifact (bytes + digest) fetched from a file or a registry and
verified, run in the sandbox on the user's config, and the dashboard it prints
validated.
"""

from .artifact import Artifact, BinaryKind, load_artifact
from .errors import (
    ArtifactNotFound,
    CacheError,
    DawgError,
    DigestMismatch,
    GeneratorCrashed,
    GeneratorError,
    GeneratorFailed,
    GeneratorTimeout,
    InvalidArtifact,
    InvalidModule,
    InvalidOutput,
    InvalidReference,
    MemoryLimitExceeded,
    OutputTooLarge,
    RegistryAuthError,
    RegistryError,
    RegistryUnreachable,
)
from .fetch import Fetched, Fetcher
from .limits import InvalidLimit, Limits, parse_duration, parse_size
from .reference import FileRef, GeneratorRef, OciRef, Scheme, parse_reference
from .registry import RegistryOptions
from .runtime import ModuleInfo, ModuleKind, RenderedDashboard, Runtime, default_runtime

_PULUMI_NAMES = ("WasmDashboard", "WasmDashboardArgs", "GrafanaConnectionArgs")


def __getattr__(name: str) -> object:
    """The Pulumi resource, imported on first use: the core never imports pulumi."""
    if name in _PULUMI_NAMES:
        from . import pulumi_provider

        return getattr(pulumi_provider, name)
    raise AttributeError(f"module 'dawg_provider' has no attribute {name!r}")


__all__ = [
    "Artifact",
    "ArtifactNotFound",
    "BinaryKind",
    "CacheError",
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
