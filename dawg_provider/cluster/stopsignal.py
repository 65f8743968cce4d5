"""Waiting for SIGTERM without a signal handler, so `dawg controller` can shut down cleanly.

Kubernetes stops a Pod by sending SIGTERM and, `terminationGracePeriodSeconds` (30 s by
default, core/v1 PodSpec) later, SIGKILL. Python's default SIGTERM action ends the
process at once, in the middle of a Grafana write and without giving the Lease up, so the
next replica waits a whole Lease duration. A Python signal handler runs between any two
bytecodes of the main thread, possibly while it holds a lock the handler would need; so
instead the signals are blocked in every thread (`pthread_sigmask` before the threads
start: they inherit the mask) and the main thread takes them with `sigtimedwait`
(signal(7): a blocked signal stays pending until a thread accepts it). A handler that
only stores the signal is installed as well: it catches a signal delivered to a thread
started before the mask was set, and is all there is where the platform has no
`sigtimedwait` (macOS).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger("dawg.controller")

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for Ctrl-C (`dawg_provider.cli.main` says the same)."""

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class StopSignal:
    """Create before any thread starts; then `wait(keep_going)` until a stop signal."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._blocking = hasattr(signal, "sigtimedwait") and hasattr(signal, "pthread_sigmask")
        self._previous = {number: signal.signal(number, self._store) for number in STOP_SIGNALS}
        if self._blocking:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    def _store(self, number: int, _frame: object) -> None:
        self.received = number

    def wait(self, keep_going: Callable[[], bool], poll: float = 1.0) -> int | None:
        """Block until a stop signal arrives (returned, and forgotten: the next call waits for
        another) or `keep_going()` turns false (None)."""
        while self.received is None and keep_going():
            if self._blocking:
                info = signal.sigtimedwait(STOP_SIGNALS, poll)
                if info is not None:
                    self.received = info.si_signo
            else:  # pragma: no cover - platforms without sigtimedwait only
                time.sleep(poll)
        received, self.received = self.received, None
        return received

    def restore(self) -> None:
        """Unblock the signals and put the previous handlers back (callers that keep running)."""
        if self._blocking:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        for number, previous in self._previous.items():
            signal.signal(number, previous)


def run_until_stopped(
    stop: StopSignal, work: Callable[[], None], shutdown: Callable[[float], bool], grace: float
) -> int:
    """Run `work` on a thread until a stop signal (or until it ends by itself), then
    `shutdown(grace)` on another thread while still listening. Returns the exit code:
    0 after SIGTERM, 130 after SIGINT, 1 when the work ended unasked.

    A second signal exits at once with 1, Kubernetes' own convention (apiserver
    pkg/server/signal.go `SetupSignalContext`: "If a second signal is caught, the program
    is terminated with exit code 1"). When `shutdown` says the work did not end in time,
    the process exits at once with 1 as well: a normal interpreter exit would wait for the
    threads still waiting on Grafana (CPython concurrent/futures/thread.py `_python_exit`
    joins every pool thread), past the kubelet's grace."""
    worker = threading.Thread(target=work, daemon=True, name="dawg-worker")
    worker.start()
    first = stop.wait(worker.is_alive)
    if first is not None:
        log.info("controller: %s: finishing the writes in flight", signal.Signals(first).name)
    ended: list[bool] = []
    drain = threading.Thread(target=lambda: ended.append(shutdown(grace)), daemon=True, name="dawg-stop")
    drain.start()
    second = stop.wait(drain.is_alive)
    if second is not None:
        log.warning("controller: second %s: exiting now", signal.Signals(second).name)
        exit_now(EXIT_FAILED)
    if ended != [True]:
        log.error("controller: writes still in flight after %.0f s; exiting, the Lease expires", grace)
        exit_now(EXIT_FAILED)
    if first is None:
        log.error("controller: the worker stopped without being asked to")
        return EXIT_FAILED
    return EXIT_INTERRUPTED if first == signal.SIGINT else 0


def exit_now(code: int) -> None:
    """End the process at once (threads still waiting on Grafana die with it), logs flushed."""
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
