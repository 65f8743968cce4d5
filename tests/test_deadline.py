"""The fetch deadline's watchdog, below HTTP: a socket blocked in a read, plain or in a TLS
handshake, is shut down when the deadline passes, however long its own timeout is.

A peer that never answers stands in for one that trickles: either way the read in
progress would only end at the socket timeout (requests docs, user/quickstart,
"Timeouts": not "a time limit on the entire response download").
"""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from dawg_provider.sources.deadline import Deadline, TransportError, running


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
