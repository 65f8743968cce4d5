"""`dawg controller` on SIGTERM, attacked as a hostile operator would: no second replica
leads while a write of the first may still land, no write starts once stopping, the
process exits in time and says how (the review of 86752ad, each finding a test here)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dawg_provider.cluster.kube import Kube
from dawg_provider.cluster.leader import LeaderElector
from dawg_provider.render import Renderer
from tests.grafana_standin import GrafanaStandIn
from tests.k8s_standin import KubernetesStandIn, api_client, write_kubeconfig
from tests.test_controller import (
    Recording,
    controller,
    history,
    k8s,
    populate,
    recording,
    run,
    wait_for,
)
from tests.test_sync import grafana, simple

__all__ = ["grafana", "k8s"]


def test_a_follower_shutdown_leaves_the_leaders_lease_alone(
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    renderer: Renderer,
    example_wasm: dict[str, Path],
) -> None:
    """A replica that never led ends at once and does not touch the Lease."""
    replicas = recording(0.0)
    populate(k8s, example_wasm, 1)
    a = controller(k8s, grafana, renderer, replicas["a"], True, "a", (30.0, 20.0, 0.1))
    run(a)
    wait_for(lambda: a.elector is not None and a.elector.is_leader())
    b = controller(k8s, grafana, renderer, replicas["b"], True, "b", (30.0, 20.0, 0.1))
    run(b)
    try:
        time.sleep(0.5)
        before = k8s.get("dawg", "dawg-all", "leases")["spec"]
        started = time.monotonic()
        assert b.shutdown(10) is True
        assert time.monotonic() - started < 2
        after = k8s.get("dawg", "dawg-all", "leases")["spec"]
        assert after["holderIdentity"] == "a" and after["leaseDurationSeconds"] == 30
        assert before["leaseTransitions"] == after["leaseTransitions"]
        assert b.health() is None  # stopped on purpose: not reported as a dead thread
    finally:
        a.shutdown(10)


def test_release_after_a_renewal_that_landed_late_still_hands_over(k8s: KubernetesStandIn) -> None:
    """client-go leaderelection.go `tryRelease` retries on 409 Conflict ("the context
    cancellation races with an inflight renew() operation ... the apiserver completes the
    update and bumps the resource version"); so does `release`, or the next replica would
    wait a whole Lease duration."""
    kube = Kube(api_client(k8s))

    class LateRenewal:
        """The first replace is answered 409 as if the (timed-out) last renewal landed
        just after the GET release made."""

        def __init__(self) -> None:
            self.raced = False

        def get_lease(self, namespace: str, name: str) -> object:
            return kube.get_lease(namespace, name)

        def create_lease(self, namespace: str, body: dict[str, object]) -> None:
            kube.create_lease(namespace, body)

        def replace_lease(self, namespace: str, body: dict[str, object]) -> None:
            if body["spec"]["holderIdentity"] == "" and not self.raced:  # type: ignore[index]
                self.raced = True
                current = kube.get_lease(namespace, "l")
                assert current is not None
                kube.replace_lease(namespace, current)  # the late renewal: bumps resourceVersion
            kube.replace_lease(namespace, body)

    a = LeaderElector(LateRenewal(), "dawg", "l", "a", 30.0, 20.0, 0.1)  # type: ignore[arg-type]
    assert a.try_acquire_or_renew()
    a.stop()
    assert a.release() is True
    assert k8s.get("dawg", "l", "leases")["spec"]["holderIdentity"] == ""


def _start_controller(
    k8s: KubernetesStandIn,
    grafana: GrafanaStandIn,
    example_wasm: dict[str, Path],
    tmp_path: Path,
    *extra: str,
) -> tuple[object, list[str]]:
    import os
    import subprocess
    import sys

    from tests.test_sync import TOKEN

    uids = populate(k8s, example_wasm, 2)
    kubeconfig = write_kubeconfig(k8s, tmp_path / "kubeconfig")
    env = {
        **os.environ,
        "GRAFANA_URL": grafana.url,
        "GRAFANA_TOKEN": TOKEN,
        "DAWG_CACHE_DIR": str(tmp_path / "c"),
    }
    env["PYTHONFAULTHANDLER"] = "1"
    root = str(example_wasm["simple"].parent)
    command = [sys.executable, "-m", "dawg_provider", "controller", "--kubeconfig", str(kubeconfig)]
    command += ["--allowed-file-root", root, "--lease-namespace", "dawg", *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: all(history(grafana, uid) == 1 for uid in uids), timeout=60)
    return process, uids


def test_every_thread_of_the_controller_process_blocks_the_stop_signals(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """No thread (wasmtime's, the epoch ticker, the Grafana pool, the
    metrics server) has SIGTERM/SIGINT unblocked, so the kernel leaves them pending for
    sigtimedwait (signal(7)). Read from /proc/PID/task/*/status SigBlk."""
    import signal
    import subprocess

    process, _ = _start_controller(k8s, grafana, example_wasm, tmp_path)
    assert isinstance(process, subprocess.Popen)
    try:
        tasks = list(Path(f"/proc/{process.pid}/task").iterdir())
        assert len(tasks) > 3
        for task in tasks:
            try:
                status = (task / "status").read_text()
            except FileNotFoundError:
                continue  # a thread that ended since the listing (a pool worker) takes no signal
            blocked = int(
                next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16
            )
            if task.name == str(process.pid):
                continue  # the main thread: inside sigtimedwait Linux unblocks the awaited set
            for number in (signal.SIGTERM, signal.SIGINT):
                assert blocked & (1 << (number - 1)), f"thread {task.name} takes {number.name}"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=40)
    assert process.returncode == 0, stderr


def test_a_second_ctrl_c_stops_a_draining_controller_at_once(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """A person at a terminal presses Ctrl-C while a Grafana call hangs, then again. kube's
    own convention (apiserver pkg/server/signal.go SetupSignalContext, used by
    controller-runtime's SetupSignalHandler): "If a second signal is caught, the program
    is terminated with exit code 1"; the drain (up to 20 s) must not swallow it."""
    import signal
    import subprocess

    from tests.grafana_standin_store import Fault, FaultKind

    process, _ = _start_controller(k8s, grafana, example_wasm, tmp_path)
    assert isinstance(process, subprocess.Popen)
    try:
        time.sleep(1.0)
        grafana.inject(Fault(FaultKind.LATENCY, times=10**6, delay=15.0))
        seen = grafana.count()
        k8s.set_spec("apps", "d1", simple(example_wasm, "hangs"))
        wait_for(lambda: grafana.count() > seen, timeout=10)  # the controller waits on Grafana
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        process.communicate(timeout=40)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert took < 3.0, f"the second Ctrl-C was ignored: the process ended {took:.1f} s later"
    assert process.returncode == 1


def test_a_sigterm_whose_drain_gives_up_does_not_exit_0(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """A Grafana call hangs past the 20 s grace (the client's read timeout is 30 s and its
    retries may take 120 s: GrafanaConnection.timeout, RetryPolicy.total): the process
    exits with 1 at the grace, not 0 as after a clean stop, and not later (CPython joins
    pool threads at exit, concurrent/futures/thread.py `_python_exit`); the Lease is left
    held, renewed until then, to expire."""
    import signal
    import subprocess

    from tests.grafana_standin_store import Fault, FaultKind

    process, _ = _start_controller(k8s, grafana, example_wasm, tmp_path)
    assert isinstance(process, subprocess.Popen)
    try:
        time.sleep(1.0)
        grafana.inject(Fault(FaultKind.LATENCY, times=10**6, delay=28.0))
        seen = grafana.count()
        k8s.set_spec("apps", "d1", simple(example_wasm, "hangs"))
        wait_for(lambda: grafana.count() > seen, timeout=10)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=40)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lease = k8s.get("dawg", "dawg-controller", "leases")["spec"]
    assert "still in flight" in stderr, stderr[-2000:]
    assert process.returncode == 1, "a shutdown that abandoned a write in flight exits 0"
    assert took < 25, took  # at the 20 s grace, not when the held request ends (28 s)
    assert lease["holderIdentity"]  # not released: it expires


def test_a_refused_start_gives_the_callers_signals_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_controller` blocks SIGTERM/SIGINT and swaps their handlers before `prepare()`:
    a start refused by `prepare` (no Grafana URL, a bad --owner, an unreadable kubeconfig)
    must give an in-process caller (a test runner, an embedding program) its Ctrl-C back."""
    import signal

    from dawg_provider.cli import build_parser
    from dawg_provider.cluster.command import run_controller
    from dawg_provider.errors import DawgError

    monkeypatch.delenv("GRAFANA_URL", raising=False)
    args = build_parser().parse_args(["controller"])
    handler = signal.getsignal(signal.SIGINT)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        with pytest.raises(DawgError, match="no Grafana"):
            run_controller(args, None)  # type: ignore[arg-type]
        assert signal.getsignal(signal.SIGINT) is handler
        assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_a_write_retried_during_shutdown_ends_under_the_lease_before_it_is_released(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """A write answered 429 is retried by the transport (transport.py `_request` /
    `_wait_or_give_up`): during the drain these attempts finish the write in flight, so
    they run while the Lease is still renewed, within the grace (`HealthState.wind_down`),
    and the Lease is released only after the last of them."""
    from tests.grafana_standin_store import Fault, FaultKind
    from tests.test_controller import LeaseSpy

    replicas = recording(0.0)
    populate(k8s, example_wasm, 1)
    spy = LeaseSpy(Kube(api_client(k8s)))
    a = controller(k8s, grafana, renderer, replicas["a"], True, "a", (30.0, 20.0, 0.1), spy)
    run(a)
    try:
        wait_for(lambda: a.passes >= 1, timeout=30)
        grafana.inject(
            Fault(FaultKind.RETRY_AFTER, method="PUT", path="dashboards", times=3, retry_after="1")
        )
        seen = grafana.count("PUT", "dashboards")
        k8s.set_spec("apps", "d0", simple(example_wasm, "retried"))
        wait_for(lambda: grafana.count("PUT", "dashboards") > seen)  # first attempt: 429
        started = time.monotonic()
        ended = a.shutdown(10)
        took = time.monotonic() - started
    finally:
        a.shutdown(10)
    assert ended and took < 10
    assert grafana.count("PUT", "dashboards") - seen == 4  # three 429s, then the write
    released = [at for holder, at in spy.written if holder == ""]
    assert len(released) == 1 and all(end <= released[0] for _, _, end in Recording.writes)


def test_a_shutdown_cuts_grafana_retries_to_the_grace(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """Retries that would go on for minutes (Retry-After 5 s, many times) stop at the grace:
    the connection's deadline is narrowed on shutdown (`HealthState.wind_down`), so the
    work ends and the Lease can be released instead of the process being killed."""
    from tests.grafana_standin_store import Fault, FaultKind

    replicas = recording(0.0)
    populate(k8s, example_wasm, 1)
    a = controller(k8s, grafana, renderer, replicas["a"], True, "a", (30.0, 20.0, 0.1))
    run(a)
    try:
        wait_for(lambda: a.passes >= 1, timeout=30)
        grafana.inject(
            Fault(FaultKind.RETRY_AFTER, method="PUT", path="dashboards", times=100, retry_after="5")
        )
        seen = grafana.count("PUT", "dashboards")
        k8s.set_spec("apps", "d0", simple(example_wasm, "never"))
        wait_for(lambda: grafana.count("PUT", "dashboards") > seen)
        started = time.monotonic()
        ended = a.shutdown(3)
        took = time.monotonic() - started
    finally:
        a.shutdown(10)
    assert ended and took < 3.5, took
    assert k8s.get("dawg", "dawg-all", "leases")["spec"]["holderIdentity"] == ""


def test_without_leader_election_shutdown_still_stops_starting_writes(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """`dawg controller` without --lease-namespace: `_run` sets `may_write` only when there
    is an elector, so on SIGTERM the batch/pass goes on writing every remaining CR until the
    grace runs out, and the process then exits in the middle of one."""
    replicas = recording(0.6)
    uids = populate(k8s, example_wasm, 12)
    a = controller(k8s, grafana, renderer, replicas["a"])
    run(a)
    try:
        wait_for(lambda: all(history(grafana, uid) == 1 for uid in uids), timeout=60)
        wait_for(lambda: a._pass is None and not a.queue, timeout=30)
        time.sleep(1.0)
        for i in range(12):
            k8s.set_spec("apps", f"d{i}", simple(example_wasm, f"again{i}"))
        wait_for(lambda: any(history(grafana, uid) == 2 for uid in uids))
        stopped_at = time.monotonic()
        ended = a.shutdown(30)
    finally:
        a.shutdown(30)
    assert ended
    # A write past its `may_write` check when the shutdown began may still start (the check
    # is before rendering's last steps); none may start a second later (12 x 0.6 s queued).
    late = [start for _, start, _ in Recording.writes if start > stopped_at + 1.0]
    assert not late, f"{len(late)} write(s) started after shutdown began"
    assert [history(grafana, uid) for uid in uids].count(1) >= 1  # the rest was left undone


def test_at_production_timings_the_next_replica_never_leads_while_the_old_one_still_writes(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """Two real `dawg controller` processes with the defaults: Lease 15/10/2 s, grace 20 s,
    Grafana read timeout 30 s. a's dashboard PUT is held 25 s by Grafana; a gets SIGTERM.
    b must not lead (nor write d1) while a still waits on its write: a renews until it
    exits at the grace (exit 1), and the Lease then expires. (Before: b led at ~+15 s and
    rewrote d1 while a's PUT was held; a died at +25 s with "Fatal Python error: Aborted".)"""
    import os
    import signal
    import subprocess
    import sys

    from tests.grafana_standin_store import Fault, FaultKind
    from tests.test_sync import TOKEN

    a, uids = _start_controller(k8s, grafana, example_wasm, tmp_path)
    assert isinstance(a, subprocess.Popen)
    env = {**os.environ, "GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    env["DAWG_CACHE_DIR"] = str(tmp_path / "cb")
    command = [
        sys.executable,
        "-m",
        "dawg_provider",
        "controller",
        "--kubeconfig",
        str(tmp_path / "kubeconfig"),
    ]
    command += ["--allowed-file-root", str(example_wasm["simple"].parent), "--lease-namespace", "dawg"]
    b = subprocess.Popen(
        [*command, "--identity", "b"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    b_led_at = b_wrote_at = None
    try:
        assert k8s.get("dawg", "dawg-controller", "leases")["spec"]["holderIdentity"] != "b"
        time.sleep(3.0)
        fault = grafana.inject(Fault(FaultKind.LATENCY, method="PUT", path="dashboards", times=1, delay=25.0))
        k8s.set_spec("apps", "d1", simple(example_wasm, "slow-write-by-a"))
        wait_for(lambda: fault.times == 0, timeout=20)  # a's PUT is in Grafana's hands
        a.send_signal(signal.SIGTERM)
        sigterm_at = time.monotonic()
        while a.poll() is None and time.monotonic() - sigterm_at < 40:
            now = time.monotonic() - sigterm_at
            if (
                b_led_at is None
                and k8s.get("dawg", "dawg-controller", "leases")["spec"]["holderIdentity"] == "b"
            ):
                b_led_at = now
            if b_wrote_at is None and history(grafana, uids[1]) >= 2:  # a's PUT is still held
                b_wrote_at = now
            time.sleep(0.05)
        a_exited_at = time.monotonic() - sigterm_at
        _, a_err = a.communicate(timeout=40)
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.terminate()
                p.communicate(timeout=40)
    assert b_led_at is None, (
        f"b led at +{b_led_at:.1f} s while a (alive until +{a_exited_at:.1f} s) still wrote"
    )
    assert b_wrote_at is None
    assert a.returncode == 1 and a_exited_at < 25, (a.returncode, a_exited_at, a_err[-1500:])


def test_prune_asks_may_write_before_the_folder_delete_too() -> None:
    """Review 2, N3: a SIGTERM arriving while a prune's dashboard DELETE is in flight: the
    folder DELETE after it (`delete_folder_if_owned_and_empty`: GETs, a settle wait on
    unified storage, a DELETE) is not started; the next pass finds the folder empty."""
    from types import SimpleNamespace

    from dawg_provider.cluster.prune import prune
    from dawg_provider.grafana import ownership
    from dawg_provider.grafana.models import LiveDashboard

    calls: list[str] = []
    stopping = threading.Event()
    board = ownership.mark({"uid": "gone", "title": "Gone"}, "team")
    live = LiveDashboard("gone", board, 1, "dawg-f", "", "", False)

    class Client:
        def managed_dashboards(self, owner: str) -> list[Any]:
            return [SimpleNamespace(uid="gone"), SimpleNamespace(uid="gone-too")]

        def get_dashboard(self, uid: str) -> Any:
            return live

        def delete_dashboard(self, uid: str) -> None:
            calls.append(f"delete dashboard {uid}")
            stopping.set()  # SIGTERM arrives while the dashboard DELETE is in flight

        def delete_folder_if_owned_and_empty(self, uid: str) -> bool:
            calls.append("delete folder")
            return True

    options = SimpleNamespace(dry_run=False, force_prune=True)
    result = prune(Client(), "team", set(), 5, options, lambda: not stopping.is_set())  # type: ignore[arg-type]
    assert result.pruned == ["gone"] and calls == ["delete dashboard gone"]
    assert any("pruning stopped before gone-too" in e for e in result.errors)


def test_sigterm_wakes_a_retry_waiting_out_a_long_retry_after_in_the_real_process(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """Review 2, N6: the `wind_down` wiring in `command.run_controller` is what ends a drain
    stuck in a retry wait. Grafana answers the PUT 429 with Retry-After 25 s; SIGTERM comes
    during that wait: the retry is given up at once, the Lease released, exit 0."""
    import signal
    import subprocess

    from tests.grafana_standin_store import Fault, FaultKind

    process, _ = _start_controller(k8s, grafana, example_wasm, tmp_path)
    assert isinstance(process, subprocess.Popen)
    try:
        time.sleep(1.0)
        grafana.inject(
            Fault(FaultKind.RETRY_AFTER, method="PUT", path="dashboards", times=100, retry_after="25")
        )
        seen = grafana.count("PUT", "dashboards")
        k8s.set_spec("apps", "d1", simple(example_wasm, "retry-later"))
        wait_for(lambda: grafana.count("PUT", "dashboards") > seen, timeout=20)
        time.sleep(0.5)  # the transport now waits out the 25 s
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=40)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lease = k8s.get("dawg", "dawg-controller", "leases")["spec"]
    assert process.returncode == 0 and took < 8, (process.returncode, took, stderr[-1500:])
    assert lease["holderIdentity"] == ""


def test_the_pass_deadline_does_not_end_the_controllers_grafana_access(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """Review 2, N4: the generated Deployment runs `dawg controller --deadline 840`; on the
    one connection of the process (HealthState starts the budget at the first request and
    never restarts it) every Grafana call failed 840 s after start, until a restart.
    Scaled: --deadline 6, an edit at +8 s must still reach Grafana."""
    import signal
    import subprocess

    process, uids = _start_controller(k8s, grafana, example_wasm, tmp_path, "--deadline", "6")
    assert isinstance(process, subprocess.Popen)
    try:
        time.sleep(8.0)  # longer than one pass's deadline
        k8s.set_spec("apps", "d0", simple(example_wasm, "later"))
        try:
            wait_for(lambda: history(grafana, uids[0]) == 2, timeout=20)
        except AssertionError:
            conditions = k8s.get("apps", "d0").get("status", {}).get("conditions", [])
            raise AssertionError(f"the edit never reached Grafana: {conditions}") from None
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=40)


def test_a_leader_whose_renewals_hang_exits_before_another_replica_may_lead(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    """Review 2, N1: the API server stops answering the leader's Lease updates (a node losing
    its network). `may_write` stops new writes at the renew deadline (10 s), but a Grafana
    request already waiting would go on; the process exits there instead (controller-runtime
    pkg/manager/internal.go `OnStoppedLeading`: "leader election lost"), before the Lease
    (15 s) lets another replica lead."""
    import subprocess

    process, _ = _start_controller(k8s, grafana, example_wasm, tmp_path)
    assert isinstance(process, subprocess.Popen)
    try:
        wait_for(lambda: bool(k8s.get("dawg", "dawg-controller", "leases")["spec"]["holderIdentity"]))
        k8s.stall("PUT", r"/apis/coordination\.k8s\.io/v1/namespaces/dawg/leases/dawg-controller")
        stalled_at = time.monotonic()
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - stalled_at
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, stderr[-1500:]
    assert "lost" in stderr and took < 14, (took, stderr[-1500:])  # renew deadline 10 s (+1 retry)


def test_a_lost_lease_is_reported_before_another_replica_writes(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """In process: a's Lease calls fail during a drain with a write in flight; `on_lost`
    (where `dawg controller` exits) fires before b's first write."""
    from dawg_provider.cluster.kube import KubeError

    class Breakable:
        def __init__(self, api: Any) -> None:
            self.api, self.broken = api, False

        def _check(self) -> None:
            if self.broken:
                raise KubeError("updating Lease dawg/dawg-all: no answer (test)", 0)

        def get_lease(self, namespace: str, name: str) -> Any:
            self._check()
            return self.api.get_lease(namespace, name)

        def create_lease(self, namespace: str, body: dict[str, Any]) -> None:
            self._check()
            self.api.create_lease(namespace, body)

        def replace_lease(self, namespace: str, body: dict[str, Any]) -> None:
            self._check()
            self.api.replace_lease(namespace, body)

    replicas = recording(3.0)
    uids = populate(k8s, example_wasm, 2)
    lease_api = Breakable(Kube(api_client(k8s)))
    a = controller(k8s, grafana, renderer, replicas["a"], True, "a", lease_api=lease_api)
    lost: list[float] = []
    assert a.elector is not None
    a.elector.on_lost = lambda: lost.append(time.monotonic())
    run(a)
    wait_for(lambda: a.elector is not None and a.elector.is_leader())
    b = controller(k8s, grafana, renderer, replicas["b"], True, "b")
    run(b)
    try:
        wait_for(lambda: a.passes >= 1, timeout=60)
        k8s.set_spec("apps", "d1", simple(example_wasm, "slow"))
        wait_for(lambda: history(grafana, uids[1]) == 2)  # stored; a waits 3 s for the answer
        lease_api.broken = True
        k8s.set_spec("apps", "d0", simple(example_wasm, "by-b"))
        wait_for(lambda: history(grafana, uids[0]) == 2, timeout=30)
    finally:
        a.stop()
        b.shutdown(10)
    assert lost, "on_lost never fired"
    first_b = min(start for who, start, _ in Recording.writes if who == "b")
    assert lost[0] < first_b


def test_run_until_stopped_says_130_after_one_ctrl_c_and_1_when_the_worker_ends_unasked() -> None:
    """`dawg_provider.cli.main` says 130 for an interrupt; the worker ending by itself is a failure."""
    import os
    import signal

    from dawg_provider.cluster.stopsignal import StopSignal, run_until_stopped

    stop = StopSignal()
    try:
        done = threading.Event()
        calls: list[float] = []

        def shutdown(grace: float) -> bool:
            calls.append(grace)
            done.set()
            return True

        threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

        def work() -> None:
            done.wait(10)

        assert run_until_stopped(stop, work, shutdown, 5.0) == 130
        assert calls == [5.0]
        assert run_until_stopped(stop, lambda: None, lambda grace: True, 5.0) == 1
    finally:
        stop.restore()


def test_release_starts_no_attempt_past_its_budget() -> None:
    """Review 2, N5: each attempt is a GET and a PUT (each bounded by the client's request
    timeout); a 409 just before the budget ends starts no new attempt, so release ends
    within budget + one attempt (what manifests.TERMINATION_GRACE counts on)."""
    from dawg_provider.cluster.kube import KubeError

    attempts: list[float] = []

    class Slow:
        def __init__(self) -> None:
            self.version = 1

        def get_lease(self, namespace: str, name: str) -> dict[str, Any]:
            attempts.append(time.monotonic())
            time.sleep(0.4)
            return {"metadata": {"resourceVersion": str(self.version)}, "spec": {"holderIdentity": "a"}}

        def create_lease(self, namespace: str, body: dict[str, Any]) -> None:
            raise AssertionError("not called")

        def replace_lease(self, namespace: str, body: dict[str, Any]) -> None:
            time.sleep(0.4)
            self.version += 1  # a late renewal landed meanwhile: 409, holder still "a"
            raise KubeError("replacing Lease: 409 Conflict", 409)

    a = LeaderElector(Slow(), "dawg", "l", "a")
    a.stop()
    started = time.monotonic()
    assert a.release(budget=1.0) is False
    took = time.monotonic() - started
    assert all(at - started < 1.0 for at in attempts) and len(attempts) >= 2
    assert took < 1.0 + 0.8 + 0.3, took


class SlowLeases:
    """A Lease API every call of which answers after `latency` seconds (a loaded API server,
    each call well inside the Kube client's 5 s timeout)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.lock = threading.Lock()

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        time.sleep(self.latency)
        with self.lock:
            return None if self.lease is None else {**self.lease, "spec": dict(self.lease["spec"])}

    def create_lease(self, namespace: str, body: dict[str, Any]) -> None:
        time.sleep(self.latency)
        with self.lock:
            self.version += 1
            self.lease = {
                "metadata": {**body["metadata"], "resourceVersion": str(self.version)},
                "spec": body["spec"],
            }

    def replace_lease(self, namespace: str, body: dict[str, Any]) -> None:
        time.sleep(self.latency)
        with self.lock:
            self.version += 1
            self.lease = {
                "metadata": {**body["metadata"], "resourceVersion": str(self.version)},
                "spec": body["spec"],
            }


def test_a_slow_but_answering_api_server_does_not_make_the_leader_exit() -> None:
    """Review 3, R3-1. Scaled 1:10 from the defaults (15/10/2 s): each Lease call takes
    0.3 s (3 s at full scale), so a renewal round (GET + PUT) takes 0.6 s, well inside the
    renew deadline (1 s). client-go's `renew` gives every round its own RenewDeadline
    (context.WithTimeout per wait.Until iteration), so it keeps leading; since a lost Lease
    ends the process, `on_lost` must not fire here (it did: validity was counted from before
    the GET and the next round waited a whole retry period after the last ended)."""
    api = SlowLeases(0.3)
    lost: list[float] = []
    elector = LeaderElector(
        api, "dawg", "lease", "a", lease_duration=1.5, renew_deadline=1.0, retry_period=0.2
    )
    elector.on_lost = lambda: lost.append(time.monotonic())
    thread = threading.Thread(target=elector.run, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 5
        while time.monotonic() < end and not elector.is_leader():
            time.sleep(0.02)
        assert elector.is_leader()
        time.sleep(4.0)
    finally:
        elector.stop()
        thread.join(3)
    assert not lost, "a leader whose every renewal succeeded in 0.6 s of a 1 s deadline was told it lost"


def test_a_release_whose_put_hangs_sends_it_once_within_its_bound(
    k8s: KubernetesStandIn, tmp_path: Path
) -> None:
    """Review 3, R3-5: manifests.TERMINATION_GRACE counts each Lease call as one attempt of
    at most the request timeout. The kubernetes client passes `retries` to urllib3 only when
    the Configuration has one (kubernetes/client/rest.py `RESTClientObject.__init__`), and
    urllib3's `Retry.DEFAULT` resends even a PUT (urllib3/util/retry.py
    `DEFAULT_ALLOWED_METHODS`): the controller's client (`sources.api_client(retries=0)`)
    sends it once. Scaled: request timeout 0.5 s, budget 0.5 s."""

    from dawg_provider.cluster.sources import api_client as product_client

    kubeconfig = write_kubeconfig(k8s, tmp_path / "kubeconfig")
    kube = Kube(product_client(str(kubeconfig), retries=0), request_timeout=0.5)
    elector = LeaderElector(kube, "dawg", "dawg-controller", "a")
    assert elector.try_acquire_or_renew()
    elector.stop()
    k8s.stall("PUT", r"/apis/coordination\.k8s\.io/v1/namespaces/dawg/leases/dawg-controller")
    started = time.monotonic()
    released = elector.release(budget=0.5)
    took = time.monotonic() - started
    assert not released
    assert k8s.stalled == 1 and took <= 1.6, f"release took {took:.1f} s and sent the PUT {k8s.stalled} times"


def test_the_controller_deletes_the_folder_its_last_pruned_dashboard_leaves_empty(
    k8s: KubernetesStandIn, grafana: GrafanaStandIn, renderer: Renderer, example_wasm: dict[str, Path]
) -> None:
    """Review 3, R3-2. One connection for the process's life (as run_controller builds it):
    CR d0 is synced, later deleted; the full pass prunes its dashboard and must delete the
    emptied folder too. It kept it for good: the connection's HealthState still said the
    folder was "written this pass" (an earlier pass), and prune never revisits a folder
    once its dashboards are gone. Each full pass now begins its own record (`begin_pass`)."""
    from tests.test_controller import controller

    uids = populate(k8s, example_wasm, 1)
    k8s.add("ops", "keep", simple(example_wasm, "kept"))  # the listing is not empty after the delete
    c = controller(k8s, grafana, renderer)
    run(c)
    try:
        wait_for(lambda: history(grafana, uids[0]) == 1 and c.passes >= 1)
        folder = grafana.orgs[1].dashboards[uids[0]].folder_uid
        assert folder in grafana.orgs[1].folders
        passes = c.passes
        k8s.delete("apps", "d0")
        wait_for(lambda: uids[0] not in grafana.orgs[1].dashboards and c.passes > passes, timeout=30)
        time.sleep(3.0)  # FOLDER_SETTLE on unified storage
    finally:
        c.shutdown(5)
    assert folder not in grafana.orgs[1].folders, "the emptied DAWG folder is kept while the replica lives"
