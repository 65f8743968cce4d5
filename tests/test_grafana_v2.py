"""Generators that print schema v2: checked, carried, hashed, written through /apis v2 where the
Grafana serves that version, refused (naming dashboard, generator, Grafana version) where not; and
what the legacy dialect forced on 13.x can and cannot see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dawg_provider.errors import GrafanaUnsupported, InvalidOutput
from dawg_provider.grafana import Dialect, GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.grafana.apply import apply, preview
from dawg_provider.grafana.canonical import content_hash, diff
from dawg_provider.grafana.planner import Action, Desired, DriftPolicy, Policy, Recorded
from dawg_provider.wasm.output import parse_dashboard, without_identity
from tests.grafana_standin import GrafanaStandIn

TOKEN = "glsa_admin_token"
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005, total=30)
OWNER = "k8s-v2"
GEN = "oci://registry.example/gen/v2:1.0@sha256:abc"


def v2_output(version: str = "v2beta1", **spec: Any) -> dict[str, Any]:
    """A minimal v2 dashboard as a generator prints it (grafana-apis.md §4's minimal example)."""
    body = {
        "title": "Dyn",
        "cursorSync": "Off",
        "elements": {"panel-1": {"kind": "Panel", "spec": {"title": "CPU", "id": 1}}},
        "layout": {"kind": "GridLayout", "spec": {"items": []}},
        "links": [],
        "preload": False,
        "annotations": [],
        "variables": [],
        "tags": ["team"],
        "timeSettings": {"timezone": "browser", "from": "now-6h", "to": "now"},
        **spec,
    }
    return {"apiVersion": f"dashboard.grafana.app/{version}", "kind": "Dashboard", "spec": body}


PLACED: dict[str, Any] = {
    "elements": {
        "panel-1": {
            "kind": "Panel",
            "spec": {
                "title": "CPU",
                "id": 1,
                "vizConfig": {"kind": "VizConfig", "group": "timeseries", "version": "", "spec": {}},
                "data": {"kind": "QueryGroup", "spec": {"queries": [], "transformations": []}},
            },
        }
    },
    "layout": {
        "kind": "GridLayout",
        "spec": {
            "items": [
                {
                    "kind": "GridLayoutItem",
                    "spec": {
                        "x": 0,
                        "y": 0,
                        "width": 12,
                        "height": 8,
                        "element": {"kind": "ElementReference", "name": "panel-1"},
                    },
                }
            ]
        },
    },
}
"""The panel placed and complete (v2beta1 dashboard_spec.cue `PanelSpec`, `GridLayoutItemSpec`):
no finding of the v2 model check (grafana/modelcheck_v2.py)."""


def carried(version: str = "v2beta1", **spec: Any) -> dict[str, Any]:
    return parse_dashboard("gen", json.dumps(v2_output(version, **spec)).encode())


def make(server: GrafanaStandIn, **extra: Any) -> GrafanaClient:
    return GrafanaClient(GrafanaConnection(server.url, token=TOKEN, retry=FAST, timeout=(2.0, 2.0), **extra))


def desired(uid: str, version: str = "v2beta1", **spec: Any) -> Desired:
    return Desired(uid, ownership.mark(carried(version, **spec), OWNER), "", GEN)


def writes(server: GrafanaStandIn) -> int:
    return server.count("POST") + server.count("PUT") + server.count("DELETE")


@pytest.fixture
def g13() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("13.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


@pytest.fixture
def g12() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


# ---- the output contract --------------------------------------------------------------------


def test_a_v2_output_is_carried_as_its_spec_with_its_api_version() -> None:
    board = carried()
    assert board["apiVersion"] == "dashboard.grafana.app/v2beta1" and board["title"] == "Dyn"
    assert "spec" not in board and "kind" not in board and board["elements"]["panel-1"]["kind"] == "Panel"
    named = dict(v2_output(), metadata={"name": "generator-picked", "labels": {"x": "y"}})
    parsed = parse_dashboard("gen", json.dumps(named).encode())
    kept, warnings = without_identity("gen", parsed)
    assert "uid" not in kept and "labels" not in kept and "metadata" not in kept
    assert len(warnings) == 1 and "'uid'" in warnings[0] and "generator-picked" in warnings[0]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"apiVersion": "dashboard.grafana.app/v1"},
            "apiVersion 'dashboard.grafana.app/v1' is not a dashboard schema v2",
        ),
        ({"apiVersion": "dashboard.grafana.app/v3alpha0"}, "is not a dashboard schema v2 version"),
        ({"apiVersion": 2}, "apiVersion '2' is not"),
        ({"kind": "Folder"}, "kind 'Folder' is not 'Dashboard'"),
        ({"kind": None}, "kind 'None' is not 'Dashboard'"),
        ({"spec": []}, "spec is missing or not an object"),
        ({"panels": []}, "unexpected top-level field(s) 'panels'"),
        (
            {"spec": {"title": " ", "elements": {}, "layout": {"kind": "GridLayout", "spec": {}}}},
            "spec.title",
        ),
        ({"spec": {"title": "t", "layout": {"kind": "GridLayout", "spec": {}}}}, "spec.elements is missing"),
        (
            {"spec": {"title": "t", "elements": {"a": {"kind": "Graph", "spec": {}}}, "layout": {}}},
            "spec.elements['a'].kind is not one of Panel, LibraryPanel",
        ),
        ({"spec": {"title": "t", "elements": {"a": {"kind": "Panel"}}}}, "spec.elements['a'].spec"),
        (
            {"spec": {"title": "t", "elements": {}, "layout": {"kind": "Masonry", "spec": {}}}},
            "spec.layout.kind",
        ),
        ({"spec": {"title": "t", "elements": {}, "layout": {"kind": "TabsLayout"}}}, "spec.layout.spec"),
        ({"spec": {"title": "t", "tags": "a,b", "elements": {}, "layout": {}}}, "spec.tags is not a list"),
    ],
)
def test_a_malformed_v2_output_is_refused_naming_the_field(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidOutput, match=r"^generator gen: ") as caught:
        parse_dashboard("gen", json.dumps({**v2_output(), **change}).encode())
    assert problem in str(caught.value) and "spec: {title, elements, layout" in str(caught.value)


def test_canonical_form_hash_and_diff_of_v2() -> None:
    one, same = carried(), carried()
    assert content_hash(one) == content_hash(same)
    assert content_hash(carried("v2")) != content_hash(one)  # another version is another dashboard
    renamed = carried(elements={"panel-1": {"kind": "Panel", "spec": {"title": "Memory", "id": 1}}})
    changes = diff(one, renamed)
    assert [c.path for c in changes.changes] == ["elements.panel-1.spec.title"]
    assert changes.summary() == "1 other change"
    assert content_hash({**one, "uid": "x", "version": 3}) == content_hash(one)  # volatile fields


# ---- writing it -----------------------------------------------------------------------------


def test_v2_is_written_through_apis_at_its_version_and_converges(g13: GrafanaStandIn) -> None:
    client = make(g13)
    want = desired("dawg-v2out")
    first = apply(client, want, None, Policy(OWNER))
    assert first.plan.action is Action.CREATE and first.saved is not None
    posts = [p for m, p in g13.requests if m == "POST"]
    assert posts == ["/apis/dashboard.grafana.app/v2beta1/namespaces/default/dashboards"]
    stored = g13.dashboard("dawg-v2out")
    assert stored is not None and stored.schema == "v2beta1" and "apiVersion" not in stored.json
    assert stored.json["elements"]["panel-1"]["spec"]["title"] == "CPU"
    assert stored.labels[ownership.LABEL_OWNER] == OWNER
    sent = writes(g13)
    recorded = Recorded(first.saved.version, want.hash)
    again = apply(make(g13), want, recorded, Policy(OWNER))  # read back at v2beta1: the same content
    assert again.plan.action is Action.NOOP and writes(g13) == sent
    changed = desired("dawg-v2out", title="Dyn 2")
    update = apply(make(g13), changed, recorded, Policy(OWNER))
    assert update.plan.action is Action.UPDATE and update.saved is not None and update.saved.version == 2
    assert g13.count("PUT", "/v2beta1/namespaces/default/dashboards/dawg-v2out$") == 1
    # a UI edit of DAWG's v2 dashboard is drift by version: never overwritten under fail
    g13.ui_edit("dawg-v2out", {"description": "Alice's"}, user="alice")
    sent = writes(g13)
    strict = apply(make(g13), changed, Recorded(2, changed.hash), Policy(OWNER, drift=DriftPolicy.FAIL))
    assert strict.plan.action is Action.DRIFTED and "changed outside DAWG by alice" in strict.plan.reason
    assert writes(g13) == sent and g13.dashboard("dawg-v2out").json["description"] == "Alice's"  # type: ignore[union-attr]


def test_12_0_serves_v2alpha1_only_so_v2beta1_is_refused_before_any_write(g12: GrafanaStandIn) -> None:
    client = make(g12)
    with pytest.raises(GrafanaUnsupported) as caught:
        preview(client, desired("dawg-beta"), None, Policy(OWNER))  # a dry run refuses too
    text = str(caught.value)
    assert f"dashboard dawg-beta from generator {GEN}" in text and "Grafana 12.0.0" in text
    assert "serves v2alpha1 of dashboard.grafana.app" in text and "v2beta1" in text
    with pytest.raises(GrafanaUnsupported):
        apply(client, desired("dawg-beta"), None, Policy(OWNER))
    assert writes(g12) == 0 and g12.dashboard("dawg-beta") is None
    alpha = apply(client, desired("dawg-alpha", "v2alpha1"), None, Policy(OWNER))
    assert alpha.plan.action is Action.CREATE
    assert g12.dashboard("dawg-alpha").schema == "v2alpha1"  # type: ignore[union-attr]


@pytest.mark.parametrize("profile", ["10.4", "11.5", "13.0"])
def test_the_legacy_api_refuses_v2_clearly_and_writes_nothing(profile: str) -> None:
    server = GrafanaStandIn(profile, tokens={TOKEN: (1, "Admin")}).start()
    try:
        client = make(server, dialect=Dialect.LEGACY)
        with pytest.raises(
            GrafanaUnsupported, match="through the legacy /api, which cannot store v2"
        ) as caught:
            apply(client, desired("dawg-legacy-v2"), None, Policy(OWNER))
        assert f"from generator {GEN}" in str(caught.value)
        assert f"Grafana {server.profile.version}" in str(caught.value)
        with pytest.raises(GrafanaUnsupported):  # the client itself, called directly, refuses too
            client.save_dashboard({**desired("dawg-legacy-v2").dashboard, "uid": "dawg-legacy-v2"})
        assert writes(server) == 0
    finally:
        server.stop()


# ---- 13.x with the legacy dialect forced ---------------------------------------------------------


def test_forced_legacy_on_13_sees_the_v2_marker_and_warns(g13: GrafanaStandIn) -> None:
    client = make(g13, dialect=Dialect.LEGACY)
    want = Desired("dawg-13legacy", ownership.mark({"title": "Classic"}, OWNER), "")
    first = apply(client, want, None, Policy(OWNER))
    assert first.saved is not None
    risk = [w for w in first.plan.warnings if "legacy /api dialect is forced on Grafana 13.0.1" in w]
    assert len(risk) == 1 and "lossy classic conversion" in risk[0]
    g13.ui_save_as_v2("dawg-13legacy")
    live = client.get_dashboard("dawg-13legacy")
    assert live is not None and live.schema == "v2"  # meta.apiVersion said so
    sent = writes(g13)
    strict = apply(
        client, want, Recorded(first.saved.version, want.hash), Policy(OWNER, drift=DriftPolicy.FAIL)
    )
    assert strict.plan.action is Action.DRIFTED and "converted to the v2 schema" in strict.plan.reason
    assert writes(g13) == sent and g13.dashboard("dawg-13legacy").schema == "v2"  # type: ignore[union-attr]


def test_forced_legacy_on_13_without_the_marker_is_the_documented_limit(g13: GrafanaStandIn) -> None:
    """Without `meta.apiVersion` the lossy conversion looks classic: drift by version still stops
    it under fail, and the plan says why DAWG could not tell."""
    g13.legacy_v2_marker = False
    client = make(g13, dialect=Dialect.LEGACY)
    want = Desired("dawg-13blind", ownership.mark({"title": "Classic"}, OWNER), "")
    first = apply(client, want, None, Policy(OWNER))
    assert first.saved is not None
    g13.ui_save_as_v2("dawg-13blind")
    live = client.get_dashboard("dawg-13blind")
    assert live is not None and live.schema == "v1"  # invisible here
    strict = apply(
        client, want, Recorded(first.saved.version, want.hash), Policy(OWNER, drift=DriftPolicy.FAIL)
    )
    assert strict.plan.action is Action.DRIFTED
    assert any("DAWG may not see that conversion" in w for w in strict.plan.warnings)
    assert g13.dashboard("dawg-13blind").schema == "v2"  # type: ignore[union-attr]


def test_no_legacy_warning_where_it_does_not_apply(g12: GrafanaStandIn) -> None:
    legacy12 = apply(make(g12, dialect=Dialect.LEGACY), desired_classic("dawg-w12"), None, Policy(OWNER))
    assert not any("dialect is forced" in w for w in legacy12.plan.warnings)  # 12.x answers 406 instead
    auto = apply(make(g12), desired_classic("dawg-w12b"), None, Policy(OWNER))
    assert not any("dialect is forced" in w for w in auto.plan.warnings)


def desired_classic(uid: str) -> Desired:
    return Desired(uid, ownership.mark({"title": "Classic"}, OWNER), "")


def test_dawg_render_prints_a_v2_dashboard_as_the_generator_printed_it() -> None:
    from dawg_provider.grafana.v2 import as_object

    printed = v2_output()
    assert as_object(carried()) == printed
    classic = {"title": "Classic", "panels": []}
    assert as_object(classic) is classic


# ---- end to end: the sync job with a generator that prints v2 ------------------------------------


@pytest.fixture(scope="module")
def v2_generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C hostile generator alone (its `v2 <version>` mode prints a v2 dashboard)."""
    from generators.build import Language, build

    hostile = Path(__file__).resolve().parent / "hostile" / "hostile.c"
    return build(Language.C, hostile, tmp_path_factory.mktemp("v2gen") / "v2.wasm")


def sync_v2(server: GrafanaStandIn, k8s: Any, cache: Path) -> Any:
    from datetime import timedelta

    from dawg_provider import Runtime
    from dawg_provider.cluster.sources import ClusterSource
    from dawg_provider.cluster.sync import SyncJob, SyncOptions
    from dawg_provider.cluster.tenancy import TenancyPolicy
    from dawg_provider.render import Renderer
    from dawg_provider.sources.fetch import Fetcher
    from tests.k8s_standin import client_api

    connection = GrafanaConnection(server.url, token=TOKEN, retry=FAST)
    policy = TenancyPolicy(folder_roots={"shop": "Shop"})
    options = SyncOptions(owner=OWNER, concurrency=1, verify_interval=timedelta(0), policy=policy)
    renderer = Renderer(Runtime(cache), Fetcher(cache))
    return SyncJob(ClusterSource(client_api(k8s)), lambda: GrafanaClient(connection), renderer, options).run()


@pytest.mark.parametrize(
    ("profile", "version"), [("12.0", "v2beta1"), ("13.0", "v2beta1"), ("13.0", "v2"), ("12.0", "v2alpha1")]
)
def test_the_sync_job_writes_or_refuses_a_generators_v2_dashboard(
    profile: str, version: str, v2_generator: Path, tmp_path: Path
) -> None:
    from tests.k8s_standin import KubernetesStandIn

    server = GrafanaStandIn(profile, tokens={TOKEN: (1, "Admin")}).start()
    k8s = KubernetesStandIn().start()
    try:
        spec = {"generator": f"file://{v2_generator}", "config": f"v2 {version}\n", "folder": "Shop"}
        k8s.add("shop", "dyn", spec)
        uid = ownership.derived_uid("k8s", "shop", "dyn")
        first = sync_v2(server, k8s, tmp_path)
        result = first.results[0]
        if profile == "12.0" and version == "v2beta1":  # 12.0 serves v2alpha1 only
            assert result.outcome.value == "failed", result.message
            assert f"dashboard {uid} from generator" in result.message and "Grafana 12.0.0" in result.message
            assert "serves v2alpha1" in result.message
            assert server.dashboard(uid) is None and server.orgs[1].folders == {}  # not even the folder
            return
        assert result.outcome.value == "created", result.message
        stored = server.dashboard(uid)
        assert stored is not None and stored.schema == version and stored.json["title"] == f"v2 {version}"
        assert (
            server.count("POST", f"/apis/dashboard.grafana.app/{version}/namespaces/default/dashboards$") == 1
        )
        before = (stored.version, stored.resource_version)
        second = sync_v2(server, k8s, tmp_path)
        assert second.results[0].outcome.value == "unchanged", second.results[0].message
        assert (stored.version, stored.resource_version) == before
    finally:
        k8s.stop()
        server.stop()


# ---- review r12 findings: what real Grafana does with a v2 spec ------------------------------


def test_the_standin_stores_a_v2_spec_as_grafanas_typed_struct(g13: GrafanaStandIn) -> None:
    """Stand-in fidelity (grafana_standin_apis.py `_typed_v2`): unknown top-level keys dropped,
    non-omitempty fields at their zero values, a Panel's description/links filled."""
    want = desired("dawg-typed", dawgExtra="dropped")
    apply(make(g13), want, None, Policy(OWNER))
    stored = g13.dashboard("dawg-typed")
    assert stored is not None and "dawgExtra" not in stored.json
    assert stored.json["elements"]["panel-1"]["spec"] == {
        "description": "",
        "links": [],
        "title": "CPU",
        "id": 1,
    }
    assert stored.json["title"] == "Dyn" and stored.json["tags"][-1] == ownership.owner_tag(OWNER)


def test_a_v2_dashboard_converges_against_grafanas_re_serialisation(g13: GrafanaStandIn) -> None:
    """Finding 2: what Grafana answers (zero values filled, unknown keys dropped, layout filled)
    is compared as the same content: the second run writes nothing."""
    for version in ("v2beta1", "v2"):
        uid = f"dawg-conv-{version}"
        want = Desired(uid, ownership.mark({**carried(version), "layout": {}}, OWNER), "", GEN)
        first = apply(make(g13), want, None, Policy(OWNER))
        assert first.saved is not None
        sent = writes(g13)
        again = apply(make(g13), want, Recorded(first.saved.version, want.hash), Policy(OWNER))
        assert again.plan.action is Action.NOOP, again.plan.reason
        assert writes(g13) == sent
    # a real change is still a change
    changed = Desired("dawg-conv-v2", ownership.mark(carried("v2", title="Renamed"), OWNER), "", GEN)
    moved = apply(make(g13), changed, Recorded(1, None), Policy(OWNER))
    assert moved.plan.action is Action.UPDATE


def test_a_landed_v2_write_whose_answer_was_lost_is_recognised_as_dawgs(g13: GrafanaStandIn) -> None:
    """Finding 2, `_landed`: the create lands, its answer is lost; the re-read (Grafana's typed
    form, at the version DAWG writes) is recognised as DAWG's own write: one POST, no error."""
    from tests.grafana_standin_store import Fault, FaultKind

    g13.inject(Fault(FaultKind.APPLIED_LOST, "POST", "/dashboards$"))
    want = desired("dawg-lost-v2", version="v2")
    result = apply(make(g13), want, None, Policy(OWNER))
    assert result.saved is not None and result.saved.recovered and result.saved.version == 1
    assert g13.count("POST", "/dashboards$") == 1 and g13.count("PUT") == 0


def test_13_reports_a_v2_stored_dashboard_as_v2beta1_and_dawg_reads_it_at_v2(g13: GrafanaStandIn) -> None:
    """Finding 3: a v1 read of a `v2`-stored dashboard says storedVersion v2beta1 on 13.x; DAWG
    reads it again at the version its generator prints, so runs 2 and 3 write nothing."""
    want = desired("dawg-sv", version="v2")
    first = apply(make(g13), want, None, Policy(OWNER, drift=DriftPolicy.FAIL))
    assert first.saved is not None
    raw = requests.get(
        f"{g13.url}/apis/dashboard.grafana.app/v1/namespaces/default/dashboards/dawg-sv",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    assert raw["status"]["conversion"]["storedVersion"] == "v2beta1"  # what 13.x reports
    sent = writes(g13)
    for _ in range(2):
        again = apply(
            make(g13), want, Recorded(first.saved.version, want.hash), Policy(OWNER, drift=DriftPolicy.FAIL)
        )
        assert again.plan.action is Action.NOOP, again.plan.reason
    assert writes(g13) == sent
    assert g13.count("GET", "/v2/namespaces/default/dashboards/dawg-sv$") >= 2
    assert g13.count("GET", "/v2beta1/namespaces/default/dashboards/dawg-sv$") == 0


def test_switching_a_generator_between_v2_and_classic_converges_under_drift_fail(g13: GrafanaStandIn) -> None:
    """Finding 4: DAWG's own v2 write, unchanged, replaced by the generator's classic output is an
    UPDATE with a warning (not blamed on the UI), and back again; a UI conversion still is drift."""
    fail = Policy(OWNER, drift=DriftPolicy.FAIL)
    v2_want = desired("dawg-sw")
    classic = Desired(
        "dawg-sw", ownership.mark({"title": "Dyn", "panels": [], "schemaVersion": 41}, OWNER), "", GEN
    )
    first = apply(make(g13), v2_want, None, fail)
    assert first.saved is not None
    switched = apply(make(g13), classic, Recorded(first.saved.version, v2_want.hash), fail)
    assert switched.plan.action is Action.UPDATE and switched.saved is not None
    assert "Grafana UI" not in switched.plan.reason + " ".join(switched.plan.warnings)
    assert any("now prints the classic model" in w for w in switched.plan.warnings)
    assert g13.dashboard("dawg-sw").schema == "v1"  # type: ignore[union-attr]
    rec = Recorded(switched.saved.version, classic.hash)
    assert apply(make(g13), classic, rec, fail).plan.action is Action.NOOP
    back = apply(make(g13), v2_want, rec, fail)
    assert back.plan.action is Action.UPDATE and back.saved is not None
    rec = Recorded(back.saved.version, v2_want.hash)
    assert apply(make(g13), v2_want, rec, fail).plan.action is Action.NOOP
    # the same v2 state written in the UI (version moved) is still drift, and nothing is written
    g13.ui_save_as_v2("dawg-sw")
    sent = writes(g13)
    stuck = apply(make(g13), classic, rec, fail)
    assert stuck.plan.action is Action.DRIFTED and "converted to the v2 schema" in stuck.plan.reason
    kept = g13.dashboard("dawg-sw")
    assert writes(g13) == sent and kept is not None
    assert kept.json["elements"]["panel-1"]["spec"]["title"] == "edited in the UI"


def test_the_pulumi_instance_stamp_of_a_v2_dashboard_survives_grafana(g13: GrafanaStandIn) -> None:
    """Finding 1: the stamp rides in the tags of a v2 spec (Grafana keeps no unknown spec key),
    so the old instance's Delete after `up --replace` sees the newer owner and keeps it."""
    from dawg_provider.grafana import apis
    from dawg_provider.pulumi.props import STAMP_KEY, newer_owner, stamped, unstamped

    board = ownership.mark(carried(), OWNER)
    sent = apis.dashboard_object({**stamped(board, "new0"), "uid": "dawg-st"}, "v2beta1", "", "")
    assert STAMP_KEY not in sent["spec"] and "dawg-instance:new0" in sent["spec"]["tags"]
    want = Desired("dawg-st", stamped(board, "new0"), "", GEN)
    first = apply(make(g13), want, None, Policy(OWNER))
    assert first.saved is not None
    live = make(g13).get_dashboard("dawg-st", "v2beta1")
    assert live is not None
    assert newer_owner(live.dashboard, "old0") == "new0"  # the old instance leaves it
    assert newer_owner(live.dashboard, "new0") is None  # the owning instance deletes it
    assert content_hash(unstamped(live.dashboard)) == content_hash(board)
    again = apply(make(g13), want, Recorded(first.saved.version, want.hash), Policy(OWNER))
    assert again.plan.action is Action.NOOP


def test_a_v2_spec_key_grafana_does_not_store_is_a_warning_naming_it() -> None:
    """Grafana's typed DashboardSpec drops it (dashboard_spec_gen.go): the author is told."""
    from dawg_provider.render import check_model

    assert check_model(GEN, {**carried(**PLACED), "uid": "dawg-x"}) == ()
    warned = check_model(GEN, {**carried(**PLACED), "mySetting": 1})
    assert len(warned) == 1 and "spec.mySetting" in warned[0] and "does not store" in warned[0]
