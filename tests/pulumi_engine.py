"""A stand-in for the Pulumi engine: drives the SDK's real dynamic-provider server over gRPC.

The Pulumi CLI cannot be installed here. This starts `python -u -m pulumi.dynamic`
exactly as the engine does (program directory as cwd, port on the first stdout
line) and speaks its protocol: Configure first, then Check (old inputs), Diff (old
*outputs*), Create, Update, Read, Delete, with `google.protobuf.Struct` properties.
`Stack` keeps per-resource state the way the engine's snapshot does, so tests can
run `preview` and `up` sequences. What it cannot reproduce (the engine's own diff
rendering, annotateSecrets) is asserted as provider decisions instead.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
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

    def close(self) -> str:
        self.channel.close()
        self.process.terminate()
        _, err = self.process.communicate(timeout=10)
        return err.decode(errors="replace")

    def configure(self, config: dict[str, str]) -> None:
        self.stub.Configure(provider_pb2.ConfigureRequest(args=to_struct(config), acceptSecrets=False))

    def _with_provider(self, props: dict[str, Any]) -> dict[str, Any]:
        return {**props, "__provider": self.provider}

    def check(
        self, urn: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        response = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn, olds=to_struct(olds), news=to_struct(self._with_provider(news))
            )
        )
        return from_struct(response.inputs), [(f.property, f.reason) for f in response.failures]

    def diff(self, id_: str, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return self.stub.Diff(
            provider_pb2.DiffRequest(id=id_, urn=urn, olds=to_struct(olds), news=to_struct(news))
        )

    def create(self, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self.stub.Create(provider_pb2.CreateRequest(urn=urn, properties=to_struct(props)))
        return response.id, from_struct(response.properties)

    def update(self, id_: str, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        response = self.stub.Update(
            provider_pb2.UpdateRequest(id=id_, urn=urn, olds=to_struct(olds), news=to_struct(news))
        )
        return from_struct(response.properties)

    def read(self, id_: str, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        response = self.stub.Read(provider_pb2.ReadRequest(id=id_, urn=urn, properties=to_struct(props)))
        return response.id, from_struct(response.properties), from_struct(response.inputs)

    def delete(self, id_: str, urn: str, props: dict[str, Any]) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(id=id_, urn=urn, properties=to_struct(props)))


@dataclass
class State:
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass
class Step:
    """What one resource did in a preview or an update."""

    op: str  # create | update | same | replace | failed
    failures: list[tuple[str, str]] = field(default_factory=list)
    diff: Any = None


class Stack:
    """Per-resource snapshot, updated as the engine would after each step."""

    def __init__(self, provider: ProviderProcess) -> None:
        self.provider = provider
        self.resources: dict[str, State] = {}

    def urn(self, name: str) -> str:
        return f"urn:pulumi:dev::dawg::{TYPE}::{name}"

    def preview(self, name: str, news: dict[str, Any]) -> Step:
        return self._step(name, news, apply=False)

    def up(self, name: str, news: dict[str, Any]) -> Step:
        return self._step(name, news, apply=True)

    def _step(self, name: str, news: dict[str, Any], apply: bool) -> Step:
        urn = self.urn(name)
        state = self.resources.get(name)
        checked, failures = self.provider.check(urn, state.inputs if state else {}, news)
        if failures:
            return Step("failed", failures)
        if state is None:
            if apply:
                id_, outs = self.provider.create(urn, checked)
                self.resources[name] = State(id_, checked, outs)
            return Step("create")
        diff = self.provider.diff(state.id, urn, state.outputs, checked)
        if diff.replaces:
            if apply:
                id_, outs = self.provider.create(urn, checked)
                self.provider.delete(state.id, urn, state.outputs)
                self.resources[name] = State(id_, checked, outs)
            return Step("replace", diff=diff)
        changed = diff.changes == provider_pb2.DiffResponse.DIFF_SOME or (
            diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN
            and _inputs(state.inputs) != _inputs(checked)
        )
        if not changed:
            if apply:
                state.inputs = checked
            return Step("same", diff=diff)
        if apply:
            outs = self.provider.update(state.id, urn, state.outputs, checked)
            self.resources[name] = State(state.id, checked, outs)
        return Step("update", diff=diff)

    def refresh(self, name: str) -> bool:
        """`pulumi refresh`: Read; False when the resource is gone."""
        state = self.resources[name]
        id_, outs, inputs = self.provider.read(state.id, self.urn(name), state.outputs)
        if not id_:
            del self.resources[name]
            return False
        self.resources[name] = State(id_, inputs or state.inputs, outs)
        return True

    def destroy(self, name: str) -> None:
        state = self.resources.pop(name)
        self.provider.delete(state.id, self.urn(name), state.outputs)


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "__provider"}
