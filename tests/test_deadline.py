"""The fetch deadline's watchdog, below HTTP and through a pooled session: a socket blocked in a read, plain or in a TLS
handshake, is shut down when the deadline passes, however long its own timeout is.

A peer that never answers stands in for one that trickles: either way the read in
progress would only end at the socket timeout (requests docs, user/quickstart,
"Timeouts": not "a time limit on the entire response download").
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from dawg_provider.sources.deadline import Deadline, TransportError, running
from dawg_provider.sources.transport import bounded_session, iter_body


def test_a_blocked_read_ends_at_the_deadline_not_the_socket_timeout() -> None:
    mine, peer = socket.socketpair()
    with mine, peer:
        mine.settimeout(10.0)
        started = time.monotonic()
        with Deadline(0.3) as deadline:
            assert running() is deadline
            deadline.watch(mine)
            assert mine.recv(1) == b""  # shut down: end of stream, at once
            assert deadline.expired
            with pytest.raises(TransportError, match=r"fetch deadline \(0.3 s\)"):
                deadline.remaining()
        assert 0.25 <= time.monotonic() - started < 3.0
        assert running() is None


def test_a_tls_handshake_with_a_silent_server_ends_at_the_deadline() -> None:
    mine, peer = socket.socketpair()
    with peer:
        mine.settimeout(10.0)
        context = ssl.create_default_context()
        started = time.monotonic()
        with Deadline(0.3) as deadline:
            deadline.watch(mine)  # as the watched connection does, before wrapping it in TLS
            with (
                pytest.raises((ssl.SSLError, OSError)),
                context.wrap_socket(mine, server_hostname="registry.example.com") as tls,
            ):
                tls.recv(1)
        assert deadline.expired and time.monotonic() - started < 3.0


def test_a_socket_watched_after_the_deadline_is_shut_at_once() -> None:
    mine, peer = socket.socketpair()
    with mine, peer, Deadline(0.05) as deadline:
        time.sleep(0.3)
        mine.settimeout(10.0)
        deadline.watch(mine)
        started = time.monotonic()
        assert mine.recv(1) == b""
        assert time.monotonic() - started < 1.0


def test_a_finished_deadline_shuts_nothing_down() -> None:
    mine, peer = socket.socketpair()
    with mine, peer:
        with Deadline(0.2) as deadline:
            deadline.watch(mine)
        time.sleep(0.4)  # the timer was cancelled on exit
        peer.sendall(b"x")
        mine.settimeout(2.0)
        assert mine.recv(1) == b"x" and not deadline.expired


# --- Through a session: pooled connections, connect and lookup, bodies read until close. ---


class KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 with lengths: connections are kept alive and pooled (RFC 9112 section 9.3)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/fast":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        if self.path == "/until-close":  # no length: the body ends when the server closes
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b'{"token": "t"}')
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
            return
        chunks = 20 if self.path == "/legit" else 100
        self.send_response(200)
        self.send_header("Content-Length", str(100 * chunks))
        self.end_headers()
        for _ in range(chunks):
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            time.sleep(0.1)


@pytest.fixture
def keep_alive() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_slow_fetch_past_its_deadline_never_breaks_a_pooled_connection_another_fetch_uses(
    keep_alive: str,
) -> None:
    session = requests.Session()
    local = threading.local()
    bounded_session(session, 30.0, lambda: local.deadline)
    b_may_start = threading.Event()
    result: dict[str, str] = {}

    def hostile() -> None:  # 1 s deadline; its first connection goes back to the pool
        local.deadline = Deadline(1.0)
        with local.deadline:
            session.get(keep_alive + "/fast")
            b_may_start.set()
            time.sleep(0.2)
            try:
                answer = session.get(keep_alive + "/slow", stream=True)
                b"".join(iter_body(answer, local.deadline, 10**7))
                result["A"] = "finished"
            except TransportError as error:
                result["A"] = str(error)

    def innocent() -> None:  # 60 s deadline, a 2 s download on the pooled connection
        b_may_start.wait()
        local.deadline = Deadline(60.0)
        with local.deadline:
            try:
                answer = session.get(keep_alive + "/legit", stream=True)
                result["B"] = str(len(b"".join(iter_body(answer, local.deadline, 10**7))))
            except TransportError as error:
                result["B"] = str(error)

    threads = [threading.Thread(target=hostile), threading.Thread(target=innocent)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert result["B"] == "2000"  # the whole body, untouched by A's watchdog
    assert "fetch deadline (1 s)" in result["A"]


def test_connecting_to_many_black_holed_addresses_ends_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # a full accept queue: further SYNs are dropped, as by a black hole
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.3)
    real = socket.getaddrinfo

    def five(host: str, *args: object, **kwargs: object) -> object:
        if host == "reg.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))] * 5
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", five)
    session = requests.Session()
    deadline = Deadline(2.0)
    bounded_session(session, 30.0, lambda: deadline)
    started = time.monotonic()
    with pytest.raises(TransportError, match="fetch deadline"), deadline:
        session.get(f"http://reg.test:{port}/v2/")
    assert time.monotonic() - started < 4.0  # not 5 x the 10 s connect timeout
    for filler in fillers:
        filler.close()
    listener.close()


def test_a_name_lookup_that_hangs_ends_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(5.0)
        raise socket.gaierror("never answered")

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    session = requests.Session()
    deadline = Deadline(0.5)
    bounded_session(session, 30.0, lambda: deadline)
    started = time.monotonic()
    with pytest.raises(TransportError, match="fetch deadline"), deadline:
        session.get("http://reg.test:5000/v2/")
    assert time.monotonic() - started < 2.0


def test_a_body_read_until_close_cut_by_the_watchdog_is_the_deadline_not_a_complete_answer(
    keep_alive: str,
) -> None:
    session = requests.Session()
    deadline = Deadline(1.0)
    bounded_session(session, 30.0, lambda: deadline)
    with pytest.raises(TransportError, match=r"fetch deadline \(1 s\)"), deadline:
        session.get(keep_alive + "/until-close")
