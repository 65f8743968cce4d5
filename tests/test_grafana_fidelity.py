"""The client against what Grafana really does (issue 12, "legacy fidelity"), on every profile.

Each test names the Grafana behaviour it covers; the stand-in cites where that
behaviour comes from in Grafana's source.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dawg_provider.errors import GrafanaConflict, GrafanaInvalidRequest, GrafanaUnsupported
from dawg_provider.grafana import GrafanaClient, GrafanaConnection, RetryPolicy, ownership
from dawg_provider.grafana.apply import apply, preview
from dawg_provider.grafana.dialect import Dialect
from dawg_provider.grafana.planner import Action, Desired, Policy, Recorded
from dawg_provider.grafana.server import detect, seconds
from tests.grafana_standin import Fault, FaultKind, GrafanaStandIn

TOKEN = "glsa_admin_token"
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005, total=30)
PROFILE_NAMES = ["10.4", "11.2", "11.5", "12.0", "13.0"]
OWNER = "k8s-test"


@pytest.fixture(params=PROFILE_NAMES)
def standin(request: pytest.FixtureRequest) -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn(request.param, tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def client(server: GrafanaStandIn) -> GrafanaClient:
    return GrafanaClient(
        GrafanaConnection(server.url, token=TOKEN, retry=FAST, timeout=(2.0, 2.0), dialect=Dialect.LEGACY)
    )


def desired(uid: str, title: str = "Fidelity", **extra: object) -> Desired:
    board = ownership.mark({"title": title, "panels": [{"id": 1, "type": "stat"}], **extra}, OWNER)
    return Desired(uid, board, "")


def converge(server: GrafanaStandIn, want: Desired, fresh_client: bool = True) -> list[Action]:
    """Apply three times (a new client each run, as each sync pass has); the actions taken."""
    recorded: Recorded | None = None
    actions = []
    runner = client(server)
    for _ in range(3):
        runner = client(server) if fresh_client else runner
        applied = apply(runner, want, recorded, Policy(OWNER))
        actions.append(applied.plan.action)
        version = applied.saved.version if applied.saved else applied.live.version if applied.live else None
        recorded = Recorded(version, want.hash)
    return actions


# ---- refresh under the server minimum ------------------------------------------------------


def test_refresh_under_the_minimum_converges_to_no_writes(standin: GrafanaStandIn) -> None:
    want = desired("dawg-refresh", refresh="1s")
    assert converge(standin, want) == [Action.CREATE, Action.NOOP, Action.NOOP]
    stored = standin.dashboard("dawg-refresh")
    assert stored is not None and stored.json["refresh"] == "5s" and stored.version == 1


def test_refresh_minimum_is_learnt_when_the_settings_are_hidden(standin: GrafanaStandIn) -> None:
    standin.frontend_settings = False
    want = desired("dawg-learn", refresh="1s")
    # run 2 reads back DAWG's own write (same version as recorded) with refresh raised: learnt, no write
    assert converge(standin, want) == [Action.CREATE, Action.NOOP, Action.NOOP]
    assert standin.dashboard("dawg-learn").version == 1  # type: ignore[union-attr]


def test_refresh_is_not_learnt_from_someone_elses_edit(standin: GrafanaStandIn) -> None:
    standin.frontend_settings = False
    runner = client(standin)
    want = desired("dawg-edit", refresh="10s")
    first = apply(runner, want, None, Policy(OWNER))
    assert first.saved is not None
    standin.ui_edit("dawg-edit", {"refresh": "1m"})
    plan = preview(runner, want, Recorded(first.saved.version, want.hash), Policy(OWNER))
    assert plan.action is Action.UPDATE  # the edit is a change, not a learnt minimum
    assert runner.info().min_refresh is None


def test_a_generator_lowering_refresh_does_not_teach_a_minimum(standin: GrafanaStandIn) -> None:
    """Review finding 2: 1h -> 1m by the generator is a change, not Grafana raising 1m to 1h."""
    standin.frontend_settings = False
    first = client(standin)
    a_before, b_want = desired("dawg-a", "A", refresh="1h"), desired("dawg-b", "B", refresh="30s")
    a, b = apply(first, a_before, None, Policy(OWNER)), apply(first, b_want, None, Policy(OWNER))
    assert a.saved is not None and b.saved is not None
    second = client(standin)  # the next pass: dawg-a's generator now says 1m, dawg-b unchanged
    a_after = desired("dawg-a", "A", refresh="1m")
    ra = apply(second, a_after, Recorded(a.saved.version, a_before.hash), Policy(OWNER))
    rb = apply(second, b_want, Recorded(b.saved.version, b_want.hash), Policy(OWNER))
    assert (ra.plan.action, rb.plan.action) == (Action.UPDATE, Action.NOOP)
    assert second.info().min_refresh is None  # nothing learnt from a generator's change
    assert standin.dashboard("dawg-a").json["refresh"] == "1m"  # type: ignore[union-attr]
    assert standin.dashboard("dawg-b").json["refresh"] == "30s"  # type: ignore[union-attr]
    assert standin.dashboard("dawg-b").version == b.saved.version  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("5s", 5), ("1m30s", 90), ("0.5s", 0.5), (".5s", 0.5), ("500ms", 0.5), ("1d", 86400), ("0", 0)],
        *[("-5s", -5), ("5 s", None), (" 5s", None), ("1x", None), ("", None), ("1h1d", None)],
    ],
)
def test_durations_parse_as_grafana_parses_them(text: str, value: float | None) -> None:
    """gtime.ParseDuration: <int>d/w/M/y, else Go's time.ParseDuration (review finding 3)."""
    assert seconds(text) == value


def test_an_unparseable_refresh_converges_to_the_minimum(standin: GrafanaStandIn) -> None:
    """Legacy replaces a refresh it cannot parse with the minimum: DAWG sends that, 0 writes after."""
    want = desired("dawg-garbled", refresh="5 s")
    assert converge(standin, want) == [Action.CREATE, Action.NOOP, Action.NOOP]
    stored = standin.dashboard("dawg-garbled")
    assert stored is not None and stored.json["refresh"] == "5s" and stored.version == 1


def test_a_go_duration_above_the_minimum_is_kept(standin: GrafanaStandIn) -> None:
    want = desired("dawg-go", refresh="1m30s")
    assert converge(standin, want) == [Action.CREATE, Action.NOOP, Action.NOOP]
    assert standin.dashboard("dawg-go").json["refresh"] == "1m30s"  # type: ignore[union-attr]


def test_a_refresh_above_the_minimum_is_kept(standin: GrafanaStandIn) -> None:
    assert converge(standin, desired("dawg-30s", refresh="30s")) == [Action.CREATE, Action.NOOP, Action.NOOP]
    assert standin.dashboard("dawg-30s").json["refresh"] == "30s"  # type: ignore[union-attr]


# ---- titles and byte limits ------------------------------------------------------------------


def test_a_title_with_spaces_converges(standin: GrafanaStandIn) -> None:
    want = desired("dawg-spaces", title="  Padded title \t")
    assert converge(standin, want) == [Action.CREATE, Action.NOOP, Action.NOOP]
    assert standin.dashboard("dawg-spaces").json["title"] == "Padded title"  # type: ignore[union-attr]


def test_a_title_over_5000_bytes_is_refused_before_sending(standin: GrafanaStandIn) -> None:
    title = "é" * 2600  # 2600 characters, 5200 bytes
    with pytest.raises(GrafanaInvalidRequest, match="5200 bytes of UTF-8; Grafana allows at most 5000"):
        client(standin).save_dashboard({"uid": "dawg-long", "title": title})
    assert standin.count("POST") == 0 and standin.dashboard("dawg-long") is None


def test_a_long_message_is_cut_at_500_bytes(standin: GrafanaStandIn) -> None:
    runner = client(standin)
    runner.save_dashboard({"uid": "dawg-msg", "title": "Msg"})
    saved = runner.save_dashboard({"uid": "dawg-msg", "title": "Msg", "version": 1}, message="ü" * 400)
    assert saved.version == 2  # 800 bytes would be a 400 "message too long"
    message = standin.dashboard("dawg-msg").history[-1]["message"]  # type: ignore[union-attr]
    assert len(message.encode()) == 499 and message == "ü" * 248 + "..."


# ---- nested folders -----------------------------------------------------------------------------


def test_nested_folders_detected_and_a_deep_path_refused_before_writing(standin: GrafanaStandIn) -> None:
    runner = client(standin)
    assert runner.info().nested_folders is standin.profile.nested_folders
    top = runner.ensure_folder_path(["Team"])
    assert top is not None and top.parent_uid == ""
    if standin.profile.nested_folders:
        leaf = runner.ensure_folder_path(["Team", "Child"])
        assert leaf is not None and leaf.parent_uid == top.uid
        return
    posts = standin.count("POST")
    with pytest.raises(
        GrafanaUnsupported, match=r"2 levels but this Grafana \(10.4.3\) has nested folders off"
    ):
        runner.ensure_folder_path(["Team", "Child"])
    assert standin.count("POST") == posts and len(standin.orgs[1].folders) == 1


@pytest.mark.parametrize(
    ("version", "toggles", "nested"),
    [
        ("13.0.1", {"dashboardNewLayouts": True}, True),  # toggle removed in 12.2 (PR #109212)
        ("12.2.0", {}, True),
        ("10.4.3", {}, False),  # off: not listed (only enabled toggles are)
        ("10.4.3", {"nestedFolders": True}, True),  # turned on by hand
    ],
)
def test_an_absent_nested_folders_toggle_means_the_version_decides(
    version: str, toggles: dict[str, bool], nested: bool
) -> None:
    info = detect(
        {"database": "ok", "version": version}, {"featureToggles": toggles, "minRefreshInterval": "5s"}
    )
    assert info.nested_folders is nested


def test_a_deep_path_on_13_with_settings_readable_is_created_nested() -> None:
    """Review finding 1: 13.x settings do not list `nestedFolders`; a two-level path must work."""
    server = GrafanaStandIn("13.0", tokens={TOKEN: (1, "Admin")}).start()
    try:
        runner = client(server)
        leaf = runner.ensure_folder_path(["Team", "Child"])
        assert leaf is not None and leaf.parent_uid != ""
        assert {f.parent_uid for f in server.orgs[1].folders.values()} == {"", leaf.parent_uid}
    finally:
        server.stop()


def test_nested_folders_unknown_a_flattened_create_is_caught() -> None:
    """Version and settings hidden: the create is sent, and the folder coming back at the root is caught."""
    server = GrafanaStandIn("10.4", tokens={TOKEN: (1, "Admin")}).start()
    try:
        server.frontend_settings = False
        server.hide_version = True
        runner = client(server)
        assert runner.info().nested_folders is None
        with pytest.raises(GrafanaUnsupported, match="put it under 'the root'"):
            runner.ensure_folder_path(["Team", "Child"])
    finally:
        server.stop()


def test_flat_folder_list_never_matches_another_parent(standin: GrafanaStandIn) -> None:
    runner = client(standin)
    runner.create_folder("Shared name", uid="foreign-top")
    if standin.profile.nested_folders:
        parent = runner.create_folder("Parent", uid="parent")
        runner.create_folder("Inner", uid="inner", parent_uid=parent.uid)
        assert [f.uid for f in runner.child_folders("")] == ["parent", "foreign-top"] or {
            f.uid for f in runner.child_folders("")
        } == {"parent", "foreign-top"}
        assert [f.uid for f in runner.child_folders(parent.uid)] == ["inner"]
    else:
        assert {f.uid for f in runner.child_folders("some-parent")} == set()  # flat list, filtered


def test_dawgs_own_folder_is_preferred_among_same_titles(standin: GrafanaStandIn) -> None:
    if standin.profile.unique_titles:
        pytest.skip("titles are unique under one parent up to 11.2 (PR #90687)")
    runner = client(standin)
    runner.create_folder("Same", uid="aaa-someone-elses")
    own = runner.create_folder("Same", uid=ownership.folder_uid("", "Same"))
    assert runner.ensure_folder_path(["Same"]) == own
    assert standin.count("POST", "/api/folders") == 2


def test_a_foreign_folder_squatting_dawgs_uid_is_refused_and_never_deleted(standin: GrafanaStandIn) -> None:
    """Review finding 8 (repro4): someone pre-creates DAWG's derived uid with another title."""
    uid = ownership.folder_uid("", "Team A")
    runner = client(standin)
    runner.create_folder("Mallory's private folder", uid=uid)
    with pytest.raises(GrafanaConflict, match=r"already exists with the title \"Mallory's private folder\""):
        runner.ensure_folder_path(["Team A"])
    assert [(f.uid, f.title) for f in standin.orgs[1].folders.values()] == [(uid, "Mallory's private folder")]
    assert not runner.delete_folder_if_owned_and_empty(uid)  # empty, dawgf- prefix, but not DAWG's
    assert uid in standin.orgs[1].folders and standin.count("DELETE") == 0


def test_save_answer_without_folder_uid_keeps_the_folder(standin: GrafanaStandIn) -> None:
    runner = client(standin)
    folder = runner.ensure_folder_path(["Answers"])
    assert folder is not None
    saved = runner.save_dashboard({"uid": "dawg-in", "title": "In"}, folder_uid=folder.uid)
    assert saved.folder_uid == folder.uid


# ---- search --------------------------------------------------------------------------------------


def test_managed_dashboards_are_only_the_owners_whatever_search_does(standin: GrafanaStandIn) -> None:
    runner = client(standin)
    runner.save_dashboard(ownership.mark({"uid": "mine", "title": "Mine"}, OWNER))
    runner.save_dashboard(ownership.mark({"uid": "theirs", "title": "Theirs"}, "k8s-other"))
    runner.save_dashboard({"uid": "tagged", "title": "Tagged", "tags": [ownership.owner_tag(OWNER)]})
    list(runner.search())  # the unified index (13.x) catches up after a search
    assert [hit.uid for hit in runner.managed_dashboards(OWNER)] == ["mine"]


def test_folder_emptiness_comes_from_counts_not_the_lagging_index(standin: GrafanaStandIn) -> None:
    runner = client(standin)
    folder = runner.ensure_folder_path(["Busy"])
    assert folder is not None
    list(runner.search())
    runner.save_dashboard({"uid": "just-moved-in", "title": "New"}, folder_uid=folder.uid)
    assert runner.delete_folder_if_owned_and_empty(folder.uid) is False
    assert standin.dashboard("just-moved-in") is not None and runner.get_folder(folder.uid) is not None
    assert standin.count("DELETE") == 0


def test_a_folder_this_pass_wrote_into_is_kept_whatever_the_counts_say(standin: GrafanaStandIn) -> None:
    """Review finding 4: on 12.x/13.x the counts read the lagging index too."""
    runner = client(standin)
    folder = runner.ensure_folder_path(["Moved into"])
    assert folder is not None
    if standin.profile.lagging_counts:
        assert runner.folder_counts(folder.uid) == {
            "folder": 0,
            "dashboard": 0,
            "librarypanel": 0,
            "alertrule": 0,
        }
    runner.save_dashboard({"uid": "moved-in", "title": "Moved"}, folder_uid=folder.uid)
    later = GrafanaClient(runner.connection)  # another thread's client: the pass shares one connection
    assert later.delete_folder_if_owned_and_empty(folder.uid) is False
    assert standin.dashboard("moved-in") is not None and folder.uid in standin.orgs[1].folders
    assert standin.count("DELETE") == 0


def test_a_dashboard_moved_in_by_someone_else_is_seen_by_the_second_check(standin: GrafanaStandIn) -> None:
    """Review finding 4: the first (lagging) count says empty; the second, after a pause, does not."""
    mine = client(standin)
    folder = mine.ensure_folder_path(["Pruned"])
    assert folder is not None
    mine.folder_counts(folder.uid)  # the index has caught up with the empty folder
    client(standin).save_dashboard({"uid": "alices", "title": "Alice's"}, folder_uid=folder.uid)
    slept: list[float] = []
    pruner = GrafanaClient(
        GrafanaConnection(standin.url, token=TOKEN, retry=FAST, timeout=(2.0, 2.0), dialect=Dialect.LEGACY),
        sleep=slept.append,
    )
    counts_before = standin.count("GET")
    assert pruner.delete_folder_if_owned_and_empty(folder.uid) is False
    assert standin.dashboard("alices") is not None and folder.uid in standin.orgs[1].folders
    assert standin.count("DELETE") == 0
    assert slept == ([2.0] if standin.profile.lagging_counts else [])
    assert standin.count("GET") > counts_before


def test_an_empty_dawg_folder_is_still_deleted(standin: GrafanaStandIn) -> None:
    mine = client(standin)
    folder = mine.ensure_folder_path(["Empty"])
    assert folder is not None
    slept: list[float] = []
    pruner = GrafanaClient(
        GrafanaConnection(standin.url, token=TOKEN, retry=FAST, timeout=(2.0, 2.0), dialect=Dialect.LEGACY),
        sleep=slept.append,
    )
    assert pruner.delete_folder_if_owned_and_empty(folder.uid) is True
    assert folder.uid not in standin.orgs[1].folders
    assert slept == ([2.0] if standin.profile.lagging_counts else [])


# ---- folder writes as safe as dashboard writes ----------------------------------------------------


@pytest.mark.parametrize("kind", [FaultKind.APPLIED_500, FaultKind.APPLIED_LOST])
def test_a_folder_create_that_landed_is_read_not_resent(standin: GrafanaStandIn, kind: FaultKind) -> None:
    standin.inject(Fault(kind, "POST", "/api/folders$"))
    folder = client(standin).ensure_folder_path(["Landed"])
    assert folder is not None and folder.uid == ownership.folder_uid("", "Landed")
    assert standin.count("POST", "/api/folders") == 1 and len(standin.orgs[1].folders) == 1


def test_a_landed_save_whose_re_reads_failed_is_recognised_on_the_conflict(standin: GrafanaStandIn) -> None:
    """The first answer is lost and every re-read fails; the resend meets DAWG's own write."""
    standin.inject(Fault(FaultKind.APPLIED_LOST, "POST", "/api/dashboards/db"))
    standin.inject(
        Fault(FaultKind.STATUS, "GET", "/api/dashboards/uid/dawg-own", times=FAST.attempts, status=503)
    )
    saved = client(standin).save_dashboard({"uid": "dawg-own", "title": "Own", "panels": []})
    assert saved.recovered and saved.version == 1
    assert standin.count("POST", "/api/dashboards/db") == 2
    assert standin.dashboard("dawg-own").version == 1  # type: ignore[union-attr]


def test_a_real_conflict_after_a_lost_answer_is_still_a_conflict(standin: GrafanaStandIn) -> None:
    runner = client(standin)
    runner.save_dashboard({"uid": "dawg-race", "title": "Race"})
    standin.ui_edit("dawg-race", {"title": "Edited by Alice"})
    standin.inject(Fault(FaultKind.RESET, "POST", "/api/dashboards/db"))
    from dawg_provider.errors import GrafanaConflict

    with pytest.raises(GrafanaConflict):
        runner.save_dashboard({"uid": "dawg-race", "title": "Race", "version": 1})
    assert standin.dashboard("dawg-race").json["title"] == "Edited by Alice"  # type: ignore[union-attr]
