"""`dawg preview` against the Grafana stand-in: one scratch dashboard per (generator, config),
replaced on every render; `--watch` follows edits and survives a broken config."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from dawg_provider.grafana import ownership
from dawg_provider.kit.preview import OWNER, changes, preview_uid
from tests.grafana_standin import GrafanaStandIn

TOKEN = "glsa_preview_secret"


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    server = GrafanaStandIn("12.0", tokens={TOKEN: (1, "Admin")}).start()
    yield server
    server.stop()


def command(cache: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "DAWG_CACHE_DIR": str(cache), "GRAFANA_TOKEN": TOKEN}
    return [sys.executable, "-m", "dawg_provider.cli", "preview", *args], env


def test_preview_saves_one_scratch_dashboard_and_prints_its_url(
    grafana: GrafanaStandIn, example_wasm: dict[str, Path], session_cache: Path, tmp_path: Path
) -> None:
    config = tmp_path / "app.yaml"
    config.write_text("app_name: web\n")
    args, env = command(
        session_cache, str(example_wasm["simple"]), "--config", str(config), "--grafana-url", grafana.url
    )
    urls = []
    for _ in (1, 2):  # a second render replaces the same dashboard
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        # The version is Grafana's: legacy counts every save, /apis (12.0 here) only spec changes.
        version, _, url = result.stdout.strip().removeprefix("preview v").partition(": ")
        assert version.isdigit() and url.startswith(f"{grafana.url}/d/")
        urls.append(url)
    assert urls[0] == urls[1]
    uid = preview_uid(str(example_wasm["simple"]), str(config.resolve()))
    stored = grafana.dashboard(uid)
    assert stored is not None and stored.json["title"] == "web"
    assert ownership.owner_tag(OWNER) in stored.json["tags"]
    assert TOKEN not in result.stdout + result.stderr

    before = stored.version, stored.resource_version
    config.write_text("app: web\n")  # a typo: refused before the generator runs, nothing written
    refused = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and 'unknown field "app"' in refused.stderr
    after = grafana.dashboard(uid)
    assert after is not None and (after.version, after.resource_version) == before


def _line(stream: IO[str], deadline: float) -> str:
    while time.monotonic() < deadline:
        line = stream.readline()
        if line:
            return line
    raise AssertionError("no line from dawg preview --watch")


def test_watch_rerenders_on_change_and_waits_out_a_broken_config(
    grafana: GrafanaStandIn, example_wasm: dict[str, Path], session_cache: Path, tmp_path: Path
) -> None:
    config = tmp_path / "app.yaml"
    config.write_text("app_name: one\n")
    args, env = command(
        session_cache,
        str(example_wasm["simple"]),
        "--config",
        str(config),
        "--grafana-url",
        grafana.url,
        "--watch",
        "--interval",
        "0.05",
    )
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    try:
        deadline = time.monotonic() + 60
        assert _line(process.stdout, deadline).startswith("preview v1: ")
        config.write_text("app_name: two-two\n")
        assert _line(process.stdout, deadline).startswith("preview v2: ")
        config.write_text("app_name: [broken\n")
        while "dawg: error:" not in _line(process.stderr, deadline):
            pass  # the model's warnings on the earlier renders come first
        while "waiting for a change" not in _line(process.stderr, deadline):
            pass  # the rest of the error message (one line per bad field)
        config.write_text("app_name: three\n")
        assert _line(process.stdout, deadline).startswith("preview v3: ")
    finally:
        process.terminate()
        process.wait(timeout=10)
    uid = preview_uid(str(example_wasm["simple"]), str(config.resolve()))
    assert grafana.dashboard(uid).json["title"] == "three"  # type: ignore[union-attr]


def test_changes_yields_at_once_then_on_each_change(tmp_path: Path) -> None:
    watched = tmp_path / "f"
    ticks: list[float] = []

    def sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) == 2:
            watched.write_text("changed")

    events = changes([watched], 0.1, sleep)
    next(events)
    next(events)  # the file appeared on the second poll
    assert ticks == [0.1, 0.1]


def test_preview_refuses_what_render_refuses_and_shows_the_model_warnings(
    grafana: GrafanaStandIn, session_cache: Path, tmp_path: Path
) -> None:
    from generators.build import Language, build
    from tests.conftest import HOSTILE

    gen = str(build(Language.C, HOSTILE / "hostile.c", tmp_path / "hostile.wasm"))
    config = tmp_path / "broken.yaml"
    config.write_text('raw {"title":"t","schemaVersion":39,"panels":[{"type":"text","gridPos":{"h":"8"}}]}\n')
    args, env = command(session_cache, gen, "--config", str(config), "--grafana-url", grafana.url)
    grafana.reset_counts()
    refused = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "panels[0].gridPos" in refused.stderr
    assert grafana.dashboard(preview_uid(gen, str(config.resolve()))) is None
    assert grafana.count("POST") == 0 and grafana.count("PUT") == 0  # not even the scratch folder

    config.write_text('raw {"title":"t","schemaVersion":39,"panels":[{"type":"nope"}]}\n')
    warned = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert warned.returncode == 0, warned.stderr
    assert "'nope' is not a core panel type" in warned.stderr


def test_preview_never_overwrites_a_dashboard_that_is_not_a_preview(
    grafana: GrafanaStandIn, session_cache: Path, tmp_path: Path
) -> None:
    from dawg_provider.grafana import GrafanaClient, GrafanaConnection
    from generators.build import Language, build
    from tests.conftest import HOSTILE

    gen = str(build(Language.C, HOSTILE / "hostile.c", tmp_path / "hostile.wasm"))
    config = tmp_path / "app.yaml"
    config.write_text('raw {"title":"mine","schemaVersion":39}\n')
    uid = preview_uid(gen, str(config.resolve()))
    GrafanaClient(GrafanaConnection(grafana.url, token=TOKEN)).save_dashboard({"uid": uid, "title": "Theirs"})
    before = grafana.dashboard(uid)
    assert before is not None
    folders = dict(grafana.orgs[1].folders)
    args, env = command(session_cache, gen, "--config", str(config), "--grafana-url", grafana.url)
    refused = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and f"dashboard {uid} exists in Grafana and is not a dawg preview" in (
        refused.stderr
    )
    after = grafana.dashboard(uid)
    assert after is not None and after.json["title"] == "Theirs" and after.version == before.version
    assert dict(grafana.orgs[1].folders) == folders  # no scratch folder either


def test_two_developers_with_the_same_paths_get_two_previews() -> None:
    ours = preview_uid("dist/gen.wasm", "/workspace/example.yaml", "alice@devbox-1")
    theirs = preview_uid("dist/gen.wasm", "/workspace/example.yaml", "bob@devbox-2")
    assert ours != theirs
    assert ours == preview_uid("dist/gen.wasm", "/workspace/example.yaml", "alice@devbox-1")  # stable


@pytest.mark.parametrize("profile", ["10.4", "11.5"])
def test_a_v2_preview_on_a_grafana_without_v2_writes_nothing_not_even_the_folder(profile: str) -> None:
    """Review finding 6: the refusal comes before the scratch folder is made."""
    from dawg_provider.errors import GrafanaUnsupported
    from dawg_provider.grafana import GrafanaClient, GrafanaConnection
    from dawg_provider.kit.preview import publish
    from tests.test_grafana_v2 import carried

    server = GrafanaStandIn(profile, tokens={TOKEN: (1, "Admin")}).start()
    try:
        client = GrafanaClient(GrafanaConnection(server.url, token=TOKEN, timeout=(2.0, 2.0)))
        with pytest.raises(GrafanaUnsupported) as caught:
            publish(client, carried(), "dawg-prev-v2", "DAWG previews")
        assert "dawg-prev-v2" in str(caught.value) and "v2" in str(caught.value)
        assert server.count("POST") == server.count("PUT") == server.count("DELETE") == 0
        assert not server.orgs[1].folders and server.dashboard("dawg-prev-v2") is None
    finally:
        server.stop()
