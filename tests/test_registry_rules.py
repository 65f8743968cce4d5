"""The registry rules that need no registry: transport choice, credentials, manifest checks."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from dawg_provider.errors import DawgError, InvalidArtifact
from dawg_provider.sources.credentials import docker_credentials
from dawg_provider.sources.manifest import OCI_MANIFEST, WASM_LAYER_MEDIA_TYPE, parse_manifest, wasm_layer
from dawg_provider.sources.reference import OciRef, parse_reference
from dawg_provider.sources.registry import RegistryClient, RegistryOptions
from dawg_provider.sources.transport import is_loopback

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("registry.example.com", False),
        ("registry.example.com:5000", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _url(options: RegistryOptions, text: str) -> str:
    ref = parse_reference(text)
    assert isinstance(ref, OciRef)
    return RegistryClient(options)._url(ref, "manifests", "v1")


def test_https_unless_loopback_or_listed_insecure() -> None:
    assert _url(RegistryOptions(), "oci://reg.example.com/a:v1").startswith("https://reg.example.com/v2/a/")
    assert _url(RegistryOptions(), "oci://127.0.0.1:5000/a:v1").startswith("http://127.0.0.1:5000/v2/")
    insecure = RegistryOptions(insecure=frozenset({"reg.lan:5000"}))
    assert _url(insecure, "oci://reg.lan:5000/a:v1").startswith("http://")
    assert _url(insecure, "oci://reg.lan:5001/a:v1").startswith("https://")


def test_insecure_registries_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAWG_INSECURE_REGISTRIES", "a.lan:5000, b.lan")
    monkeypatch.setenv("DAWG_REGISTRY_CA_BUNDLE", "/etc/dawg/ca.pem")
    options = RegistryOptions.from_env()
    assert options.insecure == {"a.lan:5000", "b.lan"}
    assert options.ca_bundle == "/etc/dawg/ca.pem"


def test_docker_config_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.json"
    auth = base64.b64encode(b"robot:pa:ss").decode()
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://ghcr.example.com": {"auth": auth},
                    "reg.lan:5000": {"username": "u", "password": "p"},
                    "localhost:5000": {"auth": auth},
                }
            }
        )
    )
    assert docker_credentials("ghcr.example.com", config) == ("robot", "pa:ss")
    assert docker_credentials("reg.lan:5000", config) == ("u", "p")
    assert docker_credentials("127.0.0.1:5000", config) == ("robot", "pa:ss")
    assert docker_credentials("other.example.com", config) is None
    assert docker_credentials("x", tmp_path / "missing.json") is None
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert docker_credentials("ghcr.example.com") == ("robot", "pa:ss")


def test_unreadable_docker_config_names_the_file_not_its_contents(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"auths": {"r": {"auth": "c2VjcmV0OnNlY3JldA=="}')
    with pytest.raises(DawgError) as caught:
        docker_credentials("r", config)
    assert str(config) in str(caught.value) and "c2VjcmV0" not in str(caught.value)


def manifest(layers: list[dict[str, object]], **extra: object) -> bytes:
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": D1, "size": 2},
        "layers": layers,
        **extra,
    }
    return json.dumps(body).encode()


def test_manifest_checks() -> None:
    good = parse_manifest("g", manifest([{"mediaType": WASM_LAYER_MEDIA_TYPE, "digest": D2, "size": 10}]), D1)
    assert wasm_layer("g", good, 100).digest == D2
    with pytest.raises(InvalidArtifact, match="over the 5 B limit"):
        wasm_layer("g", good, 5)
    with pytest.raises(InvalidArtifact, match="not JSON"):
        parse_manifest("g", b"<html>", D1)
    with pytest.raises(InvalidArtifact, match="lacks mediaType, digest or size"):
        parse_manifest("g", manifest([{"mediaType": WASM_LAYER_MEDIA_TYPE, "digest": D2}]), D1)
    with pytest.raises(InvalidArtifact, match="unsupported manifest media type"):
        parse_manifest(
            "g", manifest([], mediaType="application/vnd.docker.distribution.manifest.v1+json"), D1
        )
    with pytest.raises(InvalidArtifact, match="unsupported digest"):
        parse_manifest(
            "g", manifest([{"mediaType": WASM_LAYER_MEDIA_TYPE, "digest": "md5:x", "size": 1}]), D1
        )
