"""The compiled-module cache loads only code MAC'd with a key the cache does not hold.

An attacker who can write into the cache directory as our user (a shared volume, a
restored backup) can make the files look right (mode, owner, a matching record); what
it cannot make is the MAC, because the key lives in the environment or in this process.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dawg_provider import Artifact, Runtime
from dawg_provider.errors import CacheError
from dawg_provider.wasm import modcache


@pytest.fixture(autouse=True)
def fresh_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(modcache.ENV_KEY, raising=False)
    monkeypatch.delenv(modcache.ENV_KEY_FILE, raising=False)
    modcache.cache_key.cache_clear()
    yield
    modcache.cache_key.cache_clear()


def entry(runtime: Runtime, artifact: Artifact) -> tuple[Path, Path]:
    paths = runtime.modules.paths(artifact.hexdigest)
    assert paths is not None
    return paths


def test_another_wasms_code_planted_under_this_key_is_not_loaded(
    fresh_cache: Path, examples: dict[str, Artifact]
) -> None:
    victim, other = examples["simple"], examples["service"]
    Runtime(fresh_cache).compile(victim)
    Runtime(fresh_cache).compile(other)
    code, record = entry(Runtime(fresh_cache), victim)
    other_code, other_record = entry(Runtime(fresh_cache), other)
    # The planted files are ours in every way the ownership checks see.
    shutil.copyfile(other_code, code)
    planted = json.loads(other_record.read_text())
    planted["key"] = code.stem
    record.write_text(json.dumps(planted))
    code.chmod(0o600)
    record.chmod(0o600)

    runtime = Runtime(fresh_cache)
    assert runtime.run(victim, "app_name: x").dashboard["title"].startswith("x")
    assert (runtime.modules.stats.disk_hits, runtime.modules.stats.rejected) == (0, 1)
    assert runtime.modules.stats.compiles == 1
    # The unrelated entry was not touched.
    assert other_code.exists() and json.loads(other_record.read_text()) != planted


def test_entries_from_another_process_key_are_recompiled(
    fresh_cache: Path, examples: dict[str, Artifact]
) -> None:
    artifact = examples["simple"]
    Runtime(fresh_cache).compile(artifact)
    modcache.cache_key.cache_clear()  # what a new process without a configured key sees
    runtime = Runtime(fresh_cache)
    runtime.compile(artifact)
    stats = runtime.modules.stats
    assert (stats.disk_hits, stats.rejected, stats.compiles) == (0, 0, 1)  # a quiet miss, then rewritten
    again = Runtime(fresh_cache)
    again.compile(artifact)
    assert (again.modules.stats.disk_hits, again.modules.stats.compiles) == (1, 0)


def test_a_configured_key_file_shares_the_cache_across_processes(
    fresh_cache: Path, examples: dict[str, Artifact], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef\n")
    monkeypatch.setenv(modcache.ENV_KEY_FILE, str(key))
    artifact = examples["simple"]
    Runtime(fresh_cache).compile(artifact)
    modcache.cache_key.cache_clear()
    runtime = Runtime(fresh_cache)
    runtime.compile(artifact)
    assert (runtime.modules.stats.disk_hits, runtime.modules.stats.compiles) == (1, 0)
    assert key.read_bytes() not in b"".join(p.read_bytes() for p in fresh_cache.rglob("*") if p.is_file())


@pytest.mark.parametrize("bad", ["directory", "empty", "short"])
def test_a_bad_key_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    path = tmp_path / "key"
    if bad == "directory":
        path.mkdir()
    elif bad == "empty":
        path.write_bytes(b"\n")
    elif bad == "short":  # a typo or `pulumi config set --secret dawg:moduleCacheKey test`
        path.write_bytes(b"a" * (modcache.MIN_KEY - 1) + b"\n")
    monkeypatch.setenv(modcache.ENV_KEY_FILE, str(path))
    with pytest.raises(CacheError, match=f"{modcache.ENV_KEY_FILE}={path}"):
        modcache.cache_key()


def test_a_key_file_mounted_from_a_secret_volume_is_read_through_its_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kubelet's layout (kubernetes pkg/volume/util/atomic_writer.go, `AtomicWriter.Write` step 7):
    key -> ..data/key, ..data -> ..<timestamp>/."""
    mount = tmp_path / "module-cache-key"
    (mount / "..2026_11_29_08_00_00.1").mkdir(parents=True)
    (mount / "..2026_11_29_08_00_00.1" / "key").write_bytes(b"c2VjcmV0LWtleS1ieXRlcw==\n")
    (mount / "..data").symlink_to("..2026_11_29_08_00_00.1")
    (mount / "key").symlink_to("..data/key")
    monkeypatch.delenv(modcache.ENV_KEY, raising=False)
    monkeypatch.setenv(modcache.ENV_KEY_FILE, str(mount / "key"))
    modcache.cache_key.cache_clear()
    assert modcache.cache_key() == b"c2VjcmV0LWtleS1ieXRlcw=="
    modcache.cache_key.cache_clear()


def test_a_short_key_in_the_environment_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(modcache.ENV_KEY_FILE, raising=False)
    monkeypatch.setenv(modcache.ENV_KEY, "test")
    modcache.cache_key.cache_clear()
    with pytest.raises(CacheError, match=f"{modcache.ENV_KEY}: a key must be at least 16 bytes") as raised:
        modcache.cache_key()
    assert "test" not in str(raised.value).replace(modcache.ENV_KEY, "")
    modcache.cache_key.cache_clear()


def test_a_missing_key_file_falls_back_to_a_per_process_key_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The optional Secret volume not created yet (a plain-manifest upgrade): the job runs, and says why
    every generator is compiled again; a second process gets another key (nothing shared)."""
    monkeypatch.delenv(modcache.ENV_KEY, raising=False)
    monkeypatch.setenv(modcache.ENV_KEY_FILE, str(tmp_path / "absent" / "key"))
    modcache.cache_key.cache_clear()
    with caplog.at_level("WARNING", logger="dawg.modcache"):
        first = modcache.cache_key()
    modcache.cache_key.cache_clear()
    assert len(first) == 32 and first != modcache.cache_key()
    assert "does not exist" in caplog.text and "compiled again" in caplog.text
    assert not (tmp_path / "absent").exists()
    modcache.cache_key.cache_clear()
