"""Generators from a real OCI registry (Debian's docker-registry): push, pull, verify, cache."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dawg_provider import Runtime
from dawg_provider.errors import (
    ArtifactNotFound,
    DigestMismatch,
    InvalidArtifact,
    RegistryAuthError,
    RegistryUnreachable,
)
from dawg_provider.sources.fetch import Fetcher
from dawg_provider.sources.manifest import (
    EMPTY_CONFIG,
    EMPTY_CONFIG_MEDIA_TYPE,
    OCI_INDEX,
    OCI_MANIFEST,
    WASM_LAYER_MEDIA_TYPE,
    WASM_TO_OCI_CONFIG,
)
from dawg_provider.sources.reference import OciRef, parse_reference
from dawg_provider.sources.registry import RegistryClient, RegistryOptions
from tests.registry import RegistryProcess

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "dawg-ci", "correct horse battery staple"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    server = RegistryProcess(tmp_path_factory.mktemp("registry"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    """A registry this test may stop or tamper with."""
    server = RegistryProcess(tmp_path / "registry")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    server = RegistryProcess(tmp_path_factory.mktemp("auth-registry"), credentials=(USER, PASSWORD))
    server.start()
    yield server
    server.stop()


def oci(text: str) -> OciRef:
    ref = parse_reference(text)
    assert isinstance(ref, OciRef)
    return ref


def push(server: RegistryProcess, repository: str, tag: str, wasm: bytes, **options: object) -> str:
    client = RegistryClient(RegistryOptions(**options))  # type: ignore[arg-type]
    manifest = client.push(
        oci(server.url(repository, tag)), wasm, {"org.opencontainers.image.version": tag}, "g.wasm"
    )
    return manifest.digest


def push_manifest(
    server: RegistryProcess, repository: str, tag: str, manifest: dict[str, object], blobs: list[bytes]
) -> str:
    """Push an arbitrary manifest (for the odd artifacts other tools make)."""
    client = RegistryClient(RegistryOptions())
    ref = oci(server.url(repository, tag))
    for blob in blobs:
        client.upload_blob(ref, descriptor(blob, "application/octet-stream"), blob)
    return client.put_manifest(ref, manifest)[0]


def descriptor(data: bytes, media_type: str) -> dict[str, object]:
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


@pytest.fixture(scope="module")
def simple_wasm(example_wasm: dict[str, Path]) -> bytes:
    return example_wasm["simple"].read_bytes()


def test_push_then_pull_round_trip(registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path) -> None:
    manifest_digest = push(registry, "dawg/simple", "v1", simple_wasm)
    fetched = Fetcher(tmp_path).fetch(registry.url("dawg/simple", "v1"))
    assert fetched.artifact.wasm == simple_wasm
    assert fetched.artifact.digest == "sha256:" + hashlib.sha256(simple_wasm).hexdigest()
    assert fetched.artifact.manifest_digest == manifest_digest
    assert isinstance(fetched.ref, OciRef) and fetched.ref.digest == manifest_digest
    assert fetched.manifest is not None
    assert fetched.manifest.artifact_type == "application/vnd.dawg.generator.v1"
    assert fetched.manifest.config.media_type == EMPTY_CONFIG_MEDIA_TYPE
    assert fetched.warnings == ()


def test_pushed_generator_renders(
    registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path, runtime: Runtime
) -> None:
    push(registry, "dawg/render", "v1", simple_wasm)
    artifact = Fetcher(tmp_path).fetch(registry.url("dawg/render", "v1")).artifact
    assert runtime.run(artifact, "app_name: from-the-registry").dashboard["title"] == "from-the-registry"


def test_pinned_and_cached_needs_no_registry(
    own_registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    digest = push(own_registry, "dawg/pinned", "v1", simple_wasm)
    pinned = f"{own_registry.url('dawg/pinned', 'v1')}@{digest}"
    Fetcher(tmp_path).fetch(pinned)
    own_registry.stop()
    offline = Fetcher(tmp_path)
    fetched = offline.fetch(pinned)
    assert fetched.artifact.wasm == simple_wasm
    assert offline._client is None  # no registry client was even created: zero requests


def test_tag_with_registry_down_is_a_clear_error_or_served_with_a_warning(
    own_registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    push(own_registry, "dawg/tagged", "v1", simple_wasm)
    ref = own_registry.url("dawg/tagged", "v1")
    known = Fetcher(tmp_path).fetch(ref).artifact.digest
    own_registry.stop()
    with pytest.raises(RegistryUnreachable) as caught:
        Fetcher(tmp_path).fetch(ref)
    assert str(caught.value).startswith(
        f"{ref}: registry {own_registry.host} did not answer: connection refused"
    )
    fetched = Fetcher(tmp_path).fetch(ref, known_digest=known)
    assert fetched.artifact.wasm == simple_wasm
    (warning,) = fetched.warnings
    assert "did not answer" in warning and known in warning
    # A known digest that was never stored cannot be served.
    with pytest.raises(RegistryUnreachable):
        Fetcher(tmp_path).fetch(ref, known_digest="sha256:" + "0" * 64)


def test_tampered_blob_is_refused_and_never_stored(
    own_registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    push(own_registry, "dawg/tampered", "v1", simple_wasm)
    blob = own_registry.blob_path("sha256:" + hashlib.sha256(simple_wasm).hexdigest())
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))
    fetcher = Fetcher(tmp_path)
    with pytest.raises(DigestMismatch, match="it was not stored or run"):
        fetcher.fetch(own_registry.url("dawg/tampered", "v1"))
    stored = list((tmp_path / "blobs" / "sha256").iterdir())
    assert all(json.loads(path.read_bytes())["schemaVersion"] == 2 for path in stored)  # only the manifest
    assert not [p for p in stored if p.name.endswith(".part")]


def test_layer_with_the_wrong_media_type_is_refused(
    registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    layer = descriptor(simple_wasm, "application/octet-stream")
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(EMPTY_CONFIG, EMPTY_CONFIG_MEDIA_TYPE),
        "layers": [layer],
    }
    push_manifest(registry, "dawg/wrongtype", "v1", manifest, [EMPTY_CONFIG, simple_wasm])
    with pytest.raises(
        InvalidArtifact,
        match=r"manifest has no layers of type application/vnd\.wasm\.content\.layer\.v1\+wasm "
        r"\(found: application/octet-stream\)",
    ):
        Fetcher(tmp_path).fetch(registry.url("dawg/wrongtype", "v1"))


def test_manifest_with_two_wasm_layers_is_refused(
    registry: RegistryProcess, simple_wasm: bytes, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    other = example_wasm["service"].read_bytes()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(EMPTY_CONFIG, EMPTY_CONFIG_MEDIA_TYPE),
        "layers": [descriptor(simple_wasm, WASM_LAYER_MEDIA_TYPE), descriptor(other, WASM_LAYER_MEDIA_TYPE)],
    }
    push_manifest(registry, "dawg/twolayers", "v1", manifest, [EMPTY_CONFIG, simple_wasm, other])
    with pytest.raises(InvalidArtifact, match="manifest has 2 layers of type"):
        Fetcher(tmp_path).fetch(registry.url("dawg/twolayers", "v1"))


def test_wasm_to_oci_artifacts_are_accepted(
    registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    config = b'{"created":"2021-01-01T00:00:00Z"}'
    manifest = {
        "schemaVersion": 2,
        "config": descriptor(config, WASM_TO_OCI_CONFIG),
        "layers": [descriptor(simple_wasm, WASM_LAYER_MEDIA_TYPE)],
    }
    push_manifest(registry, "legacy/simple", "v0.0.1", manifest, [config, simple_wasm])
    assert Fetcher(tmp_path).fetch(registry.url("legacy/simple", "v0.0.1")).artifact.wasm == simple_wasm


def test_image_index_is_refused(registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path) -> None:
    child = push(registry, "dawg/indexed", "child", simple_wasm)
    child_size = len(RegistryClient().fetch_manifest(oci(registry.url("dawg/indexed", "child"))).raw)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child, "size": child_size}],
    }
    push_manifest(registry, "dawg/indexed", "index", index, [])
    with pytest.raises(InvalidArtifact, match="is an image index"):
        Fetcher(tmp_path).fetch(registry.url("dawg/indexed", "index"))


def test_missing_tag_and_repository_are_not_found(
    registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    push(registry, "dawg/exists", "v1", simple_wasm)
    with pytest.raises(ArtifactNotFound, match="repository dawg/exists has no tag 'v2'"):
        Fetcher(tmp_path).fetch(registry.url("dawg/exists", "v2"))
    with pytest.raises(ArtifactNotFound, match="repository dawg/nothing-here has no tag 'v1'"):
        Fetcher(tmp_path).fetch(registry.url("dawg/nothing-here", "v1"))
    missing = "sha256:" + "b" * 64
    with pytest.raises(ArtifactNotFound, match=f"has no manifest {missing}"):
        Fetcher(tmp_path).fetch(f"oci://{registry.host}/dawg/exists@{missing}")


def test_latest_is_the_default_tag_and_says_so(
    registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    push(registry, "dawg/latest", "latest", simple_wasm)
    fetched = Fetcher(tmp_path).fetch(f"oci://{registry.host}/dawg/latest")
    (warning,) = fetched.warnings
    assert "using ':latest'" in warning


def test_oversize_blob_is_refused_before_download(
    registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    push(registry, "dawg/big", "v1", simple_wasm)
    fetcher = Fetcher(tmp_path, RegistryOptions(max_blob_size=1024))
    with pytest.raises(InvalidArtifact, match=r"its wasm layer is \d+\.\d KiB, over the 1 KiB limit"):
        fetcher.fetch(registry.url("dawg/big", "v1"))
    assert fetcher.client.requests == 1  # the manifest only


def test_credentials_from_options_and_docker_config(
    auth_registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    push(auth_registry, "private/simple", "v1", simple_wasm, username=USER, password=PASSWORD)
    docker = tmp_path / "docker"
    docker.mkdir()
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (docker / "config.json").write_text(
        json.dumps({"auths": {f"http://{auth_registry.host}": {"auth": token}}})
    )
    os.environ["DOCKER_CONFIG"] = str(docker)
    try:
        fetched = Fetcher(tmp_path / "cache", RegistryOptions()).fetch(
            auth_registry.url("private/simple", "v1")
        )
    finally:
        del os.environ["DOCKER_CONFIG"]
    assert fetched.artifact.wasm == simple_wasm


def test_wrong_or_missing_credentials_are_clear_and_secret_free(
    auth_registry: RegistryProcess, simple_wasm: bytes, tmp_path: Path
) -> None:
    push(auth_registry, "private/other", "v1", simple_wasm, username=USER, password=PASSWORD)
    ref = auth_registry.url("private/other", "v1")
    wrong = "not-the-password-xyzzy"
    with pytest.raises(RegistryAuthError) as caught:
        Fetcher(
            tmp_path, RegistryOptions(username=USER, password=wrong, docker_config=tmp_path / "none.json")
        ).fetch(ref)
    message = str(caught.value)
    assert "refused access to tag private/other:v1 (HTTP 401)" in message
    assert wrong not in message and base64.b64encode(f"{USER}:{wrong}".encode()).decode() not in message
    assert "RegistryOptions" not in message and wrong not in repr(
        RegistryOptions(username=USER, password=wrong)
    )
    with pytest.raises(
        RegistryAuthError, match="wants credentials for tag private/other:v1, and none are configured"
    ):
        Fetcher(tmp_path, RegistryOptions(docker_config=tmp_path / "none.json")).fetch(ref)


def test_parallel_pulls_of_one_digest_from_threads(
    registry: RegistryProcess, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    wasm = example_wasm["deployment"].read_bytes()
    push(registry, "dawg/parallel", "v1", wasm)
    ref = registry.url("dawg/parallel", "v1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        fetched = list(pool.map(lambda _: Fetcher(tmp_path).fetch(ref), range(8)))
    assert {f.artifact.digest for f in fetched} == {"sha256:" + hashlib.sha256(wasm).hexdigest()}
    assert all(f.artifact.wasm == wasm for f in fetched)
    leftovers = [p for p in (tmp_path / "blobs" / "sha256").iterdir() if not p.name.isalnum()]
    assert leftovers == []


def test_parallel_pulls_of_one_digest_from_two_processes(
    registry: RegistryProcess, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    wasm = example_wasm["deployment"].read_bytes()
    push(registry, "dawg/processes", "v1", wasm)
    ref = registry.url("dawg/processes", "v1")
    env = {**os.environ, "DAWG_CACHE_DIR": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dawg_provider.cli", "pull", ref, "-o", str(tmp_path / f"out{i}.wasm")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    assert (tmp_path / "out0.wasm").read_bytes() == wasm == (tmp_path / "out1.wasm").read_bytes()
    stored = tmp_path / "cache" / "blobs" / "sha256" / hashlib.sha256(wasm).hexdigest()
    assert stored.read_bytes() == wasm


def test_cli_push_pull_inspect_render(
    registry: RegistryProcess, example_wasm: dict[str, Path], tmp_path: Path
) -> None:
    env = {**os.environ, "DAWG_CACHE_DIR": str(tmp_path / "cache"), "SOURCE_DATE_EPOCH": "1700000000"}

    def dawg(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dawg_provider.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    ref = registry.url("dawg/deployment", "v1")
    pushed = dawg(
        "push",
        str(example_wasm["deployment"]),
        ref,
        "--source",
        "https://git.example.com/dawg",
        "--description",
        "Deployment dashboards",
    )
    assert pushed.returncode == 0, pushed.stderr
    digest = pushed.stdout.split("digest: ")[1].strip()
    assert digest.startswith("sha256:")
    # The same bytes and the same SOURCE_DATE_EPOCH give the same manifest digest.
    again = dawg(
        "push",
        str(example_wasm["deployment"]),
        ref,
        "--source",
        "https://git.example.com/dawg",
        "--description",
        "Deployment dashboards",
    )
    assert again.stdout.split("digest: ")[1].strip() == digest

    inspected = dawg("inspect", ref, "--json")
    assert inspected.returncode == 0, inspected.stderr
    facts = json.loads(inspected.stdout)
    assert facts["manifest"]["digest"] == digest
    assert facts["manifest"]["layerMediaType"] == WASM_LAYER_MEDIA_TYPE
    assert facts["manifest"]["annotations"] == {
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
        "org.opencontainers.image.description": "Deployment dashboards",
        "org.opencontainers.image.source": "https://git.example.com/dawg",
        "org.opencontainers.image.title": "deployment.wasm",
        "org.opencontainers.image.version": "v1",
        # Copied from the bytes by push (dawg_provider/kit/publish.py).
        "cc.urcloud.dawg.contract": "wasi-preview1-command",
        "cc.urcloud.dawg.config-schema": json.dumps(
            json.loads((ROOT / "generators" / "deployment" / "schema.json").read_text()),
            sort_keys=True,
            separators=(",", ":"),
        ),
    }
    assert facts["contract"] == "wasi-preview1-command"

    pulled = dawg("pull", ref, "-o", str(tmp_path / "pulled.wasm"))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "pulled.wasm").read_bytes() == example_wasm["deployment"].read_bytes()

    rendered = dawg("render", f"{ref}@{digest}", "--config", "-", stdin="namespace: shop\nname: cart\n")
    assert rendered.returncode == 0, rendered.stderr
    assert json.loads(rendered.stdout)["title"] == "Deployment shop/cart"


def test_cli_refuses_to_push_what_is_not_wasm(registry: RegistryProcess, tmp_path: Path) -> None:
    script = tmp_path / "gen.wasm"
    script.write_text("#!/bin/sh\n")
    result = subprocess.run(
        [sys.executable, "-m", "dawg_provider.cli", "push", str(script), registry.url("dawg/notwasm", "v1")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "is not a WebAssembly binary" in result.stderr and "Traceback" not in result.stderr
    missing_tag = subprocess.run(
        [sys.executable, "-m", "dawg_provider.cli", "push", str(script), f"oci://{registry.host}/dawg/notag"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "push needs oci://HOST/REPO:TAG" in missing_tag.stderr
