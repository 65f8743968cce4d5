"""Generator references: what a user writes to name a generator.

A reference is parsed once, up front, into a value the rest of DAWG can trust, so a
typo is reported (naming the part that is wrong) before anything is fetched or run.

- `file://PATH` or a plain path: relative paths are resolved against a base
  directory chosen by the adapter (the CLI's working directory, the Pulumi
  program's directory), never against whatever the process cwd happens to be.
- `oci://host[:port]/repo[:tag][@sha256:<hex>]`, with `registry://` accepted as an
  alias (the Go prototype's spelling). A tag defaults to `latest` only when neither
  a tag nor a digest is given, and the reference then says so (`tag_defaulted`), so
  adapters can warn: `latest` is rarely what a platform team wants to deploy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import unquote

from ..errors import InvalidReference


class Scheme(Enum):
    """Where a generator comes from."""

    FILE = "file"
    OCI = "oci"


@dataclass(frozen=True)
class FileRef:
    """A generator in a local file; `text` is what the user wrote, for messages."""

    text: str
    path: Path
    scheme: Scheme = Scheme.FILE

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class OciRef:
    """A generator in an OCI registry, by tag, by digest, or both (the digest wins)."""

    text: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None
    tag_defaulted: bool = False
    scheme: Scheme = Scheme.OCI

    def __str__(self) -> str:
        return self.text

    @property
    def pinned(self) -> bool:
        """True when the reference names exact content (a manifest digest)."""
        return self.digest is not None

    @property
    def canonical(self) -> str:
        """`oci://host/repo:tag@digest` with whatever parts are known."""
        text = f"oci://{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def with_digest(self, digest: str) -> OciRef:
        """This reference pinned to `digest` (what a tag resolved to)."""
        return OciRef(self.text, self.registry, self.repository, self.tag, digest, self.tag_defaulted)


GeneratorRef = FileRef | OciRef

# The grammar of the OCI distribution spec (repository path components, tags and
# sha256 digests), and host[:port] where the host is a DNS name, IPv4 or [IPv6].
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$"
)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
DEFAULT_TAG = "latest"


def parse_reference(text: str, base_dir: Path | None = None) -> GeneratorRef:
    """Parse a file path, `file://`, `oci://` or `registry://` reference."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference(
            "generator reference is empty; give a path, file://PATH or oci://registry/repo:tag"
        )
    raw = text.strip()
    scheme, sep, rest = raw.partition("://")
    if not sep:
        return _file_ref(raw, raw, base_dir)
    if scheme == "file":
        if not rest:
            raise InvalidReference(f"generator reference {raw!r}: file:// needs a path after it")
        return _file_ref(raw, unquote(rest), base_dir)
    if scheme in ("oci", "registry"):
        return _oci_ref(raw, rest)
    raise InvalidReference(
        f"generator reference {raw!r}: unknown scheme {scheme!r}; "
        "use file://PATH, a plain path, or oci://registry/repo:tag"
    )


def _file_ref(text: str, path: str, base_dir: Path | None) -> FileRef:
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = (base_dir or Path.cwd()) / resolved
    return FileRef(text, resolved)


def _oci_ref(raw: str, rest: str) -> OciRef:
    def bad(part: str, why: str) -> InvalidReference:
        return InvalidReference(f"generator reference {raw!r}: {part}: {why}")

    host, slash, path = rest.partition("/")
    if not host:
        raise bad("registry", "missing; write oci://registry.example.com/team/generator:v1")
    match = _HOST.fullmatch(host)
    if not match or (match.group(1) is not None and not 0 < int(match.group(1)) < 65536):
        raise bad("registry", f"{host!r} is not a host[:port]")
    if not slash or not path:
        raise bad("repository", "missing after the registry; write oci://HOST/REPOSITORY:TAG")
    path, at, digest = path.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        raise bad("digest", f"{digest!r} is not sha256:<64 lower-case hex digits>")
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    tag: str | None = None
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise bad("tag", f"{tag!r} is not a valid tag (letters, digits, '_', '.', '-'; at most 128)")
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            raise bad(
                "repository",
                f"{component!r} in {path!r} is not valid (lower-case letters and digits, "
                "separated by '.', '_', '__' or '-')",
            )
    if len(path) > 255:
        raise bad("repository", "longer than 255 characters")
    defaulted = tag is None and not at
    return OciRef(
        text=raw,
        registry=host,
        repository=path,
        tag=DEFAULT_TAG if defaulted else tag,
        digest=digest if at else None,
        tag_defaulted=defaulted,
    )
