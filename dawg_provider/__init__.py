"""DAWG: Grafana dashboards rendered by sandboxed WebAssembly generators.

The public face of the package. Data flows one way: a generator reference is
parsed, its artifact (bytes + digest) loaded, run in the sandbox on the user's
config, and the dashboard it prints validated.
"""

from .artifact import Artifact, BinaryKind, load_artifact
from .errors import (
    CacheError,
    DawgError,
    GeneratorCrashed,
    GeneratorError,
    GeneratorFailed,
    GeneratorTimeout,
    InvalidModule,
    InvalidOutput,
    InvalidReference,
    MemoryLimitExceeded,
    OutputTooLarge,
)
from .limits import InvalidLimit, Limits, parse_duration, parse_size
from .reference import GeneratorRef, Scheme, parse_reference
from .runtime import ModuleInfo, ModuleKind, RenderedDashboard, Runtime, default_runtime

__all__ = [
    "Artifact",
    "BinaryKind",
    "CacheError",
    "DawgError",
    "GeneratorCrashed",
    "GeneratorError",
    "GeneratorFailed",
    "GeneratorRef",
    "GeneratorTimeout",
    "InvalidLimit",
    "InvalidModule",
    "InvalidOutput",
    "InvalidReference",
    "Limits",
    "MemoryLimitExceeded",
    "ModuleInfo",
    "ModuleKind",
    "OutputTooLarge",
    "RenderedDashboard",
    "Runtime",
    "Scheme",
    "default_runtime",
    "load_artifact",
    "parse_duration",
    "parse_reference",
    "parse_size",
]
