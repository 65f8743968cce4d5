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

import signal
import time
from collections.abc import Callable

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
        """Block until a stop signal arrives (returned) or `keep_going()` turns false (None)."""
        while self.received is None and keep_going():
            if self._blocking:
                info = signal.sigtimedwait(STOP_SIGNALS, poll)
                if info is not None:
                    self.received = info.si_signo
            else:  # pragma: no cover - platforms without sigtimedwait only
                time.sleep(poll)
        return self.received

    def restore(self) -> None:
        """Unblock the signals and put the previous handlers back (callers that keep running)."""
        if self._blocking:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        for number, previous in self._previous.items():
            signal.signal(number, previous)
