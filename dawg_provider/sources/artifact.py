"""Artifacts: the exact bytes of a generator and their digest.

Everything downstream (the compiled-module cache, Pulumi state, the sync job's
status) identifies a generator by the sha256 of its bytes, never by its name, so
"the same tag with new content" is always visible as a new digest.
"""

from __future__ import annotations

import hashlib
import stat
from enum import Enum
from pathlib import Path

from ..errors import InvalidModule
from .reference import FileRef

WASM_MAGIC = b"\0asm"
MAX_ARTIFACT_SIZE = 128 * 1024 * 1024


class BinaryKind(Enum):
    """What the header of a .wasm file says it is."""

    CORE_MODULE = "core module"
    COMPONENT = "component"


class Artifact:
    """A generator's bytes, where they came from, and their digest (`sha256:<hex>`).

    The bytes may be given, or read lazily from `path` (a file, or a blob in the
    content store) and checked against the digest on first use: when the compiled
    module is already cached, a run never reads the .wasm at all.
    """

    def __init__(
        self,
        source: str,
        digest: str,
        *,
        wasm: bytes | None = None,
        path: Path | None = None,
        manifest_digest: str | None = None,
    ) -> None:
        if wasm is None and path is None:
            raise ValueError("an artifact needs its bytes or a path to them")
        self.source = source
        self.digest = digest
        self.path = path
        self.manifest_digest = manifest_digest
        self._wasm = wasm

    @classmethod
    def from_bytes(cls, source: str, wasm: bytes) -> Artifact:
        return cls(source, sha256_digest(wasm), wasm=wasm)

    def __repr__(self) -> str:
        return f"Artifact({self.source!r}, {self.digest!r})"

    @property
    def wasm(self) -> bytes:
        if self._wasm is None:
            assert self.path is not None
            try:
                data = self.path.read_bytes()
            except OSError as error:
                raise InvalidModule(self.label, f"cannot read {self.path}: {error.strerror}") from None
            if sha256_digest(data) != self.digest:
                raise InvalidModule(
                    self.label,
                    f"{self.path} no longer matches its digest; it changed on disk",
                    "run the command again; DAWG fetches it anew",
                )
            self._wasm = data
        return self._wasm

    def binary_kind(self) -> BinaryKind:
        """Module or component, from the first 8 bytes (read from the file when lazy)."""
        if self._wasm is not None:
            return binary_kind(self.label, self._wasm)
        assert self.path is not None
        try:
            with self.path.open("rb") as handle:
                header = handle.read(8)
        except OSError as error:
            raise InvalidModule(self.label, f"cannot read {self.path}: {error.strerror}") from None
        return binary_kind(self.label, header)

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


def load_artifact(ref: FileRef) -> Artifact:
    """Read the generator in a file; errors say which file and why."""
    path = ref.path
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):  # a device or FIFO: reading could never end
            raise InvalidModule(str(ref), f"{path} is not a regular file")
        if info.st_size > MAX_ARTIFACT_SIZE:
            raise InvalidModule(
                str(ref), f"{path} is {info.st_size} bytes, over the {MAX_ARTIFACT_SIZE} byte limit"
            )
        with path.open("rb") as handle:  # capped: the file may grow between stat and read
            wasm = handle.read(MAX_ARTIFACT_SIZE + 1)
        if len(wasm) > MAX_ARTIFACT_SIZE:
            raise InvalidModule(str(ref), f"{path} is over the {MAX_ARTIFACT_SIZE} byte limit")
    except FileNotFoundError:
        raise InvalidModule(str(ref), f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidModule(str(ref), f"{path} is a directory, not a .wasm file") from None
    except OSError as error:
        raise InvalidModule(str(ref), f"cannot read {path}: {error.strerror}") from None
    binary_kind(str(ref), wasm)
    return Artifact.from_bytes(str(ref), wasm)
