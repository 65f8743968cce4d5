"""A registry that attacks the job: redirects, realms, garbage, trickles, floods.

Each test asserts the clear error, that the other host received nothing (or nothing
secret), and that nothing was left in the content store. The stand-in and the source
of each fault: tests/registry_faults.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dawg_provider.errors import DawgError, InvalidArtifact, RegistryError, RegistryUnreachable
from dawg_provider.sources.credentials import docker_credentials, parse_auth_realm
from dawg_provider.sources.fetch import Fetcher
from dawg_provider.sources.registry import RegistryOptions
from dawg_provider.sources.transport import realm_credentials, target_problem
from tests.registry_faults import (
    WASM,
    Answer,
    FaultServer,
    body,
    fault_servers,
    manifest_for,
    self_signed,
    sha256,
)

PASSWORD = "s3cret-registry-password"
REPO = "/v2/team/gen"


@pytest.fixture
def servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    with fault_servers(2) as (registry, other):
        yield registry, other


def fetcher(tmp_path: Path, registry: FaultServer, allowed: set[str] | None, **options: float) -> Fetcher:
    return Fetcher(
        tmp_path / "cache",
        RegistryOptions(
            username="team",
            password=PASSWORD,
            allowed_hosts=None if allowed is None else frozenset(allowed | {registry.host}),
            **options,  # type: ignore[arg-type]
        ),
    )


def stored(tmp_path: Path) -> list[str]:
    """Every file in the content store, partial downloads included."""
    root = tmp_path / "cache"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def fail(fetch: Fetcher, registry: FaultServer, kind: type[DawgError]) -> str:
    with pytest.raises(kind) as raised:
        fetch.fetch(f"oci://{registry.host}/team/gen:v1")
    text = str(raised.value)
    assert PASSWORD not in text
    return text


def test_redirect_rule_is_a_pure_function() -> None:
    allowed = frozenset({"reg.example.com", "storage.example.com"})
    assert target_problem("https://reg.example.com/x", "reg.example.com", allowed, frozenset()) is None
    assert target_problem("https://storage.example.com/b", "reg.example.com", allowed, frozenset()) is None
    assert "allow-list" in str(
        target_problem("https://evil.example/b", "reg.example.com", allowed, frozenset())
    )
    assert "plain HTTP" in str(
        target_problem("http://storage.example.com/b", "reg.example.com", allowed, frozenset())
    )
    assert "credentials" in str(
        target_problem("https://u:p@storage.example.com/", "reg.example.com", allowed, frozenset())
    )
    assert "not an http" in str(target_problem("file:///etc/passwd", "reg.example.com", None, frozenset()))
    # Without an allow-list (a local run): public HTTPS yes, internal addresses no.
    assert target_problem("https://cdn.example.net/b", "reg.example.com", None, frozenset()) is None
    for internal in ("169.254.169.254", "10.0.0.1", "127.0.0.1:5000", "[::1]:80", "localhost"):
        assert "loopback, link-local or private" in str(
            target_problem(f"https://{internal}/x", "reg.example.com", None, frozenset())
        ), internal


@pytest.mark.parametrize("allowed", [None, set()])
def test_a_manifest_redirect_to_another_host_is_not_followed(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], allowed: set[str] | None
) -> None:
    registry, other = servers
    registry.routes[f"{REPO}/manifests/v1"] = Answer(
        status=307, headers={"Location": other.url(f"{REPO}/manifests/v1")}, length=0
    )
    text = fail(fetcher(tmp_path, registry, allowed), registry, RegistryError)
    assert f"redirected to '{other.host}'" in text and "nothing was sent there" in text
    assert other.seen == []
    assert stored(tmp_path) == []


def test_a_blob_redirect_to_an_allowed_storage_host_is_followed_without_credentials(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    registry, storage = servers
    registry.routes[f"{REPO}/manifests/v1"] = lambda headers: (
        body(manifest_for(WASM))
        if headers.get("Authorization")
        else Answer(status=401, headers={"WWW-Authenticate": 'Basic realm="r"'}, length=0)
    )
    registry.routes[f"{REPO}/blobs/{sha256(WASM)}"] = Answer(
        status=307, headers={"Location": storage.url("/bucket/blob")}, length=0
    )
    storage.routes["/bucket/blob"] = body(WASM)
    fetched = fetcher(tmp_path, registry, {storage.host}).fetch(f"oci://{registry.host}/team/gen:v1")
    assert fetched.artifact.digest == sha256(WASM)
    assert storage.authorizations() == [None]
    assert any(auth and auth.startswith("Basic ") for auth in registry.authorizations())


def test_a_redirect_loop_ends(tmp_path: Path, servers: tuple[FaultServer, FaultServer]) -> None:
    registry, _ = servers
    path = f"{REPO}/manifests/v1"
    registry.routes[path] = Answer(status=302, headers={"Location": path}, length=0)
    assert "more than 5 times" in fail(fetcher(tmp_path, registry, set()), registry, RegistryError)
    assert len(registry.seen) == 6


@pytest.mark.parametrize(
    ("realm", "allowed", "problem"),
    [
        ("http://{other}/token", set(), "plain HTTP"),
        ("https://{other}/token", None, "loopback, link-local or private"),
        ("https://{other}/token", set(), "not on the job's registry allow-list"),
        ("http://169.254.169.254/token", set(), "plain HTTP"),
    ],
)
def test_a_token_realm_off_the_rules_gets_no_request(
    tmp_path: Path,
    servers: tuple[FaultServer, FaultServer],
    realm: str,
    allowed: set[str] | None,
    problem: str,
) -> None:
    registry, other = servers
    challenge = (
        f'Bearer realm="{realm.format(other=other.host)}",service="reg",scope="repository:team/gen:pull"'
    )
    registry.routes[f"{REPO}/manifests/v1"] = Answer(
        status=401, headers={"WWW-Authenticate": challenge}, length=0
    )
    text = fail(fetcher(tmp_path, registry, allowed), registry, RegistryError)
    assert "token realm" in text and problem in text
    assert other.seen == []
    assert stored(tmp_path) == []


def test_credentials_never_go_to_a_realm_on_another_host_even_an_allowed_one(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    registry, auth = servers
    challenge = f'Bearer realm="{auth.url("/token")}",service="reg"'
    registry.routes[f"{REPO}/manifests/v1"] = lambda headers: (
        body(manifest_for(WASM))
        if headers.get("Authorization") == "Bearer anon"
        else Answer(status=401, headers={"WWW-Authenticate": challenge}, length=0)
    )
    registry.routes[f"{REPO}/blobs/{sha256(WASM)}"] = body(WASM)
    auth.routes["/token"] = body(b'{"token": "anon"}')
    fetcher(tmp_path, registry, {auth.host}).fetch(f"oci://{registry.host}/team/gen:v1")
    assert auth.seen and auth.authorizations() == [None] * len(auth.seen)


def test_a_realm_on_the_registry_itself_gets_the_credentials(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    registry, _ = servers
    challenge = f'Bearer realm="{registry.url("/token")}",service="reg"'
    registry.routes[f"{REPO}/manifests/v1"] = lambda headers: (
        body(manifest_for(WASM))
        if headers.get("Authorization") == "Bearer t"
        else Answer(status=401, headers={"WWW-Authenticate": challenge}, length=0)
    )
    registry.routes[f"{REPO}/blobs/{sha256(WASM)}"] = body(WASM)
    registry.routes["/token"] = body(b'{"token": "t"}')
    fetcher(tmp_path, registry, set()).fetch(f"oci://{registry.host}/team/gen:v1")
    token_calls = [auth for _, path, auth in registry.seen if path.startswith("/token")]
    assert token_calls and all(auth and auth.startswith("Basic ") for auth in token_calls)


@pytest.mark.parametrize(
    "garbage", [b"\xff\xfe not json", b"[1, 2, 3]", b'{"schemaVersion": 2, "layers": "x"}']
)
def test_a_garbage_manifest_is_a_clear_error(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], garbage: bytes
) -> None:
    registry, _ = servers
    registry.routes[f"{REPO}/manifests/v1"] = body(garbage)
    text = fail(fetcher(tmp_path, registry, set()), registry, InvalidArtifact)
    assert registry.host in text and "Traceback" not in text
    assert [path for _, path, _ in registry.seen] == [f"{REPO}/manifests/v1"]
    assert stored(tmp_path) == []


def trickle(data: bytes) -> Answer:
    return Answer(chunks=lambda: iter([bytes([b]) for b in data]), pause=0.2, length=len(data))


def test_a_trickling_manifest_ends_at_the_fetch_deadline(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    registry, _ = servers
    registry.routes[f"{REPO}/manifests/v1"] = trickle(manifest_for(WASM))
    started = time.monotonic()
    text = fail(fetcher(tmp_path, registry, set(), deadline=1.5, timeout=5.0), registry, RegistryUnreachable)
    assert "fetch deadline (1.5 s)" in text
    assert time.monotonic() - started < 4.0  # each byte came within the 5 s read timeout
    assert stored(tmp_path) == []


def test_a_trickling_blob_ends_at_the_fetch_deadline_and_leaves_no_partial_file(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    registry, _ = servers
    blob = WASM + bytes(200)
    registry.routes[f"{REPO}/manifests/v1"] = body(manifest_for(blob))
    registry.routes[f"{REPO}/blobs/{sha256(blob)}"] = trickle(blob)
    started = time.monotonic()
    text = fail(fetcher(tmp_path, registry, set(), deadline=1.5, timeout=5.0), registry, RegistryUnreachable)
    assert "fetch deadline" in text and time.monotonic() - started < 4.0
    blobs = [p for p in stored(tmp_path) if not p.startswith("blobs/locks/")]
    assert [p for p in blobs if p.endswith(".part") or p.endswith(sha256(blob)[7:])] == []


def flood(total: int, with_length: bool) -> Answer:
    return Answer(
        chunks=lambda: iter([b" " * (1 << 20)] * (total >> 20)), length=total if with_length else None
    )


@pytest.mark.parametrize("with_length", [True, False])
def test_a_huge_manifest_is_refused_at_the_cap(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], with_length: bool
) -> None:
    registry, _ = servers
    registry.routes[f"{REPO}/manifests/v1"] = flood(64 << 20, with_length)
    text = fail(fetcher(tmp_path, registry, set()), registry, InvalidArtifact)
    assert "larger than 4 MiB" in text
    assert stored(tmp_path) == []


def test_a_blob_longer_than_its_manifest_says_is_refused(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    registry, _ = servers
    registry.routes[f"{REPO}/manifests/v1"] = body(manifest_for(WASM))
    registry.routes[f"{REPO}/blobs/{sha256(WASM)}"] = flood(64 << 20, with_length=False)
    text = fail(fetcher(tmp_path, registry, set()), registry, InvalidArtifact)
    assert "larger than its manifest says" in text
    assert [p for p in stored(tmp_path) if p.endswith(".part")] == []
    assert not (tmp_path / "cache" / "blobs" / "sha256" / sha256(WASM)[7:]).exists()


def test_a_huge_token_answer_is_refused(tmp_path: Path, servers: tuple[FaultServer, FaultServer]) -> None:
    registry, _ = servers
    challenge = f'Bearer realm="{registry.url("/token")}",service="reg"'
    registry.routes[f"{REPO}/manifests/v1"] = Answer(
        status=401, headers={"WWW-Authenticate": challenge}, length=0
    )
    registry.routes["/token"] = flood(64 << 20, with_length=False)
    text = fail(fetcher(tmp_path, registry, set()), registry, InvalidArtifact)
    assert "larger than 4 MiB" in text


def slow(data: bytes, parts: int = 5, pause: float = 0.2) -> Answer:
    """`data` in `parts` pieces, `pause` s apart: about parts x pause seconds."""
    step = -(-len(data) // parts)
    return Answer(
        chunks=lambda: iter([data[i : i + step] for i in range(0, len(data), step)]),
        pause=pause,
        length=len(data),
    )


def test_one_deadline_covers_the_manifest_and_the_blob_together(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    registry, _ = servers
    blob = WASM + bytes(200)
    registry.routes[f"{REPO}/manifests/v1"] = slow(manifest_for(blob))  # ~1 s: within 1.5 s alone
    registry.routes[f"{REPO}/blobs/{sha256(blob)}"] = slow(blob)  # ~1 s: within 1.5 s alone
    text = fail(fetcher(tmp_path, registry, set(), deadline=1.5, timeout=5.0), registry, RegistryUnreachable)
    assert "fetch deadline (1.5 s)" in text
    assert not (tmp_path / "cache" / "blobs" / "sha256" / sha256(blob)[7:]).exists()


def slow_head(data: bytes) -> Answer:
    """`data` after a status line and headers sent 1 byte every 0.2 s (~40 bytes: ~8 s)."""
    return Answer(chunks=lambda: iter([data]), length=len(data), header_pause=0.2)


@pytest.mark.parametrize("what", ["manifest", "blob", "token"])
def test_trickling_headers_end_at_the_fetch_deadline(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], what: str
) -> None:
    registry, _ = servers
    blob = WASM + bytes(200)
    manifest = f"{REPO}/manifests/v1"
    registry.routes[manifest] = body(manifest_for(blob))
    registry.routes[f"{REPO}/blobs/{sha256(blob)}"] = body(blob)
    if what == "manifest":
        registry.routes[manifest] = slow_head(manifest_for(blob))
    elif what == "blob":
        registry.routes[f"{REPO}/blobs/{sha256(blob)}"] = slow_head(blob)
    else:
        challenge = f'Bearer realm="{registry.url("/token")}",service="reg"'
        registry.routes[manifest] = lambda headers: (
            body(manifest_for(blob))
            if headers.get("Authorization") == "Bearer t"
            else Answer(status=401, headers={"WWW-Authenticate": challenge}, length=0)
        )
        registry.routes["/token"] = slow_head(b'{"token": "t"}')
    started = time.monotonic()
    text = fail(fetcher(tmp_path, registry, set(), deadline=1.5, timeout=5.0), registry, RegistryUnreachable)
    elapsed = time.monotonic() - started
    assert f"oci://{registry.host}/team/gen:v1" in text  # names the generator reference
    assert "fetch deadline (1.5 s)" in text and "broke off" not in text and "did not answer" not in text
    # Every byte came well within the 5 s read timeout: only the watchdog ends it.
    assert 1.4 <= elapsed < 3.0, elapsed
    assert not (tmp_path / "cache" / "blobs" / "sha256" / sha256(blob)[7:]).exists()


def test_the_watchdog_leaves_a_finished_fetch_alone(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer]
) -> None:
    """A fast fetch, then a wait past its deadline: the next fetch (same kept-alive session) works."""
    registry, _ = servers
    registry.routes[f"{REPO}/manifests/v1"] = body(manifest_for(WASM))
    registry.routes[f"{REPO}/blobs/{sha256(WASM)}"] = body(WASM)
    fetch = fetcher(tmp_path, registry, set(), deadline=0.5, timeout=5.0)
    fetch.fetch(f"oci://{registry.host}/team/gen:v1")
    time.sleep(0.7)
    assert fetch.fetch(f"oci://{registry.host}/team/gen:v1").artifact.digest == sha256(WASM)


# -- credentials and token realms on other hosts ------------------------------------------
# The Docker token flow (distribution/distribution docs/spec/auth/token.md): a 401 names a
# realm, the client GETs it with `service` and `scope` and its credentials (Basic), then
# retries with `Authorization: Bearer <token>`. Docker Hub's realm is on another host.

BASIC = "Basic " + base64.b64encode(f"team:{PASSWORD}".encode()).decode()


def test_realm_credentials_is_a_pure_function() -> None:
    hub = frozenset({"auth.docker.io"})
    registry = "registry-1.docker.io"
    assert realm_credentials("https://auth.docker.io/token", registry, hub)
    assert realm_credentials("https://AUTH.docker.io:443/token", registry, hub)
    assert not realm_credentials("http://auth.docker.io/token", registry, hub)  # HTTPS only
    assert not realm_credentials("https://auth.docker.io.evil.example/token", registry, hub)
    assert not realm_credentials("https://auth.docker.io:8443/token", registry, hub)
    assert not realm_credentials("https://evil.example/token", registry, hub)
    assert not realm_credentials("https://auth.docker.io/token", registry, frozenset())  # not listed
    assert realm_credentials("https://registry-1.docker.io/token", registry, frozenset())  # its own host


@pytest.mark.parametrize(
    "text", ["registry-1.docker.io", "=auth.docker.io", "reg=", "https://reg=auth", "reg=auth/token", "a=b=c"]
)
def test_a_malformed_realm_binding_is_refused_naming_the_flag(text: str) -> None:
    with pytest.raises(DawgError, match="--registry-auth-realm"):
        parse_auth_realm(text)
    assert parse_auth_realm(" Registry-1.Docker.io = Auth.Docker.io:443 ") == (
        "registry-1.docker.io",
        "auth.docker.io",
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def token_flow(registry: FaultServer, realm: str) -> None:
    """The registry answers a pull only with `Bearer t`, and challenges towards `realm` otherwise."""
    challenge = f'Bearer realm="{realm}",service="registry.docker.io",scope="repository:team/gen:pull"'
    registry.routes[f"{REPO}/manifests/v1"] = lambda headers: (
        body(manifest_for(WASM))
        if headers.get("Authorization") == "Bearer t"
        else Answer(status=401, headers={"WWW-Authenticate": challenge}, length=0)
    )
    registry.routes[f"{REPO}/blobs/{sha256(WASM)}"] = body(WASM)


def bound_fetcher(
    tmp_path: Path, registry: FaultServer, allowed: set[str], realms: set[tuple[str, str]], ca: Path
) -> Fetcher:
    return Fetcher(
        tmp_path / "cache",
        RegistryOptions(
            username="team",
            password=PASSWORD,
            allowed_hosts=frozenset(allowed | {registry.host}),
            auth_realms=frozenset(realms),
            ca_bundle=str(ca),
        ),
    )


def test_a_realm_host_bound_to_the_registry_gets_its_credentials_over_https(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], certificate: tuple[Path, Path]
) -> None:
    registry, _ = servers
    with fault_servers(1, tls=certificate) as (auth,):
        token_flow(registry, auth.url("/token"))
        auth.routes["/token"] = body(b'{"token": "t"}')
        # Bound, so reachable without being on the allow-list itself.
        fetch = bound_fetcher(tmp_path, registry, set(), {(registry.host, auth.host)}, certificate[0])
        assert fetch.fetch(f"oci://{registry.host}/team/gen:v1").artifact.digest == sha256(WASM)
    assert auth.authorizations() == [BASIC]  # Basic to the token service, as the spec has it
    assert "Bearer t" in registry.authorizations() and BASIC not in registry.authorizations()


@pytest.mark.parametrize("binding", ["another realm host", "another registry"])
def test_a_realm_host_the_registry_names_on_its_own_gets_no_credentials(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], certificate: tuple[Path, Path], binding: str
) -> None:
    """HTTPS, allowed as a host, but not bound to this registry: an anonymous token request."""
    registry, _ = servers
    with fault_servers(1, tls=certificate) as (auth,):
        token_flow(registry, auth.url("/token"))
        auth.routes["/token"] = body(b'{"token": "anonymous"}')
        realms = (
            {(registry.host, "auth.docker.io")}
            if binding == "another realm host"
            else {("ghcr.io", auth.host)}
        )
        fetch = bound_fetcher(tmp_path, registry, {auth.host}, realms, certificate[0])
        with pytest.raises(RegistryError) as raised:
            fetch.fetch(f"oci://{registry.host}/team/gen:v1")
    assert auth.seen and auth.authorizations() == [None] * len(auth.seen)
    assert PASSWORD not in str(raised.value)
    assert all(auth is None or auth.startswith("Bearer ") for auth in registry.authorizations())
    assert stored(tmp_path) == []


def test_a_bound_realm_host_over_plain_http_gets_no_credentials(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], certificate: tuple[Path, Path]
) -> None:
    registry, auth = servers
    token_flow(registry, auth.url("/token"))  # http://127.0.0.1:<port>/token
    auth.routes["/token"] = body(b'{"token": "t"}')
    fetch = bound_fetcher(tmp_path, registry, set(), {(registry.host, auth.host)}, certificate[0])
    fetch.fetch(f"oci://{registry.host}/team/gen:v1")  # this stand-in hands out tokens anonymously
    assert auth.seen and auth.authorizations() == [None] * len(auth.seen)


def test_docker_hub_credentials_are_found_under_the_index_server_key(tmp_path: Path) -> None:
    """`docker login` stores Docker Hub under https://index.docker.io/v1/ (docker/cli registry.go)."""
    config = tmp_path / "config.json"
    auth = base64.b64encode(b"hubuser:hubpass").decode()
    config.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}}}))
    assert docker_credentials("registry-1.docker.io", config) == ("hubuser", "hubpass")
    assert docker_credentials("docker.io", config) == ("hubuser", "hubpass")
    assert docker_credentials("auth.docker.io", config) is None
    assert docker_credentials("index.docker.io.evil.example", config) is None


def test_a_token_service_trickling_its_headers_over_https_ends_at_the_deadline(
    tmp_path: Path, servers: tuple[FaultServer, FaultServer], certificate: tuple[Path, Path]
) -> None:
    """The watchdog holds across TLS (urllib3 hands the raw socket to `ssl`, which detaches it)."""
    registry, _ = servers
    with fault_servers(1, tls=certificate) as (auth,):
        token_flow(registry, auth.url("/token"))
        auth.routes["/token"] = slow_head(b'{"token": "t"}')
        fetch = Fetcher(
            tmp_path / "cache",
            RegistryOptions(
                username="team",
                password=PASSWORD,
                allowed_hosts=frozenset({registry.host}),
                auth_realms=frozenset({(registry.host, auth.host)}),
                ca_bundle=str(certificate[0]),
                deadline=1.5,
                timeout=5.0,
            ),
        )
        started = time.monotonic()
        text = fail(fetch, registry, RegistryUnreachable)
        elapsed = time.monotonic() - started
    assert "fetch deadline (1.5 s)" in text and f"oci://{registry.host}/team/gen:v1" in text
    assert 1.4 <= elapsed < 3.0, elapsed
    assert stored(tmp_path) == []
