"""A content-addressed store of blobs (generator modules and their manifests) on disk.

Anything fetched from a registry is kept here by digest, after its bytes were
hashed and found equal to the digest: a reference pinned to a digest that is
already stored needs no network at all, and restarts cost nothing (peers re-pull
on every reconcile or restart). The store shares its root with the compiled-module
cache (`<cache root>/blobs/sha256/<hex>`).

Writes go to a temporary file that is renamed into place only after the hash
matched, so concurrent pulls of the same digest (threads or processes) can only
ever leave a complete, verified file; a per-digest lock file additionally keeps
two processes from downloading the same blob twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from .cachedir import ensure_private_dir


class BlobTooLarge(Exception):
    """Raised inside the store while streaming; callers translate it with context."""


class BlobDigestMismatch(Exception):
    """Raised inside the store when streamed bytes hash to another digest."""

    def __init__(self, actual: str) -> None:
        self.actual = actual
        super().__init__(actual)


class BlobStore:
    """Verified blobs under `root/sha256/<hex>`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64:
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / "sha256" / hexdigest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def read(self, digest: str) -> bytes | None:
        """The blob's bytes if stored and still matching its digest; a bad file is removed."""
        path = self.path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return data

    def write(self, digest: str, chunks: Iterable[bytes], max_size: int) -> Path:
        """Store streamed `chunks` under `digest` if they hash to it and fit in `max_size`."""
        target = self.path(digest)
        ensure_private_dir(self.root)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:16]}.", suffix=".part", dir=target.parent)
        try:
            hasher = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_size:
                        raise BlobTooLarge()
                    hasher.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            actual = "sha256:" + hasher.hexdigest()
            if actual != digest:
                raise BlobDigestMismatch(actual)
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target

    @contextlib.contextmanager
    def locked(self, digest: str) -> Iterator[None]:
        """Hold the per-digest lock, across threads (a mutex) and processes (flock)."""
        with self._locks_guard:
            lock = self._locks.setdefault(digest, threading.Lock())
        with lock:
            ensure_private_dir(self.root)
            lock_dir = self.root / "locks"
            lock_dir.mkdir(mode=0o700, exist_ok=True)
            with open(lock_dir / digest.replace(":", "-"), "a") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
