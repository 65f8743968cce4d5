"""Compiled-module cache: in memory per process, and on disk across processes.

Every `pulumi preview` starts a fresh provider process and every sync-job run a
fresh pod, so without a disk cache each one pays the full Cranelift compile (~3 s
for a Go generator). With it, loading is a MAC check and an mmap
(`Module.deserialize_file`).

Entries are keyed by the wasm's sha256, the wasmtime version and the engine
settings, so an upgrade or a settings change never loads incompatible code.
Loading compiled code runs native code, so an entry is only loaded when it is
known to be what this program compiled for that wasm: each `<key>.cwasm` has a
`<key>.json` record holding an HMAC-SHA256 over (wasm digest, wasmtime version,
engine settings, compiled bytes). The MAC key is never in the cache: it comes from
`DAWG_MODULE_CACHE_KEY` (a secret value) or `DAWG_MODULE_CACHE_KEY_FILE` (a file the
job mounts, e.g. from a Secret), else 32 random bytes per process, so that entries
written by another process are recompiled rather than trusted (`cache_key`; the
record names its key by `key_id`, so such an entry is a quiet miss, while a MAC
mismatch under our own key is reported as an attack). On every
disk load the file is read once and the MAC checked, then the file is mmapped
(`deserialize_file`) and must still be the same inode, size and mtime as the bytes
checked; a mismatch (truncated, overwritten, planted, keyed by another process, or
replaced during the load) deletes the entry and recompiles. The price, measured by
bench/bench_modcache.py, is one read and one HMAC of the compiled code per load.
wasmtime itself also refuses code built by another
version or configuration; that is treated the same way. Before any of that, both
files and their directory must be what this user wrote: not a symbolic link, a
regular file (a directory for the directory), owned by the current user and writable
by nobody else (`untrusted`). Anything else is discarded and recompiled, never loaded.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import importlib.metadata
import json
import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import wasmtime
import wasmtime.component

from ..errors import CacheError, register_secret
from ..sources.cachedir import atomic_write, ensure_private_dir

log = logging.getLogger("dawg.modcache")

Compiled = wasmtime.Module | wasmtime.component.Component
Deserialize = Callable[[wasmtime.Engine, str], Compiled]

ENV_KEY = "DAWG_MODULE_CACHE_KEY"
ENV_KEY_FILE = "DAWG_MODULE_CACHE_KEY_FILE"
MAX_KEY_FILE = 4096
MAX_IN_MEMORY = 32
MIN_KEY = 16
"""Bytes a configured key needs at least: a shorter MAC key could be searched for by brute force."""


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
        max_entries: int = 0,
    ) -> None:
        """One cache per kind of compiled code (core modules, components), each in its own directory.

        At most `max_entries` (default `MAX_IN_MEMORY`) compiled modules stay in memory,
        the least recently used dropped first (they reload from disk): a long-running
        controller sees every generator upgrade, `dawg preview --watch` every rebuild."""
        self._engine = engine
        self._deserialize = deserialize
        self._directory = directory
        self._settings_key = settings_key
        self._max_entries = max_entries if max_entries > 0 else MAX_IN_MEMORY
        self._modules: OrderedDict[str, Compiled] = OrderedDict()
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
        module = self._recall(hexdigest)
        if module is not None:
            return module
        with self._lock:
            digest_lock = self._digest_locks.setdefault(hexdigest, threading.Lock())
        with digest_lock:
            module = self._recall(hexdigest)
            if module is not None:
                return module
            module = self._load(hexdigest)
            if module is None:
                module = compile_module()
                self.stats.compiles += 1
                self._store(hexdigest, module)
            with self._lock:
                self._modules[hexdigest] = module
                while len(self._modules) > self._max_entries:
                    self._modules.popitem(last=False)
            return module

    def _recall(self, hexdigest: str) -> Compiled | None:
        """From memory, marking it most recently used."""
        with self._lock:
            module = self._modules.get(hexdigest)
            if module is not None:
                self._modules.move_to_end(hexdigest)
                self.stats.memory_hits += 1
            return module

    def __len__(self) -> int:
        return len(self._modules)

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
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            self._reject(hexdigest, f"unreadable record: {error}")
            return None
        if not isinstance(record, dict) or record.get("key") != code_path.stem:
            self._reject(hexdigest, "record does not belong to this entry")
            return None
        if record.get("keyid") != key_id():
            # Written under another key (another process without a configured key): a miss, not an attack.
            log.debug(
                "compiled-module cache entry for sha256:%s is from another key; recompiling", hexdigest[:12]
            )
            return None
        try:
            with code_path.open("rb") as handle:
                verified = _signature(os.fstat(handle.fileno()))
                code = handle.read()
        except OSError as error:
            self._reject(hexdigest, f"unreadable compiled code: {error.strerror}")
            return None
        if not hmac.compare_digest(str(record.get("mac", "")), self._mac(hexdigest, code)):
            self._reject(hexdigest, "its MAC does not match (altered or planted)")
            return None
        del code
        try:
            module = self._deserialize(self._engine, str(code_path))
            mapped = _signature(code_path.lstat())
        except (wasmtime.WasmtimeError, OSError) as error:
            self._reject(hexdigest, f"wasmtime refused it: {error}")
            return None
        if mapped != verified:  # replaced or rewritten between the check and the mmap
            self._reject(hexdigest, "it changed while it was being loaded")
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
            record = {
                "key": code_path.stem,
                "mac": self._mac(hexdigest, code),
                "keyid": key_id(),
                "wasmtime": wasmtime_version(),
            }
            atomic_write(record_path, json.dumps(record, sort_keys=True).encode())
        except OSError as error:
            log.warning("cannot write compiled-module cache in %s: %s", self._directory, error)

    def _mac(self, hexdigest: str, code: bytes) -> str:
        mac = hmac.new(cache_key(), digestmod=hashlib.sha256)
        mac.update(f"{hexdigest}\0{wasmtime_version()}\0{self._settings_key}\0".encode())
        mac.update(code)
        return mac.hexdigest()


def key_id() -> str:
    """A name for the MAC key that reveals nothing of it: tells another key's entries from forgeries."""
    return hmac.new(cache_key(), b"dawg module cache key id", hashlib.sha256).hexdigest()[:16]


@functools.cache
def cache_key() -> bytes:
    """The MAC key for compiled code: from the environment or a key file, else per process.

    A configured key shorter than `MIN_KEY` bytes is refused (the MAC is what keeps native
    code someone planted in the cache from running). A key file that does not exist (the
    optional Secret volume of a plain-manifest install not created yet) is not fatal: the
    job runs with a per-process key, recompiling every generator, and says so loudly.
    """
    value = os.environ.get(ENV_KEY)
    if value:
        register_secret(value)
        if len(value.strip().encode()) < MIN_KEY:
            raise CacheError(
                f"{ENV_KEY}: a key must be at least {MIN_KEY} bytes (32 random bytes recommended)"
            )
        return value.encode()
    path = os.environ.get(ENV_KEY_FILE)
    if path:
        try:
            with open(path, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise CacheError(f"{ENV_KEY_FILE}={path}: not a regular file")
                key = handle.read(MAX_KEY_FILE + 1)
        except FileNotFoundError:
            log.warning(
                "%s=%s does not exist (is the module-cache key Secret created?): compiled modules "
                "are keyed per process and every generator is compiled again on each run",
                ENV_KEY_FILE,
                path,
            )
            return os.urandom(32)
        except OSError as error:
            raise CacheError(f"{ENV_KEY_FILE}={path}: cannot read it ({error.strerror})") from None
        if len(key.strip()) < MIN_KEY or len(key) > MAX_KEY_FILE:
            raise CacheError(f"{ENV_KEY_FILE}={path}: a key must be {MIN_KEY} to {MAX_KEY_FILE} bytes")
        return key.strip()
    return os.urandom(32)


def _signature(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


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


@functools.cache
def wasmtime_version() -> str:
    """The installed wasmtime release; part of every cache key."""
    return importlib.metadata.version("wasmtime")
