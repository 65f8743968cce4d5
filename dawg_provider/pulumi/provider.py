"""`WasmDashboard`: the Pulumi dynamic resource, and its provider. A thin adapter.

Everything it decides comes from the core (spec, render, planner, apply); this
module only maps Pulumi's calls onto it. What `../shared/pulumi-dynamic.md` warns
about, and what this does about it:

- The provider instance is pickled into every resource's state: it lives in this
  importable module (pickled by reference, ~100 bytes, the same blob across runs)
  and holds nothing. The engine, clients, caches and the Grafana connection from
  stack config (`dawg:grafanaUrl`, `dawg:grafanaToken`, `dawg:grafanaOrgId`, read in
  `configure()`) live in module-level process state, never on the instance.
- `check()` runs the generator and puts the canonical dashboard into the checked
  inputs as a structured value, so `pulumi preview --diff` shows
  `dashboard.panels[3].targets[0].expr` changes. It touches no Grafana.
- Numbers arrive as floats and nulls vanish on the wire: create/update never send
  that copy. They fetch the generator by the digest check recorded (cached: no
  network), run it again, and send its exact output, after checking it still hashes
  to what the preview showed.
- `diff()` returns `changes=None` so the engine diffs inputs path by path,
  `changes=False` when only normalization differs, and replaces on a new uid or a
  new Grafana instance or org.
- Errors are raised with messages that stand alone; bad inputs are `CheckFailure`s
  naming the field.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from ..errors import DawgError, GeneratorFailed, InvalidLimit, scrub
from ..grafana import GrafanaClient, GrafanaConnection, ownership
from ..grafana.apply import Applied, apply
from ..grafana.canonical import canonical, content_hash
from ..grafana.planner import Action, Desired, Policy, Recorded
from ..render import Renderer, Rendering
from ..spec import DashboardSpec, parse_folder, parse_spec

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
INPUT_KEYS = (
    "generator",
    "config",
    "folder",
    "uid",
    "owner",
    "adopt",
    "drift",
    "message",
    "timeout",
    "memory",
    "grafana",
)
COMPUTED_KEYS = ("generatorDigest", "generatorRef", "dashboard", "dashboardSha256")
CONFIG_URL, CONFIG_TOKEN, CONFIG_ORG = "dawg:grafanaUrl", "dawg:grafanaToken", "dawg:grafanaOrgId"


class ProviderError(DawgError):
    """A WasmDashboard operation failed; the message says which dashboard and why."""

    def __init__(self, message: str) -> None:
        # The engine shows and logs this text: no token, even one Grafana echoed back.
        super().__init__(scrub(message))


@dataclass
class _Process:
    """What the provider process keeps between calls (never pickled)."""

    default_grafana: dict[str, Any] | None = None
    renderer: Renderer | None = None
    clients: dict[tuple[str, str | None, int | None], GrafanaClient] | None = None


_process = _Process()
_lock = threading.Lock()


def _renderer() -> Renderer:
    with _lock:
        if _process.renderer is None:
            _process.renderer = Renderer()
        return _process.renderer


def _client(props: dict[str, Any]) -> GrafanaClient:
    settings = _grafana_settings(props)
    url, token, org = settings.get("url"), settings.get("token"), settings.get("orgId")
    if not url:
        raise ProviderError(
            "no Grafana connection: set `pulumi config set dawg:grafanaUrl https://grafana.example.com` and "
            "`pulumi config set --secret dawg:grafanaToken ...`, or give the resource a `grafana` argument"
        )
    org_id = int(org) if org not in (None, "") else None
    key = (str(url), str(token) if token else None, org_id)
    with _lock:
        clients = _process.clients if _process.clients is not None else {}
        _process.clients = clients
        if key not in clients:
            clients[key] = GrafanaClient(GrafanaConnection(str(url), token=key[1], org_id=org_id))
        return clients[key]


def _grafana_settings(props: dict[str, Any]) -> dict[str, Any]:
    own = props.get("grafana")
    if isinstance(own, dict) and own.get("url"):
        return own
    return _process.default_grafana or {}


def _spec(props: dict[str, Any]) -> DashboardSpec:
    spec, errors = parse_spec(props)
    if spec is None:
        raise ProviderError("; ".join(str(error) for error in errors))
    return spec


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value == UNKNOWN or type(value).__name__ == "Unknown"


class WasmDashboardProvider(ResourceProvider):
    """The dynamic provider; stateless: everything it needs arrives with each call."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        config = req.config
        url = config.get(CONFIG_URL)
        _process.default_grafana = (
            {
                "url": url,
                "token": config.get(CONFIG_TOKEN),
                "orgId": config.get(CONFIG_ORG),
            }
            if url
            else None
        )

    # -- check / diff: previews; no Grafana ---------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        olds = _olds or {}
        inputs = dict(news)
        spec_input = {k: v for k, v in news.items() if k in INPUT_KEYS and not _has_unknown(v)}
        spec, errors = parse_spec(spec_input)
        failures = [CheckFailure(error.field, error.reason) for error in errors]
        uid = news.get("uid")
        if not isinstance(uid, str) and not _has_unknown(uid):
            failures.append(CheckFailure("uid", "required (WasmDashboard derives it from the resource name)"))
        owner = news.get("owner")
        if not isinstance(owner, str) and not _has_unknown(owner):
            failures.append(
                CheckFailure("owner", "required (WasmDashboard derives it from project and stack)")
            )
        if failures:
            return CheckResult(inputs, failures)
        if spec is None or any(
            _has_unknown(news.get(k)) for k in ("generator", "config", "uid", "owner", "timeout", "memory")
        ):
            inputs.update({key: UNKNOWN for key in COMPUTED_KEYS})  # preview: computed later
            return CheckResult(inputs, [])
        same_generator = olds.get("generator") == news.get("generator")
        known = olds.get("generatorDigest") if same_generator else None
        try:
            rendering = _renderer().render(
                spec, str(uid), str(owner), known if isinstance(known, str) else None
            )
        except GeneratorFailed as error:
            field = "config" if error.exit_code == 1 else "generator"
            return CheckResult(inputs, [CheckFailure(field, scrub(str(error)))])
        except InvalidLimit as error:
            return CheckResult(inputs, [CheckFailure("timeout", scrub(str(error)))])
        except DawgError as error:
            return CheckResult(inputs, [CheckFailure("generator", scrub(str(error)))])
        for warning in rendering.warnings:
            pulumi.log.warn(scrub(warning))
        inputs.update(
            generatorDigest=rendering.generator_digest,
            generatorRef=rendering.generator_ref,
            dashboard=canonical(rendering.dashboard),
            dashboardSha256=rendering.dashboard_hash,
        )
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = []
        if olds.get("uid") != news.get("uid"):
            replaces.append("uid")
        old_grafana, new_grafana = olds.get("grafana") or {}, news.get("grafana") or {}
        if (old_grafana.get("url"), old_grafana.get("orgId")) != (
            new_grafana.get("url"),
            new_grafana.get("orgId"),
        ):
            replaces.append("grafana")
        if replaces:
            return DiffResult(changes=True, replaces=replaces, delete_before_replace=False)
        meaningful = (
            "dashboardSha256",
            "folder",
            "adopt",
            "drift",
            "message",
            "timeout",
            "memory",
            "grafana",
            "owner",
        )
        if all(olds.get(key) == news.get(key) for key in meaningful) and not _has_unknown(
            news.get("dashboardSha256")
        ):
            return DiffResult(
                changes=False
            )  # at most normalization differs (config text, reference spelling)
        return DiffResult(changes=None)  # let the engine diff inputs path by path

    # -- create / update / delete / read: Grafana ----------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        try:
            outs = self._apply(props, None)
        except DawgError as error:
            raise ProviderError(str(error)) from None
        return CreateResult(outs["uid"], outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        version = olds.get("version")  # a float after the wire
        applied = int(version) if isinstance(version, (int, float)) else None
        recorded = Recorded(applied, olds.get("dashboardSha256"))
        try:
            outs = self._apply(news, recorded)
        except DawgError as error:
            raise ProviderError(str(error)) from None
        return UpdateResult(outs)

    def _apply(self, props: dict[str, Any], recorded: Recorded | None) -> dict[str, Any]:
        spec = _spec(props)
        uid, owner = str(props["uid"]), str(props["owner"])
        pinned = dataclasses.replace(spec, generator=str(props.get("generatorRef") or spec.generator))
        rendering: Rendering = _renderer().render(pinned, uid, owner, props.get("generatorDigest"))
        if props.get("dashboardSha256") not in (None, rendering.dashboard_hash):
            raise ProviderError(
                f"dashboard {uid}: the generator produced a different dashboard than during the preview "
                f"({props['dashboardSha256'][:19]} vs {rendering.dashboard_hash[:19]}); it is not "
                "deterministic, so nothing was written. Fix the generator or run `pulumi up` again"
            )
        client = _client(props)
        folder_uid_text, path = parse_folder(spec.folder)
        folder_uid = client.resolve_folder(folder_uid_text, path)
        desired = Desired(uid, rendering.dashboard, folder_uid)
        policy = Policy(owner=owner, adopt=spec.adopt, drift=spec.drift)
        applied: Applied = apply(client, desired, recorded, policy, spec.message)
        for warning in applied.plan.warnings:
            pulumi.log.warn(scrub(warning))
        if applied.plan.action is Action.REFUSE:
            raise ProviderError(f"{applied.plan.reason}. Nothing was written to Grafana")
        if applied.plan.action is Action.DRIFTED:
            raise ProviderError(applied.plan.reason)
        if applied.saved is not None:
            version, url, folder = applied.saved.version, applied.saved.url, applied.saved.folder_uid
        else:
            assert applied.live is not None
            version, url, folder = applied.live.version, applied.live.url, applied.live.folder_uid
        return {
            **{key: props[key] for key in (*INPUT_KEYS, *COMPUTED_KEYS) if key in props},
            "uid": uid,
            "url": client.absolute_url(url),
            "version": version,
            "folderUid": folder,
            "generatorDigest": rendering.generator_digest,
            "generatorRef": rendering.generator_ref,
            "dashboardSha256": rendering.dashboard_hash,
        }

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        uid, owner = str(props.get("uid") or _id), str(props.get("owner") or "")
        try:
            client = _client(props)
            live = client.get_dashboard(uid)
            if live is None:
                return
            if not ownership.owned_by(live.dashboard, owner):
                pulumi.log.warn(
                    f"dashboard {uid} is no longer DAWG's ({owner}); leaving it in Grafana and forgetting it"
                )
                return
            client.delete_dashboard(uid)
        except DawgError as error:
            raise ProviderError(f"deleting dashboard {uid}: {error}") from None

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh and import: the live dashboard becomes the inputs, so UI edits show as a diff."""
        try:
            client = _client(props)
            live = client.get_dashboard(id_)
        except DawgError as error:
            raise ProviderError(f"reading dashboard {id_}: {error}") from None
        if live is None:
            return ReadResult("", {})
        refreshed = {
            "uid": id_,
            "dashboard": canonical(live.dashboard),
            "dashboardSha256": content_hash(live.dashboard),
            # The version DAWG applied stays: an edit since then is drift, decided at the next update.
            "version": props.get("version") or live.version,
            "folderUid": live.folder_uid,
            "url": client.absolute_url(live.url),
        }
        outs = {**props, **refreshed}
        inputs = {key: outs[key] for key in (*INPUT_KEYS, *COMPUTED_KEYS) if key in outs}
        return ReadResult(id_, outs, inputs)


# The provider is pickled by reference into every resource's state (`__provider`).
# States written before the package had subpackages name this path; keeping it
# keeps their blob byte-for-byte (a changed blob is a diff on every resource,
# pulumi/pulumi#12401). `dawg_provider/pulumi_provider.py` re-exports the class there.
WasmDashboardProvider.__module__ = "dawg_provider.pulumi_provider"
