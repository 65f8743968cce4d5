"""A hostile OCI registry for the tests: a loopback HTTP server that answers with one fault.

Not a model of a correct registry (tests/registry.py runs the real one): each fault is
what a registry is *allowed* to send by the protocol, turned against the client.
Sources of each behaviour:

- `redirect`: "Registries MAY respond to any request with a redirect ... clients
  SHOULD follow such redirects, and MUST NOT forward Authorization headers across
  host boundaries" (opencontainers/distribution-spec spec.md, "API"); distribution
  answers blob GETs with a 307 to its storage driver's URL
  (distribution/distribution registry/storage/blobserver.go, `ServeBlob`).
- `realm`: a 401 with `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`
  (distribution registry/auth/token/accesscontroller.go, `challengeParams`); the token
  answer is JSON with `token` / `access_token` (distribution docs/spec/auth/token.md).
- `garbage`: `GET /v2/<name>/manifests/<ref>` "MUST provide the expected manifest"
  (spec.md, "Pulling manifests"): here it does not.
- `trickle`, `huge`: a body's pace and length are the server's choice; `Content-Length`
  is optional with chunked transfer (RFC 9112 section 6), so a cap cannot trust it.
- `header_pause`: so is the pace of the status line and header fields, which the
  client parses inside `http.client` (`HTTPResponse.begin`) before any body read of
  ours runs. A read timeout does not bound it: requests' "timeout is not a time limit
  on the entire response download ... if no bytes have been received on the
  underlying socket for timeout seconds" (requests docs, user/quickstart, "Timeouts").
- `Echo`: any host a request may be sent to records the `Authorization` it received.
- `tls`: a token service on another host over HTTPS, as Docker Hub's
  `https://auth.docker.io/token` (distribution docs/spec/auth/token.md, "How to
  authenticate"); the certificate is a throwaway self-signed one for 127.0.0.1.

Every server records `(method, path, Authorization)` for each request in `seen`.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dawg_provider.sources.manifest import (
    ARTIFACT_TYPE,
    EMPTY_CONFIG,
    EMPTY_CONFIG_MEDIA_TYPE,
    OCI_MANIFEST,
    WASM_LAYER_MEDIA_TYPE,
)

WASM = b"\0asm\x01\0\0\0"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_for(blob: bytes, size: int | None = None) -> bytes:
    """A valid DAWG manifest for `blob` (its size as given, to lie about it)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": {"mediaType": EMPTY_CONFIG_MEDIA_TYPE, "digest": sha256(EMPTY_CONFIG), "size": 2},
            "layers": [
                {"mediaType": WASM_LAYER_MEDIA_TYPE, "digest": sha256(blob), "size": size or len(blob)}
            ],
        }
    ).encode()


@dataclass
class Answer:
    """What one route answers: status, headers, and a body as chunks with a pause between them."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Callable[[], Iterator[bytes]] = lambda: iter(())
    pause: float = 0.0
    length: int | None = None
    """Content-Length to send; None = close-delimited (no length, as a hostile server may)."""
    header_pause: float = 0.0
    """When set, the status line and headers go out one byte at a time, this far apart."""


def body(data: bytes) -> Answer:
    return Answer(chunks=lambda: iter([data]), length=len(data))


class FaultServer:
    """A loopback server; `routes` maps a path (exact) to an Answer or a function of the headers."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        """`tls` = (certificate, key): serve HTTPS with them."""
        self.scheme = "https" if tls else "http"
        self.routes: dict[str, Answer | Callable[[dict[str, str]], Answer]] = {}
        self.seen: list[tuple[str, str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self.answer(head=True)

            def do_GET(self) -> None:
                self.answer(head=False)

            def answer(self, head: bool) -> None:
                outer.seen.append((self.command, self.path, self.headers.get("Authorization")))
                route = outer.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Answer(status=404)
                elif callable(route):
                    route = route(dict(self.headers))
                try:
                    if route.header_pause:
                        self.trickle_head(route)
                    else:
                        self.send_response(route.status)
                        for name, value in route.headers.items():
                            self.send_header(name, value)
                        if route.length is not None:
                            self.send_header("Content-Length", str(route.length))
                        self.end_headers()
                    if head:
                        return
                    for chunk in route.chunks():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if route.pause:
                            time.sleep(route.pause)
                except OSError:  # the client hung up: what a capped client does
                    return

            def trickle_head(self, route: Answer) -> None:
                fields = dict(route.headers)
                if route.length is not None:
                    fields["Content-Length"] = str(route.length)
                head = f"HTTP/1.0 {route.status} Slow\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in fields.items()
                )
                for byte in (head + "\r\n").encode():
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(route.header_pause)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}{path}"

    def authorizations(self) -> list[str | None]:
        return [auth for _, _, auth in self.seen]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, made by the openssl CLI (a missing openssl fails loudly)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def fault_servers(count: int = 2, tls: tuple[Path, Path] | None = None) -> Iterator[list[FaultServer]]:
    """`count` servers on distinct loopback ports (distinct hosts to the client)."""
    servers = [FaultServer(tls) for _ in range(count)]
    for server in servers:
        threading.Thread(target=server.server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield servers
    finally:
        for server in servers:
            server.server.shutdown()
            server.server.server_close()
