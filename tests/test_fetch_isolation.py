"""One fetch never spoils another: tokens are per repository scope, deadlines per fetch.

Stand-in behaviour (tests/registry_faults.py) and its sources:
- a token registry mints a token for the scope its 401 challenge names and accepts it for
  that repository only: "Tokens used by the registry are always restricted what resources
  they may be used to access" (distribution/distribution docs/spec/auth/scope.md); the
  challenge names the scope to request (docs/spec/auth/token.md, "How to authenticate").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dawg_provider.sources.fetch import Fetcher
from dawg_provider.sources.registry import RegistryOptions
from dawg_provider.sources.transport import repository_of
from tests.registry_faults import WASM, Answer, FaultServer, body, fault_servers, manifest_for, sha256

PASSWORD = "s3cret-registry-password"


@pytest.fixture
def token_registry() -> Iterator[FaultServer]:
    """Repositories team-a/gen and team-b/gen, each readable only with its own scope's token."""
    with fault_servers(1) as (registry,):
        for repository in ("team-a/gen", "team-b/gen"):
            scope = f"repository:{repository}:pull"
            challenge = f'Bearer realm="{registry.url("/token")}",service="reg",scope="{scope}"'

            def guarded(answer: Answer, scope: str = scope, challenge: str = challenge) -> object:
                return lambda headers: (
                    answer
                    if headers.get("Authorization") == f"Bearer tok:{scope}"
                    else Answer(status=401, headers={"WWW-Authenticate": challenge}, length=0)
                )

            registry.routes[f"/v2/{repository}/manifests/v1"] = guarded(body(manifest_for(WASM)))  # type: ignore[assignment]
            registry.routes[f"/v2/{repository}/blobs/{sha256(WASM)}"] = guarded(body(WASM))  # type: ignore[assignment]

        def mint(headers: dict[str, str]) -> Answer:
            scope = parse_qs(urlsplit(registry.seen[-1][1]).query).get("scope", [""])[0]
            return body(f'{{"token": "tok:{scope}"}}'.encode())

        registry.routes["/token"] = mint
        yield registry


def test_repository_of_is_a_pure_function() -> None:
    assert repository_of("https://r.example/v2/team-a/gen/manifests/v1") == "team-a/gen"
    assert repository_of("https://r.example/v2/a/b/c/blobs/sha256:00") == "a/b/c"
    assert repository_of("https://r.example/v2/team/gen/blobs/uploads/") == "team/gen"
    assert repository_of("https://r.example/v2/") == ""


def test_each_repository_on_a_token_registry_gets_its_own_scoped_token(
    tmp_path: Path, token_registry: FaultServer
) -> None:
    fetcher = Fetcher(tmp_path / "cache", RegistryOptions(username="team", password=PASSWORD))
    host = token_registry.host
    first = fetcher.fetch(f"oci://{host}/team-a/gen:v1")
    second = fetcher.fetch(f"oci://{host}/team-b/gen:v1")  # the same oras Registry and Auth
    assert first.artifact.digest == second.artifact.digest == sha256(WASM)
    for method, path, authorization in token_registry.seen:
        if path.startswith("/v2/team-b/") and authorization is not None:
            assert authorization == "Bearer tok:repository:team-b/gen:pull", (method, path)
        if path.startswith("/v2/team-a/") and authorization is not None:
            assert authorization == "Bearer tok:repository:team-a/gen:pull", (method, path)
    scopes = [
        parse_qs(urlsplit(path).query)["scope"][0] for _, path, _ in token_registry.seen if "/token" in path
    ]
    assert scopes == ["repository:team-a/gen:pull", "repository:team-b/gen:pull"]
    # And back to team-a: its token is still cached, so no new token request.
    fetcher.fetch(f"oci://{host}/team-a/gen:v1")
    assert sum("/token" in path for _, path, _ in token_registry.seen) == 2
