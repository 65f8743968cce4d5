"""The WASI preview1 functions DAWG replaces, and the per-run state they serve.

wasmtime's WASI gives a guest no files, no environment and no sockets when nothing
is configured; what remains are the channels a generator legitimately uses, and
DAWG replaces those with its own functions so that each one is bounded and
repeatable:

- `fd_read` serves the config text on stdin (fd 0) from memory; no other fd reads.
- `fd_write` captures stdout (fd 1) up to the output cap and stderr (fd 2) as a
  bounded tail; past the cap the guest gets EFBIG and the run is marked, so an
  endless writer costs memory of the cap, not of the deadline.
- `clock_time_get` returns a fixed instant that advances a microsecond per call,
  and `random_get` a seeded stream: the same config yields the same bytes even for
  Go generators that iterate maps (whose order is seeded from `random_get`).
- `poll_oneoff` never blocks: stdin and stdout are always ready, and a clock wait
  advances the virtual clock by the requested time and returns at once. A real
  sleep would outwait the deadline (epoch interruption only fires while wasm code
  runs); a virtual one costs nothing, stays repeatable, and a guest that sleeps in
  a loop spins in wasm code until the deadline stops it.

Host functions never raise: wasmtime-py keeps the Python exception of a failing
host call in one process-global slot, which concurrent runs on other threads
could pick up. They return WASI errno values instead and record what happened on
the run's `RunIO`, which the runtime reads after the guest stops.
"""

from __future__ import annotations

import ctypes
import math
import random
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import wasmtime

WASI_MODULE = "wasi_snapshot_preview1"

ERRNO_SUCCESS = 0
ERRNO_BADF = 8
ERRNO_FAULT = 21
ERRNO_FBIG = 22
ERRNO_INVAL = 28
ERRNO_NOTSUP = 58

# 2024-01-01T00:00:00Z: what `time.Now()` says inside every generator run.
FIXED_TIME_NS = 1_704_067_200_000_000_000
CLOCK_STEP_NS = 1_000
RANDOM_SEED = 0x0DA3
U32 = 0xFFFFFFFF  # i32 arguments arrive signed; pointers and lengths are unsigned


class RunIO:
    """Everything one run reads and writes through the replaced WASI functions."""

    def __init__(self, stdin: bytes, max_output: int, max_stderr: int) -> None:
        self.stdin = stdin
        self.stdin_offset = 0
        self.max_output = max_output
        self.max_stderr = max_stderr
        self.stdout = bytearray()
        self.stdout_overflow = False
        self.stderr_head = bytearray()
        self.stderr_tail = bytearray()
        self.stderr_dropped = 0
        self.clock_calls = 0
        self.slept_ns = 0
        self.sleep_attempts = 0
        self.memory: wasmtime.Memory | None = None
        self.random = random.Random(RANDOM_SEED)

    def write_stdout(self, data: bytes) -> int:
        if len(self.stdout) + len(data) > self.max_output:
            self.stdout_overflow = True
            return ERRNO_FBIG
        self.stdout += data
        return ERRNO_SUCCESS

    def now_ns(self) -> int:
        """The virtual clock: a fixed start, a microsecond per reading, plus all sleeps."""
        return FIXED_TIME_NS + self.clock_calls * CLOCK_STEP_NS + self.slept_ns

    def write_stderr(self, data: bytes) -> None:
        """Keep the first and the last half of the stderr budget: a Go panic says what
        happened at the top, most programs print the reason last."""
        half = self.max_stderr // 2
        room = half - len(self.stderr_head)
        if room > 0:
            self.stderr_head += data[:room]
            data = data[room:]
        if not data:
            return
        self.stderr_tail += data
        excess = len(self.stderr_tail) - half
        # Trim in batches so a flood of small writes stays linear.
        if excess > half + 4096:
            del self.stderr_tail[:excess]
            self.stderr_dropped += excess

    def stderr_text(self) -> str:
        """What the guest wrote to stderr, with a marker where the middle was dropped."""
        half = self.max_stderr // 2
        excess = max(len(self.stderr_tail) - half, 0)
        dropped = self.stderr_dropped + excess
        head = bytes(self.stderr_head).decode("utf-8", errors="replace")
        tail = bytes(self.stderr_tail[excess:]).decode("utf-8", errors="replace")
        if dropped:
            return f"{head}\n[... {dropped} bytes of stderr dropped ...]\n{tail}"
        return head + tail


_current = threading.local()


@contextmanager
def bound(io: RunIO) -> Iterator[RunIO]:
    """Route the replaced WASI functions of this thread to `io` while a guest runs."""
    _current.io = io
    try:
        yield io
    finally:
        _current.io = None


def _io() -> RunIO | None:
    return getattr(_current, "io", None)


def _memory(io: RunIO, caller: wasmtime.Caller) -> wasmtime.Memory | None:
    """The guest's exported memory, looked up once per run (host calls are the hot path)."""
    if io.memory is None:
        memory = caller.get("memory")
        io.memory = memory if isinstance(memory, wasmtime.Memory) else None
    return io.memory


def _read(caller: wasmtime.Caller, memory: wasmtime.Memory, ptr: int, length: int) -> bytes | None:
    """Copy `length` bytes out of guest memory, or None when the range is out of bounds."""
    ptr, length = ptr & U32, length & U32
    if ptr + length > memory.data_len(caller):
        return None
    return ctypes.string_at(ctypes.addressof(memory.data_ptr(caller).contents) + ptr, length)


def _write(caller: wasmtime.Caller, memory: wasmtime.Memory, ptr: int, data: bytes) -> bool:
    """Copy `data` into guest memory; False when the range is out of bounds."""
    ptr &= U32
    if ptr + len(data) > memory.data_len(caller):
        return False
    ctypes.memmove(ctypes.addressof(memory.data_ptr(caller).contents) + ptr, data, len(data))
    return True


def _iovecs(
    caller: wasmtime.Caller, memory: wasmtime.Memory, iovs: int, count: int
) -> list[tuple[int, int]] | None:
    count &= U32
    if count > 1024:
        return None
    table = _read(caller, memory, iovs, 8 * count)
    if table is None:
        return None
    return [struct.unpack_from("<II", table, 8 * i) for i in range(count)]


def fd_write(caller: wasmtime.Caller, fd: int, iovs: int, iovs_len: int, nwritten: int) -> int:
    io = _io()
    memory = _memory(io, caller) if io is not None else None
    if io is None or memory is None:
        return ERRNO_FAULT
    if fd not in (1, 2):
        return ERRNO_BADF
    vectors = _iovecs(caller, memory, iovs, iovs_len)
    if vectors is None:
        return ERRNO_FAULT
    chunks = []
    for ptr, length in vectors:
        chunk = _read(caller, memory, ptr, length)
        if chunk is None:
            return ERRNO_FAULT
        chunks.append(chunk)
    data = b"".join(chunks)
    if fd == 1:
        errno = io.write_stdout(data)
        if errno:
            return errno
    else:
        io.write_stderr(data)
    return ERRNO_SUCCESS if _write(caller, memory, nwritten, struct.pack("<I", len(data))) else ERRNO_FAULT


def fd_read(caller: wasmtime.Caller, fd: int, iovs: int, iovs_len: int, nread: int) -> int:
    io = _io()
    memory = _memory(io, caller) if io is not None else None
    if io is None or memory is None:
        return ERRNO_FAULT
    if fd != 0:
        return ERRNO_BADF
    vectors = _iovecs(caller, memory, iovs, iovs_len)
    if vectors is None:
        return ERRNO_FAULT
    total = 0
    for ptr, length in vectors:
        chunk = io.stdin[io.stdin_offset : io.stdin_offset + (length & U32)]
        if chunk and not _write(caller, memory, ptr, chunk):
            return ERRNO_FAULT
        io.stdin_offset += len(chunk)
        total += len(chunk)
        if len(chunk) < length & U32:
            break
    return ERRNO_SUCCESS if _write(caller, memory, nread, struct.pack("<I", total)) else ERRNO_FAULT


def clock_time_get(caller: wasmtime.Caller, clock_id: int, precision: int, out: int) -> int:
    io = _io()
    memory = _memory(io, caller) if io is not None else None
    if io is None or memory is None:
        return ERRNO_FAULT
    if clock_id not in (0, 1, 2, 3):
        return ERRNO_INVAL
    now = io.now_ns()
    io.clock_calls += 1
    return ERRNO_SUCCESS if _write(caller, memory, out, struct.pack("<Q", now)) else ERRNO_FAULT


def random_get(caller: wasmtime.Caller, buf: int, length: int) -> int:
    io = _io()
    memory = _memory(io, caller) if io is not None else None
    if io is None or memory is None:
        return ERRNO_FAULT
    if length & U32 > 1 << 20:
        return ERRNO_INVAL
    return ERRNO_SUCCESS if _write(caller, memory, buf, io.random.randbytes(length)) else ERRNO_FAULT


SUBSCRIPTION_SIZE = 48
EVENT_SIZE = 32
EVENT_CLOCK, EVENT_FD_READ, EVENT_FD_WRITE = 0, 1, 2
SUBSCRIPTION_CLOCK_ABSTIME = 1


def poll_oneoff(caller: wasmtime.Caller, subs: int, events: int, nsubs: int, nevents: int) -> int:
    """Answer a wait without waiting: ready fds first, else jump the virtual clock."""
    io = _io()
    memory = _memory(io, caller) if io is not None else None
    if io is None or memory is None:
        return ERRNO_FAULT
    count = nsubs & U32
    if count == 0 or count > 64:
        return ERRNO_INVAL
    table = _read(caller, memory, subs, SUBSCRIPTION_SIZE * count)
    if table is None:
        return ERRNO_FAULT
    io.sleep_attempts += 1
    ready: list[bytes] = []
    clocks: list[tuple[int, int]] = []
    for index in range(count):
        base = SUBSCRIPTION_SIZE * index
        userdata, tag = struct.unpack_from("<QB", table, base)
        if tag == EVENT_CLOCK:
            timeout, _precision, flags = struct.unpack_from("<QQH", table, base + 24)
            wait = timeout - io.now_ns() if flags & SUBSCRIPTION_CLOCK_ABSTIME else timeout
            clocks.append((max(wait, 0), userdata))
        elif tag in (EVENT_FD_READ, EVENT_FD_WRITE):
            (fd,) = struct.unpack_from("<I", table, base + 16)
            ok = (fd == 0 and tag == EVENT_FD_READ) or (fd in (1, 2) and tag == EVENT_FD_WRITE)
            available = len(io.stdin) - io.stdin_offset if fd == 0 else 0
            errno = ERRNO_SUCCESS if ok else ERRNO_BADF
            ready.append(struct.pack("<QHBxxxxxQHxxxxxx", userdata, errno, tag, available, 0))
        else:
            return ERRNO_INVAL
    if not ready and clocks:
        wait = min(wait for wait, _ in clocks)
        io.slept_ns += wait
        ready = [
            struct.pack("<QHBxxxxxQHxxxxxx", userdata, ERRNO_SUCCESS, EVENT_CLOCK, 0, 0)
            for clock_wait, userdata in clocks
            if clock_wait <= wait
        ]
    if not _write(caller, memory, events, b"".join(ready)):
        return ERRNO_FAULT
    return ERRNO_SUCCESS if _write(caller, memory, nevents, struct.pack("<I", len(ready))) else ERRNO_FAULT


EPOCH_TICK_SECONDS = 0.01
"""How often the engine's epoch advances while a generator runs (the deadline's resolution)."""


def new_store(
    engine: wasmtime.Engine, wasi: wasmtime.WasiConfig, memory: int, timeout: float
) -> wasmtime.Store:
    """A Store for one run: argv `["generator"]`, the memory cap, the epoch deadline."""
    wasi.argv = ["generator"]
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    store.set_limits(memory_size=memory)
    store.set_epoch_deadline(max(1, math.ceil(timeout / EPOCH_TICK_SECONDS)))
    return store


def define_sandbox(linker: wasmtime.Linker, capture_stdio: bool = True) -> None:
    """Define WASI preview1 on `linker`, with DAWG's bounded, repeatable replacements.

    `capture_stdio=False` keeps wasmtime's own fd functions (for the prototype ABI,
    whose modules read a preopened file); clock, random and sleeps are replaced either way.
    """
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    linker.allow_shadowing = True
    linker.define_wasi()
    replacements: dict[str, tuple[list[wasmtime.ValType], Callable[..., int]]] = {
        "fd_write": ([i32, i32, i32, i32], fd_write),
        "fd_read": ([i32, i32, i32, i32], fd_read),
        "clock_time_get": ([i32, i64, i32], clock_time_get),
        "random_get": ([i32, i32], random_get),
        "poll_oneoff": ([i32, i32, i32, i32], poll_oneoff),
    }
    if not capture_stdio:
        del replacements["fd_write"], replacements["fd_read"]
    for name, (params, func) in replacements.items():
        linker.define_func(WASI_MODULE, name, wasmtime.FuncType(params, [i32]), func, access_caller=True)
    linker.allow_shadowing = False
