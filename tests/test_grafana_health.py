"""The shared health state: a breaker that stops the flood when Grafana is down, and deadlines."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dawg_provider.errors import GrafanaDeadline, GrafanaDown, GrafanaServerError, GrafanaUnreachable
from dawg_provider.grafana import GrafanaClient, GrafanaConnection, HealthState, RetryPolicy
from dawg_provider.grafana.dialect import Dialect
from tests.grafana_standin import Fault, FaultKind, GrafanaStandIn

TOKEN = "glsa_admin_token"
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002, total=10)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def connect(url: str, state: HealthState, deadline: float | None = None) -> GrafanaConnection:
    return GrafanaConnection(
        url,
        token=TOKEN,
        retry=FAST,
        timeout=(1.0, 1.0),
        health=state,
        dialect=Dialect.LEGACY,
        deadline=deadline,
    )


def test_breaker_opens_after_failures_in_a_row_and_then_sends_nothing() -> None:
    down = GrafanaStandIn().start()
    down.stop()
    state = HealthState(threshold=6, cooldown=30, clock=Clock())
    connection = connect(down.url, state)
    first, second = GrafanaClient(connection), GrafanaClient(connection)  # two threads' clients
    with pytest.raises(GrafanaUnreachable, match="connection refused"):
        first.get_dashboard("a")
    with pytest.raises(GrafanaUnreachable):
        second.get_dashboard("b")
    assert state.is_open and first.requests + second.requests == 6
    with pytest.raises(
        GrafanaDown, match=r"Grafana looks down \(6 requests in a row failed, the last: connection refused\)"
    ):
        first.save_dashboard({"uid": "c", "title": "C"})
    assert first.requests + second.requests == 6 and state.tripped == 1  # nothing sent


def test_breaker_probes_after_the_cooldown_and_closes_on_success(grafana: GrafanaStandIn) -> None:
    clock = Clock()
    state = HealthState(threshold=3, cooldown=30, clock=clock)
    client = GrafanaClient(connect(grafana.url, state))
    grafana.inject(Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/", times=3, status=503))
    with pytest.raises(GrafanaServerError, match="HTTP 503"):
        client.get_dashboard("x")
    with pytest.raises(GrafanaDown):
        client.get_dashboard("x")
    clock.now += 31
    assert client.get_dashboard("x") is None  # the probe went through and Grafana answered
    assert not state.is_open and grafana.count("GET") == 4


def test_answers_in_between_keep_the_breaker_closed(grafana: GrafanaStandIn) -> None:
    state = HealthState(threshold=8, clock=Clock())
    client = GrafanaClient(connect(grafana.url, state))
    grafana.inject(
        Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/", times=100, status=503, probability=0.3)
    )
    for _ in range(20):
        try:
            client.get_dashboard("flaky")
        except GrafanaDown:
            pytest.fail("most requests answer: Grafana is not down")
        except GrafanaServerError:
            pass


def test_a_400_or_404_is_an_answer_not_a_failure(grafana: GrafanaStandIn) -> None:
    state = HealthState(threshold=1, clock=Clock())
    client = GrafanaClient(connect(grafana.url, state))
    assert client.get_dashboard("missing") is None
    assert not state.is_open


def test_the_pass_deadline_stops_everything_after_it(grafana: GrafanaStandIn) -> None:
    clock = Clock()
    state = HealthState(clock=clock)
    client = GrafanaClient(connect(grafana.url, state, deadline=60.0))
    assert state.deadline == 60.0
    assert client.get_dashboard("a") is None  # the first request starts the pass
    clock.now += 61
    with pytest.raises(GrafanaDeadline, match="the time allowed for this run is spent"):
        client.save_dashboard({"uid": "late", "title": "Late"})
    assert grafana.count("POST") == 0 and grafana.dashboard("late") is None


def test_an_operation_deadline_cuts_a_hanging_request(grafana: GrafanaStandIn) -> None:
    grafana.inject(Fault(FaultKind.LATENCY, "GET", "/api/dashboards/uid/", times=10, delay=3.0))
    client = GrafanaClient(
        GrafanaConnection(grafana.url, token=TOKEN, retry=FAST, timeout=(5.0, 30.0), dialect=Dialect.LEGACY)
    )
    started = time.monotonic()
    with pytest.raises(GrafanaUnreachable), client.deadline(0.5):
        client.get_dashboard("hangs")
    assert time.monotonic() - started < 2.0
    assert client.health_state.remaining() is None  # the operation's deadline ended with the block


def test_health_state_pickles_fresh() -> None:
    import pickle

    state = HealthState(threshold=2, cooldown=5, deadline=9)
    state.failed("x")
    state.failed("x")
    copy = pickle.loads(pickle.dumps(state))
    assert (copy.threshold, copy.cooldown, copy.deadline, copy.is_open) == (2, 5, 9, False)


# ---- review finding 5: a probe that ends with neither success nor failure -------------------


def open_breaker(grafana: GrafanaStandIn, clock: Clock) -> tuple[HealthState, GrafanaClient]:
    state = HealthState(threshold=3, cooldown=30, clock=clock)
    client = GrafanaClient(connect(grafana.url, state))
    grafana.inject(Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/", times=3, status=503))
    with pytest.raises(GrafanaServerError, match="HTTP 503"):
        client.get_dashboard("x")
    assert state.is_open
    clock.now += 31
    return state, client


def test_a_probe_cut_by_its_deadline_does_not_keep_the_breaker_open(grafana: GrafanaStandIn) -> None:
    clock = Clock()
    state, client = open_breaker(grafana, clock)
    with state.operation(0.0), pytest.raises(GrafanaDeadline):
        client.get_dashboard("x")  # the probe is let through, then its deadline is already spent
    assert grafana.count("GET") == 3  # the dead probe sent nothing
    assert client.get_dashboard("x") is None  # no further wait: the next request probes
    assert not state.is_open and grafana.count("GET") == 4


def test_a_probe_killed_by_an_unexpected_exception_is_released(grafana: GrafanaStandIn) -> None:
    clock = Clock()
    state, client = open_breaker(grafana, clock)
    real = client.session.request
    calls = []

    def broken(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("a bug in a session hook")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    client.session.request = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        client.get_dashboard("x")
    assert client.get_dashboard("x") is None and not state.is_open and len(calls) == 2


def test_a_probe_nobody_settles_expires_after_another_cooldown() -> None:
    clock = Clock()
    state = HealthState(threshold=1, cooldown=30, clock=clock)
    state.before("a")
    state.failed("refused")
    clock.now += 31
    state.before("probe")  # and then the caller vanishes without saying how it went
    with pytest.raises(GrafanaDown):
        state.before("too soon")
    clock.now += 31
    state.before("second probe")  # let through: the first probe's lease ran out
    state.succeeded()
    assert not state.is_open


def test_a_broken_off_answer_counts_as_a_failure(grafana: GrafanaStandIn) -> None:
    import requests

    state = HealthState(threshold=2, cooldown=30, clock=Clock())
    client = GrafanaClient(connect(grafana.url, state))

    def chunked(*args: object, **kwargs: object) -> object:
        raise requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")

    client.session.request = chunked  # type: ignore[method-assign,assignment]
    with pytest.raises(GrafanaUnreachable, match=r"broke off \(ChunkedEncodingError\)"):
        client.get_dashboard("x")
    assert state.is_open and grafana.count("GET") == 0


# ---- review finding 6: a database outage answers 500, not 502/503/504 ------------------------


def test_a_database_outage_trips_the_breaker(grafana: GrafanaStandIn) -> None:
    """Grafana up, its database down: /api/health 503 and 500 on every data read."""
    state = HealthState(threshold=3, cooldown=30, clock=Clock())
    client = GrafanaClient(connect(grafana.url, state))
    grafana.inject(Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/", times=100, status=500))
    with pytest.raises(GrafanaServerError, match="HTTP 500"):
        client.get_dashboard("x")
    assert state.is_open and grafana.count("GET") == FAST.attempts
    with pytest.raises(GrafanaDown, match=r"3 requests in a row failed, the last: HTTP 500"):
        client.get_dashboard("y")
    assert grafana.count("GET") == FAST.attempts  # failed fast: nothing more sent
    assert grafana.dashboard("x") is None and grafana.count("POST") == 0


def test_a_500_on_a_write_neither_trips_nor_resets(grafana: GrafanaStandIn) -> None:
    state = HealthState(threshold=2, cooldown=30, clock=Clock())
    client = GrafanaClient(connect(grafana.url, state))
    grafana.inject(Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/", times=1, status=503))
    grafana.inject(Fault(FaultKind.STATUS, "POST", "/api/dashboards/db", times=100, status=500))
    assert client.get_dashboard("x") is None  # one failure counted, then an answer resets
    with pytest.raises(GrafanaServerError):
        client.save_dashboard({"uid": "bad", "title": "Bad"})
    assert not state.is_open


def test_a_wind_down_cuts_a_retry_wait_and_bounds_what_follows() -> None:
    """A shutdown (`wind_down`) wakes a retry waiting out its delay: with less time left
    than the delay, the retry is given up at once instead of sent after the grace."""
    import threading

    state = HealthState()
    assert state.pause(0.05) is True and state.remaining() is None  # nothing in force: waits it out
    threading.Timer(0.2, lambda: state.wind_down(1.0)).start()
    started = time.monotonic()
    assert state.pause(5.0) is False  # 5 s of Retry-After cannot fit in the 1 s left
    assert time.monotonic() - started < 2.0
    left = state.remaining()
    assert left is not None and 0 < left <= 1.0
    assert state.pause(0.05) is True  # a short wait still fits
    state.wind_down(5.0)  # a later, looser call never widens it
    assert (state.remaining() or 0) <= 1.0


def test_a_wind_down_between_the_check_and_the_wait_still_wakes_the_retry() -> None:
    """Review 2, N2: `pause` must check what is left and wait under one lock, or a
    `wind_down` landing between the two is a lost wake-up (CPython Lib/threading.py
    `Condition.notify_all` wakes only threads already waiting) and the retry sleeps out
    its whole Retry-After past the grace."""
    import threading

    class Racy(HealthState):
        raced = False

        def remaining(self) -> float | None:
            left = super().remaining()
            if not self.raced:  # the drain thread tries to run right after the check
                self.raced = True
                threading.Thread(target=self.wind_down, args=(0.5,)).start()
                time.sleep(0.2)
            return left

    state = Racy()
    started = time.monotonic()
    gave_up = state.pause(3.0) is False
    took = time.monotonic() - started
    assert gave_up and took < 1.0, f"the retry slept {took:.1f} s through a 0.5 s wind-down"
