"""What every client of one Grafana shares: is it up (a circuit breaker), and how long
the whole pass may still take (a deadline).

Why: with Grafana down, every request of every dashboard used to run its own retry
loop, so a pass over 1000 Dashboard resources took about 15 minutes, past the
CronJob's deadline; and a few hanging requests stretched a pass without bound. One
`HealthState` per connection (all threads, all clients) fixes both:

- **Breaker.** Each attempt that fails for a reason of Grafana's (refused, reset,
  timed out, an answer broken off, 502/503/504, 500 on a read: a database outage)
  counts; any answer under 500 resets the count (a 500 on a write does neither). After
  `threshold` failures in a row the breaker opens: every request fails at once with
  one message (`GrafanaDown`) saying why. After `cooldown` seconds one request may
  probe; its success closes the breaker, its failure opens it again. A probe that
  ends with neither (its deadline spent, an unexpected exception) is `abandoned`, and
  a probe nobody settles expires after another `cooldown`: the breaker can never stay
  open for good because one probe vanished.
- **Deadline.** An optional budget for everything done through the connection (a
  sync pass), started by the first request; a thread may narrow it further for one
  operation (a Pulumi create), and a shutdown narrows it for everyone (`wind_down`: the
  controller's grace on SIGTERM). Requests never wait past it: the HTTP timeout and the
  backoff are cut to what is left, and a spent budget fails with `GrafanaDeadline`.
- **Folders written this pass.** Every folder a dashboard was saved into (or that was
  created) through the connection since the pass began (`begin_pass`). On unified
  storage (12.x+) a folder's counts and the /apis delete guard read the search index,
  which lags writes; a folder that received a write in this pass is never deleted as
  "empty" by the same pass.

Thread-safe; pickles as a fresh state (no lock, no history crosses a process).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import GrafanaDeadline, GrafanaDown


class HealthState:
    """The breaker and the pass deadline of one Grafana connection."""

    def __init__(
        self,
        threshold: int = 8,
        cooldown: float = 30.0,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.deadline = deadline
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._last_reason = ""
        self._opened_at: float | None = None
        self._probing = False
        self._probe_started = 0.0
        self._started: float | None = None
        self._wind_down: float | None = None
        self._woken = threading.Condition()
        self._local = threading.local()
        self._written_folders: set[str] = set()
        self.tripped = 0
        """How many requests the open breaker refused (for reports and benches)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (HealthState, (self.threshold, self.cooldown, self.deadline))

    # -- the breaker --------------------------------------------------------------------

    def before(self, what: str) -> None:
        """Raise `GrafanaDown` when the breaker is open (letting one probe through after the cooldown)."""
        with self._lock:
            if self._started is None:
                self._started = self.clock()
            if self._opened_at is None:
                return
            now = self.clock()
            probe_free = not self._probing or now - self._probe_started >= self.cooldown
            if probe_free and now - self._opened_at >= self.cooldown:
                self._probing = True
                self._probe_started = now
                return
            self.tripped += 1
            reason = self._last_reason
            failures = self._failures
        raise GrafanaDown(
            "-",
            "-",
            what,
            None,
            f"Grafana looks down ({failures} requests in a row failed, the last: {reason}); "
            f"not sending more requests for {self.cooldown:.0f} s",
        )

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def abandoned(self) -> None:
        """The request let through ended without an answer or a failure of Grafana's: free the probe."""
        with self._lock:
            self._probing = False

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self._last_reason = reason
            if self._probing or self._failures >= self.threshold:
                self._opened_at = self.clock()
                self._probing = False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    # -- folders written ------------------------------------------------------------------

    def wrote_into(self, folder_uid: str) -> None:
        """Remember that this pass sent a write into `folder_uid` (before sending: it may land unseen)."""
        if folder_uid:
            with self._lock:
                self._written_folders.add(folder_uid)

    def begin_pass(self) -> None:
        """A new pass starts: forget the folders earlier passes wrote into. A long-running
        controller shares one connection across passes; without this, a folder it ever wrote
        into would never be deleted as empty again."""
        with self._lock:
            self._written_folders.clear()

    def written_into(self, folder_uid: str) -> bool:
        with self._lock:
            return folder_uid in self._written_folders

    # -- deadlines ------------------------------------------------------------------------

    def wind_down(self, seconds: float) -> None:
        """From now on, every request through this connection ends within `seconds`, its
        retries included: a process that must stop (SIGTERM) stops waiting on Grafana."""
        with self._lock:
            ends = self.clock() + seconds
            self._wind_down = ends if self._wind_down is None else min(self._wind_down, ends)
        with self._woken:
            self._woken.notify_all()  # a retry waiting out its delay re-checks what is left

    def pause(self, seconds: float) -> bool:
        """Wait `seconds` before a retry; False (at once) if a deadline in force, or set
        meanwhile by `wind_down`, ends first: the caller gives up instead of retrying."""
        started = time.monotonic()  # the wait itself is real time, whatever `clock` is
        rest = seconds
        with self._woken:  # checked and waited under one lock: a wind_down cannot slip between
            while True:
                left = self.remaining()
                if left is not None and rest >= left:
                    return False
                if not self._woken.wait(rest):
                    return True  # waited it out: no deadline came in meanwhile
                rest = seconds - (time.monotonic() - started)
                if rest <= 0:
                    return True

    def remaining(self) -> float | None:
        """Seconds left of the tightest deadline in force (pass, shutdown, this thread's operation)."""
        now = self.clock()
        ends = []
        with self._lock:
            if self.deadline is not None:
                started = self._started if self._started is not None else now
                ends.append(started + self.deadline)
            if self._wind_down is not None:
                ends.append(self._wind_down)
        operation = getattr(self._local, "ends", None)
        if operation is not None:
            ends.append(operation)
        return min(ends) - now if ends else None

    def check_deadline(self, what: str) -> float | None:
        """The seconds left, or `GrafanaDeadline` when none are."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise GrafanaDeadline("-", "-", what, None, "the time allowed for this run is spent")
        return left

    @contextlib.contextmanager
    def operation(self, seconds: float | None) -> Iterator[None]:
        """Narrow this thread's deadline to `seconds` from now while the block runs."""
        previous = getattr(self._local, "ends", None)
        if seconds is not None:
            ends = self.clock() + seconds
            self._local.ends = ends if previous is None else min(previous, ends)
        try:
            yield
        finally:
            self._local.ends = previous
