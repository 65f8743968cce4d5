"""One deadline per fetch, enforced on the sockets themselves, not between reads.

A socket timeout bounds one wait: a registry that sends one byte every 0.2 s never
trips a 30 s read timeout, and `http.client` reads the status line and headers
inside `requests` where no code of ours runs between the bytes. So a `Deadline`
is also a watchdog: while it is running (`with deadline:`), every socket a
request of this thread opens or reuses is registered with it (the connection
classes below, mounted on the registry session by `watch_session`), and when the
deadline passes a timer thread shuts those sockets down. A read blocked in the
status line, the headers, a TLS handshake or the body returns at once, and the
caller reports the deadline (`expired`), not a broken connection.

The watchdog holds its own duplicate of each socket's descriptor and calls
`shutdown` on it: `shutdown` acts on the connection, not the descriptor, so it wakes
the thread blocked in `recv` on the owner's descriptor, and works even after the
owner's socket object was handed to `ssl` (`wrap_socket` detaches it: the raw socket
urllib3 opens before the TLS handshake has no descriptor left by then). Owning the
duplicate also means a descriptor number the owner closed and the process reused is
never touched. The duplicates are closed when the deadline's `with` ends.

A connection is watched only while it serves this fetch: from the moment it is
opened or taken from the pool until it goes back (`_put_conn`), when its duplicate is
closed, so a fetch whose deadline passes never shuts down a kept-alive connection that
another fetch took from the pool since.

The connect is done here, address by address, each socket watched before `connect`
and given at most the time left; the name lookup runs on a helper thread the fetch
waits for no longer than the time left (the lookup itself cannot be interrupted and
ends on the resolver's own timeouts, in the background). Not covered: connections
through a SOCKS proxy.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool


class TransportError(Exception):
    """No usable HTTP answer; translated with the reference by the caller."""

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(problem)


_running = threading.local()


class Deadline:
    """The time one fetch (all its requests, redirects and token calls) may take."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._outer: Deadline | None = None

    def remaining(self) -> float:
        """Seconds left; raises `TransportError` once there are none."""
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise self.error()
        return left

    def error(self) -> TransportError:
        return TransportError(
            f"the registry took longer than the fetch deadline ({self.seconds:g} s)",
            "a registry that answers this slowly is treated as unreachable",
        )

    def __enter__(self) -> Deadline:
        self._outer = getattr(_running, "deadline", None)
        _running.deadline = self
        self._timer = threading.Timer(max(self.end - time.monotonic(), 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        _running.deadline = self._outer
        with self._lock:  # not while the watchdog is shutting them down
            for duplicate in self._sockets:
                duplicate.close()
            self._sockets = []

    def watch(self, sock: socket.socket) -> socket.socket | None:
        """Shut `sock`'s connection down when the deadline passes (at once if it has).

        Returns the watchdog's duplicate, for `unwatch` when the connection goes back to
        its pool (another fetch may take it from there), or None when nothing is watched.
        """
        try:
            duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        except OSError:  # already closed: nothing left to wait on
            return None
        with self._lock:
            if not self.expired:
                self._sockets.append(duplicate)
                return duplicate
        _shut(duplicate)
        duplicate.close()
        return None

    def unwatch(self, duplicate: socket.socket) -> None:
        """Stop watching a connection this fetch no longer uses (it went back to the pool)."""
        with self._lock:  # never while the watchdog is shutting it down
            if duplicate in self._sockets:
                self._sockets.remove(duplicate)
                duplicate.close()

    def _expire(self) -> None:
        with self._lock:  # shutdown does not block
            self.expired = True
            for duplicate in self._sockets:
                _shut(duplicate)


def running() -> Deadline | None:
    """The deadline running in this thread, if any."""
    current: Deadline | None = getattr(_running, "deadline", None)
    return current


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed or never connected
        sock.shutdown(socket.SHUT_RDWR)


def _watch(conn: Any, sock: Any) -> None:
    """Register `sock` with this thread's deadline for as long as `conn` serves this fetch."""
    current = running()
    if current is not None and sock is not None:
        duplicate = current.watch(sock)
        if duplicate is not None:
            conn.__dict__.setdefault("_dawg_watched", []).append((current, duplicate))


def _release(conn: Any) -> None:
    """`conn` goes back to its pool: the fetches that used it stop watching it."""
    if conn is None:  # urllib3 puts None back for a connection it dropped
        return
    for deadline, duplicate in conn.__dict__.pop("_dawg_watched", []):
        deadline.unwatch(duplicate)


def _connect(conn: Any, current: Deadline) -> socket.socket:
    """`conn`'s socket, every step within `current`: the name lookup, then each address.

    urllib3's `create_connection` tries every address `getaddrinfo` gives with the whole
    connect timeout each (urllib3 src/urllib3/util/connection.py, `create_connection`),
    so N black-holed addresses would hold a fetch N times that long. Here each socket is
    watched before its `connect`, and its timeout is never longer than the time left.
    """
    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(conn._dns_host, conn.port, 0, socket.SOCK_STREAM))
        except OSError as error:
            found.append(error)

    resolver = threading.Thread(target=lookup, daemon=True)  # getaddrinfo cannot be interrupted
    resolver.start()
    resolver.join(current.remaining())
    if not found:
        raise current.error()
    if isinstance(found[0], OSError):
        raise urllib3.exceptions.NameResolutionError(conn.host, conn, found[0])  # type: ignore[arg-type]
    last: OSError | None = None
    for family, kind, proto, _, address in found[0]:
        sock = socket.socket(family, kind, proto)
        try:
            _watch(conn, sock)
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            limit = current.remaining()
            sock.settimeout(limit if not isinstance(conn.timeout, float | int) else min(conn.timeout, limit))
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(address)
            return sock
        except OSError as error:
            sock.close()
            if current.expired:
                raise current.error() from None
            last = error
    if isinstance(last, TimeoutError):
        raise urllib3.exceptions.ConnectTimeoutError(conn, f"Connection to {conn.host} timed out")
    raise urllib3.exceptions.NewConnectionError(conn, f"Failed to establish a new connection: {last}")


class _WatchedHTTP(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        current = running()
        if current is None:
            return super()._new_conn()
        return _connect(self, current)  # before TLS: the handshake is watched too

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a kept-alive connection, now serving this fetch
            _watch(self, self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPS(urllib3.connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        current = running()
        if current is None:
            return super()._new_conn()
        return _connect(self, current)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _watch(self, self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP

    def _put_conn(self, conn: Any) -> None:
        _release(conn)
        super()._put_conn(conn)


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS

    def _put_conn(self, conn: Any) -> None:
        _release(conn)
        super()._put_conn(conn)


WATCHED = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with pools whose connections register with the running deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own classes: unwatched
            manager.pool_classes_by_scheme = WATCHED
        return manager


def watch_session(session: requests.Session) -> None:
    """Make every connection `session` opens or reuses register with the running deadline."""
    session.mount("http://", WatchedAdapter())
    session.mount("https://", WatchedAdapter())
