"""Artifacts: the exact bytes of a generator and their digest.

Everything downstream (the compiled-module cache, Pulumi state, the sync job's
status) identifies a generator by the sha256 of its bytes, never by its name, so
"the same tag with new content" is always visible as a new digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from .errors import InvalidModule
from .reference import GeneratorRef, Scheme

WASM_MAGIC = b"\0asm"
MAX_ARTIFACT_SIZE = 128 * 1024 * 1024


class BinaryKind(Enum):
    """What the header of a .wasm file says it is."""

    CORE_MODULE = "core module"
    COMPONENT = "component"


@dataclass(frozen=True)
class Artifact:
    """A generator's bytes, where they came from, and their digest (`sha256:<hex>`)."""

    source: str
    wasm: bytes
    digest: str

    @classmethod
    def from_bytes(cls, source: str, wasm: bytes) -> Artifact:
        return cls(source, wasm, sha256_digest(wasm))

    @property
    def hexdigest(self) -> str:
        return self.digest.removeprefix("sha256:")

    @property
    def label(self) -> str:
        """How errors name this generator: its reference and a short digest."""
        return f"{self.source} ({self.digest[:19]})"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def binary_kind(source: str, wasm: bytes) -> BinaryKind:
    """Tell a core module from a component by the header, or explain why it is neither."""
    if len(wasm) < 8 or wasm[:4] != WASM_MAGIC:
        raise InvalidModule(
            source,
            "is not a WebAssembly binary (it does not start with \\0asm)",
            "build the generator for wasm32-wasi / GOOS=wasip1 and give the .wasm file",
        )
    version, layer = wasm[4:6], wasm[6:8]
    if layer == b"\x00\x00" and version == b"\x01\x00":
        return BinaryKind.CORE_MODULE
    if layer == b"\x01\x00":
        return BinaryKind.COMPONENT
    raise InvalidModule(source, f"has an unknown WebAssembly binary version {wasm[4:8].hex()}")


def load_artifact(ref: GeneratorRef) -> Artifact:
    """Read the generator a reference names; errors say which file and why."""
    if ref.scheme is not Scheme.FILE:  # pragma: no cover - only FILE exists so far
        raise InvalidModule(str(ref), f"cannot load {ref.scheme.value} references")
    path = ref.path
    try:
        size = path.stat().st_size
        if size > MAX_ARTIFACT_SIZE:
            raise InvalidModule(str(ref), f"{path} is {size} bytes, over the {MAX_ARTIFACT_SIZE} byte limit")
        wasm = path.read_bytes()
    except FileNotFoundError:
        raise InvalidModule(str(ref), f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidModule(str(ref), f"{path} is a directory, not a .wasm file") from None
    except OSError as error:
        raise InvalidModule(str(ref), f"cannot read {path}: {error.strerror}") from None
    binary_kind(str(ref), wasm)
    return Artifact.from_bytes(str(ref), wasm)
