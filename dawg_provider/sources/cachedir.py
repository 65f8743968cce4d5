"""The private on-disk cache directory and the one way DAWG writes into it.

Compiled modules are native code: loading one from a directory another user can
write to would let them run code as us. So the cache root is created 0700, is
refused when someone else owns it, and every file in it is written atomically
(temporary file in the same directory, fsync, rename) so a reader never sees a
half-written entry, and a crash leaves at most a stray temporary file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from ..errors import CacheError

ENV_CACHE_DIR = "DAWG_CACHE_DIR"


def default_cache_root() -> Path:
    """`$DAWG_CACHE_DIR`, else `$XDG_CACHE_HOME/dawg`, else `~/.cache/dawg`."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dawg"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) as a 0700 directory we own, or explain why we cannot."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError as error:
        raise CacheError(f"cache directory {path}: cannot create it: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise CacheError(f"cache directory {path}: exists and is not a directory")
    if info.st_uid != os.getuid():
        raise CacheError(
            f"cache directory {path}: owned by uid {info.st_uid}, not by us (uid {os.getuid()}); "
            f"refusing to load compiled code from it. Set {ENV_CACHE_DIR} to a private directory"
        )
    if info.st_mode & 0o077:
        try:
            path.chmod(0o700)
        except OSError as error:
            raise CacheError(f"cache directory {path}: cannot make it private: {error.strerror}") from None
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
