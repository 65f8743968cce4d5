"""A real OCI registry for the tests: Debian's `docker-registry` (CNCF distribution).

Started on a free loopback port with a temporary storage directory; optionally with
htpasswd basic auth. Not a stand-in: the real server, so pushes, pulls, digests and
auth challenges are what users' registries do. Missing binary = loud failure.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import bcrypt
import requests

BINARY = "docker-registry"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RegistryProcess:
    """One registry server; `stop()` and `start()` keep its port and storage."""

    def __init__(self, workdir: Path, credentials: tuple[str, str] | None = None) -> None:
        if shutil.which(BINARY) is None:
            raise RuntimeError(
                f"{BINARY} is not installed; run `bash scripts/install.sh` (apt-get install docker-registry)"
            )
        self.workdir = workdir
        self.storage = workdir / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.credentials = credentials
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "registry.log"
        auth = ""
        if credentials:
            user, password = credentials
            # The registry's htpasswd takes bcrypt only (distribution: registry/auth/htpasswd).
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
            (workdir / "htpasswd").write_text(f"{user}:{hashed}\n")
            auth = f"auth:\n  htpasswd:\n    realm: dawg-test\n    path: {workdir / 'htpasswd'}\n"
        self.config = workdir / "config.yml"
        self.config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n" + auth
        )

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([BINARY, "serve", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{BINARY} exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(f"http://{self.host}/v2/", timeout=0.5)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"{BINARY} did not start listening on {self.host}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def blob_path(self, digest: str) -> Path:
        """Where the registry keeps a blob on disk (for tampering tests)."""
        hexdigest = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"

    def url(self, repository: str, tag: str) -> str:
        return f"oci://{self.host}/{repository}:{tag}"
