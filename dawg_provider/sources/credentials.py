"""Which registry credentials exist, and where they may be sent.

Credentials are configured for one registry host (explicit options, or a docker
`config.json` `auths` entry), and the transport sends them to that host only
(`transport.realm_credentials`), plus the token-service hosts the operator binds to
it (`--registry-auth-realm REGISTRY=REALM_HOST`): the Docker token flow sends them
to the realm the registry names, which may be another host (Docker Hub:
`registry-1.docker.io` -> `https://auth.docker.io/token`; distribution/distribution
docs/spec/auth/token.md). Pure parsing, no network.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

from ..errors import DawgError

DOCKER_HUB = frozenset({"registry-1.docker.io", "docker.io", "index.docker.io"})
"""Docker Hub's names; docker/cli looks their credentials up under `https://index.docker.io/v1/`
(cli/command/registry.go, `ResolveAuthConfig`: `index.Official` -> `indexServer`)."""


def parse_auth_realm(text: str) -> tuple[str, str]:
    """`REGISTRY=REALM_HOST` (each `host[:port]`) -> the pair, lower case; a DawgError names the flag."""
    registry, sep, realm = text.strip().partition("=")
    registry, realm = registry.strip().lower(), realm.strip().lower()
    if not sep or not registry or not realm or any(c in registry + realm for c in "/@?#= \t"):
        raise DawgError(
            f"--registry-auth-realm {text!r}: expected REGISTRY=REALM_HOST, e.g. "
            "registry-1.docker.io=auth.docker.io (hosts, no scheme or path)"
        )
    return registry, realm.removesuffix(":443")


def docker_credentials(host: str, config: Path | None = None) -> tuple[str, str] | None:
    """Username and password for `host` from a docker config.json, if it has them."""
    path = config or Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise DawgError(f"docker config {path}: cannot read it ({type(error).__name__})") from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return None
    hosts = {host, host.replace("localhost", "127.0.0.1"), host.replace("127.0.0.1", "localhost")}
    if host in DOCKER_HUB:  # `docker login` keys Docker Hub as https://index.docker.io/v1/
        hosts.add("index.docker.io")
    for key, entry in auths.items():
        bare = str(key).removeprefix("https://").removeprefix("http://").split("/")[0]
        if bare not in hosts or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise DawgError(f"docker config {path}: the auth entry for {bare} is not base64") from None
            return user, password
        if entry.get("username") and entry.get("password"):
            return str(entry["username"]), str(entry["password"])
    return None
