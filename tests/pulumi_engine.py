"""A stand-in for the Pulumi engine: drives the SDK's real dynamic-provider server over gRPC.

The Pulumi CLI cannot be installed here. This starts `python -u -m pulumi.dynamic`
as the engine does (program directory as cwd, port on the first stdout line) and
calls it in the engine's order, read in pulumi/pulumi's source (each behaviour
below names the file and function it comes from):

- Configure first, once per provider process, with every stack config value: as
  `variables` keyed `<pkg>:config:<key>` (here `pulumi-python:config:dawg:grafanaUrl`),
  plaintext, non-strings JSON-encoded, and as `args` with secrets wrapped in the secret
  signature (pkg/resource/plugin/provider_plugin.go `(*provider).Configure`:
  `variables[string(pkg)+":config:"+string(k)] = mapped` after `removeSecrets`;
  `MarshalProperties(req.Inputs, MarshalOptions{KeepSecrets: true})`). The Python SDK
  reads `args` only (sdk/python/lib/pulumi/dynamic/__main__.py `Configure`).
- Check with the old *inputs*, or with no olds for a new resource and for one
  targeted by `--replace` (pkg/resource/deploy/step_generator.go `generateSteps`:
  `if recreating || wasExternal || sg.isTargetedReplace(urn) || old == nil` ->
  Check without Olds).
- Diff with the old outputs and the old inputs (step_generator.go `diffResource` ->
  `prov.Diff(urn, id, oldInputs, oldOutputs, newInputs, ...)`). DIFF_UNKNOWN: the
  engine diffs old vs new inputs itself, and no input change means `same` even if
  the provider listed `replaces` (`diffResource`: `tmp := oldInputs.Diff(new)`,
  `DiffNone` when `!tmp.AnyChanges()`).
- Replacement (step_generator.go `continueStepsFromDiff`): Check again with no olds
  ("we need to recompute the default values"; not for a targeted replace), then
  create-before-delete with the delete "generated later on, after all
  creates/updates finish", unless `diff.DeleteBeforeReplace` (or the resource
  option) asks to delete first.
- `pulumi up --replace URN`: replaced without calling Diff (shared/pulumi-dynamic.md,
  read in step_generator.go: a targeted replace does not consult the provider).
- Preview: Check and Diff only; Create/Update never reach the provider: the SDK's
  dynamic server answers `supportsPreview=False` (sdk/python/lib/pulumi/dynamic/
  __main__.py `Configure`), the engine records it
  (sdk/go/common/resource/plugin/provider_plugin.go `Configure`:
  `p.supportsPreview = resp.GetSupportsPreview()`) and in a preview answers Create and
  Update itself for such a provider.
- refresh and destroy configure the provider from the config stored in the state's
  default-provider resource, not the current stack file (providers/registry.go,
  shared/pulumi-dynamic.md "The engine's call order").
- Import: Read with the id only and no properties, so no `__provider`
  (pulumi/pulumi#16175): the SDK server cannot find the provider and fails.
- Create/Update/Delete of independent resources run concurrently, up to 4 x CPUs at
  once (the engine's default `--parallel`, shared/pulumi-dynamic.md), against the
  provider's gRPC thread pool. The deferred deletes (replaced and pruned resources)
  run after every other step, themselves in parallel (pkg/resource/deploy/
  deployment_executor.go `performPostSteps`: `ex.stepExec.ExecuteParallel(steps)` per
  antichain; these resources have no dependents, so one antichain).
- A failed step cancels the deployment: `Execute` reaches `performPostSteps` only when
  the step generator finished without error, so no deferred or pruned delete runs
  after a failure (deployment_executor.go `Execute`: a step error cancels `ctx`;
  `--continue-on-error` is not modelled).
- Delete-before-replace (the provider's `deleteBeforeReplace` or the resource option)
  deletes first and keeps the old state marked `PendingReplacement` until the Create
  succeeds; a later run replaces a pending resource without deleting it again
  (step_generator.go `continueStepsFromDiff`: `NewDeleteReplacementStep(..., true)`,
  `if diff.Changes == plugin.DiffSome || old.PendingReplacement`, and
  `if !old.PendingReplacement` before adding the delete).

What it cannot reproduce (the engine's text rendering, annotateSecrets) is asserted
as provider decisions instead.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from dawg_provider.pulumi.provider import WasmDashboardProvider

TYPE = "pulumi-python:dynamic/dawg:WasmDashboard"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
"""sdk/go/common/resource/sig.go `Secret` signature, as MarshalProperties wraps a secret."""
PARALLEL = (os.cpu_count() or 1) * 4


def serialized_provider() -> str:
    """The `__provider` input, built exactly as `pulumi.dynamic.Resource.__init__` does."""
    blob, _contains_secrets = _serialize(True, serialize_provider, WasmDashboardProvider())
    return str(blob)


def to_struct(props: dict[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def from_struct(struct: Any) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, True))


class ProviderProcess:
    """The SDK's provider server in a subprocess, and a gRPC stub to it."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            cwd=cwd,
            env={**os.environ, "PULUMI_PROJECT": "dawg", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().decode().strip())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.provider = serialized_provider()
        self.config: dict[str, str] | None = None
        self.secret_keys: frozenset[str] = frozenset()
        self.calls: list[tuple[str, str]] = []
        self._calls_lock = threading.Lock()

    def _record(self, method: str, subject: str) -> None:
        with self._calls_lock:
            self.calls.append((method, subject))

    def close(self) -> str:
        self.channel.close()
        self.process.terminate()
        _, err = self.process.communicate(timeout=10)
        return err.decode(errors="replace")

    def configure(self, config: dict[str, str], secret_keys: frozenset[str] = frozenset()) -> None:
        """Configure, once: `variables` in plaintext, `args` with secrets wrapped (provider_plugin.go)."""
        assert self.config is None, "the engine configures a provider process once"
        args = to_struct(
            {
                key: {**SECRET_SIG, "value": value} if key in secret_keys else value
                for key, value in config.items()
            }
        )
        variables = {f"pulumi-python:config:{key}": value for key, value in config.items()}
        self.stub.Configure(
            provider_pb2.ConfigureRequest(
                variables=variables, args=args, acceptSecrets=True, acceptResources=True
            )
        )
        self.config, self.secret_keys = dict(config), secret_keys
        self._record("Configure", "")

    def _with_provider(self, props: dict[str, Any]) -> dict[str, Any]:
        return {**props, "__provider": self.provider}

    def check(
        self, urn: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self._record("Check", urn)
        response = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn, olds=to_struct(olds), news=to_struct(self._with_provider(news))
            )
        )
        return from_struct(response.inputs), [(f.property, f.reason) for f in response.failures]

    def diff(
        self,
        id_: str,
        urn: str,
        olds: dict[str, Any],
        news: dict[str, Any],
        old_inputs: dict[str, Any] | None = None,
    ) -> Any:
        self._record("Diff", urn)
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn,
                olds=to_struct(olds),
                news=to_struct(news),
                old_inputs=to_struct(old_inputs or {}),
            )
        )

    def create(self, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._record("Create", urn)
        response = self.stub.Create(provider_pb2.CreateRequest(urn=urn, properties=to_struct(props)))
        return response.id, from_struct(response.properties)

    def update(self, id_: str, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self._record("Update", urn)
        response = self.stub.Update(
            provider_pb2.UpdateRequest(id=id_, urn=urn, olds=to_struct(olds), news=to_struct(news))
        )
        return from_struct(response.properties)

    def read(self, id_: str, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        self._record("Read", urn)
        response = self.stub.Read(provider_pb2.ReadRequest(id=id_, urn=urn, properties=to_struct(props)))
        return response.id, from_struct(response.properties), from_struct(response.inputs)

    def delete(self, id_: str, urn: str, props: dict[str, Any]) -> None:
        self._record("Delete", urn)
        self.stub.Delete(provider_pb2.DeleteRequest(id=id_, urn=urn, properties=to_struct(props)))


@dataclass
class State:
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    pending_replacement: bool = False
    """Deleted by a delete-before-replace whose Create has not succeeded yet."""


@dataclass
class Step:
    """What one resource did in a preview or an update."""

    op: str  # create | update | same | replace | failed
    failures: list[tuple[str, str]] = field(default_factory=list)
    diff: Any = None
    delete_before_replace: bool = False


@dataclass
class _Planned:
    name: str
    urn: str
    step: Step
    checked: dict[str, Any] = field(default_factory=dict)
    old: State | None = None


class Stack:
    """A stack's snapshot, updated as the engine does after each step.

    `config` is the stack config stored with the default provider at the last `up`;
    refresh and destroy use it, not the provider's current configuration.
    """

    def __init__(self, provider: ProviderProcess) -> None:
        self.provider = provider
        self.resources: dict[str, State] = {}
        self.config: dict[str, str] | None = None
        self.secret_keys: frozenset[str] = frozenset()
        self._spawned: list[ProviderProcess] = []
        self.pending_deletes: list[tuple[str, State]] = []
        """Replaced resources whose delete a failed run never reached (kept in state)."""

    def urn(self, name: str) -> str:
        return f"urn:pulumi:dev::dawg::{TYPE}::{name}"

    # -- one resource at a time (most tests) --------------------------------------------

    def preview(self, name: str, news: dict[str, Any]) -> Step:
        return self.deploy({name: news}, apply=False, prune=False)[name]

    def up(self, name: str, news: dict[str, Any], replace: bool = False) -> Step:
        return self.deploy({name: news}, replace={name} if replace else set(), prune=False)[name]

    # -- a whole deployment --------------------------------------------------------------

    def deploy(
        self,
        goals: dict[str, dict[str, Any]],
        apply: bool = True,
        replace: set[str] | None = None,
        prune: bool = True,
        delete_before_replace: set[str] | None = None,
    ) -> dict[str, Step]:
        """One `pulumi preview` (apply=False) or `pulumi up` of `goals` (name -> inputs).

        Steps are generated in registration order (Check, then Diff unless the resource
        is targeted by `--replace`), then executed in parallel; deferred deletes of
        create-before-delete replacements, and deletes of resources no longer in the
        program (prune), run last and in parallel, and only when no step failed. Failed
        steps raise after the others ran. `delete_before_replace` names resources with
        that resource option.
        """
        replace = replace or set()
        planned = [self._plan(name, news, name in replace) for name, news in goals.items()]
        for item in planned:
            if item.name in (delete_before_replace or set()) and item.step.op == "replace":
                item.step.delete_before_replace = True
        steps = {p.name: p.step for p in planned}
        if not apply:
            return steps
        deferred: list[tuple[str, State]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def run(item: _Planned) -> None:
            try:
                deferred_delete = self._execute(item)
                if deferred_delete is not None:
                    with lock:
                        deferred.append(deferred_delete)
            except BaseException as error:  # the engine reports every failed step
                with lock:
                    errors.append(error)

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            list(pool.map(run, [p for p in planned if p.step.op in ("create", "update", "replace")]))
        self.config, self.secret_keys = self.provider.config, self.provider.secret_keys
        if errors:  # cancelled: no performPostSteps, the replaced resources stay in state
            with lock:
                for name, old in deferred:
                    self.pending_deletes.append((name, old))
            raise errors[0]
        if prune:
            deferred += [
                (name, self.resources.pop(name)) for name in list(self.resources) if name not in goals
            ]
        run_parallel(
            [
                lambda name=name, old=old: self.provider.delete(old.id, self.urn(name), old.outputs)  # type: ignore[misc]
                for name, old in deferred
            ]
        )
        return steps

    def _plan(self, name: str, news: dict[str, Any], targeted_replace: bool) -> _Planned:
        urn = self.urn(name)
        state = self.resources.get(name)
        olds = state.inputs if state is not None and not targeted_replace else {}
        checked, failures = self.provider.check(urn, olds, news)
        if failures:
            return _Planned(name, urn, Step("failed", failures))
        if state is None:
            return _Planned(name, urn, Step("create"), checked)
        if targeted_replace:  # `--replace`: no Diff; create-before-delete
            return _Planned(name, urn, Step("replace"), checked, state)
        diff = self.provider.diff(state.id, urn, state.outputs, checked, state.inputs)
        if state.pending_replacement:  # already deleted: replaced, never deleted again
            return _Planned(name, urn, Step("replace", [], diff, True), checked, state)
        unknown = diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN
        inputs_differ = _inputs(state.inputs) != _inputs(checked)
        changed = diff.changes == provider_pb2.DiffResponse.DIFF_SOME or (unknown and inputs_differ)
        if diff.replaces and changed:
            checked, failures = self.provider.check(urn, {}, news)  # re-checked with no olds
            if failures:
                return _Planned(name, urn, Step("failed", failures, diff))
            step = Step("replace", [], diff, diff.deleteBeforeReplace)
            return _Planned(name, urn, step, checked, state)
        if not changed:
            state.inputs = checked  # a `same` step records the new inputs
            return _Planned(name, urn, Step("same", diff=diff))
        return _Planned(name, urn, Step("update", diff=diff), checked, state)

    def _execute(self, item: _Planned) -> tuple[str, State] | None:
        """Run one step; a create-before-delete replacement returns its deferred delete."""
        op, urn, old = item.step.op, item.urn, item.old
        if op == "create":
            id_, outs = self.provider.create(urn, item.checked)
            self.resources[item.name] = State(id_, item.checked, outs)
            return None
        assert old is not None
        if op == "update":
            outs = self.provider.update(old.id, urn, old.outputs, item.checked)
            self.resources[item.name] = State(old.id, item.checked, outs)
            return None
        if item.step.delete_before_replace:
            if not old.pending_replacement:
                self.provider.delete(old.id, urn, old.outputs)
                old.pending_replacement = True  # kept in state until the Create succeeds
            id_, outs = self.provider.create(urn, item.checked)
            self.resources[item.name] = State(id_, item.checked, outs)
            return None
        id_, outs = self.provider.create(urn, item.checked)
        self.resources[item.name] = State(id_, item.checked, outs)
        return item.name, old

    # -- refresh, destroy, import: configured from the stored config ---------------------

    def _stored_provider(self) -> ProviderProcess:
        """A provider configured from the config stored in state (registry.go `NewRegistry`)."""
        if self.config is None or self.config == self.provider.config:
            return self.provider
        process = ProviderProcess(self.provider.cwd, self.provider.env)
        process.configure(self.config, self.secret_keys)
        self._spawned.append(process)
        return process

    def refresh(self, name: str) -> bool:
        """`pulumi refresh`: Read; False when the resource is gone."""
        state = self.resources[name]
        id_, outs, inputs = self._stored_provider().read(state.id, self.urn(name), state.outputs)
        if not id_:
            del self.resources[name]
            return False
        self.resources[name] = State(id_, inputs or state.inputs, outs)
        return True

    def destroy(self, name: str) -> None:
        state = self.resources.pop(name)
        self._stored_provider().delete(state.id, self.urn(name), state.outputs)

    def import_(self, name: str, id_: str) -> None:
        """`pulumi import` / `import_=`: Read with the id only (step.go `ImportStep.Apply`)."""
        self.provider.read(id_, self.urn(name), {})

    def close(self) -> None:
        for process in self._spawned:
            process.close()


def run_parallel(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Run callables as the step executor does: up to 4 x CPUs at once."""
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(lambda task: task(), tasks))


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "__provider"}
