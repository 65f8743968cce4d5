"""Compiled-module cache: in memory per process, and on disk across processes.

Every `pulumi preview` starts a fresh provider process and every sync-job run a
fresh pod, so without a disk cache each one pays the full Cranelift compile (~3 s
for a Go generator). With it, loading is an mmap (`Module.deserialize_file`, well
under a millisecond).

Entries are keyed by the wasm's sha256, the wasmtime version and the engine
settings, so an upgrade or a settings change never loads incompatible code.
Loading compiled code runs native code, so an entry is only loaded when it is
known to be the file this program wrote: each `<key>.cwasm` has a `<key>.json`
record with its sha256, size, mtime and inode. When the file's size, mtime and
inode match the record, it is loaded directly (the check costs one `stat`); when
anything differs the whole file is hashed again, and a mismatch (truncated,
overwritten, corrupt) deletes the entry and recompiles. wasmtime itself also
refuses a file built by another version or configuration; that is treated the
same way. Before any of that, both files and their directory must be what this
user wrote: not a symbolic link, a regular file (a directory for the directory),
owned by the current user and writable by nobody else (`untrusted`). Anything else
(an entry planted through a shared volume, a symlink to elsewhere) is discarded
and recompiled, never loaded.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import wasmtime
import wasmtime.component

from ..sources.cachedir import atomic_write, ensure_private_dir

log = logging.getLogger("dawg.modcache")

Compiled = wasmtime.Module | wasmtime.component.Component
Deserialize = Callable[[wasmtime.Engine, str], Compiled]


@dataclass
class CacheStats:
    """Counters that the tests and the benchmark read."""

    memory_hits: int = 0
    disk_hits: int = 0
    compiles: int = 0
    rejected: int = 0


class ModuleCache:
    """Maps a wasm digest to a compiled module, compiling at most once per digest."""

    def __init__(
        self,
        engine: wasmtime.Engine,
        directory: Path | None,
        settings_key: str,
        deserialize: Deserialize = wasmtime.Module.deserialize_file,
    ) -> None:
        """One cache per kind of compiled code (core modules, components), each in its own directory."""
        self._engine = engine
        self._deserialize = deserialize
        self._directory = directory
        self._settings_key = settings_key
        self._modules: dict[str, Compiled] = {}
        self._lock = threading.Lock()
        self._digest_locks: dict[str, threading.Lock] = {}
        self.stats = CacheStats()

    @property
    def directory(self) -> Path | None:
        return self._directory

    def entry_key(self, hexdigest: str) -> str:
        material = f"{hexdigest}\0{wasmtime_version()}\0{self._settings_key}"
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, hexdigest: str, compile_module: Callable[[], Compiled]) -> Compiled:
        """The compiled module for `hexdigest`, from memory, disk, or `compile_module()`."""
        module = self._modules.get(hexdigest)
        if module is not None:
            self.stats.memory_hits += 1
            return module
        with self._lock:
            digest_lock = self._digest_locks.setdefault(hexdigest, threading.Lock())
        with digest_lock:
            module = self._modules.get(hexdigest)
            if module is not None:
                self.stats.memory_hits += 1
                return module
            module = self._load(hexdigest)
            if module is None:
                module = compile_module()
                self.stats.compiles += 1
                self._store(hexdigest, module)
            self._modules[hexdigest] = module
            return module

    def forget(self) -> None:
        """Drop the in-memory modules (the disk stays); used by tests and the benchmark."""
        with self._lock:
            self._modules.clear()

    def paths(self, hexdigest: str) -> tuple[Path, Path] | None:
        if self._directory is None:
            return None
        key = self.entry_key(hexdigest)
        return self._directory / f"{key}.cwasm", self._directory / f"{key}.json"

    def _load(self, hexdigest: str) -> Compiled | None:
        paths = self.paths(hexdigest)
        if paths is None:
            return None
        code_path, record_path = paths
        try:
            checks = [(path, path.lstat()) for path in (code_path.parent, record_path, code_path)]
        except FileNotFoundError:
            return None
        except OSError as error:
            self._reject(hexdigest, f"cannot inspect the entry: {error.strerror}")
            return None
        for path, path_info in checks:
            problem = untrusted(path_info, directory=path == code_path.parent)
            if problem:
                self._reject(hexdigest, f"{path.name} is {problem}")
                return None
        try:
            record = json.loads(record_path.read_bytes())
            info = code_path.stat()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            self._reject(hexdigest, f"unreadable record: {error}")
            return None
        if not isinstance(record, dict) or record.get("key") != code_path.stem:
            self._reject(hexdigest, "record does not belong to this entry")
            return None
        if (info.st_size, info.st_mtime_ns, info.st_ino) != (
            record.get("size"),
            record.get("mtime_ns"),
            record.get("ino"),
        ):
            if _file_sha256(code_path) != record.get("sha256"):
                self._reject(hexdigest, "compiled code does not match its recorded sha256")
                return None
            self._write_record(code_path, record_path, record["sha256"])
        try:
            module = self._deserialize(self._engine, str(code_path))
        except wasmtime.WasmtimeError as error:
            self._reject(hexdigest, f"wasmtime refused it: {error}")
            return None
        self.stats.disk_hits += 1
        return module

    def _reject(self, hexdigest: str, why: str) -> None:
        self.stats.rejected += 1
        log.warning(
            "compiled-module cache entry for sha256:%s discarded (%s); recompiling",
            hexdigest[:12],
            why,
        )
        paths = self.paths(hexdigest)
        for path in paths or ():
            with contextlib.suppress(OSError):
                path.unlink()

    def _store(self, hexdigest: str, module: Compiled) -> None:
        paths = self.paths(hexdigest)
        if paths is None or self._directory is None:
            return
        code_path, record_path = paths
        try:
            ensure_private_dir(self._directory)
            code = bytes(module.serialize())
            atomic_write(code_path, code)
            self._write_record(code_path, record_path, hashlib.sha256(code).hexdigest())
        except OSError as error:
            log.warning("cannot write compiled-module cache in %s: %s", self._directory, error)

    def _write_record(self, code_path: Path, record_path: Path, sha256: str) -> None:
        info = code_path.stat()
        record = {
            "key": code_path.stem,
            "sha256": sha256,
            "size": info.st_size,
            "mtime_ns": info.st_mtime_ns,
            "ino": info.st_ino,
            "wasmtime": wasmtime_version(),
        }
        atomic_write(record_path, json.dumps(record, sort_keys=True).encode())


def untrusted(info: os.stat_result, directory: bool = False) -> str | None:
    """Why a cache file (or directory) from `lstat` must not be trusted, or None. Pure."""
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if directory and not stat.S_ISDIR(info.st_mode):
        return "not a directory"
    if not directory and not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_uid != os.getuid():
        return f"owned by uid {info.st_uid}, not by us (uid {os.getuid()})"
    if info.st_mode & 0o022:
        return "writable by group or others"
    return None


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


@functools.cache
def wasmtime_version() -> str:
    """The installed wasmtime release; part of every cache key."""
    return importlib.metadata.version("wasmtime")
