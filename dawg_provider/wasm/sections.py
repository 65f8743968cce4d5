"""Custom sections: metadata carried inside the .wasm bytes, so it travels with the digest.

A generator's config schema lives in a custom section (id 0) at the top level of
the binary: whatever copies, pushes, pulls or pins the bytes carries the schema
with them, and the digest covers it. Core modules and components share the same
outer layout (an 8-byte header, then `id, LEB128 size, payload` sections), so one
reader serves both; for a component only its own top-level sections count, never
those of the core modules nested in it.

The reader seeks over every other section instead of reading it, one read of a
section's header and one seek each, so finding the schema of an 18 MiB component
costs a few hundred small reads; and it never trusts the bytes: a section that claims
more bytes than the limit is refused unread, and so is a binary of more than
MAX_SECTIONS top-level sections (an empty custom section is 3 bytes, so 128 MiB of
them would otherwise cost minutes of CPU; real generators have at most a few hundred).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CUSTOM = 0
HEADER = 8
MAGIC = b"\0asm"
MAX_NAME = 1024
MAX_SECTIONS = 10_000
_HEAD = 11
"""A section's id, size and (custom) name length: 1 + 5 + 5 bytes, read in one call."""


class SectionError(ValueError):
    """The binary's section layout is malformed, or a section is over its size limit."""


@dataclass(frozen=True)
class Section:
    """One top-level section: its id, where its payload starts, and its size (custom: its name)."""

    id: int
    start: int
    """Offset of the id byte."""
    end: int
    """Offset just past the payload."""
    name: str = ""
    content_start: int = 0
    """For a custom section: offset of the content after the name."""


def _leb128(data: bytes, at: int, what: str) -> tuple[int, int]:
    """The unsigned LEB128 number at `data[at:]`, and the offset after it."""
    value = shift = 0
    for index in range(at, at + 5):
        if index >= len(data):
            raise SectionError(f"{what}: the binary ends inside a LEB128 number")
        value |= (data[index] & 0x7F) << shift
        if data[index] < 0x80:
            return value, index + 1
        shift += 7
    raise SectionError(f"{what}: a LEB128 number is longer than 5 bytes")


def encode_leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sections(stream: BinaryIO) -> list[Section]:
    """The top-level sections, found by seeking; the payloads of non-custom ones are not read."""
    return list(iter_sections(stream))


def iter_sections(stream: BinaryIO) -> Iterator[Section]:
    """The top-level sections one by one: one read of each header, then a seek past it."""
    stream.seek(0, io.SEEK_END)
    total = stream.tell()
    stream.seek(0)
    if stream.read(4) != MAGIC or total < HEADER:
        raise SectionError("it is not a WebAssembly binary (no \\0asm header)")
    offset = HEADER
    for count in range(MAX_SECTIONS + 1):
        if offset >= total:
            return
        if count == MAX_SECTIONS:
            raise SectionError(f"it has more than {MAX_SECTIONS} top-level sections")
        stream.seek(offset)
        head = stream.read(_HEAD)
        size, payload = _leb128(head, 1, f"section at byte {offset}")
        end = offset + payload + size
        if end > total:
            raise SectionError(f"section at byte {offset} claims {size} bytes; the binary ends before")
        if head[0] != CUSTOM:
            yield Section(head[0], offset, end)
            offset = end
            continue
        length, name_at = _leb128(head, payload, f"custom section at byte {offset}")
        content = offset + name_at + length
        if length > MAX_NAME or content > end:
            raise SectionError(f"custom section at byte {offset} has a name of {length} bytes")
        stream.seek(offset + name_at)
        name = stream.read(length).decode("utf-8", errors="replace")
        yield Section(CUSTOM, offset, end, name, content)
        offset = end


def read_custom_section(stream: BinaryIO, name: str, limit: int) -> bytes | None:
    """The content of the one top-level custom section called `name`, or None.

    Two sections of that name are refused (which one would count?), and so is one
    over `limit` bytes, before its content is read.
    """
    matching = [s for s in iter_sections(stream) if s.id == CUSTOM and s.name == name]
    if not matching:
        return None
    if len(matching) > 1:
        raise SectionError(f"there are {len(matching)} custom sections named {name!r}; there must be one")
    section = matching[0]
    size = section.end - section.content_start
    if size > limit:
        raise SectionError(f"custom section {name!r} is {size} bytes, over the limit of {limit} bytes")
    stream.seek(section.content_start)
    return stream.read(size)


def without_custom_section(wasm: bytes, name: str) -> bytes:
    """`wasm` without any top-level custom section called `name`."""
    kept = [
        wasm[section.start : section.end]
        for section in sections(io.BytesIO(wasm))
        if not (section.id == CUSTOM and section.name == name)
    ]
    return wasm[:HEADER] + b"".join(kept)


def set_custom_section(wasm: bytes, name: str, content: bytes) -> bytes:
    """`wasm` with exactly one top-level custom section `name` holding `content`, at the end.

    Sections of that name already there are removed first, so embedding twice gives
    the same bytes as embedding once (the build stays reproducible).
    """
    encoded = name.encode()
    payload = encode_leb128(len(encoded)) + encoded + content
    section = bytes([CUSTOM]) + encode_leb128(len(payload)) + payload
    return without_custom_section(wasm, name) + section
