"""Custom sections: metadata carried inside the .wasm bytes, so it travels with the digest.

A generator's config schema lives in a custom section (id 0) at the top level of
the binary: whatever copies, pushes, pulls or pins the bytes carries the schema
with them, and the digest covers it. Core modules and components share the same
outer layout (an 8-byte header, then `id, LEB128 size, payload` sections), so one
reader serves both; for a component only its own top-level sections count, never
those of the core modules nested in it.

The reader seeks over every other section instead of reading it, so finding the
schema of an 18 MiB component costs a handful of small reads, and it never trusts a
size: a section that claims more bytes than the limit is refused unread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

CUSTOM = 0
HEADER = 8
MAX_NAME = 1024


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


def _leb128(stream: BinaryIO, what: str) -> int:
    value = shift = 0
    for _ in range(5):
        byte = stream.read(1)
        if not byte:
            raise SectionError(f"{what}: the binary ends inside a LEB128 number")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
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
    stream.seek(0, io.SEEK_END)
    total = stream.tell()
    stream.seek(HEADER)
    found = []
    while (offset := stream.tell()) < total:
        section_id = stream.read(1)[0]
        size = _leb128(stream, f"section at byte {offset}")
        payload = stream.tell()
        end = payload + size
        if end > total:
            raise SectionError(f"section at byte {offset} claims {size} bytes; the binary ends before")
        if section_id != CUSTOM:
            found.append(Section(section_id, offset, end))
            stream.seek(end)
            continue
        length = _leb128(stream, f"custom section at byte {offset}")
        if length > MAX_NAME or stream.tell() + length > end:
            raise SectionError(f"custom section at byte {offset} has a name of {length} bytes")
        name = stream.read(length).decode("utf-8", errors="replace")
        found.append(Section(CUSTOM, offset, end, name, stream.tell()))
        stream.seek(end)
    return found


def read_custom_section(stream: BinaryIO, name: str, limit: int) -> bytes | None:
    """The content of the one top-level custom section called `name`, or None.

    Two sections of that name are refused (which one would count?), and so is one
    over `limit` bytes, before its content is read.
    """
    matching = [section for section in sections(stream) if section.id == CUSTOM and section.name == name]
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
