"""Generator references: what a user writes to name a generator.

A reference is parsed once, up front, into a value the rest of DAWG can trust, so a
typo is reported before anything is fetched or run. Relative file paths are resolved
against a base directory chosen by the adapter (the CLI's working directory, the
Pulumi program's directory), never against whatever the process cwd happens to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import unquote

from .errors import InvalidReference


class Scheme(Enum):
    """Where a generator comes from."""

    FILE = "file"


@dataclass(frozen=True)
class GeneratorRef:
    """A parsed generator reference; `text` is what the user wrote, for messages."""

    scheme: Scheme
    text: str
    path: Path

    def __str__(self) -> str:
        return self.text


def parse_reference(text: str, base_dir: Path | None = None) -> GeneratorRef:
    """Parse `file://relative/or/absolute.wasm`, `file:///abs.wasm` or a plain path."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference("generator reference is empty; give a path or file:// reference to a .wasm")
    raw = text.strip()
    scheme, sep, rest = raw.partition("://")
    if not sep:
        return _file_ref(raw, raw, base_dir)
    if scheme == "file":
        if not rest:
            raise InvalidReference(f"generator reference {raw!r}: file:// needs a path after it")
        return _file_ref(raw, unquote(rest), base_dir)
    if scheme in ("oci", "registry"):
        raise InvalidReference(
            f"generator reference {raw!r}: OCI registries are not supported by this build yet; "
            "pull the module and give its path"
        )
    raise InvalidReference(
        f"generator reference {raw!r}: unknown scheme {scheme!r}; use file://PATH or a plain path"
    )


def _file_ref(text: str, path: str, base_dir: Path | None) -> GeneratorRef:
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = (base_dir or Path.cwd()) / resolved
    return GeneratorRef(Scheme.FILE, text, resolved)
