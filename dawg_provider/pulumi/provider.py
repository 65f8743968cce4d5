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
- `diff()` returns `changes=None` so the engine diffs inputs path by path (also
  with `replaces`, so a replacement keeps the path diff), `changes=False` when only
  normalization differs, and replaces on a new uid or a new Grafana (url, org:
  `grafanaTarget`, recorded by check(); see `props`). It never asks for
  delete-before-replace (Grafana's delete also drops history, stars, permissions):
  Create stamps the dashboard with a fresh instance id and Delete leaves a dashboard
  whose stamp is a newer instance's (`pulumi up --replace` skips Diff and creates
  before deleting). The same Grafana spelled differently is not a replacement.
- A move to another Grafana deletes the old dashboards at the end of the run with
  the current token; when the old Grafana refuses it (401/403) or is gone, Delete
  warns (naming the uid and URL left behind) and succeeds, so the state converges.
- The dashboard is stored once in state (in the inputs, where the engine diffs it),
  not again in the outputs; Delete and Read need only uid, owner and target.
- Warnings (the dashboard model's, drift overwritten, a registry tag that moved) are
  logged and also kept in the `warnings` output: a dynamic provider's logs reach the
  engine as plain stderr text, not as resource warnings. check() puts the render's
  warnings in the checked inputs too, so `pulumi preview` shows them with the
  resource (diff() never counts them: only `DIFFED_KEYS` decide an update).
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

from ..errors import (
    DawgError,
    GeneratorFailed,
    GrafanaForbidden,
    GrafanaUnauthorized,
    GrafanaUnreachable,
    InvalidLimit,
    scrub,
)
from ..grafana import GrafanaClient, GrafanaConnection, ownership, v2
from ..grafana.apply import Applied, apply, check_writable
from ..grafana.canonical import canonical, content_hash
from ..grafana.planner import Action, Desired, Policy, Recorded
from ..render import Renderer, Rendering
from ..spec import DashboardSpec, parse_folder, parse_spec
from .props import (
    COMPUTED_KEYS,
    DIFFED_KEYS,
    INPUT_KEYS,
    STORED_ONCE,
    TARGET,
    UNKNOWN,
    is_unknown,
    new_stamp,
    newer_owner,
    org_id,
    replacement,
    reserved_key_problem,
    same_target,
    source_url,
    stamped,
    target,
    unstamped,
    url_problem,
)

OPERATION_DEADLINE = 300.0
"""Seconds one create or update may spend talking to Grafana (retries included)."""
CONFIG_URL, CONFIG_TOKEN, CONFIG_ORG = "dawg:grafanaUrl", "dawg:grafanaToken", "dawg:grafanaOrgId"
NO_GRAFANA = (
    "no Grafana connection: set `pulumi config set dawg:grafanaUrl https://grafana.example.com` and "
    "`pulumi config set --secret dawg:grafanaToken ...`, or give the resource a `grafana` argument"
)


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
    url, token, org = settings.get("url"), settings.get("token"), org_id(settings.get("orgId"))
    if not url:
        raise ProviderError(NO_GRAFANA)
    key = (str(url), str(token) if token else None, org)
    with _lock:
        clients = _process.clients if _process.clients is not None else {}
        _process.clients = clients
        if key not in clients:
            clients[key] = GrafanaClient(GrafanaConnection(str(url), token=key[1], org_id=org))
        return clients[key]


def _grafana_settings(props: dict[str, Any]) -> dict[str, Any]:
    """The resource's own connection; else the Grafana its state was written to (url and
    org recorded by check(), the token from stack config); else the stack config."""
    own = props.get("grafana")
    if isinstance(own, dict) and own.get("url"):
        return own
    default = _process.default_grafana or {}
    recorded = props.get(TARGET)
    if isinstance(recorded, dict) and isinstance(recorded.get("url"), str):
        return {"url": recorded["url"], "orgId": recorded.get("orgId"), "token": default.get("token")}
    return default


def _spec(props: dict[str, Any]) -> DashboardSpec:
    spec, errors = parse_spec(props)
    if spec is None:
        raise ProviderError("; ".join(str(error) for error in errors))
    return spec


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
        # Preview: an input from another resource's output is unknown; it is neither
        # validated nor reported as missing, and what depends on it is computed later.
        unknown = {key for key in INPUT_KEYS if is_unknown(news.get(key))}
        spec_input = {k: v for k, v in news.items() if k in INPUT_KEYS and k not in unknown}
        spec, errors = parse_spec(spec_input)
        failures = [CheckFailure(e.field, e.reason) for e in errors if e.field not in unknown]
        uid = news.get("uid")
        if not isinstance(uid, str) and "uid" not in unknown:
            failures.append(CheckFailure("uid", "required (WasmDashboard derives it from the resource name)"))
        owner = news.get("owner")
        if not isinstance(owner, str) and "owner" not in unknown:
            failures.append(
                CheckFailure("owner", "required (WasmDashboard derives it from project and stack)")
            )
        problem = url_problem(source_url(news.get("grafana"), _process.default_grafana))
        where = target(news.get("grafana"), _process.default_grafana)
        if problem is not None:
            failures.append(CheckFailure("grafana", problem))
        elif where is None:
            failures.append(CheckFailure("grafana", NO_GRAFANA))
        elif same_target(olds.get(TARGET), where):
            where = olds[TARGET]  # the same Grafana spelled differently: keep the recorded spelling
        inputs[TARGET] = where
        if failures:
            return CheckResult(inputs, failures)
        if spec is None or unknown & {"generator", "config", "uid", "owner", "timeout", "memory"}:
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
        reserved = reserved_key_problem(rendering.dashboard)
        if reserved is not None:
            return CheckResult(inputs, [CheckFailure("generator", reserved)])
        warnings = [scrub(warning) for warning in rendering.warnings]
        for warning in warnings:
            pulumi.log.warn(warning)
        if warnings:  # shown by `pulumi preview` (--diff) with the resource, unlike the log
            inputs["warnings"] = warnings
        inputs.update(
            generatorDigest=rendering.generator_digest,
            generatorRef=rendering.generator_ref,
            dashboard=canonical(rendering.dashboard),
            dashboardSha256=rendering.dashboard_hash,
        )
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = replacement(olds, news)
        if replaces:
            # changes=None keeps the engine's path-level diff of the inputs in the preview;
            # create-before-delete (never delete-first): see `props.replacement`.
            return DiffResult(changes=None, replaces=replaces, delete_before_replace=False)
        if any(is_unknown(news.get(key)) for key in DIFFED_KEYS):
            return DiffResult(changes=None)
        same = [
            same_target(olds.get(key), news.get(key)) if key == TARGET else olds.get(key) == news.get(key)
            for key in DIFFED_KEYS
        ]
        if all(same):
            # At most normalization differs (config text, reference spelling).
            return DiffResult(changes=False)
        # Let the engine diff inputs path by path; a state written before grafanaTarget
        # existed lands here once, and its update records the target.
        return DiffResult(changes=None)

    # -- create / update / delete / read: Grafana ----------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        try:
            outs = self._apply(props, None, new_stamp())
        except DawgError as error:
            raise ProviderError(str(error)) from None
        return CreateResult(outs["uid"], outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        version = olds.get("version")  # a float after the wire
        applied = int(version) if isinstance(version, (int, float)) else None
        recorded = Recorded(applied, olds.get("dashboardSha256"))
        stamp = olds.get("instance")
        try:
            outs = self._apply(news, recorded, stamp if isinstance(stamp, str) else new_stamp())
        except DawgError as error:
            raise ProviderError(str(error)) from None
        return UpdateResult(outs)

    def _apply(self, props: dict[str, Any], recorded: Recorded | None, stamp: str) -> dict[str, Any]:
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
        with client.deadline(OPERATION_DEADLINE):  # a hanging Grafana cannot stall `pulumi up`
            check_writable(client, uid, rendering.dashboard, rendering.generator_ref)
            folder_uid = client.resolve_folder(folder_uid_text, path)
            desired = Desired(uid, stamped(rendering.dashboard, stamp), folder_uid, rendering.generator_ref)
            policy = Policy(owner=owner, adopt=spec.adopt, drift=spec.drift)
            applied: Applied = apply(client, desired, recorded, policy, spec.message)
        warnings = [scrub(warning) for warning in (*rendering.warnings, *applied.plan.warnings)]
        for warning in warnings:
            pulumi.log.warn(warning)
        if applied.plan.action is Action.REFUSE:
            raise ProviderError(f"{applied.plan.reason}. Nothing was written to Grafana")
        if applied.plan.action is Action.DRIFTED:
            raise ProviderError(applied.plan.reason)
        if applied.saved is not None:
            version, url, folder = applied.saved.version, applied.saved.url, applied.saved.folder_uid
        else:
            assert applied.live is not None
            version, url, folder = applied.live.version, applied.live.url, applied.live.folder_uid
        kept = (*INPUT_KEYS, *COMPUTED_KEYS, TARGET)
        return {
            **{key: props[key] for key in kept if key in props and key not in STORED_ONCE},
            "uid": uid,
            "url": client.absolute_url(url),
            "version": version,
            "folderUid": folder,
            "generatorDigest": rendering.generator_digest,
            "generatorRef": rendering.generator_ref,
            "dashboardSha256": rendering.dashboard_hash,
            "instance": stamp,
            # Provider-process logs reach the engine as plain text, not resource warnings.
            "warnings": warnings,
        }

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        uid, owner = str(props.get("uid") or _id), str(props.get("owner") or "")
        try:
            client = _client(props)
            live = client.get_dashboard(uid)
            if live is None:
                return
            labels = ownership.trusted_labels(live.labels, True)  # its state is DAWG's record
            if not ownership.owned_by(live.dashboard, owner, labels):
                pulumi.log.warn(
                    f"dashboard {uid} is no longer DAWG's ({owner}); leaving it in Grafana and forgetting it"
                )
                return
            newer = newer_owner(live.dashboard, props.get("instance"))
            if newer is not None:
                # A replacement with the same uid wrote it after this resource did.
                pulumi.log.warn(
                    f"dashboard {uid} is now written by its replacement (instance {newer}); "
                    "leaving it in Grafana"
                )
                return
            client.delete_dashboard(uid)
        except (GrafanaUnauthorized, GrafanaForbidden, GrafanaUnreachable) as error:
            recorded = props.get(TARGET)
            configured = target(None, _process.default_grafana)
            if props.get("grafana") or not isinstance(recorded, dict) or same_target(recorded, configured):
                raise ProviderError(f"deleting dashboard {uid}: {error}") from None
            # A move: the stack's token is for the new Grafana, or the old one is gone.
            # Failing would fail every later `up`; the dashboard is left there, named.
            pulumi.log.warn(
                f"dashboard {uid} was left in the previous Grafana {recorded.get('url')} "
                f"(org {recorded.get('orgId') or 1}): it could not be deleted there with the current "
                f"stack config ({type(error).__name__}: {error}); delete it by hand if it should go"
            )
        except DawgError as error:
            raise ProviderError(f"deleting dashboard {uid}: {error}") from None

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the live dashboard becomes the inputs, so UI edits show as a diff.

        `pulumi import` cannot reach here: the engine sends the id only, without the
        `__provider` input the SDK needs to find this class (pulumi/pulumi#16175).
        """
        try:
            client = _client(props)
            written = props.get("dashboard")
            live = client.get_dashboard(id_, v2.version_of(written) if isinstance(written, dict) else None)
        except DawgError as error:
            raise ProviderError(f"reading dashboard {id_}: {error}") from None
        if live is None:
            return ReadResult("", {})
        clean = unstamped(live.dashboard)
        refreshed = {
            "uid": id_,
            "dashboardSha256": content_hash(clean),
            # The version DAWG applied stays: an edit since then is drift, decided at the next update.
            "version": props.get("version") or live.version,
            "folderUid": live.folder_uid,
            "url": client.absolute_url(live.url),
        }
        outs = {**{k: v for k, v in props.items() if k not in STORED_ONCE}, **refreshed}
        kept = (*INPUT_KEYS, *COMPUTED_KEYS, TARGET)
        inputs = {key: outs[key] for key in kept if key in outs}
        inputs["dashboard"] = canonical(clean)
        return ReadResult(id_, outs, inputs)


# The provider is pickled by reference into every resource's state (`__provider`).
# States written before the package had subpackages name this path; keeping it
# keeps their blob byte-for-byte (a changed blob is a diff on every resource,
# pulumi/pulumi#12401). `dawg_provider/pulumi_provider.py` re-exports the class there.
WasmDashboardProvider.__module__ = "dawg_provider.pulumi_provider"
